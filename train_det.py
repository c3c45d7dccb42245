"""Train a yolo-ghost detector (YOLOv5's train.py flags): the same command as ``yolo-ghost train``.

python train_det.py --cfg yolov5n-ghost.yaml                      # built-in synthetic `shapes` dataset
python train_det.py --cfg yolov5s-ghost.yaml --data coco128.yaml --epochs 100 --img 640 --compare yolov5s.yaml
python train_det.py --resume runs/train/exp                        # continue an interrupted run
"""

from __future__ import annotations

import argparse
import sys

from yolo_ghost.__main__ import main as _tool
from yolo_ghost.__main__ import parse_args as _parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The flags of ``yolo-ghost train``, parsed (for scripts that import this one)."""
    return _parse(["train", *(sys.argv[1:] if argv is None else argv)], prog="train_det.py")


def main(argv: list[str] | None = None) -> int:
    """``yolo-ghost train`` with these flags; the exit status (2 and one ``error:`` line for a refusal)."""
    return _tool(["train", *(sys.argv[1:] if argv is None else argv)], prog="train_det.py")


if __name__ == "__main__":
    sys.exit(main())
