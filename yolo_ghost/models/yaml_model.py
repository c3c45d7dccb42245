"""What the detector and the classifier share: building the layers from a YAML, and BatchNorm fusion.

``YoloGhostModel`` (``yolo_ghost.models.yolo``) and ``YoloGhostClassifier`` (``yolo_ghost.models.classifier``) put this mixin
before their ultralytics base class; each keeps only what differs (the head it expects and how it is set up).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch.nn as nn

from yolo_ghost.cfg import ConfigError, load_model_cfg
from yolo_ghost.nn.builder import check_budget, parse_model
from yolo_ghost.nn.fuse import count_batchnorms, fuse_model


class YamlModelMixin:
    """Layers from a yolo-ghost YAML (``build_layers``) and fusion of every block (``fuse``, ``is_fused``)."""

    def build_layers(
        self, cfg: str | Path | dict[str, Any], ch: int, nc: int | None, head_type: type, kind: str
    ) -> nn.Module:
        """Load ``cfg``, check its parameter budget, build its layers and return the last one (the head).

        Sets ``yaml`` (with ``channels`` and ``nc`` overridden when given), ``model``, ``save`` and placeholder
        ``names``. Raises ``ConfigError`` when the last layer is not a ``head_type`` (the message calls it ``kind``).
        """
        nn.Module.__init__(self)
        self.yaml = load_model_cfg(cfg)
        self.yaml["channels"] = ch
        if nc is not None and nc != self.yaml.get("nc"):
            self.yaml["nc"] = nc
        check_budget(self.yaml, ch)  # the parameter count, before any weight is allocated
        self.model, self.save = parse_model(self.yaml, ch=ch)
        self.names = {i: f"{i}" for i in range(self.yaml["nc"])}
        head = self.model[-1]
        if not isinstance(head, head_type):
            raise ConfigError(f"layer {head.i}: {kind}, got {head.type}")
        return head

    def fuse(self, verbose: bool = False, imgsz: int = 640) -> nn.Module:
        """Fold every BatchNorm into the conv that feeds it (``yolo_ghost.nn.fuse.fuse_model``: all blocks, found from
        the graph), then let the head drop what it needs only for training (ultralytics' end-to-end ``Detect``)."""
        if not self.is_fused():
            fuse_model(self)
            head_fuse = getattr(self.model[-1], "fuse", None)
            if callable(head_fuse):
                head_fuse()
            if verbose:
                self.info(imgsz=imgsz)
        return self

    def is_fused(self) -> bool:
        """True once no BatchNorm is left anywhere in the model."""
        return count_batchnorms(self) == 0
