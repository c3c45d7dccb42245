"""Channel attention blocks usable on their own or inside other blocks."""

from __future__ import annotations

import torch
import torch.nn as nn

from yolo_ghost.nn.blocks.helpers import check_positive
from yolo_ghost.nn.registry import register_block


@register_block(
    "SE",
    out="same",
    width_args=(),
    signature="[r=4]",
    paper="Squeeze-and-Excitation Networks (Hu et al., CVPR 2018)",
)
class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: GAP -> FC c -> c/r + ReLU -> FC c/r -> c -> sigmoid, scaling the channels.

    The two FC layers are 1x1 convolutions on the pooled 1x1 map (identical maths, no reshape in the graph,
    which keeps ONNX export free of frozen sizes).
    """

    def __init__(self, c: int, r: int = 4) -> None:
        super().__init__()
        check_positive("SE", c=c, r=r)
        if c // r < 1:
            raise ValueError(f"SE: c // r must be >= 1 (c={c}, r={r}); lower r")
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, c // r, 1)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(c // r, c, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))
