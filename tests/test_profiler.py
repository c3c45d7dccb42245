"""The profiler counts every conv exactly (the Focus stem included), attributes memory traffic, and prints JSON."""

from __future__ import annotations

import json

import torch

from yolo_ghost.__main__ import main
from yolo_ghost.tools.profiler import profile_model


def conv_flops(c_in: int, c_out: int, k: int, groups: int, h: int, w: int, bias: bool = True) -> int:
    """2 x MACs of a conv whose output is c_out x h x w (bias add counted as one MAC per output)."""
    return 2 * c_out * h * w * (c_in // groups * k * k + int(bias))


def test_focus_stem_flops_are_counted_exactly():
    p = profile_model("yolov5l-v3.yaml", imgsz=64)
    focus = p.layers[0]
    assert focus.type == "Focus"
    # Focus(3 -> 64, k=3): space-to-depth gives 12 channels at 32x32, then a 3x3 conv (BN folded -> bias).
    assert focus.gflops * 1e9 == conv_flops(12, 64, 3, 1, 32, 32)
    assert focus.out_shape == [1, 64, 32, 32]


def test_totals_are_the_sum_of_layers_and_parts():
    p = profile_model("yolov5n-ghost.yaml", imgsz=64)
    assert abs(sum(r.gflops for r in p.layers) - p.gflops) < 1e-12
    assert abs(p.backbone["gflops"] + p.head["gflops"] - p.gflops) < 1e-12
    assert sum(r.params for r in p.layers) == p.params
    assert p.backbone["params"] + p.head["params"] == p.params


def test_memory_traffic_is_reported_for_data_movement_layers():
    p = profile_model("yolov5n.yaml", imgsz=64)
    up = next(r for r in p.layers if r.type == "nn.Upsample")
    assert up.gflops == 0
    c_in = p.layers[up.index - 1].out_shape[1]
    # Upsample x2 reads c x 2 x 2 floats and writes c x 4 x 4 floats (P5 of a 64 px input is 2 x 2).
    assert up.mem_mb * 1e6 == 4 * c_in * (2 * 2 + 4 * 4)
    assert all(r.mem_mb > 0 for r in p.layers)


def test_unfused_counts_more_params_and_same_conv_flops_without_bias():
    fused = profile_model("yolov5n.yaml", imgsz=64, fuse=True)
    unfused = profile_model("yolov5n.yaml", imgsz=64, fuse=False)
    assert unfused.params > fused.params  # BatchNorm weights and biases
    assert unfused.gflops < fused.gflops  # the folded BN bias adds are counted once fused


def test_profiling_leaves_the_model_untouched():
    from yolo_ghost import build_model

    model = build_model("yolov5n.yaml")
    n_before = sum(p.numel() for p in model.parameters())
    profile_model(model, imgsz=64)
    assert sum(p.numel() for p in model.parameters()) == n_before
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())


def test_cli_json(capsys):
    assert main(["profile", "--cfg", "yolov5n-ghost.yaml", "--compare", "yolov5n.yaml", "--img", "64", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    models = out["models"]
    assert [m["cfg"] for m in models] == ["yolov5n-ghost.yaml", "yolov5n.yaml"]
    for m in models:
        assert isinstance(m["params"], int) and m["gflops"] > 0 and m["mem_mb"] > 0
        assert len(m["layers"]) == 25 and {"from", "params", "gflops", "out_shape"} <= set(m["layers"][0])
    assert models[0]["params"] < models[1]["params"]


def test_cli_table_states_convention_and_ratios(capsys):
    assert main(["profile", "--cfg", "yolov5n-ghost.yaml", "--compare", "yolov5n.yaml", "--img", "64"]) == 0
    text = capsys.readouterr().out
    assert "FLOPs = 2 x MACs" in text and "BN fused" in text
    ghost = profile_model("yolov5n-ghost.yaml", imgsz=64)
    stock = profile_model("yolov5n.yaml", imgsz=64)
    assert f"{ghost.gflops / stock.gflops:.3f}" in text.splitlines()[-2]


def test_cli_rounds_the_size_and_rejects_an_unknown_cfg(capsys):
    assert main(["profile", "--cfg", "yolov5n.yaml", "--img", "100", "--summary"]) == 0
    out, err = capsys.readouterr()
    assert "using 128" in err and "comparison at 128x128" in out
    assert main(["profile", "--cfg", "yolov5n.yaml", "--img", "0"]) == 2
    assert "--img 0: must be a positive number of pixels" in capsys.readouterr().err
    assert main(["profile", "--cfg", "nope.yaml"]) == 2
    assert "not found" in capsys.readouterr().err
