"""Detect objects with a trained yolo-ghost model (YOLOv5's detect.py flags): the same command as
``yolo-ghost predict``.

python detect.py --weights runs/train/exp/weights/best.pt --source path/to/images/
python detect.py --weights best_openvino_model/ --source video.mp4 --conf 0.4
"""

from __future__ import annotations

import sys

from yolo_ghost.__main__ import main as _tool


def main(argv: list[str] | None = None) -> int:
    """``yolo-ghost predict`` with these flags; the exit status (2 and one ``error:`` line for a refusal)."""
    return _tool(["predict", *(sys.argv[1:] if argv is None else argv)], prog="detect.py")


if __name__ == "__main__":
    sys.exit(main())
