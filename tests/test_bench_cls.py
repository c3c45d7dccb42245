"""The bench on classifiers: a tiny two-config, two-seed bench of ShuffleNet V2 variants gives top-1 statistics that
agree with a hand computation, one learning curve per run, the study's table, a resume that trains with the recorded
recipe, and the study page built from its bench.json; mixing a detector and a classifier is refused."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import shutil
import statistics

import matplotlib.figure
import pytest
import study_report
from study import CONCLUSIONS, STUDY, Claim, Conclusion
from toy_data import make_cls_folder

import yolo_ghost.bench.runner as bench
import yolo_ghost.bench.tasks as bench_task
from yolo_ghost.__main__ import main
from yolo_ghost.bench import report as bench_report
from yolo_ghost.bench import stats
from yolo_ghost.cfg import ConfigError
from yolo_ghost.engine.classify.train import CLS_TRAIN_HYP
from yolo_ghost.engine.curves import convergence
from yolo_ghost.tools.latency import available_backends

CFGS = ["shufflenetv2-cls.yaml", "shufflenetv2-liteconv-cls.yaml"]
TINY = {"epochs": 2, "imgsz": 32, "batch": 8, "latency_rounds": 2, "latency_warmup": 1}
SEEDS = (0, 1)


@pytest.fixture(scope="module")
def cls_bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench_cls")
    data = make_cls_folder(root / "data", n_train=16, n_val=24, size=32)
    report = bench.run_bench(CFGS, data=str(data), project=root / "runs", name="b", seeds=len(SEEDS), **TINY)
    return report, root / "runs" / "b"


def test_classifier_bench_statistics_agree_with_a_hand_computation(cls_bench):
    report, run = cls_bench
    saved = json.loads((run / "bench.json").read_text())
    assert report == saved
    s = saved["settings"]
    assert s["task"] == "classify" and s["hyp"] == CLS_TRAIN_HYP and s["workers"] == 0 and s["seeds"] == list(SEEDS)
    base, lite = saved["rows"]
    assert [base["name"], lite["name"]] == ["shufflenetv2-cls", "shufflenetv2-liteconv-cls"]
    for r in saved["rows"]:
        assert [x["seed"] for x in r["runs"]] == list(SEEDS)
        for x in r["runs"]:
            val = json.loads((run / "val" / r["name"] / f"seed{x['seed']}" / "metrics.json").read_text())
            assert (x["top1"], x["top5"]) == (val["top1"], val["top5"])  # the validator's figures, not retyped
            assert x["curve"]["epoch"] == [1, 2] and len(x["curve"]["top1"]) == 2
            assert x["convergence"] == json.loads(json.dumps(convergence(x["curve"]["top1"])))
        for key in ("top1", "top5"):
            vals = [x[key] for x in r["runs"]]
            assert r[key] == pytest.approx(statistics.mean(vals), abs=1e-12)
            assert r[f"{key}_std"] == pytest.approx(statistics.stdev(vals), abs=1e-12)
        # the classifier exports to ONNX and runs on every backend this machine has (openvino-cpu when installed)
        assert set(r["latency"]) == set(available_backends()) >= {"torch-cpu", "onnxruntime-cpu"}
        assert all(st["median_ms"] > 0 and st["imgsz"] == 32 for st in r["latency"].values())
    assert (run / "onnx" / "shufflenetv2-liteconv-cls.onnx").is_file()
    # Welch's interval of the top-1 difference, written out
    a, b = [x["top1"] for x in lite["runs"]], [x["top1"] for x in base["runs"]]
    d = lite["difference"]["top1"]
    assert d["diff"] == pytest.approx(statistics.mean(a) - statistics.mean(b), abs=1e-12)
    va, vb = statistics.variance(a) / 2, statistics.variance(b) / 2
    if va + vb > 0:
        df = (va + vb) ** 2 / (va**2 + vb**2)  # two seeds a side: n - 1 = 1
        half = stats.t_ppf(0.975, df) * math.sqrt(va + vb)
        assert (d["low"], d["high"]) == pytest.approx((d["diff"] - half, d["diff"] + half), abs=1e-9)
    else:
        assert d["low"] == d["high"] == d["diff"]
    assert d["significant"] == (d["low"] > 0 or d["high"] < 0)
    # liteconv: the same params and fewer FLOPs (the study's -30%); ratios against the first row
    assert lite["params"] < base["params"] and lite["gflops"] < base["gflops"]
    assert lite["ratios"]["top1"] == pytest.approx(lite["top1"] / base["top1"])
    with open(run / "bench.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["top1"]) for r in rows] == pytest.approx([base["top1"], lite["top1"]])
    assert float(rows[1]["diff_top1"]) == pytest.approx(d["diff"]) and "map50_95" not in rows[0]


def test_classifier_bench_md_holds_the_study_table_and_verdicts(cls_bench):
    report, run = cls_bench
    md = (run / "bench.md").read_text()
    lines = md.splitlines()
    assert lines[0].startswith("| model | top-1 | top-5 | vs | Δ top-1 [95% CI]")
    lite = report["rows"][1]
    verdict = bench_report.verdicts(report)[0]
    assert verdict.startswith("shufflenetv2-liteconv-cls: ") and " top-1 " in verdict and verdict in md
    assert "mAP" not in md
    study = md[md.index("## The variant study's table") :].splitlines()
    row = next(line for line in study if line.startswith("| shufflenetv2-liteconv-cls"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == f"{lite['top1']:.4f} ± {lite['top1_std']:.4f}"
    assert cells[3] == f"{lite['params'] / 1e6:.3f} ({lite['ratios']['params']:.2f}x)"
    assert cells[4] == f"{lite['gflops'] * 1e3:.2f} ({lite['ratios']['gflops']:.2f}x)"
    d = lite["difference"]["top1"]
    assert cells[6] == f"{d['diff']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}]"
    assert cells[7] == (
        "not significant" if not d["significant"] else "significant gain" if d["diff"] > 0 else "significant loss"
    )


def test_curves_png_has_one_line_per_run(cls_bench, tmp_path, monkeypatch):
    report, _ = cls_bench
    saved = {}
    real = matplotlib.figure.Figure.savefig
    monkeypatch.setattr(
        matplotlib.figure.Figure,
        "savefig",
        lambda self, path, **k: saved.update({str(path): self}) or real(self, path, **k),
    )
    paths = bench_report.write_report(report, tmp_path)
    fig = saved[str(paths["curves"])]
    lines = fig.axes[0].get_lines()
    runs = [(r["name"], x) for r in report["rows"] for x in r["runs"]]
    assert len(lines) == len(runs) == 4
    for line, (_, x) in zip(lines, runs):
        assert list(line.get_ydata()) == x["curve"]["top1"]
    assert "top-1" in fig.axes[0].get_ylabel()
    pareto = saved[str(paths["png"])]
    assert [ax.get_ylabel() for ax in pareto.axes] == ["top-1", "top-1"]


def test_resume_trains_with_the_recorded_classifier_recipe(cls_bench, monkeypatch):
    _, run = cls_bench
    resumed = run.parent / "resumed"
    shutil.copytree(run, resumed)
    (resumed / "results" / "shufflenetv2-liteconv-cls" / "seed1.json").unlink()
    shutil.rmtree(resumed / "train" / "shufflenetv2-liteconv-cls" / "seed1")
    settings = json.loads((resumed / "settings.json").read_text())
    settings["hyp"]["lr0"] = 0.0123  # the recorded recipe wins over train_cls's defaults
    (resumed / "settings.json").write_text(json.dumps(settings))
    trained = []
    real = bench_task.CLASSIFY.train
    spy = lambda cfg, **kw: trained.append((cfg, kw["seed"], kw["hyp"]["lr0"])) or real(cfg, **kw)  # noqa: E731
    monkeypatch.setitem(bench_task.TASKS, "classify", dataclasses.replace(bench_task.CLASSIFY, train=spy))
    report = bench.run_bench([], resume=resumed)
    assert trained == [("shufflenetv2-liteconv-cls.yaml", 1, 0.0123)]
    args = (resumed / "train" / "shufflenetv2-liteconv-cls" / "seed1" / "args.yaml").read_text()
    assert "lr0: 0.0123" in args
    assert [r["n_runs"] for r in report["rows"]] == [2, 2]


def test_mixing_a_detector_and_a_classifier_is_refused(tmp_path, capsys):
    with pytest.raises(ConfigError, match=r"yolov5n.yaml is a detector config and shufflenetv2-cls.yaml a classifier"):
        bench.run_bench(["yolov5n.yaml", "shufflenetv2-cls.yaml"], project=tmp_path)
    assert main(["bench", "--cfg", "shufflenetv2-cls.yaml", "yolov5n-ghost.yaml", "--project", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "one bench compares configs of one task" in err
    with pytest.raises(ConfigError, match="ImageFolder"):  # a classifier bench checks its data as a classifier's
        bench.run_bench(CFGS, data="shapes.yaml", project=tmp_path)
    assert not any(tmp_path.iterdir())


def test_publish_study_writes_the_study_and_our_figures(cls_bench, tmp_path):
    report, run = cls_bench
    page = study_report.publish_study(run, tmp_path / "docs" / "shufflenet-study.md")
    text = page.read_text()
    assert (tmp_path / "docs" / "img" / "shufflenet-study-curves.png").stat().st_size > 1000
    assert (tmp_path / "docs" / "img" / "shufflenet-study-pareto.png").stat().st_size > 1000
    assert report["settings"]["command"] in text
    base, lite = report["rows"]
    for v, r in ((STUDY[0], base), (STUDY[3], lite)):
        params, mac = study_report.study_cost(v.cfg)
        row = next(line for line in text.splitlines() if line.startswith(f"| {v.name} | `{v.cfg}`"))
        assert f"| {params / 1e6:.3f} | {v.params_m:.3f} | {mac:.1f} | {v.mflops:.2f} |" in row
        acc = next(line for line in text.splitlines() if line.startswith(f"| {v.name}") and "`" not in line)
        assert f"{r['top1']:.4f} ± {r['top1_std']:.4f}" in acc
    assert "| baseline | 1.264 | 1.263 | 143.9 | 147.79 |" in text.replace(" `shufflenetv2-cls.yaml` |", "")
    assert "0.879" in text  # liteconv's published top-1
    runs = {"baseline": [x["top1"] for x in base["runs"]], "liteconv": [x["top1"] for x in lite["runs"]]}
    verdict = study_report.judge(CONCLUSIONS[2], runs).verdict
    assert f"*{CONCLUSIONS[2].text}*: **{verdict}**" in text
    assert f"*{CONCLUSIONS[0].text}*: **not tested**" in text  # k5 was not in this bench


def test_judge_reads_the_intervals():
    runs = {"a": [0.80, 0.81, 0.82], "b": [0.70, 0.71, 0.72], "c": [0.70, 0.75, 0.80]}
    runs.update(f=[0.7095, 0.7100, 0.7105], g=[0.7145, 0.7150, 0.7155])  # f is 0.005 below g, tightly
    assert study_report.judge(Conclusion("a>b", (Claim("a", ">", "b"),)), runs)[0] == "reproduced"
    assert study_report.judge(Conclusion("b>a", (Claim("b", ">", "a"),)), runs)[0] == "not reproduced"
    assert study_report.judge(Conclusion("c>b", (Claim("c", ">", "b"),)), runs)[0] == "not significant"
    assert study_report.judge(Conclusion("f~g", (Claim("f", "~", "g"),)), runs)[0] == "reproduced"
    assert study_report.judge(Conclusion("f<g", (Claim("f", "<", "g"),)), runs)[0] == "reproduced"
    assert study_report.judge(Conclusion("b~a", (Claim("b", "~", "a"),)), runs)[0] == "not reproduced"
    both = Conclusion("a>b, c>b", (Claim("a", ">", "b"), Claim("c", ">", "b")))
    assert study_report.judge(both, runs)[0] == "not significant"
    assert study_report.judge(both, {"a": [0.8], "b": [0.7]})[0] == "not tested"
    assert study_report.judge(Conclusion("a>b", (Claim("a", ">", "b"),)), {"a": [0.8], "b": [0.7]})[0] == (
        "not significant"
    )  # one seed: no interval decides anything
