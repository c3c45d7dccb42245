"""Every shipped config: builds, has its recorded parameter count, right output shapes, and fuses exactly.

The tests loop over ``yolo_ghost.list_configs()``, so a new config is covered by being shipped (and must be
recorded in ``PARAMS``).
"""

from __future__ import annotations

import copy

import pytest
import torch
from ultralytics.nn.modules.head import Detect

import yolo_ghost
from yolo_ghost.nn.fuse import count_batchnorms
from yolo_ghost.tools.profiler import profile_model

# Exact parameter counts of each shipped config as built (BatchNorm not yet fused), at the YAML's nc.
PARAMS = {
    "shufflenetv2-cls.yaml": 1_263_854,
    "shufflenetv2-csp-cls.yaml": 924_061,
    "shufflenetv2-k5-cls.yaml": 1_303_214,
    "shufflenetv2-liteconv-cls.yaml": 923_278,
    "shufflenetv2-se-cls.yaml": 1_434_430,
    "shufflenetv2-sk-cls.yaml": 1_564_446,
    "yolov5-shufflenetv1.yaml": 1_861_525,
    "yolov5-shufflenetv2-csp.yaml": 1_282_320,
    "yolov5-shufflenetv2-k5.yaml": 1_661_473,
    "yolov5-shufflenetv2-liteconv.yaml": 1_281_537,
    "yolov5-shufflenetv2-se.yaml": 1_792_689,
    "yolov5-shufflenetv2-sk.yaml": 1_922_705,
    "yolov5-shufflenetv2.yaml": 1_622_113,
    "yolov5l-ghost.yaml": 16_019_117,
    "yolov5l-v3-ghost.yaml": 19_628_701,
    "yolov5l-v3.yaml": 47_818_749,
    "yolov5l.yaml": 46_563_709,
    "yolov5m-ghost.yaml": 8_845_413,
    "yolov5m.yaml": 21_190_557,
    "yolov5n-c3ghost.yaml": 1_346_897,  # the nano-width ablation: C3Ghost only,
    "yolov5n-ghost-wide.yaml": 1_865_674,  # Ghost widened to yolov5n's GFLOPs,
    "yolov5n-ghost-deep.yaml": 1_080_749,  # Ghost in the P4/P5 stages only
    "yolov5n-ghostconv.yaml": 1_574_477,  # GhostConv only
    "yolov5n-ghost.yaml": 1_049_217,
    "yolov5n.yaml": 1_872_157,
    "yolov5s-ghost.yaml": 3_897_605,
    "yolov5s-resnext.yaml": 5_829_853,
    "yolov5s-spconv.yaml": 6_524_541,
    "yolov5s-xception.yaml": 6_832_637,
    "yolov5s.yaml": 7_235_389,
    "yolov5x-ghost.yaml": 25_588_445,
    "yolov5x.yaml": 86_749_405,
    "yolov8n-ghost.yaml": 1_865_316,  # = ultralytics' own yolov8-ghost summary at each scale
    "yolov8s-ghost.yaml": 5_960_072,
    "yolov8m-ghost.yaml": 10_336_312,
    "yolov8l-ghost.yaml": 14_277_872,
    "yolov8x-ghost.yaml": 22_229_308,
    "yolo11n-ghost.yaml": 1_896_204,
    "yolo11s-ghost.yaml": 6_511_288,
    "yolo11m-ghost.yaml": 12_814_896,
    "yolo11l-ghost.yaml": 14_911_008,
    "yolo11x-ghost.yaml": 33_365_584,
}

# The YOLOv5 README table (v7.0): params (M) and GFLOPs at 640, nc=80, BN fused.
PUBLISHED = {
    "yolov5n.yaml": (1.9, 4.5),
    "yolov5s.yaml": (7.2, 16.5),
    "yolov5m.yaml": (21.2, 49.0),
    "yolov5l.yaml": (46.5, 109.1),
    "yolov5x.yaml": (86.7, 205.7),
}

CONFIGS = yolo_ghost.list_configs()
SIZE = 64


@pytest.fixture(scope="module")
def built():
    cache = {}

    def get(name):
        if name not in cache:
            torch.manual_seed(0)
            cache[name] = yolo_ghost.build_model(name)
        return cache[name]

    return get


def test_every_shipped_config_is_recorded():
    assert sorted(CONFIGS) == sorted(PARAMS), "record the parameter count of every shipped config in PARAMS"


@pytest.mark.parametrize("name", CONFIGS)
def test_config_param_count(name, built):
    assert sum(p.numel() for p in built(name).parameters()) == PARAMS[name]


@pytest.mark.parametrize("name", CONFIGS)
def test_config_output_shapes(name, built):
    model = built(name)
    head = model.model[-1]
    x = torch.zeros(2, 3, SIZE, SIZE)
    model.eval()
    with torch.no_grad():
        out = model(x)
    if not isinstance(head, Detect):  # classifiers
        logits = out[0] if isinstance(out, (tuple, list)) else out
        assert tuple(logits.shape) == (2, model.yaml["nc"])
        return
    assert model.stride.tolist() == [8.0, 16.0, 32.0]
    cells = sum((SIZE // int(s)) ** 2 for s in model.stride)
    na = getattr(head, "na", 1)
    assert tuple(out[0].shape) == (2, 4 + head.nc, na * cells)
    model.train()
    raw = model(x)
    if isinstance(raw, dict):  # anchor-free head: box and class maps over all cells
        assert tuple(raw["scores"].shape) == (2, head.nc, cells)
    else:
        assert [tuple(r.shape) for r in raw] == [
            (2, na, SIZE // int(s), SIZE // int(s), 5 + head.nc) for s in model.stride
        ]


@pytest.mark.parametrize("name", CONFIGS)
def test_config_fuses_exactly(name, built, randomize_bn):
    model = randomize_bn(copy.deepcopy(built(name))).eval()
    x = torch.rand(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = model(x)
        ref = ref[0] if isinstance(ref, (tuple, list)) else ref
        fused = model.fuse()
        out = fused(x)
        out = out[0] if isinstance(out, (tuple, list)) else out
    assert count_batchnorms(fused) == 0
    rel = ((out - ref).abs().max() / ref.abs().max()).item()
    assert rel < 1e-4


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_stock_configs_reproduce_published_sizes(name):
    p = profile_model(name, imgsz=640)
    params_m, gflops = PUBLISHED[name]
    assert round(p.params / 1e6, 1) == params_m
    assert round(p.gflops, 1) == gflops


@pytest.mark.parametrize(("scale", "inner"), [("n", "GhostBottleneck"), ("m", "C3Ghost")])
def test_yolo11_ghost_follows_yolo11s_scale_rule_and_head(scale, inner):
    model = yolo_ghost.build_model(f"yolo11{scale}-ghost.yaml")
    stock = yolo_ghost.build_model(f"yolo11{scale}.yaml")
    assert type(model.model[2]).__name__ == "C3k2Ghost"
    assert type(model.model[2].m[0]).__name__ == inner  # C3k units at m/l/x, declared on the registration
    assert type(stock.model[2].m[0]).__name__ == {"GhostBottleneck": "Bottleneck", "C3Ghost": "C3k"}[inner]
    assert model.model[-1].legacy is False and stock.model[-1].legacy is False  # YOLO11's depthwise class branch
    head, stock_head = model.model[-1].state_dict(), stock.model[-1].state_dict()
    assert {k: v.shape for k, v in head.items()} == {k: v.shape for k, v in stock_head.items()}
