"""Train a yolo-ghost detector (YOLOv5's train.py flags) on the ultralytics engine and print a one-block summary.

python train_det.py --cfg yolov5n-ghost.yaml                      # built-in synthetic `shapes` dataset
python train_det.py --cfg yolov5s-ghost.yaml --data coco128.yaml --epochs 100 --img 640 --compare yolov5s.yaml
python train_det.py --resume runs/train/exp                        # continue an interrupted run
"""

from __future__ import annotations

import argparse
import os
import sys

# ultralytics decides at import time whether it is online (a DNS probe); training never needs the network.
os.environ.setdefault("YOLO_OFFLINE", "1")

from yolo_ghost.train import DATASET_RECIPES, DEFAULT_PROJECT, DEFAULT_WORKERS, YOLOV5_RECIPE

_SHAPES = DATASET_RECIPES["shapes"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The YOLOv5 ``train.py`` flags that apply here."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cfg", help="model YAML: a shipped name (yolov5n-ghost.yaml, see `yolo-ghost configs`) or a path")
    p.add_argument("--data", default="shapes", help="dataset YAML path, or 'shapes' for the built-in synthetic set")
    p.add_argument("--weights", default=None, help="checkpoint (.pt) whose matching layers initialise the model")
    recipe = "(default: the dataset's recipe; shapes {s}, other datasets {y})"
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="number of epochs " + recipe.format(s=_SHAPES.epochs, y=YOLOV5_RECIPE.epochs),
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="images per batch " + recipe.format(s=_SHAPES.batch, y=YOLOV5_RECIPE.batch),
    )
    p.add_argument(
        "--img", "--imgsz", dest="img", type=int, default=None,
        help="train/val image size in pixels " + recipe.format(s=_SHAPES.imgsz, y=YOLOV5_RECIPE.imgsz),
    )  # fmt: skip
    p.add_argument("--device", default="cpu", help="'cpu', a CUDA index '0', or several '0,1' (DDP)")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="dataloader worker processes")
    p.add_argument("--project", default=DEFAULT_PROJECT, help="folder holding the runs; nothing is written elsewhere")
    p.add_argument("--name", default="exp", help="run folder name inside --project (exp, exp2, ... unless --exist-ok)")
    p.add_argument("--exist-ok", action="store_true", help="reuse project/name instead of numbering a new folder")
    p.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=False,
        help="continue an interrupted run: the newest under --project, or a given run folder / last.pt",
    )
    p.add_argument("--hyp", default=None, help="YOLOv5-style hyperparameter YAML (lr0, mosaic, obj, anchor_t, ...)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--compare", metavar="CFG", default=None, help="also report GFLOPs and params as ratios to CFG")
    args = p.parse_args(argv)
    if not args.cfg and not args.resume:
        p.error("--cfg is required (or --resume)")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run training; print the summary, or one line naming the problem and exit with status 2."""
    args = parse_args(argv)
    from yolo_ghost.cfg import ConfigError
    from yolo_ghost.train import format_summary, train

    try:
        summary = train(
            args.cfg,
            data=args.data,
            epochs=args.epochs,
            imgsz=args.img,
            batch=args.batch_size,
            device=args.device,
            workers=args.workers,
            project=args.project,
            name=args.name,
            exist_ok=args.exist_ok,
            resume=args.resume,
            hyp=args.hyp,
            seed=args.seed,
            weights=args.weights,
            compare=args.compare,
        )
    except ConfigError as e:
        print(f"train_det.py: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
