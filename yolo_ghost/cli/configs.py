"""``python -m yolo_ghost configs``: the shipped model configs (usable by bare name from any directory)."""

from __future__ import annotations

import argparse

EXAMPLES = """examples:
  yolo-ghost configs                 # names usable as --cfg NAME from any directory
  yolo-ghost train --cfg yolov5n-ghost.yaml"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of the configs command (none)."""


def run(args: argparse.Namespace) -> int:
    """Print the shipped config names and where they are read from."""
    from yolo_ghost.cfg import list_configs, models_dir

    print(f"# shipped configs (from {models_dir()})")
    for name in list_configs():
        print(name)
    return 0
