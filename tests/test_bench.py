"""The bench: a tiny two-config, two-seed run writes consistent bench.json / csv / md / png, its seed statistics agree
with a hand computation, and it resumes run by run without retraining."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import shutil
import statistics

import matplotlib.image
import pytest
import torch
from toy_data import make_dataset

import yolo_ghost.bench.runner as bench
import yolo_ghost.bench.tasks as bench_task
import yolo_ghost.engine.detect.train as train_mod
from yolo_ghost.__main__ import main
from yolo_ghost.bench import report as bench_report
from yolo_ghost.bench import stats
from yolo_ghost.cfg import ConfigError
from yolo_ghost.engine import curves
from yolo_ghost.tools.latency import available_backends

CFGS = ["yolov5n.yaml", "yolov5n-ghost.yaml"]
TINY = {"epochs": 2, "imgsz": 64, "batch": 4, "workers": 0, "latency_rounds": 2, "latency_warmup": 1}
SEEDS = (0, 1)


@pytest.fixture(scope="module")
def tiny_bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    data = make_dataset(root / "data", n_train=12)
    report = bench.run_bench(CFGS, data=str(data), project=root / "runs", name="b", seeds=len(SEEDS), **TINY)
    return report, root / "runs" / "b", data


def _welch_by_hand(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """Welch's 95% interval for two samples of two, written out: df from Welch-Satterthwaite, t from a table."""
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    t = stats.t_ppf(0.975, df)
    d = statistics.mean(a) - statistics.mean(b)
    return d, d - t * math.sqrt(va + vb), d + t * math.sqrt(va + vb)


def test_tiny_bench_writes_consistent_files(tiny_bench):
    report, run, _ = tiny_bench
    assert {p.name for p in run.glob("bench.*")} == {"bench.json", "bench.csv", "bench.md"}
    assert matplotlib.image.imread(run / "pareto.png").shape[1] > 600
    saved = json.loads((run / "bench.json").read_text())
    assert saved["baseline"] == "yolov5n" and [r["name"] for r in saved["rows"]] == ["yolov5n", "yolov5n-ghost"]
    assert saved["settings"]["seeds"] == list(SEEDS)
    base, ghost = saved["rows"]
    # Ghost at the same scale: fewer params and GFLOPs, ratios computed against the first row
    assert ghost["params"] < base["params"] and ghost["gflops"] < base["gflops"]
    assert ghost["ratios"]["gflops"] == pytest.approx(ghost["gflops"] / base["gflops"])
    assert base["ratios"]["params"] == 1.0
    for r in saved["rows"]:
        assert r["n_runs"] == len(SEEDS) and [x["seed"] for x in r["runs"]] == list(SEEDS)
        for x in r["runs"]:
            val = json.loads((run / "val" / r["name"] / f"seed{x['seed']}" / "metrics.json").read_text())
            assert x["map50_95"] == val["pycocotools"]["AP50-95"]  # the pycocotools figure, not retyped
            assert x["train_seconds"] > 0 and (run / "results" / r["name"] / f"seed{x['seed']}.json").is_file()
            assert x["curve"]["epoch"] == [1, 2] and len(x["curve"]["map50_95"]) == 2
            assert x["convergence"]["tail_epochs"] == 1
        # every backend this machine has: torch-cpu, onnxruntime-cpu, and openvino-cpu when openvino is installed
        assert set(r["latency"]) == set(saved["settings"]["backends"]) == set(available_backends())
        assert all(s["runs"] == 2 and s["imgsz"] == 64 and s["p10_ms"] <= s["p90_ms"] for s in r["latency"].values())
    with open(run / "bench.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == ["yolov5n", "yolov5n-ghost"]
    for c, j in zip(rows, saved["rows"]):
        assert int(c["params"]) == j["params"] and float(c["gflops"]) == pytest.approx(j["gflops"])
        assert float(c["map50_95"]) == pytest.approx(j["map50_95"])
        assert float(c["onnxruntime-cpu_median_ms"]) == pytest.approx(j["latency"]["onnxruntime-cpu"]["median_ms"])
        assert float(c["ratio_latency_onnxruntime-cpu"]) == pytest.approx(j["ratios"]["latency_onnxruntime-cpu"])
    md = (run / "bench.md").read_text()
    lines = md.splitlines()
    assert lines[0].startswith("| model | mAP50-95") and lines[2].startswith("| yolov5n")
    assert f"{ghost['gflops']:.3g} ({ghost['ratios']['gflops']:.2f}x)" in lines[3]
    assert report == saved


def test_seed_statistics_agree_with_a_hand_computation(tiny_bench):
    _, run, _ = tiny_bench
    saved = json.loads((run / "bench.json").read_text())
    base, ghost = saved["rows"]
    for r in saved["rows"]:
        for key in ("map50_95", "map50"):
            vals = [x[key] for x in r["runs"]]
            assert r[key] == pytest.approx(statistics.mean(vals), abs=1e-12)
            assert r[f"{key}_std"] == pytest.approx(statistics.stdev(vals), abs=1e-12)
    assert base["difference"] is None
    for key in ("map50_95", "map50"):
        a, b = [x[key] for x in ghost["runs"]], [x[key] for x in base["runs"]]
        d = ghost["difference"][key]
        assert d["diff"] == pytest.approx(statistics.mean(a) - statistics.mean(b), abs=1e-12)
        if statistics.variance(a) + statistics.variance(b) > 0:
            want = _welch_by_hand(a, b)
            assert (d["diff"], d["low"], d["high"]) == pytest.approx(want, abs=1e-9)
        else:  # identical reruns: the interval collapses to the difference
            assert d["low"] == d["high"] == d["diff"]
        assert d["significant"] == (d["low"] > 0 or d["high"] < 0)
    md = (run / "bench.md").read_text()
    verdict = bench_report.verdicts(saved)[0]
    assert verdict.startswith("yolov5n-ghost: ") and verdict in md
    assert ("not significant" in verdict) == (not ghost["difference"]["map50_95"]["significant"])
    # every run still improving at its end is flagged by name and seed, and no other
    flagged = [(r["name"], x["seed"]) for r in saved["rows"] for x in r["runs"] if x["convergence"]["still_improving"]]
    assert r["still_improving_seeds"] == [s for n, s in flagged if n == r["name"]]
    for name, seed in flagged:
        assert f"- {name} seed {seed}: still improving" in md
    assert md.count(": still improving at its last epoch") == len(flagged)
    assert ("runs were still improving" in md) == bool(flagged)
    assert matplotlib.image.imread(run / "curves.png").shape[1] > 600


def test_curves_plot_has_one_line_per_run(tmp_path, monkeypatch):
    import matplotlib.axes

    drawn = []
    real = matplotlib.axes.Axes.plot
    styles = []
    monkeypatch.setattr(
        matplotlib.axes.Axes,
        "plot",
        lambda self, *a, **k: drawn.append(k["color"]) or styles.append(a[2]) or real(self, *a, **k),
    )
    runs = [
        {"name": n, "seed": s, "curve": {"epoch": [1, 2, 3], "map50_95": [0.1, 0.2 + s / 10, 0.3]}}
        for n in ("a", "b")
        for s in range(3)
    ]
    runs[4]["convergence"] = curves.convergence([0.1, 0.2, 0.3])  # still improving, as the bench records it
    curves.plot_curves(runs, tmp_path / "c.png")
    assert len(drawn) == 6 and len(set(drawn)) == 2 and drawn[0] == drawn[2] != drawn[3]
    assert styles == ["-", "-", "-", "-", "--", "-"]
    assert matplotlib.image.imread(tmp_path / "c.png").shape[1] > 600


def test_resume_is_per_run(tiny_bench, monkeypatch):
    _, run, _ = tiny_bench
    resumed = run.parent / "resumed"
    shutil.copytree(run, resumed)
    (resumed / "results" / "yolov5n-ghost" / "seed1.json").unlink()
    shutil.rmtree(resumed / "train" / "yolov5n-ghost" / "seed1")  # never trained: must be trained now
    # the recorded recipe is what the remaining runs train with, whatever the dataset's recipe says today
    settings = json.loads((resumed / "settings.json").read_text())
    assert settings["task"] == "detect"
    assert settings["hyp"]["lr0"] == bench_task.DETECT.recipe(settings["data"])["hyp"]["lr0"]
    settings["hyp"]["lr0"] = 0.0123
    # a bench recorded before the EMA keys existed trained with YOLOv5's EMA, whatever today's recipe sets
    assert settings["hyp"]["ema_decay"] == train_mod.YOLOV5_TRAIN_HYP["ema_decay"]
    del settings["hyp"]["ema_decay"], settings["hyp"]["ema_tau"]
    monkeypatch.setattr(train_mod, "recipe_for", lambda data: train_mod.Recipe(1, 64, 2, 0, {"ema_decay": 0.5}))
    (resumed / "settings.json").write_text(json.dumps(settings))
    trained, hyps = [], []
    real = bench_task.DETECT.train
    spy = lambda cfg, **kw: trained.append((cfg, kw["seed"])) or hyps.append(kw["hyp"]) or real(cfg, **kw)  # noqa: E731
    monkeypatch.setitem(bench_task.TASKS, "detect", dataclasses.replace(bench_task.DETECT, train=spy))
    report = bench.run_bench([], resume=resumed)
    assert trained == [("yolov5n-ghost.yaml", 1)] and hyps[0]["lr0"] == 0.0123
    args = (resumed / "train" / "yolov5n-ghost" / "seed1" / "args.yaml").read_text()
    assert "lr0: 0.0123" in args
    ckpt = torch.load(resumed / "train" / "yolov5n-ghost" / "seed1" / "weights" / "last.pt", weights_only=False)
    assert ckpt["model"].yaml["ema"] == {"ema_decay": 0.9999, "ema_tau": 2000.0}
    assert [r["name"] for r in report["rows"]] == ["yolov5n", "yolov5n-ghost"]
    # a run whose training finished but whose scoring was cut off is scored without training again
    (resumed / "results" / "yolov5n-ghost" / "seed0.json").unlink()
    trained.clear()
    report = bench.run_bench([], resume=resumed)
    assert trained == [] and report["rows"][1]["runs"][0]["train_seconds"] is None
    first = json.loads((run / "bench.json").read_text())
    assert report["rows"][1]["params"] == first["rows"][1]["params"]
    # results kept without their checkpoints (a report committed without weights): profiled from the config
    shutil.rmtree(resumed / "train")
    report = bench.run_bench([], resume=resumed)
    assert trained == [] and [r["params"] for r in report["rows"]] == [r["params"] for r in first["rows"]]
    assert [r["map50_95"] for r in report["rows"]] == [r["map50_95"] for r in first["rows"]]


def test_bad_input_fails_before_training(tmp_path, capsys):
    with pytest.raises(ConfigError, match="classifier config"):
        bench.run_bench(["yolov5n.yaml", "shufflenetv2-cls.yaml"], project=tmp_path)
    with pytest.raises(ConfigError, match="given twice"):
        bench.run_bench(["yolov5n.yaml", "yolov5n.yaml"], project=tmp_path)
    with pytest.raises(ConfigError, match="--seeds must be an integer"):
        bench.run_bench(CFGS, seeds=0, project=tmp_path)
    with pytest.raises(ConfigError, match="needs training"):
        bench.run_bench(CFGS, weights=["a.pt", "b.pt"], seeds=2, project=tmp_path)
    with pytest.raises(ConfigError, match="one checkpoint per config"):
        bench.run_bench(CFGS, weights=["a.pt"], project=tmp_path)
    with pytest.raises(ConfigError, match="no bench under"):
        bench.run_bench([], resume=True, project=tmp_path)
    assert main(["bench", "--cfg", "yolov5nn.yaml", "--project", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "yolov5nn.yaml" in err and len(err.strip().splitlines()) == 1  # one line on stderr
    with pytest.raises(ConfigError, match="--pair yolov5s=yolov5n: both must be rows"):
        bench.run_bench(CFGS, pairs={"yolov5s": "yolov5n"}, project=tmp_path)
    assert main(["bench", "--cfg", *CFGS, "--pair", "yolov5n-ghost", "--project", str(tmp_path)]) == 2
    assert "--pair takes NAME=BASE" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing written


def _row(name: str, maps: list[float], gflops: float, ms: list[float]) -> dict:
    runs = [{"seed": k, "map50_95": m, "map50": m + 0.2, "convergence": None} for k, m in enumerate(maps)]
    lat = {"median_ms": statistics.median(ms), "p10_ms": min(ms), "p90_ms": max(ms), "times_ms": ms}
    lat.update(model=name, backend="onnxruntime-cpu", imgsz=64, batch=1, threads=1, runs=len(ms))
    row = {"name": name, "runs": runs, "n_runs": len(runs), "params": int(gflops * 1e6), "gflops": gflops}
    row.update(mem_mb=gflops * 10, latency={"onnxruntime-cpu": lat})
    for key in ("map50_95", "map50"):
        row[key], row[f"{key}_std"] = stats.mean_std([r[key] for r in runs])
    return row


def test_pairs_compare_a_row_with_its_own_baseline():
    rows = [
        _row("n", [0.50, 0.51, 0.49], 1.0, [10.0, 11.0]),
        _row("n-ghost", [0.45, 0.46, 0.44], 0.5, [9.0, 10.0]),
        _row("s", [0.60, 0.61, 0.62], 4.0, [30.0, 33.0]),
        _row("s-ghost", [0.58, 0.60, 0.59], 2.0, [20.0, 22.0]),
    ]
    settings = {"backends": ["onnxruntime-cpu"], "baselines": {"s-ghost": "s"}}
    rep = bench_report.make_report(rows, settings)
    by = {r["name"]: r for r in rep["rows"]}
    assert [by[n]["baseline"] for n in ("n", "n-ghost", "s", "s-ghost")] == [None, "n", "n", "s"]
    sg = by["s-ghost"]
    want = stats.welch_interval([0.58, 0.60, 0.59], [0.60, 0.61, 0.62])
    assert sg["difference"]["map50_95"]["diff"] == pytest.approx(want.diff)
    assert sg["difference"]["map50_95"]["low"] == pytest.approx(want.low)
    assert sg["ratios"]["gflops"] == 0.5 and sg["ratios"]["latency_onnxruntime-cpu"] == pytest.approx(20 / 30)
    lines = bench_report.verdicts(rep)
    assert lines[2].startswith("s-ghost: -0.020 ± ") and lines[2].endswith(
        "0.50x GFLOPs and 0.67x onnxruntime-cpu latency (vs s)"
    )
    assert "(significant)" in lines[0] and lines[0].startswith("n-ghost: -0.050")


def test_resume_of_a_finished_bench_makes_no_folder(tiny_bench, capsys):
    _, run, _ = tiny_bench
    finished = run.parent / "finished"
    shutil.copytree(run, finished)
    before = sorted(str(p) for p in run.parent.rglob("*") if p.is_dir())
    assert main(["bench", "--resume", str(finished), "--project", str(run.parent)]) == 0
    assert sorted(str(p) for p in run.parent.rglob("*") if p.is_dir()) == before  # nothing trained, no new run
    assert "yolov5n-ghost" in capsys.readouterr().out  # the report, printed again


def test_hyp_file_overrides_the_recipe_and_is_checked_first(tmp_path, capsys):
    from toy_data import finding_model

    data = make_dataset(tmp_path / "d", n_train=2, n_val=2)
    ckpt = tmp_path / "m.pt"
    torch.save({"model": finding_model("yolov5n.yaml"), "train_args": {"imgsz": 64}}, ckpt)
    (tmp_path / "h.yaml").write_text("dis: 1.0\nlr0: 0.01\n")
    bench.run_bench(
        ["yolov5n.yaml"], data=str(data), imgsz=64, weights=[str(ckpt)], hyp=tmp_path / "h.yaml",
        project=tmp_path / "runs", name="b", latency_rounds=1, latency_warmup=0, backends=["torch-cpu"],
    )  # fmt: skip
    recorded = json.loads((tmp_path / "runs" / "b" / "settings.json").read_text())["hyp"]
    recipe = bench_task.get_bench_task("detect").recipe(str(data))["hyp"]
    assert recorded["dis"] == 1.0 and recorded["lr0"] == 0.01
    assert {k: v for k, v in recorded.items() if k not in ("dis", "lr0")} == {
        k: v for k, v in recipe.items() if k not in ("dis", "lr0")
    }
    (tmp_path / "bad.yaml").write_text("lr0: .nan\n")
    args = ["bench", "--cfg", "yolov5n.yaml", "--hyp", str(tmp_path / "bad.yaml"), "--data", str(data)]
    assert main([*args, "--project", str(tmp_path / "p")]) == 2
    assert "lr0" in capsys.readouterr().err and not (tmp_path / "p").exists()
