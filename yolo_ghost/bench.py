"""The accuracy / compute / latency comparison of several configs: train, evaluate, profile, time, report.

``run_bench`` answers "how much accuracy do I keep for the compute I save?" in one run folder, for detectors or for
classifiers (all configs of one bench are of one task; what differs per task is described in
``yolo_ghost.bench_task``: detectors are scored by pycocotools mAP, classifiers by top-1 / top-5):

* every config is trained with the same recipe (``yolo_ghost.train`` or ``yolo_ghost.train_cls``) once per seed
  (``seeds``) unless a checkpoint is given for it, each run evaluated on the same split and settings and its
  per-epoch val curve of the headline metric kept with the plateau verdict of ``yolo_ghost.curves``; each config is
  profiled (params, GFLOPs and memory traffic, BN fused, at the bench image size);
* each finished run is recorded in ``results/<name>/seed<k>.json`` at once, so an interrupted bench resumes where it
  stopped, run by run (a training that was cut off continues from its ``last.pt``);
* across seeds: mean and standard deviation of every metric per config (mAP50-95 and mAP50, or top-1 and top-5),
  and each config's difference to the baseline with Welch's 95% t interval (``yolo_ghost.stats``); an interval
  containing 0 is "not significant";
* latency is measured last, for all models together in one interleaved run (``yolo_ghost.latency``), since numbers
  from separate runs are not comparable;
* the report: ``bench.json`` (everything: settings, machine, every run's numbers and curve), ``bench.csv``,
  ``bench.md`` (the first config is the baseline; every other row carries ratios and a verdict line; runs still
  improving at their end are flagged; a classifier bench adds the variant study's table,
  ``yolo_ghost.study_report``), ``pareto.png`` and ``curves.png``.
"""

from __future__ import annotations

import csv
import io
import os
import platform
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from yolo_ghost.atomic import atomic_write, write_json_atomic
from yolo_ghost.bench_files import check_settings, read_bench_folder
from yolo_ghost.bench_task import BenchTask, bench_task_of, get_bench_task, model_name
from yolo_ghost.cfg import ConfigError
from yolo_ghost.checkpoint import read_checkpoint
from yolo_ghost.curves import plot_curves, training_curve, warning_text
from yolo_ghost.engine import training_finished
from yolo_ghost.latency import LatencyStats, available_backends, measure_latency, paired_ratio
from yolo_ghost.model import build_model, load_checkpoint
from yolo_ghost.pareto import pareto_front, plot_pareto
from yolo_ghost.profiler import profile_model
from yolo_ghost.run_dir import next_run_dir
from yolo_ghost.stats import mean_std, welch_interval

DEFAULT_PROJECT = "runs/bench"
SETTINGS_FILE = "settings.json"
# The backend whose latency goes into the Pareto plot and the headline ratios: what a CPU deployment runs.
HEADLINE_BACKEND = "onnxruntime-cpu"


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


def _check_inputs(cfgs: Sequence[str], weights: Sequence[str] | None, data: str | None, seeds: int) -> BenchTask:
    """Fail before any training on a config, checkpoint or dataset that cannot be used; returns the configs' task."""
    if not cfgs:
        raise ConfigError("bench: give at least one --cfg")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"bench: --seeds must be an integer >= 1, got {seeds!r}")
    if weights is not None and seeds > 1:
        raise ConfigError("bench: --seeds > 1 needs training; with --weights each config is one given checkpoint")
    names = [model_name(c) for c in cfgs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"bench: config name(s) {dup} given twice; each row needs its own name")
    task = bench_task_of(cfgs)
    if weights is not None:
        if len(weights) != len(cfgs):
            raise ConfigError(f"bench: {len(weights)} --weights for {len(cfgs)} --cfg; give one checkpoint per config")
        missing = [w for w in weights if not Path(w).is_file()]
        if missing:
            raise ConfigError(f"bench: checkpoint(s) not found: {missing}")
    task.check_data(data or task.default_data)
    return task


def run_bench(
    cfgs: Sequence[str],
    *,
    data: str | None = None,
    epochs: int | None = None,
    imgsz: int | None = None,
    batch: int | None = None,
    weights: Sequence[str] | None = None,
    device: str = "cpu",
    workers: int | None = None,
    seed: int = 0,
    seeds: int = 1,
    pairs: Mapping[str, str] | None = None,
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
        cfgs: model configs, all detectors or all classifiers; the first one is the baseline of every ratio (put the
            stock model first).
        data: detectors: a dataset YAML or ``shapes`` (the built-in synthetic set, the default); classifiers: an
            ImageFolder folder or ``shapes-cls`` (the default).
        epochs, imgsz, batch, device, workers: the training recipe, the same for every config; None takes the
            task's default (``BenchTask.recipe``: the dataset's recipe for detectors, ``train_cls.py``'s defaults
            for classifiers).
        seed, seeds: every config is trained ``seeds`` times, with seeds ``seed``, ``seed + 1``, ...
        pairs: ``{row name: baseline row name}`` for rows compared with another row than the first (Ghost-s with
            stock s); names are config file stems.
        weights: one checkpoint per config to evaluate instead of training it.
        project, name, exist_ok: the bench folder is ``project/name`` (numbered unless ``exist_ok``).
        resume: ``True`` (the newest bench under ``project``) or a bench folder: continue it with its recorded
            settings; finished runs are not trained or evaluated again.
        latency_imgsz: input size for the latency run (default ``imgsz``); GFLOPs are reported at ``imgsz``.
        latency_rounds, latency_warmup, threads, backends: see ``yolo_ghost.latency.measure_latency``.
        command: the command line recorded in the report (default: this process's).
    """
    project = Path(project).absolute()
    if resume:
        run_dir = _find_resume_dir(resume, project).absolute()
        # every recorded value checked before use: the folder may come from anywhere (yolo_ghost.bench_files)
        settings, finished = read_bench_folder(run_dir, available=available_backends())
        task = get_bench_task(settings.get("task"))
        print(f"bench: resuming {run_dir} with its recorded settings")
    else:
        cfgs = [str(c) for c in cfgs]
        task = _check_inputs(cfgs, weights, data, seeds)
        data = data or task.default_data
        names = [model_name(c) for c in cfgs]
        for row, base in (pairs or {}).items():
            if row not in names or base not in names or row == base:
                raise ConfigError(
                    f"bench: --pair {row}={base}: both must be rows of this bench ({', '.join(names)}) and differ"
                )
        recipe = task.recipe(data)
        epochs = recipe["epochs"] if epochs is None else epochs
        imgsz = recipe["imgsz"] if imgsz is None else imgsz
        batch = recipe["batch"] if batch is None else batch
        lat_img = latency_imgsz or imgsz
        if imgsz % 32 or lat_img % 32:
            raise ConfigError(f"bench: --img and --latency-img must be multiples of 32, got {imgsz} and {lat_img}")
        backends = list(backends) if backends else available_backends()
        settings = {
            "task": task.name,
            "cfgs": cfgs,
            "weights": [str(Path(w).absolute()) for w in weights] if weights else None,
            "data": str(data),
            "epochs": epochs,
            "imgsz": imgsz,
            "batch": batch,
            # The recipe's hyperparameters in full, so that a resumed bench trains its remaining runs exactly as
            # its first ones even if the dataset's recipe has changed in the meantime.
            "hyp": recipe["hyp"],
            "device": device,
            "workers": recipe["workers"] if workers is None else workers,
            "seed": seed,
            "seeds": [seed + k for k in range(seeds)],
            "baselines": dict(pairs or {}),
            "latency_imgsz": lat_img,
            "latency_rounds": latency_rounds,
            "latency_warmup": latency_warmup,
            "threads": int(threads or torch.get_num_threads()),
            "backends": backends,
            "command": command or " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        }
        check_settings(settings, "bench", available=available_backends())  # --threads -1, --latency-rounds 1e12...
        run_dir = next_run_dir(project, name, exist_ok)  # exp, exp2, ... as ultralytics; refuses a name outside project
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(run_dir / SETTINGS_FILE, settings)
        finished = {}
    results_dir = run_dir / "results"
    results_dir.mkdir(exist_ok=True)

    seed_list = settings.get("seeds") or [settings["seed"]]  # a bench folder from before --seeds has one
    n_runs, done = len(settings["cfgs"]) * len(seed_list), 0
    rows = []
    for k, cfg in enumerate(settings["cfgs"]):
        stem = model_name(cfg)
        ckpt = settings["weights"][k] if settings["weights"] else None
        runs = []
        for s in seed_list:
            done += 1
            out = results_dir / stem / f"seed{s}.json"
            if out in finished:
                print(f"bench: [{done}/{n_runs}] {stem} seed {s} already done ({out}), not trained again")
                runs.append(finished[out])
                continue
            print(f"bench: [{done}/{n_runs}] {stem} seed {s}")
            run = _train_and_score(task, cfg, ckpt, settings, run_dir, s)
            out.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(out, run)
            runs.append(run)
        rows.append(_config_row(cfg, runs, settings))

    models = {r["name"]: _model_of(r["cfg"], r["runs"][0]) for r in rows}
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
    print(f"bench: report in {run_dir} (bench.md, bench.csv, bench.json, pareto.png, curves.png)")
    return report


def _train_and_score(
    task: BenchTask, cfg: str, ckpt: str | None, settings: dict[str, Any], run_dir: Path, seed: int
) -> dict[str, Any]:
    """Train one config with one seed (or take its checkpoint), then score it on the val split (``task.score``).

    Returns the run's record: its seed, checkpoint, training time, the task's metrics, and (for a training) the
    per-epoch val curve with the plateau verdict of its headline metric.
    """
    stem = model_name(cfg)
    train_seconds, track = None, {}
    if ckpt is None:
        train_dir = run_dir / "train" / stem / f"seed{seed}"
        last = train_dir / "weights" / "last.pt"
        best = train_dir / "weights" / "best.pt"
        if not (last.is_file() and training_finished(read_checkpoint(last))):
            t0 = time.time()
            recipe = {k: settings[k] for k in ("data", "epochs", "imgsz", "batch", "device", "workers")}
            task.train(
                cfg, **recipe, hyp=settings.get("hyp"), seed=seed, project=train_dir.parent, name=train_dir.name,
                exist_ok=True, resume=last if last.is_file() else False, plots=False,
            )  # fmt: skip
            train_seconds = round(time.time() - t0, 1)
        ckpt = str(best if best.is_file() else last)
        track = training_curve(train_dir, task.curve_columns, task.headline)
    val_dir = run_dir / "val" / stem / f"seed{seed}"
    return {
        "seed": seed,
        "weights": str(Path(ckpt).absolute()),
        "nc": int(load_checkpoint(ckpt).yaml["nc"]),
        "train_seconds": train_seconds,
        **task.score(ckpt, settings["data"], settings["imgsz"], val_dir),
        "curve": track.get("curve"),
        "convergence": track.get("convergence"),
    }


def _model_of(cfg: str, run: dict[str, Any]) -> torch.nn.Module:
    """The trained model of a run, or the same architecture untrained when its checkpoint is gone.

    Profiling and latency depend on the graph only, so a bench whose results were kept without their checkpoints
    (a report committed to a repository, resumed on another machine) still profiles and times every config.
    """
    if Path(run["weights"]).is_file():
        return load_checkpoint(run["weights"])
    print(f"bench: {run['weights']} is gone; profiling and timing {cfg} from its config (nc={run['nc']})")
    return build_model(cfg, nc=run["nc"])


def _config_row(cfg: str, runs: Sequence[dict[str, Any]], settings: dict[str, Any]) -> dict[str, Any]:
    """One config's row: its runs, their mean and standard deviation, and the profile of its (first) model."""
    prof = profile_model(_model_of(cfg, runs[0]), imgsz=settings["imgsz"])
    row: dict[str, Any] = {
        "name": model_name(cfg),
        "cfg": cfg,
        "weights": runs[0]["weights"],  # the checkpoint timed for latency (weights do not change the graph)
        "trained_here": settings["weights"] is None,
        "n_runs": len(runs),
        "runs": list(runs),
    }
    for key in get_bench_task(settings.get("task")).metrics:
        row[key], row[f"{key}_std"] = mean_std([r[key] for r in runs])
    times = [r["train_seconds"] for r in runs if r["train_seconds"] is not None]
    row["train_seconds"] = round(sum(times), 1) if times else None
    row["still_improving_seeds"] = [r["seed"] for r in runs if (r.get("convergence") or {}).get("still_improving")]
    row.update(params=int(prof.params), gflops=float(prof.gflops), mem_mb=float(prof.mem_mb))
    return row


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


def _mean_std(r: dict[str, Any], key: str) -> str:
    return f"{r[key]:.4f}" if r["n_runs"] == 1 else f"{r[key]:.4f} ± {r[f'{key}_std']:.4f}"


def _interval(d: dict[str, Any] | None) -> str:
    if d is None:
        return "baseline"
    if d["low"] is None:
        return f"{d['diff']:+.4f} (1 seed: no interval)"
    verdict = "significant" if d["significant"] else "not significant"
    return f"{d['diff']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}] {verdict}"


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
            *(_mean_std(r, k) for k in task.compared),
            r["baseline"] or "",
            _interval((r["difference"] or {}).get(task.headline)),
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
    extra = [t for table in task.tables for t in ("", table(report))]
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
    runs = [{"name": r["name"], **run} for r in report["rows"] for run in r["runs"] if run.get("curve")]
    if runs:
        paths["curves"] = plot_curves(
            runs, run_dir / "curves.png", title=f"{s['data']}: val {metric} per epoch", key=key,
            ylabel=f"val {metric} (ultralytics, EMA weights)",
        )  # fmt: skip
    return paths
