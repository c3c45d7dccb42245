"""``yolo-ghost configs``: the model configs usable by bare name from any directory: the shipped ones, and the stock
ultralytics detection configs yolo-ghost can build (every block of theirs registered)."""

from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES = """examples:
  yolo-ghost configs                 # names usable as --cfg NAME from any directory, and where each comes from
  yolo-ghost train --cfg yolov5n-ghost.yaml"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of the configs command (none)."""


def buildable_stock_configs() -> list[tuple[str, Path]]:
    """``(name, file)`` of every ultralytics detection YAML whose blocks are all registered here, one per scale."""
    from yolo_ghost.cfg import config_names, safe_load_yaml, ultralytics_cfg_dir
    from yolo_ghost.models.yolo import model_task
    from yolo_ghost.nn.registry import is_registered

    out = []
    for path in sorted(ultralytics_cfg_dir().rglob("*.yaml")):
        d = safe_load_yaml(path)
        rows = [*(d.get("backbone") or []), *(d.get("head") or [])] if isinstance(d, dict) else []
        names = {str(r[2]) for r in rows if isinstance(r, list) and len(r) == 4}
        if rows and model_task(d) == "detect" and all(n.startswith("nn.") or is_registered(n) for n in names):
            out += [(n, path) for n in config_names(path)]
    return out


def run(args: argparse.Namespace) -> int:
    """Print the shipped config names, then the stock ultralytics ones, each group with the folder it is read from."""
    from yolo_ghost.cfg import list_configs, models_dir, ultralytics_cfg_dir

    print(f"# shipped with yolo-ghost ({models_dir()})")
    for name in list_configs():
        print(name)
    root = ultralytics_cfg_dir()
    print(f"\n# stock ultralytics detection configs yolo-ghost builds ({root})")
    shipped = set(list_configs())
    for name, path in buildable_stock_configs():
        if name not in shipped:
            print(f"{name:<24} {path.relative_to(root)}")
    return 0
