"""``yolo-ghost blocks``: the registered blocks, their YAML signature and paper; ``blocks NAME`` describes one."""

from __future__ import annotations

import argparse
import inspect

EXAMPLES = """examples:
  yolo-ghost blocks                  # every registered block: YAML name, args, paper
  yolo-ghost blocks C3Ghost          # that block: its YAML args, paper, class and what it does
  yolo-ghost blocks Ghost            # the names containing 'Ghost'
  yolo-ghost blocks --markdown       # the docs' table"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of the blocks command."""
    p.add_argument("pattern", nargs="?", default=None, help="a block name to describe, or text its names contain")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table (as in docs/models.md)")


def describe(name: str) -> str:
    """What ``yolo-ghost blocks NAME`` prints for a registered name: per dialect, its YAML args, paper, class and the
    first paragraph of its docstring."""
    from yolo_ghost.nn.registry import list_specs

    lines = []
    for spec in (s for s in list_specs(name) if s.name == name):
        doc = (inspect.getdoc(spec.factory) or "").split("\n\n")[0].replace("\n", " ")
        where = f"{spec.factory.__module__}.{spec.factory.__qualname__}"
        lines += [
            f"{spec.label}",
            f"  YAML args  {spec.signature}",
            f"  from       {spec.paper}",
            f"  class      {where}",
            *([f"  what       {doc}"] if doc else []),
        ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Describe one block, or print one line per registered block matching the pattern (two for a name that means
    another block in each YAML dialect); a pattern nothing matches is refused with the closest names."""
    from yolo_ghost.cfg import ConfigError
    from yolo_ghost.nn.registry import is_registered, list_specs, unknown_block_message

    if args.pattern and is_registered(args.pattern) and not args.markdown:
        print(describe(args.pattern))
        return 0
    specs = list_specs(args.pattern)
    if not specs:
        raise ConfigError(unknown_block_message(args.pattern))
    if args.markdown:
        print("| YAML name | YAML args | what it is |\n|---|---|---|")
    for spec in specs:
        dialect = f" ({spec.dialect} YAMLs)" if spec.dialect else ""
        if args.markdown:
            print(f"| `{spec.name}`{dialect} | `{spec.signature}` | {spec.paper} |")
        else:
            print(f"{spec.label:<26} {spec.signature:<44} {spec.paper}")
    return 0
