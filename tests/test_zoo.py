"""The ShuffleNet / SK / SPConv / MobileNet blocks and their detector and classifier configs.

Block shapes, backward and fusion are covered for every registered example by test_blocks.py, and every shipped
config's shapes and fusion by test_configs.py; this file checks what is specific to these blocks: the maths of
channel shuffle and the attention units, the argument checks, ONNX export with a dynamic batch, and sizes.
"""

from __future__ import annotations

import copy
import io

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn as nn
import torchvision
import yaml

import yolo_ghost
from yolo_ghost.cfg import models_dir
from yolo_ghost.models.classifier import YoloGhostClassifier
from yolo_ghost.nn.blocks.attention import SqueezeExcite
from yolo_ghost.nn.blocks.classify import ClassifyHead
from yolo_ghost.nn.blocks.selective_kernel import SelectiveKernel
from yolo_ghost.nn.blocks.shuffle import (
    ChannelShuffle,
    ShuffleV1Unit,
    ShuffleV2Block,
    ShuffleV2CSPStage,
    channel_shuffle,
)
from yolo_ghost.nn.blocks.spconv import C3SPConv, SPConv
from yolo_ghost.nn.builder import build_block
from yolo_ghost.nn.fuse import count_batchnorms, fuse_model


def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(("c", "g"), [(12, 3), (12, 2), (116, 2), (24, 8)])
def test_channel_shuffle_is_a_permutation_undone_by_the_complementary_group_count(c, g):
    x = _rand(2, c, 3, 5)
    y = channel_shuffle(x, g)
    order = channel_shuffle(torch.arange(c, dtype=torch.float32).view(1, c, 1, 1), g).flatten().long()
    assert sorted(order.tolist()) == list(range(c))
    assert order.tolist() != list(range(c))  # a real permutation, not the identity
    assert torch.equal(y, x[:, order])
    assert torch.equal(order[:g], torch.arange(g) * (c // g))  # channel j*(c/g) of group j comes first
    assert torch.equal(channel_shuffle(y, c // g), x)
    assert torch.equal(ChannelShuffle(c, g)(x), y)


def test_channel_shuffle_onnx_graph_has_a_dynamic_batch():
    f = io.BytesIO()
    torch.onnx.export(
        ChannelShuffle(12, 3), _rand(2, 12, 4, 6), f, dynamo=False, input_names=["x"], output_names=["y"],
        dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
    )  # fmt: skip
    graph = onnx.load_from_string(f.getvalue()).graph
    assert graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    for b in (1, 4):
        x = _rand(b, 12, 4, 6, seed=b)
        assert np.array_equal(sess.run(None, {"x": x.numpy()})[0], channel_shuffle(x, 3).numpy())


def test_shufflenet_detector_exports_to_onnx_with_a_dynamic_batch():
    torch.manual_seed(0)
    model = yolo_ghost.build_model("yolov5-shufflenetv2.yaml").fuse().eval()
    model.model[-1].export = True  # what the ultralytics exporter sets on the head
    f = io.BytesIO()
    torch.onnx.export(
        model, torch.zeros(1, 3, 96, 128), f, dynamo=False, opset_version=17, input_names=["images"],
        output_names=["output0"], dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}},
    )  # fmt: skip
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    for b in (1, 4):
        x = torch.rand(b, 3, 96, 128, generator=torch.Generator().manual_seed(b))
        with torch.no_grad():
            ref = model(x)
        ref = (ref[0] if isinstance(ref, (tuple, list)) else ref).numpy()
        out = sess.run(None, {"images": x.numpy()})[0]
        assert out.shape == ref.shape == (b, 4 + 80, 3 * (12 * 16 + 6 * 8 + 3 * 4))
        assert np.abs(out - ref).max() / np.abs(ref).max() < 1e-4


def test_classifier_matches_torchvision_shufflenet_v2_x1_0_size():
    ours = yolo_ghost.build_model("shufflenetv2-cls.yaml", nc=1000)
    theirs = torchvision.models.shufflenet_v2_x1_0(weights=None)
    assert isinstance(ours, YoloGhostClassifier)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in theirs.modules())
    assert count_batchnorms(ours) == n_bn


def test_classifier_outputs_follow_the_ultralytics_classify_head():
    model = yolo_ghost.build_model("shufflenetv2-cls.yaml")
    x = _rand(2, 3, 64, 64)
    logits = model.train()(x)
    assert logits.shape == (2, 10)
    model.eval()
    with torch.no_grad():
        probs, raw = model(x)
        assert torch.allclose(probs, raw.softmax(1)) and torch.allclose(probs.sum(1), torch.ones(2))
        model.model[-1].export = True
        assert torch.allclose(model(x), probs)
        model.model[-1].export = False
        fused = copy.deepcopy(model).fuse()
        assert count_batchnorms(fused) == 0 and fused.is_fused()
        assert torch.allclose(fused(x)[1], raw, rtol=1e-4, atol=1e-4)
    model.reshape_outputs(model, 5)  # what the ultralytics trainer does for a dataset with other classes
    assert model.model[-1].linear.out_features == 5


def test_detector_configs_differ_only_where_documented():
    base = yaml.safe_load((models_dir() / "yolov5s.yaml").read_text())
    sp = yaml.safe_load((models_dir() / "yolov5s-spconv.yaml").read_text())
    assert sp["head"] == base["head"]
    assert [r if r[2] != "C3" else [*r[:2], "C3SPConv", r[3]] for r in base["backbone"]] == sp["backbone"]
    model = yolo_ghost.build_model("yolov5s-spconv.yaml")
    c3sp = [m for m in model.modules() if isinstance(m, C3SPConv)]
    assert len(c3sp) == 4 and all(isinstance(b.cv2, SPConv) for m in c3sp for b in m.m)


def test_shuffle_v2_stride_one_passes_half_the_channels_through():
    block = ShuffleV2Block(48, 48, 1).eval()
    x = _rand(2, 48, 8, 8)
    with torch.no_grad():
        y = block(x)
        assert torch.equal(y[:, 0::2], x[:, :24])  # shuffle(cat(x1, branch)) interleaves x1 with the branch
        assert torch.equal(y[:, 1::2], block.branch(x[:, 24:]))


def test_shuffle_v1_stride_two_concatenates_the_pooled_input():
    unit = ShuffleV1Unit(24, 240, 2, 3, False).eval()
    x = _rand(1, 24, 16, 16)
    with torch.no_grad():
        y = unit(x)
    assert y.shape == (1, 240, 8, 8)
    assert torch.allclose(y[:, :24], torch.relu(nn.functional.avg_pool2d(x, 3, 2, 1)))
    assert unit.pw1.conv.groups == 1 and unit.pw2.conv.groups == 3 and unit.dw.conv.groups == 60


def test_csp_stage_sends_half_of_its_width_through_the_blocks_and_a_transition():
    stage = ShuffleV2CSPStage(24, 116, 4, 2).eval()
    *blocks, transition = stage.m
    assert len(blocks) == 3 and all(isinstance(b, ShuffleV2Block) and b.pw1.conv.out_channels == 29 for b in blocks)
    assert transition.conv.kernel_size == (1, 1) and transition.conv.in_channels == transition.conv.out_channels == 58
    assert isinstance(transition.act, nn.ReLU)
    x = _rand(1, 24, 16, 16)
    with torch.no_grad():
        y, d = stage(x), stage.down(x)
        assert torch.equal(y[:, 1::2], transition(nn.Sequential(*blocks)(d[:, 58:])))
    assert y.shape == (1, 116, 8, 8)
    assert torch.equal(y[:, 0::2], d[:, :58])
    assert len(ShuffleV2CSPStage(24, 116, 1, 2).m) == 0  # one block: nothing to split, no transition


def test_liteconv_drops_the_1x1_after_the_depthwise_conv():
    block = build_block("ShuffleV2Lite", 24, [116, 2])[0].eval()
    assert isinstance(block.pw2, nn.Identity) and block.pw1.conv.in_channels == 24
    assert block.dw.conv.in_channels == block.dw.conv.groups == 58  # the stride-2 DW runs on c2/2, not on c1
    x = _rand(1, 24, 16, 16)
    with torch.no_grad():
        assert torch.equal(block.branch(x), block.dw(block.pw1(x)))


def test_sk_variant_reduction_ratio_is_a_yaml_arg():
    default, _ = build_block("ShuffleV2SK", 232, [232, 1])
    snippet, _ = build_block("ShuffleV2SK", 232, [232, 1, 2])
    assert default.dw.fc1.out_channels == 32  # max(116 // 4, 32)
    assert snippet.dw.fc1.out_channels == 58  # max(116 // 2, 32)


def test_se_scales_each_channel_by_a_gate_in_zero_one():
    se = SqueezeExcite(16, 4).eval()
    x = _rand(2, 16, 5, 5).abs() + 0.1
    with torch.no_grad():
        gate = se(x) / x
    flat = gate.flatten(2)
    assert torch.allclose(flat, flat[..., :1].expand_as(flat), atol=1e-6)  # one factor per (image, channel)
    assert ((flat > 0) & (flat < 1)).all()


def test_sk_attention_sums_to_one_and_mixes_the_two_paths():
    sk = SelectiveKernel(64, 1).eval()
    x = _rand(2, 64, 9, 9)
    with torch.no_grad():
        u1, u2 = sk.path1(x), sk.path2(x)
        a1, a2 = sk.weights(u1, u2)
        y = sk(x)
    assert a1.shape == (2, 64, 1, 1)
    assert torch.allclose(a1 + a2, torch.ones_like(a1))
    assert ((a1 > 0) & (a1 < 1)).all()
    assert torch.allclose(y, a1 * u1 + a2 * u2)
    assert sk.path2.conv.dilation == (2, 2) and sk.path2.conv.groups == 64
    assert sk.fc1.out_channels == 32  # d = max(c / 2, 32)


def test_spconv_at_stride_two_matches_a_3x3_conv_on_odd_sizes_and_fuses():
    block = SPConv(16, 32, 2)
    for m in block.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5), nn.init.uniform_(m.bias, -0.2, 0.2)
            m.running_mean.uniform_(-0.1, 0.1), m.running_var.uniform_(0.5, 1.5)
    holder = nn.Sequential(block).eval()
    x = _rand(1, 16, 33, 17)
    with torch.no_grad():
        ref = holder(x)
        out = fuse_model(copy.deepcopy(holder), x)(x)
    assert ref.shape == nn.Conv2d(16, 32, 3, 2, 1)(x).shape == (1, 32, 17, 9)
    assert ((out - ref).abs().max() / ref.abs().max()).item() < 1e-5


def test_inverted_residual_and_depthwise_separable_structure():
    ir, _ = build_block("InvertedResidual", 16, [16, 1, 6])
    assert ir.add and ir.expand.conv.out_channels == 96 and ir.dw.conv.groups == 96
    assert isinstance(ir.dw.act, nn.ReLU6) and isinstance(ir.project.act, nn.Identity)
    ir2, _ = build_block("InvertedResidual", 16, [24, 2, 1])
    assert not ir2.add and isinstance(ir2.expand, nn.Identity)
    ds, _ = build_block("DWSConv", 16, [32, 3, 2])
    assert ds.dw.conv.groups == 16 and ds.dw.conv.stride == (2, 2) and isinstance(ds.pw.act, nn.ReLU)


BAD = [
    ("ShuffleV2Block", 24, [116, 1], "c2 must equal c1=24"),
    ("ShuffleV2SE", 24, [117, 2], "c2 must be even"),
    ("ShuffleV2Block", 24, [116, 3], r"stride s must be one of \(1, 2\)"),
    ("ShuffleV1Unit", 48, [96, 1, 3], "c2 must equal c1=48"),
    ("ShuffleV1Unit", 96, [48, 2, 3], "c2 must exceed c1=96"),
    ("ShuffleV1Unit", 24, [240, 2, 8], "c2 // 4 = 60 is not divisible by g=8"),
    ("ShuffleV1Unit", 20, [240, 2, 3], "c1 = 20 is not divisible by g=3"),
    ("ChannelShuffle", 10, [3], "not divisible by g=3"),
    ("SK", 16, [3], "stride s must be one of"),
    ("SPConv", 16, [32, 1, 1.5], r"ratio .* must be in \(0, 1\)"),
    ("SPConv", 6, [32, 1, 0.5], r"int\(ratio \* c1\) = 3 .* must be even"),
    ("SPConv", 16, [32, 1, 0.99], r"int\(ratio \* c1\) = 15 .* must be even"),
    ("C3SPConv", 16, [32, True, 2], "g must be 1"),
    ("DWSConv", 16, [32, 4], "kernel k must be odd"),
    ("InvertedResidual", 16, [24, 1, 0], "expansion t must be an integer >= 1"),
    ("ClassifyHead", 16, [0], "nc must be a positive integer"),
]


@pytest.mark.parametrize(("name", "c_in", "args", "match"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_arguments_raise_a_message_that_says_what_to_change(name, c_in, args, match):
    with pytest.raises(ValueError, match=match) as e:
        build_block(name, c_in, args)
    assert f"({name})" in str(e.value)  # the builder names the block and shows its signature
    assert yolo_ghost.get_block(name).signature in str(e.value)


def test_errors_only_reachable_outside_the_width_rounding():
    with pytest.raises(ValueError, match="c2 must be divisible by 4"):
        build_block("ShuffleV2CSPStage", 24, [118, 2], n=4)  # n > 1: the blocks run on c2 / 2 = 59 channels
    with pytest.raises(ValueError, match="c2 = 31 must be even"):
        SPConv(16, 31)  # a YAML width is rounded up to a multiple of 8 first
    with pytest.raises(ValueError, match="cannot be split into 3 groups"):
        channel_shuffle(torch.zeros(1, 10, 2, 2), 3)


def test_classify_head_is_an_ultralytics_classify_head():
    from ultralytics.nn.modules.head import Classify

    head, c_out = build_block("ClassifyHead", 32, ["nc"], nc=7)
    assert isinstance(head, Classify) and isinstance(head, ClassifyHead) and c_out == 7
    assert yolo_ghost.get_block("ClassifyHead").task == "classify"
