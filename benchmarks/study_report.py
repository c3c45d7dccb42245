"""The ShuffleNet V2 variant study's table from a classifier bench, and the published page that compares it with the
study (``study``).

``format_study_table`` is the table a classifier bench adds to ``bench.md``: top-1 mean ± std over seeds, top-5,
params, MFLOPs, ONNX Runtime latency, ratios to the baseline and the Welch interval of the top-1 difference.
``publish_study`` writes ``docs/shufflenet-study.md`` (figures in ``docs/img/``) from a finished bench folder
(the published one is ``results/shufflenet-study``): the study's citation and its published figures next to ours
(params, MACs and model file at the study's 224x224 and 10 classes, from the profiler and ``torch.save``; top-1 on the
bench's data, with the study's single-run difference to its baseline beside each of our Welch intervals), the study's
conclusions judged from those intervals (``judge``: reproduced / not reproduced / not significant, and whether the
study's own difference lies inside ours), and the bench's figures. Every number is read from ``bench.json``, the
profiler or ``study``.
"""

from __future__ import annotations

import io
import shutil
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
from study import (
    CONCLUSIONS,
    EQUIVALENCE_MARGIN,
    SOURCE,
    STUDY,
    STUDY_IMGSZ,
    STUDY_NC,
    Claim,
    Conclusion,
    study_difference,
)

from yolo_ghost.bench.report import format_interval, format_mean_std, register_report_section, write_report
from yolo_ghost.bench.stats import Difference, welch_interval
from yolo_ghost.data.shapes_cls import SHAPES_CLS_SETS, builtin_cls_key
from yolo_ghost.models.yolo import build_model
from yolo_ghost.tools.profiler import profile_model
from yolo_ghost.utils.atomic import atomic_write

REPRODUCED, NOT_REPRODUCED, NOT_SIGNIFICANT, NOT_TESTED = (
    "reproduced",
    "not reproduced",
    "not significant",
    "not tested",
)
STILL_IMPROVING_MARK = "†"


def study_cost(cfg: str | Path | dict) -> tuple[int, float]:
    """Params and MMACs of a config at the study's setting (224x224, 10 classes), as a thop-style counter sees the
    model: BatchNorm not folded, MACs = FLOPs / 2."""
    p = profile_model(cfg, imgsz=STUDY_IMGSZ, fuse=False, nc=STUDY_NC)
    return int(p.params), p.gflops / 2 * 1e3


def _name(row: Mapping[str, Any]) -> str:
    return row["name"] + (f" {STILL_IMPROVING_MARK}" if row.get("still_improving_seeds") else "")


def _verdict(d: Mapping[str, Any] | None) -> str:
    if d is None:
        return "baseline"
    if d["low"] is None:
        return "1 seed: no interval"
    if not d["significant"]:
        return "not significant"
    return "significant gain" if d["diff"] > 0 else "significant loss"


def format_study_table(report: Mapping[str, Any]) -> str:
    """The variant study's table of a classifier bench report (``bench.json``), as a Markdown section."""
    s, head = report["settings"], report["headline_backend"]
    cols = [
        "config", "top-1", "top-5", "params (M)", f"MFLOPs @{s['imgsz']}", f"{head} ms @{s['latency_imgsz']}",
        "Δ top-1 [95% CI]", "verdict",
    ]  # fmt: skip
    lines = [
        "## The variant study's table",
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(cols) - 2) + [":---"]) + "|",
    ]
    for r in report["rows"]:

        def cell(value: str, key: str, r: Mapping[str, Any] = r) -> str:
            return value if r["baseline"] is None else f"{value} ({r['ratios'][key]:.2f}x)"

        d = (r["difference"] or {}).get("top1")
        lines.append(
            "| " + " | ".join([
                _name(r), format_mean_std(r, "top1"), format_mean_std(r, "top5"), cell(f"{r['params'] / 1e6:.3f}", "params"),
                cell(f"{r['gflops'] * 1e3:.2f}", "gflops"),
                cell(f"{r['latency'][head]['median_ms']:.2f}", f"latency_{head}"), format_interval(d, verdict=False), _verdict(d),
            ]) + " |"
        )  # fmt: skip
    n = len(s.get("seeds") or [s["seed"]])
    lines += [
        "",
        f"Top-1 / top-5: mean ± std over {n} seed{'s' * (n != 1)}; (x) = ratio to the row's baseline "
        f"({report['baseline']} unless `vs` above names another); MFLOPs = 2 x multiply-accumulates, BN fused, at "
        f"{s['imgsz']}x{s['imgsz']}; latency = median of the interleaved {head} run; Δ top-1 with Welch's t 95% "
        f"interval (not significant when it contains 0). {STILL_IMPROVING_MARK} = a run of this config was still "
        "improving at its last epoch.",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------------
# The study's conclusions against our intervals


def _holds(claim: Claim, d: Difference) -> bool | None:
    """True / False when the interval decides the claim, None when it does not (or there is no interval)."""
    if d.low is None or d.high is None:
        return None
    if claim.relation == ">":
        return True if d.low > 0 else False if d.high < 0 else None
    if claim.relation == "<":
        return True if d.high < 0 else False if d.low > 0 else None
    if claim.relation == "~":
        return True if d.low >= -EQUIVALENCE_MARGIN else False if d.high < -EQUIVALENCE_MARGIN else None
    raise ValueError(f"claim {claim}: relation must be '>', '<' or '~'")


def study_inside(study_diff: float, d: Difference) -> bool | None:
    """Whether the study's single-run difference lies inside our interval (ends included); None without one."""
    if d.low is None or d.high is None:
        return None
    return d.low <= study_diff <= d.high


INSIDE_WORDS = {True: "inside", False: "outside", None: "no interval"}


@dataclass(frozen=True)
class ClaimCheck:
    """One claim against our runs: our Welch interval of ``a - b``, whether it decides the claim, and whether the
    study's own single-run difference lies inside it."""

    claim: Claim
    ours: Difference
    holds: bool | None  # True confirmed, False contradicted, None undecided

    @property
    def study_inside(self) -> bool | None:
        """Whether the study's difference ``claim.study_diff`` lies inside our interval; None without one."""
        return study_inside(self.claim.study_diff, self.ours)

    def line(self) -> str:
        """The check in one line, ours first, then the study's figure."""
        c, d = self.claim, self.ours
        what = {">": "more accurate than", "<": "less accurate than"}.get(
            c.relation, f"at most {EQUIVALENCE_MARGIN:.2f} top-1 below"
        )
        ci = "no interval (1 seed)" if d.low is None else f"[{d.low:+.4f}, {d.high:+.4f}]"
        verdict = {True: "confirmed", False: "contradicted", None: "undecided"}[self.holds]
        where = (
            "no interval to compare" if self.study_inside is None else f"{INSIDE_WORDS[self.study_inside]} our interval"
        )
        return (
            f"{c.a} {what} {c.b}: Δ top-1 {d.diff:+.4f}, 95% CI {ci}: {verdict}; "
            f"the study's single-run Δ {c.study_diff:+.3f} is {where}"
        )


class Judgement(NamedTuple):
    """The verdict on one conclusion and the check of each of its claims (none when it was not tested)."""

    verdict: str
    checks: tuple[ClaimCheck, ...]
    missing: tuple[str, ...] = ()  # the study's variants the bench lacks

    def lines(self) -> list[str]:
        """One line per claim, or the one line saying what the bench lacks."""
        if self.missing:
            return [f"not in this bench: {', '.join(self.missing)}"]
        return [c.line() for c in self.checks]

    def study_inside_count(self) -> tuple[int, int]:
        """``(k, n)``: the study's difference lies inside our interval for ``k`` of the ``n`` claims that have one."""
        known = [c.study_inside for c in self.checks if c.study_inside is not None]
        return sum(known), len(known)


def judge(conclusion: Conclusion, top1_runs: Mapping[str, Sequence[float]]) -> Judgement:
    """The verdict on one conclusion from per-seed top-1 (``{study variant name: [top-1 per seed]}``), with each claim's
    Welch 95% interval and where the study's single-run difference falls against it.

    Reproduced when the interval of every claim confirms it, not reproduced when one contradicts it, not significant
    otherwise (an interval that does not decide); not tested when a variant was not in the bench.
    """
    missing = tuple(sorted({n for c in conclusion.claims for n in (c.a, c.b) if n not in top1_runs}))
    if missing:
        return Judgement(NOT_TESTED, (), missing)
    checks = []
    for c in conclusion.claims:
        d = welch_interval(top1_runs[c.a], top1_runs[c.b])
        checks.append(ClaimCheck(c, d, _holds(c, d)))
    outcomes = [c.holds for c in checks]
    if False in outcomes:
        return Judgement(NOT_REPRODUCED, tuple(checks))
    return Judgement(REPRODUCED if all(outcomes) else NOT_SIGNIFICANT, tuple(checks))


def study_file_kib(cfg: str | Path | dict) -> float:
    """The size in KiB of the fp32 ``state_dict`` of a config at the study's 10 classes, as ``torch.save`` writes it:
    our counterpart of the study's "model file" column (BatchNorm statistics included, as in a saved model)."""
    buf = io.BytesIO()
    torch.save(build_model(cfg, nc=STUDY_NC).state_dict(), buf)
    return buf.getbuffer().nbytes / 1024


# --------------------------------------------------------------------------------------------------------------------
# The published page


def _variant_rows(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """``{study variant name: bench row}`` for the rows whose config is one of the study's."""
    by_cfg = {Path(r["cfg"]).name: r for r in report["rows"]}
    return {v.name: by_cfg[v.cfg] for v in STUDY if v.cfg in by_cfg}


# The study at its own setting: CIFAR-10 on disk, 32 px, a full schedule, on a GPU (documented on the page).
GPU_COMMAND = (
    "yolo-ghost bench --cfg " + " ".join(v.cfg for v in STUDY) + " \\\n"
    "    --data ~/data/cifar10 --epochs 200 --imgsz 32 --batch-size 128 --device 0 --seeds 5 --name study-cifar10"
)


def scored_on(data: str) -> str:
    """Which split a classifier bench on ``data`` scored, in words (``yolo_ghost.bench.tasks``: a held-out test split
    when the dataset has one, else val)."""
    key = builtin_cls_key(data)
    if key:
        n_test = SHAPES_CLS_SETS[key].get("n_test", 0)
        return f"the held-out test split ({n_test:,} images, scored once)" if n_test else "the val split"
    return "the dataset's test split when it has one beside val, else its val split"


def resolution_line(top1_runs: Mapping[str, Sequence[float]], ours: Mapping[str, Difference]) -> str:
    """What this bench can resolve: the baseline's seed spread and the smallest difference its intervals exclude
    (the largest half-width of the variants' intervals against the baseline: a true difference that large or
    larger is called)."""
    base = top1_runs["baseline"]
    spread = statistics.stdev(base) if len(base) > 1 else float("nan")
    widths = [d.half_width for d in ours.values() if d.half_width is not None]
    if not widths:
        return f"Baseline seed-to-seed standard deviation of top-1: {spread:.4f} ({len(base)} seeds)."
    return (
        f"Baseline seed-to-seed standard deviation of top-1: {spread:.4f} ({len(base)} seeds). The 95% intervals "
        f"against the baseline are ±{min(widths):.4f} to ±{max(widths):.4f} wide: a difference smaller than that "
        "cannot be told from seed noise here."
    )


def study_page(report: Mapping[str, Any], figures: Mapping[str, str]) -> str:
    """The Markdown of ``docs/shufflenet-study.md`` for a classifier bench report; ``figures`` maps ``curves`` and
    ``pareto`` to the image paths the page links (relative to it)."""
    s, m = report["settings"], report["machine"]
    rows = _variant_rows(report)
    if "baseline" not in rows:
        raise ValueError("publish_study: the bench has no shufflenetv2-cls.yaml row, the study's baseline")
    seeds = s.get("seeds") or [s["seed"]]
    costs = {v.name: study_cost(v.cfg) for v in STUDY if v.name in rows}
    files = {v.name: study_file_kib(v.cfg) for v in STUDY if v.name in rows}
    base_mac, study_base = costs["baseline"][1], STUDY[0].mflops
    head = report["headline_backend"]
    top1_runs = {n: [x["top1"] for x in r["runs"]] for n, r in rows.items()}
    judgements = [judge(c, top1_runs) for c in CONCLUSIONS]
    counts = {v: sum(j.verdict == v for j in judgements) for v in (REPRODUCED, NOT_REPRODUCED, NOT_SIGNIFICANT)}
    decided = counts[REPRODUCED] + counts[NOT_REPRODUCED]
    n_runs = sum(r["n_runs"] for r in rows.values())
    n_improving = sum(len(r.get("still_improving_seeds") or []) for r in rows.values())
    # Each variant against the study's baseline (not whatever row the bench compared it with), beside the study's
    # single-run difference to the same baseline.
    ours = {n: welch_interval(top1_runs[n], top1_runs["baseline"]) for n in rows if n != "baseline"}
    inside = {n: study_inside(study_difference(n), d) for n, d in ours.items()}
    n_inside, n_compared = sum(v for v in inside.values() if v), sum(v is not None for v in inside.values())
    outcome = (
        f"{counts[REPRODUCED]} of its {len(CONCLUSIONS)} conclusions reproduced, {counts[NOT_REPRODUCED]} not "
        f"reproduced, {counts[NOT_SIGNIFICANT]} not significant"
    )
    title = "reproduced" if counts[REPRODUCED] == len(CONCLUSIONS) else "checked" if decided else "not decided"
    out = [
        f"# The ShuffleNet V2 variant study: {title} on `{s['data']}`",
        "",
        "The study modified ShuffleNet V2 1.0x in five ways and trained each once as a CIFAR-10 classifier. This page "
        "sets its published table beside ours: the architectures (params, compute and model file at the study's "
        f"{STUDY_IMGSZ}x{STUDY_IMGSZ}, {STUDY_NC} classes) and the accuracy of each variant trained here on "
        f"`{s['data']}` with {len(seeds)} seeds, and checks the study's conclusions against our Welch intervals.",
        "",
        f"**Source:** {SOURCE}.",
        "",
        "**What it shows:** the architectures match the study's table. The accuracy comparison "
        + (
            f"reproduces all {len(CONCLUSIONS)} of the study's conclusions"
            if counts[REPRODUCED] == len(CONCLUSIONS)
            else f"does not decide the study's conclusions ({outcome})"
            if not decided
            else f"decides only part of the study's conclusions ({outcome})"
        )
        + f"; the study's single-run difference to its baseline lies inside our 95% interval for {n_inside} of the "
        f"{n_compared} variants"
        + (
            f"; {n_improving} of the {n_runs} runs were still improving at their last epoch, so on this set and "
            "recipe the comparison reflects training speed as much as capacity, and a set or recipe that converges "
            "in the time allowed is needed to settle it."
            if n_improving
            else f"; all {n_runs} runs reached their plateau."
        ),
        "",
        f"Generated by `python benchmarks/publish_study.py {report.get('run_dir', 'RUN')}` from the bench's "
        "`bench.json`; nothing on this page is typed by hand. The bench:",
        "",
        "```",
        s["command"],
        "```",
        "",
        f"Recipe: {s['epochs']} epochs at {s['imgsz']} px, batch {s['batch']}, seeds {', '.join(map(str, seeds))}; "
        f"{report['date']}, {m['cpu_count']} CPUs ({m['cpu']}), torch {m['torch']}, ultralytics {m['ultralytics']}, "
        f"onnxruntime {m['onnxruntime']}.",
        "",
        "## Architectures: params, compute and model file against the study",
        "",
        f"Ours counted by `yolo_ghost.tools.profiler` at {STUDY_IMGSZ}x{STUDY_IMGSZ}, {STUDY_NC} classes, BatchNorm not folded "
        '(as a thop-style counter sees the model), MACs = FLOPs / 2; the study\'s "flops" are such MACs. Absolute '
        "MACs depend on what a counter includes, so compute is compared as the ratio to each side's baseline. Model "
        f"file: ours is the fp32 `state_dict` at {STUDY_NC} classes as `torch.save` writes it (KiB); the study's is "
        'the size its table prints ("K").',
        "",
        '| variant | config | params (M) | study params (M) | MMACs | study "flops" (M) | MAC ratio | study ratio '
        "| model file (KiB) | study model file (K) |",
        "|:---|:---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for v in STUDY:
        if v.name not in rows:
            continue
        params, mac = costs[v.name]
        out.append(
            f"| {v.name} | `{v.cfg}` | {params / 1e6:.3f} | {v.params_m:.3f} | {mac:.1f} | {v.mflops:.2f} | "
            f"{mac / base_mac:.3f} | {v.mflops / study_base:.3f} | {files[v.name]:.0f} | {v.file_kb} |"
        )
    out += [
        "",
        f"## Accuracy: the study's CIFAR-10 top-1 and ours on `{s['data']}`",
        "",
        "| variant | study top-1 (CIFAR-10, 1 run) | top-1 (ours) | study Δ vs baseline (1 run) "
        f"| Δ top-1 vs baseline [95% CI] (ours) | study Δ in our CI | top-5 (ours) | MFLOPs @{s['imgsz']} "
        f"| {head} ms @{s['latency_imgsz']} |",
        "|:---|---:|---:|---:|---:|:---|---:|---:|---:|",
    ]
    for v in STUDY:
        if v.name not in rows:
            continue
        r = rows[v.name]
        base = v.name == "baseline"
        diff = "baseline" if base else format_interval(ours[v.name].as_dict(), verdict=False)
        lat = r["latency"][head]["median_ms"]
        out.append(
            f"| {v.name}{f' {STILL_IMPROVING_MARK}' if r.get('still_improving_seeds') else ''} | {v.top1:.3f} | "
            f"{format_mean_std(r, 'top1')} | {'baseline' if base else f'{study_difference(v.name):+.3f}'} | "
            f"{diff} | {'' if base else INSIDE_WORDS[inside[v.name]]} | "
            f"{format_mean_std(r, 'top5')} | {r['gflops'] * 1e3:.2f} | {lat:.2f} ({r['ratios'][f'latency_{head}']:.2f}x) |"
        )
    improving = [f"{n} (seeds {', '.join(map(str, r['still_improving_seeds']))})" for n, r in rows.items()
                 if r.get("still_improving_seeds")]  # fmt: skip
    out += [
        "",
        f"Top-1 / top-5: mean ± std over seeds of best.pt on {scored_on(s['data'])}; Δ with Welch's t 95% interval "
        "against the baseline; the study's Δ is its variant's top-1 minus its baseline's, one run each, and *inside* means it "
        f"lies within our interval; latency: batch 1 at {s['latency_imgsz']}x{s['latency_imgsz']}, BN fused, median "
        "of the bench's interleaved rounds, (x) = ratio to the baseline.",
        "",
        (
            f"{STILL_IMPROVING_MARK} still improving at the last epoch (val top-1 gained more than 5% of its final "
            f"value over the last quarter of the epochs): {'; '.join(improving)}. For these the comparison reflects "
            "training speed as much as capacity."
            if improving
            else "Every run had reached its plateau (val top-1 gained at most 5% of its final value over the last "
            "quarter of its epochs)."
        ),
        "",
        resolution_line(top1_runs, ours),
        "",
        "## The study's conclusions, checked",
        "",
        "A conclusion is **reproduced** when every claim it makes is confirmed by the 95% Welch interval of the "
        "top-1 difference, **not reproduced** when an interval contradicts one, **not significant** when an "
        f'interval does not decide; "almost no accuracy cost" means at most {EQUIVALENCE_MARGIN:.2f} top-1 below. '
        "Each claim also says whether the study's own single-run difference lies inside our interval. Accuracy on "
        "our built-in set, not CIFAR-10: the ranking is what can carry over, not the figures.",
        "",
    ]
    for c, j in zip(CONCLUSIONS, judgements):
        k, n = j.study_inside_count()
        where = f" (the study's difference inside our interval for {k} of {n} claim{'s' * (n != 1)})" if n else ""
        out.append(f"- *{c.text}*: **{j.verdict}**{where}")
        out += [f"  - {line}" for line in j.lines()]
    ratios = ", ".join(
        f"{n} {costs[n][1] / base_mac:.2f} (study {v.mflops / study_base:.2f})"
        for v in STUDY[1:]
        if (n := v.name) in rows
    )
    out += [
        "",
        f"Compute (MAC ratio to the baseline at {STUDY_IMGSZ}x{STUDY_IMGSZ}): {ratios}.",
        "",
        "## The study at its own setting, on a GPU",
        "",
        "The study trained on CIFAR-10 itself. With CIFAR-10 on disk as an ImageFolder (`cifar10/train/<class>/*.png`, "
        "`cifar10/test/<class>/*.png`: nothing is downloaded, see [training](training.md)), the same six configs at "
        "32 px run as one command on a GPU:",
        "",
        "```bash",
        GPU_COMMAND,
        "```",
        "",
        "The study does not state its schedule; 200 epochs at batch 128 is a common CIFAR-10 one, and five seeds "
        "give intervals to set beside its single runs. `publish_study.py` publishes that bench as it does this one.",
        "",
        "## Figures",
        "",
        f"Validation top-1 per epoch, one line per run (dashed: still improving):\n\n![learning curves]({figures['curves']})",
        "",
        f"Top-1 against compute and {head} latency (the legend under the panels explains markers and lines):"
        f"\n\n![Pareto]({figures['pareto']})",
        "",
    ]
    return "\n".join(out)


def publish_study(run_dir: str | Path, out: str | Path = "docs/shufflenet-study.md") -> Path:
    """Rewrite the bench's report in ``run_dir`` with the study's table at the end of its ``bench.md``, and write the
    study page for that finished classifier bench, with its ``curves.png`` and
    ``pareto.png`` copied into ``img/`` beside the page (``img/<page stem>-curves.png``, ``img/<page stem>-pareto.png``);
    returns the page.

    Raises:
        FileNotFoundError: no ``bench.json`` in ``run_dir`` (the bench has not finished).
        ValueError: the bench is not a classifier bench or lacks the study's baseline.
    """
    import json

    run_dir, out = Path(run_dir), Path(out)
    report_path = run_dir / "bench.json"
    if not report_path.is_file():
        raise FileNotFoundError(
            f"{report_path}: no bench report; finish the bench first (python -m yolo_ghost bench --resume {run_dir})"
        )
    report = json.loads(report_path.read_text())
    if report["settings"].get("task") != "classify":
        raise ValueError(f"{run_dir}: not a classifier bench (task {report['settings'].get('task', 'detect')!r})")
    write_report(report, run_dir)  # the bench's files again, bench.md now ending with the study's table (below)
    out.parent.mkdir(parents=True, exist_ok=True)
    figures = {}
    for key in ("curves", "pareto"):
        src = run_dir / f"{key}.png"
        dst = out.parent / "img" / f"{out.stem}-{key}.png"
        if src.is_file():
            dst.parent.mkdir(exist_ok=True)
            shutil.copyfile(src, dst)
        figures[key] = f"img/{dst.name}"
    text = study_page({**report, "run_dir": str(run_dir)}, figures)
    atomic_write(out, lambda tmp: tmp.write_text(text))
    return out


# A classifier bench report written in a process that imported this module ends its bench.md with the study's table.
register_report_section("classify", format_study_table)
