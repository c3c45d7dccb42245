"""The stock YOLOv5 blocks (v1-v7.0), the baseline every lightweight block is compared with.

Where the ultralytics package has a block identical to YOLOv5's, it is registered as is. Two names mean another
block there: ultralytics' ``Bottleneck`` (and the ``BottleneckCSP`` made of it) uses a 3x3 first conv, YOLOv5's a
1x1. Both are registered, once per YAML dialect, so a YOLOv5-repository YAML gets YOLOv5's blocks (and the
published YOLOv5 parameter counts) and an ultralytics-package YAML (``v3/yolov3.yaml``) gets ultralytics' own.
``SPPF`` is one block for both: the row's arguments say whether its first conv is activated, as in ultralytics.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from ultralytics.nn.modules.block import C3, SPP
from ultralytics.nn.modules.block import SPPF as _SPPF
from ultralytics.nn.modules.block import Bottleneck as _Bottleneck
from ultralytics.nn.modules.block import BottleneckCSP as _BottleneckCSP
from ultralytics.nn.modules.conv import Concat, Conv, Focus

from yolo_ghost.nn.fuse import fold_bn
from yolo_ghost.nn.registry import register_block

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


@register_block(signature="[c2, shortcut=True, g=1, e=0.5]", dialect="yolov5")
class Bottleneck(_Bottleneck):
    """YOLOv5's residual bottleneck: 1x1 Conv -> 3x3 Conv, plus the input when shortcut and c1 == c2 (ResNet)."""

    def __init__(self, c1: int, c2: int, shortcut: bool = True, g: int = 1, e: float = 0.5) -> None:
        super().__init__(c1, c2, shortcut, g, k=(1, 3), e=e)


@register_block(repeat="arg", signature="[c2, shortcut=True, g=1, e=0.5]", dialect="yolov5")
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

    def fuse_bn(self) -> None:
        """Fold the BatchNorm of the concatenation into cv3 (first half) and cv2 (second half)."""
        fuse_concat_bn(self)


register_block(
    "Bottleneck",
    signature="[c2, shortcut=True, g=1, k=(3, 3), e=0.5]",
    paper="ultralytics' residual bottleneck: 3x3 Conv -> 3x3 Conv (k=(3, 3)), plus the input (ResNet)",
    dialect="ultralytics",
    examples=((16, [16], 1), (16, [32, False], 1)),
)(_Bottleneck)


@torch.no_grad()
def fuse_concat_bn(csp: nn.Module) -> None:
    """Fold a CSP block's BatchNorm of ``cat(cv3(.), cv2(.))`` into cv3 (first half) and cv2 (second half)."""
    if isinstance(csp.bn, nn.Identity):
        return
    c_ = csp.cv3.out_channels
    halves = []
    for sl in (slice(0, c_), slice(c_, 2 * c_)):
        bn = nn.BatchNorm2d(c_).to(csp.bn.weight.device)
        bn.eval()
        bn.weight.copy_(csp.bn.weight[sl])
        bn.bias.copy_(csp.bn.bias[sl])
        bn.running_mean.copy_(csp.bn.running_mean[sl])
        bn.running_var.copy_(csp.bn.running_var[sl])
        bn.eps = csp.bn.eps
        halves.append(bn)
    csp.cv3 = fold_bn(csp.cv3, halves[0])
    csp.cv2 = fold_bn(csp.cv2, halves[1])
    csp.bn = nn.Identity()


@register_block(
    "BottleneckCSP",
    repeat="arg",
    signature="[c2, shortcut=True, g=1, e=0.5]",
    paper="ultralytics' CSP bottleneck (CSPNet, Wang et al. 2020): 3x3 -> 3x3 Bottlenecks, BN + SiLU on the concat",
    dialect="ultralytics",
)
class UltralyticsBottleneckCSP(_BottleneckCSP):
    """ultralytics' ``BottleneckCSP`` unchanged (same layers and state_dict), plus the fusion of its concat BN."""

    def fuse_bn(self) -> None:
        """Fold the BatchNorm of the concatenation into cv3 and cv2."""
        fuse_concat_bn(self)


@register_block(
    signature="[c2, k=5, n=3, shortcut=False]",
    examples=((16, [32], 1), (16, [16, 5, 3, True], 1)),
)
class SPPF(_SPPF):
    """Spatial pyramid pooling, fast (YOLOv5 v6.0+): n chained k x k max-pools; k=5, n=3 equals SPP(5, 9, 13).

    YOLOv5 activates the first 1x1 conv; YOLO26 (which writes ``n`` and ``shortcut`` in its rows) does not. As in
    the ultralytics parser, a row that gives only ``[c2, k]`` gets the activated YOLOv5 form.
    """

    def __init__(self, c1: int, c2: int, k: int = 5, n: int | None = None, shortcut: bool | None = None) -> None:
        super().__init__(c1, c2, k, 3 if n is None else n, bool(shortcut))
        if n is None and shortcut is None:
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
    # As in YOLOv5 v7.0 and ultralytics: a transposed conv gets its input channels and a width-scaled output.
    register_block(
        "nn.ConvTranspose2d",
        signature="[c2, kernel_size, stride=1, padding=0]",
        paper="torch.nn.ConvTranspose2d (learned upsampling, YOLOv6's neck)",
        examples=((16, [8, 2, 2, 0], 0.5),),
    )(nn.ConvTranspose2d)


_register_torch_layers()
