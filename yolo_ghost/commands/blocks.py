"""``python -m yolo_ghost blocks``: the registered blocks, their YAML signature and paper."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of the blocks command."""
    p.add_argument("pattern", nargs="?", default=None, help="only names containing this text")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table (as in the README)")


def run(args: argparse.Namespace) -> int:
    """Print one line per registered block."""
    from yolo_ghost.registry import get_block, list_blocks

    names = list_blocks(args.pattern)
    if args.markdown:
        print("| YAML name | YAML args | what it is |\n|---|---|---|")
    for name in names:
        spec = get_block(name)
        if args.markdown:
            print(f"| `{name}` | `{spec.signature}` | {spec.paper} |")
        else:
            print(f"{name:<22} {spec.signature:<44} {spec.paper}")
    return 0
