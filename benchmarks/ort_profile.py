"""Where does ONNX Runtime spend a model's time? Per operator type and per YAML layer, from ORT's own profiler.

Each config is exported (BN fused, batch 1) and run with ``enable_profiling``; leaving out the warm-up runs, the
kernel times of the optimised graph are summed by operator type and by the YAML layer their node came from
(``/model.N/...`` in the exported node names), and each layer's time is set against its GFLOPs from
``yolo_ghost.tools.profiler``. Profiling adds a little time to every node, so graphs with many small ops read slightly
slower here than in ``benchmarks/latency_ratio.py``; use this for shares, that for ratios.

    python benchmarks/ort_profile.py --cfg yolov5l-v3.yaml yolov5l-v3-ghost.yaml --img 640 --runs 6
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import tempfile
from pathlib import Path

import numpy as np
import torch

from yolo_ghost import build_model
from yolo_ghost.tools.export import INPUT_NAME, export_onnx, prepare_for_export
from yolo_ghost.tools.latency import ort_session
from yolo_ghost.tools.profiler import profile_model

LAYER = re.compile(r"/model\.(\d+)/")


def profile_ort(cfg: str, imgsz: int, runs: int, warmup: int, threads: int, folder: Path) -> dict:
    """Kernel milliseconds per run of one config, by operator type and by YAML layer (-1: nodes outside a layer)."""
    model = build_model(cfg, nc=80).eval()
    layer_gflops = [lp.gflops for lp in profile_model(model, imgsz).layers]
    path = export_onnx(prepare_for_export(model), folder / f"{Path(cfg).stem}.onnx", imgsz, dynamic=False)
    x = np.random.default_rng(0).random((1, 3, imgsz, imgsz), dtype=np.float32)
    sess = ort_session(path, threads, profile_prefix=folder / Path(cfg).stem)  # as yolo_ghost.tools.latency times it
    for _ in range(warmup + runs):
        sess.run(None, {INPUT_NAME: x})
    events = json.loads(Path(sess.end_profiling()).read_text())
    # the warm-up runs (arena growth, first-touch pages) are the first ones in time; keep the nodes of the others
    timed = sorted((e["ts"], e["ts"] + e["dur"]) for e in events if e.get("name") == "model_run")[warmup:]
    by_op: collections.Counter = collections.Counter()
    count: collections.Counter = collections.Counter()
    by_layer: collections.Counter = collections.Counter()
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        if not any(t0 <= e["ts"] <= t1 for t0, t1 in timed):
            continue
        op, ms = e["args"]["op_name"], e["dur"] / 1e3 / len(timed)
        by_op[op] += ms
        count[op] += 1
        m = LAYER.search(e["name"])
        by_layer[int(m.group(1)) if m else -1] += ms
    return {
        "cfg": cfg,
        "run_ms": float(np.mean([(t1 - t0) / 1e3 for t0, t1 in timed])),  # a mean, as the kernel times
        "kernel_ms": sum(by_op.values()),
        "by_op": {k: {"ms": v, "nodes": count[k] // len(timed)} for k, v in by_op.most_common()},
        "by_layer": {k: {"ms": by_layer[k], "gflops": layer_gflops[k] if k >= 0 else None} for k in sorted(by_layer)},
    }


def main(argv: list[str] | None = None) -> list[dict]:
    """Profile every config and print its operator and layer tables; returns the results."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cfg", nargs="+", default=["yolov5l-v3.yaml", "yolov5l-v3-ghost.yaml"], help="model YAMLs")
    p.add_argument("--img", type=int, default=640, help="square input size (default 640)")
    p.add_argument("--runs", type=int, default=6, help="profiled runs per config (default 6)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs first (default 2)")
    p.add_argument("--threads", type=int, default=None, help="intra-op threads (default: torch's)")
    p.add_argument("--top", type=int, default=8, help="operator types to list (default 8)")
    a = p.parse_args(argv)
    threads = a.threads or torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix="yolo_ghost_ort_profile_") as tmp:
        results = [profile_ort(c, a.img, a.runs, a.warmup, threads, Path(tmp)) for c in a.cfg]
    for r in results:
        tot = r["kernel_ms"]
        run = r["run_ms"]
        print(f"\n{r['cfg']} @{a.img}, {threads} threads: run {run:.1f} ms, kernels {tot:.1f} ms (means over runs)")
        for op, v in list(r["by_op"].items())[: a.top]:
            print(f"  {op:<16} {v['ms']:8.1f} ms {100 * v['ms'] / tot:5.1f}%  {v['nodes']:4d} nodes")
    print(f"\nper layer: ms (GFLOP/s) @{a.img}")
    print("layer " + "".join(f"{Path(r['cfg']).stem:>26}" for r in results))
    for k in sorted({k for r in results for k in r["by_layer"]}):
        cells = []
        for r in results:
            v = r["by_layer"].get(k)
            rate = f" ({v['gflops'] / v['ms'] * 1e3:5.0f})" if v and v["gflops"] and v["ms"] > 0 else " " * 8
            cells.append(f"{v['ms']:18.1f}{rate}" if v else " " * 26)
        print(f"{k:5d} " + "".join(cells))
    return results


if __name__ == "__main__":
    main()
