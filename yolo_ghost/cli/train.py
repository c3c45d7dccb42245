"""``yolo-ghost train``: train a detector (YOLOv5's train.py flags) on the ultralytics engine; print a summary."""

from __future__ import annotations

import argparse

from yolo_ghost.cli import options

EXAMPLES = """examples:
  yolo-ghost train --cfg yolov5n-ghost.yaml                      # built-in synthetic `shapes` dataset
  yolo-ghost train --cfg yolov5s-ghost.yaml --data coco128.yaml --epochs 100 --img 640 --compare yolov5s.yaml
  yolo-ghost train --cfg yolov5n-ghost.yaml --distill runs/train/yolov5s/weights/best.pt  # learn from a teacher
  yolo-ghost train --resume runs/train/exp                        # continue an interrupted run
  python train_det.py ...                                         # the same command, YOLOv5-style"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The YOLOv5 ``train.py`` flags that apply here."""
    from yolo_ghost.engine.detect.train import DEFAULT_PROJECT

    options.add_cfg(p)
    options.add_data(p)
    options.add_weights(p, help="checkpoint (.pt) whose matching layers initialise the model")
    options.add_epochs(p, help=options.recipe_help("number of epochs", "epochs"))
    options.add_batch_size(p, help=options.recipe_help("images per batch", "batch"))
    options.add_img(p, help=options.recipe_help("train/val image size in pixels", "imgsz"))
    options.add_device(p, several=True)
    options.add_workers(p, None, help=options.recipe_help("dataloader worker processes", "workers"))
    options.add_run_folder(p, DEFAULT_PROJECT)
    options.add_resume(p)
    p.add_argument(
        "--hyp",
        default=None,
        help="YOLOv5-style hyperparameter YAML: ultralytics arguments (lr0, mosaic, ...), the loss keys (obj, anchor_t, ...) and the weight EMA's ema_decay and ema_tau",
    )
    options.add_seed(p)
    p.add_argument("--compare", metavar="CFG", default=None, help="also report GFLOPs and params as ratios to CFG")
    p.add_argument(
        "--distill", metavar="TEACHER.pt", default=None,
        help="a trained detector (same number of levels, same strides) whose features the model learns to imitate, "
        "weighted by the hyp key 'dis'; the teacher is never saved with the model",
    )  # fmt: skip
    options.add_trust_checkpoint(p)


def run(args: argparse.Namespace) -> int:
    """Train and print the summary; a refusal raises ``ConfigError`` (printed as one line by the caller)."""
    from yolo_ghost.cfg import ConfigError
    from yolo_ghost.engine.detect.train import format_summary, train
    from yolo_ghost.models.checkpoint import trusted

    if not args.cfg and not args.resume:
        raise ConfigError("--cfg is required (or --resume)")
    with trusted(args.trust_checkpoint):  # the --weights, --distill and --resume checkpoints
        summary = train(
            args.cfg, data=args.data, epochs=args.epochs, imgsz=args.img, batch=args.batch_size, device=args.device,
            workers=args.workers, project=args.project, name=args.name, exist_ok=args.exist_ok, resume=args.resume,
            hyp=args.hyp, seed=args.seed, weights=args.weights, compare=args.compare, distill=args.distill,
        )  # fmt: skip
    print(format_summary(summary))
    return 0
