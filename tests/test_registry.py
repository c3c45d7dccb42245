"""The registry's public contract: names, duplicates, unknown names, and blocks defined in user code."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import yaml

import yolo_ghost
from yolo_ghost import ConfigError, build_model, register_block, unregister_block

TINY = """
nc: 2
anchors:
  - [10, 13, 16, 30, 33, 23]
  - [30, 61, 62, 45, 59, 119]
  - [116, 90, 156, 198, 373, 326]
backbone:
  - [-1, 1, Conv, [16, 3, 2]]
  - [-1, 1, Conv, [32, 3, 2]]
  - [-1, 1, Conv, [32, 3, 2]] # 2 P3
  - [-1, 1, {block}, [{args}]] # 3
  - [-1, 1, Conv, [64, 3, 2]] # 4 P4
  - [-1, 1, Conv, [64, 3, 2]] # 5 P5
head:
  - [[3, 4, 5], 1, Detect, [nc, anchors]]
"""


def tiny_cfg(block: str, args: str) -> dict:
    return yaml.safe_load(TINY.format(block=block, args=args))


def test_stock_and_ghost_names_are_registered():
    names = set(yolo_ghost.list_blocks())
    expected = {"Conv", "Bottleneck", "BottleneckCSP", "C3", "SPP", "SPPF", "Focus", "Concat", "nn.Upsample", "Detect"}
    expected |= {"GhostConv", "DWConv", "GhostBottleneck", "C3Ghost", "GhostModule", "GhostNetBottleneck", "SE"}
    assert expected <= names
    assert yolo_ghost.list_blocks("ghost") == sorted(n for n in names if "ghost" in n.lower())


def test_registering_a_name_twice_is_an_error():
    with pytest.raises(ValueError, match="'C3' is already registered"):
        register_block("C3")(nn.Identity)


def test_unknown_block_in_yaml_suggests_close_matches():
    with pytest.raises(ConfigError, match=r"layer 3: unknown block 'GhostBotleneck'; did you mean 'GhostBottleneck'"):
        build_model(tiny_cfg("GhostBotleneck", "32"))


class UserBlock(nn.Module):
    """A block written in user code: 1x1 conv to c2 then a residual-free ReLU; `scale` multiplies the output."""

    def __init__(self, c1: int, c2: int, scale: float = 1.0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, 1)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x)) * self.scale


class UserGate(nn.Module):
    """A width-preserving user block: called with the channel count only."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(c, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.w


@pytest.fixture
def user_blocks():
    register_block("UserBlock", examples=((16, [24, 2.0], 1),))(UserBlock)
    register_block("UserGate", out="same")(UserGate)
    yield
    unregister_block("UserBlock")
    unregister_block("UserGate")


def test_user_block_is_usable_from_a_yaml_without_editing_yolo_ghost(user_blocks):
    model = build_model(tiny_cfg("UserBlock", "48, 0.5"))
    layer = model.model[3]
    assert isinstance(layer, UserBlock) and layer.scale == 0.5
    assert layer.conv.in_channels == 32 and layer.conv.out_channels == 48
    assert model.model[-1].m[0].in_channels == 48  # the head reads the rule's output channels
    model.eval()
    y, _ = model(torch.zeros(1, 3, 64, 64))
    assert y.shape == (1, 4 + 2, 3 * (8 * 8 + 4 * 4 + 2 * 2))


def test_user_block_with_same_width_rule_and_width_scaling(user_blocks):
    cfg = tiny_cfg("UserGate", "")
    cfg["width_multiple"] = 0.5
    model = build_model(cfg)
    assert model.model[3].w.shape[0] == 16  # Conv 32 x 0.5, kept by the "same" rule
    assert model.model[-1].m[0].in_channels == 16


def test_user_block_repeated_n_times_is_stacked(user_blocks):
    cfg = tiny_cfg("UserBlock", "40")
    cfg["backbone"][3][1] = 3
    layer = build_model(cfg).model[3]
    assert isinstance(layer, nn.Sequential) and len(layer) == 3
    assert [b.conv.in_channels for b in layer] == [32, 40, 40]


def test_bad_rule_is_refused_at_registration():
    with pytest.raises(ValueError, match="inputs must be"):
        register_block("Broken", inputs="many")(nn.Identity)
    assert "Broken" not in yolo_ghost.list_blocks()


def test_bottleneck_is_the_block_of_the_yaml_dialect():
    from yolo_ghost.nn.builder import build_block, yaml_dialect

    v5, _ = build_block("Bottleneck", 16, [16], dialect="yolov5")
    ul, _ = build_block("Bottleneck", 16, [16], dialect="ultralytics")
    assert v5.cv1.conv.kernel_size == (1, 1) and ul.cv1.conv.kernel_size == (3, 3)
    cfg = tiny_cfg("Bottleneck", "32")
    assert yaml_dialect(cfg) == "yolov5"  # a YOLOv5-repository YAML: it has anchors
    assert build_model(cfg).model[3].cv1.conv.kernel_size == (1, 1)
    cfg["dialect"] = "ultralytics"
    assert build_model(cfg).model[3].cv1.conv.kernel_size == (3, 3)
    assert yaml_dialect({"nc": 1}) == "ultralytics"
    with pytest.raises(ConfigError, match="dialect must be one of yolov5, ultralytics"):
        build_model({**cfg, "dialect": "darknet"})


def test_dialect_registrations_clash_like_names():
    with pytest.raises(ValueError, match="'Bottleneck' is already registered for the ultralytics dialect"):
        register_block("Bottleneck", dialect="ultralytics")(nn.Identity)
    with pytest.raises(ValueError, match="'Bottleneck' is already registered"):
        register_block("Bottleneck")(nn.Identity)  # one block for all dialects would shadow both
    with pytest.raises(ValueError, match="'C3' is already registered for the ultralytics dialect"):
        register_block("C3", dialect="ultralytics")(nn.Identity)
    specs = [s for s in yolo_ghost.nn.registry.list_specs("Bottleneck") if s.name == "Bottleneck"]
    assert [s.dialect for s in specs] == ["yolov5", "ultralytics"]


def test_a_block_only_ultralytics_has_is_named_with_its_module():
    with pytest.raises(
        ConfigError,
        match=r"layer 3: unknown block 'C2fAttn': it is ultralytics\.nn\.modules\.block\.C2fAttn in the ultralytics",
    ):
        build_model(tiny_cfg("C2fAttn", "32, 16, 1"))


def test_conv_transpose_gets_its_input_channels_and_a_scaled_width():
    cfg = tiny_cfg("nn.ConvTranspose2d", "64, 1, 1, 0")
    cfg["width_multiple"] = 0.5
    layer = build_model(cfg).model[3]
    assert (layer.in_channels, layer.out_channels) == (16, 32)  # Conv 32 x 0.5 in, 64 x 0.5 out
