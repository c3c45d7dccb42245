"""One training run, for detectors and classifiers alike: ``run_training`` over a ``TrainTask``.

Everything a run does around the trainer is here, once: the run folder (``--name`` kept inside ``--project``, removed
on failure only when this call made it), ``--resume`` (the checkpoint's recorded folder and dataset checked, a
finished run refused), the recipe and ``--hyp`` merged in one order, the ``ConfigError`` refusals, and the summary.
What differs per task (the trainer class, how a config and a dataset are checked, the recipe, the metrics) is data
in the task's ``TrainTask``, as ``yolo_ghost.bench.tasks.BenchTask`` is for the bench.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ultralytics.utils.torch_utils import unwrap_model

from yolo_ghost.cfg import ConfigError
from yolo_ghost.engine.curves import training_curve
from yolo_ghost.engine.hyp import read_hyp
from yolo_ghost.engine.recipe import Recipe
from yolo_ghost.engine.run_dir import next_run_dir, remove_new_run_on_failure
from yolo_ghost.engine.trainer import clear_errors, find_resumable, prepare_offline
from yolo_ghost.models.distill import finished_student


def _no_extra_args(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return args, {}


@dataclass(frozen=True)
class TrainTask:
    """What differs between training a detector and a classifier.

    Attributes:
        name: the task (``detect``, ``classify``).
        trainer: the trainer class, called as ``trainer(overrides=args, **trainer_kwargs)``.
        check_cfg: the model config as the trainer's ``model`` argument; raises ``ConfigError`` for one it cannot use.
        check_data: the dataset as the trainer's ``data`` argument; raises ``ConfigError`` for one it cannot use.
            A resumed run's recorded dataset passes it too.
        recipe: ``data -> Recipe``, the defaults for that dataset.
        base_hyp: the hyperparameters under every recipe (YOLOv5's for detectors).
        model_args: ``model argument -> trainer arguments`` the config itself decides (the loss gains of its head).
        split_args: ``args -> (ultralytics arguments, trainer keyword arguments)``, for keys no ultralytics argument
            takes (the detector's EMA and YOLOv5 loss keys).
        metrics: summary key -> the ultralytics metric name, which names both the value in ``trainer.metrics``
            (0.0 when missing) and the per-epoch column of ``results.csv`` (``yolo_ghost.engine.curves.read_curve``).
        curve_key: the metric the plateau rule reads (``yolo_ghost.engine.curves.training_curve``).
        optional_metrics: further ``trainer.metrics`` values, kept only when the trainer reports them (pycocotools AP).
    """

    name: str
    trainer: Callable[..., Any]
    check_cfg: Callable[[str | Path], str]
    check_data: Callable[[str | Path], str]
    recipe: Callable[[str | Path], Recipe]
    metrics: Mapping[str, str]
    curve_key: str
    base_hyp: Mapping[str, Any] = field(default_factory=dict)
    model_args: Callable[[str], dict[str, Any]] = lambda model: {}
    split_args: Callable[[dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]] = _no_extra_args
    optional_metrics: Mapping[str, str] = field(default_factory=dict)


def run_training(
    task: TrainTask,
    cfg: str | Path | None,
    data: str | Path,
    epochs: int | None = None,
    imgsz: int | None = None,
    batch: int | None = None,
    device: str = "",
    workers: int | None = None,
    project: str | Path = "runs/train",
    name: str = "exp",
    exist_ok: bool = False,
    resume: bool | str | Path = False,
    hyp: str | Path | Mapping[str, Any] | None = None,
    seed: int = 0,
    weights: str | Path | None = None,
    **overrides: Any,
) -> tuple[Any, float]:
    """Train one run of ``task`` and return ``(trainer, seconds)``; the arguments are those of
    ``yolo_ghost.engine.detect.train.train`` (None takes the dataset's recipe).

    The trainer's arguments are, later ones winning: ``task.base_hyp``, the recipe's ``hyp``, what the model config
    decides (``task.model_args``), ``hyp`` (checked by ``yolo_ghost.engine.hyp``), ``overrides``, then the run's own
    settings. A resumed run takes everything from its checkpoint but ``device``, ``workers`` and ``overrides``.

    Raises:
        ConfigError: no config, an unusable config, dataset, hyp or checkpoint, a run name outside ``project``, a
            finished run to resume; the message says what to change.
    """
    prepare_offline()
    project = Path(project).absolute()  # a relative project would land in ultralytics' runs_dir
    t0 = time.time()
    kwargs: dict[str, Any] = {}
    if resume:
        last, save_dir = find_resumable(resume, project, check_data=task.check_data)
        args: dict[str, Any] = {"resume": str(last), "device": device, **overrides}
        if workers is not None:
            args["workers"] = workers
    else:
        if cfg is None:
            raise ConfigError("a model config is required (--cfg), or --resume")
        model_arg = task.check_cfg(cfg)
        save_dir = next_run_dir(project, name, exist_ok)
        hyp_args = read_hyp(hyp)
        data_arg = task.check_data(data)
        recipe = task.recipe(data)
        if weights is not None and not Path(weights).is_file():
            raise ConfigError(f"--weights {str(weights)!r}: file not found")
        args = {
            **task.base_hyp,
            **recipe.hyp,
            **task.model_args(model_arg),
            **hyp_args,
            **overrides,
            "model": model_arg,
            "data": data_arg,
            "epochs": recipe.epochs if epochs is None else epochs,
            "imgsz": recipe.imgsz if imgsz is None else imgsz,
            "batch": recipe.batch if batch is None else batch,
            "workers": recipe.workers if workers is None else workers,
            "device": device,
            "project": str(project),
            "name": save_dir.name,
            "exist_ok": exist_ok,
            "save_dir": str(save_dir),  # decided here, so that a failed run knows whether it made the folder
            "seed": seed,
            "pretrained": str(Path(weights).absolute()) if weights is not None else False,
        }
        if str(device).lower() == "cpu":
            args.setdefault("amp", False)
        args, kwargs = task.split_args(args)
    with clear_errors(), remove_new_run_on_failure(save_dir):
        trainer = task.trainer(overrides=args, **kwargs)
        trainer.train()
    return trainer, time.time() - t0


def summarize(task: TrainTask, trainer: Any, seconds: float) -> dict[str, Any]:
    """The run's summary: ``task.metrics`` of ``best.pt``, params and GFLOPs at the run's size (BN fused, batch 1),
    the run folder and weights, the per-epoch curve and its plateau verdict when validation ran."""
    metrics = trainer.metrics or {}
    imgsz = int(trainer.args.imgsz)
    model = finished_student(unwrap_model(trainer.model))  # a distilled run reports its student, not the teacher
    params, gflops = model_cost(model, imgsz)
    out: dict[str, Any] = {k: float(metrics.get(col, 0.0)) for k, col in task.metrics.items()}
    out.update({k: float(metrics[col]) for k, col in task.optional_metrics.items() if col in metrics})
    out.update(
        {
            "params": params,
            "gflops": gflops,
            "imgsz": imgsz,
            "epochs": int(trainer.epochs),
            "save_dir": str(trainer.save_dir),
            "best": str(trainer.best),
            "last": str(trainer.last),
            "cfg": str(model.yaml.get("yaml_file", trainer.args.model)),
            "seconds": round(seconds, 1),
            "device": str(trainer.device),
        }
    )
    out.update(training_curve(trainer.save_dir, task.metrics, task.curve_key))
    return out


def model_cost(model: Any, imgsz: int) -> tuple[int, float]:
    """Parameters and GFLOPs at ``imgsz`` (BN fused, batch 1) by the yolo-ghost profiler."""
    from yolo_ghost.tools.profiler import profile_model

    p = profile_model(model, imgsz=imgsz)
    return int(p.params), float(p.gflops)
