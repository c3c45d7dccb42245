"""The Pareto front on hand-made tables, and the figure."""

from __future__ import annotations

import math

import matplotlib.image
import pytest

from yolo_ghost.bench.pareto import pareto_front, plot_pareto


def test_front_of_a_hand_made_table():
    #          A    B    C    D    E    F
    costs = [10.0, 5.0, 5.0, 2.0, 8.0, 20.0]
    scores = [0.50, 0.40, 0.30, 0.10, 0.45, 0.50]
    # D (cheapest), B (beats D, ties C on cost with a higher score), E (beats B), A (beats E); C is dominated by B,
    # F costs more than A for the same score.
    assert pareto_front(costs, scores) == [3, 1, 4, 0]


def test_front_edge_cases():
    assert pareto_front([], []) == []
    assert pareto_front([1.0], [0.2]) == [0]
    assert pareto_front([3.0, 3.0], [0.2, 0.2]) == [0]  # an exact duplicate is listed once
    assert pareto_front([1.0, 2.0, 3.0], [0.3, 0.2, 0.1]) == [0]  # the cheapest is also the best
    assert pareto_front([1.0, math.nan, 3.0], [0.1, 0.9, 0.2]) == [0, 2]  # no cost: not comparable
    with pytest.raises(ValueError, match="3 costs but 2 scores"):
        pareto_front([1, 2, 3], [1, 2])


def test_plot_writes_two_panels(tmp_path):
    rows = [
        {"name": "stock", "params": 7e6, "map50_95": 0.30, "gflops": 16.5, "latency_ms": 40.0},
        {"name": "ghost", "params": 3.7e6, "map50_95": 0.27, "gflops": 8.1, "latency_ms": 30.0},
        {"name": "shuffle", "params": 1e6, "map50_95": 0.20, "gflops": 3.0, "latency_ms": None},
    ]
    path = plot_pareto(rows, tmp_path / "p.png", baseline="stock", title="t")
    h, w = matplotlib.image.imread(path).shape[:2]
    assert w > 1.8 * h  # two panels side by side


def test_plot_draws_the_seed_spread_as_error_bars(tmp_path):
    rows = [
        {"name": "stock", "params": 7e6, "map50_95": 0.30, "gflops": 16.5, "latency_ms": 40.0},
        {"name": "ghost", "params": 3.7e6, "map50_95": 0.27, "gflops": 8.1, "latency_ms": 30.0},
    ]
    bare = matplotlib.image.imread(plot_pareto(rows, tmp_path / "bare.png", baseline="stock"))
    zero = [{**r, "map50_95_std": 0.0} for r in rows]  # one seed: no spread, nothing to draw
    same = matplotlib.image.imread(plot_pareto(zero, tmp_path / "zero.png", baseline="stock"))
    spread = [{**r, "map50_95_std": 0.02} for r in rows]
    bars = matplotlib.image.imread(plot_pareto(spread, tmp_path / "bars.png", baseline="stock"))
    assert (same == bare).all()
    assert bars.shape == bare.shape
    # bars of +-0.02 on a 0.03-wide score axis cover far more than a marker's worth of pixels
    assert (bars != bare).any(axis=-1).mean() > 0.002
