"""The classifier class: ultralytics ``ClassificationModel`` built by the yolo-ghost builder.

As with ``YoloGhostModel``, subclassing keeps what the ultralytics classification trainer, validator and exporter
expect, while the layers come from ``yolo_ghost.builder``. The import path is part of the checkpoint format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from ultralytics.nn.modules.head import Classify
from ultralytics.nn.tasks import ClassificationModel

import yolo_ghost.blocks  # noqa: F401  (registers every block)
from yolo_ghost.builder import check_budget, dry_forward, parse_model
from yolo_ghost.cfg import ConfigError, load_model_cfg
from yolo_ghost.fuse import fuse_model

_PROBE = 64  # dry-run size: stride-32 backbones still see a 2 x 2 map


class YoloGhostClassifier(ClassificationModel):
    """An image classifier built from a yolo-ghost YAML ending in a classification head (``ClassifyHead``).

    Args:
        cfg: a YAML path, a shipped config's bare name (``shufflenetv2-cls.yaml``) or a loaded dict.
        ch: input channels.
        nc: number of classes, overriding the YAML's ``nc``.
        verbose: print the per-layer summary.

    The forward returns logits ``(B, nc)`` in training and, like the ultralytics ``Classify`` head, softmax
    probabilities ``(B, nc)`` in export mode or ``(probabilities, logits)`` otherwise.
    """

    def __init__(
        self,
        cfg: str | Path | dict[str, Any] = "shufflenetv2-cls.yaml",
        ch: int = 3,
        nc: int | None = None,
        verbose: bool = False,
    ) -> None:
        nn.Module.__init__(self)
        self.yaml = load_model_cfg(cfg)
        self.yaml["channels"] = ch
        if nc is not None and nc != self.yaml.get("nc"):
            self.yaml["nc"] = nc
        check_budget(self.yaml, ch)  # the parameter count, before any weight is allocated
        self.model, self.save = parse_model(self.yaml, ch=ch)
        head = self.model[-1]
        if not isinstance(head, Classify):
            raise ConfigError(f"layer {head.i}: a classifier must end in a classification head, got {head.type}")
        self.model.eval()  # a dry run names the layer a bad row breaks; eval keeps BatchNorm statistics untouched
        dry_forward(self.model, self.save, torch.zeros(1, ch, _PROBE, _PROBE))
        self.model.train()
        self.stride = torch.Tensor([1])  # no stride constraint, as in ultralytics
        self.names = {i: f"{i}" for i in range(self.yaml["nc"])}
        if verbose:
            self.info()

    def fuse(self, verbose: bool = False) -> YoloGhostClassifier:
        """Fold every BatchNorm into its conv (all blocks, not only ultralytics ``Conv``) for inference."""
        if not self.is_fused():
            fuse_model(self)
            if verbose:
                self.info()
        return self

    def is_fused(self) -> bool:
        """True once no BatchNorm is left anywhere in the model."""
        return not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.modules())
