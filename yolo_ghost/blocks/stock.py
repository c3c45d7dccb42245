"""The stock YOLOv5 blocks (v1-v7.0), the baseline every lightweight block is compared with.

Where the ultralytics package has a block identical to YOLOv5's, it is registered as is; the three that differ
there (Bottleneck and BottleneckCSP use a 3x3 first conv, SPPF leaves its first conv unactivated since YOLO26) are
thin subclasses restoring YOLOv5's definition, so parameter counts match the published YOLOv5 models.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from ultralytics.nn.modules.block import C3, SPP
from ultralytics.nn.modules.block import SPPF as _SPPF
from ultralytics.nn.modules.block import Bottleneck as _Bottleneck
from ultralytics.nn.modules.conv import Concat, Conv, Focus

from yolo_ghost.fuse import fold_bn
from yolo_ghost.registry import register_block

register_block(
    "Conv",
    signature="[c2, k=1, s=1, p=None, g=1, d=1, act=True]",
    paper="Conv2d + BatchNorm + SiLU, YOLOv5's basic unit",
    examples=((16, [32, 3, 1], 1), (16, [32, 3, 2], 2), (16, [32, 6, 2, 2], 2)),
)(Conv)
register_block(
    "C3",
    repeat="arg",
    signature="[c2, shortcut=True, g=1, e=0.5]",
    paper="CSP bottleneck with 3 convs (YOLOv5 v4+; CSPNet, Wang et al. 2020)",
)(C3)
register_block(
    "SPP",
    signature="[c2, k=(5, 9, 13)]",
    paper="Spatial pyramid pooling (He et al. 2015), YOLOv5 v1-v5",
)(SPP)
register_block(
    "Focus",
    signature="[c2, k=1, s=1, p=None, g=1, act=True]",
    paper="Space-to-depth stem of YOLOv5 v1-v5: four pixel-phase slices concatenated, then a Conv",
    examples=((3, [32, 3], 2),),
)(Focus)
register_block(
    "Concat",
    inputs="none",
    out="sum",
    signature="[dimension=1]",
    paper="Concatenate the inputs along the channel dimension",
    examples=(([16, 8], [1], 1),),
)(Concat)


@register_block(signature="[c2, shortcut=True, g=1, e=0.5]")
class Bottleneck(_Bottleneck):
    """YOLOv5's residual bottleneck: 1x1 Conv -> 3x3 Conv, plus the input when shortcut and c1 == c2 (ResNet)."""

    def __init__(self, c1: int, c2: int, shortcut: bool = True, g: int = 1, e: float = 0.5) -> None:
        super().__init__(c1, c2, shortcut, g, k=(1, 3), e=e)


@register_block(repeat="arg", signature="[c2, shortcut=True, g=1, e=0.5]")
class BottleneckCSP(nn.Module):
    """The CSP bottleneck of YOLOv5 v1-v3 (CSPNet, Wang et al. 2020).

    cv1 -> n Bottlenecks -> cv3 (plain 1x1) and cv2 (plain 1x1 on the input) are concatenated, normalised by one
    BatchNorm with LeakyReLU(0.1) as in YOLOv5 v3.1, then fused by cv4.
    """

    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1, e: float = 0.5) -> None:
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = nn.Conv2d(c1, c_, 1, 1, bias=False)
        self.cv3 = nn.Conv2d(c_, c_, 1, 1, bias=False)
        self.cv4 = Conv(2 * c_, c2, 1, 1)
        self.bn = nn.BatchNorm2d(2 * c_)
        self.act = nn.LeakyReLU(0.1, inplace=True)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, e=1.0) for _ in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y1 = self.cv3(self.m(self.cv1(x)))
        y2 = self.cv2(x)
        return self.cv4(self.act(self.bn(torch.cat((y1, y2), 1))))

    @torch.no_grad()
    def fuse_bn(self) -> None:
        """Fold the BatchNorm of the concatenation into cv3 (first half) and cv2 (second half)."""
        if isinstance(self.bn, nn.Identity):
            return
        c_ = self.cv3.out_channels
        halves = []
        for sl in (slice(0, c_), slice(c_, 2 * c_)):
            bn = nn.BatchNorm2d(c_).to(self.bn.weight.device)
            bn.eval()
            bn.weight.copy_(self.bn.weight[sl])
            bn.bias.copy_(self.bn.bias[sl])
            bn.running_mean.copy_(self.bn.running_mean[sl])
            bn.running_var.copy_(self.bn.running_var[sl])
            bn.eps = self.bn.eps
            halves.append(bn)
        self.cv3 = fold_bn(self.cv3, halves[0])
        self.cv2 = fold_bn(self.cv2, halves[1])
        self.bn = nn.Identity()


@register_block(signature="[c2, k=5]")
class SPPF(_SPPF):
    """Spatial pyramid pooling, fast (YOLOv5 v6.0+): three chained k x k max-pools, equal to SPP(5, 9, 13).

    YOLOv5 activates the first 1x1 conv; the ultralytics class no longer does by default, so it is restored here.
    """

    def __init__(self, c1: int, c2: int, k: int = 5) -> None:
        super().__init__(c1, c2, k)
        self.cv1.act = Conv.default_act  # honours a YAML `activation:` set while the model is built


def _register_torch_layers() -> None:
    """torch.nn layers that YOLOv5 YAMLs name directly; they keep the channel count of their input."""
    register_block(
        "nn.Upsample",
        inputs="none",
        out="same",
        signature="[size=None, scale_factor=2, mode='nearest']",
        paper="torch.nn.Upsample",
        examples=((16, [None, 2, "nearest"], 0.5),),
    )(nn.Upsample)
    register_block("nn.BatchNorm2d", inputs="single", out="same", signature="[]", paper="torch.nn.BatchNorm2d")(
        nn.BatchNorm2d
    )


_register_torch_layers()
