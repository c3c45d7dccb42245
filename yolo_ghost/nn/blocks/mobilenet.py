"""The MobileNet blocks: V1's depthwise separable conv (Howard et al. 2017) and V2's inverted residual (Sandler et
al., CVPR 2018). The papers' activations (ReLU, ReLU6) are passed explicitly, independent of the YAML default."""

from __future__ import annotations

import torch
import torch.nn as nn
from ultralytics.nn.modules.conv import Conv

from yolo_ghost.nn.blocks.helpers import check_positive, check_stride
from yolo_ghost.nn.registry import register_block


@register_block(
    "DWSConv",
    signature="[c2, k=3, s=1]",
    paper="Depthwise separable conv of MobileNet V1 (Howard et al. 2017)",
    examples=((16, [32], 1), (16, [32, 3, 2], 2), (16, [24, 5, 1], 1)),
)
class DepthwiseSeparableConv(nn.Module):
    """MobileNet V1's unit: DW k x k (stride s) + BN + ReLU -> 1x1 Conv + BN + ReLU."""

    def __init__(self, c1: int, c2: int, k: int = 3, s: int = 1) -> None:
        super().__init__()
        check_positive("DWSConv", c1=c1, c2=c2, k=k)
        check_stride("DWSConv", s)
        if k % 2 == 0:
            raise ValueError(f"DWSConv: kernel k must be odd so 'same' padding keeps the size, got {k}")
        self.dw = Conv(c1, c1, k, s, g=c1, act=nn.ReLU(inplace=True))
        self.pw = Conv(c1, c2, 1, 1, act=nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))


@register_block(
    signature="[c2, s=1, t=6]",
    paper="MobileNetV2 inverted residual (Sandler et al., CVPR 2018)",
    examples=((16, [16], 1), (16, [24, 2], 2), (16, [24, 1, 1], 1)),
)
class InvertedResidual(nn.Module):
    """MobileNet V2's block: 1x1 expand to ``t * c1`` + ReLU6 -> DW 3x3 (stride s) + ReLU6 -> 1x1 linear projection.

    The expansion is skipped when ``t == 1`` (as in the paper's first block); the input is added when ``s == 1``
    and ``c1 == c2``.
    """

    def __init__(self, c1: int, c2: int, s: int = 1, t: int = 6) -> None:
        super().__init__()
        check_positive("InvertedResidual", c1=c1, c2=c2)
        check_stride("InvertedResidual", s)
        if not isinstance(t, int) or t < 1:
            raise ValueError(f"InvertedResidual: expansion t must be an integer >= 1, got {t!r}")
        c_ = c1 * t
        self.expand = Conv(c1, c_, 1, 1, act=nn.ReLU6(inplace=True)) if t > 1 else nn.Identity()
        self.dw = Conv(c_, c_, 3, s, g=c_, act=nn.ReLU6(inplace=True))
        self.project = Conv(c_, c2, 1, 1, act=False)
        self.add = s == 1 and c1 == c2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.dw(self.expand(x)))
        return x + y if self.add else y
