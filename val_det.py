"""Evaluate a detector with pycocotools (COCO AP) and the ultralytics metrics: the same command as ``yolo-ghost val``.

python val_det.py --weights runs/train/exp/weights/best.pt                  # built-in synthetic `shapes` dataset
python val_det.py --weights best.pt --data coco128.yaml --img 640 --iou-thres 0.6
"""

from __future__ import annotations

import argparse
import sys

from yolo_ghost.__main__ import main as _tool
from yolo_ghost.__main__ import parse_args as _parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The flags of ``yolo-ghost val``, parsed (for scripts that import this one)."""
    return _parse(["val", *(sys.argv[1:] if argv is None else argv)], prog="val_det.py")


def main(argv: list[str] | None = None) -> int:
    """``yolo-ghost val`` with these flags; the exit status (2 and one ``error:`` line for a refusal)."""
    return _tool(["val", *(sys.argv[1:] if argv is None else argv)], prog="val_det.py")


if __name__ == "__main__":
    sys.exit(main())
