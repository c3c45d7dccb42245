"""The ShuffleNet V2 variant configs against the study they reproduce (``study``).

Params and compute at the study's setting (10 classes, 224x224), counted with the project's profiler on the model as
built (BatchNorm not folded, as a thop-style counter sees it). Absolute MACs depend on what a counter includes, so
compute is compared as the ratio to the baseline.
"""

from __future__ import annotations

import pytest
from study import STUDY, STUDY_IMGSZ, STUDY_NC

from yolo_ghost.tools.profiler import profile_model


@pytest.fixture(scope="module")
def profiles():
    return {v.name: profile_model(v.cfg, imgsz=STUDY_IMGSZ, fuse=False, nc=STUDY_NC) for v in STUDY}


def test_baseline_is_shufflenet_v2_1x(profiles):
    base = profiles["baseline"]
    assert STUDY[0].name == "baseline"
    assert base.params == 1_263_854  # torchvision's shufflenet_v2_x1_0 with a 10-class fc
    assert base.gflops / 2 * 1e3 == pytest.approx(143.9, abs=0.05)  # MMACs


@pytest.mark.parametrize("variant", STUDY, ids=[v.name for v in STUDY])
def test_variant_params_and_mac_ratio_match_the_study(variant, profiles):
    ours = profiles[variant.name]
    assert abs(ours.params / 1e6 / variant.params_m - 1) < 0.03, f"{variant.name}: {ours.params:,} params"
    base, study_base = profiles["baseline"], STUDY[0]
    ratio, study_ratio = ours.gflops / base.gflops, variant.mflops / study_base.mflops
    assert abs(ratio - study_ratio) < 0.03, f"{variant.name}: MAC ratio {ratio:.3f}, study {study_ratio:.3f}"


def test_the_study_conclusions_on_compute_hold(profiles):
    """liteconv and csp cut about 30% of the compute; k5 adds about 5%; the attention variants almost nothing."""
    r = {k: p.gflops / profiles["baseline"].gflops for k, p in profiles.items()}
    assert 0.65 < r["csp"] < r["liteconv"] < 0.75
    assert 1.0 < r["se"] < r["sk"] < r["k5"] < 1.06
