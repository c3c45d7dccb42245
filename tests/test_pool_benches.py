"""benchmarks/pool_benches.py: runs of one recipe pooled into one bench folder, anything else refused."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.test_hostile_bench import ROOT, copy_bench, edit
from yolo_ghost.bench.files import read_bench_folder
from yolo_ghost.cfg import ConfigError


def _pool_benches():
    spec = importlib.util.spec_from_file_location("pool_benches", ROOT / "benchmarks" / "pool_benches.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pool = _pool_benches().pool


def shifted_copy(tmp_path: Path, shift: int) -> Path:
    """The published bench with every seed moved up by ``shift``, as a second bench with new seeds records it."""
    run = copy_bench(tmp_path / f"shift{shift}")
    settings = json.loads((run / "settings.json").read_text())
    edit(run / "settings.json", seed=settings["seed"] + shift, seeds=[s + shift for s in settings["seeds"]])
    for f in sorted(run.glob("results/*/seed*.json"), key=lambda p: -int(p.stem[4:])):
        seed = int(f.stem[4:]) + shift
        edit(f, seed=seed)
        f.rename(f.with_name(f"seed{seed}.json"))
    return run


def test_two_benches_of_one_recipe_pool_into_six_seeds(tmp_path):
    a, b = copy_bench(tmp_path / "a"), shifted_copy(tmp_path, 3)
    out = pool([a, b], tmp_path / "pooled", ["yolov5n.yaml", "yolov5s.yaml"], {"yolov5s": "yolov5n"}, "cmd")
    settings, runs = read_bench_folder(out)
    assert settings["seeds"] == [0, 1, 2, 3, 4, 5] and settings["cfgs"] == ["yolov5n.yaml", "yolov5s.yaml"]
    assert (
        settings["baselines"] == {"yolov5s": "yolov5n"}
        and settings["hyp"] == json.loads((a / "settings.json").read_text())["hyp"]
    )
    assert len(runs) == 12
    for k in range(6):  # every record copied byte for byte from the bench that trained it
        src = (a if k < 3 else b) / "results" / "yolov5s" / f"seed{k}.json"
        assert (out / "results" / "yolov5s" / f"seed{k}.json").read_bytes() == src.read_bytes()
    provenance = (out / "PROVENANCE.md").read_text()
    assert f"| yolov5s seed 4 | `{b}` |" in provenance and f"| yolov5n seed 0 | `{a}` |" in provenance


def test_pooling_refuses_other_recipes_shared_seeds_and_gaps(tmp_path):
    a = copy_bench(tmp_path / "a")
    b = shifted_copy(tmp_path, 3)
    edit(b / "settings.json", epochs=37)
    with pytest.raises(ConfigError, match=r"epochs is 37 where .* recorded 36; only runs of one recipe"):
        pool([a, b], tmp_path / "x", None, {}, "cmd")
    with pytest.raises(ConfigError, match="yolov5n seed 0 is in both"):
        pool([a, copy_bench(tmp_path / "same")], tmp_path / "x", None, {}, "cmd")
    c = shifted_copy(tmp_path, 10)
    (c / "results" / "yolov5s" / "seed11.json").unlink()
    with pytest.raises(ConfigError, match=r"missing: yolov5s seed 11$"):
        pool([a, c], tmp_path / "x", ["yolov5n.yaml", "yolov5s.yaml"], {}, "cmd")
    assert not (tmp_path / "x").exists()
