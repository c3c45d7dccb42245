"""Compare two rows of possibly different bench folders: the Welch 95% interval of the difference of their means.

A bench compares the rows it trained; a comparison across folders (a distilled row of one bench against the stock
row of another, trained on the same recipe) reads the per-seed records each bench wrote and applies the bench's own
statistics (``yolo_ghost.bench.stats``), so that the figure on the page comes from a script, not from a hand sum.

    python benchmarks/compare_runs.py results/distill-s/results/yolov5s-ghost+distill \\
        results/bench-6seeds/results/yolov5s
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from yolo_ghost.bench.stats import mean_std, welch_interval


def read_runs(row_dir: Path, metric: str) -> dict[int, float]:
    """``{seed: metric}`` of the ``seed<k>.json`` records in a bench's ``results/<row>`` folder.

    Raises:
        ValueError: the folder holds no records, or a record lacks ``metric``.
    """
    runs = {}
    for f in sorted(row_dir.glob("seed*.json")):
        record = json.loads(f.read_text())
        if metric not in record:
            raise ValueError(f"{f}: no {metric!r} in this record (keys: {', '.join(sorted(record))})")
        runs[int(record["seed"])] = float(record[metric])
    if not runs:
        raise ValueError(f"{row_dir}: no seed*.json records (give a bench's results/<row> folder)")
    return runs


def compare(a_dir: Path, b_dir: Path, metric: str = "map50_95") -> str:
    """One line: each row's mean ± std over its seeds, and ``a - b`` with its Welch 95% interval."""
    a, b = read_runs(a_dir, metric), read_runs(b_dir, metric)
    (ma, sa), (mb, sb) = mean_std(list(a.values())), mean_std(list(b.values()))
    d = welch_interval(list(a.values()), list(b.values()))
    interval = f"[{d.low:+.4f}, {d.high:+.4f}]" if d.low is not None else "(no interval: one run on a side)"
    verdict = "significant" if d.significant else "not significant"
    return (
        f"{a_dir} (seeds {', '.join(map(str, a))}): {ma:.4f} ± {sa:.4f}; {b_dir} (seeds {', '.join(map(str, b))}): "
        f"{mb:.4f} ± {sb:.4f}; {metric} difference {d.diff:+.4f} {interval}, {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", type=Path, help="a bench's results/<row> folder (the row compared)")
    p.add_argument("b", type=Path, help="a bench's results/<row> folder (the reference)")
    p.add_argument(
        "--metric", default="map50_95", help="record key to compare (default map50_95; top1 for classifiers)"
    )
    args = p.parse_args(argv)
    try:
        print(compare(args.a, args.b, args.metric))
    except ValueError as e:
        print(f"compare_runs.py: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
