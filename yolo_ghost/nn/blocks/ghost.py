"""The Ghost family (GhostNet: More Features from Cheap Operations, Han et al., CVPR 2020).

Many feature maps of a layer are near-copies of each other: compute a few "intrinsic" maps with an ordinary
conv, then make the rest ("ghosts") with cheap depthwise convs. YOLOv5's flavour (GhostConv, GhostBottleneck,
C3Ghost, DWConv) comes from the ultralytics package where it is identical; the paper's GhostModule and
bottleneck are written here, and so is ``C3k2Ghost``, YOLO11's C3k2 made of Ghost bottlenecks.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from ultralytics.nn.modules.block import C2f, C3Ghost
from ultralytics.nn.modules.block import GhostBottleneck as _GhostBottleneck
from ultralytics.nn.modules.conv import Conv, DWConv, GhostConv

from yolo_ghost.nn.blocks.attention import SqueezeExcite
from yolo_ghost.nn.blocks.csp import MODERN_HEAD, c3k_at_large_scales
from yolo_ghost.nn.blocks.helpers import check_positive, check_stride
from yolo_ghost.nn.registry import register_block

register_block(
    "GhostConv",
    signature="[c2, k=1, s=1, g=1, act=True]",
    paper="GhostNet (Han et al. 2020), YOLOv5 flavour: Conv to c2/2, plus a 5x5 depthwise Conv of it",
    examples=((16, [32, 1, 1], 1), (16, [32, 3, 2], 2)),
)(GhostConv)
register_block(
    "DWConv",
    signature="[c2, k=1, s=1, d=1, act=True]",
    paper="YOLOv5's depthwise Conv: groups = gcd(c1, c2), truly depthwise when c1 == c2 (MobileNet, Howard 2017)",
    examples=((16, [16, 3, 1], 1), (16, [16, 3, 2], 2), (16, [32, 5, 1], 1)),
)(DWConv)
register_block(
    "C3Ghost",
    repeat="arg",
    signature="[c2, shortcut=True, g=1, e=0.5]",
    paper="C3 with GhostBottlenecks inside (GhostNet + CSPNet), YOLOv5 flavour",
)(C3Ghost)


@register_block(
    signature="[c2, k=3, s=1]",
    paper="GhostNet bottleneck, YOLOv5 flavour (Han et al. 2020)",
    examples=((32, [32], 1), (16, [32], 1), (16, [32, 3, 2], 2)),
)
class GhostBottleneck(_GhostBottleneck):
    """YOLOv5's GhostBottleneck: GhostConv -> [DW k x k, stride 2] -> GhostConv (linear), plus a shortcut.

    The shortcut is the identity when ``s == 1`` and ``c1 == c2``; otherwise DW k x k (stride s) -> 1x1 Conv, as
    in GhostNet's own code. YOLOv5 only defines the identity at stride 1, which breaks when a stack changes width
    (its first block maps c1 -> c2); the projection makes ``[-1, 3, GhostBottleneck, [512]]`` valid after a Concat.
    """

    def __init__(self, c1: int, c2: int, k: int = 3, s: int = 1) -> None:
        check_positive("GhostBottleneck", c1=c1, c2=c2, k=k)
        check_stride("GhostBottleneck", s)
        if c2 < 2:
            raise ValueError(f"GhostBottleneck: c2 must be >= 2 (it is split in halves), got {c2}")
        super().__init__(c1, c2, k, s)
        if s == 1 and c1 != c2:
            self.shortcut = nn.Sequential(DWConv(c1, c1, k, 1, act=False), Conv(c1, c2, 1, 1, act=False))


@register_block(
    signature="[c2, k=1, ratio=2, dw=3, s=1, act=True]",
    paper="GhostNet's Ghost module (Han et al. 2020): k x k conv for intrinsic maps, dw x dw depthwise for ghosts",
    examples=((16, [32], 1), (16, [30, 3, 3, 3, 1], 1), (16, [32, 1, 2, 3, 2], 2)),
)
class GhostModule(nn.Module):
    """The paper's Ghost module: ``ceil(c2 / ratio)`` intrinsic maps, the rest made by depthwise convs.

    ``init = ceil(c2 / ratio)`` channels come from a k x k Conv (+BN, +ReLU when ``act``), then
    ``init * (ratio - 1)`` ghosts from a ``dw x dw`` depthwise Conv on them; the concat is cut to ``c2``. The
    theoretical speed-up over a plain k x k conv is about ``ratio`` (the paper finds ratio 2, dw 3 best). ReLU is
    the paper's activation and is kept regardless of the YAML's default activation.
    """

    def __init__(self, c1: int, c2: int, k: int = 1, ratio: int = 2, dw: int = 3, s: int = 1, act: bool = True) -> None:
        super().__init__()
        check_positive("GhostModule", c1=c1, c2=c2, k=k, dw=dw)
        check_stride("GhostModule", s)
        if not isinstance(ratio, int) or ratio < 2:
            raise ValueError(f"GhostModule: ratio must be an integer >= 2, got {ratio!r}")
        if dw % 2 == 0:
            raise ValueError(f"GhostModule: dw must be odd so the ghost maps keep their size, got {dw}")
        self.c2 = c2
        init = math.ceil(c2 / ratio)
        a = nn.ReLU(inplace=True) if act else False
        self.primary = Conv(c1, init, k, s, act=a)
        self.cheap = Conv(init, init * (ratio - 1), dw, 1, g=init, act=a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.primary(x)
        return torch.cat((y, self.cheap(y)), 1)[:, : self.c2]


@register_block(
    width_args=(0, 1),
    signature="[c2, mid=None, k=3, s=1, se=False]",
    paper="GhostNet bottleneck as in the paper (Han et al. 2020), optional SE",
    examples=((16, [16], 1), (16, [32, 48, 3, 1, True], 1), (16, [32, 48, 3, 2], 2)),
)
class GhostNetBottleneck(nn.Module):
    """The GhostNet paper's bottleneck: GhostModule expansion (ReLU) -> DW stride 2 (when s == 2) -> optional SE
    -> GhostModule projection (linear), plus a shortcut.

    ``mid`` is the expansion width (GhostNet uses 1x-6x its input; default 3 x c1 here). The shortcut is the
    identity when shapes match, else DW k x k (stride s) -> 1x1 Conv, as in GhostNet's code. ``se`` enables
    squeeze-and-excitation (r = 4) on the expanded features.
    """

    def __init__(self, c1: int, c2: int, mid: int | None = None, k: int = 3, s: int = 1, se: bool = False) -> None:
        super().__init__()
        mid = 3 * c1 if mid is None else mid
        check_positive("GhostNetBottleneck", c1=c1, c2=c2, mid=mid, k=k)
        check_stride("GhostNetBottleneck", s)
        self.ghost1 = GhostModule(c1, mid, act=True)
        self.dw = Conv(mid, mid, k, s, g=mid, act=False) if s == 2 else nn.Identity()
        self.se = SqueezeExcite(mid, 4) if se else nn.Identity()
        self.ghost2 = GhostModule(mid, c2, act=False)
        self.shortcut = (
            nn.Identity()
            if s == 1 and c1 == c2
            else nn.Sequential(Conv(c1, c1, k, s, g=c1, act=False), Conv(c1, c2, 1, 1, act=False))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ghost2(self.se(self.dw(self.ghost1(x)))) + self.shortcut(x)


@register_block(
    repeat="arg",
    signature="[c2, c3k=False, e=0.5]",
    paper="YOLO11's C3k2 with GhostNet bottlenecks inside (GhostNet, Han 2020; CSPNet; YOLOv8's C2f; YOLO11)",
    examples=((16, [32], 1), (16, [32, True, 0.25], 1)),
    scale_args=c3k_at_large_scales,
    sets=MODERN_HEAD,
)
class C3k2Ghost(C2f):
    """YOLO11's ``C3k2`` whose inner units are Ghost bottlenecks.

    Lineage: the CSP split of CSPNet (Wang et al. 2020) in the form of YOLOv8's C2f, which concatenates the output
    of every inner unit (ELAN's gradient paths, YOLOv7); YOLO11's C3k2, which at the m/l/x scales replaces each
    inner bottleneck by a small C3 of two bottlenecks (C3k); and GhostNet's bottleneck (Han et al., CVPR 2020) as
    YOLOv5 defines it (GhostConv 1x1 -> GhostConv 1x1 linear, plus the input), which makes half of every inner
    conv's maps by a 5x5 depthwise conv. The split is kept as in C3k2 (cv1 to ``2 * c2 * e``, cv2 fusing the
    ``2 + n`` parts): only the ``n`` inner units change, GhostBottleneck in place of Bottleneck and C3Ghost
    (two GhostBottlenecks) in place of C3k, so YOLO11's depth, widths and scale rule (C3k units at m/l/x) carry
    over unchanged. The inner units are always residual, as GhostNet's stride-1 bottleneck is.
    """

    def __init__(self, c1: int, c2: int, n: int = 1, c3k: bool = False, e: float = 0.5) -> None:
        check_positive("C3k2Ghost", c1=c1, c2=c2, n=n, e=e)
        super().__init__(c1, c2, n, False, 1, e)
        c = self.c
        if c < 2:
            raise ValueError(f"C3k2Ghost: c2 * e must be >= 2 (the Ghost convs split it), got {c}")
        self.m = nn.ModuleList(C3Ghost(c, c, 2) if c3k else GhostBottleneck(c, c) for _ in range(n))
