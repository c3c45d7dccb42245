"""``python -m yolo_ghost profile``: compare models by params, GFLOPs and memory traffic, layer by layer."""

from __future__ import annotations

import argparse

from yolo_ghost.cfg import ConfigError
from yolo_ghost.cli import options

EXAMPLES = """examples:
  yolo-ghost profile --cfg yolov5l-ghost.yaml --compare yolov5l.yaml         # per-layer tables and the ratios
  yolo-ghost profile --cfg yolov5n-ghost.yaml yolov5n.yaml --summary --img 320
  yolo-ghost profile --cfg yolov5s-spconv.yaml --json"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of the profile command."""
    p.add_argument(
        "--cfg", nargs="+", required=True, help="model YAML(s): a path or a shipped name (yolov5l-ghost.yaml)"
    )
    p.add_argument("--compare", nargs="*", default=[], help="baseline config(s); ratios are given to the first one")
    options.add_img(p, default=640, help="square input size in pixels, rounded up to a multiple of 32 (default 640)")
    p.add_argument("--nc", type=int, default=None, help="number of classes (default: the YAML's nc)")
    p.add_argument("--no-fuse", action="store_true", help="count with BatchNorm unfused (default: fused, as published)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--summary", action="store_true", help="only the side-by-side table, no per-layer tables")
    p.add_argument("--markdown", action="store_true", help="only the side-by-side table, as Markdown")


def run(args: argparse.Namespace) -> int:
    """Profile every config and print the tables (or JSON)."""
    from yolo_ghost.tools.profiler import format_comparison, format_layers, format_markdown, profile_model, to_json

    args.img = options.round_to_stride(args.img)
    try:
        profiles = [profile_model(c, args.img, fuse=not args.no_fuse, nc=args.nc) for c in args.cfg + args.compare]
    except KeyError as e:
        raise ConfigError(str(e)) from None
    if args.json:
        print(to_json(profiles))
        return 0
    base = profiles[len(args.cfg)] if args.compare else profiles[0]
    if args.markdown:
        print(format_markdown(profiles, base if args.compare else None))
        return 0
    if not args.summary:
        for p in profiles:
            print(format_layers(p), end="\n\n")
    print(format_comparison(profiles, base))
    return 0
