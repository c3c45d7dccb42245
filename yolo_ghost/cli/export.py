"""``yolo-ghost export``: a checkpoint or config through the ultralytics exporter (ONNX, TorchScript, OpenVINO,
NCNN, ...; fixed batch-1 input unless ``--dynamic-batch``), checked against PyTorch in the format's runtime."""

from __future__ import annotations

import argparse

from yolo_ghost.cli import options

EXAMPLES = """examples:
  yolo-ghost export --weights runs/train/exp/weights/best.pt                 # best.onnx beside it, checked
  yolo-ghost export --weights best.pt --format openvino                      # best_openvino_model/
  yolo-ghost export --weights best.pt --format torchscript --img 320
  yolo-ghost export --cfg yolov5n-ghost.yaml --img 320 --out ghost.onnx      # initial weights, for timing
  yolo-ghost export --weights best.pt --format openvino --int8 --data shapes # best_int8_openvino_model/ (NNCF)
  yolo-ghost export --weights best.pt --int8 --data data.yaml --keep-float depthwise  # best_int8.onnx (ONNX Runtime)

formats on a CPU: the ultralytics exporter's (onnx, torchscript, openvino, ncnn, ...); each file is run in its
runtime when installed (onnxruntime, torch.jit, openvino, ncnn) and refused if it differs from PyTorch by more than
1e-4 relative. An INT8 export differs by design: the command prints its deviation instead; score it with
`yolo-ghost val --weights best_int8.onnx --data DATA`."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of the export command."""
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--weights", help="checkpoint to export (runs/train/exp/weights/best.pt)")
    src.add_argument("--cfg", help="model YAML to export with its initial weights (for timing or graph inspection)")
    p.add_argument(
        "--format",
        default="onnx",
        help="onnx (default), torchscript, openvino, ncnn, ... (the formats are listed below)",
    )
    options.add_img(p, help="input size (default: the checkpoint's training size, or 640)")
    p.add_argument(
        "--out", default=None, help="file (or folder, for openvino / ncnn) to write (default: beside the checkpoint, "
        "named by ultralytics, e.g. best.onnx, best_openvino_model/; or <cfg>.onnx here)",
    )  # fmt: skip
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default: the exporter's for this torch)")
    batch = p.add_mutually_exclusive_group()
    batch.add_argument(
        "--dynamic-batch",
        action="store_true",
        help="symbolic batch (and, as ultralytics exports it, height and width), for runtimes fed batches; the "
        "metadata then says so and YOLO('x.onnx') letterboxes photos to their own aspect ratio",
    )
    batch.add_argument("--static", action="store_true", help="fixed batch size 1 (the default; kept for scripts)")
    options.add_trust_checkpoint(p)
    p.add_argument("--no-check", action="store_true", help="skip the check against PyTorch (1e-4 relative)")
    p.add_argument(
        "--int8", action="store_true",
        help="post-training INT8 (onnx: ONNX Runtime static quantization; openvino: NNCF), calibrated on --data's "
        "training images",
    )  # fmt: skip
    p.add_argument("--data", default=None, help="INT8: dataset YAML or 'shapes' whose training split calibrates")
    options.add_int8(p)
    p.add_argument(
        "--per-channel", action="store_true",
        help="INT8 onnx: one scale per output channel of each weight (NNCF's preset already uses them)",
    )  # fmt: skip
    from yolo_ghost.tools.quantize import ONNX_CALIBRATIONS

    p.add_argument(
        "--calibration", choices=ONNX_CALIBRATIONS, default=None,
        help="INT8 onnx: how activation ranges are fitted on the calibration images: minmax (the extremes; default), "
        "percentile (outliers clipped), entropy",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Export, check and print where the file went."""
    from yolo_ghost.cfg import ConfigError
    from yolo_ghost.tools.export import export
    from yolo_ghost.tools.quantize import DEFAULT_CALIB_IMAGES, Int8Settings

    if not args.int8 and (args.data or args.calib_images or args.keep_float or args.per_channel or args.calibration):
        raise ConfigError(
            "--data, --calib-images, --keep-float, --per-channel and --calibration set up an INT8 export; add --int8"
        )
    if args.int8 and not args.data:
        raise ConfigError("--int8 needs --data: the dataset whose training images calibrate the INT8 ranges")
    int8 = (
        Int8Settings(
            args.data,
            args.calib_images or DEFAULT_CALIB_IMAGES,
            tuple(args.keep_float),
            args.per_channel,
            calibration=args.calibration or "minmax",
        )
        if args.int8
        else None
    )

    r = export(
        weights=args.weights, cfg=args.cfg, out=args.out, imgsz=args.img, format=args.format, opset=args.opset,
        dynamic=args.dynamic_batch, check=not args.no_check, trust_checkpoint=args.trust_checkpoint, int8=int8,
    )  # fmt: skip
    batch = "dynamic batch and size" if r.dynamic else "batch 1"
    if r.max_rel_err is not None and r.int8:
        check = (
            f"INT8 ({r.int8['calib_images']} calibration images, {r.int8['float_ops']} operations kept in floating "
            f"point): deviation from PyTorch max abs {r.max_abs_err:.2e}, max relative {r.max_rel_err:.2e}; score it "
            "with yolo-ghost val"
        )
    elif r.max_rel_err is not None:
        check = f"max abs error vs PyTorch {r.max_abs_err:.1e}, max relative error {r.max_rel_err:.1e}"
    else:
        check = "not checked" if args.no_check else "not checked (no runtime for it here)"
    print(f"exported {r.path} ({r.format}, {r.imgsz}x{r.imgsz}, {batch}); {check}")
    return 0
