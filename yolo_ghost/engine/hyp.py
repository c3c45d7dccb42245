"""The hyperparameters ``--hyp`` may set, declared once with their types and ranges.

A hyperparameter file (YOLOv5's ``hyp.scratch-low.yaml`` style) holds the trainer's optimisation, augmentation, loss
and EMA settings, nothing else: where a run writes, what it trains on and for how long have flags of their own, and a
key such as ``resume`` or ``data`` in a hyp file would silently override them (or train another run). Every value is
checked here, so a ``NaN`` learning rate or an unknown optimizer is a one-line refusal before a trainer is made. The
detector, the classifier and the bench (its recorded hyp) all check through ``check_hyp``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from yolo_ghost.cfg import ConfigError
from yolo_ghost.cfg.errors import one_line

# ultralytics' optimizer names (BaseTrainer.build_optimizer).
OPTIMIZERS = ("SGD", "Adam", "Adamax", "AdamW", "NAdam", "RAdam", "RMSprop", "auto")

# ultralytics argument names whose yolo-ghost flag is spelled differently (any other `key` is the flag `--key`).
FLAG_NAMES = {"model": "--cfg", "batch": "--batch-size", "imgsz": "--img", "pretrained": "--weights"}


def flag_for(key: str) -> str:
    """The yolo-ghost flag of an ultralytics argument name (``imgsz`` -> ``--img``, ``exist_ok`` -> ``--exist-ok``)."""
    return FLAG_NAMES.get(key, "--" + key.replace("_", "-"))


# Keys people put in a hyp file that belong to a flag: the refusal names it.
_FLAG_KEYS = "resume data epochs batch imgsz project name exist_ok model pretrained device workers seed"
FLAG_FOR_KEY = {
    **{k: flag_for(k) for k in _FLAG_KEYS.split()},
    "cfg": "--cfg",
    "save_dir": "--project and --name",
    "split": "`yolo-ghost val --split` (training always validates on the val split)",
    "task": "the model YAML (its head decides the task)",
}

# YOLOv5 hyp-file keys with no effect here: `iou_t` is unused in YOLOv5 as well, `anchors` is AutoAnchor's count.
IGNORED_KEYS = ("iou_t", "anchors")


def _number(lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False, integer: bool = False):
    """A checker for a finite number in ``[lo, hi]`` (either end open as asked)."""

    def check(v: Any) -> float | int:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"must be a number, not {type(v).__name__} {v!r}")
        if integer and float(v) != int(v):
            raise ValueError(f"must be a whole number, not {v!r}")
        if not math.isfinite(v):
            raise ValueError(f"must be a finite number, not {v!r}")
        if (v <= lo if lo_open else v < lo) or (v >= hi if hi_open else v > hi):
            raise ValueError(f"{v!r} is outside {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}")
        return int(v) if integer else float(v)

    return check


def _choice(*values: Any):
    def check(v: Any) -> Any:
        if v not in values or (isinstance(v, bool) and not any(isinstance(c, bool) for c in values)):
            raise ValueError(f"{v!r} is not one of {', '.join(map(repr, values))}")
        return v

    return check


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"must be true or false, not {v!r}")
    return v


_PROB = _number(0.0, 1.0)
_GAIN = _number(0.0, 1e3)

# Every key --hyp accepts, and its check. Ranges are what the trainer can use, not what is sensible: they catch typos
# and NaNs, not bad taste.
HYP_KEYS: dict[str, Callable[[Any], Any]] = {
    # optimisation
    "optimizer": _choice(*OPTIMIZERS),
    "lr0": _number(0.0, 10.0, lo_open=True),
    "lrf": _number(0.0, 1.0, lo_open=True),
    "momentum": _number(0.0, 1.0, hi_open=True),
    "weight_decay": _number(0.0, 1.0),
    "warmup_epochs": _number(0.0, 1e4),
    "warmup_momentum": _number(0.0, 1.0, hi_open=True),
    "warmup_bias_lr": _number(0.0, 10.0),
    "cos_lr": _bool,
    "nbs": _number(1, 1e6, integer=True),
    "close_mosaic": _number(0, 1e6, integer=True),
    "dropout": _number(0.0, 1.0, hi_open=True),
    # augmentation
    "hsv_h": _PROB,
    "hsv_s": _PROB,
    "hsv_v": _PROB,
    "degrees": _number(0.0, 180.0),
    "translate": _PROB,
    "scale": _number(0.0, 1.0, hi_open=True),
    "shear": _number(0.0, 90.0, hi_open=True),
    "perspective": _number(0.0, 0.001),
    "flipud": _PROB,
    "fliplr": _PROB,
    "bgr": _PROB,
    "mosaic": _PROB,
    "mixup": _PROB,
    "cutmix": _PROB,
    "copy_paste": _PROB,
    "copy_paste_mode": _choice("flip", "mixup"),
    "auto_augment": _choice(None, "randaugment", "autoaugment", "augmix"),
    "erasing": _number(0.0, 0.9),
    "cache": _choice(False, True, "ram"),  # "disk" would write .npy files beside the dataset's images
    # loss (ultralytics' gains, and the YOLOv5 loss's own keys)
    "box": _GAIN,
    "cls": _GAIN,
    "dfl": _GAIN,
    "obj": _GAIN,
    "cls_pw": _GAIN,
    "obj_pw": _GAIN,
    "anchor_t": _number(1.0, 100.0),
    "label_smoothing": _number(0.0, 1.0, hi_open=True),
    "fl_gamma": _number(0.0, 0.0),  # YOLOv5's focal loss; only its default 0 (off) is supported
    "dis": _GAIN,  # the feature-imitation loss of `--distill` (ultralytics' `dis`); no effect without a teacher
    # the weight EMA
    "ema_decay": _number(0.0, 1.0, hi_open=True),
    "ema_tau": _number(0.0, 1e9, lo_open=True),
}


def check_hyp(hyp: Mapping[str, Any], source: str = "--hyp") -> dict[str, Any]:
    """``hyp`` with each value checked (numbers as float or int), the YOLOv5 keys with no effect dropped.

    Args:
        hyp: hyperparameter name -> value.
        source: what to name in an error (``--hyp FILE``, ``settings.json``).

    Raises:
        ConfigError: a key that is not a hyperparameter (the message names the flag to use instead), or a value of
            the wrong type or out of range.
    """
    if not isinstance(hyp, Mapping):
        raise ConfigError(f"{source}: must be a mapping of name: value, not {type(hyp).__name__}")
    out: dict[str, Any] = {}
    for k, v in hyp.items():
        if k in IGNORED_KEYS:
            continue
        if k in FLAG_FOR_KEY:
            raise ConfigError(f"{source}: {k!r} is not a hyperparameter; use {FLAG_FOR_KEY[k]} instead")
        if k not in HYP_KEYS:
            raise ConfigError(
                f"{source}: unknown hyperparameter {k!r}; --hyp takes the optimisation, augmentation, loss and EMA "
                f"keys: {', '.join(HYP_KEYS)}"
            )
        if k == "fl_gamma" and v not in (0, 0.0, None):
            raise ConfigError(f"{source}: fl_gamma {v!r}: focal loss is not supported by the YOLOv5 loss; set it to 0")
        try:
            out[k] = HYP_KEYS[k](v)
        except ValueError as e:
            raise ConfigError(f"{source}: {k} {e}") from None
    out.pop("fl_gamma", None)
    return out


def read_hyp(hyp: str | Path | Mapping[str, Any] | None) -> dict[str, Any]:
    """The hyperparameters of ``--hyp``, a YAML file (YOLOv5's ``hyp.scratch-low.yaml`` style) or a mapping, checked
    by ``check_hyp``; ``{}`` for None.

    Raises:
        ConfigError: the file is missing or not YAML, or ``check_hyp`` refuses a key or value.
    """
    if hyp is None:
        return {}
    if isinstance(hyp, Mapping):
        return check_hyp(hyp, "--hyp")
    return check_hyp(load_hyp_file(hyp), f"--hyp {hyp}")


def load_hyp_file(hyp: str | Path) -> Any:
    """The content of a ``--hyp`` YAML file, unchecked (``read_hyp`` checks a detector's keys; a bench checks them with
    its task's rules).

    Raises:
        ConfigError: the file is missing or not YAML.
    """
    p = Path(hyp)
    if not p.is_file():
        raise ConfigError(f"hyperparameter file {str(hyp)!r} not found")
    try:
        return yaml.safe_load(p.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: not valid YAML: {one_line(e)}") from None
