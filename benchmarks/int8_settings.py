"""Which INT8 settings to ship: latency (and, for checkpoints, accuracy) of models quantized several ways, against
their fp32 exports, all timed in one interleaved run.

For ONNX Runtime: activations unsigned or signed (U8S8 / S8S8), per-tensor or per-channel weight scales, depthwise
convs quantized or kept in fp32, activation ranges from the extremes (min/max), a percentile or the entropy. For
OpenVINO (NNCF): depthwise convs quantized or kept, and the runtime's default inference precision (bf16 for the
floating-point parts on CPUs with bf16 units) against its ``f32`` hint. A checkpoint (``--weights``) is also scored
with pycocotools under the ``val`` protocol; a config (``--cfg``, initial weights, calibrated on the dataset's images
all the same) is timed only: latency depends on the graph, not on the weights.

    python benchmarks/int8_settings.py --weights results/ghost-nano/train/yolov5n-ghostconv/seed0/weights/best.pt
    python benchmarks/int8_settings.py --cfg yolov5s.yaml yolov5s-ghost.yaml --img 640 --variants onnx-fp32 onnx-u8-pc
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from yolo_ghost.engine.detect.val import evaluate
from yolo_ghost.models.yolo import build_model, load_checkpoint
from yolo_ghost.tools.export import export, export_metadata
from yolo_ghost.tools.latency import measure_latency, paired_ratio
from yolo_ghost.tools.quantize import Int8Settings

# name -> (format, INT8 settings beyond the dataset or None for the fp32 export, OpenVINO precision hint or None for
# the runtime's default). A variant with a hint times the file of the variant without it: the hint is a runtime
# option, not a different file.
VARIANTS: dict[str, tuple[str, dict | None, str | None]] = {
    "onnx-fp32": ("onnx", None, None),
    "onnx-u8": ("onnx", {}, None),
    "onnx-u8-pc": ("onnx", {"per_channel": True}, None),
    "onnx-s8": ("onnx", {"activations": "s8"}, None),
    "onnx-u8-dwfp32": ("onnx", {"keep_float": ("depthwise",)}, None),
    "onnx-u8-pc-dwfp32": ("onnx", {"per_channel": True, "keep_float": ("depthwise",)}, None),
    "onnx-u8-pct": ("onnx", {"calibration": "percentile"}, None),
    "onnx-u8-pc-pct": ("onnx", {"per_channel": True, "calibration": "percentile"}, None),
    "onnx-u8-entropy": ("onnx", {"calibration": "entropy"}, None),
    "openvino-fp32": ("openvino", None, None),
    "openvino-fp32-f32": ("openvino", None, "f32"),
    "openvino-int8": ("openvino", {}, None),
    "openvino-int8-f32": ("openvino", {}, "f32"),
    "openvino-int8-dwfp32": ("openvino", {"keep_float": ("depthwise",)}, None),
}


def _file_variant(v: str) -> str:
    """The variant whose exported file ``v`` runs (itself, or the same settings without the precision hint)."""
    fmt, extra, hint = VARIANTS[v]
    return next(k for k, (f, e, h) in VARIANTS.items() if f == fmt and e == extra and h is None) if hint else v


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--weights", nargs="+", help="checkpoints: scored and timed")
    src.add_argument("--cfg", nargs="+", help="configs (initial weights): timed only")
    p.add_argument("--data", default="shapes", help="calibration (training split) and scoring (val split) dataset")
    p.add_argument("--img", type=int, default=None, help="export size (default: the checkpoint's, or 640)")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--calib-images", type=int, default=300)
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    sources = a.weights or a.cfg
    with tempfile.TemporaryDirectory(prefix="int8_settings_") as tmp:
        files: dict[str, dict[str, Path | tuple[Path, str]]] = {}
        scores: dict[tuple[str, str], float] = {}
        models = {}
        for k, source in enumerate(sources):
            name = Path(source).stem if a.cfg else f"{k}:{Path(source).parent.parent.parent.name}"
            models[name] = load_checkpoint(source) if a.weights else build_model(source)
            files[name] = {}
            exported: dict[str, Path] = {}
            for v in a.variants:
                fv = _file_variant(v)
                if fv not in exported:
                    fmt, extra, _ = VARIANTS[fv]
                    out = Path(tmp) / f"{k}-{fv}"
                    out.mkdir()
                    q = Int8Settings(a.data, a.calib_images, **extra) if extra is not None else None
                    kw = {"weights": source} if a.weights else {"cfg": source}
                    exported[fv] = export(**kw, out=out, imgsz=a.img, format=fmt, int8=q).path
                    if a.weights:  # scored as the validator runs it: the runtime's default precision
                        m = evaluate(exported[fv], a.data, save_dir=Path(tmp) / f"val-{k}-{fv}", verbose=False)
                        scores[(name, fv)] = m["pycocotools"]["AP50-95"]
                hint = VARIANTS[v][2]
                files[name][v] = (exported[fv], hint) if hint else exported[fv]
        first = _file_variant(a.variants[0])
        size = int(export_metadata(exported[first], VARIANTS[first][0])["imgsz"][0])
        lat = measure_latency(models, size, backends=[], rounds=a.rounds, threads=a.threads, artifacts=files)
    ref = next(iter(models))
    print(f"@{size} px, {a.threads} threads, {a.rounds} interleaved rounds, INT8 calibrated on {a.calib_images} images")
    print("ratios: medians of per-round ratios; mAP50-95 under the runtime's default precision (a hint variant runs")
    print("the file scored on its file variant's line)")
    print(f"| model | variant | mAP50-95 | ms | vs its fp32 file | vs {ref}'s same variant | vs {ref}'s fp32 file |")
    print("|:---|:---|---:|---:|---:|---:|---:|")
    for name in models:
        for v in a.variants:
            fp32 = f"{VARIANTS[v][0]}-fp32"
            st = lat[name][v]
            own = f"{paired_ratio(st, lat[name][fp32]):.2f}" if fp32 in lat[name] else "-"
            base = f"{paired_ratio(st, lat[ref][fp32]):.2f}" if fp32 in lat[ref] else "-"
            score = f"{scores[(name, v)]:.4f}" if (name, v) in scores else "-"
            same = f"{paired_ratio(st, lat[ref][v]):.2f}"
            print(f"| {name} | {v} | {score} | {st.median_ms:.2f} | {own} | {same} | {base} |")


if __name__ == "__main__":
    main()
