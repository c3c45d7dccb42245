"""Training throughput of two configs (default: yolov5s vs yolov5s-ghost) measured in ONE interleaved run.

Each step is a full training step (forward, YOLOv5 loss, backward, SGD update) on the same batch for both models;
the models alternate step by step, so that machine noise (other processes, thermal state) falls on both alike.
Reports the median images/s of each and the ratio.

    python benchmarks/train_speed.py --img 320 --batch 8 --steps 12 --warmup 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from yolo_ghost import build_model


def make_batch(batch: int, imgsz: int, nc: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """A fixed random batch with three boxes per image (normalised xywh), in the ultralytics batch layout."""
    g = torch.Generator().manual_seed(seed)
    n = 3 * batch
    xy = torch.rand(n, 2, generator=g) * 0.6 + 0.2
    wh = torch.rand(n, 2, generator=g) * 0.3 + 0.05
    return {
        "img": torch.rand(batch, 3, imgsz, imgsz, generator=g),
        "batch_idx": torch.arange(batch).repeat_interleave(3).float(),
        "cls": torch.randint(0, nc, (n, 1), generator=g).float(),
        "bboxes": torch.cat((xy, wh), 1),
    }


def step(model: torch.nn.Module, opt: torch.optim.Optimizer, batch: dict[str, torch.Tensor]) -> float:
    """One training step; returns its wall time in seconds."""
    t = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss, _ = model.loss(batch, model(batch["img"]))
    loss.sum().backward()
    opt.step()
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> dict:
    """Run the interleaved benchmark and print a JSON summary."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cfgs", nargs=2, default=["yolov5s.yaml", "yolov5s-ghost.yaml"], help="baseline and candidate")
    p.add_argument("--img", type=int, default=320, help="square input size")
    p.add_argument("--batch", type=int, default=8, help="images per step")
    p.add_argument("--steps", type=int, default=12, help="timed steps per model")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps per model first")
    p.add_argument("--nc", type=int, default=80, help="number of classes")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: leave torch's default)")
    p.add_argument(
        "--layout", choices=["channels_last", "contiguous"], default="channels_last",
        help="memory layout of model and images (default channels_last: what YoloGhostTrainer uses on CPU)",
    )  # fmt: skip
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    fmt = torch.channels_last if a.layout == "channels_last" else torch.contiguous_format
    models = [build_model(c, nc=a.nc).train().to(memory_format=fmt) for c in a.cfgs]
    opts = [torch.optim.SGD(m.parameters(), lr=0.001, momentum=0.9) for m in models]
    batch = make_batch(a.batch, a.img, a.nc)
    batch["img"] = batch["img"].contiguous(memory_format=fmt)
    times: list[list[float]] = [[], []]
    for i in range(a.warmup + a.steps):
        for k in range(2):
            dt = step(models[k], opts[k], batch)
            if i >= a.warmup:
                times[k].append(dt)
    ips = [a.batch / statistics.median(t) for t in times]
    out = {
        "img": a.img,
        "batch": a.batch,
        "steps": a.steps,
        "threads": torch.get_num_threads(),
        "layout": a.layout,
        **{f"{c}_img_per_s": round(v, 2) for c, v in zip(a.cfgs, ips)},
        "speedup": round(ips[1] / ips[0], 3),
    }
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
