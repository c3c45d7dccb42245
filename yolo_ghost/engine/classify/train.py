"""Classifier training and evaluation on the ultralytics classification engine.

``YoloGhostClassificationTrainer`` is the ultralytics ``ClassificationTrainer`` with the model built by yolo-ghost
(``YoloGhostClassifier``), checkpoints written atomically, CPU settings that train the depthwise blocks faster, and
datasets resolved here so that nothing is ever downloaded; ``YoloGhostClassificationValidator`` is the ultralytics
``ClassificationValidator`` that also writes top-1 / top-5 and per-class accuracy to ``metrics.json``. ``train_classifier``
and ``validate_classifier`` are the library entry points behind ``train_cls.py``.
"""

from __future__ import annotations

import json
from collections import Counter
from copy import copy
from pathlib import Path
from typing import Any

import torch
from ultralytics.models.yolo.classify import ClassificationTrainer, ClassificationValidator
from ultralytics.utils import LOGGER, RANK

from yolo_ghost.cfg import ConfigError, load_model_cfg, resolve_model_cfg
from yolo_ghost.data.scan import scan_images
from yolo_ghost.data.shapes_cls import BUILTIN_NAMES, builtin_cls_key, resolve_builtin_cls_dataset
from yolo_ghost.engine.curves import summary_warning
from yolo_ghost.engine.ema import EmaScheduleMixin, pop_ema_keys
from yolo_ghost.engine.recipe import Recipe
from yolo_ghost.engine.run import TrainTask, run_training, summarize
from yolo_ghost.engine.run_dir import next_run_dir, remove_new_run_on_failure
from yolo_ghost.engine.trainer import CpuTrainerMixin, clear_errors, prepare_offline
from yolo_ghost.models.checkpoint import read_checkpoint, trusted
from yolo_ghost.models.classifier import YoloGhostClassifier
from yolo_ghost.models.yolo import model_task
from yolo_ghost.utils.atomic import write_json_atomic

# The main job's dataset (`python train_cls.py --cfg shufflenetv2-k5-cls.yaml` trains on the built-in `shapes-cls-v2`).
DEFAULT_DATA = "shapes-cls-v2"
DEFAULT_PROJECT = "runs/train-cls"

# From-scratch hyperparameters for small images (CIFAR-style): AdamW with a linear decay, a short warm-up,
# random resized crops and flips, no RandAugment and no random erasing (RandAugment's solarize and colour ops change
# the hue that the built-in classes are defined by, and erasing can remove a 32 px image's whole object).
CLS_TRAIN_HYP: dict[str, Any] = {
    "optimizer": "AdamW",
    "lr0": 0.002,
    "lrf": 0.05,
    "weight_decay": 0.0005,
    "warmup_epochs": 1.0,
    "auto_augment": None,
    "erasing": 0.0,
    "scale": 0.5,
    "fliplr": 0.5,
    "cache": "ram",
}
# A dataset on disk and the first set, `shapes-cls`, train with it unless told otherwise: 30 epochs (10 left 2 of 3
# seeds still improving, 11-14% over the last quarter; docs/notes.md), 32 px, batch 64, no loader workers (the set is
# cached in RAM).
CLS_RECIPE = Recipe(epochs=30, imgsz=32, batch=64, workers=0, hyp=CLS_TRAIN_HYP)


# The built-in sets' recipes. `shapes-cls-v2` is calibrated with its set (docs/notes.md): 20 epochs (its baseline,
# shufflenetv2-cls, trains in about 2.5 min on 2 CPU cores and ends on its plateau), a cosine schedule down to 1% of
# lr0, and a weight EMA sized to the run's ~2,300 updates (decay 0.995, ramp 100 updates) as the detector's `shapes`
# recipe has: ultralytics' EMA, sized for ~500,000 updates, ends near 0.7 here and averages almost nothing.
CLS_RECIPES: dict[str, Recipe] = {
    "shapes-cls": CLS_RECIPE,
    "shapes-cls-v2": Recipe(
        epochs=20,
        imgsz=32,
        batch=64,
        workers=0,
        hyp={**CLS_TRAIN_HYP, "cos_lr": True, "lrf": 0.01, "ema_decay": 0.995, "ema_tau": 100.0},
    ),
}


def cls_recipe_for(data: str | Path) -> Recipe:
    """The recipe of a classification dataset: its own for a built-in set (``CLS_RECIPES``), else ``CLS_RECIPE``."""
    return CLS_RECIPES.get(builtin_cls_key(data) or "", CLS_RECIPE)


# The per-epoch validation columns of a classifier's results.csv, by the names the bench and the summary use.
CLS_CURVE_COLUMNS = {"top1": "metrics/accuracy_top1", "top5": "metrics/accuracy_top5"}


class YoloGhostClassificationValidator(ClassificationValidator):
    """The ultralytics classification validator; it also writes ``metrics.json`` (top-1, top-5, per-class accuracy).

    ``metrics.json`` goes to the validator's ``save_dir`` when it validates a checkpoint file: on its own, and when the
    trainer validates ``best.pt`` at the end (not after every epoch).
    """

    def get_stats(self) -> dict[str, float]:
        """As ultralytics; when validating a checkpoint file also write ``metrics.json``."""
        stats = super().get_stats()
        if not self.training:  # a standalone validation, or the trainer's final one of best.pt
            top1, target = torch.cat(self.pred)[:, 0].long(), torch.cat(self.targets).long()
            hits = torch.bincount(target[top1 == target], minlength=self.nc)
            seen = torch.bincount(target, minlength=self.nc).clamp(min=1)
            out = {
                "top1": float(self.metrics.top1),
                "top5": float(self.metrics.top5),
                "n_images": len(target),
                "per_class_top1": {self.names[i]: float(hits[i] / seen[i]) for i in range(self.nc)},
            }
            Path(self.save_dir).mkdir(parents=True, exist_ok=True)
            write_json_atomic(Path(self.save_dir) / "metrics.json", out, indent=1)
        return stats


class YoloGhostClassificationTrainer(EmaScheduleMixin, CpuTrainerMixin, ClassificationTrainer):
    """The ultralytics classification trainer for yolo-ghost classifiers (``model`` is the YAML config).

    Differences from ultralytics, each for a reason: the model is a ``YoloGhostClassifier`` built by the yolo-ghost
    builder, with its own initialisation kept (ultralytics resets every layer to PyTorch's defaults); on CPU PyTorch
    gets every core and the model and images are channels-last (the depthwise convs of the ShuffleNet blocks train
    faster in NHWC); ``last.pt`` and ``best.pt`` are written through a temporary file and a rename; the weight EMA
    takes the run's ``ema_decay`` and ``ema_tau`` (``yolo_ghost.engine.ema``).

    Args:
        cfg, overrides, _callbacks: as ``ClassificationTrainer``.
        ema: the weight EMA's ``ema_decay`` and ``ema_tau`` (``EmaScheduleMixin``; ultralytics' 0.9999 and 2000 when
            not given).
    """

    def get_model(self, cfg: Any = None, weights: torch.nn.Module | None = None, verbose: bool = True):
        """Build the yolo-ghost classifier for this dataset's classes, loading ``weights`` (matching layers) if given."""
        model = YoloGhostClassifier(
            cfg or self.args.model, nc=self.data["nc"], ch=self.data.get("channels", 3), verbose=verbose and RANK == -1
        )
        self.store_ema(model)
        if weights:
            model.load(weights)
        for m in model.modules():
            if isinstance(m, torch.nn.Dropout) and self.args.dropout:
                m.p = self.args.dropout
        return model

    def get_validator(self) -> YoloGhostClassificationValidator:
        """The validator that also writes ``metrics.json`` for ``best.pt``."""
        return YoloGhostClassificationValidator(
            self.test_loader, self.save_dir, args=copy(self.args), _callbacks=self.callbacks
        )


# --------------------------------------------------------------------------------------------------------------------
# Library entry points


def resolve_cls_data(data: str | Path) -> Path:
    """The folder of a classification dataset: a built-in set (``shapes-cls-v2``, ``shapes-cls``: generated on first
    use) or a folder on disk in ImageFolder layout (``train/<class>/*.png`` and ``val/<class>/*.png``; ``valid/``,
    ``validation/`` or ``test/`` also serve as the evaluation split). Nothing is downloaded.

    Raises:
        ConfigError: the name is neither built in nor an existing folder, or the folder lacks a split or images.
    """
    found = resolve_builtin_cls_dataset(data)
    if found is not None:
        return found
    p = Path(data).expanduser()
    if p.is_file() and p.suffix in (".yaml", ".yml"):
        raise ConfigError(
            f"--data {str(data)!r} is a dataset YAML (detection); a classifier trains on a folder in ImageFolder "
            f"layout (DIR/train/<class>/*.png, DIR/val/<class>/*.png) or a built-in set: {', '.join(BUILTIN_NAMES)}"
        )
    if not p.is_dir():
        raise ConfigError(
            f"--data {str(data)!r}: no such folder; give a folder in ImageFolder layout (DIR/train/<class>/*.png, "
            f"DIR/val/<class>/*.png) or a built-in set: {', '.join(BUILTIN_NAMES)} (nothing is downloaded)"
        )
    p = p.resolve()
    evals = [p / s for s in ("val", "valid", "validation", "test") if (p / s).is_dir()]
    if not evals:
        raise ConfigError(f"dataset {p}: no val/ (or valid/, validation/, test/) folder beside train/")
    for split, folder in (("train", p / "train"), *(("val", e) for e in evals)):
        classes = sorted(c for c in folder.iterdir() if c.is_dir()) if folder.is_dir() else []
        if not classes:
            raise ConfigError(f"dataset {p}: {folder.name}/ is missing or has no class folders ({split} split)")
        # one walk per split (yolo_ghost.data.scan): a symlink loop, a repeated folder, a special or oversize file
        # is refused here, before ultralytics (torchvision's ImageFolder) follows every link and reads files whole
        images = scan_images(folder, f"dataset {p}")
        found = Counter(f.relative_to(folder).parts[0] for f in images)
        empty = [c.name for c in classes if not found[c.name]]
        if empty:
            raise ConfigError(
                f"dataset {p}: class folder(s) {', '.join(f'{folder.name}/{c}/' for c in empty)} hold no images; "
                "every class needs images in every split (remove the folder or add images)"
            )
    return p


def eval_split(data: str | Path) -> str:
    """The split a finished classifier is scored on: ``test`` when the dataset holds a held-out ``test/`` beside its
    ``val/`` (scored once, never seen while training), else ``val``."""
    p = resolve_cls_data(data)
    return "test" if (p / "test").is_dir() and any((p / s).is_dir() for s in ("val", "valid", "validation")) else "val"


def check_classifier_cfg(cfg: str | Path) -> str:
    """The model config as the trainer's ``model`` argument, after checking it is a classifier.

    Raises:
        ConfigError: the config is missing, or it is a detector (its last layer is not a classification head).
    """
    resolve_model_cfg(cfg)  # raises ConfigError with suggestions when missing
    d = load_model_cfg(cfg)
    if model_task(d) != "classify":
        last = (d.get("head") or d.get("backbone") or [[None, None, "?"]])[-1][2]
        raise ConfigError(
            f"{cfg} is a detector config (its last layer is {last}); train_cls.py trains classifiers, whose YAML ends "
            "in ClassifyHead (e.g. shufflenetv2-cls.yaml); train a detector with train_det.py"
        )
    p = Path(cfg)
    return str(cfg) if p.parent == Path(".") and not p.is_file() else str(p.absolute())


def _check_data(data: str | Path) -> str:
    return str(resolve_cls_data(data))


def _split_args(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The EMA keys out of the ultralytics arguments, as ``YoloGhostClassificationTrainer`` keyword arguments."""
    return args, {"ema": pop_ema_keys(args)}


CLASSIFY = TrainTask(
    name="classify",
    trainer=YoloGhostClassificationTrainer,
    check_cfg=check_classifier_cfg,
    check_data=_check_data,
    recipe=lambda data: cls_recipe_for(data),  # looked up when called, so that a replaced cls_recipe_for is used
    split_args=_split_args,
    metrics=CLS_CURVE_COLUMNS,
    curve_key="top1",  # the detector's plateau rule, on top-1
)


def train_classifier(
    cfg: str | Path | None,
    data: str | Path = DEFAULT_DATA,
    epochs: int | None = None,
    imgsz: int | None = None,
    batch: int | None = None,
    device: str = "",
    workers: int | None = None,
    project: str | Path = DEFAULT_PROJECT,
    name: str = "exp",
    exist_ok: bool = False,
    resume: bool | str | Path = False,
    seed: int = 0,
    weights: str | Path | None = None,
    hyp: str | Path | dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Train a yolo-ghost classifier on the ultralytics engine and return the run's summary
    (``yolo_ghost.engine.run.run_training`` with the classifier's ``CLASSIFY`` task).

    Args:
        cfg: classifier YAML (a shipped bare name such as ``shufflenetv2-k5-cls.yaml``, or a path); unused on resume.
        data: a built-in set (``shapes-cls-v2``, the default, or ``shapes-cls``) or a folder in ImageFolder layout,
            see ``resolve_cls_data``.
        epochs, imgsz, batch, workers: None takes the dataset's recipe (``cls_recipe_for``; images are resized to
            ``imgsz``).
        device, seed: the run's settings.
        project, name, exist_ok: the run folder is ``project/name`` (``name2``, ``name3`` ... unless ``exist_ok``);
            ``name`` must stay inside ``project``.
        resume: ``True`` for the newest run under ``project``, or a run folder / ``last.pt``; the run goes on to the
            epoch count it was started with, in the same folder.
        weights: a checkpoint whose matching layers initialise the model.
        hyp: hyperparameters over the recipe's (a YAML file or a mapping, checked by ``yolo_ghost.engine.hyp``); the
            bench passes the ones it recorded when it started, so a resumed bench trains as it began.
        overrides: further ultralytics training arguments (``plots=False``, ...).

    Returns:
        ``{"top1", "top5", "params", "gflops", "imgsz", "epochs", "save_dir", "best", "last", "cfg", "seconds"}``,
        top-1 / top-5 of ``best.pt`` on the evaluation split, GFLOPs at ``imgsz`` (BN fused, batch 1), and the curve
        and its plateau verdict as the detector's ``train`` returns them.

    Raises:
        ConfigError: a missing config or a detector config, a missing or malformed dataset, or a missing checkpoint;
            the message says what to change.
    """
    trainer, seconds = run_training(
        CLASSIFY, cfg, data, epochs=epochs, imgsz=imgsz, batch=batch, device=device, workers=workers,
        project=project, name=name, exist_ok=exist_ok, resume=resume, hyp=hyp, seed=seed, weights=weights,
        **overrides,
    )  # fmt: skip
    return summarize(CLASSIFY, trainer, seconds)


def validate_classifier(
    weights: str | Path,
    data: str | Path = DEFAULT_DATA,
    imgsz: int | None = None,
    batch: int = CLS_RECIPE.batch,
    device: str = "",
    project: str | Path = "runs/val-cls",
    name: str = "exp",
    exist_ok: bool = False,
    trust_checkpoint: bool = False,
    split: str = "val",
    **overrides: Any,
) -> dict[str, Any]:
    """Evaluate a classifier checkpoint on a dataset's evaluation split: top-1, top-5 and per-class accuracy.

    ``split`` is ``val`` (the split training validates on) or ``test`` (a held-out split, see ``eval_split``).

    ``imgsz`` defaults to the size the checkpoint was trained at. The results also go to ``metrics.json`` in the run
    folder (``project/name``, numbered unless ``exist_ok``). The checkpoint is read with the allow-list of
    ``yolo_ghost.models.checkpoint`` (``trust_checkpoint=True`` runs code from the file).

    Raises:
        ConfigError: a missing checkpoint or dataset, a checkpoint of a detector, or a split other than val and test.
    """
    if split not in ("val", "test"):
        raise ConfigError(f"split {split!r}: a classifier is evaluated on 'val' or 'test'")
    prepare_offline()
    save_dir = next_run_dir(project, name, exist_ok)
    p = Path(weights)
    if not p.is_file():
        raise ConfigError(f"--weights {str(weights)!r}: file not found")
    ckpt = read_checkpoint(p, trust=trust_checkpoint)
    model = ckpt.get("ema") or ckpt.get("model")
    if not isinstance(model, YoloGhostClassifier):
        raise ConfigError(f"{p}: not a yolo-ghost classifier checkpoint (got {type(model).__name__})")
    train_args = ckpt.get("train_args") or {}
    args = {
        "model": str(p.resolve()),
        "data": str(resolve_cls_data(data)),
        "imgsz": imgsz or train_args.get("imgsz", CLS_RECIPE.imgsz),
        "batch": batch,
        "device": device,
        "split": split,
        "plots": False,
        **overrides,
    }
    with clear_errors(), remove_new_run_on_failure(save_dir), trusted(trust_checkpoint):
        validator = YoloGhostClassificationValidator(save_dir=save_dir, args=args)
        validator()
    LOGGER.info(f"metrics: {save_dir / 'metrics.json'}")
    return {**json.loads((save_dir / "metrics.json").read_text()), "save_dir": str(save_dir)}


def format_summary(s: dict[str, Any]) -> str:
    """The summary block ``train_cls.py`` prints."""
    return "\n".join(
        [
            f"top-1 {s['top1']:.4f}  top-5 {s['top5']:.4f}  params {s['params']:,}  GFLOPs {s['gflops']:.3f} "
            f"@{s['imgsz']}  ({s['cfg']}, {s['epochs']} epochs, {s['seconds']:.0f} s on {s.get('device', 'cpu')})",
            f"run: {s['save_dir']}  (weights: {s['best']})",
            *summary_warning(s.get("convergence"), metric="top-1"),
        ]
    )
