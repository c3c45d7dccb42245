"""Hostile bench folders on ``bench --resume``: every file (settings.json, bench.json, results/*/seed*.json) is
checked before use, and each bad value is one ``error:`` line naming the file and the key, exit status 2 (issue 22)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from yolo_ghost.__main__ import main as cli
from yolo_ghost.bench.files import read_bench_folder
from yolo_ghost.cfg import ConfigError
from yolo_ghost.cfg.limits import LimitError, override_limits

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = next(p for p in (ROOT / "results" / "bench-v2", ROOT / "docs" / "bench-run-v2") if p.is_dir())


def copy_bench(tmp_path: Path) -> Path:
    """The published bench's JSON files (no checkpoints: a resume profiles from the configs)."""
    run = tmp_path / "bench"
    for src in [PUBLISHED / "settings.json", PUBLISHED / "bench.json", *PUBLISHED.glob("results/*/seed*.json")]:
        dst = run / src.relative_to(PUBLISHED)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return run


def edit(path: Path, **changes) -> None:
    d = json.loads(path.read_text())
    for k, v in changes.items():
        if v is ...:
            d.pop(k)
        else:
            d[k] = v
    path.write_text(json.dumps(d))


def test_the_published_bench_validates(tmp_path):
    run = copy_bench(tmp_path)
    settings, runs = read_bench_folder(run)
    assert settings["seeds"] == [0, 1, 2] and len(settings["cfgs"]) == 6
    assert len(runs) == 18 and all(0 < r["map50_95"] < 1 for r in runs.values())


S = "settings.json"
SEED = "results/yolov5n/seed1.json"
NAN = float("nan")
# (file, change, what the one line must say besides the file name)
CASES = {
    "settings a list": (S, [1, 2], "must be a JSON object (a dict), got list"),
    "cfgs missing": (S, {"cfgs": ...}, "cfgs must be a non-empty list of strings, got None"),
    "cfgs a string": (S, {"cfgs": "yolov5n.yaml"}, "cfgs must be a non-empty list of strings"),
    'seeds "0"': (S, {"seeds": "0"}, "seeds must be a non-empty list of integers"),
    "seeds [0.5]": (S, {"seeds": [0.5]}, "seeds must be a non-empty list of integers"),
    "threads -1": (S, {"threads": -1}, "threads must be >= 1, got -1"),
    "threads 1e6": (S, {"threads": 10**6}, "threads 1,000,000 exceeds the limit of 1,024 (max_threads)"),
    "latency_rounds 1e12": (S, {"latency_rounds": 1e12}, "latency_rounds must be an integer, got 1000000000000.0"),
    "latency_rounds 10**12": (S, {"latency_rounds": 10**12}, "exceeds the limit of 10,000 (max_latency_rounds)"),
    "latency_warmup true": (S, {"latency_warmup": True}, "latency_warmup must be an integer, got True"),
    "imgsz 100": (S, {"imgsz": 100}, "imgsz must be a multiple of 32, got 100"),
    "imgsz huge": (S, {"imgsz": 2**20}, "(max_imgsz)"),
    "epochs 0": (S, {"epochs": 0}, "epochs must be >= 1, got 0"),
    "batch string": (S, {"batch": "16"}, "batch must be an integer, got '16'"),
    "unknown backend": (S, {"backends": ["tensorrt"]}, "backends: unknown backend 'tensorrt'"),
    "bad baseline": (S, {"baselines": {"yolov5s-ghost": "nope"}}, "baselines: yolov5s-ghost=nope"),
    "weights count": (S, {"weights": ["a.pt"]}, "weights must list one checkpoint per config (6), got 1"),
    "unknown task": (S, {"task": "segment"}, "task must be one of detect, classify, got 'segment'"),
    "hyp resume": (S, {"hyp": {"resume": "other.pt"}}, "hyp: 'resume' is not a hyperparameter; use --resume"),
    "hyp lr0 NaN": (S, {"hyp": {"lr0": NAN}}, "hyp: lr0"),
    "hyp a list": (S, {"hyp": [1]}, "hyp"),
    "map50_95 NaN": (SEED, {"map50_95": NAN}, "map50_95 must be a finite number, got nan"),
    "map50 2.0": (SEED, {"map50": 2.0}, "map50 must be in [0.0, 1.0], got 2.0"),
    "metric missing": (SEED, {"map75": ...}, "map75 is missing"),
    "seed mismatch": (SEED, {"seed": 2}, "seed is 2, but the file is the record of seed 1"),
    "curve NaN": (SEED, {"curve": {"map50_95": [0.1, NAN]}}, "curve.map50_95 must be a finite number"),
    "record a list": (SEED, [], "must be a JSON object (a dict), got list"),
    "nc string": (SEED, {"nc": "8"}, "nc must be an integer, got '8'"),
    "report not a report": ("bench.json", {"rows": ...}, "rows is missing or of the wrong type"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_bench_file_is_one_error_line_naming_file_and_key(case, tmp_path, capsys):
    run = copy_bench(tmp_path)
    edit(run / S, backends=["torch-cpu"])  # timeable on any machine, so that only the case's change is wrong
    name, change, expected = CASES[case]
    path = run / name
    if isinstance(change, dict):
        edit(path, **change)
    else:
        path.write_text(json.dumps(change))
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert cli(["bench", "--resume", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(f"error: {path}: "), err
    assert expected in err, err
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before  # nothing written or removed


@pytest.mark.parametrize("name", [S, SEED, "bench.json"])
def test_malformed_json_names_the_file(name, tmp_path):
    run = copy_bench(tmp_path)
    (run / name).write_text('{"cfgs": [')
    with pytest.raises(ConfigError, match=rf"^{run / name}: not a readable JSON file \(JSONDecodeError: "):
        read_bench_folder(run)


def test_a_backend_this_machine_lacks_is_refused_before_training(tmp_path):
    run = copy_bench(tmp_path)
    edit(run / S, backends=["torch-cpu", "torch-cuda"])
    with pytest.raises(ConfigError, match=r"settings.json: backends: 'torch-cuda' is not available here"):
        read_bench_folder(run, available=["torch-cpu", "onnxruntime-cpu"])


def test_bench_limits_are_raisable(tmp_path):
    run = copy_bench(tmp_path)
    edit(run / S, latency_rounds=20_000)
    with pytest.raises(LimitError, match=r"YOLO_GHOST_MAX_LATENCY_ROUNDS=<n>"):
        read_bench_folder(run)
    with override_limits(max_latency_rounds=50_000):
        assert read_bench_folder(run)[0]["latency_rounds"] == 20_000


def test_a_new_bench_refuses_bad_latency_flags_before_making_its_folder(tmp_path, capsys):
    argv = ["bench", "--cfg", "yolov5n.yaml", "--project", str(tmp_path), "--name", "b", "--epochs", "1"]
    assert cli([*argv, "--threads", "-1"]) == 2
    assert capsys.readouterr().err.strip() == "error: bench: threads must be >= 1, got -1"
    assert cli([*argv, "--latency-rounds", str(10**12)]) == 2
    assert "(max_latency_rounds)" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
