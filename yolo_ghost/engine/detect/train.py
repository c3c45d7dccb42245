"""Training on the ultralytics engine: the trainer class and the library entry point ``train``.

``YoloGhostTrainer`` is the ultralytics ``DetectionTrainer`` with the model built by yolo-ghost, the loss, loss names
and gains its head declares (``yolo_ghost.nn.blocks.heads``: the classic YOLOv5 loss for the anchor-based head),
checkpoints written atomically, and no network use. Its import
path is part of the DDP protocol: ultralytics' generated worker script imports it by name and re-creates it from
the run arguments, in which ``model`` is the model config (a shipped bare name or an absolute path).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.utils import DEFAULT_CFG, LOCAL_RANK, LOGGER, RANK
from ultralytics.utils.torch_utils import strip_optimizer, torch_distributed_zero_first, unwrap_model

from yolo_ghost.cfg import ConfigError, resolve_model_cfg
from yolo_ghost.cfg.errors import one_line
from yolo_ghost.data.resolve import check_splits, resolve_data
from yolo_ghost.engine.curves import summary_warning, training_curve
from yolo_ghost.engine.detect.val import CocoDetectionValidator
from yolo_ghost.engine.hyp import check_hyp
from yolo_ghost.engine.run_dir import next_run_dir, remove_new_run_on_failure
from yolo_ghost.engine.trainer import (
    CpuTrainerMixin,
    clear_errors,
    find_resumable,
    prepare_offline,
)
from yolo_ghost.models.yolo import YoloGhostModel, build_model, model_head
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
    "ema_decay": 0.9999,
    "ema_tau": 2000.0,
}
EMA_KEYS = ("ema_decay", "ema_tau")


@dataclass(frozen=True)
class Recipe:
    """How a dataset trains when the command leaves it open: epochs, image size, batch, and the ultralytics
    hyperparameters that differ from ``YOLOV5_TRAIN_HYP`` (an explicit ``--hyp`` or override still wins)."""

    epochs: int
    imgsz: int
    batch: int
    hyp: Mapping[str, Any] = field(default_factory=dict)


# YOLOv5's train.py defaults, for any dataset without a calibrated recipe.
YOLOV5_RECIPE = Recipe(epochs=100, imgsz=640, batch=16)
# The built-in sets. `shapes` is calibrated so that the main job, yolov5n-ghost with these defaults, ends on its
# plateau well inside ten minutes on two CPU cores (measured figures and how the recipe was found: README, "The
# built-in datasets"): AdamW (ultralytics' own choice for short schedules; SGD learnt much slower here), one warm-up
# epoch and a cosine schedule; no mosaic (at 36 epochs it cost 0.013 mAP50-95 and converged later); milder scale
# augmentation (0.3) keeps the smallest objects above a few pixels; and a weight EMA sized to the run's ~2,300
# updates (decay 0.995, ramp 100 updates) where YOLOv5's is sized to 300 COCO epochs. `shapes-hard` keeps YOLOv5's
# recipe, for long runs on a GPU.
DATASET_RECIPES: dict[str, Recipe] = {
    "shapes": Recipe(
        epochs=36,
        imgsz=160,
        batch=16,
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
    "shapes-hard": Recipe(epochs=100, imgsz=256, batch=16),
}


def recipe_for(data: str | Path) -> Recipe:
    """The recipe of a built-in dataset named ``data`` (``shapes``, ``shapes-hard``), else ``YOLOV5_RECIPE``."""
    return DATASET_RECIPES.get(str(data).strip().lower().removesuffix(".yaml"), YOLOV5_RECIPE)


class YoloGhostTrainer(CpuTrainerMixin, DetectionTrainer):
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
        self.ema_hyp = check_ema(ema or {})
        workers = (overrides or {}).get("workers")
        super().__init__(cfg, overrides, _callbacks)
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
        if self.ema_hyp:
            model.yaml["ema"] = {**(model.yaml.get("ema") or {}), **self.ema_hyp}
        self.set_model_names_for_load(model)
        if weights:
            model.load(weights, verbose=verbose and RANK in {-1, 0})
        return model

    def _setup_train(self) -> None:
        """As ultralytics, then the EMA schedule of the model's ``ema`` settings (this run's, or its checkpoint's)."""
        super()._setup_train()
        self._schedule_ema()

    def _load_checkpoint_state(self, ckpt: dict[str, Any]) -> None:
        """As ultralytics (which makes a new EMA, as after a NaN loss), then the EMA schedule again."""
        super()._load_checkpoint_state(ckpt)
        self._schedule_ema()

    def _schedule_ema(self) -> None:
        # ultralytics' decay ramps to 0.9999 (an average over ~10,000 updates) with a time constant of 2,000 updates,
        # sized for YOLOv5's ~550,000 on COCO; a run of a few thousand updates ends near 0.7 and averages almost
        # nothing. The recipe of a short run sets its own.
        ema = (getattr(unwrap_model(self.model), "yaml", None) or {}).get("ema") or {}
        if self.ema is not None and ema:
            decay = float(ema.get("ema_decay", YOLOV5_TRAIN_HYP["ema_decay"]))
            tau = float(ema.get("ema_tau", YOLOV5_TRAIN_HYP["ema_tau"]))
            self.ema.decay = lambda updates: decay * (1 - math.exp(-updates / tau))

    def get_validator(self):
        """The pycocotools validator (ultralytics' own until it is installed), with this head's loss names."""
        self.loss_names = head_loss_names(unwrap_model(self.model).model[-1])
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
                if self.last.exists():
                    atomic_write(self.last, lambda t: ckpt.update(strip_optimizer(self.last, s=str(t))))
                if best:
                    updates = {"train_results": ckpt.get("train_results")}
                    atomic_write(best, lambda t: strip_optimizer(best, s=str(t), updates=updates))
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


def resolve_dataset(data: str | Path) -> Path:
    """The dataset YAML ``train`` uses (``yolo_ghost.data.resolve.resolve_data``; a seam tests replace)."""
    return resolve_data(data)


def train_gains(cfg: str | Path | dict[str, Any]) -> dict[str, float]:
    """The ultralytics loss-gain arguments the config's head declares (the YOLOv5 gains for the anchor head, none
    for ultralytics' anchor-free heads), read before the model is built (``yolo_ghost.models.yolo.model_head``)."""
    return head_train_gains(model_head(cfg))


def load_hyp(hyp: str | Path | dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, float]]:
    """Split a YOLOv5-style hyperparameter file into ``(ultralytics overrides, YOLOv5 loss-only hyps)``.

    Only the keys ``yolo_ghost.engine.hyp.HYP_KEYS`` declares are accepted, each type- and range-checked (``check_hyp``);
    keys that only the YOLOv5 loss reads (obj, obj_pw, cls_pw, anchor_t, label_smoothing) go to the loss.
    """
    if hyp is None:
        return {}, {}
    source = "--hyp"
    if isinstance(hyp, dict):
        d = dict(hyp)
    else:
        p = Path(hyp)
        source = f"--hyp {p}"
        if not p.is_file():
            raise ConfigError(f"hyperparameter file {str(hyp)!r} not found")
        try:
            d = yaml.safe_load(p.read_text())
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise ConfigError(f"{p}: not valid YAML: {one_line(e)}") from None
    d = check_hyp(d, source)
    loss = {k: float(d.pop(k)) for k in LOSS_ONLY_KEYS if k in d}
    return d, loss


def check_ema(hyp: Mapping[str, Any]) -> dict[str, float]:
    """The EMA keys of ``hyp`` as floats, checked as ``--hyp`` checks them: ``0 <= ema_decay < 1``, ``ema_tau > 0``."""
    return check_hyp({k: hyp[k] for k in EMA_KEYS if k in hyp}, "hyp")


def _model_arg(cfg: str | Path) -> str:
    """The model config as the trainer's ``model`` argument: a shipped bare name stays bare, a file gets absolute."""
    resolve_model_cfg(cfg)  # raises ConfigError with suggestions when missing
    p = Path(cfg)
    if p.parent == Path(".") and not p.is_file():
        return str(cfg)
    return str(p.absolute())


def train(
    cfg: str | Path,
    data: str | Path = "shapes",
    epochs: int | None = None,
    imgsz: int | None = None,
    batch: int | None = None,
    device: str = "cpu",
    workers: int = DEFAULT_WORKERS,
    project: str | Path = DEFAULT_PROJECT,
    name: str = "exp",
    exist_ok: bool = False,
    resume: bool | str | Path = False,
    hyp: str | Path | dict[str, Any] | None = None,
    seed: int = 0,
    weights: str | Path | None = None,
    compare: str | Path | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Train a yolo-ghost model on the ultralytics engine and return the run's summary.

    Args:
        cfg: model YAML (shipped bare name such as ``yolov5n-ghost.yaml``, or a path).
        data: dataset YAML path, ``shapes`` (the built-in synthetic set) or a shipped dataset name.
        epochs, imgsz, batch: as in YOLOv5's ``train.py``; None takes the dataset's recipe (``recipe_for``: the
            calibrated one for ``shapes``, YOLOv5's 100 / 640 / 16 for other datasets). ``imgsz`` is rounded up to
            a multiple of the model's largest stride, with a warning.
        device, workers, seed: as in YOLOv5's ``train.py``.
        project, name, exist_ok: the run folder is ``project/name`` (``name2``, ``name3`` ... unless ``exist_ok``).
        resume: ``True`` for the newest run under ``project``, or a run folder / ``last.pt``; the run goes on to the
            epoch count it was started with, in the same folder.
        hyp: YOLOv5-style hyperparameter YAML (or dict), see ``load_hyp``.
        weights: a checkpoint whose matching layers initialise the model.
        compare: a second model config; the summary then holds our GFLOPs and params as ratios to it.
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
    prepare_offline()
    project = Path(project).absolute()  # a relative project would land in ultralytics' runs_dir
    t0 = time.time()
    if resume:
        last, save_dir = find_resumable(resume, project, check_data=lambda d: check_splits(resolve_dataset(d)))
        allowed = {"device": device, "workers": workers, **overrides}
        make = lambda: YoloGhostTrainer(overrides={"resume": str(last), **allowed})  # noqa: E731
    else:
        model_arg = _model_arg(cfg)
        if compare is not None:
            resolve_model_cfg(compare)
        save_dir = next_run_dir(project, name, exist_ok)
        train_hyp, loss_hyp = load_hyp(hyp)
        data_path = resolve_dataset(data)
        check_splits(data_path)
        recipe = recipe_for(data)
        if weights is not None and not Path(weights).is_file():
            raise ConfigError(f"--weights {str(weights)!r}: file not found")
        args: dict[str, Any] = {
            **YOLOV5_TRAIN_HYP,
            **recipe.hyp,
            **train_gains(model_arg),
            **train_hyp,
            **overrides,
            "model": model_arg,
            "data": str(data_path),
            "epochs": recipe.epochs if epochs is None else epochs,
            "imgsz": recipe.imgsz if imgsz is None else imgsz,
            "batch": recipe.batch if batch is None else batch,
            "device": device,
            "workers": workers,
            "project": str(project),
            "name": save_dir.name,
            "exist_ok": exist_ok,
            "save_dir": str(save_dir),  # decided here, so that a failed run knows whether it made the folder
            "seed": seed,
            "pretrained": str(Path(weights).absolute()) if weights is not None else False,
        }
        if str(device).lower() == "cpu":
            args.setdefault("amp", False)
        ema = {k: args.pop(k) for k in EMA_KEYS}  # no ultralytics argument: the trainer takes them
        make = lambda: YoloGhostTrainer(overrides=args, loss_hyp=loss_hyp, ema=ema)  # noqa: E731
    with clear_errors(), remove_new_run_on_failure(save_dir):
        trainer = make()
        trainer.train()
    return _summary(trainer, compare, time.time() - t0)


def _summary(trainer: YoloGhostTrainer, compare: str | Path | None, seconds: float) -> dict[str, Any]:
    metrics = trainer.metrics or {}
    imgsz = int(trainer.args.imgsz)
    model = unwrap_model(trainer.model)
    params, gflops = _cost(model, imgsz)
    out: dict[str, Any] = {
        "map50_95": float(metrics.get("metrics/mAP50-95(B)", 0.0)),
        "map50": float(metrics.get("metrics/mAP50(B)", 0.0)),
        "params": params,
        "gflops": gflops,
        "imgsz": imgsz,
        "epochs": int(trainer.epochs),
        "save_dir": str(trainer.save_dir),
        "best": str(trainer.best),
        "last": str(trainer.last),
        "cfg": str(model.yaml.get("yaml_file", trainer.args.model)),
        "seconds": round(seconds, 1),
    }
    out.update(training_curve(trainer.save_dir))  # per-epoch val mAP, absent when validation was switched off
    if "metrics/coco_AP50-95(B)" in metrics:  # pycocotools on best.pt, when the COCO validator ran it
        out["coco_map50_95"] = float(metrics["metrics/coco_AP50-95(B)"])
        out["coco_map50"] = float(metrics["metrics/coco_AP50(B)"])
    if compare is not None:
        other = build_model(compare, nc=model.yaml["nc"])
        c_params, c_gflops = _cost(other, imgsz)
        out["compare"] = {
            "cfg": str(compare),
            "params": c_params,
            "gflops": c_gflops,
            "params_ratio": params / c_params,
            "gflops_ratio": gflops / c_gflops if c_gflops else float("nan"),
        }
    return out


def _cost(model: torch.nn.Module, imgsz: int) -> tuple[int, float]:
    """Parameters and GFLOPs at ``imgsz`` (fused, batch 1) by the yolo-ghost profiler."""
    from yolo_ghost.tools.profiler import profile_model

    p = profile_model(model, imgsz=imgsz)
    return int(p.params), float(p.gflops)


def format_summary(s: dict[str, Any]) -> str:
    """The summary block ``train_det.py`` prints."""
    lines = [
        f"mAP50-95 {s['map50_95']:.4f}  mAP50 {s['map50']:.4f}  "
        f"params {s['params']:,}  GFLOPs {s['gflops']:.2f} @{s['imgsz']}  ({s['cfg']}, {s['seconds']:.0f} s)",
        f"run: {s['save_dir']}  (weights: {s['best']})",
    ]
    if "coco_map50_95" in s:
        lines.insert(1, f"pycocotools: AP50-95 {s['coco_map50_95']:.4f}  AP50 {s['coco_map50']:.4f}")
    lines += summary_warning(s.get("convergence"))
    if "compare" in s:
        c = s["compare"]
        lines.append(
            f"vs {c['cfg']}: GFLOPs {s['gflops']:.2f} / {c['gflops']:.2f} = {c['gflops_ratio']:.3f}x, "
            f"params {s['params']:,} / {c['params']:,} = {c['params_ratio']:.3f}x"
        )
    return "\n".join(lines)
