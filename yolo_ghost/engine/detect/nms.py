"""Class-aware multi-label NMS with one greedy pass per class: ultralytics' detections, without its quadratic cost.

ultralytics' ``non_max_suppression`` makes NMS class-aware by shifting each class's boxes ``max_wh`` pixels apart and
running a single greedy NMS over every (box, class) candidate. That greedy loop compares each kept box with every
remaining candidate, so its cost grows with the square of *all* candidates. With validation's ``conf=0.001`` and
multi-label pairs, a model early in training sends thousands of candidates per image (eight classes at 160 px can
reach 12,600), and NMS then takes most of the epoch's validation time on a CPU: one greedy pass over 12,600 boxes
takes about 300 ms, eight passes over 1,575 about 30 ms.

``torchvision.ops.batched_nms`` runs the greedy pass class by class when there are many candidates. The greedy pass
itself is unchanged and classes never suppress each other in either version, so the kept detections are the same
(the one difference: no large coordinate offset, so IoUs are not rounded at ``7680 * class`` pixels).
``tests/test_eval.py`` checks the equivalence against ultralytics' function.
"""

from __future__ import annotations

import torch
from torchvision.ops import batched_nms
from ultralytics.utils.ops import xywh2xyxy


def per_class_nms(
    prediction: torch.Tensor | list | tuple,
    conf_thres: float,
    iou_thres: float,
    max_det: int = 300,
    nc: int = 0,
    agnostic: bool = False,
    max_nms: int = 30000,
) -> list[torch.Tensor]:
    """Multi-label, class-aware NMS of raw detection outputs, as ultralytics' ``non_max_suppression``.

    Args:
        prediction: ``(batch, 4 + nc + extra, boxes)`` with xywh boxes and per-class scores (or a tuple whose first
            element it is, as a model in validation mode returns).
        conf_thres, iou_thres: a (box, class) pair is a candidate when its score exceeds ``conf_thres``; candidates
            of one class overlapping a higher-scoring one by more than ``iou_thres`` are dropped.
        max_det: detections kept per image, the highest scores first.
        nc: number of classes (0: every channel after the box is a class score).
        agnostic: one NMS over all classes (``single_cls`` / ``agnostic_nms``).
        max_nms: candidates per image sent to NMS at most, the highest scores first (ultralytics' default).

    Returns:
        One ``(n, 6 + extra)`` tensor per image: x1, y1, x2, y2, score, class, extra channels; scores descending.
    """
    if isinstance(prediction, (list, tuple)):
        prediction = prediction[0]
    if not 0.0 <= conf_thres <= 1.0 or not 0.0 <= iou_thres <= 1.0:
        raise ValueError(f"conf_thres {conf_thres} and iou_thres {iou_thres} must lie in [0, 1]")
    nc = nc or prediction.shape[1] - 4
    output = []
    for x in prediction.transpose(-1, -2):  # (boxes, 4 + nc + extra) per image
        box, cls, extra = x.split((4, nc, x.shape[1] - 4 - nc), 1)
        i, j = torch.where(cls > conf_thres)  # every (box, class) pair above the threshold: multi-label
        scores = cls[i, j]
        if scores.numel() > max_nms:
            top = scores.topk(max_nms).indices
            i, j, scores = i[top], j[top], scores[top]
        boxes = xywh2xyxy(box[i])
        keep = batched_nms(boxes, scores, torch.zeros_like(j) if agnostic else j, iou_thres)[:max_det]
        output.append(torch.cat((boxes[keep], scores[keep, None], j[keep, None].to(boxes.dtype), extra[i[keep]]), 1))
    return output
