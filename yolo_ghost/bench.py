"""The accuracy / compute / latency comparison of several configs: train, evaluate, profile, time, report.

``run_bench`` answers "how much accuracy do I keep for the compute I save?" in one run folder:

* every config is trained with the same recipe (``yolo_ghost.train``) unless a checkpoint is given for it,
  evaluated with pycocotools on the same split and settings (``yolo_ghost.eval.evaluate``), and profiled (params,
  GFLOPs and memory traffic, BN fused, at the bench image size);
* each finished config is recorded in ``results/<name>.json`` at once, so an interrupted bench resumes where it
  stopped (a config whose training was cut off continues from its ``last.pt``);
* latency is measured last, for all models together in one interleaved run (``yolo_ghost.latency``), since numbers
  from separate runs are not comparable;
* the report: ``bench.json`` (everything, with the settings and machine), ``bench.csv``, ``bench.md`` (the first
  config is the baseline, every other row carries ratios to it) and ``pareto.png``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from ultralytics.utils.files import increment_path

from yolo_ghost.cfg import ConfigError, load_model_cfg, resolve_model_cfg
from yolo_ghost.checkpoint import read_checkpoint
from yolo_ghost.eval.coco import atomic_write, write_json_atomic
from yolo_ghost.eval.validator import evaluate, resolve_data
from yolo_ghost.latency import available_backends, measure_latency
from yolo_ghost.model import load_checkpoint, model_task
from yolo_ghost.pareto import pareto_front, plot_pareto
from yolo_ghost.profiler import profile_model
from yolo_ghost.train import DEFAULT_BATCH, DEFAULT_EPOCHS, DEFAULT_IMGSZ, DEFAULT_WORKERS, train

DEFAULT_PROJECT = "runs/bench"
SETTINGS_FILE = "settings.json"
# The backend whose latency goes into the Pareto plot and the headline ratios: what a CPU deployment runs.
HEADLINE_BACKEND = "onnxruntime-cpu"


def model_name(cfg: str | Path) -> str:
    """The row name of a config: its file stem (``yolov5s-ghost.yaml`` -> ``yolov5s-ghost``)."""
    return Path(str(cfg)).stem


def _find_resume_dir(resume: bool | str | Path, project: Path) -> Path:
    if not isinstance(resume, bool):
        d = Path(resume)
        if not (d / SETTINGS_FILE).is_file():
            raise ConfigError(f"--resume {str(resume)!r}: not a bench folder (no {SETTINGS_FILE} in it)")
        return d
    runs = sorted(project.glob(f"*/{SETTINGS_FILE}"), key=os.path.getmtime)
    if not runs:
        raise ConfigError(f"--resume: no bench under {project} to resume (no */{SETTINGS_FILE})")
    return runs[-1].parent


def _training_finished(last: Path) -> bool:
    """Whether ``last.pt`` is the stripped checkpoint written at the end of training (epoch set to -1)."""
    ckpt = read_checkpoint(last)  # weights_only=True with the allow-list of yolo_ghost.checkpoint
    return int(ckpt.get("epoch", 0)) == -1


def _check_inputs(cfgs: Sequence[str], weights: Sequence[str] | None, data: str) -> None:
    """Fail before any training on a config, checkpoint or dataset that cannot be used."""
    if not cfgs:
        raise ConfigError("bench: give at least one --cfg")
    names = [model_name(c) for c in cfgs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"bench: config name(s) {dup} given twice; each row needs its own name")
    for c in cfgs:
        resolve_model_cfg(c)
        if model_task(load_model_cfg(c)) != "detect":
            raise ConfigError(f"bench: {c} is a classifier config; the bench compares detectors")
    if weights is not None:
        if len(weights) != len(cfgs):
            raise ConfigError(f"bench: {len(weights)} --weights for {len(cfgs)} --cfg; give one checkpoint per config")
        missing = [w for w in weights if not Path(w).is_file()]
        if missing:
            raise ConfigError(f"bench: checkpoint(s) not found: {missing}")
    resolve_data(data)


def run_bench(
    cfgs: Sequence[str],
    *,
    data: str = "shapes",
    epochs: int = DEFAULT_EPOCHS,
    imgsz: int = DEFAULT_IMGSZ,
    batch: int = DEFAULT_BATCH,
    weights: Sequence[str] | None = None,
    device: str = "cpu",
    workers: int = DEFAULT_WORKERS,
    seed: int = 0,
    project: str | Path = DEFAULT_PROJECT,
    name: str = "exp",
    exist_ok: bool = False,
    resume: bool | str | Path = False,
    latency_imgsz: int | None = None,
    latency_rounds: int = 20,
    latency_warmup: int = 3,
    threads: int | None = None,
    backends: Sequence[str] | None = None,
    command: str | None = None,
) -> dict[str, Any]:
    """Train, evaluate, profile and time every config, write the report and return ``bench.json``'s content.

    Args:
        cfgs: model configs; the first one is the baseline of every ratio (put the stock model first).
        data: dataset YAML or ``shapes`` (the built-in synthetic set).
        epochs, imgsz, batch, device, workers, seed: the training recipe, the same for every config.
        weights: one checkpoint per config to evaluate instead of training it.
        project, name, exist_ok: the bench folder is ``project/name`` (numbered unless ``exist_ok``).
        resume: ``True`` (the newest bench under ``project``) or a bench folder: continue it with its recorded
            settings; finished configs are not trained or evaluated again.
        latency_imgsz: input size for the latency run (default ``imgsz``); GFLOPs are reported at ``imgsz``.
        latency_rounds, latency_warmup, threads, backends: see ``yolo_ghost.latency.measure_latency``.
        command: the command line recorded in the report (default: this process's).
    """
    project = Path(project).absolute()
    if resume:
        run_dir = _find_resume_dir(resume, project).absolute()
        settings = json.loads((run_dir / SETTINGS_FILE).read_text())
        print(f"bench: resuming {run_dir} with its recorded settings")
    else:
        cfgs = [str(c) for c in cfgs]
        _check_inputs(cfgs, weights, data)
        lat_img = latency_imgsz or imgsz
        if imgsz % 32 or lat_img % 32:
            raise ConfigError(f"bench: --img and --latency-img must be multiples of 32, got {imgsz} and {lat_img}")
        backends = list(backends) if backends else available_backends()
        settings = {
            "cfgs": cfgs,
            "weights": [str(Path(w).absolute()) for w in weights] if weights else None,
            "data": str(data),
            "epochs": epochs,
            "imgsz": imgsz,
            "batch": batch,
            "device": device,
            "workers": workers,
            "seed": seed,
            "latency_imgsz": lat_img,
            "latency_rounds": latency_rounds,
            "latency_warmup": latency_warmup,
            "threads": int(threads or torch.get_num_threads()),
            "backends": backends,
            "command": command or " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        }
        run_dir = increment_path(project / name, exist_ok=exist_ok, sep="", mkdir=True)  # exp, exp2, ... as ultralytics
        write_json_atomic(run_dir / SETTINGS_FILE, settings)
    results_dir = run_dir / "results"
    results_dir.mkdir(exist_ok=True)

    rows = []
    for k, cfg in enumerate(settings["cfgs"]):
        stem = model_name(cfg)
        out = results_dir / f"{stem}.json"
        if out.is_file():
            print(f"bench: {stem} already done ({out}), not trained again")
            rows.append(json.loads(out.read_text()))
            continue
        ckpt = settings["weights"][k] if settings["weights"] else None
        print(f"bench: [{k + 1}/{len(settings['cfgs'])}] {stem}")
        row = _train_and_score(cfg, ckpt, settings, run_dir)
        write_json_atomic(out, row)
        rows.append(row)

    models = {r["name"]: load_checkpoint(r["weights"]) for r in rows}
    latency = measure_latency(
        models,
        settings["latency_imgsz"],
        backends=settings["backends"],
        warmup=settings["latency_warmup"],
        rounds=settings["latency_rounds"],
        threads=settings["threads"],
        workdir=run_dir / "onnx",
    )
    for r in rows:
        r["latency"] = {b: s.as_dict() for b, s in latency[r["name"]].items()}
    report = make_report(rows, settings)
    write_report(report, run_dir)
    print(format_markdown(report))
    print(f"bench: report in {run_dir} (bench.md, bench.csv, bench.json, pareto.png)")
    return report


def _train_and_score(cfg: str, ckpt: str | None, settings: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Train one config (or take its checkpoint), then evaluate it with pycocotools and profile it."""
    stem = model_name(cfg)
    train_seconds = None
    if ckpt is None:
        train_dir = run_dir / "train" / stem
        last = train_dir / "weights" / "last.pt"
        best = train_dir / "weights" / "best.pt"
        if not (last.is_file() and _training_finished(last)):
            t0 = time.time()
            recipe = {k: settings[k] for k in ("data", "epochs", "imgsz", "batch", "device", "workers", "seed")}
            train(
                cfg, **recipe, project=run_dir / "train", name=stem, exist_ok=True,
                resume=last if last.is_file() else False, plots=False,
            )  # fmt: skip
            train_seconds = round(time.time() - t0, 1)
        ckpt = str(best if best.is_file() else last)
    metrics = evaluate(ckpt, settings["data"], imgsz=settings["imgsz"], save_dir=run_dir / "val" / stem, verbose=False)
    coco = metrics["pycocotools"]
    model = load_checkpoint(ckpt)
    prof = profile_model(model, imgsz=settings["imgsz"])
    return {
        "name": stem,
        "cfg": cfg,
        "weights": str(Path(ckpt).absolute()),
        "trained_here": settings["weights"] is None,
        "train_seconds": train_seconds,
        "map50_95": float(coco["AP50-95"]),
        "map50": float(coco["AP50"]),
        "map75": float(coco["AP75"]),
        "ultralytics_map50_95": float(metrics["ultralytics"]["mAP50-95"]),
        "params": int(prof.params),
        "gflops": float(prof.gflops),
        "mem_mb": float(prof.mem_mb),
    }


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
    """Add ratios to the baseline (the first row) and the Pareto flags; returns ``bench.json``'s content."""
    base = rows[0]
    backends = list(settings["backends"])
    out_rows = []
    for r in rows:
        r = dict(r)
        r["latency_ms"] = {b: r["latency"][b]["median_ms"] for b in backends}
        r["ratios"] = {
            "map50_95": _ratio(r["map50_95"], base["map50_95"]),
            "params": _ratio(r["params"], base["params"]),
            "gflops": _ratio(r["gflops"], base["gflops"]),
            "mem_mb": _ratio(r["mem_mb"], base["mem_mb"]),
            **{f"latency_{b}": _paired(r["latency"][b], base["latency"][b]) for b in backends},
        }
        out_rows.append(r)
    maps = [r["map50_95"] for r in out_rows]
    head = HEADLINE_BACKEND if HEADLINE_BACKEND in backends else backends[0]
    on_gflops = set(pareto_front([r["gflops"] for r in out_rows], maps))
    on_latency = set(pareto_front([r["latency_ms"][head] for r in out_rows], maps))
    for i, r in enumerate(out_rows):
        r["pareto"] = {"gflops": i in on_gflops, "latency": i in on_latency}
    return {
        "baseline": base["name"],
        "headline_backend": head,
        "settings": settings,
        "machine": _machine(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "rows": out_rows,
    }


def _paired(a: dict[str, Any], b: dict[str, Any]) -> float:
    # median of per-round ratios (see yolo_ghost.latency.paired_ratio): machine drift cancels within a round
    return statistics.median(x / y for x, y in zip(a["times_ms"], b["times_ms"]))


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else float("nan")


CSV_FIELDS = ("name", "cfg", "map50_95", "map50", "map75", "ultralytics_map50_95", "params", "gflops", "mem_mb")


def format_csv(report: dict[str, Any]) -> str:
    """One row per model: the metrics, the latency median and spread per backend, and the ratios to the baseline."""
    backends = report["settings"]["backends"]
    cols = [*CSV_FIELDS]
    for b in backends:
        cols += [f"{b}_median_ms", f"{b}_p10_ms", f"{b}_p90_ms"]
    ratio_keys = list(report["rows"][0]["ratios"])
    cols += [f"ratio_{k}" for k in ratio_keys]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in report["rows"]:
        vals = [r[k] for k in CSV_FIELDS]
        for b in backends:
            s = r["latency"][b]
            vals += [s["median_ms"], s["p10_ms"], s["p90_ms"]]
        vals += [r["ratios"][k] for k in ratio_keys]
        w.writerow(vals)
    return buf.getvalue()


def format_markdown(report: dict[str, Any]) -> str:
    """The Markdown report: settings, then one table with the baseline first and ratios to it on every other row."""
    s = report["settings"]
    backends = s["backends"]
    base = report["rows"][0]

    def cell(r: dict[str, Any], value: str, key: str) -> str:
        return value if r is base else f"{value} ({r['ratios'][key]:.2f}x)"

    cols = ["model", "mAP50-95", "mAP50", "params (M)", f"GFLOPs @{s['imgsz']}", "memory (MB)"]
    cols += [f"{b} ms @{s['latency_imgsz']}" for b in backends]
    lines = [
        "| " + " | ".join(cols) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(cols) - 1)) + "|",
    ]
    for r in report["rows"]:
        front = " *" if r["pareto"]["gflops"] or r["pareto"]["latency"] else ""
        cells = [
            f"{r['name']}{front}",
            cell(r, f"{r['map50_95']:.4f}", "map50_95"),
            f"{r['map50']:.4f}",
            cell(r, f"{r['params'] / 1e6:.3f}", "params"),
            cell(r, _num(r["gflops"]), "gflops"),
            cell(r, f"{r['mem_mb']:.1f}", "mem_mb"),
        ]
        for b in backends:
            st = r["latency"][b]
            cells.append(cell(r, f"{st['median_ms']:.1f} [{st['p10_ms']:.1f}-{st['p90_ms']:.1f}]", f"latency_{b}"))
        lines.append("| " + " | ".join(cells) + " |")
    m = report["machine"]
    recipe = (
        f"trained {s['epochs']} epoch{'s' * (s['epochs'] != 1)} at {s['imgsz']} px, batch {s['batch']}, seed {s['seed']}"
        if not s["weights"]
        else "given checkpoints (not trained here)"
    )
    notes = [
        "",
        f"Baseline: **{base['name']}**; (x) = ratio to it. `*` = on the Pareto front of mAP50-95 against GFLOPs or "
        f"against {report['headline_backend']} latency.",
        f"Dataset `{s['data']}`, {recipe}; mAP by pycocotools on the val split.",
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
    return "\n".join(lines + notes) + "\n"


def _num(x: float) -> str:
    # three significant digits for small figures (GFLOPs at a tiny test size), two decimals otherwise
    return f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}"


def write_report(report: dict[str, Any], run_dir: str | Path) -> dict[str, Path]:
    """Write ``bench.json``, ``bench.csv``, ``bench.md`` and ``pareto.png`` into ``run_dir``; returns their paths."""
    run_dir = Path(run_dir)
    paths = {k: run_dir / f"bench.{k}" for k in ("json", "csv", "md")}
    write_json_atomic(paths["json"], report)
    for k, text in (("csv", format_csv(report)), ("md", format_markdown(report))):
        atomic_write(paths[k], lambda tmp, text=text: tmp.write_text(text))
    head = report["headline_backend"]
    plot_rows = [
        {"name": r["name"], "params": r["params"], "map50_95": r["map50_95"], "gflops": r["gflops"],
         "latency_ms": r["latency_ms"][head]}
        for r in report["rows"]
    ]  # fmt: skip
    s = report["settings"]
    paths["png"] = plot_pareto(
        plot_rows,
        run_dir / "pareto.png",
        costs=(("gflops", f"GFLOPs @{s['imgsz']}"), ("latency_ms", f"{head} latency, ms @{s['latency_imgsz']}")),
        baseline=report["baseline"],
        title=f"{s['data']}: mAP50-95 vs compute",
    )
    return paths
