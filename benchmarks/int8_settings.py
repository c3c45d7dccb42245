"""Which INT8 settings to ship: accuracy and latency of one checkpoint quantized several ways, against its fp32 export.

For ONNX Runtime: activations unsigned or signed (U8S8 / S8S8), per-tensor or per-channel weight scales, depthwise
convs quantized or kept in fp32; for OpenVINO (NNCF): depthwise convs quantized or kept. Every file is scored with
pycocotools under the `val` protocol and timed in one interleaved run (``measure_latency`` with ``artifacts``).

    python benchmarks/int8_settings.py --weights results/ghost-nano/train/yolov5n-ghostconv/seed0/weights/best.pt
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from yolo_ghost.engine.detect.val import evaluate
from yolo_ghost.models.yolo import load_checkpoint
from yolo_ghost.tools.export import export
from yolo_ghost.tools.latency import measure_latency, paired_ratio
from yolo_ghost.tools.quantize import Int8Settings

# name -> (format, INT8 settings beyond the dataset, or None for the fp32 export)
VARIANTS: dict[str, tuple[str, dict | None]] = {
    "onnx fp32": ("onnx", None),
    "onnx int8 u8": ("onnx", {}),
    "onnx int8 u8 per-channel": ("onnx", {"per_channel": True}),
    "onnx int8 s8": ("onnx", {"activations": "s8"}),
    "onnx int8 u8 depthwise fp32": ("onnx", {"keep_float": ("depthwise",)}),
    "openvino fp32": ("openvino", None),
    "openvino int8": ("openvino", {}),
    "openvino int8 depthwise fp32": ("openvino", {"keep_float": ("depthwise",)}),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", required=True)
    p.add_argument("--data", default="shapes")
    p.add_argument("--img", type=int, default=None, help="score and time at this size (default: the checkpoint's)")
    p.add_argument("--calib-images", type=int, default=300)
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="int8_settings_") as tmp:
        files, scores = {}, {}
        for i, (name, (fmt, extra)) in enumerate(VARIANTS.items()):
            q = Int8Settings(a.data, a.calib_images, **extra) if extra is not None else None
            out = Path(tmp) / f"v{i}"
            out.mkdir()
            files[name] = export(weights=a.weights, out=out, imgsz=a.img, format=fmt, int8=q).path
            scores[name] = evaluate(files[name], a.data, save_dir=Path(tmp) / f"val{i}", verbose=False)["pycocotools"]
        model = load_checkpoint(a.weights)
        size = a.img or _size(files["onnx fp32"])
        lat = measure_latency(
            {"m": model}, size, backends=[], rounds=a.rounds, threads=a.threads, artifacts={"m": files}
        )["m"]
    base = {"onnx": lat["onnx fp32"], "openvino": lat["openvino fp32"]}
    print(f"{a.weights} @{size} px, {a.threads} threads, {a.rounds} interleaved rounds, {a.calib_images} calib images")
    print("| file | mAP50-95 | Δ vs fp32 | ms | ratio to the same runtime's fp32 |")
    print("|:---|---:|---:|---:|---:|")
    for name, (fmt, _) in VARIANTS.items():
        d = scores[name]["AP50-95"] - scores[f"{fmt} fp32"]["AP50-95"]
        st = lat[name]
        print(
            f"| {name} | {scores[name]['AP50-95']:.4f} | {d:+.4f} | {st.median_ms:.2f} | {paired_ratio(st, base[fmt]):.2f} |"
        )


def _size(onnx_file: Path) -> int:
    from yolo_ghost.tools.export import export_metadata

    return int(export_metadata(onnx_file, "onnx")["imgsz"][0])


if __name__ == "__main__":
    main()
