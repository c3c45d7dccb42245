"""``python -m yolo_ghost bench``: train, evaluate, profile and time several configs (detectors, or classifiers such as
the ShuffleNet V2 variant study's); write the comparison."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from yolo_ghost.cli import options

EXAMPLES = """examples:
  yolo-ghost bench --cfg yolov5n.yaml yolov5n-ghost.yaml --seeds 3       # shapes, the dataset's recipe
  yolo-ghost bench --cfg yolov5s.yaml yolov5s-ghost.yaml --data coco128.yaml --epochs 30 --img 320
  yolo-ghost bench --cfg yolov5n.yaml yolov5n-ghost.yaml --weights a.pt b.pt  # evaluate, no training
  yolo-ghost bench --cfg yolov5n.yaml yolov5n-ghost.yaml --distill yolov5n-ghost=yolov5s.pt  # adds yolov5n-ghost+distill
  yolo-ghost bench --resume runs/bench/exp                               # continue an interrupted bench
  yolo-ghost bench --resume runs/bench/exp --deploy onnx-int8 openvino-int8  # score and time deployed files

deploy targets: onnx, onnx-int8 (ONNX Runtime), openvino, openvino-int8 (OpenVINO; INT8 needs nncf). Each run is
exported from its checkpoint, scored with pycocotools as the checkpoint is, and timed in the latency rounds."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of the bench command (training flags as in train_det.py)."""
    from yolo_ghost.bench.runner import DEFAULT_PROJECT
    from yolo_ghost.tools.latency import CPU_BACKENDS

    def recipe(text: str, field: str) -> str:
        return options.recipe_help(text, field, detect=True, classify=True)

    options.add_cfg(
        p, nargs="+",
        help="model YAMLs, all detectors or all classifiers; the first is the baseline (put the stock model first)",
    )  # fmt: skip
    options.add_weights(p, nargs="+", help="one checkpoint per --cfg: evaluate instead of training")
    options.add_data(
        p, default=None,
        help="detectors: dataset YAML or 'shapes' (built-in, default); classifiers: ImageFolder folder or 'shapes-cls-v2' "
        "(built-in, default; 'shapes-cls': the first study's set)",
    )  # fmt: skip
    options.add_epochs(p, help=recipe("epochs per run", "epochs"))
    options.add_img(p, help=recipe("train/val size", "imgsz"))
    options.add_batch_size(p, help=recipe("batch size", "batch"))
    options.add_device(p)
    options.add_workers(p, None, help=recipe("loader workers", "workers"))
    options.add_seed(p, help="first training seed (default 0)")
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
        "--distill", nargs="+", default=[], metavar="CFG=TEACHER.pt",
        help="also train config CFG with a teacher (train --distill), as a row of its own named CFG+distill, e.g. "
        "yolov5n-ghost=runs/train/yolov5s/weights/best.pt",
    )  # fmt: skip
    options.add_run_folder(p, DEFAULT_PROJECT, what="bench")
    options.add_resume(p, what="bench")
    options.add_trust_checkpoint(p)
    p.add_argument("--latency-img", type=int, default=None, help="input size for the latency run (default: --img)")
    p.add_argument("--latency-rounds", type=int, default=20, help="interleaved timed rounds (default 20)")
    p.add_argument("--latency-warmup", type=int, default=3, help="untimed warm-up runs per model (default 3)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the latency run (default: torch's)")
    p.add_argument(
        "--backends", nargs="+", default=None,
        help=f"latency backends (default: every available one; CPU: {' '.join(CPU_BACKENDS)}, plus CUDA on a GPU)",
    )  # fmt: skip
    p.add_argument(
        "--hyp", default=None,
        help="YAML of hyperparameters overriding the recipe's for every run (e.g. `dis: 1.0`), checked as train's "
        "--hyp; recorded in settings.json",
    )  # fmt: skip
    p.add_argument(
        "--deploy", nargs="+", default=None, metavar="TARGET",
        help="also export every run (onnx, onnx-int8, openvino, openvino-int8), score and time the files; with "
        "--resume, deploys a bench trained before (its checkpoints must be there)",
    )  # fmt: skip
    options.add_int8(p)


def run(args: argparse.Namespace) -> int:
    """Run the bench and print the Markdown table."""
    from yolo_ghost.bench.runner import run_bench
    from yolo_ghost.cfg import ConfigError
    from yolo_ghost.models.checkpoint import checkpoint_imgsz, trusted
    from yolo_ghost.models.yolo import build_model

    if not args.resume and not args.cfg:
        raise ConfigError("give --cfg CFG [CFG ...] (or --resume)")
    pairs = dict(item.split("=", 1) for item in args.pair if "=" in item)
    if len(pairs) != len(args.pair):
        raise ConfigError("--pair takes NAME=BASE, e.g. yolov5s-ghost=yolov5s")
    distill = dict(item.split("=", 1) for item in args.distill if "=" in item)
    if len(distill) != len(args.distill):
        raise ConfigError("--distill takes CFG=TEACHER.pt once per config, e.g. yolov5n-ghost=yolov5s.pt")
    # refuse a config that does not build, or an unusable or unsafe checkpoint, before the bench makes its folder
    for c in args.cfg or []:
        build_model(c)
    for w in args.weights or []:
        checkpoint_imgsz(Path(w), trust=args.trust_checkpoint)
    try:
        with trusted(args.trust_checkpoint):  # every checkpoint the bench loads: --weights and resumed runs
            run_bench(
                args.cfg or [], data=args.data, epochs=args.epochs, imgsz=args.img, batch=args.batch_size,
                weights=args.weights, device=args.device, workers=args.workers, seed=args.seed, seeds=args.seeds,
                pairs=pairs, distill=distill,
                project=args.project, name=args.name, exist_ok=args.exist_ok, resume=args.resume,
                latency_imgsz=args.latency_img, latency_rounds=args.latency_rounds,
                latency_warmup=args.latency_warmup, threads=args.threads, backends=args.backends,
                command="yolo-ghost " + shlex.join(sys.argv[1:]), deploy=args.deploy, hyp=args.hyp,
                calib_images=args.calib_images, keep_float=args.keep_float,
            )  # fmt: skip
    except ValueError as e:  # bad latency settings (backends, rounds) from measure_latency
        raise ConfigError(str(e)) from None
    return 0
