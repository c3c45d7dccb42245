"""Core performance figures: build time of every shipped config, and inference parity with ultralytics.

1. Build time: median of 5 builds per shipped config (``yolo_ghost.build_model``), in one process.
2. Parity: the ultralytics package's own ``yolov5.yaml`` (scale from --scale) built by yolo-ghost and by
   ultralytics, same weights, BN fused, batch 1, CPU eager, timed by ``yolo_ghost.tools.latency.measure_latency``;
   prints the median per-round latency ratio (target: within 3%).

    python benchmarks/build_speed.py [--scale s] [--img 640] [--rounds 60]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch


def build_times(repeats: int = 5) -> list[tuple[str, float]]:
    """Median build time (seconds) of every shipped config."""
    import yolo_ghost

    out = []
    for name in yolo_ghost.list_configs():
        yolo_ghost.build_model(name)  # warm caches (imports, YAML parsing)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            yolo_ghost.build_model(name)
            times.append(time.perf_counter() - t)
        out.append((name, statistics.median(times)))
    return out


def parity(scale: str, img: int, rounds: int, warmup: int = 5) -> dict[str, float]:
    """Interleaved batch-1 latency of the same YAML built by yolo-ghost and by ultralytics (same weights), timed by
    ``yolo_ghost.tools.latency.measure_latency`` (PyTorch eager, BN fused); the ratio is ``paired_ratio``'s."""
    import ultralytics
    from ultralytics.nn.tasks import DetectionModel

    import yolo_ghost
    from yolo_ghost.tools.latency import measure_latency, paired_ratio

    src = Path(ultralytics.__file__).parent / "cfg" / "models" / "v5" / "yolov5.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / f"yolov5{scale}.yaml"
        shutil.copy(src, cfg)
        theirs = DetectionModel(str(cfg), verbose=False).eval()
        ours = yolo_ghost.build_model(cfg).eval()
    ours.load_state_dict(theirs.state_dict())
    x = torch.rand(1, 3, img, img)
    with torch.inference_mode():
        assert torch.allclose(ours(x)[0], theirs(x)[0], atol=1e-4)
    lat = measure_latency(
        {"yolo-ghost": ours, "ultralytics": theirs}, img, backends=["torch-cpu"], warmup=warmup, rounds=rounds
    )
    a, b = lat["yolo-ghost"]["torch-cpu"], lat["ultralytics"]["torch-cpu"]
    return {"yolo-ghost": a.median_ms, "ultralytics": b.median_ms, "ratio": paired_ratio(a, b)}


def main() -> None:
    """Print both figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="s", help="scale of ultralytics' yolov5.yaml for the parity run")
    ap.add_argument("--img", type=int, default=640)
    ap.add_argument("--rounds", type=int, default=60)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("build time (median of 5):")
    for name, t in build_times():
        print(f"  {name:<32} {t * 1e3:8.1f} ms")
    p = parity(args.scale, args.img, args.rounds)
    print(
        f"parity yolov5{args.scale} (ultralytics yaml), {args.img}px batch 1, fused, interleaved x{args.rounds}: "
        f"yolo-ghost {p['yolo-ghost']:.1f} ms, ultralytics {p['ultralytics']:.1f} ms, ratio {p['ratio']:.3f}"
    )


if __name__ == "__main__":
    main()
