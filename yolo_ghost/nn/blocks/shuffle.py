"""The ShuffleNet family: channel shuffle, the V1 unit (Zhang et al., CVPR 2018), the V2 block (Ma et al., ECCV 2018)
and the V2 variants a practitioner compared (se, sk, liteconv, k5, csp).

Every conv is an ultralytics ``Conv`` unit (conv + BN [+ act]) so ``yolo_ghost.nn.fuse.fuse_model`` folds every
BatchNorm. The papers' ReLU is passed explicitly, so the YAML's default activation never changes these blocks.

ShuffleNet widths (116, 232, 464, 200, 272, ...) are not multiples of 8, so the blocks here are registered with
``width_args=()``: their widths are used exactly as written and do not scale with ``width_multiple`` (YOLOv5 rounds
every scaled width up to a multiple of 8, which would turn 116 into 120 and break the published layouts).
"""

from __future__ import annotations

import torch
import torch.nn as nn
from ultralytics.nn.modules.conv import Conv

from yolo_ghost.nn.blocks.attention import SqueezeExcite
from yolo_ghost.nn.blocks.helpers import check_positive, check_stride
from yolo_ghost.nn.blocks.selective_kernel import SelectiveKernel
from yolo_ghost.nn.registry import register_block


def channel_shuffle(x: torch.Tensor, g: int) -> torch.Tensor:
    """Permute channels so each of the ``g`` groups feeds every group of the next grouped conv (ShuffleNet V1).

    Channels viewed as ``(g, c/g)`` are transposed to ``(c/g, g)`` and flattened. Only the channel dimension is
    reshaped (``unflatten``/``flatten``), so no batch or spatial size is frozen into an exported graph. A second
    shuffle with ``c // g`` groups undoes it.
    """
    c = x.shape[1]
    if not torch.jit.is_tracing() and c % g:  # while tracing, c is a traced value; the layer checked it at build
        raise ValueError(f"channel_shuffle: {c} channels cannot be split into {g} groups; use a divisor of {c}")
    return x.unflatten(1, (g, c // g)).transpose(1, 2).flatten(1, 2)


@register_block(
    "ChannelShuffle",
    out="same",
    width_args=(),
    signature="[g=2]",
    paper="Channel shuffle of ShuffleNet V1 (Zhang et al., CVPR 2018)",
    examples=((12, [3], 1), (16, [], 1)),
)
class ChannelShuffle(nn.Module):
    """``channel_shuffle`` as a layer: ``ChannelShuffle(c, g=2)``; ``c`` must be divisible by ``g``."""

    def __init__(self, c: int, g: int = 2) -> None:
        super().__init__()
        check_positive("ChannelShuffle", c=c, g=g)
        if c % g:
            raise ValueError(f"ChannelShuffle: {c} input channels are not divisible by g={g}; pick g dividing {c}")
        self.g = g

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_shuffle(x, self.g)


def _relu() -> nn.Module:
    return nn.ReLU(inplace=True)


@register_block(
    width_args=(),
    signature="[c2, s=1, g=3, group_in=True]",
    paper="ShuffleNet V1 unit (Zhang et al., CVPR 2018)",
    examples=((24, [240, 2, 3, False], 2), (48, [48, 1, 3], 1), (48, [96, 2, 2], 2)),
)
class ShuffleV1Unit(nn.Module):
    """ShuffleNet V1 unit: 1x1 group conv + BN + ReLU -> shuffle(g) -> DW 3x3 (stride s) + BN -> 1x1 group conv + BN.

    ``s == 1``: ``ReLU(x + branch(x))`` with ``c1 == c2``. ``s == 2``: the branch makes ``c2 - c1`` channels and is
    concatenated with ``AvgPool 3x3 s2`` of the input, then ReLU. The bottleneck width is ``c2 // 4``.
    ``group_in=False`` makes the first 1x1 conv ungrouped, as the paper does for the first unit after the stem
    (its 24 input channels are too few to group).
    """

    def __init__(self, c1: int, c2: int, s: int = 1, g: int = 3, group_in: bool = True) -> None:
        super().__init__()
        check_positive("ShuffleV1Unit", c1=c1, c2=c2, g=g)
        check_stride("ShuffleV1Unit", s)
        if s == 1 and c1 != c2:
            raise ValueError(f"ShuffleV1Unit: a stride-1 unit adds its input, so c2 must equal c1={c1}, got {c2}")
        c_out = c2 - c1 if s == 2 else c2
        if c_out <= 0:
            raise ValueError(f"ShuffleV1Unit: a stride-2 unit concatenates its input, so c2 must exceed c1={c1}")
        mid = c2 // 4
        g_in = g if group_in else 1
        for what, v, gg in (("c1", c1, g_in), ("c2 // 4", mid, g), ("the branch width", c_out, g)):
            if v % gg:
                raise ValueError(
                    f"ShuffleV1Unit: {what} = {v} is not divisible by g={gg}; choose widths divisible by g"
                )
        self.s, self.g = s, g
        self.pw1 = Conv(c1, mid, 1, 1, g=g_in, act=_relu())
        self.dw = Conv(mid, mid, 3, s, g=mid, act=False)
        self.pw2 = Conv(mid, c_out, 1, 1, g=g, act=False)
        self.pool = nn.AvgPool2d(3, 2, 1) if s == 2 else nn.Identity()
        self.act = _relu()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pw2(self.dw(channel_shuffle(self.pw1(x), self.g)))
        return self.act(torch.cat((self.pool(x), y), 1) if self.s == 2 else x + y)


class ShuffleV2Block(nn.Module):
    """ShuffleNet V2 block (Ma et al., ECCV 2018), with the variants as keyword options.

    ``s == 1`` (``c1 == c2``): split the channels in halves ``x1, x2``; ``out = shuffle(cat(x1, branch(x2)), 2)``
    where ``branch = 1x1 Conv + BN + ReLU -> DW k x k + BN -> 1x1 Conv + BN + ReLU``. ``s == 2``: the left path is
    ``DW k x k s2 + BN -> 1x1 Conv + BN + ReLU`` (c1 -> c2/2), the right one the branch on the whole input with its
    DW at stride 2 (-> c2/2). Options (each registered as its own YAML name below):

    - ``k=5``: every depthwise conv is 5x5 (padding 2).
    - ``se=True``: squeeze-and-excitation (r = 4) on the branch output, before the concat.
    - ``sk=True``: the branch's depthwise stage is a selective-kernel unit (DW 3x3 dilation 1 and 2) whose squeeze
      FC has ``d = max(c // sk_r, 32)`` units.
    - ``lite=True``: the branch's last 1x1 conv (the one after the depthwise conv) is dropped, so the branch is
      ``1x1 Conv + BN + ReLU -> DW k x k + BN``. The first 1x1 still mixes the channels before the DW, and the next
      block's first 1x1 (after the shuffle) mixes the DW output. Dropping the 1x1 *after* the DW rather than the one
      before keeps the stride-2 DW on ``c2 / 2`` channels instead of all ``c1`` full-resolution input channels,
      which is what gives the liteconv variant's published compute (about 70% of the baseline's).
    """

    def __init__(
        self,
        c1: int,
        c2: int,
        s: int = 1,
        k: int = 3,
        se: bool = False,
        sk: bool = False,
        lite: bool = False,
        sk_r: int = 4,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_positive(name, c1=c1, c2=c2)
        check_stride(name, s)
        if k not in (3, 5):
            raise ValueError(f"{name}: depthwise kernel k must be 3 or 5, got {k}")
        if c2 % 2:
            raise ValueError(f"{name}: c2 must be even (the output is two halves), got {c2}")
        if s == 1 and c1 != c2:
            raise ValueError(
                f"{name}: a stride-1 block keeps its width, so c2 must equal c1={c1} (got {c2}); "
                "use s=2 for the first block of a stage that changes width"
            )
        self.s = s
        c_ = c2 // 2
        c_in = c1 if s == 2 else c_
        if s == 2:
            self.left = nn.Sequential(Conv(c1, c1, k, 2, g=c1, act=False), Conv(c1, c_, 1, 1, act=_relu()))
        self.pw1 = Conv(c_in, c_, 1, 1, act=_relu())
        self.dw = SelectiveKernel(c_, s, r=sk_r) if sk else Conv(c_, c_, k, s, g=c_, act=False)
        self.pw2 = nn.Identity() if lite else Conv(c_, c_, 1, 1, act=_relu())
        self.se = SqueezeExcite(c_, 4) if se else nn.Identity()

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        """The main (right) branch."""
        return self.se(self.pw2(self.dw(self.pw1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.s == 1:
            x1, x2 = x.chunk(2, 1)
            return channel_shuffle(torch.cat((x1, self.branch(x2)), 1), 2)
        return channel_shuffle(torch.cat((self.left(x), self.branch(x)), 1), 2)


_V2_KW = dict(width_args=(), signature="[c2, s=1]", examples=((24, [116, 2], 2), (48, [48, 1], 1)))
register_block(
    "ShuffleV2Block",
    paper="ShuffleNet V2 block (Ma et al., ECCV 2018)",
    **{**_V2_KW, "signature": "[c2, s=1, k=3, se=False, sk=False, lite=False, sk_r=4]"},
)(ShuffleV2Block)


@register_block(paper="ShuffleNet V2 block with SE on the branch (Ma et al. 2018; Hu et al. 2018)", **_V2_KW)
class ShuffleV2SE(ShuffleV2Block):
    """ShuffleNet V2 block with squeeze-and-excitation (r = 4) on the branch output."""

    def __init__(self, c1: int, c2: int, s: int = 1) -> None:
        super().__init__(c1, c2, s, se=True)


@register_block(
    paper="ShuffleNet V2 block with a selective-kernel depthwise stage (Ma 2018; Li et al. 2019)",
    **{**_V2_KW, "signature": "[c2, s=1, r=4]", "examples": (*_V2_KW["examples"], (48, [48, 1, 2], 1))},
)
class ShuffleV2SK(ShuffleV2Block):
    """ShuffleNet V2 block whose depthwise stage is selective-kernel (DW 3x3, dilations 1 and 2, softmax fusion).

    ``r`` is SK's reduction ratio: the attention's squeeze FC has ``d = max(c // r, 32)`` units (``L = 32``). The
    default is 4, not the 2 of the practitioner study's code snippet: the snippet's r = 2 gives ShuffleNet V2 1.0x
    far more parameters than the study's own table, which r = 4 reproduces (``tests/test_variants.py``; figures in
    the README). ``r=2`` as the third YAML arg builds the snippet's version.
    """

    def __init__(self, c1: int, c2: int, s: int = 1, r: int = 4) -> None:
        super().__init__(c1, c2, s, sk=True, sk_r=r)


@register_block(paper="ShuffleNet V2 block without the branch's 1x1 conv after the DW (liteconv variant)", **_V2_KW)
class ShuffleV2Lite(ShuffleV2Block):
    """ShuffleNet V2 block with one 1x1 conv in the branch (1x1 -> DW): about 30% fewer FLOPs."""

    def __init__(self, c1: int, c2: int, s: int = 1) -> None:
        super().__init__(c1, c2, s, lite=True)


@register_block(paper="ShuffleNet V2 block with 5x5 depthwise convs (k5 variant)", **_V2_KW)
class ShuffleV2K5(ShuffleV2Block):
    """ShuffleNet V2 block with every depthwise conv 5x5 (padding 2): about 5% more FLOPs."""

    def __init__(self, c1: int, c2: int, s: int = 1) -> None:
        super().__init__(c1, c2, s, k=5)


@register_block(
    repeat="arg",
    width_args=(),
    signature="[c2, s=2]  (n = blocks in the stage)",
    paper="Cross-stage-partial ShuffleNet V2 stage (Ma et al. 2018; CSPNet, Wang et al. 2020)",
    examples=((24, [116, 2], 2), (48, [48, 1], 1)),
)
class ShuffleV2CSPStage(nn.Module):
    """A ShuffleNet V2 stage of ``n`` blocks made cross-stage partial (the csp variant).

    The stage's first block (stride ``s``) maps ``c1 -> c2`` as usual; its output is split in halves, one half runs
    through the other ``n - 1`` stride-1 blocks at width ``c2 / 2`` and then CSPNet's partial transition (a 1x1
    Conv + BN + ReLU, ``c2/2 -> c2/2``), the other goes straight to the stage end; the two are concatenated and
    channel-shuffled. Splitting after the stage's downsampling block, as CSPDarknet does, keeps both halves at the
    stage's resolution. The transition is the last module of ``m`` (the processed half's path), so ``forward`` is
    one expression for every ``n``. With ``n == 1`` there is nothing to split and the stage is the plain block.
    """

    def __init__(self, c1: int, c2: int, n: int = 1, s: int = 2) -> None:
        super().__init__()
        check_positive("ShuffleV2CSPStage", n=n)
        if n > 1 and c2 % 4:
            raise ValueError(f"ShuffleV2CSPStage: c2 must be divisible by 4 (halves of even width), got {c2}")
        self.down = ShuffleV2Block(c1, c2, s)
        c_ = c2 // 2
        blocks = [ShuffleV2Block(c_, c_, 1) for _ in range(n - 1)]
        self.m = nn.Sequential(*blocks, Conv(c_, c_, 1, 1, act=_relu())) if blocks else nn.Sequential()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.down(x)
        if not len(self.m):
            return y
        a, b = y.chunk(2, 1)
        return channel_shuffle(torch.cat((a, self.m(b)), 1), 2)
