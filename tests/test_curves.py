"""The plateau rule on synthetic learning curves, and reading per-epoch mAP from an ultralytics results.csv."""

from __future__ import annotations

import math

import pytest

from yolo_ghost.engine.curves import (
    convergence,
    logged_seconds,
    plateau_gain,
    read_curve,
    still_improving,
    tail_length,
    warning_text,
)


def test_a_rising_curve_is_flagged_and_a_flat_one_passes():
    rising = [0.02 * k for k in range(1, 17)]  # linear: the last quarter adds 25% of the final value
    flat = [0.6 * (1 - math.exp(-k / 2)) for k in range(1, 33)]  # saturated long before the end
    assert plateau_gain(rising) == pytest.approx((0.32 - 0.24) / 0.32)
    assert still_improving(rising) and not still_improving(flat)
    assert convergence(rising)["still_improving"] is True and convergence(flat)["still_improving"] is False
    assert "still improving" in warning_text(convergence(rising)) and "4 epochs" in warning_text(convergence(rising))


def test_the_rule_is_five_percent_of_the_final_value_over_the_last_quarter():
    assert tail_length(24) == 6 and tail_length(10) == 3 and tail_length(1) == 1
    just_under = [0.0] * 17 + [0.500 - 0.024] + [0.5] * 6  # gained 0.024 of 0.5 over the last 6 epochs: 4.8%
    just_over = [0.0] * 17 + [0.500 - 0.026] + [0.5] * 6  # 5.2%
    assert not still_improving(just_under) and still_improving(just_over)
    assert not still_improving([0.5, 0.6, 0.55, 0.52])  # a falling end is not "still improving"


def test_degenerate_curves():
    assert still_improving([0.3])  # one epoch: cannot be judged, so not called converged
    assert not still_improving([0.0, 0.0, 0.0, 0.0])  # nothing learnt, nothing moving
    assert still_improving([0.0, 0.0, 0.0, 0.01])
    assert convergence([0.3])["plateau_gain"] is None


def test_read_curve_stops_at_the_logged_final_validation(tmp_path):
    csv = tmp_path / "results.csv"
    csv.write_text(
        "                  epoch,  time,  metrics/mAP50(B),  metrics/mAP50-95(B)\n"
        "1,10.0,0.10,0.05\n2,20.0,0.30,0.15\n3,30.0,0.40,0.21\n3,35.0,0.41,0.22\n"
    )
    c = read_curve(csv)
    assert c == {"epoch": [1, 2, 3], "map50_95": [0.05, 0.15, 0.21], "map50": [0.10, 0.30, 0.40]}
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"not an ultralytics results\.csv"):
        read_curve(tmp_path / "bad.csv")


def test_logged_seconds_adds_the_time_before_a_resume(tmp_path):
    csv = tmp_path / "results.csv"
    assert logged_seconds(csv) == 0.0  # no training logged yet
    # as ultralytics writes it: the time column restarts when a cut-off training resumes (here after epoch 3)
    rows = [(1, 10.0), (2, 20.5), (3, 31.0), (4, 12.0), (5, 24.0)]
    csv.write_text("epoch, time, metrics/mAP50-95(B)\n" + "".join(f"{e}, {t}, 0.5\n" for e, t in rows))
    assert logged_seconds(csv) == pytest.approx(31.0 + 24.0)
    csv.write_text("epoch,time\n1,10.0\n2,20.5\n")
    assert logged_seconds(csv) == pytest.approx(20.5)
