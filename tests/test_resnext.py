"""ResNeXt's grouped bottleneck: the same block as torchvision's ResNeXt, its width rule, errors and its config.

Shapes, backward and fusion of every registered example are covered by test_blocks.py; the shipped config by
test_configs.py.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torchvision
import yaml

import yolo_ghost
from yolo_ghost.cfg import models_dir
from yolo_ghost.nn.blocks.resnext import ResNeXtBottleneck
from yolo_ghost.nn.builder import build_block


def _copy_weights(src: nn.Module, dst: nn.Module) -> None:
    """Copy parameters and BN statistics in registration order (both blocks declare conv1, conv2, conv3, shortcut)."""
    s, d = src.state_dict(), dst.state_dict()
    assert [v.shape for v in s.values()] == [v.shape for v in d.values()]
    dst.load_state_dict(dict(zip(d, s.values())))


@pytest.mark.parametrize(("c1", "c2", "s"), [(256, 256, 1), (256, 512, 2), (64, 256, 1)])
def test_resnext_block_equals_torchvision_resnext50_32x4d_block(c1, c2, s):
    down = None
    if s != 1 or c1 != c2:
        down = nn.Sequential(nn.Conv2d(c1, c2, 1, s, bias=False), nn.BatchNorm2d(c2))
    ref = torchvision.models.resnet.Bottleneck(c1, c2 // 4, s, down, groups=32, base_width=4)
    ours, c_out = build_block("ResNeXtBottleneck", c1, [c2, s, 32, 4])
    assert c_out == c2 and ours.cv2.conv.groups == 32 and ours.cv2.conv.stride == (s, s)
    gen = torch.Generator().manual_seed(0)
    ours_bn = [m for m in ours.modules() if isinstance(m, nn.BatchNorm2d)]
    for m, o in zip([m for m in ref.modules() if isinstance(m, nn.BatchNorm2d)], ours_bn, strict=True):
        m.eps = o.eps  # a built model sets YOLOv5's epsilon on every BN
        m.weight.data.uniform_(0.5, 1.5, generator=gen), m.bias.data.uniform_(-0.2, 0.2, generator=gen)
        m.running_mean.uniform_(-0.1, 0.1, generator=gen), m.running_var.uniform_(0.5, 1.5, generator=gen)
    _copy_weights(ref, ours)
    ref.eval(), ours.eval()
    x = torch.randn(2, c1, 14, 14, generator=gen)
    with torch.no_grad():
        assert torch.allclose(ours(x), ref(x), atol=1e-5)


def test_bottleneck_width_follows_cardinality_and_width():
    for (c2, card, width), c_ in {(256, 32, 4): 128, (512, 32, 4): 256, (256, 8, 16): 128, (256, 64, 4): 256}.items():
        block, _ = build_block("ResNeXtBottleneck", c2, [c2, 1, card, width])
        assert block.cv1.conv.out_channels == c_ and block.cv2.conv.groups == card
        assert isinstance(block.shortcut, nn.Identity)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ([32, 1, 32, 4], r"c2 \* width // 256 = 32 \* 4 // 256 = 0 channels wide; use width >= 8"),
        ([64, 3], r"stride s must be one of \(1, 2\)"),
        ([64, 1, 0], "cardinality must be a positive number"),
        ([64, 1, 32, 4.5], "cardinality and width must be integers"),
    ],
)
def test_bad_arguments_say_what_to_change(args, match):
    with pytest.raises(ValueError, match=match) as e:
        build_block("ResNeXtBottleneck", 32, args)
    assert yolo_ghost.get_block("ResNeXtBottleneck").signature in str(e.value)


def test_config_replaces_the_backbone_c3_stacks_only():
    base = yaml.safe_load((models_dir() / "yolov5s.yaml").read_text())
    rx = yaml.safe_load((models_dir() / "yolov5s-resnext.yaml").read_text())
    assert rx["head"] == base["head"]
    expect = [[*r[:2], "ResNeXtBottleneck", [r[3][0], 1, 32, 4]] if r[2] == "C3" else r for r in base["backbone"]]
    assert rx["backbone"] == expect
    model = yolo_ghost.build_model("yolov5s-resnext.yaml")
    blocks = [m for m in model.modules() if isinstance(m, ResNeXtBottleneck)]
    assert len(blocks) == 1 + 2 + 3 + 1  # yolov5s depth 0.33 of 3/6/9/3
    assert [b.cv2.conv.in_channels for b in blocks[::2]] == [32, 64, 128, 256]
