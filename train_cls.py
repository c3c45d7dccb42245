"""Train a yolo-ghost classifier on the ultralytics engine and print a one-block summary (top-1, top-5, cost).

python train_cls.py --cfg shufflenetv2-k5-cls.yaml                          # built-in synthetic `shapes-cls` set
python train_cls.py --cfg shufflenetv2-cls.yaml --data ~/data/cifar10 --epochs 30   # ImageFolder layout on disk
python train_cls.py --resume runs/train-cls/exp                             # continue an interrupted run
python train_cls.py --val runs/train-cls/exp/weights/best.pt --data ~/data/cifar10  # evaluate a checkpoint
"""

from __future__ import annotations

import argparse
import os
import sys

# ultralytics decides at import time whether it is online (a DNS probe); training never needs the network.
os.environ.setdefault("YOLO_OFFLINE", "1")

from yolo_ghost.train_cls import DEFAULT_BATCH, DEFAULT_DATA, DEFAULT_EPOCHS, DEFAULT_IMGSZ, DEFAULT_PROJECT


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The flags of ``train_det.py`` that apply to a classifier, plus ``--val``."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cfg", help="classifier YAML: a shipped name (shufflenetv2-k5-cls.yaml) or a path")
    p.add_argument("--data", default=DEFAULT_DATA, help="'shapes-cls' (built in) or a folder DIR/{train,val}/<class>/")
    p.add_argument("--weights", default=None, help="checkpoint (.pt) whose matching layers initialise the model")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help="number of epochs")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help="images per batch")
    p.add_argument("--img", "--imgsz", dest="img", type=int, default=None, help=f"image size (default {DEFAULT_IMGSZ})")
    p.add_argument("--device", default="cpu", help="'cpu' or a CUDA index '0'")
    p.add_argument("--workers", type=int, default=0, help="dataloader worker processes")
    p.add_argument("--project", default=DEFAULT_PROJECT, help="folder holding the runs; nothing is written elsewhere")
    p.add_argument("--name", default="exp", help="run folder name inside --project (exp, exp2, ... unless --exist-ok)")
    p.add_argument("--exist-ok", action="store_true", help="reuse project/name instead of numbering a new folder")
    p.add_argument(
        "--resume", nargs="?", const=True, default=False,
        help="continue an interrupted run: the newest under --project, or a given run folder / last.pt",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--val", metavar="WEIGHTS", default=None, help="only evaluate this checkpoint on --data")
    args = p.parse_args(argv)
    if not (args.cfg or args.resume or args.val):
        p.error("--cfg is required (or --resume, or --val WEIGHTS)")
    return args


def main(argv: list[str] | None = None) -> int:
    """Train (or evaluate); print the summary, or one line naming the problem and exit with status 2."""
    args = parse_args(argv)
    from yolo_ghost.cfg import ConfigError
    from yolo_ghost.train_cls import format_summary, train_classifier, validate_classifier

    try:
        if args.val:
            m = validate_classifier(args.val, data=args.data, imgsz=args.img, batch=args.batch_size, device=args.device)
            print(f"top-1 {m['top1']:.4f}  top-5 {m['top5']:.4f}  ({m['n_images']} images; {m['save_dir']})")
            return 0
        summary = train_classifier(
            args.cfg,
            data=args.data,
            epochs=args.epochs,
            imgsz=args.img or DEFAULT_IMGSZ,
            batch=args.batch_size,
            device=args.device,
            workers=args.workers,
            project=args.project,
            name=args.name,
            exist_ok=args.exist_ok,
            resume=args.resume,
            seed=args.seed,
            weights=args.weights,
        )
    except ConfigError as e:
        print(f"train_cls.py: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
