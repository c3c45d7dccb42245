"""Detection heads: the classic anchor-based YOLOv5 head and the anchor-free ultralytics ``Detect``.

A head declares what training it needs, and the model, the trainer and the loss ask it (``head_loss``,
``head_loss_names``, ``head_train_gains``): ``make_loss(model)`` returns its criterion, ``loss_names`` names the loss
terms, ``train_gains`` gives the ultralytics hyperparameters (``box``, ``cls``) that loss reads. A head that declares
none of them (ultralytics' own ``Detect`` family) trains with the ultralytics engine's loss and gains. A new head
family declares them on its class, in its own file.

Feature distillation (``yolo-ghost train --distill``, ``yolo_ghost.models.distill``) asks the head the same way
(``head_distill_layers``, ``head_distill_scores``): ``distill_layers`` are the layers whose outputs the student imitates,
one per detected level, and ``distill_scores(output)`` turns the teacher head's output into the per-location scores
that weight that imitation. ultralytics' heads declare neither and keep ``DistillationModel``'s own rules.

In a YAML both are written ``Detect``: the YOLOv5 dialect passes ``[nc, anchors]`` and gets the anchor-based
head, the ultralytics dialect passes ``[nc]`` and gets the anchor-free one, as each of those projects reads it.
YOLOv10's NMS-free ``v10Detect`` is registered as ultralytics defines it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import torch
import torch.nn as nn
from ultralytics.nn.modules.head import Detect as _UltralyticsDetect
from ultralytics.nn.modules.head import v10Detect

from yolo_ghost.nn.loss import DEFAULT_LOSS_HYP, LOSS_NAMES, YOLOv5Loss
from yolo_ghost.nn.registry import register_block

# AutoAnchor-free defaults for YAMLs that write `anchors: 3` (YOLOv5's P5 and P6 anchors, in pixels).
DEFAULT_ANCHORS: dict[int, list[list[int]]] = {
    3: [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]],
    4: [
        [19, 27, 44, 40, 38, 94],
        [96, 68, 86, 152, 180, 137],
        [140, 301, 303, 264, 238, 542],
        [436, 615, 739, 380, 925, 792],
    ],
}


class AnchorDetect(_UltralyticsDetect):
    """The anchor-based YOLOv5 detection head (YOLOv5 v6.0 decoding; YOLOv3, Redmon & Farhadi 2018).

    Per level, one 1x1 conv predicts ``na * (5 + nc)`` values: box offsets, objectness and class logits for
    each of the ``na`` anchors. Training returns the raw maps, shaped ``(B, na, H, W, 5 + nc)`` per level, for
    ``yolo_ghost.nn.loss.YOLOv5Loss``. Inference decodes them into the ultralytics layout ``(B, 4 + nc, N)``
    (xywh in pixels, then class scores = objectness x class probability) so the ultralytics NMS, validator,
    predictor and exporter treat it like their own head.

    It subclasses the ultralytics ``Detect`` only so that those tools recognise it as a detection head (export
    flags, device moves, task guessing); none of that class's layers are built.
    """

    def __init__(self, nc: int = 80, anchors: Sequence[Sequence[float]] | int = 3, ch: Sequence[int] = ()) -> None:
        nn.Module.__init__(self)
        ch = list(ch)
        if isinstance(anchors, int):
            if len(ch) not in DEFAULT_ANCHORS:
                raise ValueError(
                    f"Detect: 'anchors: {anchors}' needs default anchors for {len(ch)} levels; list them in the YAML"
                )
            anchors = DEFAULT_ANCHORS[len(ch)]
        anchors = [list(a) for a in anchors]
        if len(anchors) != len(ch):
            raise ValueError(
                f"Detect: {len(anchors)} anchor levels in the YAML but {len(ch)} input feature maps in 'from'; "
                "give one anchor list per detected level"
            )
        if len({len(a) for a in anchors}) != 1 or len(anchors[0]) % 2:
            raise ValueError(f"Detect: every anchor level needs the same even number of values (w, h pairs): {anchors}")
        if nc < 1:
            raise ValueError(f"Detect: nc must be >= 1, got {nc}")
        self.nc = nc
        self.no = nc + 5
        self.nl = len(anchors)
        self.na = len(anchors[0]) // 2
        self.reg_max = 1
        self.stride = torch.zeros(self.nl)
        self.register_buffer("anchor_wh", torch.tensor(anchors, dtype=torch.float32).view(self.nl, self.na, 2))
        self.m = nn.ModuleList(nn.Conv2d(c, self.no * self.na, 1) for c in ch)
        self._grids: dict[int, tuple[torch.Size, torch.Tensor, torch.Tensor]] = {}

    # What the trainer asks of a head: the classic YOLOv5 loss, its three terms, and its gains under the ultralytics
    # argument names (which mean 7.5 / 0.5 for the anchor-free loss).
    loss_names = LOSS_NAMES
    train_gains: Mapping[str, float] = MappingProxyType(
        {"box": DEFAULT_LOSS_HYP["box"], "cls": DEFAULT_LOSS_HYP["cls"]}
    )
    # ultralytics' weight transfer inspects the anchor-free branches (cv2, cv3); this head takes plain name-and-shape.
    load_by_name_and_shape = True

    def make_loss(self, model: nn.Module) -> YOLOv5Loss:
        """The classic YOLOv5 loss for ``model`` (whose last layer is this head)."""
        return YOLOv5Loss(model)

    @property
    def distill_layers(self) -> list[int]:
        """The layers a distilled student imitates: this head's inputs (P3, P4, P5 ...), one per detected level."""
        return list(self.f)

    def distill_scores(self, output: tuple[torch.Tensor, list[torch.Tensor]] | list[torch.Tensor]) -> torch.Tensor:
        """Per-location teacher scores for feature distillation, ``(B, nc, sum of H * W over the levels)``, as logits.

        At each cell, the best of its anchors' objectness x class probability (what NMS ranks), per class: the
        imitation is weighted by where the teacher sees objects. Logits, because ``DistillationModel`` reads the
        scores of ultralytics' heads as logits and applies the sigmoid itself. ``output`` is this head's output in
        eval mode (``(decoded, raw)``) or the raw maps.
        """
        raw = output[1] if isinstance(output, tuple) else output
        levels = []
        for p in raw:  # (B, na, H, W, 5 + nc)
            prob = p[..., 4:5].float().sigmoid() * p[..., 5:].float().sigmoid()
            levels.append(prob.amax(1).flatten(1, 2).transpose(1, 2))  # max over anchors: (B, nc, H * W)
        return torch.logit(torch.cat(levels, 2), eps=1e-6)

    # Attributes the ultralytics Detect machinery reads; the anchor head has no such branches.
    cv2 = None
    cv3 = None
    one2one_cv2 = None

    @property
    def end2end(self) -> bool:
        """Always False: the anchor head has no one-to-one (NMS-free) branch."""
        return False

    @end2end.setter
    def end2end(self, value: bool) -> None:
        # ultralytics sets this on every Detect it loads; the anchor head has only one inference path.
        pass

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor] | torch.Tensor | tuple[torch.Tensor, list]:
        """Raw per-level maps in training; decoded ``(B, 4 + nc, N)`` (with the raw maps, unless exporting) otherwise."""
        raw = []
        for i in range(self.nl):
            p = self.m[i](x[i])
            _, _, h, w = p.shape
            raw.append(p.view(-1, self.na, self.no, h, w).permute(0, 1, 3, 4, 2).contiguous())
        if self.training:
            return raw
        y = torch.cat([self._decode(i, p) for i, p in enumerate(raw)], 1).transpose(1, 2)
        return y if self.export else (y, raw)

    def _decode(self, i: int, p: torch.Tensor) -> torch.Tensor:
        _, na, h, w, _ = p.shape
        grid, anchor = self._grid(i, h, w, p)
        xy, wh, conf, cls = p.sigmoid().split((2, 2, 1, self.nc), -1)
        xy = (xy * 2 - 0.5 + grid) * self.stride[i]
        wh = (wh * 2) ** 2 * anchor
        return torch.cat((xy, wh, cls * conf), -1).view(-1, na * h * w, 4 + self.nc)

    def _grid(self, i: int, h: int, w: int, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        key = (h, w, p.device, p.dtype)
        cached = self._grids.get(i)
        if (
            cached is None
            or cached[0] != key
            or self.dynamic
            or torch.jit.is_tracing()
            or torch.onnx.is_in_onnx_export()
        ):
            yv, xv = torch.meshgrid(
                torch.arange(h, device=p.device, dtype=p.dtype),
                torch.arange(w, device=p.device, dtype=p.dtype),
                indexing="ij",
            )
            grid = torch.stack((xv, yv), 2).view(1, 1, h, w, 2)
            anchor = self.anchor_wh[i].to(p.dtype).view(1, self.na, 1, 1, 2)
            cached = (key, grid, anchor)
            if not (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()):
                self._grids[i] = cached
        return cached[1], cached[2]

    @property
    def anchors_grid_units(self) -> torch.Tensor:
        """Anchors divided by their level's stride, shape ``(nl, na, 2)``, as the YOLOv5 loss matches them."""
        return self.anchor_wh / self.stride.to(self.anchor_wh.device).view(-1, 1, 1)

    def bias_init(self) -> None:
        """YOLOv5's prior: about 8 objects per 640 image at each level, class prior 0.6 / nc (Focal loss, Lin 2017)."""
        for mi, s in zip(self.m, self.stride):
            b = mi.bias.view(self.na, -1)
            b.data[:, 4] += math.log(8 / (640 / float(s)) ** 2)
            b.data[:, 5:] += math.log(0.6 / (self.nc - 0.99999))

    def fuse(self) -> None:
        """Nothing to drop: the anchor head has a single branch."""

    def _apply(self, fn):
        self._grids = {}
        return super()._apply(fn)


def head_loss(head: nn.Module, model: nn.Module) -> Any | None:
    """The criterion ``head`` declares for ``model`` (``make_loss``), or None for the ultralytics engine's own loss."""
    make = getattr(head, "make_loss", None)
    return make(model) if callable(make) else None


def head_loss_names(head: nn.Module) -> tuple[str, ...]:
    """The names of the loss terms ``head`` trains with; an ultralytics anchor-free head has box, cls and DFL (or L1
    when it regresses boxes directly, ``reg_max == 1``)."""
    names = getattr(head, "loss_names", None)
    if names is not None:
        return tuple(names)
    return ("box_loss", "cls_loss", "dfl_loss" if getattr(head, "reg_max", 16) > 1 else "l1_loss")


def head_train_gains(head: nn.Module) -> dict[str, float]:
    """The ultralytics loss-gain arguments ``head``'s loss needs (``{}``: the engine's defaults)."""
    return dict(getattr(head, "train_gains", None) or {})


def head_distill_layers(head: nn.Module) -> list[int] | None:
    """The layer indices feature distillation hooks for ``head``: the layers the student imitates, one per level,
    then the head itself (whose output gives the teacher's scores), as ``DistillationModel`` indexes them.

    A head declares ``distill_layers``; ultralytics' heads take ``DistillationModel``'s rule (the head's inputs).
    None for a head that is no detection head (a classifier's).
    """
    layers = getattr(head, "distill_layers", None)
    if layers is None and isinstance(head, _UltralyticsDetect):
        layers = list(head.f)
    return None if layers is None else [*layers, head.i]


def head_distill_scores(head: nn.Module, output: Any) -> torch.Tensor | None:
    """The per-location teacher scores ``head`` declares (``distill_scores``) for its eval-mode ``output``, as logits
    ``(B, classes, locations)``; None for a head that declares none (ultralytics' heads: ``DistillationModel`` reads
    their ``scores`` output itself)."""
    scores = getattr(head, "distill_scores", None)
    return scores(output) if callable(scores) else None


def build_anchor_free_detect(
    nc: int, ch: Sequence[int], reg_max: int = 16, end2end: bool = False, legacy: bool = True, cls: type | None = None
) -> nn.Module:
    """An ultralytics anchor-free head (``Detect``, or ``cls``) built as the ultralytics parser builds it.

    ``legacy`` picks the class branch: plain 3x3 convs (v3/v5/v6/v8/v9 models) or the lighter depthwise branch that
    YOLO11's blocks switch on (``sets=(("legacy", False),)`` on their registration). It is a class attribute in
    ultralytics; it is set for this construction only, so other models in the process are unaffected.
    """
    previous = _UltralyticsDetect.legacy
    _UltralyticsDetect.legacy = bool(legacy)
    try:
        head = cls(nc, list(ch)) if cls is not None else _UltralyticsDetect(nc, reg_max, bool(end2end), list(ch))
    finally:
        _UltralyticsDetect.legacy = previous
    head.legacy = bool(legacy)
    return head


@register_block(
    "Detect",
    inputs="list",
    out=lambda c_in, args: 0,
    width_args=(),
    repeat="none",
    yaml_keys=("reg_max", "end2end", "legacy"),
    signature="[nc, anchors] (anchor-based YOLOv5 head) or [nc] (anchor-free ultralytics head)",
    paper="YOLOv5 detection head (anchors) / YOLOv8 anchor-free head with DFL (Li et al. 2020)",
)
def detect(
    nc: int = 80,
    anchors: Sequence[Sequence[float]] | int | None = None,
    *,
    ch: Sequence[int],
    reg_max: int = 16,
    end2end: bool = False,
    legacy: bool = True,
) -> nn.Module:
    """The ``Detect`` YAML name: anchor-based when the row passes ``anchors``, anchor-free otherwise."""
    if anchors is None:
        return build_anchor_free_detect(nc, ch, reg_max, end2end, legacy)
    return AnchorDetect(nc, anchors, ch)


@register_block(
    "v10Detect",
    inputs="list",
    out=lambda c_in, args: 0,
    width_args=(),
    repeat="none",
    signature="[nc]",
    paper="YOLOv10's NMS-free head: one-to-many and one-to-one branches, light class branch (Wang et al. 2024)",
)
def v10_detect(nc: int = 80, *, ch: Sequence[int]) -> nn.Module:
    """ultralytics' ``v10Detect`` (always end-to-end; its class branch does not depend on ``legacy``)."""
    return build_anchor_free_detect(nc, ch, legacy=False, cls=v10Detect)
