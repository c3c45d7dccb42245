"""The ShuffleNet V2 variant study as data (``study``) and its verdicts (``study_report``).

The table in code is the study's table, figure for figure, with its citation; a tiny two-config, two-seed classifier
bench, finished from per-seed records written here (the bench path a resumed bench takes: it reads them, profiles,
times and reports without training), gives the Welch intervals and verdicts a hand computation gives, on the page too.
"""

from __future__ import annotations

import json
import math

import pytest
import study_report
from study import CONCLUSIONS, SOURCE, STUDY, study_difference

import yolo_ghost.bench.runner as bench

# The study's table as issue 27 quotes it: top-1 (CIFAR-10, one run), "flops" (M), params (M), model file (K).
ISSUE_TABLE = {
    "baseline": (0.880, 147.79, 1.263, 5116),
    "se": (0.884, 147.93, 1.406, 5676),
    "sk": (0.885, 152.34, 1.555, 6872),
    "liteconv": (0.879, 104.77, 0.923, 3736),
    "k5": (0.891, 155.18, 1.303, 5268),
    "csp": (0.862, 101.96, 0.924, 3776),
}
# Its differences from its baseline, as the issue quotes them.
ISSUE_DIFFS = {"se": +0.004, "sk": +0.005, "liteconv": -0.001, "k5": +0.011, "csp": -0.018}


def test_the_study_table_in_code_is_the_published_one():
    assert {v.name: (v.top1, v.mflops, v.params_m, v.file_kb) for v in STUDY} == ISSUE_TABLE
    assert [v.name for v in STUDY] == list(ISSUE_TABLE)  # baseline first: ratios and differences are taken against it
    assert {n: study_difference(n) for n in ISSUE_DIFFS} == ISSUE_DIFFS  # exact: rounded to the study's 3 decimals


def test_the_citation_is_in_one_place():
    assert (SOURCE.author, SOURCE.column, SOURCE.republisher, SOURCE.venue, SOURCE.date) == (
        "DDX",
        "DL工程实践",
        "CV研究院",
        "EEPW",
        "2021-01-18",
    )
    assert SOURCE.title == "优化实践 | 大改ShuffleNetV2网络,注意力机制,csp,卷积裁剪..."
    assert SOURCE.title_en.startswith("Optimisation in practice: reworking ShuffleNetV2")
    assert str(SOURCE) == (
        'DDX of the "DL工程实践" column, "优化实践 | 大改ShuffleNetV2网络,注意力机制,csp,卷积裁剪..." (Optimisation in '
        "practice: reworking ShuffleNetV2 with attention, CSP and convolution pruning), republished by CV研究院 on "
        "EEPW, 2021-01-18"
    )


def test_each_conclusion_carries_the_study_single_run_differences():
    k5, attention, liteconv, csp = CONCLUSIONS
    assert [(c.a, c.b, c.study_diff) for c in k5.claims] == [
        ("k5", "baseline", 0.011),
        ("k5", "se", 0.007),
        ("k5", "sk", 0.006),
    ]
    assert [c.study_diff for c in attention.claims] == [0.004, 0.005, -0.007, -0.006]
    assert [(c.relation, c.study_diff) for c in liteconv.claims] == [("~", -0.001)]
    assert [c.study_diff for c in csp.claims] == [-0.018, -0.017]
    with pytest.raises(KeyError, match="'k7' is not a variant of the study; its variants: baseline, se"):
        study_difference("k7")


# --------------------------------------------------------------------------------------------------------------------
# A tiny bench: baseline and liteconv, two seeds each, top-1 chosen so that the interval is computable by hand.

CFGS = ["shufflenetv2-cls.yaml", "shufflenetv2-liteconv-cls.yaml"]
# Two seeds a side with equal spread: Welch's degrees of freedom are exactly (2v)^2 / (2 v^2) = 2, and Student's t
# with 2 degrees of freedom has a closed-form quantile, t = a * sqrt(2 / (1 - a^2)) with a = 2p - 1.
T_975_DF2 = 0.95 * math.sqrt(2 / (1 - 0.95**2))  # 4.3027
BASE = [0.880, 0.882]
SCENARIOS = {
    # liteconv 0.002 below, tightly: the interval lies above -0.01, "almost no loss" confirmed, the study's -0.001 in it
    "close": ([0.878, 0.880], "reproduced", True),
    # liteconv 0.020 below: the interval lies below -0.01, contradicting "almost no loss"; the study's -0.001 outside
    "far": ([0.860, 0.862], "not reproduced", False),
}


def _finished_bench(root, base: list[float], lite: list[float]):
    """A bench folder whose every run is recorded (checkpoints gone, as in a committed bench); returns its path."""
    run = root / "bench"
    settings = {
        "task": "classify", "cfgs": CFGS, "weights": None, "data": "shapes-cls", "epochs": 2, "imgsz": 32,
        "batch": 8, "hyp": None, "device": "cpu", "workers": 0, "seed": 0, "seeds": [0, 1], "baselines": {},
        "latency_imgsz": 32, "latency_rounds": 2, "latency_warmup": 1, "threads": 1, "backends": ["torch-cpu"],
        "command": "yolo-ghost bench --cfg " + " ".join(CFGS) + " --seeds 2",
    }  # fmt: skip
    (run / "results").mkdir(parents=True)
    (run / "settings.json").write_text(json.dumps(settings))
    for cfg, top1s in zip(CFGS, (base, lite)):
        stem = cfg.removesuffix(".yaml")
        (run / "results" / stem).mkdir()
        for seed, top1 in enumerate(top1s):
            record = {
                "seed": seed, "weights": str(run / "gone.pt"), "nc": 10, "train_seconds": 1.0, "top1": top1,
                "top5": 1.0, "curve": {"epoch": [1, 2], "top1": [top1, top1]},
                "convergence": {"still_improving": False, "plateau_gain": 0.0, "tail_epochs": 1},
            }  # fmt: skip
            (run / "results" / stem / f"seed{seed}.json").write_text(json.dumps(record))
    return run


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_tiny_bench_gives_the_hand_computed_intervals_and_verdicts(scenario, tmp_path):
    lite, verdict, inside = SCENARIOS[scenario]
    run = _finished_bench(tmp_path, BASE, lite)
    report = bench.run_bench([], resume=run)

    # By hand: two seeds a side, sample variance (x1 - x2)^2 / 2, divided by n = 2 for the variance of the mean.
    diff = (lite[0] + lite[1]) / 2 - (BASE[0] + BASE[1]) / 2
    v = (0.002**2 / 2) / 2  # both sides are 0.002 apart
    half = T_975_DF2 * math.sqrt(v + v)
    assert half == pytest.approx(0.0060849, abs=1e-7)
    d = report["rows"][1]["difference"]["top1"]
    assert d["df"] == pytest.approx(2.0, abs=1e-9)
    assert (d["diff"], d["low"], d["high"]) == pytest.approx((diff, diff - half, diff + half), abs=1e-9)

    judged = study_report.judge(CONCLUSIONS[2], {"baseline": BASE, "liteconv": lite})
    assert judged.verdict == verdict
    (check,) = judged.checks
    assert (check.ours.low, check.ours.high) == pytest.approx((diff - half, diff + half), abs=1e-9)
    assert check.holds is (verdict == "reproduced")
    assert check.claim.study_diff == -0.001 and check.study_inside is inside
    # the other three need variants this bench lacks
    assert [study_report.judge(c, {"baseline": BASE, "liteconv": lite}).verdict for c in CONCLUSIONS] == [
        "not tested",
        "not tested",
        verdict,
        "not tested",
    ]

    page = study_report.publish_study(run, tmp_path / "docs" / "shufflenet-study.md").read_text()
    assert f"**Source:** {SOURCE}." in page
    where = "inside" if inside else "outside"
    row = next(line for line in page.splitlines() if line.startswith("| liteconv | 0.879 |"))
    assert f"| -0.001 | {diff:+.4f} [{diff - half:+.4f}, {diff + half:+.4f}] | {where} |" in row
    assert f"| {(lite[0] + lite[1]) / 2:.4f} ± {math.sqrt(0.002**2 / 2):.4f} |" in row
    k = int(inside)
    assert (
        f"- *{CONCLUSIONS[2].text}*: **{verdict}** (the study's difference inside our interval for {k} of 1 claim)"
        in (page)
    )
    assert (
        f"  - liteconv at most 0.01 top-1 below baseline: Δ top-1 {diff:+.4f}, 95% CI [{diff - half:+.4f}, "
        f"{diff + half:+.4f}]: {'confirmed' if inside else 'contradicted'}; the study's single-run Δ -0.001 is "
        f"{where} our interval"
    ) in page
    assert f"- *{CONCLUSIONS[0].text}*: **not tested**" in page
    base_row = next(line for line in page.splitlines() if line.startswith("| baseline | `shufflenetv2-cls.yaml`"))
    assert base_row.endswith(f"| {study_report.study_file_kib(CFGS[0]):.0f} | 5116 |")


def test_the_gpu_command_on_the_page_is_one_the_bench_takes():
    import argparse
    import shlex

    from yolo_ghost.cli.bench import add_arguments

    p = argparse.ArgumentParser(allow_abbrev=False)  # every flag spelled out, as the page prints it
    add_arguments(p)
    words = shlex.split(study_report.GPU_COMMAND.replace("\\\n", " "))
    assert words[:2] == ["yolo-ghost", "bench"]
    a = p.parse_args(words[2:])
    assert a.cfg == [v.cfg for v in STUDY] and a.data == "~/data/cifar10"
    assert (a.epochs, a.img, a.batch_size, a.device, a.seeds) == (200, 32, 128, "0", 5)
