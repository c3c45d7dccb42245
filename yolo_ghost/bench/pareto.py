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
    """Save one panel per cost: ``score`` against that cost, marker area by params, front drawn, points labelled
    where the labels do not collide (``place_labels``), the score's seed spread as error bars where given, and one
    legend below the panels that says what the marker size, the star, the bars and the dashed line mean. A GFLOPs
    axis whose values are all below 0.1 is drawn in MFLOPs.

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
    from matplotlib.lines import Line2D

    fig, axes = plt.subplots(1, len(costs), figsize=(6.2 * len(costs), 4.8), squeeze=False)
    pmax = max((float(r["params"]) for r in rows), default=1.0)
    has_std = any(r.get(f"{score}_std") for r in rows)
    has_front = False
    panels = []  # (ax, [(name, x, y, marker radius in points)])
    for ax, (key, label) in zip(axes[0], costs):
        sel = [r for r in rows if r.get(key) is not None and not math.isnan(float(r[key]))]
        xs = [float(r[key]) for r in sel]
        if "GFLOPs" in label and xs and max(xs) < 0.1:  # a classifier at 32 px: say 4.2 MFLOPs, not 0.0042 GFLOPs
            xs, label = [x * 1e3 for x in xs], label.replace("GFLOPs", "MFLOPs")
        ys = [float(r[score]) for r in sel]
        points, lines = [], []  # lines: what a label should not cover (error bars, the front), in data coordinates
        for r, x, y in zip(sel, xs, ys):
            star = r["name"] == baseline
            size = (40 + 400 * float(r["params"]) / pmax) * (1.6 if star else 1)
            dot = ax.scatter(x, y, s=size, marker="*" if star else "o", alpha=0.7, zorder=3)
            std = r.get(f"{score}_std")
            if std:  # the seed-to-seed spread: two points closer than their bars are not told apart
                ax.errorbar(x, y, yerr=float(std), color=dot.get_facecolor()[0], capsize=3, lw=1, zorder=2)
                lines.append([(x, y - float(std)), (x, y + float(std))])
            points.append((r["name"], x, y, math.sqrt(size) / 2))
        front = pareto_front(xs, ys)
        if front:
            # a staircase: what the cheapest front model at or below each cost achieves
            fx, fy = [xs[i] for i in front], [ys[i] for i in front]
            ax.plot(fx, fy, "--", color="0.4", lw=1, zorder=2, drawstyle="steps-post")
            steps = [(fx[0], fy[0])]
            for x, y in zip(fx[1:], fy[1:]):
                steps += [(x, steps[-1][1]), (x, y)]
            lines.append(steps)
            has_front = True
        ax.margins(0.15)
        ax.set_xlabel(label)
        ax.set_ylabel(score_label or score.replace("map", "mAP").replace("_", "-"))
        ax.grid(alpha=0.3)
        panels.append((ax, points, lines))
    # One legend for the figure, below the panels, so that it never covers a point or a label.
    handles = [
        Line2D([], [], ls="", marker="o", color="0.5", alpha=0.7, markersize=5, label="small marker: few parameters"),
        Line2D([], [], ls="", marker="o", color="0.5", alpha=0.7, markersize=12,
               label=f"large: many (area ~ params, largest {pmax / 1e6:.2f}M)"),
    ]  # fmt: skip
    if baseline is not None and any(r["name"] == baseline for r in rows):
        handles.append(
            Line2D([], [], ls="", marker="*", color="0.5", markersize=12, label=f"star: {baseline}, the baseline")
        )
    if has_std:
        handles.append(Line2D([], [], color="0.3", lw=1, marker="_", markersize=8, label="bar: ±1 std over seeds"))
    if has_front:
        handles.append(
            Line2D([], [], ls="--", color="0.4", lw=1, label="dashed: Pareto front (nothing cheaper scores more)")
        )
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 3), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    rows_of_legend = math.ceil(len(handles) / 3)
    fig.tight_layout(rect=(0, 0.045 * rows_of_legend + 0.02, 1, 1))
    fig.canvas.draw()  # fixes the axis limits and gives a renderer to measure the labels with
    for ax, points, lines in panels:
        place_labels(ax, points, lines)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# Where a label may go, relative to its point, in units of (marker radius + a gap): right, left, above, below and the
# diagonals first, then the same directions further out (drawn with a leader line).
_DIRECTIONS = (
    (1, 0.4),
    (-1, 0.4),
    (1, -0.9),
    (-1, -0.9),
    (0, 1.3),
    (0, -1.6),
    (1, 1.2),
    (-1, 1.2),
    (1, -1.8),
    (-1, -1.8),
)


def place_labels(
    ax: Any,
    points: Sequence[tuple[str, float, float, float]],
    lines: Sequence[Sequence[tuple[float, float]]] = (),
    fontsize: float = 8,
) -> list[Any]:
    """Label each point ``(name, x, y, marker radius in points)`` of ``ax`` where the label overlaps no other label,
    no marker and no axis-parallel segment of ``lines`` (polylines in data coordinates: error bars, a staircase)
    and stays inside the axes: the first such place in ``_DIRECTIONS`` near the point, else further out with a leader
    line, else the place with the least overlap. Needs a drawn figure (``fig.canvas.draw()``)."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    to_px = fig.dpi / 72
    inside = ax.get_window_extent(renderer)
    marker_boxes = []
    for _, x, y, rad in points:
        px, py = ax.transData.transform((x, y))
        r = rad * to_px
        marker_boxes.append((px - r, py - r, px + r, py + r))

    def overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        return w * h if w > 0 and h > 0 else 0.0

    segment_boxes = []
    for line in lines:
        px = [tuple(ax.transData.transform(v)) for v in line]
        for (x0, y0), (x1, y1) in zip(px, px[1:]):
            segment_boxes.append((min(x0, x1) - 2, min(y0, y1) - 2, max(x0, x1) + 2, max(y0, y1) + 2))

    placed: list[tuple[float, ...]] = []
    texts = []
    # Crowded points first: they have the fewest free places.
    centres = [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in marker_boxes]
    crowd = [sum(math.dist(c, d) < 80 for d in centres) for c in centres]
    order = sorted(range(len(points)), key=lambda i: -crowd[i])
    for i in order:
        name, x, y, rad = points[i]
        best = None
        for reach in (1.0, 2.2, 3.6):
            for dx, dy in _DIRECTIONS:
                gap = (rad + 3) * reach
                off = (dx * gap, dy * gap)
                ha = "left" if dx > 0 else "right" if dx < 0 else "center"
                t = ax.annotate(name, (x, y), textcoords="offset points", xytext=off, fontsize=fontsize, ha=ha,
                                va="center", zorder=4)  # fmt: skip
                bb = t.get_window_extent(renderer)
                box = (bb.x0 - 2, bb.y0 - 1, bb.x1 + 2, bb.y1 + 1)
                out = (max(0, inside.x0 - box[0]) + max(0, box[2] - inside.x1)) * bb.height + (
                    max(0, inside.y0 - box[1]) + max(0, box[3] - inside.y1)
                ) * bb.width
                cost = (
                    out
                    + sum(overlap(box, b) for b in placed)
                    + sum(overlap(box, m) for j, m in enumerate(marker_boxes) if j != i)
                )
                cost += overlap(box, marker_boxes[i])  # never on its own marker
                cost += 0.5 * sum(overlap(box, b) for b in segment_boxes)  # a line under a label: better avoided
                t.remove()
                if best is None or cost < best[0]:
                    best = (cost, off, ha, box, reach)
                if cost == 0:
                    break
            if best[0] == 0:
                break
        _, off, ha, box, reach = best
        arrow = {"arrowstyle": "-", "color": "0.5", "lw": 0.6, "shrinkA": 0, "shrinkB": rad} if reach > 1 else None
        t = ax.annotate(name, (x, y), textcoords="offset points", xytext=off, fontsize=fontsize, ha=ha, va="center",
                        zorder=4, arrowprops=arrow)  # fmt: skip
        texts.append(t)
        placed.append(box)
    return texts
