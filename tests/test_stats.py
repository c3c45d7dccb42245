"""Seed statistics: the t quantile against published table values, Welch's interval by hand, edge cases."""

from __future__ import annotations

import math
import statistics

import pytest

from yolo_ghost.bench.stats import mean_std, t_cdf, t_ppf, welch_interval

# Two-sided 95% critical values of Student's t (any statistics table), and the normal limit.
T975 = {1: 12.706204736, 2: 4.302652730, 3: 3.182446305, 4: 2.776445105, 10: 2.228138852, 30: 2.042272456}


@pytest.mark.parametrize("df", sorted(T975))
def test_t_quantile_matches_the_table(df):
    assert t_ppf(0.975, df) == pytest.approx(T975[df], abs=1e-8)
    assert t_ppf(0.025, df) == pytest.approx(-T975[df], abs=1e-8)
    assert t_cdf(T975[df], df) == pytest.approx(0.975, abs=1e-10)


def test_t_quantile_tends_to_the_normal_and_is_monotone():
    assert t_ppf(0.975, 1e5) == pytest.approx(1.959963985, abs=1e-4)
    qs = [t_ppf(q, 3.7) for q in (0.6, 0.8, 0.9, 0.99)]
    assert qs == sorted(qs) and t_ppf(0.5, 3.7) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="q must be"):
        t_ppf(1.0, 3)
    with pytest.raises(ValueError, match="df must be"):
        t_cdf(1.0, 0)


def test_mean_std_is_the_sample_std():
    m, s = mean_std([0.5, 0.52, 0.51, 0.49])
    assert m == pytest.approx(0.505) and s == pytest.approx(statistics.stdev([0.5, 0.52, 0.51, 0.49]))
    assert mean_std([0.3]) == (0.3, 0.0)
    with pytest.raises(ValueError):
        mean_std([])


def test_welch_interval_by_hand():
    a, b = [0.61, 0.64, 0.60, 0.63], [0.52, 0.55, 0.49]
    va, vb = statistics.variance(a) / 4, statistics.variance(b) / 3
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 2)
    half = t_ppf(0.975, df) * math.sqrt(va + vb)
    d = welch_interval(a, b)
    assert d.diff == pytest.approx(statistics.mean(a) - statistics.mean(b))
    assert (d.low, d.high, d.df) == pytest.approx((d.diff - half, d.diff + half, df))
    assert d.significant is True and d.half_width == pytest.approx(half)
    assert welch_interval(b, a).significant is True and welch_interval(b, a).high < 0


def test_overlapping_samples_are_not_significant():
    d = welch_interval([0.50, 0.56, 0.47], [0.51, 0.49, 0.55])
    assert d.low < 0 < d.high and d.significant is False
    assert d.as_dict()["significant"] is False and d.as_dict()["half_width"] == pytest.approx(d.half_width)


def test_single_runs_give_no_interval_and_identical_reruns_collapse():
    d = welch_interval([0.5], [0.4, 0.41])
    assert d.diff == pytest.approx(0.095) and d.low is None and d.significant is None and d.half_width is None
    same = welch_interval([0.5, 0.5], [0.4, 0.4])
    assert same.low == same.high == pytest.approx(0.1) and same.significant is True
