"""benchmarks/compare_runs.py: two rows of different bench folders compared with the bench's own Welch interval."""

from __future__ import annotations

import json
import math
import statistics

import pytest
from compare_runs import compare, main

from yolo_ghost.bench.stats import welch_interval


def _row(folder, values, key="map50_95"):
    folder.mkdir(parents=True)
    for seed, v in values.items():
        (folder / f"seed{seed}.json").write_text(json.dumps({"seed": seed, key: v, "train_seconds": 1.0}))
    return folder


def test_the_interval_is_welchs_on_the_records(tmp_path, capsys):
    a = _row(tmp_path / "a" / "results" / "x+distill", {0: 0.75, 1: 0.74, 2: 0.76})
    b = _row(tmp_path / "b" / "results" / "y", {0: 0.70, 1: 0.72, 2: 0.71, 3: 0.73})
    # by hand: Welch's t with the Welch-Satterthwaite degrees of freedom
    va, vb = statistics.variance([0.75, 0.74, 0.76]) / 3, statistics.variance([0.70, 0.72, 0.71, 0.73]) / 4
    diff = 0.75 - 0.715
    d = welch_interval([0.75, 0.74, 0.76], [0.70, 0.72, 0.71, 0.73])
    assert d.diff == pytest.approx(diff) and d.high - d.diff == pytest.approx(d.diff - d.low)
    assert d.df == pytest.approx((va + vb) ** 2 / (va**2 / 2 + vb**2 / 3))
    assert (d.high - d.diff) / math.sqrt(va + vb) > 1.96  # a t quantile, wider than the normal one
    line = compare(a, b)
    assert f"{diff:+.4f} [{d.low:+.4f}, {d.high:+.4f}], significant" in line
    assert "(seeds 0, 1, 2)" in line and "(seeds 0, 1, 2, 3)" in line and "0.7500 ± 0.0100" in line
    assert main([str(a), str(b)]) == 0 and "significant" in capsys.readouterr().out


def test_missing_records_or_metric_are_one_line(tmp_path, capsys):
    a = _row(tmp_path / "a", {0: 0.9, 1: 0.8}, key="top1")
    assert main([str(a), str(tmp_path / "nothing"), "--metric", "top1"]) == 2
    assert "no seed*.json records" in capsys.readouterr().err
    assert main([str(a), str(a)]) == 2 and "no 'map50_95' in this record" in capsys.readouterr().err
    assert main([str(a), str(a), "--metric", "top1"]) == 0
    assert "+0.0000" in capsys.readouterr().out
