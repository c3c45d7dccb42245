"""The one switch that keeps ultralytics off the network."""

from __future__ import annotations

import os


def go_offline() -> None:
    """Set ``YOLO_OFFLINE=1`` for this process and every process it starts (the DDP workers re-import ultralytics).

    ultralytics reads it when it is imported (its online check is a DNS probe), so the command line calls this
    before any import of ultralytics, and the trainers again for code that uses the library directly.
    """
    os.environ["YOLO_OFFLINE"] = "1"
