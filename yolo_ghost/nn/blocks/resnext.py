"""ResNeXt's aggregated-residual bottleneck (Xie et al., "Aggregated Residual Transformations for Deep Neural
Networks", CVPR 2017): a ResNet bottleneck whose 3x3 conv is split into ``cardinality`` groups.

The paper's ReLU is passed explicitly, so the YAML's default activation never changes the block.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from ultralytics.nn.modules.conv import Conv

from yolo_ghost.nn.blocks.helpers import check_positive, check_stride
from yolo_ghost.nn.registry import register_block


@register_block(
    "ResNeXtBottleneck",
    signature="[c2, s=1, cardinality=32, width=4]",
    paper="ResNeXt bottleneck with grouped 3x3 conv (Xie et al., CVPR 2017)",
    examples=((64, [64], 1), (64, [128, 2], 2), (32, [64, 1, 8, 16], 1), (128, [128, 1, 1, 64], 1)),
)
class ResNeXtBottleneck(nn.Module):
    """ResNeXt block (template "C x d"): 1x1 Conv c1 -> D + BN + ReLU -> 3x3 group conv (``cardinality`` groups,
    stride s) + BN + ReLU -> 1x1 Conv D -> c2 + BN, plus the shortcut, then ReLU.

    ``width`` is the paper's bottleneck width d per group for a block of 256 output channels, so the bottleneck is
    ``D = cardinality * (c2 * width // 256)``, torchvision's rule (``resnext50_32x4d``: cardinality 32, width 4,
    D = 128 for c2 = 256, and twice that per doubling of c2). The shortcut is the identity when ``s == 1`` and
    ``c1 == c2``, otherwise a 1x1 Conv (stride s) + BN, ResNet's projection shortcut. The stride sits on the 3x3
    conv, as in the paper's Torch code and torchvision.
    """

    def __init__(self, c1: int, c2: int, s: int = 1, cardinality: int = 32, width: int = 4) -> None:
        super().__init__()
        name = type(self).__name__
        check_positive(name, c1=c1, c2=c2, cardinality=cardinality, width=width)
        check_stride(name, s)
        if not isinstance(cardinality, int) or not isinstance(width, int):
            raise ValueError(f"{name}: cardinality and width must be integers, got {cardinality!r}, {width!r}")
        group = c2 * width // 256
        if group < 1:
            raise ValueError(
                f"{name}: each of the {cardinality} groups would be c2 * width // 256 = {c2} * {width} // 256 = 0 "
                f"channels wide; use width >= {-(-256 // c2)} or a wider c2"
            )
        c_ = cardinality * group
        relu = nn.ReLU(inplace=True)
        self.cv1 = Conv(c1, c_, 1, 1, act=relu)
        self.cv2 = Conv(c_, c_, 3, s, g=cardinality, act=relu)
        self.cv3 = Conv(c_, c2, 1, 1, act=False)
        self.shortcut = nn.Identity() if s == 1 and c1 == c2 else Conv(c1, c2, 1, s, act=False)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.cv3(self.cv2(self.cv1(x))) + self.shortcut(x))
