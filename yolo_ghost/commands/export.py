"""``python -m yolo_ghost export``: a checkpoint or config to ONNX (fixed size, batch 1 unless ``--dynamic-batch``),
checked in onnxruntime."""

from __future__ import annotations

import argparse

from yolo_ghost.cfg import ConfigError


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of the export command."""
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--weights", help="checkpoint to export (runs/train/exp/weights/best.pt)")
    src.add_argument("--cfg", help="model YAML to export with its initial weights (for timing or graph inspection)")
    p.add_argument("--img", type=int, default=None, help="input size (default: the checkpoint's training size, or 640)")
    p.add_argument("--out", default=None, help="ONNX file to write (default: beside the checkpoint / <cfg>.onnx)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    batch = p.add_mutually_exclusive_group()
    batch.add_argument(
        "--dynamic-batch",
        action="store_true",
        help="symbolic batch dimension, for onnxruntime users; ultralytics' YOLO('x.onnx') then letterboxes photos "
        "to their own aspect ratio, which the fixed-size graph rejects, so keep batch 1 for it",
    )
    batch.add_argument("--static", action="store_true", help="fixed batch size 1 (the default; kept for scripts)")
    p.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="load a checkpoint that needs types outside yolo-ghost's allow-list; this RUNS CODE FROM THE FILE",
    )
    p.add_argument("--no-check", action="store_true", help="skip the onnxruntime-vs-PyTorch check (1e-4 relative)")


def run(args: argparse.Namespace) -> int:
    """Export, check and print where the file went."""
    from yolo_ghost.export import export

    try:
        r = export(
            weights=args.weights, cfg=args.cfg, out=args.out, imgsz=args.img, opset=args.opset,
            dynamic=args.dynamic_batch, check=not args.no_check, trust_checkpoint=args.trust_checkpoint,
        )  # fmt: skip
    except ConfigError as e:
        print(f"error: {' '.join(str(e).split())}")
        return 2
    batch = "dynamic batch" if r.dynamic else "batch 1"
    check = f"max relative error vs PyTorch {r.max_rel_err:.1e}" if r.max_rel_err is not None else "not checked"
    print(f"exported {r.path} ({r.imgsz}x{r.imgsz}, {batch}, opset {r.opset}); onnxruntime {check}")
    return 0
