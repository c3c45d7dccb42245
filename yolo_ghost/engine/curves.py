"""Learning curves: read a training's per-epoch validation mAP, judge whether it has reached its plateau, plot them.

A comparison of configs after a fixed number of epochs measures capacity only when every training has stopped
improving; otherwise it measures how fast each model starts to learn. The rule used everywhere in yolo-ghost (the
training summary, the bench report): a training is **still improving** when the val mAP50-95 it gained over the
last quarter of its epochs exceeds ``PLATEAU_TOLERANCE`` (5%) of its final value.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

PLATEAU_TOLERANCE = 0.05  # largest gain over the last quarter, as a fraction of the final mAP, of a converged run
TAIL_FRACTION = 0.25  # the share of the epochs the gain is measured over
MAP_COLUMNS = {"map50_95": "metrics/mAP50-95(B)", "map50": "metrics/mAP50(B)"}
STILL_IMPROVING_WARNING = (
    "still improving at its last epoch (val {metric} gained {gain:.1%} of its final value over the last {tail} "
    "epochs, more than {tol:.0%}): a comparison at this length reflects training speed rather than capacity; "
    "train longer (--epochs)"
)


def read_curve(results_csv: str | Path, columns: Mapping[str, str] = MAP_COLUMNS) -> dict[str, list[float]]:
    """Per-epoch ``epoch`` and each key of ``columns`` (by default ``map50_95`` and ``map50``; a classifier's are
    ``top1`` / ``top5``, see ``yolo_ghost.bench.tasks``) from an ultralytics ``results.csv`` (one row per epoch).

    Rows logged after training (ultralytics logs the final validation of ``best.pt`` as one more epoch) are left
    out by keeping epochs in increasing order only up to the first repeat or gap.
    """
    path = Path(results_csv)
    with open(path, newline="") as f:
        rows = [{k.strip(): v for k, v in r.items() if k is not None} for r in csv.DictReader(f)]
    out: dict[str, list[float]] = {"epoch": [], **{k: [] for k in columns}}
    for r in rows:
        try:
            epoch = int(float(r["epoch"]))
        except (KeyError, ValueError):
            raise ValueError(f"{path}: not an ultralytics results.csv (no numeric 'epoch' column)") from None
        if out["epoch"] and epoch != out["epoch"][-1] + 1:
            break
        out["epoch"].append(epoch)
        for key, col in columns.items():
            out[key].append(float(r.get(col) or "nan"))
    return out


def logged_seconds(results_csv: str | Path) -> float:
    """Training time an ultralytics ``results.csv`` has logged so far (its ``time`` column: seconds since the start
    of the training, restarting from 0 when a cut-off training was resumed), summed over the segments; 0 when there
    is no file. Time spent in an epoch that was cut off before it was logged is not in it."""
    path = Path(results_csv)
    if not path.is_file():
        return 0.0
    with open(path, newline="") as f:
        times = [float(r["time"]) for r in csv.DictReader(f, skipinitialspace=True) if (r.get("time") or "").strip()]
    ends = [t for t, nxt in zip(times, [*times[1:], None]) if nxt is None or nxt < t]  # last time of each segment
    return float(sum(ends))


def tail_length(n_epochs: int) -> int:
    """How many final epochs the plateau rule looks at: a quarter, at least one."""
    return max(1, math.ceil(TAIL_FRACTION * n_epochs))


def plateau_gain(curve: Sequence[float]) -> float:
    """The mAP gained over the last quarter of the epochs, as a fraction of the final value.

    ``curve[-1] - curve[-1 - tail]`` divided by ``curve[-1]``; ``inf`` for a curve too short to judge (fewer than
    two epochs) or ending at 0 while still moving, 0.0 for a flat curve at 0.
    """
    vals = [float(v) for v in curve]
    if len(vals) < 2:
        return math.inf
    final = vals[-1]
    gain = final - vals[-1 - min(tail_length(len(vals)), len(vals) - 1)]
    if final <= 0.0:
        return 0.0 if gain <= 0.0 else math.inf
    return gain / final


def still_improving(curve: Sequence[float], tolerance: float = PLATEAU_TOLERANCE) -> bool:
    """Whether a training with this per-epoch val mAP had not reached its plateau (see the module docstring)."""
    return plateau_gain(curve) > tolerance


def convergence(curve: Sequence[float]) -> dict[str, Any]:
    """``{"still_improving", "plateau_gain", "tail_epochs"}`` of one training's per-epoch val mAP50-95."""
    gain = plateau_gain(curve)
    return {
        "still_improving": gain > PLATEAU_TOLERANCE,
        "plateau_gain": gain if math.isfinite(gain) else None,
        "tail_epochs": tail_length(len(curve)),
    }


def warning_text(conv: Mapping[str, Any], metric: str = "mAP50-95") -> str:
    """The warning printed for a run that is still improving (``conv`` from ``convergence`` of its ``metric``)."""
    gain = conv["plateau_gain"]
    return STILL_IMPROVING_WARNING.format(
        metric=metric, gain=math.inf if gain is None else gain, tail=conv["tail_epochs"], tol=PLATEAU_TOLERANCE
    )


def training_curve(
    save_dir: str | Path, columns: Mapping[str, str] = MAP_COLUMNS, key: str = "map50_95"
) -> dict[str, Any]:
    """``{"curve": read_curve(...), "convergence": convergence(curve[key])}`` of a training folder, or ``{}`` when it
    has no ``results.csv`` (validation was switched off)."""
    results_csv = Path(save_dir) / "results.csv"
    if not results_csv.is_file():
        return {}
    curve = read_curve(results_csv, columns=columns)
    return {"curve": curve, "convergence": convergence(curve[key])}


def summary_warning(conv: Mapping[str, Any] | None, metric: str = "mAP50-95") -> list[str]:
    """The training summary's warning line for a run still improving (``conv`` from ``convergence``), or none."""
    return [f"WARNING: this training is {warning_text(conv, metric)}"] if conv and conv["still_improving"] else []


def plot_curves(
    runs: Sequence[Mapping[str, Any]],
    path: str | Path,
    title: str = "val mAP50-95 per epoch",
    key: str = "map50_95",
    ylabel: str = "val mAP50-95 (ultralytics, EMA weights)",
) -> Path:
    """Plot the curve ``key`` (mAP50-95 by default) against epoch, one line per run and one colour per config; returns
    ``path``.

    Each run is ``{"name": config row name, "seed": int, "curve": {"epoch": [...], key: [...]}}`` plus, as the
    bench stores it, ``"convergence"`` (``convergence(...)``): runs still improving are drawn dashed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    names = list(dict.fromkeys(r["name"] for r in runs))
    colours = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for r in runs:
        k = names.index(r["name"])
        style = "--" if (r.get("convergence") or {}).get("still_improving") else "-"
        ax.plot(r["curve"]["epoch"], r["curve"][key], style, color=colours(k % 10), lw=1.4, alpha=0.85)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    # one solid entry per config (whatever its first run's style), then what the line styles mean
    handles = [Line2D([], [], color=colours(k % 10), lw=1.4, label=n) for k, n in enumerate(names)]
    if any((r.get("convergence") or {}).get("still_improving") for r in runs):
        handles += [
            Line2D([], [], color="0.3", lw=1.4, label="solid: reached its plateau"),
            Line2D([], [], color="0.3", lw=1.4, ls="--", label="dashed: still improving at its end"),
        ]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
