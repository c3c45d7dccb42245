"""``yolo-ghost COMMAND`` (or ``python -m yolo_ghost COMMAND``): train, val, predict, export, bench, profile, blocks,
configs, train-cls.

Each command lives in ``yolo_ghost.cli.<name>`` with ``add_arguments(parser)``, ``run(args) -> int`` and its
``EXAMPLES``; the flags several commands share are defined once in ``yolo_ghost.cli.options``. This file only
wires them to argparse (importing only the command being run, so ``--help`` stays fast) and turns every refusal
(a bad flag, a ``ConfigError``, a missing file) into one line ``error: ...`` on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from yolo_ghost import __version__
from yolo_ghost.cli.options import OneLineParser, fail

COMMANDS = {
    "train": ("yolo_ghost.cli.train", "train a detector on the ultralytics engine (YOLOv5's train.py flags)"),
    "val": ("yolo_ghost.cli.val", "evaluate a detector checkpoint: COCO AP with pycocotools"),
    "predict": ("yolo_ghost.cli.predict", "detect objects in images, folders, videos or a webcam (YOLOv5's detect.py)"),
    "export": (
        "yolo_ghost.cli.export",
        "export a checkpoint or config (onnx, torchscript, openvino, ...), checked against PyTorch",
    ),
    "bench": (
        "yolo_ghost.cli.bench",
        "train, evaluate, profile and time several configs; write bench.md/csv/json/png",
    ),
    "profile": (
        "yolo_ghost.cli.profile",
        "per-layer params / GFLOPs / memory traffic, side by side with --compare",
    ),
    "blocks": ("yolo_ghost.cli.blocks", "list the registered blocks with their YAML signature and paper"),
    "configs": ("yolo_ghost.cli.configs", "list the shipped model configs"),
    "train-cls": ("yolo_ghost.cli.train_cls", "train or evaluate a classifier (ImageFolder datasets)"),
}
PROG = "yolo-ghost"


def build_parser(command: str | None = None, prog: str = PROG) -> OneLineParser:
    """The parser of the tool; only ``command``'s flags are added (the others are not imported)."""
    parser = OneLineParser(
        prog=prog,
        description=__doc__.split("\n\n")[0].replace("``", ""),
        epilog="run `yolo-ghost COMMAND --help` for a command's flags and examples",
    )
    parser.add_argument("--version", action="version", version=f"yolo-ghost {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        if name == command:
            mod = importlib.import_module(module)
            p = sub.add_parser(name, help=help_text, description=help_text, epilog=getattr(mod, "EXAMPLES", None))
            mod.add_arguments(p)
        else:
            sub.add_parser(name, help=help_text, description=help_text)
    return parser


def parse_args(argv: list[str] | None = None, prog: str | None = None) -> argparse.Namespace:
    """Parse a command line (``COMMAND FLAGS...``); with ``prog`` (a root script), the command's own parser is named
    after the script in ``--help`` and in its one-line errors."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not prog:
        command = argv[0] if argv and argv[0] in COMMANDS else None
        return build_parser(command).parse_args(argv)
    command = argv[0]
    p = build_parser(command)._subparsers._group_actions[0].choices[command]  # the command's own parser
    p.prog, p.error_prefix = prog, f"{prog}: "
    args = p.parse_args(argv[1:])
    args.command = command
    return args


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Parse the command line and run one command; returns the exit code.

    ``prog`` is set by the root scripts (``train_det.py`` ...): ``argv`` is then that one command's flags, and
    ``--help`` and errors name the script.
    """

    formatwarning = warnings.formatwarning
    warnings.formatwarning = lambda message, *_args, **_kw: f"warning: {message}\n"  # one line, like the errors
    try:
        return _run(argv, prog)
    finally:
        warnings.formatwarning = formatwarning


def _run(argv: list[str] | None, prog: str | None) -> int:
    from yolo_ghost.cfg import ConfigError

    args = parse_args(argv, prog)
    try:
        return importlib.import_module(COMMANDS[args.command][0]).run(args)
    except BrokenPipeError:  # `yolo-ghost blocks | head`: the reader has gone; nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ConfigError, FileNotFoundError) as e:  # UnsafeCheckpointError is a ConfigError
        return fail(e, prefix=f"{prog}: " if prog else "")


if __name__ == "__main__":
    sys.exit(main())
