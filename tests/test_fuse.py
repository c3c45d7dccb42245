"""BatchNorm fusion from the graph: names and definition order play no part; what cannot fold raises, naming it."""

from __future__ import annotations

import copy
from collections import Counter

import pytest
import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode

from yolo_ghost import build_model, register_block, unregister_block
from yolo_ghost.nn.fuse import FuseError, count_batchnorms, fuse_model


class _AtenOps(TorchDispatchMode):
    """Counts the ATen ops a forward pass runs, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: Counter[str] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[func._overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def aten_ops(model: nn.Module, x: torch.Tensor) -> Counter[str]:
    counter = _AtenOps()
    with torch.no_grad(), counter:
        model(x)
    return counter.ops


class OddlyNamed(nn.Module):
    """A depthwise-separable unit whose convs and BatchNorms have names no rule would guess, defined in another order
    than they run, outside any nn.Sequential."""

    def __init__(self, c1: int, c2: int) -> None:
        super().__init__()
        self.normaliser = nn.BatchNorm2d(c2)  # belongs to pointwise_filter, defined first
        self.spatial_normaliser = nn.BatchNorm2d(c1)
        self.pointwise_filter = nn.Conv2d(c1, c2, 1, bias=False)
        self.depthwise_filter = nn.Conv2d(c1, c1, 3, padding=1, groups=c1, bias=False)
        self.gate = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.gate(self.spatial_normaliser(self.depthwise_filter(x)))
        return self.gate(self.normaliser(self.pointwise_filter(y)))


class SharesItsConvOutput(nn.Module):
    """The conv's output is read by the BatchNorm *and* by the residual sum: folding would change the sum."""

    def __init__(self, c1: int, c2: int) -> None:
        super().__init__()
        self.mixer = nn.Conv2d(c1, c2, 3, padding=1, bias=False)
        self.scale = nn.BatchNorm2d(c2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.mixer(x)
        return self.scale(z) + z


@pytest.fixture
def registered():
    names = []

    def register(name: str, cls: type) -> None:
        register_block(name, signature="[c2]")(cls)
        names.append(name)

    yield register
    for n in names:
        unregister_block(n)


def _cfg(block: str) -> dict:
    return {
        "nc": 2,
        "backbone": [[-1, 1, "Conv", [16, 3, 2]], [-1, 1, block, [32]], [-1, 1, "Conv", [32, 3, 2]]],
        "head": [[[1, 2], 1, "Detect", ["nc", [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119]]]]],
    }


def test_oddly_named_block_fuses_exactly_with_no_extra_op(registered, randomize_bn):
    registered("OddlyNamed", OddlyNamed)
    model = build_model(_cfg("OddlyNamed")).eval()
    randomize_bn(model)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    convs_before = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    with torch.no_grad():
        ref = model(x)[0]
    ops_before = aten_ops(model, x)
    fused = copy.deepcopy(model).fuse()
    with torch.no_grad():
        out = fused(x)[0]
    assert count_batchnorms(fused) == 0
    assert sum(isinstance(m, nn.Conv2d) for m in fused.modules()) == convs_before
    block = fused.model[1]
    assert isinstance(block.normaliser, nn.Identity) and isinstance(block.spatial_normaliser, nn.Identity)
    assert block.pointwise_filter.bias is not None and block.depthwise_filter.bias is not None
    ops_after = aten_ops(fused, x)
    assert ops_after["convolution"] == ops_before["convolution"]
    batch_norms = {op for op in ops_before if "batch_norm" in op}
    assert sum(ops_before[op] for op in batch_norms) == count_batchnorms(model) > 0
    assert not any("batch_norm" in op for op in ops_after)
    assert torch.allclose(out, ref, rtol=1e-4, atol=1e-4 * ref.abs().max().item())


def test_a_batchnorm_whose_conv_output_is_read_elsewhere_raises_naming_the_layer(registered):
    registered("SharesItsConvOutput", SharesItsConvOutput)
    model = build_model(_cfg("SharesItsConvOutput")).eval()
    with pytest.raises(FuseError, match=r"layer 1 \(SharesItsConvOutput\), model\.1\.scale: the output of the conv "):
        model.fuse()
    # checked before anything was folded: the model still runs unfused and still has all its BatchNorms
    assert isinstance(model.model[1].scale, nn.BatchNorm2d) and hasattr(model.model[0], "bn")


def test_a_standalone_batchnorm_row_raises_instead_of_becoming_a_conv():
    cfg = _cfg("nn.BatchNorm2d")
    cfg["backbone"][1] = [-1, 1, "nn.BatchNorm2d", []]
    model = build_model(cfg).eval()
    with pytest.raises(FuseError, match=r"layer 1 \(nn\.BatchNorm2d\), model\.1: its input comes from aten\.silu"):
        model.fuse()


def test_a_plain_module_needs_an_example_input(randomize_bn):
    with pytest.raises(TypeError, match="pass an example input"):
        fuse_model(nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8)))
    seq = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8)).eval()
    randomize_bn(seq)
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        ref = seq(x)
        fused = fuse_model(copy.deepcopy(seq), x)
        assert count_batchnorms(fused) == 0 and isinstance(fused[1], nn.Identity)
        assert torch.allclose(fused(x), ref, atol=1e-5)
