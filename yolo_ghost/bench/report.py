"""The bench's report: each row's difference to its baseline with Welch's interval, the Pareto flags, and the
files a reader opens (``bench.json``, ``bench.csv``, ``bench.md``, ``pareto.png``, ``curves.png``).

``register_report_section`` is the hook for further sections of ``bench.md`` (the ShuffleNet V2 study adds its
table to classifier benches this way, from ``benchmarks/study_report.py``): the bench itself knows no study.
"""

from __future__ import annotations

import csv
import io
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from yolo_ghost.bench.deploy import deploy_rows, format_deploy
from yolo_ghost.bench.pareto import pareto_front, plot_pareto
from yolo_ghost.bench.stats import welch_interval
from yolo_ghost.bench.tasks import BenchTask, get_bench_task
from yolo_ghost.engine.curves import plot_curves, warning_text
from yolo_ghost.tools.latency import LatencyStats, paired_ratio
from yolo_ghost.utils.atomic import atomic_write, write_json_atomic

# The backend whose latency goes into the Pareto plot and the headline ratios: what a CPU deployment runs.
HEADLINE_BACKEND = "onnxruntime-cpu"

ReportSection = Callable[[Mapping[str, Any]], str]
# Further sections of bench.md per task (``detect``, ``classify``), each ``section(report) -> Markdown``.
REPORT_SECTIONS: dict[str, list[ReportSection]] = {}


def register_report_section(task: str, section: ReportSection) -> ReportSection:
    """Add ``section(report) -> Markdown`` to the end of every ``bench.md`` of ``task`` written from now on (once,
    however often it is registered); returns ``section``."""
    sections = REPORT_SECTIONS.setdefault(task, [])
    if section not in sections:
        sections.append(section)
    return section


def _machine() -> dict[str, Any]:
    import ultralytics

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ultralytics": ultralytics.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    try:
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        info["onnxruntime"] = None
    return info


def make_report(rows: Sequence[dict[str, Any]], settings: dict[str, Any]) -> dict[str, Any]:
    """Add every row's difference and ratios to its baseline, and the Pareto flags; returns ``bench.json``'s content.

    A row's baseline is the one ``settings["baselines"]`` names for it (``--pair``), else the first row.
    """
    task = get_bench_task(settings.get("task"))
    key = task.headline
    by_name = {r["name"]: r for r in rows}
    pairs = settings.get("baselines") or {}
    backends = list(settings["backends"])
    out_rows = []
    for i, r in enumerate(rows):
        r = dict(r)
        base = by_name[pairs.get(r["name"], rows[0]["name"])]
        r["baseline"] = None if i == 0 else base["name"]
        r["latency_ms"] = {b: r["latency"][b]["median_ms"] for b in backends}
        r["difference"] = (
            None
            if i == 0
            else {
                k: welch_interval([x[k] for x in r["runs"]], [x[k] for x in base["runs"]]).as_dict()
                for k in task.compared
            }
        )
        r["ratios"] = {
            key: _ratio(r[key], base[key]),
            "params": _ratio(r["params"], base["params"]),
            "gflops": _ratio(r["gflops"], base["gflops"]),
            "mem_mb": _ratio(r["mem_mb"], base["mem_mb"]),
            **{
                f"latency_{b}": paired_ratio(
                    LatencyStats.from_dict(r["latency"][b]), LatencyStats.from_dict(base["latency"][b])
                )
                for b in backends
            },
        }
        out_rows.append(r)
    maps = [r[key] for r in out_rows]
    head = HEADLINE_BACKEND if HEADLINE_BACKEND in backends else backends[0]
    on_gflops = set(pareto_front([r["gflops"] for r in out_rows], maps))
    on_latency = set(pareto_front([r["latency_ms"][head] for r in out_rows], maps))
    for i, r in enumerate(out_rows):
        r["pareto"] = {"gflops": i in on_gflops, "latency": i in on_latency}
    return {
        "baseline": rows[0]["name"],
        "headline_backend": head,
        "settings": settings,
        "machine": _machine(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "rows": out_rows,
        "deploy": deploy_rows(out_rows, settings, key) if settings.get("deploy") else [],
    }


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else float("nan")


def csv_fields(task: BenchTask) -> tuple[str, ...]:
    """The leading columns of ``bench.csv``: the compared metrics with their std, then the other metrics, the cost."""
    metrics = [c for k in task.compared for c in (k, f"{k}_std")] + [k for k in task.metrics if k not in task.compared]
    return ("name", "cfg", "n_runs", *metrics, "params", "gflops", "mem_mb")


def format_csv(report: dict[str, Any]) -> str:
    """One row per model: mean and std over seeds, the difference to the baseline with its interval, the latency
    median and spread per backend, and the ratios to the baseline."""
    backends = report["settings"]["backends"]
    task = get_bench_task(report["settings"].get("task"))
    fields = csv_fields(task)
    cols = [*fields, f"diff_{task.headline}", "diff_low", "diff_high", "significant"]
    for b in backends:
        cols += [f"{b}_median_ms", f"{b}_p10_ms", f"{b}_p90_ms"]
    ratio_keys = list(report["rows"][0]["ratios"])
    cols += [f"ratio_{k}" for k in ratio_keys]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in report["rows"]:
        vals = [r[k] for k in fields]
        d = (r["difference"] or {}).get(task.headline)
        vals += [d["diff"], d["low"], d["high"], d["significant"]] if d else ["", "", "", ""]
        for b in backends:
            st = r["latency"][b]
            vals += [st["median_ms"], st["p10_ms"], st["p90_ms"]]
        vals += [r["ratios"][k] for k in ratio_keys]
        w.writerow(vals)
    return buf.getvalue()


def format_mean_std(r: Mapping[str, Any], key: str) -> str:
    """A row's ``key`` as ``mean ± std`` over its seeds (the mean alone for one seed)."""
    return f"{r[key]:.4f}" if r["n_runs"] == 1 else f"{r[key]:.4f} ± {r[f'{key}_std']:.4f}"


def format_interval(d: Mapping[str, Any] | None, verdict: bool = True) -> str:
    """A difference with its Welch 95% interval, ``+0.0123 [-0.0100, +0.0300] not significant`` (the verdict words
    only with ``verdict``); empty for the baseline row, which has none."""
    if d is None:
        return ""
    if d["low"] is None:
        return f"{d['diff']:+.4f}" + (" (1 seed: no interval)" if verdict else "")
    text = f"{d['diff']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}]"
    return text + (" significant" if d["significant"] else " not significant") * verdict


def verdicts(report: dict[str, Any]) -> list[str]:
    """One line per non-baseline config: its headline difference to the baseline and what it costs.

    ``yolov5n-ghost: -0.032 ± 0.011 mAP50-95 (significant) for 0.55x GFLOPs and 0.91x onnxruntime-cpu latency
    (vs yolov5n)``; ``±`` is the half-width of the 95% Welch interval, everything relative to the row's baseline.
    """
    head = report["headline_backend"]
    task = get_bench_task(report["settings"].get("task"))
    metric = task.label(task.headline)
    out = []
    for r in report["rows"][1:]:
        d = r["difference"][task.headline]
        if d["low"] is None:
            acc = f"{d['diff']:+.3f} {metric} (one seed per config: no interval, not a result)"
        else:
            sig = "significant" if d["significant"] else "not significant"
            acc = f"{d['diff']:+.3f} ± {(d['high'] - d['low']) / 2:.3f} {metric} ({sig})"
        cost = f"{r['ratios']['gflops']:.2f}x GFLOPs and {r['ratios'][f'latency_{head}']:.2f}x {head} latency"
        out.append(f"{r['name']}: {acc} for {cost} (vs {r['baseline']})")
    return out


def format_markdown(report: dict[str, Any]) -> str:
    """The Markdown report: settings, one table with the baseline first and ratios to it on every other row, the
    verdict lines, and a warning for every run that was still improving at its end."""
    s = report["settings"]
    backends = s["backends"]
    base = report["rows"][0]
    n_seeds = len(s.get("seeds") or [s["seed"]])
    task = get_bench_task(s.get("task"))
    metric = task.label(task.headline)

    def cell(r: dict[str, Any], value: str, key: str) -> str:
        return value if r["baseline"] is None else f"{value} ({r['ratios'][key]:.2f}x)"

    cols = [
        "model",
        *(task.label(k) for k in task.compared),
        "vs",
        f"Δ {metric} [95% CI]",
        "params (M)",
        f"GFLOPs @{s['imgsz']}",
        "memory (MB)",
    ]
    cols += [f"{b} ms @{s['latency_imgsz']}" for b in backends]
    lines = [
        "| " + " | ".join(cols) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(cols) - 1)) + "|",
    ]
    for r in report["rows"]:
        front = " *" if r["pareto"]["gflops"] or r["pareto"]["latency"] else ""
        cells = [
            f"{r['name']}{front}",
            *(format_mean_std(r, k) for k in task.compared),
            r["baseline"] or "",
            format_interval((r["difference"] or {}).get(task.headline)) or "baseline",
            cell(r, f"{r['params'] / 1e6:.3f}", "params"),
            cell(r, _num(r["gflops"]), "gflops"),
            cell(r, f"{r['mem_mb']:.1f}", "mem_mb"),
        ]
        for b in backends:
            st = r["latency"][b]
            cells.append(cell(r, f"{st['median_ms']:.1f} [{st['p10_ms']:.1f}-{st['p90_ms']:.1f}]", f"latency_{b}"))
        lines.append("| " + " | ".join(cells) + " |")
    if len(report["rows"]) > 1:
        lines += ["", "Verdicts (difference to the baseline, mean over seeds):", ""]
        lines += [f"- {v}" for v in verdicts(report)]
    flagged = [
        (r["name"], run)
        for r in report["rows"]
        for run in r["runs"]
        if (run.get("convergence") or {}).get("still_improving")
    ]
    if flagged:
        lines += [
            "",
            f"**Warning: {len(flagged)} of {sum(r['n_runs'] for r in report['rows'])} runs were still improving.**",
            "",
        ]
        lines += [f"- {name} seed {run['seed']}: {warning_text(run['convergence'], metric)}" for name, run in flagged]
    m = report["machine"]
    recipe = (
        f"trained {s['epochs']} epoch{'s' * (s['epochs'] != 1)} at {s['imgsz']} px, batch {s['batch']}, "
        f"{n_seeds} seed{'s' * (n_seeds != 1)} per config ({', '.join(map(str, s.get('seeds') or [s['seed']]))})"
        if not s["weights"]
        else "given checkpoints (not trained here)"
    )
    notes = [
        "",
        f"Baseline: **{base['name']}**, unless the `vs` column names another; (x) = ratio to the row's baseline. "
        f"`*` = on the Pareto front of {metric} against GFLOPs or "
        f"against {report['headline_backend']} latency.",
        f"Dataset `{s['data']}`, {recipe}; {task.scoring}, mean ± sample standard deviation over "
        "seeds; Δ = difference of the means to the baseline with Welch's t 95% confidence interval (not significant "
        f"when it contains 0). A run is still improving when its val {metric} gained more than 5% of its final value "
        "over the last quarter of its epochs (`curves.png`).",
        f"GFLOPs = 2 x multiply-accumulates, BN fused, batch 1 at {s['imgsz']}x{s['imgsz']}; memory = bytes of "
        "activations read and written plus weights.",
        f"Latency: batch 1 at {s['latency_imgsz']}x{s['latency_imgsz']}, BN fused, median [p10-p90] of "
        f"{s['latency_rounds']} interleaved rounds after {s['latency_warmup']} warm-up runs (each timed run right after "
        f"an untimed one of the same model), latency ratios = median of per-round ratios, {s['threads']} threads; "
        f"{m['cpu_count']} CPUs ({m['cpu']}), torch {m['torch']}, onnxruntime {m['onnxruntime']}"
        + (f", GPU {m['gpu']}" if m["gpu"] else ", no GPU")
        + ".",
        f"Command: `{s['command']}`",
    ]
    if report.get("deploy"):
        notes += ["", format_deploy(report)]
    extra = [t for section in REPORT_SECTIONS.get(task.name, ()) for t in ("", section(report))]
    return "\n".join(lines + notes + extra) + "\n"


def _num(x: float) -> str:
    # three significant digits for small figures (GFLOPs at a tiny test size), two decimals otherwise
    return f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}"


def write_report(report: dict[str, Any], run_dir: str | Path) -> dict[str, Path]:
    """Write ``bench.json``, ``bench.csv``, ``bench.md``, ``pareto.png`` and (for trained runs) ``curves.png`` into
    ``run_dir``; returns their paths."""
    run_dir = Path(run_dir)
    paths = {k: run_dir / f"bench.{k}" for k in ("json", "csv", "md")}
    write_json_atomic(paths["json"], report)
    for k, text in (("csv", format_csv(report)), ("md", format_markdown(report))):
        atomic_write(paths[k], lambda tmp, text=text: tmp.write_text(text))
    head = report["headline_backend"]
    s = report["settings"]
    task = get_bench_task(s.get("task"))
    key, metric = task.headline, task.label(task.headline)
    plot_rows = [
        {"name": r["name"], "params": r["params"], key: r[key], f"{key}_std": r.get(f"{key}_std"),
         "gflops": r["gflops"], "latency_ms": r["latency_ms"][head]}
        for r in report["rows"]
    ]  # fmt: skip
    paths["png"] = plot_pareto(
        plot_rows,
        run_dir / "pareto.png",
        costs=(("gflops", f"GFLOPs @{s['imgsz']}"), ("latency_ms", f"{head} latency, ms @{s['latency_imgsz']}")),
        baseline=report["baseline"],
        title=f"{s['data']}: {metric} vs compute",
        score=key,
        score_label=metric,
    )
    for target in dict.fromkeys(d["target"] for d in report.get("deploy") or []):
        # what a user deploys: the file's own mAP against the file's own latency, one figure per deploy target
        params = {r["name"]: r["params"] for r in report["rows"]}
        deployed = [
            {"name": d["name"], "params": params[d["name"]], key: d[key], f"{key}_std": d[f"{key}_std"],
             "latency_ms": d["latency_ms"]}
            for d in report["deploy"]
            if d["target"] == target
        ]  # fmt: skip
        paths[f"png-{target}"] = plot_pareto(
            deployed,
            run_dir / f"pareto-{target}.png",
            costs=(("latency_ms", f"{target} latency, ms @{s['latency_imgsz']}"),),
            baseline=report["baseline"],
            title=f"{s['data']}: {metric} vs latency, as deployed ({target})",
            score=key,
            score_label=f"{metric} of the {target} file",
        )
    runs = [{"name": r["name"], **run} for r in report["rows"] for run in r["runs"] if run.get("curve")]
    if runs:
        paths["curves"] = plot_curves(
            runs, run_dir / "curves.png", title=f"{s['data']}: val {metric} per epoch", key=key,
            ylabel=f"val {metric} (ultralytics, EMA weights)",
        )  # fmt: skip
    return paths
