"""Where do lower FLOPs turn into lower latency? The ShuffleNet detectors against yolov5n and yolov5s on CPU.

For each size (320 and 640 by default) every model is profiled (params, GFLOPs, memory traffic; BN fused) and all of
them are timed together in one interleaved run (``yolo_ghost.tools.latency.measure_latency``: batch 1, BN fused, PyTorch
eager and ONNX Runtime). The table gives each model's GFLOPs and latency as ratios to yolov5n (the latency ratio is
the median over rounds of the per-round ratio, ``paired_ratio``), so the gap between the two shows how far FLOPs
mislead.

    python benchmarks/zoo_latency.py --img 320 640 --rounds 10 --json runs/zoo_latency.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from yolo_ghost import build_model
from yolo_ghost.tools.latency import CPU_BACKENDS, measure_latency, paired_ratio
from yolo_ghost.tools.profiler import profile_model
from yolo_ghost.utils.atomic import write_json_atomic

CONFIGS = [
    "yolov5n.yaml",
    "yolov5s.yaml",
    "yolov5-shufflenetv2.yaml",
    "yolov5-shufflenetv2-se.yaml",
    "yolov5-shufflenetv2-sk.yaml",
    "yolov5-shufflenetv2-liteconv.yaml",
    "yolov5-shufflenetv2-k5.yaml",
    "yolov5-shufflenetv2-csp.yaml",
    "yolov5-shufflenetv1.yaml",
]


def main(argv: list[str] | None = None) -> dict:
    """Profile and time every config at every size; print one Markdown table per size."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cfg", nargs="+", default=CONFIGS, help="configs; ratios are to the first")
    p.add_argument("--img", type=int, nargs="+", default=[320, 640], help="input sizes (default 320 640)")
    p.add_argument("--rounds", type=int, default=10, help="interleaved timed rounds (default 10)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs per model first (default 2)")
    p.add_argument("--threads", type=int, default=None, help="intra-op threads (default: torch's)")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    a = p.parse_args(argv)
    models = {Path(c).stem: build_model(c, nc=80).eval() for c in a.cfg}
    base = next(iter(models))
    out: dict = {"configs": a.cfg, "sizes": {}}
    for img in a.img:
        prof = {n: profile_model(m, img) for n, m in models.items()}
        lat = measure_latency(models, img, backends=CPU_BACKENDS, warmup=a.warmup, rounds=a.rounds, threads=a.threads)
        threads = lat[base][CPU_BACKENDS[0]].threads
        print(f"\n### {img}x{img}, batch 1, BN fused, {threads} threads, median of {a.rounds} interleaved rounds\n")
        print(
            "| model | params (M) | GFLOPs | memory (MB) | PyTorch ms | ORT ms | GFLOPs / ORT latency vs " + base + " |"
        )
        print("|:---|---:|---:|---:|---:|---:|---:|")
        rows = {}
        for n in models:
            pr, t, o = prof[n], lat[n]["torch-cpu"].median_ms, lat[n]["onnxruntime-cpu"].median_ms
            fr = pr.gflops / prof[base].gflops
            lr = paired_ratio(lat[n]["onnxruntime-cpu"], lat[base]["onnxruntime-cpu"])  # median of per-round ratios
            rows[n] = {
                "params": pr.params, "gflops": pr.gflops, "mem_mb": pr.mem_mb,
                "latency": {b: s.as_dict() for b, s in lat[n].items()}, "gflops_ratio": fr, "ort_latency_ratio": lr,
            }  # fmt: skip
            print(
                f"| {n} | {pr.params / 1e6:.2f} | {pr.gflops:.2f} | {pr.mem_mb:.0f} | {t:.1f} | {o:.1f} | "
                f"{fr:.2f} / {lr:.2f} |"
            )
        out["sizes"][img] = {"threads": threads, "rounds": a.rounds, "rows": rows}
    if a.json:
        write_json_atomic(a.json, out, indent=1)
    return out


if __name__ == "__main__":
    main()
