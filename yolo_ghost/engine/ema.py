"""The weight EMA sized to the run, for the detector's and the classifier's trainers alike.

ultralytics validates and saves an exponential moving average of the weights (YOLOv5's ``ModelEMA``) whose decay
ramps to 0.9999 (an average over ~10,000 updates) with a time constant of 2,000 updates: sized for YOLOv5's ~550,000
updates on COCO. A run of a few thousand updates ends with a decay near 0.7 and averages almost nothing, so the
weights it scores are as noisy as the last batches left them. A recipe for a short run sets ``ema_decay`` and
``ema_tau`` (``--hyp`` keys); ``EmaScheduleMixin`` keeps them in the model's YAML dict, so that checkpoints and
``--resume`` keep them too, and gives the trainer's EMA that schedule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from ultralytics.utils import DEFAULT_CFG
from ultralytics.utils.torch_utils import unwrap_model

from yolo_ghost.engine.hyp import check_hyp

EMA_KEYS = ("ema_decay", "ema_tau")
# ultralytics' (and YOLOv5's) schedule, what a run without EMA keys trains with
DEFAULT_EMA = {"ema_decay": 0.9999, "ema_tau": 2000.0}


def check_ema(hyp: Mapping[str, Any]) -> dict[str, float]:
    """The EMA keys of ``hyp`` as floats, checked as ``--hyp`` checks them: ``0 <= ema_decay < 1``, ``ema_tau > 0``."""
    return check_hyp({k: hyp[k] for k in EMA_KEYS if k in hyp}, "hyp")


def pop_ema_keys(args: dict[str, Any]) -> dict[str, Any]:
    """Remove and return the EMA keys of a trainer's arguments (no ultralytics argument takes them)."""
    return {k: args.pop(k) for k in EMA_KEYS if k in args}


class EmaScheduleMixin:
    """Gives an ultralytics trainer's weight EMA the schedule ``decay * (1 - exp(-updates / tau))`` of the run's
    ``ema_decay`` and ``ema_tau``.

    The trainer takes the settings as its ``ema`` keyword argument (checked by ``check_ema``) and its ``get_model``
    calls ``store_ema`` on the model it builds; a resumed run reads the schedule back from its checkpoint's model. A
    run without EMA keys keeps ultralytics' schedule.
    """

    def __init__(
        self,
        cfg: Any = DEFAULT_CFG,
        overrides: dict[str, Any] | None = None,
        _callbacks: dict | None = None,
        ema: dict[str, float] | None = None,
    ) -> None:
        self.ema_hyp = check_ema(ema or {})
        super().__init__(cfg, overrides, _callbacks)

    def store_ema(self, model: torch.nn.Module) -> None:
        """Record this run's EMA settings in ``model.yaml`` (saved with every checkpoint)."""
        if self.ema_hyp:
            model.yaml["ema"] = {**(model.yaml.get("ema") or {}), **self.ema_hyp}

    def _setup_train(self) -> None:
        """As ultralytics, then the EMA schedule of the model's ``ema`` settings (this run's, or its checkpoint's)."""
        super()._setup_train()
        self._schedule_ema()

    def _load_checkpoint_state(self, ckpt: dict[str, Any]) -> None:
        """As ultralytics (which makes a new EMA, as after a NaN loss), then the EMA schedule again."""
        super()._load_checkpoint_state(ckpt)
        self._schedule_ema()

    def _schedule_ema(self) -> None:
        ema = (getattr(unwrap_model(self.model), "yaml", None) or {}).get("ema") or {}
        if self.ema is not None and ema:
            decay = float(ema.get("ema_decay", DEFAULT_EMA["ema_decay"]))
            tau = float(ema.get("ema_tau", DEFAULT_EMA["ema_tau"]))
            self.ema.decay = lambda updates: decay * (1 - math.exp(-updates / tau))
