"""Pareto fronts of accuracy against cost, and the ``pareto.png`` figure of the bench report."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def pareto_front(costs: Sequence[float], scores: Sequence[float]) -> list[int]:
    """Indices of the points no other point dominates, ordered by increasing cost.

    A point dominates another when it costs no more, scores no less, and is strictly better in one of the two
    (lower cost is better, higher score is better). Points with a NaN cost or score are never on the front; of
    exact duplicates, the first is kept.
    """
    if len(costs) != len(scores):
        raise ValueError(f"pareto_front: {len(costs)} costs but {len(scores)} scores")
    pts = [
        (float(c), -float(s), i)
        for i, (c, s) in enumerate(zip(costs, scores))
        if not (math.isnan(float(c)) or math.isnan(float(s)))
    ]
    front: list[int] = []
    best = -math.inf
    # Sweep by cost (ties: best score first, then input order): a point is on the front when it scores strictly more
    # than everything at most as costly, which also drops later duplicates.
    for _, neg_s, i in sorted(pts):
        if -neg_s > best:
            front.append(i)
            best = -neg_s
    return front


def plot_pareto(
    rows: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    score: str = "map50_95",
    costs: Sequence[tuple[str, str]] = (("gflops", "GFLOPs"), ("latency_ms", "CPU latency (ms)")),
    baseline: str | None = None,
    title: str = "",
    score_label: str | None = None,
) -> Path:
    """Save one panel per cost: ``score`` against that cost, marker area by params, front drawn, points labelled,
    the score's seed spread as error bars where given.

    Args:
        rows: one mapping per model with ``name``, ``params``, ``score`` and every cost key (a missing or None cost
            leaves the point out of that panel); an optional ``<score>_std`` (spread over seeds) is drawn as an
            error bar of that half-height.
        path: the PNG to write.
        score: the key plotted upwards (mAP50-95 by default).
        costs: ``(key, axis label)`` per panel.
        baseline: the name drawn as a star (the stock model the others are compared with).
        title: the figure title.
        score_label: the vertical axis label (default: ``score`` spelled as mAP50-95).
    """
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(costs), figsize=(6.2 * len(costs), 4.8), squeeze=False)
    pmax = max((float(r["params"]) for r in rows), default=1.0)
    for ax, (key, label) in zip(axes[0], costs):
        sel = [r for r in rows if r.get(key) is not None and not math.isnan(float(r[key]))]
        xs = [float(r[key]) for r in sel]
        ys = [float(r[score]) for r in sel]
        for r, x, y in zip(sel, xs, ys):
            size = 40 + 400 * float(r["params"]) / pmax
            star = r["name"] == baseline
            dot = ax.scatter(x, y, s=size * (1.6 if star else 1), marker="*" if star else "o", alpha=0.7, zorder=3)
            std = r.get(f"{score}_std")
            if std:  # the seed-to-seed spread: two points closer than their bars are not told apart
                ax.errorbar(x, y, yerr=float(std), color=dot.get_facecolor()[0], capsize=3, lw=1, zorder=2)
            ax.annotate(r["name"], (x, y), textcoords="offset points", xytext=(6, 5), fontsize=8)
        front = pareto_front(xs, ys)
        if front:
            # a staircase: what the cheapest front model at or below each cost achieves
            fx, fy = [xs[i] for i in front], [ys[i] for i in front]
            ax.plot(fx, fy, "--", color="0.4", lw=1, zorder=2, drawstyle="steps-post", label="Pareto front")
            ax.legend(loc="best", fontsize=8)
        ax.margins(0.15)
        ax.set_xlabel(label)
        ax.set_ylabel(score_label or score.replace("map", "mAP").replace("_", "-"))
        ax.grid(alpha=0.3)
    bars = ", bars: ±1 std over seeds" if any(r.get(f"{score}_std") for r in rows) else ""
    fig.suptitle(title + ("\n" if title else "") + "marker area ~ parameters" + bars, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
