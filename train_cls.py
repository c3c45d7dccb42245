"""Train (or evaluate) a yolo-ghost classifier: the same command as ``yolo-ghost train-cls``.

python train_cls.py --cfg shufflenetv2-k5-cls.yaml                          # built-in synthetic `shapes-cls-v2` set
python train_cls.py --cfg shufflenetv2-cls.yaml --data ~/data/cifar10 --epochs 30   # ImageFolder layout on disk
python train_cls.py --val runs/train-cls/exp/weights/best.pt --data ~/data/cifar10  # evaluate a checkpoint
"""

from __future__ import annotations

import argparse
import sys

from yolo_ghost.__main__ import main as _tool
from yolo_ghost.__main__ import parse_args as _parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The flags of ``yolo-ghost train-cls``, parsed (for scripts that import this one)."""
    return _parse(["train-cls", *(sys.argv[1:] if argv is None else argv)], prog="train_cls.py")


def main(argv: list[str] | None = None) -> int:
    """``yolo-ghost train-cls`` with these flags; the exit status (2 and one ``error:`` line for a refusal)."""
    return _tool(["train-cls", *(sys.argv[1:] if argv is None else argv)], prog="train_cls.py")


if __name__ == "__main__":
    sys.exit(main())
