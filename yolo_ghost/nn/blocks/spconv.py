"""SPConv (Split to be Slim: An Overlooked Redundancy in Vanilla Convolution, Zhang et al., IJCAI 2020) and the
YOLOv5 C3 whose bottlenecks use it.

Channels in one layer hold similar but not identical patterns, so only a representative part of the input gets
the heavy 3x3 conv; the redundant rest gets a cheap 1x1; a parameter-free attention fuses the two.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from ultralytics.nn.modules.block import C3
from ultralytics.nn.modules.conv import Conv

from yolo_ghost.nn.blocks.helpers import check_positive, check_stride
from yolo_ghost.nn.registry import register_block


@register_block(
    signature="[c2, s=1, ratio=0.5, act=True]",
    paper="Split to be Slim (SPConv, Zhang et al., IJCAI 2020)",
    examples=((16, [32], 1), (16, [32, 2], 2), (32, [16, 1, 0.25, False], 1)),
)
class SPConv(nn.Module):
    """A drop-in replacement for ``Conv(c1, c2, 3, s)``.

    The first ``int(ratio * c1)`` channels (representative) go through a 3x3 conv with 2 groups (stride ``s``) plus
    a 1x1 conv (after AvgPool 2x2 when ``s == 2``), summed, + BN; the rest (redundant) through (AvgPool 2x2 ->) 1x1
    conv + BN. Each result is global-average-pooled, a softmax across the two per channel gives the weights, and
    ``out = w1 * rep + w2 * red``, then the activation (``act=True``: the model's default, as in ``Conv``), which
    makes it a drop-in for a YOLOv5 Conv unit. The pooling uses ``ceil_mode`` so odd sizes match the 3x3 conv.
    """

    def __init__(self, c1: int, c2: int, s: int = 1, ratio: float = 0.5, act: bool | nn.Module = True) -> None:
        super().__init__()
        check_positive("SPConv", c1=c1, c2=c2)
        check_stride("SPConv", s)
        if not 0 < ratio < 1:
            raise ValueError(f"SPConv: ratio is the representative fraction of c1 and must be in (0, 1), got {ratio}")
        self.c_rep = int(c1 * ratio)
        if self.c_rep < 2 or self.c_rep % 2 or c2 % 2:
            raise ValueError(
                f"SPConv: int(ratio * c1) = {self.c_rep} and c2 = {c2} must be even and >= 2 (the 3x3 conv has 2 "
                f"groups); change c1 = {c1}, c2 or ratio = {ratio}"
            )
        self.gwc = nn.Conv2d(self.c_rep, c2, 3, s, 1, groups=2, bias=False)
        self.pwc = nn.Conv2d(self.c_rep, c2, 1, bias=False)
        self.bn_rep = nn.BatchNorm2d(c2)
        self.red = Conv(c1 - self.c_rep, c2, 1, 1, act=False)
        self.down = nn.AvgPool2d(2, 2, ceil_mode=True) if s == 2 else nn.Identity()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.act = Conv.default_act if act is True else act if isinstance(act, nn.Module) else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xr, xn = x[:, : self.c_rep], x[:, self.c_rep :]
        rep = self.bn_rep(self.gwc(xr) + self.pwc(self.down(xr)))
        red = self.red(self.down(xn))
        w = torch.stack((self.gap(rep), self.gap(red))).softmax(0)
        return self.act(w[0] * rep + w[1] * red)

    @torch.no_grad()
    def fuse_bn(self) -> None:
        """Fold ``bn_rep`` into both representative convs (BN is affine, so it distributes over their sum)."""
        bn = self.bn_rep
        if not isinstance(bn, nn.BatchNorm2d):
            return
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        shift = bn.bias - bn.running_mean * scale
        gwc = nn.Conv2d(self.gwc.in_channels, self.gwc.out_channels, 3, self.gwc.stride, 1, groups=2, bias=True)
        gwc.weight.copy_(self.gwc.weight * scale.view(-1, 1, 1, 1))
        gwc.bias.copy_(shift)
        self.pwc.weight.mul_(scale.view(-1, 1, 1, 1))
        self.gwc = gwc.to(self.pwc.weight.device)
        self.bn_rep = nn.Identity()


class SPConvBottleneck(nn.Module):
    """YOLOv5's Bottleneck (1x1 Conv -> 3x3 Conv, + input) with the 3x3 Conv replaced by an SPConv."""

    def __init__(self, c1: int, c2: int, shortcut: bool = True, e: float = 0.5) -> None:
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = SPConv(c_, c2, 1)
        self.add = shortcut and c1 == c2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


@register_block(
    repeat="arg",
    signature="[c2, shortcut=True, g=1, e=0.5]",
    paper="C3 (YOLOv5) with SPConv bottlenecks (Zhang et al., IJCAI 2020)",
    examples=((16, [32], 1), (32, [32, False], 1)),
)
class C3SPConv(C3):
    """YOLOv5's C3 whose inner bottlenecks' 3x3 Conv is an SPConv; ``g`` is accepted for YAML compatibility with
    C3 and must be 1 (SPConv fixes its own grouping)."""

    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1, e: float = 0.5) -> None:
        if g != 1:
            raise ValueError(f"C3SPConv: g must be 1 (SPConv sets its own groups), got {g}")
        super().__init__(c1, c2, n, shortcut, g, e)
        c_ = int(c2 * e)
        self.m = nn.Sequential(*(SPConvBottleneck(c_, c_, shortcut, e=1.0) for _ in range(n)))
