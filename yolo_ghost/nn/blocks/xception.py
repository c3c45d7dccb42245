"""Xception's residual block of depthwise separable convs (Chollet, "Xception: Deep Learning with Depthwise Separable
Convolutions", CVPR 2017)."""

from __future__ import annotations

import torch
import torch.nn as nn
from ultralytics.nn.modules.conv import Conv

from yolo_ghost.nn.blocks.helpers import check_positive, check_stride
from yolo_ghost.nn.registry import register_block


class SeparableConv(nn.Module):
    """Xception's separable conv: DW k x k -> 1x1 pointwise conv + BN, with no BN or activation between the two
    (the paper found an intermediate non-linearity hurts). ``SeparableConv(c1, c2, k=3)``."""

    def __init__(self, c1: int, c2: int, k: int = 3) -> None:
        super().__init__()
        self.dw = nn.Conv2d(c1, c1, k, 1, k // 2, groups=c1, bias=False)
        self.pw = Conv(c1, c2, 1, 1, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))


@register_block(
    "XceptionBlock",
    signature="[c2, s=1, reps=3]",
    paper="Xception residual block of separable convs (Chollet, CVPR 2017)",
    examples=((32, [32], 1), (32, [64, 2, 2], 2), (32, [48, 1, 1], 1)),
)
class XceptionBlock(nn.Module):
    """``reps`` x (ReLU -> SeparableConv 3x3 -> BN), then MaxPool 3x3 stride 2 when ``s == 2``, plus the shortcut.

    With ``s == 1`` and ``c1 == c2`` (the paper's middle flow: ``reps=3``, identity shortcut) the block adds its
    input; otherwise the shortcut is a 1x1 Conv (stride s) + BN, as in the entry and exit flows (``reps=2``, s=2).
    The first separable conv changes the width (c1 -> c2), the others keep it. Every block starts with ReLU as in
    the middle flow; the paper's first entry block skips it, which changes nothing when the layer before it ends in
    ReLU, as the Xception stem does. Fusion folds each BN into its pointwise conv.
    """

    def __init__(self, c1: int, c2: int, s: int = 1, reps: int = 3) -> None:
        super().__init__()
        check_positive("XceptionBlock", c1=c1, c2=c2, reps=reps)
        check_stride("XceptionBlock", s)
        if not isinstance(reps, int):
            raise ValueError(f"XceptionBlock: reps must be an integer >= 1, got {reps!r}")
        layers: list[nn.Module] = []
        for i in range(reps):  # the first ReLU must not be in place: the shortcut still reads x
            layers += [nn.ReLU(inplace=i > 0), SeparableConv(c1 if i == 0 else c2, c2)]
        if s == 2:
            layers.append(nn.MaxPool2d(3, 2, 1))
        self.m = nn.Sequential(*layers)
        self.shortcut = nn.Identity() if s == 1 and c1 == c2 else Conv(c1, c2, 1, s, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.m(x) + self.shortcut(x)
