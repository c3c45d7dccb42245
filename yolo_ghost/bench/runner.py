"""The accuracy / compute / latency comparison of several configs: train, evaluate, profile, time, report.

``run_bench`` answers "how much accuracy do I keep for the compute I save?" in one run folder, for detectors or for
classifiers (all configs of one bench are of one task; what differs per task is described in
``yolo_ghost.bench.tasks``: detectors are scored by pycocotools mAP, classifiers by top-1 / top-5):

* every config is trained with the same recipe (``yolo_ghost.engine.detect.train`` or ``yolo_ghost.engine.classify.train``) once per seed
  (``seeds``) unless a checkpoint is given for it, each run evaluated on the same split and settings and its
  per-epoch val curve of the headline metric kept with the plateau verdict of ``yolo_ghost.engine.curves``; each config is
  profiled (params, GFLOPs and memory traffic, BN fused, at the bench image size);
* each finished run is recorded in ``results/<name>/seed<k>.json`` at once, so an interrupted bench resumes where it
  stopped, run by run (a training that was cut off continues from its ``last.pt``);
* across seeds: mean and standard deviation of every metric per config (mAP50-95 and mAP50, or top-1 and top-5),
  and each config's difference to the baseline with Welch's 95% t interval (``yolo_ghost.bench.stats``); an interval
  containing 0 is "not significant";
* latency is measured last, for all models together in one interleaved run (``yolo_ghost.tools.latency``), since numbers
  from separate runs are not comparable;
* the report: ``bench.json`` (everything: settings, machine, every run's numbers and curve), ``bench.csv``,
  ``bench.md`` (the first config is the baseline; every other row carries ratios and a verdict line; runs still
  improving at their end are flagged; a classifier bench adds the variant study's table,
  ``study_report``), ``pareto.png`` and ``curves.png``.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from yolo_ghost.bench.deploy import latency_files, score_targets
from yolo_ghost.bench.files import check_settings, read_bench_folder
from yolo_ghost.bench.report import format_markdown, make_report, write_report
from yolo_ghost.bench.stats import mean_std
from yolo_ghost.bench.tasks import BenchTask, bench_rows, bench_task_of, get_bench_task, model_name
from yolo_ghost.cfg import ConfigError
from yolo_ghost.engine.curves import logged_seconds, training_curve
from yolo_ghost.engine.detect.train import check_teacher
from yolo_ghost.engine.hyp import load_hyp_file
from yolo_ghost.engine.run_dir import next_run_dir
from yolo_ghost.engine.trainer import training_finished
from yolo_ghost.models.checkpoint import read_checkpoint
from yolo_ghost.models.yolo import build_model, load_checkpoint
from yolo_ghost.tools.latency import available_backends, measure_latency
from yolo_ghost.tools.profiler import profile_model
from yolo_ghost.tools.quantize import DEFAULT_CALIB_IMAGES
from yolo_ghost.utils.atomic import write_json_atomic

DEFAULT_PROJECT = "runs/bench"
SETTINGS_FILE = "settings.json"


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


def _read_hyp_file(hyp: str | Path | None) -> dict[str, Any]:
    """The mapping of a ``--hyp`` YAML file (``{}`` for None); its keys are checked with the recorded settings."""
    if hyp is None:
        return {}
    d = load_hyp_file(hyp)
    if not isinstance(d, dict):
        raise ConfigError(f"bench: --hyp {hyp}: expected a mapping of hyperparameters, got {type(d).__name__}")
    return d


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


def _check_distill(
    cfgs: Sequence[str], distill: Mapping[str, str], weights: Sequence[str] | None, task: BenchTask
) -> dict[str, str]:
    """``--distill``'s ``{config: teacher}`` as ``{config name: absolute teacher path}``, each teacher checked against
    its student (``yolo_ghost.engine.detect.train.check_teacher``) before the bench makes its folder."""
    if not distill:
        return {}
    if task.name != "detect":
        raise ConfigError("bench: --distill trains detectors with a teacher; these configs are classifiers")
    if weights is not None:
        raise ConfigError("bench: --distill needs training; with --weights each config is one given checkpoint")
    by_name = {model_name(c): c for c in cfgs}
    out = {}
    for cfg, teacher in distill.items():
        name = model_name(cfg)
        if name not in by_name:
            raise ConfigError(f"bench: --distill {cfg}={teacher}: {cfg} is not one of --cfg ({', '.join(by_name)})")
        out[name] = check_teacher(teacher, build_model(by_name[name]))
    return out


def run_bench(
    cfgs: Sequence[str],
    *,
    data: str | None = None,
    epochs: int | None = None,
    imgsz: int | None = None,
    batch: int | None = None,
    weights: Sequence[str] | None = None,
    device: str = "",
    workers: int | None = None,
    seed: int = 0,
    seeds: int = 1,
    pairs: Mapping[str, str] | None = None,
    distill: Mapping[str, str] | None = None,
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
    hyp: str | Path | None = None,
    deploy: Sequence[str] | None = None,
    calib_images: int | None = None,
    keep_float: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Train, evaluate, profile and time every config, write the report and return ``bench.json``'s content.

    Args:
        cfgs: model configs, all detectors or all classifiers; the first one is the baseline of every ratio (put the
            stock model first).
        data: detectors: a dataset YAML or ``shapes`` (the built-in synthetic set, the default); classifiers: an
            ImageFolder folder or a built-in set (``shapes-cls-v2``, the default).
        epochs, imgsz, batch, device, workers: the training recipe, the same for every config; None takes the
            task's default (``BenchTask.recipe``: the dataset's recipe for detectors, ``train_cls.py``'s defaults
            for classifiers).
        seed, seeds: every config is trained ``seeds`` times, with seeds ``seed``, ``seed + 1``, ...
        pairs: ``{row name: baseline row name}`` for rows compared with another row than the first (Ghost-s with
            stock s); names are config file stems.
        distill: ``{config name: teacher checkpoint}``: each named config gets a second row, ``NAME+distill``
            (``yolo_ghost.bench.tasks.bench_rows``), trained with that teacher (``train --distill``); the teacher is
            checked before the bench folder is made and recorded in ``settings.json``.
        weights: one checkpoint per config to evaluate instead of training it.
        project, name, exist_ok: the bench folder is ``project/name`` (numbered unless ``exist_ok``).
        resume: ``True`` (the newest bench under ``project``) or a bench folder: continue it with its recorded
            settings; finished runs are not trained or evaluated again.
        latency_imgsz: input size for the latency run (default ``imgsz``); GFLOPs are reported at ``imgsz``.
        latency_rounds, latency_warmup, threads, backends: see ``yolo_ghost.tools.latency.measure_latency``.
        command: the command line recorded in the report (default: this process's).
        hyp: a YAML file of hyperparameters that override the recipe's for every run (``dis: 1.0``, ``lr0: ...``),
            checked as the task's ``--hyp`` is; recorded in ``settings.json`` with the rest of the recipe.
        deploy: deploy targets (``yolo_ghost.bench.deploy.DEPLOY_TARGETS``: ``onnx``, ``onnx-int8``, ``openvino``,
            ``openvino-int8``): every run is exported, scored and timed as deployed. With ``resume`` they are added
            to a bench whose runs kept their checkpoints.
        calib_images, keep_float: INT8 calibration images and layer types kept in floating point
            (``yolo_ghost.tools.quantize``).
    """
    deploy_settings = (
        {
            "targets": list(deploy),
            "calib_images": calib_images or DEFAULT_CALIB_IMAGES,
            "keep_float": list(keep_float or []),
        }
        if deploy
        else None
    )
    if not deploy and (calib_images is not None or keep_float):
        raise ConfigError("bench: --calib-images and --keep-float apply to INT8 deploy targets; add --deploy")
    project = Path(project).absolute()
    if resume:
        run_dir = _find_resume_dir(resume, project).absolute()
        # every recorded value checked before use: the folder may come from anywhere (yolo_ghost.bench.files)
        settings, finished = read_bench_folder(run_dir, available=available_backends())
        task = get_bench_task(settings.get("task"))
        print(f"bench: resuming {run_dir} with its recorded settings")
        if hyp is not None:
            raise ConfigError("bench: --hyp with --resume: a resumed bench trains with its recorded hyperparameters")
        if deploy_settings is not None:  # deploy a bench that was trained before
            settings["deploy"] = deploy_settings
            check_settings(settings, "bench", available=available_backends())
            write_json_atomic(run_dir / SETTINGS_FILE, settings)
    else:
        cfgs = [str(c) for c in cfgs]
        task = _check_inputs(cfgs, weights, data, seeds)
        distill = _check_distill(cfgs, distill or {}, weights, task)
        data = data or task.default_data
        names = [row for row, _, _ in bench_rows(cfgs, distill)]
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
            "hyp": {**recipe["hyp"], **_read_hyp_file(hyp)},
            "device": device,
            "workers": recipe["workers"] if workers is None else workers,
            "seed": seed,
            "seeds": [seed + k for k in range(seeds)],
            "baselines": dict(pairs or {}),
            "distill": distill,
            "latency_imgsz": lat_img,
            "latency_rounds": latency_rounds,
            "latency_warmup": latency_warmup,
            "threads": int(threads or torch.get_num_threads()),
            "backends": backends,
            "command": command or " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
            "deploy": deploy_settings,
        }
        check_settings(settings, "bench", available=available_backends())  # --threads -1, --latency-rounds 1e12...
        run_dir = next_run_dir(project, name, exist_ok)  # exp, exp2, ... as ultralytics; refuses a name outside project
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(run_dir / SETTINGS_FILE, settings)
        finished = {}
    results_dir = run_dir / "results"
    results_dir.mkdir(exist_ok=True)

    seed_list = settings.get("seeds") or [settings["seed"]]  # a bench folder from before --seeds has one
    row_specs = bench_rows(settings["cfgs"], settings.get("distill"))
    n_runs, done = len(row_specs) * len(seed_list), 0
    rows = []
    for stem, cfg, teacher in row_specs:
        ckpt = settings["weights"][settings["cfgs"].index(cfg)] if settings["weights"] else None
        runs = []
        for s in seed_list:
            done += 1
            out = results_dir / stem / f"seed{s}.json"
            if out in finished:
                print(f"bench: [{done}/{n_runs}] {stem} seed {s} already done ({out}), not trained again")
                run = finished[out]
            else:
                print(f"bench: [{done}/{n_runs}] {stem} seed {s}")
                run = _train_and_score(task, cfg, ckpt, settings, run_dir, s, stem, teacher)
                out.parent.mkdir(parents=True, exist_ok=True)
                write_json_atomic(out, run)
            if settings.get("deploy"):
                deployed = score_targets(run, task.score, settings, run_dir / "deploy" / stem / f"seed{s}")
                if deployed != run.get("deploy"):
                    run = {**run, "deploy": deployed}
                    write_json_atomic(out, run)
            runs.append(run)
        rows.append(_config_row(cfg, runs, settings, stem))

    models = {r["name"]: _model_of(r["cfg"], r["runs"][0]) for r in rows}
    artifacts = {
        r["name"]: latency_files(r["runs"][0]["weights"], settings, run_dir / "deploy" / r["name"] / "latency")
        for r in rows
        if settings.get("deploy") and Path(r["runs"][0]["weights"]).is_file()
    }
    latency = measure_latency(
        models,
        settings["latency_imgsz"],
        backends=settings["backends"],
        warmup=settings["latency_warmup"],
        rounds=settings["latency_rounds"],
        threads=settings["threads"],
        workdir=run_dir / "onnx",
        artifacts=artifacts,
    )
    for r in rows:
        r["latency"] = {b: s.as_dict() for b, s in latency[r["name"]].items()}
    report = make_report(rows, settings)
    write_report(report, run_dir)
    print(format_markdown(report))
    print(f"bench: report in {run_dir} (bench.md, bench.csv, bench.json, pareto.png, curves.png)")
    return report


def _train_and_score(
    task: BenchTask,
    cfg: str,
    ckpt: str | None,
    settings: dict[str, Any],
    run_dir: Path,
    seed: int,
    name: str | None = None,
    teacher: str | None = None,
) -> dict[str, Any]:
    """Train one config with one seed (or take its checkpoint), then score it on the val split (``task.score``).
    ``name`` is the row's (default: the config's), ``teacher`` the checkpoint a distilled row learns from.

    Returns the run's record: its seed, checkpoint, training time, the task's metrics, and (for a training) the
    per-epoch val curve with the plateau verdict of its headline metric.
    """
    stem = name or model_name(cfg)
    train_seconds, track = None, {}
    if ckpt is None:
        train_dir = run_dir / "train" / stem / f"seed{seed}"
        last = train_dir / "weights" / "last.pt"
        best = train_dir / "weights" / "best.pt"
        if not (last.is_file() and training_finished(read_checkpoint(last))):
            # a training cut off and resumed counts the epochs it logged before the cut, not only the resumed part
            before = logged_seconds(train_dir / "results.csv") if last.is_file() else 0.0
            t0 = time.time()
            recipe = {k: settings[k] for k in ("data", "epochs", "imgsz", "batch", "device", "workers")}
            task.train(
                cfg, **recipe, hyp=settings.get("hyp"), seed=seed, project=train_dir.parent, name=train_dir.name,
                exist_ok=True, resume=last if last.is_file() else False, plots=False,
                **({"distill": teacher} if teacher else {}),
            )  # fmt: skip
            train_seconds = round(before + time.time() - t0, 1)
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


def _config_row(
    cfg: str, runs: Sequence[dict[str, Any]], settings: dict[str, Any], name: str | None = None
) -> dict[str, Any]:
    """One row (``name``, default the config's): its runs, their mean and standard deviation, and the profile of its
    (first) model."""
    prof = profile_model(_model_of(cfg, runs[0]), imgsz=settings["imgsz"])
    row: dict[str, Any] = {
        "name": name or model_name(cfg),
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
