"""``python -m yolo_ghost COMMAND``: profile, export, bench, blocks, configs.

Each command lives in its own module exposing ``add_arguments(parser)`` and ``run(args) -> int``; this file only
wires them to argparse, so a command is imported only when it is used.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "profile": (
        "yolo_ghost.commands.profile",
        "per-layer params / GFLOPs / memory traffic, side by side with --compare",
    ),
    "export": (
        "yolo_ghost.commands.export",
        "export a checkpoint or config to ONNX, checked against PyTorch in onnxruntime",
    ),
    "bench": (
        "yolo_ghost.commands.bench",
        "train, evaluate, profile and time several configs; write bench.md/csv/json/png",
    ),
    "blocks": ("yolo_ghost.commands.blocks", "list the registered blocks with their YAML signature and paper"),
    "configs": ("yolo_ghost.commands.configs", "list the shipped model configs"),
}


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m yolo_ghost", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    argv = sys.argv[1:] if argv is None else argv
    wanted = argv[0] if argv and argv[0] in COMMANDS else None
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:  # import only the module of the command being run (keeps --help fast)
            importlib.import_module(module).add_arguments(p)
    args = parser.parse_args(argv)
    return importlib.import_module(COMMANDS[args.command][0]).run(args)


if __name__ == "__main__":
    sys.exit(main())
