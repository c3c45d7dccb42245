"""The classifier class: ultralytics ``ClassificationModel`` built by the yolo-ghost builder.

As with ``YoloGhostModel``, subclassing keeps what the ultralytics classification trainer, validator and exporter
expect, while the layers come from ``yolo_ghost.nn.builder``. The import path is part of the checkpoint format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from ultralytics.nn.modules.head import Classify
from ultralytics.nn.tasks import ClassificationModel

import yolo_ghost.nn.blocks  # noqa: F401  (registers every block)
from yolo_ghost.models.yaml_model import YamlModelMixin
from yolo_ghost.nn.builder import dry_forward

_PROBE = 64  # dry-run size: stride-32 backbones still see a 2 x 2 map


class YoloGhostClassifier(YamlModelMixin, ClassificationModel):
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
        self.build_layers(cfg, ch, nc, Classify, "a classifier must end in a classification head")
        self.model.eval()  # a dry run names the layer a bad row breaks; eval keeps BatchNorm statistics untouched
        dry_forward(self.model, self.save, torch.zeros(1, ch, _PROBE, _PROBE))
        self.model.train()
        self.stride = torch.Tensor([1])  # no stride constraint, as in ultralytics
        if verbose:
            self.info()
