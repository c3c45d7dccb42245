"""``python -m yolo_ghost bench``: train, evaluate, profile and time several configs (detectors, or classifiers such as
the ShuffleNet V2 variant study's); write the comparison."""

from __future__ import annotations

import argparse
import shlex
import sys

from yolo_ghost.cfg import ConfigError


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of the bench command (training flags as in train_det.py)."""
    from yolo_ghost import train_cls as cls
    from yolo_ghost.bench import DEFAULT_PROJECT
    from yolo_ghost.latency import CPU_BACKENDS
    from yolo_ghost.train import DATASET_RECIPES, DEFAULT_WORKERS

    shapes = DATASET_RECIPES["shapes"]

    p.add_argument(
        "--cfg", nargs="+",
        help="model YAMLs, all detectors or all classifiers; the first is the baseline (put the stock model first)",
    )  # fmt: skip
    p.add_argument("--weights", nargs="+", default=None, help="one checkpoint per --cfg: evaluate instead of training")
    p.add_argument(
        "--data", default=None,
        help="detectors: dataset YAML or 'shapes' (built-in, default); classifiers: ImageFolder folder or 'shapes-cls' "
        "(built-in, default)",
    )  # fmt: skip
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"epochs per run (default: the dataset's recipe, shapes {shapes.epochs}; classifiers {cls.DEFAULT_EPOCHS})",
    )
    p.add_argument(
        "--img", type=int, default=None,
        help=f"train/val size (default: the dataset's recipe, shapes {shapes.imgsz}; classifiers {cls.DEFAULT_IMGSZ})",
    )  # fmt: skip
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help=f"batch size (default: the dataset's recipe, shapes {shapes.batch}; classifiers {cls.DEFAULT_BATCH})",
    )
    p.add_argument("--device", default="cpu", help="training device: cpu, 0, 0,1 ... (default cpu)")
    p.add_argument(
        "--workers", type=int, default=None,
        help=f"loader workers (default {DEFAULT_WORKERS} for detectors, {cls.DEFAULT_WORKERS} for classifiers)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="first training seed (default 0)")
    p.add_argument(
        "--seeds", type=int, default=1,
        help="train every config this many times, seeds --seed, --seed+1, ...; the report gives mean, std and "
        "Welch's 95%% interval of each difference to the baseline (default 1: no interval)",
    )  # fmt: skip
    p.add_argument(
        "--pair", nargs="+", default=[], metavar="NAME=BASE",
        help="compare row NAME with row BASE instead of the first config, e.g. yolov5s-ghost=yolov5s",
    )  # fmt: skip
    p.add_argument(
        "--project", default=DEFAULT_PROJECT, help=f"parent folder of bench runs (default {DEFAULT_PROJECT})"
    )
    p.add_argument("--name", default="exp", help="bench folder name (default exp; numbered if it exists)")
    p.add_argument("--exist-ok", action="store_true", help="reuse project/name instead of numbering a new folder")
    p.add_argument(
        "--resume", nargs="?", const=True, default=False,
        help="continue the newest bench under --project (or the given folder) with its recorded settings",
    )  # fmt: skip
    p.add_argument("--latency-img", type=int, default=None, help="input size for the latency run (default: --img)")
    p.add_argument("--latency-rounds", type=int, default=20, help="interleaved timed rounds (default 20)")
    p.add_argument("--latency-warmup", type=int, default=3, help="untimed warm-up runs per model (default 3)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the latency run (default: torch's)")
    p.add_argument(
        "--backends", nargs="+", default=None,
        help=f"latency backends (default: every available one; CPU: {' '.join(CPU_BACKENDS)}, plus CUDA on a GPU)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run the bench and print the Markdown table."""
    from yolo_ghost.bench import run_bench

    if not args.resume and not args.cfg:
        print("error: give --cfg CFG [CFG ...] (or --resume)", file=sys.stderr)
        return 2
    pairs = dict(item.split("=", 1) for item in args.pair if "=" in item)
    if len(pairs) != len(args.pair):
        print("error: --pair takes NAME=BASE, e.g. yolov5s-ghost=yolov5s", file=sys.stderr)
        return 2
    try:
        run_bench(
            args.cfg or [], data=args.data, epochs=args.epochs, imgsz=args.img, batch=args.batch_size,
            weights=args.weights, device=args.device, workers=args.workers, seed=args.seed, seeds=args.seeds, pairs=pairs, project=args.project,
            name=args.name, exist_ok=args.exist_ok, resume=args.resume, latency_imgsz=args.latency_img,
            latency_rounds=args.latency_rounds, latency_warmup=args.latency_warmup, threads=args.threads,
            backends=args.backends, command="python -m yolo_ghost " + shlex.join(sys.argv[1:]),
        )  # fmt: skip
    except (ConfigError, ValueError) as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    return 0
