"""Every registered block, from its declared examples: shapes, channel rule, strides, backward and fusion.

The test loops over the registry, so a new block is covered by being registered with ``examples``.
"""

from __future__ import annotations

import copy

import pytest
import torch

from yolo_ghost.nn.builder import build_block
from yolo_ghost.nn.fuse import FuseError, count_batchnorms, fuse_model
from yolo_ghost.nn.registry import list_specs

# Heads take several feature maps (and anchors), YOLOv9-E's CBLinear / CBFuse pass lists of maps: the shipped
# configs (test_configs.py) and the ultralytics package's YAMLs (test_ultralytics_yamls.py) exercise them.
TESTED_BY_CONFIGS = {"Detect", "ClassifyHead", "v10Detect", "CBLinear", "CBFuse"}
SIZE = 32

# One case per example of every spec, in every dialect that registers the name.
CASES = [
    pytest.param(spec.name, spec.dialect or "yolov5", ex, id=f"{spec.label}-{i}")
    for spec in list_specs()
    for i, ex in enumerate(spec.examples)
]


def _inputs(c_in: int | list[int], batch: int = 2) -> torch.Tensor | list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    if isinstance(c_in, list):
        return [torch.randn(batch, c, SIZE, SIZE, generator=g) for c in c_in]
    return torch.randn(batch, c_in, SIZE, SIZE, generator=g)


def test_every_block_has_examples_or_is_a_head():
    missing = [s.name for s in list_specs() if not s.examples]
    assert sorted(set(missing) - TESTED_BY_CONFIGS) == []


@pytest.mark.parametrize(("name", "dialect", "example"), CASES)
def test_block_forward_backward_shape(name, dialect, example):
    c_in, args, stride = example
    torch.manual_seed(0)
    block, c_out = build_block(name, c_in, list(args), dialect=dialect)
    block.train()
    x = _inputs(c_in)
    y = block(x)
    assert isinstance(y, torch.Tensor)
    expected_hw = round(SIZE / stride)
    assert tuple(y.shape) == (2, c_out, expected_hw, expected_hw), f"{name} {args}: channel rule or stride is wrong"
    assert torch.isfinite(y).all()
    params = [p for p in block.parameters() if p.requires_grad]
    if params:
        (y.float() ** 2).mean().backward()
        for n, p in block.named_parameters():
            assert p.grad is not None, f"{name}: parameter {n} gets no gradient"
            assert torch.isfinite(p.grad).all()
        assert any(p.grad.abs().sum() > 0 for p in params)


@pytest.mark.parametrize(("name", "dialect", "example"), CASES)
def test_block_fuses_exactly(name, dialect, example, randomize_bn):
    c_in, args, _ = example
    torch.manual_seed(0)
    block, _ = build_block(name, c_in, list(args), dialect=dialect)
    randomize_bn(block)
    block.eval()
    x = _inputs(c_in, batch=1)
    holder = torch.nn.Sequential(block)  # a model around the block, as in a built network
    if name == "nn.BatchNorm2d":  # no conv in front of it: fusion refuses rather than invent an op
        with pytest.raises(FuseError, match=r"0 \(BatchNorm2d\) in Sequential: its input comes from outside"):
            fuse_model(copy.deepcopy(holder), x)
        return
    with torch.no_grad():
        ref = holder(x)
        fused = fuse_model(copy.deepcopy(holder), x)
        out = fused(x)
    assert count_batchnorms(fused) == 0
    scale = ref.abs().max().clamp_min(1e-6)
    assert ((out - ref).abs().max() / scale).item() < 1e-4


@pytest.mark.parametrize(("name", "dialect", "example"), [c for c in CASES if c.values[2][2] == 2])
def test_stride_two_blocks_halve_on_odd_free_sizes(name, dialect, example):
    """Stride-2 examples must also work at a second size (catches sizes frozen at build time)."""
    c_in, args, _ = example
    block, c_out = build_block(name, c_in, list(args), dialect=dialect)
    block.eval()
    x = torch.randn(1, c_in, 48, 64) if not isinstance(c_in, list) else [torch.randn(1, c, 48, 64) for c in c_in]
    with torch.no_grad():
        y = block(x)
    assert tuple(y.shape) == (1, c_out, 24, 32)
