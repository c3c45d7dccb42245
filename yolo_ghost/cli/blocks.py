"""``python -m yolo_ghost blocks``: the registered blocks, their YAML signature and paper."""

from __future__ import annotations

import argparse

EXAMPLES = """examples:
  yolo-ghost blocks                  # every registered block: YAML name, args, paper
  yolo-ghost blocks Ghost            # only names containing 'Ghost'
  yolo-ghost blocks --markdown       # the README's table"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of the blocks command."""
    p.add_argument("pattern", nargs="?", default=None, help="only names containing this text")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table (as in the README)")


def run(args: argparse.Namespace) -> int:
    """Print one line per registered block (two for a name that means another block in each YAML dialect)."""
    from yolo_ghost.nn.registry import list_specs

    if args.markdown:
        print("| YAML name | YAML args | what it is |\n|---|---|---|")
    for spec in list_specs(args.pattern):
        dialect = f" ({spec.dialect} YAMLs)" if spec.dialect else ""
        if args.markdown:
            print(f"| `{spec.name}`{dialect} | `{spec.signature}` | {spec.paper} |")
        else:
            print(f"{spec.label:<26} {spec.signature:<44} {spec.paper}")
    return 0
