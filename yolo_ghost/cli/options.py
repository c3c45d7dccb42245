"""The flags several commands share, each defined once, so ``train``, ``val``, ``bench``, ``train-cls`` and the root
scripts cannot drift apart; and the one-line error every command prints on a refusal.

Help texts name the default only where it is a constant; commands whose default comes from a recipe pass theirs.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, NoReturn


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose refusals (unknown flag, bad value, missing argument) are one line on stderr,
    ``error: ...`` (with the program name before it for the root scripts), and exit status 2, like every other
    refusal of the commands; examples in the epilog keep their line breaks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        kwargs.setdefault("allow_abbrev", False)  # `--epoch 3` is a typo, not `--epochs 3`
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        fail(f"{message}{key_value_hint(message)} (see {self.prog} --help)", prefix=getattr(self, "error_prefix", ""))
        sys.exit(2)


def key_value_hint(message: str) -> str:
    """For an error caused by ultralytics-style ``key=value`` arguments, the flag form to use instead."""
    from yolo_ghost.engine.hyp import flag_for

    pairs = re.findall(r"(?<![-\w])([A-Za-z_]\w*)=(\S+?)'?(?=\s|$|,|')", message)
    if not pairs:
        return ""
    flags = " ".join(f"{flag_for(k)} {v}" for k, v in pairs)
    return f"; yolo-ghost takes flags, not key=value arguments: {flags}"


def fail(message: str | BaseException, prefix: str = "") -> int:
    """Print ``message`` as one line ``error: ...`` on stderr and return the exit status 2 to give back."""
    print(f"{prefix}error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


def add_cfg(p: argparse.ArgumentParser, *, nargs: str | None = None, required: bool = False, help: str = "") -> None:
    """``--cfg``: model YAML(s), a shipped bare name or a path."""
    text = help or "model YAML: a shipped name (yolov5n-ghost.yaml, see `yolo-ghost configs`) or a path"
    p.add_argument("--cfg", nargs=nargs, required=required, help=text)


def add_weights(p: argparse.ArgumentParser, *, nargs: str | None = None, required: bool = False, help: str) -> None:
    """``--weights``: a checkpoint (.pt); the meaning differs per command, so each says it."""
    p.add_argument("--weights", nargs=nargs, required=required, default=None, help=help)


def add_data(p: argparse.ArgumentParser, *, default: str | None = "shapes", help: str = "") -> None:
    """``--data``: a dataset YAML, or a built-in synthetic set."""
    p.add_argument(
        "--data", default=default, help=help or f"dataset YAML path, or 'shapes' for the built-in synthetic set "
        f"(default {default})"
    )  # fmt: skip


def add_epochs(p: argparse.ArgumentParser, default: int | None = None, help: str = "") -> None:
    """``--epochs``."""
    p.add_argument("--epochs", type=int, default=default, help=help or f"number of epochs (default {default})")


def add_img(p: argparse.ArgumentParser, default: int | None = None, help: str = "") -> None:
    """``--img`` (aliases ``--imgsz``, ``--img-size``): the square input size in pixels."""
    p.add_argument(
        "--img", "--imgsz", "--img-size", dest="img", type=int, default=default,
        help=help or f"square image size in pixels (default {default})",
    )  # fmt: skip


def round_to_stride(img: int, stride: int = 32, flag: str = "--img") -> int:
    """``img`` rounded up to a multiple of ``stride`` (the models' largest), with a one-line warning on stderr when it
    changes, as YOLOv5's ``check_img_size`` does; a size below one stride is refused."""
    from yolo_ghost.cfg import ConfigError

    if img < 1:
        raise ConfigError(f"{flag} {img}: must be a positive number of pixels")
    new = -(-img // stride) * stride
    if new != img:
        print(f"warning: {flag} {img} is not a multiple of the largest stride {stride}; using {new}", file=sys.stderr)
    return new


def add_batch_size(p: argparse.ArgumentParser, default: int | None = None, help: str = "") -> None:
    """``--batch-size``."""
    p.add_argument(
        "--batch-size", type=int, default=default, help=help or f"images per batch (default {default})"
    )  # fmt: skip


def add_device(p: argparse.ArgumentParser, several: bool = False) -> None:
    """``--device``: as YOLOv5 chooses it, the first CUDA device when there is one, else the CPU; ``several`` for
    the commands that take several GPUs (DDP training)."""
    more = ", or several '0,1' (DDP)" if several else ""
    p.add_argument(
        "--device", default="", help=f"'' (default): the first CUDA device if there is one, else the CPU; 'cpu', "
        f"a CUDA index '0'{more}"
    )  # fmt: skip


def add_workers(p: argparse.ArgumentParser, default: int | None, help: str = "") -> None:
    """``--workers``; a ``None`` default leaves the choice to the command (which then says it in ``help``)."""
    p.add_argument(
        "--workers", type=int, default=default, help=help or f"dataloader worker processes (default {default})"
    )


def add_seed(p: argparse.ArgumentParser, help: str = "random seed (default 0)") -> None:
    """``--seed``."""
    p.add_argument("--seed", type=int, default=0, help=help)


def add_run_folder(p: argparse.ArgumentParser, project: str, what: str = "run") -> None:
    """``--project``, ``--name``, ``--exist-ok``: where a run writes (``project/name``, numbered unless exist-ok)."""
    p.add_argument(
        "--project", default=project, help=f"folder holding the {what}s; nothing is written elsewhere (default {project})"
    )  # fmt: skip
    p.add_argument(
        "--name", default="exp", help=f"{what} folder name inside --project (exp, exp2, ... unless --exist-ok)"
    )
    p.add_argument("--exist-ok", action="store_true", help="reuse project/name instead of numbering a new folder")


def add_resume(p: argparse.ArgumentParser, what: str = "run") -> None:
    """``--resume [FOLDER]``: the newest interrupted run under --project, or the given one."""
    p.add_argument(
        "--resume", nargs="?", const=True, default=False,
        help=f"continue an interrupted {what}: the newest under --project, or a given {what} folder"
        + (" or its weights/last.pt" if what == "run" else ""),
    )  # fmt: skip


def add_trust_checkpoint(p: argparse.ArgumentParser) -> None:
    """``--trust-checkpoint``: load a checkpoint needing types outside the allow-list (runs code from the file)."""
    p.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="load a checkpoint that needs types outside yolo-ghost's allow-list; this RUNS CODE FROM THE FILE, "
        "use it only for a file from someone you trust",
    )


def recipe_help(text: str, field: str, *, detect: bool = True, classify: bool = False) -> str:
    """``text`` and where its default comes from, read from the recipes themselves so that ``--help`` cannot drift
    from them: ``epochs per run (default: the dataset's recipe; shapes 36, other datasets 100, classifiers: ...)``."""
    parts = []
    if detect:
        from yolo_ghost.engine.detect.train import DATASET_RECIPES, YOLOV5_RECIPE

        parts += [
            f"shapes {getattr(DATASET_RECIPES['shapes'], field)}",
            f"other datasets {getattr(YOLOV5_RECIPE, field)}",
        ]
    if classify:
        from yolo_ghost.engine.classify.train import CLS_RECIPE, CLS_RECIPES

        sets = [f"{name} {getattr(r, field)}" for name, r in CLS_RECIPES.items()]
        other = f"other folders {getattr(CLS_RECIPE, field)}"
        parts.append(f"classifiers: {', '.join(sets)}, {other}" if detect else ", ".join([*sets, other]))
    return f"{text} (default: the dataset's recipe; {', '.join(parts)})"


def add_int8(p: argparse.ArgumentParser) -> None:
    """``--calib-images`` and ``--keep-float``: how an INT8 export is calibrated and what it leaves in floating point
    (``yolo_ghost.tools.quantize``)."""
    from yolo_ghost.tools.quantize import DEFAULT_CALIB_IMAGES, DEPTHWISE

    p.add_argument(
        "--calib-images", type=int, default=None,
        help=f"INT8: training images that calibrate the ranges (default {DEFAULT_CALIB_IMAGES})",
    )  # fmt: skip
    p.add_argument(
        "--keep-float", nargs="+", default=[], metavar="TYPE",
        help=f"INT8: layer types left in floating point: '{DEPTHWISE}' (every depthwise conv) and/or block names "
        "(GhostConv, C3Ghost, ...); the head's decode always is",
    )  # fmt: skip
