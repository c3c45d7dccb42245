"""The YAML builder: both dialects, safe argument handling, and errors that name the layer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import yaml
from ultralytics.nn.modules.conv import Conv

from yolo_ghost import ConfigError, build_model
from yolo_ghost.cfg import models_dir

# YOLOv5 v7.0 `models/yolov5s.yaml` as that repository writes it (flow style, quoted strings).
YOLOV5S_V7 = """
nc: 80  # number of classes
depth_multiple: 0.33  # model depth multiple
width_multiple: 0.50  # layer channel multiple
anchors:
  - [10,13, 16,30, 33,23]  # P3/8
  - [30,61, 62,45, 59,119]  # P4/16
  - [116,90, 156,198, 373,326]  # P5/32
backbone:
  [[-1, 1, Conv, [64, 6, 2, 2]],  # 0-P1/2
   [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4
   [-1, 3, C3, [128]],
   [-1, 1, Conv, [256, 3, 2]],  # 3-P3/8
   [-1, 6, C3, [256]],
   [-1, 1, Conv, [512, 3, 2]],  # 5-P4/16
   [-1, 9, C3, [512]],
   [-1, 1, Conv, [1024, 3, 2]],  # 7-P5/32
   [-1, 3, C3, [1024]],
   [-1, 1, SPPF, [1024, 5]],  # 9
  ]
head:
  [[-1, 1, Conv, [512, 1, 1]],
   [-1, 1, nn.Upsample, [None, 2, 'nearest']],
   [[-1, 6], 1, Concat, [1]],  # cat backbone P4
   [-1, 3, C3, [512, False]],  # 13
   [-1, 1, Conv, [256, 1, 1]],
   [-1, 1, nn.Upsample, [None, 2, 'nearest']],
   [[-1, 4], 1, Concat, [1]],  # cat backbone P3
   [-1, 3, C3, [256, False]],  # 17 (P3/8-small)
   [-1, 1, Conv, [256, 3, 2]],
   [[-1, 14], 1, Concat, [1]],  # cat head P4
   [-1, 3, C3, [512, False]],  # 20 (P4/16-medium)
   [-1, 1, Conv, [512, 3, 2]],
   [[-1, 10], 1, Concat, [1]],  # cat head P5
   [-1, 3, C3, [1024, False]],  # 23 (P5/32-large)
   [[17, 20, 23], 1, Detect, [nc, anchors]],  # Detect(P3, P4, P5)
  ]
"""

SMALL = {
    "nc": 3,
    "anchors": [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]],
    "backbone": [
        [-1, 1, "Conv", [16, 3, 2]],
        [-1, 1, "Conv", [16, 3, 2]],
        [-1, 1, "Conv", [16, 3, 2]],  # 2 P3
        [-1, 1, "Conv", [32, 3, 2]],  # 3 P4
        [-1, 1, "Conv", [32, 3, 2]],  # 4 P5
    ],
    "head": [[[2, 3, 4], 1, "Detect", ["nc", "anchors"]]],
}


def small(**edits) -> dict:
    import copy

    d = copy.deepcopy(SMALL)
    for (part, row, col), value in edits.get("cells", {}).items():
        d[part][row][col] = value
    d.update({k: v for k, v in edits.items() if k != "cells"})
    return d


def test_yolov5_repository_yaml_builds_unchanged(tmp_path):
    path = tmp_path / "yolov5s.yaml"
    path.write_text(YOLOV5S_V7)
    model = build_model(path)
    assert sum(p.numel() for p in model.parameters()) == 7_235_389  # YOLOv5 v7.0 yolov5s, unfused
    assert model.stride.tolist() == [8.0, 16.0, 32.0]


def test_ultralytics_yolov5_yaml_builds_identically_to_ultralytics(tmp_path):
    import ultralytics
    from ultralytics.nn.tasks import DetectionModel

    src = Path(ultralytics.__file__).parent / "cfg" / "models" / "v5" / "yolov5.yaml"
    path = tmp_path / "yolov5n.yaml"  # the scale letter comes from the file name in this dialect
    shutil.copy(src, path)
    ours = build_model(path)
    theirs = DetectionModel(str(path), verbose=False)
    assert ours.yaml["scale"] == "n"
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    ours.eval(), theirs.eval()
    x = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        assert torch.allclose(ours(x)[0], theirs(x)[0], atol=1e-5)


def test_scale_letter_picks_the_family_file():
    model = build_model("yolov5s-ghost.yaml")
    assert model.yaml["scale"] == "s"
    ghost = model.model[1]  # GhostConv(128 x 0.5 = 64): half from a conv, the other half its depthwise ghosts
    assert ghost.cv1.conv.out_channels == 32 and ghost.cv2.conv.groups == 32


def test_bare_names_resolve_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = build_model("yolov5n.yaml", nc=5)
    assert model.model[-1].nc == 5 and model.yaml["nc"] == 5
    assert (models_dir() / "yolov5n.yaml").is_file()


def test_unknown_config_name_suggests():
    with pytest.raises(ConfigError, match=r"did you mean yolov5l-ghost\.yaml"):
        build_model("yolov5l-gost.yaml")


@pytest.mark.parametrize(
    ("cells", "match"),
    [
        ({("backbone", 3, 0): 7}, r"layer 3: 'from' index 7 is out of range"),
        ({("backbone", 3, 0): -9}, r"layer 3: 'from' index -9 is out of range"),
        ({("backbone", 1, 3): [16, 3, 2, None, 1, 1, True, "extra"]}, r"layer 1 \(Conv\): cannot build it"),
        ({("backbone", 2, 3): []}, r"layer 2 \(Conv\): the first arg must be the output channel count"),
        ({("backbone", 2, 1): 0}, r"layer 2 \(Conv\): number must be a positive integer"),
        ({("backbone", 2, 2): 7}, r"layer 2: module must be a block name"),
        ({("head", 0, 3): ["nc", [[10, 13]]]}, r"layer 5 \(Detect\): .*anchor levels"),
        ({("backbone", 1, 2): "nn.NotALayer"}, r"layer 1: 'nn.NotALayer' is not a torch.nn layer class"),
    ],
)
def test_bad_rows_name_the_layer(cells, match):
    with pytest.raises(ConfigError, match=match):
        build_model(small(cells=cells))


def test_channel_mismatch_is_found_by_the_dry_forward():
    # A torch layer keeps its input's channel count by rule, so a raw nn.Conv2d that changes it breaks layer 2.
    d = small(cells={("backbone", 1, 2): "nn.Conv2d", ("backbone", 1, 3): [16, 24, 3, 2, 1]})
    with pytest.raises(ConfigError, match=r"layer 2 \(Conv\): forward failed .* 24"):
        build_model(d)


HOSTILE = "__import__('os').system('touch {marker}')"


def test_hostile_module_name_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(ConfigError, match="unknown block"):
        build_model(small(cells={("backbone", 1, 2): HOSTILE.format(marker=marker)}))
    assert not marker.exists()


def test_hostile_argument_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(ConfigError, match="never evaluated as code"):
        build_model(small(cells={("backbone", 1, 3): [16, HOSTILE.format(marker=marker)]}))
    assert not marker.exists()


@pytest.mark.parametrize("act", ["__import__('os').system('touch {marker}')", "nn.Module()", "nn.LeakyReLU(x)"])
def test_hostile_or_unknown_activation_is_refused(tmp_path, act):
    marker = tmp_path / "pwned"
    with pytest.raises(ConfigError, match="activation"):
        build_model(small(activation=act.format(marker=marker)))
    assert not marker.exists()


def test_activation_is_applied_and_does_not_leak():
    before = Conv.default_act
    model = build_model(small(activation="nn.LeakyReLU(0.1)"))
    act = model.model[0].act
    assert isinstance(act, nn.LeakyReLU) and act.negative_slope == 0.1
    assert Conv.default_act is before
    assert isinstance(build_model(small()).model[0].act, nn.SiLU)


def test_literal_args_are_parsed_without_eval():
    d = small(cells={("backbone", 1, 2): "SPP", ("backbone", 1, 3): [16, "(3, 5)"]})
    spp = build_model(d).model[1]
    assert [m.kernel_size for m in spp.m] == [3, 5]


def test_yaml_text_parses_like_files(tmp_path):
    p = tmp_path / "custom.yaml"
    p.write_text(yaml.safe_dump(small()))
    assert sum(x.numel() for x in build_model(p).parameters()) == sum(
        x.numel() for x in build_model(small()).parameters()
    )
