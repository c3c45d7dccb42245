"""Selective-kernel attention (SKNet: Selective Kernel Networks, Li et al., CVPR 2019), depthwise flavour."""

from __future__ import annotations

import torch
import torch.nn as nn
from ultralytics.nn.modules.conv import Conv

from yolo_ghost.nn.blocks.helpers import check_positive, check_stride
from yolo_ghost.nn.registry import register_block


@register_block(
    "SK",
    out="same",
    width_args=(),
    signature="[s=1, r=2, d_min=32]",
    paper="Selective Kernel Networks (Li et al., CVPR 2019)",
    examples=((16, [], 1), (64, [1, 2, 16], 1), (32, [2], 2)),
)
class SelectiveKernel(nn.Module):
    """SK unit on depthwise convs: two DW 3x3 paths (dilation 1 and 2, stride ``s``), each + BN, fused by attention.

    ``U = U1 + U2``; ``s = GAP(U)``; ``z = ReLU(FC(c -> d))`` with ``d = max(c // r, d_min)``; ``a = softmax`` over the
    two paths of ``FC(d -> 2c)``; ``V = a1 * U1 + a2 * U2``. The FCs are 1x1 convs with bias on the pooled map and
    the squeeze FC has no BatchNorm (the paper's BN on a 1x1 map fails at batch 1 in training and cannot be folded
    into a conv); the attention path therefore holds no BatchNorm. Input and output width are both ``c``.
    """

    def __init__(self, c: int, s: int = 1, r: int = 2, d_min: int = 32) -> None:
        super().__init__()
        check_positive("SK", c=c, r=r, d_min=d_min)
        check_stride("SK", s)
        d = max(c // r, d_min)
        self.c = c
        self.path1 = Conv(c, c, 3, s, g=c, d=1, act=False)
        self.path2 = Conv(c, c, 3, s, g=c, d=2, act=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, d, 1)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(d, 2 * c, 1)

    def weights(self, u1: torch.Tensor, u2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-channel attention of the two paths, shaped (B, c, 1, 1) each; they sum to 1."""
        a1, a2 = self.fc2(self.act(self.fc1(self.pool(u1 + u2)))).chunk(2, 1)
        a = torch.stack((a1, a2)).softmax(0)
        return a[0], a[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u1, u2 = self.path1(x), self.path2(x)
        a1, a2 = self.weights(u1, u2)
        return a1 * u1 + a2 * u2
