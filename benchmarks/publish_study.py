"""Publish a finished ShuffleNet V2 variant-study bench as docs/shufflenet-study.md, with its learning curves and
Pareto figure copied to docs/img/shufflenet-study-curves.png and docs/img/shufflenet-study-pareto.png. The published
bench is results/shufflenet-study:

python benchmarks/publish_study.py results/shufflenet-study

A new study:

python -m yolo_ghost bench --cfg shufflenetv2-cls.yaml shufflenetv2-se-cls.yaml shufflenetv2-sk-cls.yaml \\
    shufflenetv2-liteconv-cls.yaml shufflenetv2-k5-cls.yaml shufflenetv2-csp-cls.yaml --seeds 5 --name study
python benchmarks/publish_study.py runs/bench/study
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from study_report import publish_study

DOCS = Path(__file__).resolve().parents[1] / "docs"


def main(argv: list[str] | None = None) -> int:
    """Write the page; print its path, or one line naming the problem and return 2."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="a finished classifier bench folder (holding bench.json)")
    p.add_argument("--out", type=Path, default=DOCS / "shufflenet-study.md", help="the page to write")
    a = p.parse_args(argv)
    try:
        page = publish_study(a.run, a.out)
    except (FileNotFoundError, ValueError) as e:
        print(f"publish_study.py: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
