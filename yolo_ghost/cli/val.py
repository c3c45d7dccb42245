"""``yolo-ghost val``: evaluate a detector with pycocotools (COCO AP) and the ultralytics metrics."""

from __future__ import annotations

import argparse

from yolo_ghost.cli import options

EXAMPLES = """examples:
  yolo-ghost val --weights runs/train/exp/weights/best.pt         # built-in synthetic `shapes` dataset
  yolo-ghost val --weights best.pt --data coco128.yaml --img 640 --iou-thres 0.6
  yolo-ghost val --weights best_int8_openvino_model/              # an exported model, as deployed
  python val_det.py ...                                           # the same command, YOLOv5-style

One protocol for checkpoints and exported models (.onnx, *_openvino_model/, .torchscript, *_ncnn_model/): every image
letterboxed to a square of --img (an export's own size), conf 0.001, NMS IoU 0.6; an fp32 export scores as its
checkpoint does.

Writes predictions.json (COCO results) and metrics.json (pycocotools and ultralytics numbers) to --project/--name and
prints the AP table. The ground truth is converted from the YOLO labels (cached beside them), or read from the
dataset YAML's `val_json:` (a COCO JSON, relative to `path`) when it has one."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The YOLOv5 ``val.py`` flags that apply here."""
    from yolo_ghost.engine.detect.val import DEFAULT_CONF, DEFAULT_IOU, DEFAULT_MAX_DET, DEFAULT_PROJECT

    options.add_weights(
        p,
        required=True,
        help="checkpoint (.pt, e.g. runs/train/exp/weights/best.pt) or exported model to evaluate",
    )
    options.add_data(p)
    options.add_img(
        p, help="inference size in pixels (default: the size the checkpoint was trained at, or an export's own size)"
    )
    options.add_batch_size(p, default=16)
    options.add_device(p)
    p.add_argument(
        "--conf-thres", type=float, default=DEFAULT_CONF,
        help=f"confidence threshold before NMS (default {DEFAULT_CONF}: low, so that AP sees the whole ranking)",
    )  # fmt: skip
    p.add_argument(
        "--iou-thres", type=float, default=DEFAULT_IOU,
        help=f"NMS IoU threshold (default {DEFAULT_IOU} as YOLOv5's val.py; ultralytics' own default is 0.7)",
    )  # fmt: skip
    p.add_argument(
        "--max-det", type=int, default=DEFAULT_MAX_DET,
        help=f"detections kept per image (default {DEFAULT_MAX_DET}; COCO AP scores the best 100)",
    )  # fmt: skip
    p.add_argument("--split", default="val", help="dataset split to evaluate: val or test")
    options.add_run_folder(p, DEFAULT_PROJECT)
    options.add_trust_checkpoint(p)


def run(args: argparse.Namespace) -> int:
    """Evaluate (the validator prints the AP table) and print where the results are."""
    from yolo_ghost.engine.detect.val import evaluate

    metrics = evaluate(
        args.weights, args.data, imgsz=args.img, batch=args.batch_size, device=args.device, conf=args.conf_thres,
        iou=args.iou_thres, max_det=args.max_det, split=args.split, project=args.project, name=args.name,
        exist_ok=args.exist_ok, trust_checkpoint=args.trust_checkpoint,
    )  # fmt: skip
    coco = metrics["pycocotools"]
    print(
        f"COCO AP50-95 {coco['AP50-95']:.4f}  AP50 {coco['AP50']:.4f}  "
        f"(ultralytics mAP50-95 {metrics['ultralytics']['mAP50-95']:.4f}; on {metrics['settings']['device']})\n"
        f"Results saved to {metrics['save_dir']} (metrics.json, predictions.json)"
    )
    return 0
