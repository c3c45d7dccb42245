"""Xception's separable-conv residual block: structure, what it computes, errors and its config.

Shapes, backward and fusion of every registered example are covered by test_blocks.py; the shipped config by
test_configs.py.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import yaml

import yolo_ghost
from yolo_ghost.cfg import models_dir
from yolo_ghost.nn.blocks.xception import SeparableConv, XceptionBlock
from yolo_ghost.nn.builder import build_block


def test_middle_flow_block_is_three_relu_sepconv_bn_plus_identity():
    block, c_out = build_block("XceptionBlock", 32, [32])
    seps = [m for m in block.m if isinstance(m, SeparableConv)]
    assert c_out == 32 and len(seps) == 3 and isinstance(block.shortcut, nn.Identity)
    assert all(s.dw.groups == 32 and s.dw.kernel_size == (3, 3) and s.dw.bias is None for s in seps)
    assert all(isinstance(s.pw.act, nn.Identity) for s in seps)  # no activation inside or after a separable conv
    block.eval()
    x = torch.randn(1, 32, 9, 9, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = x
        for s in seps:
            y = s(torch.relu(y))
        assert torch.allclose(block(x), y + x, atol=1e-6)  # and the input was not changed by an in-place ReLU


def test_entry_flow_block_pools_and_projects_the_shortcut():
    block, c_out = build_block("XceptionBlock", 64, [128, 2, 2])
    seps = [m for m in block.m if isinstance(m, SeparableConv)]
    assert c_out == 128 and len(seps) == 2 and isinstance(block.m[-1], nn.MaxPool2d)
    assert seps[0].dw.in_channels == 64 and seps[0].pw.conv.out_channels == 128 and seps[1].dw.in_channels == 128
    assert block.shortcut.conv.stride == (2, 2) and block.shortcut.conv.kernel_size == (1, 1)
    assert block(torch.zeros(1, 64, 19, 19)).shape == (1, 128, 10, 10)


@pytest.mark.parametrize(
    ("args", "match"),
    [([32, 3], r"stride s must be one of \(1, 2\)"), ([32, 1, 0], "reps must be a positive"), ([32, 1, 1.5], "reps")],
)
def test_bad_arguments_say_what_to_change(args, match):
    with pytest.raises(ValueError, match=match) as e:
        build_block("XceptionBlock", 16, args)
    assert yolo_ghost.get_block("XceptionBlock").signature in str(e.value)


def test_config_replaces_the_backbone_c3_stacks_only():
    base = yaml.safe_load((models_dir() / "yolov5s.yaml").read_text())
    xc = yaml.safe_load((models_dir() / "yolov5s-xception.yaml").read_text())
    assert xc["head"] == base["head"]
    assert xc["backbone"] == [
        [*r[:2], "XceptionBlock", [r[3][0], 1, 3]] if r[2] == "C3" else r for r in base["backbone"]
    ]
    model = yolo_ghost.build_model("yolov5s-xception.yaml")
    assert sum(isinstance(m, XceptionBlock) for m in model.modules()) == 7
