"""Milliseconds per image of ``yolo-ghost predict`` with a checkpoint and its ONNX and OpenVINO exports, on the
built-in set's validation images (or any --source), one table row per format.

    python benchmarks/predict_speed.py --weights runs/train/exp/weights/best.pt          # after command 1
    python benchmarks/predict_speed.py --weights best.pt --source path/to/images --device cpu

Each format runs the whole source once to warm up, then once timed; the ultralytics predictor's own per-image times
(preprocess, inference, postprocess) are averaged over the timed pass. The exports go to a scratch folder.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

import torch

from yolo_ghost.engine.detect.predict import predict
from yolo_ghost.tools.export import export, runtime_available


def main(argv: list[str] | None = None) -> int:
    """Print the Markdown table."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, help="a .pt checkpoint")
    p.add_argument("--source", default="shapes", help="images to run on (default: the built-in set's val images)")
    p.add_argument("--device", default="cpu", help="device for the PyTorch model (exports run on the CPU)")
    a = p.parse_args(argv)
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        models = {"pytorch": Path(a.weights)}
        for fmt, suffix in (("onnx", ".onnx"), ("openvino", "_openvino_model")):
            if runtime_available(fmt):
                models[fmt] = export(weights=a.weights, format=fmt, out=Path(tmp) / f"model{suffix}").path
        torch.set_num_threads(threads)  # the exporter's checks leave PyTorch on one thread
        print(
            f"{a.source}, PyTorch on {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}\n"
        )
        print(
            "| format | images | detections | ms / image | preprocess | inference | postprocess |\n|---|---:|---:|---:|---:|---:|---:|"
        )
        for fmt, weights in models.items():
            run = dict(
                save=False, verbose=False, project=Path(tmp) / "runs", device=a.device if fmt == "pytorch" else "cpu"
            )
            predict(weights, a.source, name=f"{fmt}-warmup", **run)
            s = predict(weights, a.source, name=fmt, **run)
            sp = s["speed"]
            print(f"| {fmt} | {s['images']} | {s['detections']} | {s['ms_per_image']:.2f} | {sp['preprocess']:.2f} | "
                  f"{sp['inference']:.2f} | {sp['postprocess']:.2f} |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
