"""Training on the ultralytics engine: the trainer class and the library entry point ``train``.

``YoloGhostTrainer`` is the ultralytics ``DetectionTrainer`` with the model built by yolo-ghost, the loss, loss names
and gains its head declares (``yolo_ghost.nn.blocks.heads``: the classic YOLOv5 loss for the anchor-based head),
feature distillation from a teacher as that head declares it (``distill``: ``yolo_ghost.models.distill``),
checkpoints written atomically, and no network use. Its import
path is part of the DDP protocol: ultralytics' generated worker script imports it by name and re-creates it from
the run arguments, in which ``model`` is the model config (a shipped bare name or an absolute path).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from copy import copy
from pathlib import Path
from typing import Any

import torch
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.utils import DEFAULT_CFG, LOCAL_RANK, LOGGER, RANK
from ultralytics.utils.torch_utils import strip_optimizer, torch_distributed_zero_first, unwrap_model

from yolo_ghost.cfg import ConfigError, resolve_model_cfg
from yolo_ghost.data.resolve import check_splits, resolve_data
from yolo_ghost.engine.curves import MAP_COLUMNS, summary_warning
from yolo_ghost.engine.detect.val import CocoDetectionValidator
from yolo_ghost.engine.ema import DEFAULT_EMA, EmaScheduleMixin, pop_ema_keys
from yolo_ghost.engine.hyp import read_hyp
from yolo_ghost.engine.recipe import Recipe
from yolo_ghost.engine.run import TrainTask, model_cost, run_training, summarize
from yolo_ghost.engine.trainer import CpuTrainerMixin, find_last, training_finished
from yolo_ghost.models.checkpoint import read_checkpoint
from yolo_ghost.models.distill import HeadDistillationModel, distill_loss_names, student_of, teacher_mismatch
from yolo_ghost.models.yolo import YoloGhostModel, build_model, load_checkpoint, model_head
from yolo_ghost.nn.blocks.heads import head_loss_names, head_train_gains
from yolo_ghost.nn.loss import LOSS_ONLY_KEYS
from yolo_ghost.utils.atomic import atomic_write

DEFAULT_WORKERS = 2
DEFAULT_PROJECT = "runs/train"

# YOLOv5's hyp.scratch-low schedule and augmentation, in ultralytics argument names. SGD as in YOLOv5 (ultralytics'
# `auto` would switch optimizer by run length). Mosaic is turned off for the last epochs, when the model should see
# images as they are at validation.
YOLOV5_TRAIN_HYP: dict[str, Any] = {
    "optimizer": "SGD",
    "lr0": 0.01,
    "lrf": 0.01,
    "momentum": 0.937,
    "weight_decay": 0.0005,
    "warmup_epochs": 3.0,
    "warmup_momentum": 0.8,
    "warmup_bias_lr": 0.1,
    "hsv_h": 0.015,
    "hsv_s": 0.7,
    "hsv_v": 0.4,
    "degrees": 0.0,
    "translate": 0.1,
    "scale": 0.5,
    "shear": 0.0,
    "perspective": 0.0,
    "flipud": 0.0,
    "fliplr": 0.5,
    "mosaic": 1.0,
    "mixup": 0.0,
    "close_mosaic": 5,
    # One optimizer step per batch of 16 instead of YOLOv5's accumulation to 64: the built-in dataset gives only a
    # few hundred steps in the ten-minute budget, and 4x fewer updates left the model far from converged.
    "nbs": 16,
    # The weight EMA that is validated and saved (YOLOv5's ModelEMA, as ultralytics'): decay 0.9999 reached through
    # the ramp 1 - exp(-updates / 2000). No ultralytics argument sets it: `train` hands these to the trainer.
    **DEFAULT_EMA,
    # Weight of the feature-imitation loss when a teacher is given (`--distill`; ultralytics' `dis`). Provisional,
    # until measured: ultralytics' 6.0 is sized for its anchor-free loss; at 0.1 the imitation term of a trained
    # teacher starts at about the size of the YOLOv5 loss.
    "dis": 0.1,
}


# YOLOv5's train.py defaults, for any dataset without a calibrated recipe.
YOLOV5_RECIPE = Recipe(epochs=100, imgsz=640, batch=16, workers=DEFAULT_WORKERS)
# The built-in sets. `shapes` is calibrated so that the main job, yolov5n-ghost with these defaults, ends on its
# plateau well inside ten minutes on two CPU cores (measured figures and how the recipe was found: docs/notes.md):
# AdamW (ultralytics' own choice for short schedules; SGD learnt much slower here), one warm-up epoch and a cosine
# schedule; no mosaic (at 36 epochs it cost 0.013 mAP50-95 and converged later); milder scale augmentation (0.3) keeps
# the smallest objects above a few pixels; and a weight EMA sized to the run's ~2,300 updates (decay 0.995, ramp 100
# updates) where YOLOv5's is sized to 300 COCO epochs. `shapes-hard` keeps YOLOv5's recipe, for long runs on a GPU.
DATASET_RECIPES: dict[str, Recipe] = {
    "shapes": Recipe(
        epochs=36,
        imgsz=160,
        batch=16,
        workers=DEFAULT_WORKERS,
        hyp={
            "optimizer": "AdamW",
            "lr0": 0.003,
            "momentum": 0.9,
            "warmup_epochs": 1.0,
            "cos_lr": True,
            "mosaic": 0.0,
            "close_mosaic": 0,
            "scale": 0.3,
            "ema_decay": 0.995,
            "ema_tau": 100.0,
        },
    ),
    "shapes-hard": Recipe(epochs=100, imgsz=256, batch=16, workers=DEFAULT_WORKERS),
}


def recipe_for(data: str | Path) -> Recipe:
    """The recipe of a built-in dataset named ``data`` (``shapes``, ``shapes-hard``), else ``YOLOV5_RECIPE``."""
    return DATASET_RECIPES.get(str(data).strip().lower().removesuffix(".yaml"), YOLOV5_RECIPE)


class YoloGhostTrainer(EmaScheduleMixin, CpuTrainerMixin, DetectionTrainer):
    """The ultralytics detection trainer for yolo-ghost models (offline, all cores, channels-last and atomic
    checkpoints from ``CpuTrainerMixin``).

    Args:
        cfg: ultralytics default arguments (as ``DetectionTrainer``).
        overrides: run arguments; ``model`` is the yolo-ghost model config (shipped bare name or path).
        _callbacks: ultralytics callbacks.
        loss_hyp: YOLOv5 loss hyperparameters with no ultralytics argument (obj, cls_pw, obj_pw, anchor_t,
            label_smoothing); stored in the model's YAML dict, so that checkpoints, ``--resume`` and DDP workers keep
            them.
        ema: the weight EMA's ``ema_decay`` and ``ema_tau`` (``EMA_KEYS``; ultralytics' 0.9999 and 2000 when not
            given); stored in the model's YAML dict as ``loss_hyp`` is.
    """

    def __init__(
        self,
        cfg: Any = DEFAULT_CFG,
        overrides: dict[str, Any] | None = None,
        _callbacks: dict | None = None,
        loss_hyp: dict[str, float] | None = None,
        ema: dict[str, float] | None = None,
    ) -> None:
        self.loss_hyp = dict(loss_hyp or {})
        workers = (overrides or {}).get("workers")
        super().__init__(cfg, overrides, _callbacks, ema=ema)
        # ultralytics forces 0 loader workers on CPU; a mosaic pipeline in the training process costs more there
        # than the workers' share of the cores, so the value asked for is kept.
        if workers is not None:
            self.args.workers = workers

    def get_model(self, cfg: Any = None, weights: torch.nn.Module | None = None, verbose: bool = True):
        """Build the yolo-ghost model for this dataset's classes, loading ``weights`` (matching layers) if given."""
        model = YoloGhostModel(
            cfg or self.args.model,
            nc=self.data["nc"],
            ch=self.data.get("channels", 3),
            verbose=verbose and RANK == -1,
        )
        if self.loss_hyp:
            model.yaml["loss_hyp"] = {**(model.yaml.get("loss_hyp") or {}), **self.loss_hyp}
        self.store_ema(model)
        self.set_model_names_for_load(model)
        if weights:
            model.load(weights, verbose=verbose and RANK in {-1, 0})
        return model

    def _setup_train(self) -> None:
        """As ``EmaScheduleMixin``, with a ``distill_model`` teacher wrapping the model in ``HeadDistillationModel``."""
        with _distillation_model(HeadDistillationModel):
            super()._setup_train()

    def get_validator(self):
        """The pycocotools validator (ultralytics' own until it is installed), with this head's loss names."""
        model = unwrap_model(self.model)
        self.loss_names = head_loss_names(student_of(model).model[-1]) + distill_loss_names(model)
        validator = CocoDetectionValidator(
            self.test_loader, save_dir=self.save_dir, args=copy(self.args), _callbacks=self.callbacks
        )
        validator.coco_final_only = True  # pycocotools once, on best.pt, not every epoch
        return validator

    def final_eval(self) -> None:
        """Strip the optimizer from last.pt and best.pt (atomically) and validate best.pt."""
        best = self.best if self.best.exists() else None
        with torch_distributed_zero_first(LOCAL_RANK):
            if RANK in {-1, 0}:
                ckpt: dict[str, Any] = {}
                level = LOGGER.level
                LOGGER.setLevel(logging.WARNING)  # strip_optimizer's own line names the temporary file
                try:
                    if self.last.exists():
                        atomic_write(self.last, lambda t: ckpt.update(strip_optimizer(self.last, s=str(t))))
                    if best:
                        updates = {"train_results": ckpt.get("train_results")}
                        atomic_write(best, lambda t: strip_optimizer(best, s=str(t), updates=updates))
                finally:
                    LOGGER.setLevel(level)
                LOGGER.info(
                    f"Optimizer stripped from {', '.join(p.name for p in (self.last, best) if p and p.exists())}"
                )
        if best:
            LOGGER.info(f"\nValidating {best}...")
            self.validator.args.plots = self.args.plots
            self.validator.args.compile = False
            self.validator.final = True
            self.metrics = self.validator(model=best)
            self.metrics.pop("fitness", None)
            self.epoch += 1  # log the best model's metrics as epoch `epochs + 1`, as ultralytics does
            self.run_callbacks("on_fit_epoch_end")
            self.epoch -= 1


# --------------------------------------------------------------------------------------------------------------------
# Library entry point


@contextmanager
def _distillation_model(cls: type) -> Iterator[None]:
    """Within this block, the ultralytics trainer builds ``cls`` where it builds its ``DistillationModel``.

    ``BaseTrainer`` names that class where it wraps a new run's model and where it rebuilds the wrapper of a resumed
    checkpoint (both inside ``_setup_train``); ``cls`` is its subclass that asks the head what to imitate. Only the
    name the trainer module looks up changes, and only for this trainer's setup.
    """
    import ultralytics.engine.trainer as engine

    previous = engine.DistillationModel
    engine.DistillationModel = cls
    try:
        yield
    finally:
        engine.DistillationModel = previous


def check_teacher(teacher: str | Path, student: torch.nn.Module) -> str:
    """The teacher checkpoint for ``--distill`` as the trainer's ``distill_model`` argument (an absolute path), after
    loading it as every checkpoint is loaded (``yolo_ghost.models.yolo.load_checkpoint``: the allow-list, or
    ``--trust-checkpoint`` around the call) and checking that it can teach ``student``.

    Raises:
        ConfigError: a missing or unreadable file, or a teacher whose head does not match the student's (one line
            saying what to give instead; ``yolo_ghost.models.distill.teacher_mismatch``).
    """
    path = Path(teacher)
    if not path.is_file():
        raise ConfigError(
            f"--distill {str(teacher)!r}: file not found; give a trained detector's checkpoint, e.g. "
            "runs/train/exp/weights/best.pt"
        )
    why = teacher_mismatch(load_checkpoint(path), student)
    if why:
        raise ConfigError(f"--distill {str(teacher)!r}: {why}")
    return str(path.absolute())


def _distill_args(
    cfg: str | Path | None, distill: str | Path | None, resume: bool | str | Path, project: str | Path
) -> dict[str, Any]:
    """The trainer's ``distill_model`` argument for ``train``, its teacher checked before any folder is made.

    A resumed run keeps the teacher it was started with (ultralytics rebuilds it from the recorded path); ``distill``
    then gives that teacher's new place. A run started without a teacher cannot take one on resume: its optimizer
    state has no room for the projector.
    """
    if not resume:
        if distill is None:
            return {}
        resolve_model_cfg(cfg)  # a missing config is named as such, not as a teacher problem
        return {"distill_model": check_teacher(distill, build_model(cfg))}
    last = find_last(resume, Path(project).absolute())
    ckpt = read_checkpoint(last)
    if training_finished(ckpt):
        return {}  # nothing to resume: run_training refuses it, naming that
    recorded = (ckpt.get("train_args") or {}).get("distill_model")
    if recorded is None:
        if distill is not None:
            raise ConfigError(
                f"--distill with --resume: {str(last)!r} trained without a teacher; start a new run to distill"
            )
        return {}
    student = student_of(ckpt.get("ema") or ckpt.get("model"))
    if distill is None:
        if not Path(recorded).is_file():
            raise ConfigError(
                f"--resume {str(last)!r}: its teacher {recorded!r} is gone; give its new place with --distill PATH"
            )
        return {}
    return {"distill_model": check_teacher(distill, student.float())}


def train_gains(cfg: str | Path | dict[str, Any]) -> dict[str, float]:
    """The ultralytics loss-gain arguments the config's head declares (the YOLOv5 gains for the anchor head, none
    for ultralytics' anchor-free heads), read before the model is built (``yolo_ghost.models.yolo.model_head``)."""
    return head_train_gains(model_head(cfg))


def load_hyp(hyp: str | Path | dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, float]]:
    """A YOLOv5-style hyperparameter file (or mapping), checked by ``yolo_ghost.engine.hyp.read_hyp``, split into
    ``(trainer arguments, YOLOv5 loss-only hyps)``: the loss-only keys (obj, obj_pw, cls_pw, anchor_t,
    label_smoothing) have no ultralytics argument and go to the loss."""
    d = read_hyp(hyp)
    return d, _pop_loss_keys(d)


def _model_arg(cfg: str | Path) -> str:
    """The model config as the trainer's ``model`` argument: a shipped bare name stays bare, a file gets absolute."""
    resolve_model_cfg(cfg)  # raises ConfigError with suggestions when missing
    p = Path(cfg)
    if p.parent == Path(".") and not p.is_file():
        return str(cfg)
    return str(p.absolute())


def _pop_loss_keys(args: dict[str, Any]) -> dict[str, float]:
    """Remove and return the keys only the YOLOv5 loss reads (no ultralytics argument takes them)."""
    return {k: float(args.pop(k)) for k in LOSS_ONLY_KEYS if k in args}


def _split_args(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The EMA and YOLOv5 loss keys out of the ultralytics arguments, as ``YoloGhostTrainer`` keyword arguments."""
    return args, {"ema": pop_ema_keys(args), "loss_hyp": _pop_loss_keys(args)}


def _check_data(data: str | Path) -> str:
    path = resolve_data(data)
    check_splits(path)
    return str(path)


DETECT = TrainTask(
    name="detect",
    trainer=YoloGhostTrainer,
    check_cfg=_model_arg,
    check_data=_check_data,
    recipe=lambda data: recipe_for(data),  # looked up when called, so that a replaced recipe_for is the one used
    base_hyp=YOLOV5_TRAIN_HYP,
    model_args=train_gains,
    split_args=_split_args,
    metrics=MAP_COLUMNS,
    curve_key="map50_95",
    optional_metrics={"coco_map50_95": "metrics/coco_AP50-95(B)", "coco_map50": "metrics/coco_AP50(B)"},
)


def train(
    cfg: str | Path | None,
    data: str | Path = "shapes",
    epochs: int | None = None,
    imgsz: int | None = None,
    batch: int | None = None,
    device: str = "",
    workers: int | None = None,
    project: str | Path = DEFAULT_PROJECT,
    name: str = "exp",
    exist_ok: bool = False,
    resume: bool | str | Path = False,
    hyp: str | Path | dict[str, Any] | None = None,
    seed: int = 0,
    weights: str | Path | None = None,
    compare: str | Path | None = None,
    distill: str | Path | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Train a yolo-ghost detector on the ultralytics engine and return the run's summary
    (``yolo_ghost.engine.run.run_training`` with the detector's ``DETECT`` task).

    Args:
        cfg: model YAML (shipped bare name such as ``yolov5n-ghost.yaml``, or a path); unused on resume.
        data: dataset YAML path, ``shapes`` (the built-in synthetic set) or a shipped dataset name.
        epochs, imgsz, batch, workers: None takes the dataset's recipe (``recipe_for``: the calibrated one for
            ``shapes``, YOLOv5's 100 / 640 / 16 for other datasets). ``imgsz`` is rounded up to a multiple of the
            model's largest stride, with a warning.
        device, seed: as in YOLOv5's ``train.py``.
        project, name, exist_ok: the run folder is ``project/name`` (``name2``, ``name3`` ... unless ``exist_ok``);
            ``name`` must stay inside ``project``.
        resume: ``True`` for the newest run under ``project``, or a run folder / ``last.pt``; the run goes on to the
            epoch count it was started with, in the same folder.
        hyp: YOLOv5-style hyperparameter YAML (or dict), checked by ``yolo_ghost.engine.hyp``.
        weights: a checkpoint whose matching layers initialise the model.
        compare: a second model config; the summary then holds our GFLOPs and params as ratios to it.
        distill: a teacher checkpoint (a trained detector whose head reads as many levels, of the same strides):
            the model trains with its own loss plus the imitation of the teacher's features, weighted by the ``dis``
            hyperparameter (``yolo_ghost.models.distill``). The teacher is never saved with the model. On resume it
            gives the new place of the run's teacher.
        overrides: further ultralytics training arguments (``plots=False``, ``val=False``, ...).

    Returns:
        ``{"map50_95", "map50", "params", "gflops", "imgsz", "epochs", "save_dir", "best", "last", "cfg", "seconds"}``
        (ultralytics mAP of best.pt), ``"curve"`` (per-epoch val mAP, ``yolo_ghost.engine.curves.read_curve``) and
        ``"convergence"`` (``yolo_ghost.engine.curves.convergence``) when validation ran, ``"coco_map50_95"`` /
        ``"coco_map50"`` when pycocotools scored it, and
        ``"compare": {"cfg", "params", "gflops", "params_ratio", "gflops_ratio"}`` when ``compare`` is given.

    Raises:
        ConfigError: a missing or unknown config, dataset, hyperparameter file or checkpoint, or a dataset that
            cannot be used; the message says what to change.
    """
    if compare is not None and not resume:
        resolve_model_cfg(compare)
    overrides.update(_distill_args(cfg, distill, resume, project))
    trainer, seconds = run_training(
        DETECT, cfg, data, epochs=epochs, imgsz=imgsz, batch=batch, device=device, workers=workers, project=project,
        name=name, exist_ok=exist_ok, resume=resume, hyp=hyp, seed=seed, weights=weights, **overrides,
    )  # fmt: skip
    out = summarize(DETECT, trainer, seconds)
    if compare is not None:
        model = student_of(unwrap_model(trainer.model))
        other = build_model(compare, nc=model.yaml["nc"])
        c_params, c_gflops = model_cost(other, out["imgsz"])
        out["compare"] = {
            "cfg": str(compare),
            "params": c_params,
            "gflops": c_gflops,
            "params_ratio": out["params"] / c_params,
            "gflops_ratio": out["gflops"] / c_gflops if c_gflops else float("nan"),
        }
    return out


def format_summary(s: dict[str, Any]) -> str:
    """The summary block ``train_det.py`` prints."""
    ours = f"mAP50-95 {s['map50_95']:.4f}  mAP50 {s['map50']:.4f}"
    if "coco_map50_95" in s:  # the headline: pycocotools on best.pt, as the benchmark scores
        lines = [
            f"result: pycocotools mAP50-95 {s['coco_map50_95']:.4f}  mAP50 {s['coco_map50']:.4f} (best.pt, val split, "
            f"each image letterboxed to a {s['imgsz']} px square as `val` scores exported models)",
            f"        ultralytics {ours} (its own interpolation of the same detections)",
        ]
    else:
        lines = [f"result: ultralytics {ours} (best.pt, val split; pycocotools did not run)"]
    lines += [
        f"params {s['params']:,}  GFLOPs {s['gflops']:.2f} @{s['imgsz']}  ({s['cfg']}, {s['seconds']:.0f} s on "
        f"{s.get('device', 'cpu')})",
        f"run: {s['save_dir']}  (weights: {s['best']})",
    ]
    lines += summary_warning(s.get("convergence"))
    if "compare" in s:
        c = s["compare"]
        lines.append(
            f"vs {c['cfg']}: GFLOPs {s['gflops']:.2f} / {c['gflops']:.2f} = {c['gflops_ratio']:.3f}x, "
            f"params {s['params']:,} / {c['params']:,} = {c['params_ratio']:.3f}x"
        )
    return "\n".join(lines)
