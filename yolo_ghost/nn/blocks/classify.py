"""A classification head for classifier configs: global average pool -> dropout -> linear."""

from __future__ import annotations

import torch.nn as nn
from ultralytics.nn.modules.head import Classify

from yolo_ghost.nn.registry import register_block


@register_block(
    "ClassifyHead",
    out=lambda c_in, args: args[0],
    width_args=(),
    repeat="none",
    signature="[nc, dropout=0.0]",
    paper="Global average pool + fully connected classifier (Network in Network, Lin et al. 2014; ShuffleNet V2)",
    task="classify",
)
class ClassifyHead(Classify):
    """Global average pool -> dropout -> ``Linear(c1, nc)``, the ShuffleNet/MobileNet classifier (no hidden conv).

    It subclasses the ultralytics ``Classify`` (whose ``forward`` it uses: logits in training, softmax
    probabilities when exporting, ``(probabilities, logits)`` otherwise) so the ultralytics classification trainer,
    validator, exporter and ``ClassificationModel.reshape_outputs`` treat it as their own head. Its ``conv`` is the
    identity: a 1x1 conv before the pool, if wanted, is a ``Conv`` row in the YAML.
    """

    def __init__(self, c1: int, nc: int, dropout: float = 0.0) -> None:
        nn.Module.__init__(self)
        if not isinstance(nc, int) or nc < 1:
            raise ValueError(f"ClassifyHead: nc must be a positive integer, got {nc!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"ClassifyHead: dropout must be in [0, 1), got {dropout}")
        self.conv = nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(p=dropout, inplace=True)
        self.linear = nn.Linear(c1, nc)
