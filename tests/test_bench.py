"""The bench: a tiny two-config run writes consistent bench.json / csv / md / png, and resumes without retraining."""

from __future__ import annotations

import csv
import json
import shutil

import matplotlib.image
import pytest
from toy_data import make_dataset

import yolo_ghost.bench as bench
from yolo_ghost.__main__ import main
from yolo_ghost.cfg import ConfigError

CFGS = ["yolov5n.yaml", "yolov5n-ghost.yaml"]
TINY = {"epochs": 1, "imgsz": 64, "batch": 4, "workers": 0, "latency_rounds": 2, "latency_warmup": 1}


@pytest.fixture(scope="module")
def tiny_bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    data = make_dataset(root / "data")
    report = bench.run_bench(CFGS, data=str(data), project=root / "runs", name="b", **TINY)
    return report, root / "runs" / "b", data


def test_tiny_bench_writes_four_consistent_files(tiny_bench):
    report, run, _ = tiny_bench
    assert {p.name for p in run.glob("bench.*")} == {"bench.json", "bench.csv", "bench.md"}
    assert matplotlib.image.imread(run / "pareto.png").shape[1] > 600
    saved = json.loads((run / "bench.json").read_text())
    assert saved["baseline"] == "yolov5n" and [r["name"] for r in saved["rows"]] == ["yolov5n", "yolov5n-ghost"]
    base, ghost = saved["rows"]
    # Ghost at the same scale: fewer params and GFLOPs, ratios computed against the first row
    assert ghost["params"] < base["params"] and ghost["gflops"] < base["gflops"]
    assert ghost["ratios"]["gflops"] == pytest.approx(ghost["gflops"] / base["gflops"])
    assert base["ratios"]["params"] == 1.0
    for r in saved["rows"]:
        val = json.loads((run / "val" / r["name"] / "metrics.json").read_text())
        assert r["map50_95"] == val["pycocotools"]["AP50-95"]  # the pycocotools figure, not retyped
        assert set(r["latency"]) == set(saved["settings"]["backends"]) == {"torch-cpu", "onnxruntime-cpu"}
        assert all(s["runs"] == 2 and s["imgsz"] == 64 and s["p10_ms"] <= s["p90_ms"] for s in r["latency"].values())
        assert r["train_seconds"] > 0 and (run / "results" / f"{r['name']}.json").is_file()
    with open(run / "bench.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == ["yolov5n", "yolov5n-ghost"]
    for c, j in zip(rows, saved["rows"]):
        assert int(c["params"]) == j["params"] and float(c["gflops"]) == pytest.approx(j["gflops"])
        assert float(c["onnxruntime-cpu_median_ms"]) == pytest.approx(j["latency"]["onnxruntime-cpu"]["median_ms"])
        assert float(c["ratio_latency_onnxruntime-cpu"]) == pytest.approx(j["ratios"]["latency_onnxruntime-cpu"])
    md = (run / "bench.md").read_text().splitlines()
    assert md[0].startswith("| model | mAP50-95") and md[2].startswith("| yolov5n")
    assert f"{ghost['gflops']:.3g} ({ghost['ratios']['gflops']:.2f}x)" in md[3]
    assert report == saved


def test_resume_skips_finished_configs(tiny_bench, monkeypatch):
    _, run, _ = tiny_bench
    resumed = run.parent / "resumed"
    shutil.copytree(run, resumed)
    (resumed / "results" / "yolov5n-ghost.json").unlink()
    shutil.rmtree(resumed / "train" / "yolov5n-ghost")  # never trained: must be trained now
    trained = []
    real = bench.train
    monkeypatch.setattr(bench, "train", lambda cfg, **kw: trained.append(cfg) or real(cfg, **kw))
    report = bench.run_bench([], resume=resumed)
    assert trained == ["yolov5n-ghost.yaml"]
    assert [r["name"] for r in report["rows"]] == ["yolov5n", "yolov5n-ghost"]
    # a config whose training finished but whose scoring was cut off is scored without training again
    (resumed / "results" / "yolov5n-ghost.json").unlink()
    trained.clear()
    report = bench.run_bench([], resume=resumed)
    assert trained == [] and report["rows"][1]["train_seconds"] is None
    assert report["rows"][1]["params"] == json.loads((run / "bench.json").read_text())["rows"][1]["params"]


def test_bad_input_fails_before_training(tmp_path, capsys):
    with pytest.raises(ConfigError, match="classifier config"):
        bench.run_bench(["yolov5n.yaml", "shufflenetv2-cls.yaml"], project=tmp_path)
    with pytest.raises(ConfigError, match="given twice"):
        bench.run_bench(["yolov5n.yaml", "yolov5n.yaml"], project=tmp_path)
    with pytest.raises(ConfigError, match="one checkpoint per config"):
        bench.run_bench(CFGS, weights=["a.pt"], project=tmp_path)
    with pytest.raises(ConfigError, match="no bench under"):
        bench.run_bench([], resume=True, project=tmp_path)
    assert main(["bench", "--cfg", "yolov5nn.yaml", "--project", str(tmp_path)]) == 2
    assert "yolov5nn.yaml" in capsys.readouterr().out
    assert not any(tmp_path.iterdir())  # nothing written
