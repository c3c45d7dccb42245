"""Does the Ghost model's FLOPs saving become a latency saving? The l-scale pairs at 640, batch 1, CPU.

For each pair (yolov5l-ghost vs yolov5l, and the v3.1-layout yolov5l-v3-ghost vs yolov5l-v3) it reports the GFLOPs
ratio (profiler, BN fused) and the latency ratio on PyTorch eager and ONNX Runtime, all four models timed in one
interleaved run per setting (``yolo_ghost.tools.latency.measure_latency``). Settings show what moves the ratio:

* ``ort``: the issue's target setting alone (ONNX Runtime, BN fused, graph optimisations ``all``), cheap enough to
  run with many rounds;
* ``fused``: BN folded into the convolutions, ORT graph optimisations ``all`` (the deployed configuration);
* ``unfused``: BatchNorm kept as separate ops;
* ``ort-basic`` / ``ort-disable``: lower ORT optimisation levels (``basic`` still folds constants and fuses Conv+BN;
  ``disable`` runs the graph as exported);
* ``channels-last``: PyTorch eager with the model and input in NHWC (``torch.channels_last``);
* ``1-thread``: ONNX Runtime on one thread (how much of the gap is the many small ops parallelising poorly).

    python benchmarks/latency_ratio.py --img 640 --rounds 10 --json runs/latency_ratio.json
    python benchmarks/latency_ratio.py --settings ort --rounds 40   # the target alone, tighter error bars
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch

from yolo_ghost import build_model
from yolo_ghost.tools.latency import measure_latency, paired_ratio
from yolo_ghost.tools.profiler import profile_model
from yolo_ghost.utils.atomic import write_json_atomic

PAIRS = (("yolov5l.yaml", "yolov5l-ghost.yaml"), ("yolov5l-v3.yaml", "yolov5l-v3-ghost.yaml"))
SETTINGS = {
    "ort": {"fuse": True, "ort_opt_level": "all", "backends": ["onnxruntime-cpu"]},
    "fused": {"fuse": True, "ort_opt_level": "all", "backends": ["torch-cpu", "onnxruntime-cpu"]},
    "unfused": {"fuse": False, "ort_opt_level": "all", "backends": ["torch-cpu", "onnxruntime-cpu"]},
    "ort-basic": {"fuse": True, "ort_opt_level": "basic", "backends": ["onnxruntime-cpu"]},
    "ort-disable": {"fuse": True, "ort_opt_level": "disable", "backends": ["onnxruntime-cpu"]},
    "channels-last": {"fuse": True, "ort_opt_level": "all", "backends": ["torch-cpu"], "channels_last": True},
    "1-thread": {"fuse": True, "ort_opt_level": "all", "backends": ["onnxruntime-cpu"], "threads": 1},
}


class ChannelsLast(torch.nn.Module):
    """Runs the wrapped model on an NHWC copy of the input, with its weights in NHWC (fuse first: BN stays NCHW)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = copy.deepcopy(model).eval().fuse().to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.contiguous(memory_format=torch.channels_last))


def main(argv: list[str] | None = None) -> dict:
    """Measure every setting and print the ratio table; returns (and optionally writes) the JSON summary."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--img", type=int, default=640, help="square input size (default 640)")
    p.add_argument("--rounds", type=int, default=10, help="interleaved timed rounds per setting (default 10)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs per model first (default 2)")
    p.add_argument("--threads", type=int, default=None, help="intra-op threads (default: torch's)")
    p.add_argument(
        "--settings", nargs="+", default=[k for k in SETTINGS if k != "ort"], choices=list(SETTINGS),
        help="what to measure (default: all but ort, which fused includes)",
    )  # fmt: skip
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    a = p.parse_args(argv)
    cfgs = [c for pair in PAIRS for c in pair]
    models = {Path(c).stem: build_model(c, nc=80).eval() for c in cfgs}
    gflops = {n: profile_model(m, a.img).gflops for n, m in models.items()}
    out: dict = {"imgsz": a.img, "rounds": a.rounds, "gflops": gflops, "settings": {}}
    for name in a.settings:
        s = dict(SETTINGS[name])
        wrap = s.pop("channels_last", False)
        runs = {k: ChannelsLast(m) for k, m in models.items()} if wrap else models
        print(f"\n== {name}: {s}")
        s.setdefault("threads", a.threads)
        res = measure_latency(runs, a.img, warmup=a.warmup, rounds=a.rounds, **s)
        rows = {}
        for base, ghost in PAIRS:
            b, g = Path(base).stem, Path(ghost).stem
            fr = gflops[g] / gflops[b]
            for backend in s["backends"]:
                mb, mg = res[b][backend].median_ms, res[g][backend].median_ms
                pr = paired_ratio(res[g][backend], res[b][backend])
                iqr = [paired_ratio(res[g][backend], res[b][backend], q) for q in (25, 75)]
                rows[f"{g}/{b} {backend}"] = {
                    "base_ms": mb, "ghost_ms": mg, "latency_ratio": mg / mb, "paired_ratio": pr, "gflops_ratio": fr,
                    "paired_ratio_iqr": iqr, "latency_over_gflops": mg / mb / fr, "paired_over_gflops": pr / fr,
                    "paired_over_gflops_iqr": [r / fr for r in iqr],
                    "spread_ms": {b: [res[b][backend].p10_ms, res[b][backend].p90_ms],
                                  g: [res[g][backend].p10_ms, res[g][backend].p90_ms]},
                }  # fmt: skip
                print(
                    f"{g:>17} / {b:<11} {backend:<16} {mg:8.1f} / {mb:8.1f} ms  paired x{pr:.3f} "
                    f"[IQR {iqr[0]:.3f}-{iqr[1]:.3f}]  GFLOPs x{fr:.3f}  latency/GFLOPs {pr / fr:.2f} "
                    f"[{iqr[0] / fr:.2f}-{iqr[1] / fr:.2f}]"
                )
        out["settings"][name] = {"config": SETTINGS[name], "threads": next(iter(res.values()))[s["backends"][0]].threads,
                                 "pairs": rows}  # fmt: skip
    if a.json:
        write_json_atomic(a.json, out, indent=1)
    return out


if __name__ == "__main__":
    main()
