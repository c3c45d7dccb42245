"""Evaluate a detector with pycocotools (COCO AP) and the ultralytics metrics on any YOLO-format dataset.

    python val_det.py --weights runs/train/exp/weights/best.pt                  # built-in synthetic `shapes` dataset
    python val_det.py --weights best.pt --data coco128.yaml --img 640 --iou-thres 0.6

Writes predictions.json (COCO results) and metrics.json (pycocotools and ultralytics numbers) to --project/--name and
prints the AP table. The ground truth is converted from the YOLO labels (cached beside them), or read from the
dataset YAML's `val_json:` (a COCO JSON, relative to `path`) when it has one.
"""

from __future__ import annotations

import argparse
import os
import sys

# ultralytics decides at import time whether it is online (a DNS probe); evaluation never needs the network.
os.environ.setdefault("YOLO_OFFLINE", "1")

from yolo_ghost.eval.validator import (
    DEFAULT_CONF,
    DEFAULT_IOU,
    DEFAULT_MAX_DET,
    DEFAULT_PROJECT,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The YOLOv5 ``val.py`` flags that apply here."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, help="checkpoint to evaluate (.pt, e.g. runs/train/exp/weights/best.pt)")
    p.add_argument("--data", default="shapes", help="dataset YAML path, or 'shapes' for the built-in synthetic set")
    p.add_argument(
        "--img",
        "--imgsz",
        dest="img",
        type=int,
        default=None,
        help="inference size in pixels (default: the size the checkpoint was trained at, else 640)",
    )
    p.add_argument("--batch-size", type=int, default=16, help="images per batch")
    p.add_argument("--device", default="cpu", help="'cpu' or a CUDA index such as '0'")
    p.add_argument(
        "--conf-thres",
        type=float,
        default=DEFAULT_CONF,
        help=f"confidence threshold before NMS (default {DEFAULT_CONF}: low, so that AP sees the whole ranking)",
    )
    p.add_argument(
        "--iou-thres",
        type=float,
        default=DEFAULT_IOU,
        help=f"NMS IoU threshold (default {DEFAULT_IOU} as YOLOv5's val.py; ultralytics' own default is 0.7)",
    )
    p.add_argument(
        "--max-det",
        type=int,
        default=DEFAULT_MAX_DET,
        help=f"detections kept per image (default {DEFAULT_MAX_DET}; COCO AP scores the best 100)",
    )
    p.add_argument("--split", default="val", help="dataset split to evaluate: val or test")
    p.add_argument("--project", default=DEFAULT_PROJECT, help="folder holding the runs; nothing is written elsewhere")
    p.add_argument("--name", default="exp", help="run folder name inside --project (exp, exp2, ... unless --exist-ok)")
    p.add_argument("--exist-ok", action="store_true", help="reuse project/name instead of numbering a new folder")
    p.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="load a checkpoint that needs types outside yolo-ghost's allow-list; this RUNS CODE FROM THE FILE, "
        "use it only for a file from someone you trust",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation (it prints the report); print where the results are, or one line naming the problem."""
    args = parse_args(argv)
    from yolo_ghost.cfg import ConfigError
    from yolo_ghost.eval.validator import evaluate

    try:
        metrics = evaluate(
            args.weights,
            args.data,
            imgsz=args.img,
            batch=args.batch_size,
            device=args.device,
            conf=args.conf_thres,
            iou=args.iou_thres,
            max_det=args.max_det,
            split=args.split,
            project=args.project,
            name=args.name,
            exist_ok=args.exist_ok,
            trust_checkpoint=args.trust_checkpoint,
        )
    except ConfigError as e:
        print(f"val_det.py: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    coco = metrics["pycocotools"]
    print(
        f"COCO AP50-95 {coco['AP50-95']:.4f}  AP50 {coco['AP50']:.4f}  "
        f"(ultralytics mAP50-95 {metrics['ultralytics']['mAP50-95']:.4f})\n"
        f"Results saved to {metrics['save_dir']} (metrics.json, predictions.json)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
