"""The classic anchor-based YOLOv5 loss (YOLOv5 v6/v7; anchor matching from YOLOv4, Bochkovskiy et al. 2020).

Three terms, each a mean over its elements and scaled by a gain:

* box: 1 - CIoU (Zheng et al. 2020) between the decoded prediction and the target, over matched anchors;
* objectness: BCE on every anchor of every cell, the target being the (detached) IoU of the matched prediction,
  weighted per level (the small-object level counts most);
* class: BCE over the classes of matched anchors (skipped for a single class), with optional label smoothing.

Matching: a target goes to every anchor whose width and height are both within a factor ``anchor_t`` of its own,
at every level, and to the cell holding its centre plus the two nearest neighbouring cells (the centre may
move from -0.5 to 1.5 cells, so those cells can still reach it).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
from ultralytics.utils.metrics import bbox_iou

# YOLOv5's hyp.scratch-low gains and matching threshold, before the per-model scaling below.
DEFAULT_LOSS_HYP: dict[str, float] = {
    "box": 0.05,
    "obj": 1.0,
    "cls": 0.5,
    "cls_pw": 1.0,
    "obj_pw": 1.0,
    "anchor_t": 4.0,
    "label_smoothing": 0.0,
}
# Keys of a YOLOv5 hyp file that only this loss reads (the ultralytics trainer has no such arguments, or, for
# `cls_pw`, one with another meaning: a class-frequency weighting power).
LOSS_ONLY_KEYS = ("obj", "cls_pw", "obj_pw", "anchor_t", "label_smoothing")
# Objectness weight per level, small objects first (YOLOv5: P3-P5, and P3-P7 for deeper heads).
OBJ_BALANCE: dict[int, list[float]] = {3: [4.0, 1.0, 0.4]}
_OBJ_BALANCE_DEEP = [4.0, 1.0, 0.25, 0.06, 0.02]
# Neighbour cells a target also claims: itself, then left, up, right, down (in units of the 0.5 cell bias).
_NEIGHBOURS = torch.tensor([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]], dtype=torch.float32)
_BIAS = 0.5

LOSS_NAMES = ("box_loss", "obj_loss", "cls_loss")


def _hyp_value(model: nn.Module, key: str) -> float:
    """A loss hyperparameter: the model YAML's ``loss_hyp`` first, then the trainer args (box/cls), then the default."""
    loss_hyp = (getattr(model, "yaml", None) or {}).get("loss_hyp") or {}
    if key in loss_hyp:
        return float(loss_hyp[key])
    args = getattr(model, "args", None)
    if key in ("box", "cls") and args is not None:
        value = args.get(key) if isinstance(args, dict) else getattr(args, key, None)
        if value is not None:
            return float(value)
    return DEFAULT_LOSS_HYP[key]


def _train_imgsz(model: nn.Module) -> float:
    args = getattr(model, "args", None)
    imgsz = (args.get("imgsz") if isinstance(args, dict) else getattr(args, "imgsz", None)) if args else None
    if isinstance(imgsz, (list, tuple)):
        imgsz = max(imgsz)
    return float(imgsz or 640)


class YOLOv5Loss:
    """The YOLOv5 training loss for an anchor-based head (``AnchorDetect``), called by the ultralytics engine as ``criterion(preds, batch)``.

    Gains follow YOLOv5's ``train.py`` scaling of its hyperparameters: ``box *= 3 / nl``,
    ``cls *= nc / 80 * 3 / nl`` and ``obj *= (imgsz / 640) ** 2 * 3 / nl``, so the YAML's hyp values keep their
    meaning across heads, class counts and image sizes.

    Args:
        model: the de-parallelised detection model; its last layer must be an anchor head (``nc``, ``na``, ``nl`` and
            ``anchors_grid_units``, as ``AnchorDetect`` has them). Hyperparameters are
            read from ``model.yaml["loss_hyp"]`` (obj, cls_pw, obj_pw, anchor_t, label_smoothing, and box/cls when
            given there), else ``model.args`` (box, cls, imgsz), else YOLOv5's hyp.scratch-low values.
    """

    def __init__(self, model: nn.Module) -> None:
        head = model.model[-1]
        if not hasattr(head, "anchors_grid_units"):
            raise TypeError(f"YOLOv5Loss needs an anchor-based Detect head, got {type(head).__name__}")
        self.head = head
        self.nc, self.na, self.nl = head.nc, head.na, head.nl
        self.balance = OBJ_BALANCE.get(self.nl, _OBJ_BALANCE_DEEP[: self.nl])
        self.anchor_t = _hyp_value(model, "anchor_t")
        scale = 3 / self.nl
        self.box_gain = _hyp_value(model, "box") * scale
        self.cls_gain = _hyp_value(model, "cls") * self.nc / 80 * scale
        self.obj_gain = _hyp_value(model, "obj") * (_train_imgsz(model) / 640) ** 2 * scale
        eps = _hyp_value(model, "label_smoothing")
        self.cls_pos, self.cls_neg = 1.0 - 0.5 * eps, 0.5 * eps
        self.cls_pw = _hyp_value(model, "cls_pw")
        self.obj_pw = _hyp_value(model, "obj_pw")

    def __call__(
        self, preds: list[torch.Tensor] | tuple[torch.Tensor, list[torch.Tensor]], batch: dict[str, Any]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Return ``(loss * batch_size, {box_loss, obj_loss, cls_loss})`` as the ultralytics trainer expects.

        ``preds`` is the head's training output (a list of ``(B, na, H, W, 5 + nc)`` maps) or, in validation, the
        ``(decoded, raw)`` tuple, of which the raw maps are used.
        """
        raw = preds[1] if isinstance(preds, tuple) else preds
        device = raw[0].device
        targets = torch.cat(
            (
                batch["batch_idx"].view(-1, 1).to(device, torch.float32),
                batch["cls"].view(-1, 1).to(device, torch.float32),
                batch["bboxes"].view(-1, 4).to(device, torch.float32),
            ),
            1,
        )
        bce_cls = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([self.cls_pw], device=device))
        bce_obj = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([self.obj_pw], device=device))
        lbox = torch.zeros(1, device=device)
        lobj = torch.zeros(1, device=device)
        lcls = torch.zeros(1, device=device)
        anchors = self.head.anchors_grid_units.to(device)
        for i, p in enumerate(raw):
            p = p.float()
            img, anchor_idx, gj, gi, tbox, tcls = self.build_targets(targets, anchors[i], p.shape[2], p.shape[3])
            tobj = torch.zeros(p.shape[:4], device=device)
            if len(img):
                ps = p[img, anchor_idx, gj, gi]
                pxy = ps[:, :2].sigmoid() * 2 - 0.5
                pwh = (ps[:, 2:4].sigmoid() * 2) ** 2 * anchors[i][anchor_idx]
                iou = bbox_iou(torch.cat((pxy, pwh), 1), tbox, xywh=True, CIoU=True).squeeze(-1)
                lbox += (1.0 - iou).mean()
                tobj[img, anchor_idx, gj, gi] = iou.detach().clamp(0).to(tobj.dtype)
                if self.nc > 1:
                    t = torch.full_like(ps[:, 5:], self.cls_neg)
                    t[torch.arange(len(img), device=device), tcls] = self.cls_pos
                    lcls += bce_cls(ps[:, 5:], t)
            lobj += bce_obj(p[..., 4], tobj) * self.balance[i]
        lbox *= self.box_gain
        lobj *= self.obj_gain
        lcls *= self.cls_gain
        loss = torch.cat((lbox, lobj, lcls))
        bs = raw[0].shape[0]
        return loss * bs, dict(zip(LOSS_NAMES, loss.detach()))

    def build_targets(
        self, targets: torch.Tensor, anchors: torch.Tensor, h: int, w: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Match targets to one level's anchors and cells.

        Args:
            targets: ``(n, 6)`` rows of image index, class, normalised x, y, w, h.
            anchors: this level's anchors in grid units, ``(na, 2)``.
            h, w: the level's grid size.

        Returns:
            image index, anchor index, cell row, cell column (each ``(m,)`` long), the target box relative to its
            cell as ``(m, 4)`` xywh in grid units, and the class ``(m,)`` long.
        """
        device = targets.device
        scale = torch.tensor([w, h, w, h], device=device, dtype=torch.float32)
        boxes = targets[:, 2:6] * scale  # grid units
        # (na, n): anchor a fits target t when neither side differs by more than a factor anchor_t
        ratio = boxes[None, :, 2:4] / anchors[:, None]
        fits = torch.max(ratio, 1 / ratio).max(2).values < self.anchor_t
        anchor_idx, target_idx = fits.nonzero(as_tuple=True)
        t, boxes = targets[target_idx], boxes[target_idx]
        xy = boxes[:, :2]
        xy_inv = scale[:2] - xy
        # A target also claims the neighbour on the side of the cell its centre is nearer to, in x and in y;
        # never off the grid (the `> 1` tests keep the neighbour index >= 0 and < size).
        left, up = ((xy % 1 < _BIAS) & (xy > 1)).T
        right, down = ((xy_inv % 1 < _BIAS) & (xy_inv > 1)).T
        keep = torch.stack((torch.ones_like(left), left, up, right, down))  # (5, m)
        offsets = (_NEIGHBOURS.to(device) * _BIAS)[:, None].expand(-1, len(t), -1)[keep]
        rep = keep.nonzero(as_tuple=True)[1]
        t, boxes, anchor_idx = t[rep], boxes[rep], anchor_idx[rep]
        xy = boxes[:, :2]
        cell = (xy - offsets).long()
        gi = cell[:, 0].clamp_(0, w - 1)
        gj = cell[:, 1].clamp_(0, h - 1)
        tbox = torch.cat((xy - torch.stack((gi, gj), 1), boxes[:, 2:4]), 1)
        return t[:, 0].long(), anchor_idx, gj, gi, tbox, t[:, 1].long()
