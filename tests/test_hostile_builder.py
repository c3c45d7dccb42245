"""Bounded compute in the builder's dry run: a config whose layers would compute for seconds (a 256 x 256 stem kernel)
is refused before the conv runs, naming the layer, the estimate and the limit ``max_dry_run_macs`` (issue 22)."""

from __future__ import annotations

import copy
import time

import pytest
import torch
import yaml
from torch import nn

from yolo_ghost import build_model
from yolo_ghost.__main__ import main as cli
from yolo_ghost.cfg import models_dir
from yolo_ghost.cfg.limits import LimitError, current_limits, override_limits
from yolo_ghost.nn.builder import _macs

N = yaml.safe_load((models_dir() / "yolov5n.yaml").read_text())


def huge_kernel_stem(width: float = 0.25) -> dict:
    d = copy.deepcopy(N)
    d["width_multiple"] = width
    d["backbone"][0] = [-1, 1, "Conv", [24, 256, 2]]  # a 256 x 256 kernel on the 128 x 128 probe: 65 x 65 outputs
    return d


def test_a_256_kernel_stem_is_refused_before_it_runs_naming_layer_value_and_limit():
    t0 = time.perf_counter()
    with pytest.raises(LimitError) as e:
        build_model(huge_kernel_stem(width=1.0))  # 24 output channels
    seconds = time.perf_counter() - t0
    msg = str(e.value)
    assert seconds < 1.0, seconds  # it computed for over 20 s before the limit
    assert msg.startswith("layer 0 (Conv): multiply-accumulates in the dry run"), msg
    assert f"{24 * 65 * 65 * 3 * 256 * 256:,} exceeds the limit of 10,000,000,000 (max_dry_run_macs)" in msg, msg
    assert "(24, 3, 256, 256)" in msg and "(1, 3, 128, 128)" in msg, msg
    assert "YOLO_GHOST_MAX_DRY_RUN_MACS=<n>" in msg and "override_limits(max_dry_run_macs=<n>)" in msg, msg
    assert "\n" not in msg


def test_a_narrow_256_kernel_stem_is_refused_by_its_unfolded_input():
    # yolov5n's width gives the stem 8 channels: 6.6e9 MACs, under the MAC limit, but the CPU conv would unfold
    # 3 x 256 x 256 x 65 x 65 = 8.3e8 elements first (5 s here before the check)
    t0 = time.perf_counter()
    with pytest.raises(LimitError) as e:
        build_model(huge_kernel_stem())
    assert time.perf_counter() - t0 < 1.0
    msg = str(e.value)
    assert msg.startswith("layer 0 (Conv): elements of the unfolded input (its Conv2d of weight (8, 3, 256, 256)"), msg
    assert f"{3 * 256 * 256 * 65 * 65:,} exceeds the limit of 67,108,864 (max_activation)" in msg, msg


def test_the_limit_is_raisable_and_lowerable(monkeypatch):
    assert current_limits().max_dry_run_macs == 10_000_000_000
    with override_limits(max_dry_run_macs=50_000_000), pytest.raises(LimitError, match=r"max_dry_run_macs"):
        build_model("yolov5n.yaml")  # 8.9e7 MACs at the probe size
    monkeypatch.setenv("YOLO_GHOST_MAX_DRY_RUN_MACS", "1e8")
    assert build_model("yolov5n.yaml") is not None


def test_the_cli_prints_one_error_line_and_exits_2(tmp_path, capsys):
    cfg = tmp_path / "big-kernel.yaml"
    cfg.write_text(yaml.safe_dump(huge_kernel_stem(width=1.0)))
    t0 = time.perf_counter()
    assert cli(["profile", "--cfg", str(cfg), "--img", "64"]) == 2
    assert time.perf_counter() - t0 < 5  # the CLI's imports included
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: layer 0 (Conv): ") and "max_dry_run_macs" in err and "\n" not in err, err


@pytest.mark.parametrize(
    "module,shape,expected",
    [
        (nn.Conv2d(3, 16, 3, 2, 1), (1, 3, 128, 128), 16 * 64 * 64 * 3 * 9),
        (nn.Conv2d(16, 16, 5, 1, 2, groups=16), (1, 16, 32, 32), 16 * 32 * 32 * 25),  # depthwise
        (nn.Conv2d(8, 4, 3, padding="same", dilation=2), (2, 8, 10, 10), 2 * 4 * 100 * 8 * 9),
        (nn.Conv2d(8, 4, 7), (1, 8, 4, 4), 0),  # kernel larger than its input: no output, torch would raise
        (nn.ConvTranspose2d(8, 4, 2, 2), (1, 8, 16, 16), 8 * 256 * 4 * 4),
        (nn.Linear(64, 10), (3, 64), 3 * 64 * 10),
    ],
)
def test_macs_follow_from_shapes(module, shape, expected):
    assert _macs(module, torch.zeros(shape)) == expected
