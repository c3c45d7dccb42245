"""``yolo-ghost train-cls``: train (or evaluate) a classifier on the ultralytics engine; print top-1, top-5, cost.

A separate command rather than ``train --task classify``: its dataset is an ImageFolder, not a YOLO dataset YAML, and
it has its own recipe and ``--val``; the shared flags are the same definitions as ``train``'s."""

from __future__ import annotations

import argparse

from yolo_ghost.cli import options

EXAMPLES = """examples:
  yolo-ghost train-cls --cfg shufflenetv2-k5-cls.yaml                          # built-in synthetic `shapes-cls-v2` set
  yolo-ghost train-cls --cfg shufflenetv2-cls.yaml --data ~/data/cifar10 --epochs 30  # ImageFolder on disk
  yolo-ghost train-cls --resume runs/train-cls/exp                             # continue an interrupted run
  yolo-ghost train-cls --val runs/train-cls/exp/weights/best.pt --data ~/data/cifar10  # evaluate a checkpoint
  python train_cls.py ...                                                      # the same command"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``train`` that apply to a classifier, plus ``--val``."""
    from yolo_ghost.engine.classify.train import DEFAULT_DATA, DEFAULT_PROJECT

    def recipe(text: str, field: str) -> str:
        return options.recipe_help(text, field, detect=False, classify=True)

    options.add_cfg(p, help="classifier YAML: a shipped name (shufflenetv2-k5-cls.yaml) or a path")
    options.add_data(
        p,
        default=DEFAULT_DATA,
        help=f"'{DEFAULT_DATA}' (built in, default), 'shapes-cls' (the first study's set) or a folder "
        "DIR/{train,val}/<class>/ (a test/ beside them is the bench's held-out split)",
    )
    options.add_weights(p, help="checkpoint (.pt) whose matching layers initialise the model")
    options.add_epochs(p, help=recipe("number of epochs", "epochs"))
    options.add_batch_size(p, help=recipe("images per batch", "batch"))
    options.add_img(p, help=recipe("image size in pixels", "imgsz"))
    options.add_device(p)
    options.add_workers(p, None, help=recipe("dataloader worker processes", "workers"))
    options.add_run_folder(p, DEFAULT_PROJECT)
    options.add_resume(p)
    options.add_seed(p)
    p.add_argument("--val", metavar="WEIGHTS", default=None, help="only evaluate this checkpoint on --data")
    options.add_trust_checkpoint(p)


def run(args: argparse.Namespace) -> int:
    """Train (or evaluate) and print the summary."""
    from yolo_ghost.cfg import ConfigError
    from yolo_ghost.engine.classify.train import CLS_RECIPE, format_summary, train_classifier, validate_classifier
    from yolo_ghost.models.yolo import build_model

    if not (args.cfg or args.resume or args.val):
        raise ConfigError("--cfg is required (or --resume, or --val WEIGHTS)")
    if args.cfg and not args.resume:  # a config that does not build is refused before a run folder or dataset is made
        build_model(args.cfg)
    if args.val:
        m = validate_classifier(
            args.val, data=args.data, imgsz=args.img, batch=args.batch_size or CLS_RECIPE.batch, device=args.device,
            project=args.project, name=args.name, exist_ok=args.exist_ok, trust_checkpoint=args.trust_checkpoint,
        )  # fmt: skip
        print(f"top-1 {m['top1']:.4f}  top-5 {m['top5']:.4f}  ({m['n_images']} images; {m['save_dir']})")
        return 0
    summary = train_classifier(
        args.cfg, data=args.data, epochs=args.epochs, imgsz=args.img, batch=args.batch_size,
        device=args.device, workers=args.workers, project=args.project, name=args.name, exist_ok=args.exist_ok,
        resume=args.resume, seed=args.seed, weights=args.weights,
    )  # fmt: skip
    print(format_summary(summary))
    return 0
