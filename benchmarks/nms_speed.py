"""Time validation NMS: ultralytics' single class-offset pass against yolo-ghost's one pass per class.

python benchmarks/nms_speed.py [--classes 8] [--boxes 1575] [--images 20] [--threads 2]

The input is the candidate flood of an untrained detector at validation's conf 0.001: random boxes in a 160-px
image, every (box, class) score drawn as u**4, so that about 80% of the pairs are candidates (1575 boxes are
YOLOv5's three anchors on the 20/10/5 grids of a 160-px input). Prints the median time per image of each and checks
that both keep the same detections (as sets: two equal scores may come out in either order).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from ultralytics.utils.nms import non_max_suppression

from yolo_ghost.engine.detect.nms import per_class_nms


def flood(classes: int, boxes: int, seed: int) -> torch.Tensor:
    """One image's raw predictions ``(1, 4 + classes, boxes)``: xywh boxes and per-class scores."""
    g = torch.Generator().manual_seed(seed)
    xy, wh = torch.rand(1, 2, boxes, generator=g) * 160, torch.rand(1, 2, boxes, generator=g) * 40 + 4
    return torch.cat((xy, wh, torch.rand(1, classes, boxes, generator=g) ** 4), 1)


def main(argv: list[str] | None = None) -> None:
    """Time both NMS versions image by image and print the medians and their ratio."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--classes", type=int, default=8)
    p.add_argument("--boxes", type=int, default=1575)
    p.add_argument("--images", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    times: dict[str, list[float]] = {"ultralytics": [], "per class": []}
    candidates = []
    for i in range(a.images):
        pred = flood(a.classes, a.boxes, i)
        candidates.append(int((pred[0, 4:] > 0.001).sum()))
        t = time.perf_counter()
        ref = non_max_suppression(pred, 0.001, 0.7, multi_label=True, max_det=300, max_time_img=60.0)[0]
        times["ultralytics"].append(time.perf_counter() - t)
        t = time.perf_counter()
        ours = per_class_nms(pred, 0.001, 0.7, max_det=300)[0]
        times["per class"].append(time.perf_counter() - t)
        if sorted(map(tuple, ref.tolist())) != sorted(map(tuple, ours.tolist())):  # equal scores may swap places
            raise SystemExit(f"image {i}: the two NMS versions kept different detections")
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print(
        f"{a.images} images, {a.classes} classes x {a.boxes} boxes, median {statistics.median(candidates)} candidates "
        f"per image, {a.threads} threads; same detections in every image"
    )
    for k, v in med.items():
        print(f"  {k:<12} {v:8.2f} ms per image")
    print(f"  ratio        {med['per class'] / med['ultralytics']:8.3f}")


if __name__ == "__main__":
    main()
