"""Self-attention stacks of YOLOv10, YOLO11 and YOLO12, registered as the ultralytics package defines them.

``PSA`` and ``C2PSA`` keep their width (one half of the channels goes through multi-head self-attention, 64 channels
a head, so they need at least 128 channels); YOLO12's ``A2C2f`` uses area attention and, at the l and x scales,
residual blocks with a smaller MLP, which is declared here as the ultralytics parser applies it.
"""

from __future__ import annotations

from typing import Any

from ultralytics.nn.modules.block import C2PSA, PSA, A2C2f

from yolo_ghost.nn.blocks.csp import MODERN_HEAD
from yolo_ghost.nn.registry import register_block


def residual_at_large_scales(scale: str, call: list[Any]) -> list[Any]:
    """YOLO12's rule: the l and x models add ``residual=True, mlp_ratio=1.2`` to every A2C2f."""
    return [*call, True, 1.2] if scale in ("l", "x") else call


register_block(
    "PSA",
    signature="[c2, e=0.5]",
    paper="YOLOv10's partial self-attention (Wang et al. 2024); c2 must equal its input width",
    examples=((128, [128], 1),),
)(PSA)
register_block(
    "C2PSA",
    repeat="arg",
    signature="[c2, e=0.5]",
    paper="YOLO11's C2PSA: a CSP split with n PSA blocks (Jocher & Qiu 2024); c2 must equal its input width",
    examples=((128, [128], 1),),
)(C2PSA)
register_block(
    "A2C2f",
    repeat="arg",
    signature="[c2, a2=True, area=1, residual=False, mlp_ratio=2.0, e=0.5, g=1, shortcut=True]",
    paper="YOLO12's area-attention C2f (R-ELAN, Tian et al. 2025)",
    examples=((32, [64, True, 4], 1), (16, [64, False], 1)),
    scale_args=residual_at_large_scales,
    sets=MODERN_HEAD,
)(A2C2f)
