"""``yolo-ghost predict``: run a checkpoint or an exported model on images, folders, videos or a webcam and save the
annotated results (YOLOv5's ``detect.py``; ``python detect.py`` is the same command)."""

from __future__ import annotations

import argparse

from yolo_ghost.cli import options

EXAMPLES = """examples:
  yolo-ghost predict --weights runs/train/exp/weights/best.pt --source shapes   # the built-in set's val images
  yolo-ghost predict --weights runs/train/exp/weights/best.pt --source path/to/images/      # a folder
  yolo-ghost predict --weights best.pt --source 'photos/*.jpg' --conf 0.4 --save-txt --save-json
  yolo-ghost predict --weights best_openvino_model/ --source video.mp4                   # an export, a video
  yolo-ghost predict --weights best.onnx --source 0                                      # webcam 0
  python detect.py ...                                                                    # the same command"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """YOLOv5 ``detect.py``'s flags."""
    from yolo_ghost.engine.detect.predict import DEFAULT_CONF, DEFAULT_IOU, DEFAULT_MAX_DET, DEFAULT_PROJECT

    options.add_weights(
        p, required=True,
        help="a .pt checkpoint or an exported model (.onnx, *_openvino_model/, .torchscript, *_ncnn_model/)",
    )  # fmt: skip
    p.add_argument(
        "--source",
        required=True,
        help="an image, a folder, a glob ('dir/*.jpg'), a video file, a webcam index, or 'shapes' (the built-in set's "
        "validation images)",
    )
    options.add_img(p, help="inference size in pixels (default: the checkpoint's training size; an export's own)")
    p.add_argument("--conf", "--conf-thres", dest="conf", type=float, default=DEFAULT_CONF,
                   help=f"confidence threshold (default {DEFAULT_CONF})")  # fmt: skip
    p.add_argument("--iou", "--iou-thres", dest="iou", type=float, default=DEFAULT_IOU,
                   help=f"NMS IoU threshold (default {DEFAULT_IOU})")  # fmt: skip
    p.add_argument(
        "--max-det", type=int, default=DEFAULT_MAX_DET, help=f"detections per image (default {DEFAULT_MAX_DET})"
    )
    p.add_argument("--classes", type=int, nargs="+", default=None, help="keep only these class indices (0 2 ...)")
    options.add_device(p)
    p.add_argument("--save-txt", action="store_true", help="also write YOLO-format labels/*.txt (class x y w h conf)")
    p.add_argument("--save-json", action="store_true", help="also write predictions.json in the COCO results format")
    p.add_argument("--nosave", action="store_true", help="do not save annotated images or videos")
    options.add_run_folder(p, DEFAULT_PROJECT, what="prediction run")
    options.add_trust_checkpoint(p)


def run(args: argparse.Namespace) -> int:
    """Predict and print one line per image and the total."""
    from yolo_ghost.engine.detect.predict import format_summary, predict

    s = predict(
        args.weights, args.source, imgsz=args.img, conf=args.conf, iou=args.iou, max_det=args.max_det,
        classes=args.classes, device=args.device, save=not args.nosave, save_txt=args.save_txt,
        save_json=args.save_json, project=args.project, name=args.name, exist_ok=args.exist_ok,
        trust_checkpoint=args.trust_checkpoint,
    )  # fmt: skip
    print(format_summary(s))
    return 0
