"""The CSP stacks of YOLOv8, YOLOv10 and YOLO11, registered as the ultralytics package defines them.

All split their input (CSPNet, Wang et al. 2020) and concatenate the output of every inner unit (the gradient-path
idea of ELAN, YOLOv7), so they take the repeat count ``n`` as an argument. YOLO11's ``C3k2`` switches on its C3k
inner units at the m/l/x scales, and with ``C2fCIB`` it gives the ``Detect`` after it the light depthwise class
branch; both facts are declared here, on the registration, as the ultralytics parser applies them.
"""

from __future__ import annotations

from typing import Any

from ultralytics.nn.modules.block import C2, C2f, C2fCIB, C3k2

from yolo_ghost.nn.registry import register_block

# YOLO11 and YOLOv10 blocks give the Detect head after them its depthwise class branch (ultralytics' `legacy=False`).
MODERN_HEAD = (("legacy", False),)


def c3k_at_large_scales(scale: str, call: list[Any]) -> list[Any]:
    """YOLO11's rule for ``[c1, c2, n, c3k, ...]``: the m, l and x models use C3k inner units in every C3k2."""
    if scale in ("m", "l", "x"):
        call[3:4] = [True]  # a slice also supplies c3k when the row leaves it out
    return call


register_block(
    "C2",
    repeat="arg",
    signature="[c2, shortcut=True, g=1, e=0.5]",
    paper="CSP bottleneck with 2 convs (CSPNet, Wang et al. 2020), ultralytics",
    examples=((16, [32], 1), (16, [32, False], 1)),
)(C2)
register_block(
    "C2f",
    repeat="arg",
    signature="[c2, shortcut=False, g=1, e=0.5]",
    paper="YOLOv8's C2f: CSP split, every bottleneck's output concatenated (CSPNet + ELAN, YOLOv7)",
    examples=((16, [32], 1), (16, [32, True], 1)),
)(C2f)
register_block(
    "C3k2",
    repeat="arg",
    signature="[c2, c3k=False, e=0.5, attn=False, g=1, shortcut=True]",
    paper="YOLO11's C3k2: C2f with Bottleneck (or, at m/l/x, C3k) inner units (Jocher & Qiu 2024)",
    examples=((16, [32], 1), (16, [32, True, 0.25], 1)),
    scale_args=c3k_at_large_scales,
    sets=MODERN_HEAD,
)(C3k2)
register_block(
    "C2fCIB",
    repeat="arg",
    signature="[c2, shortcut=False, lk=False, g=1, e=0.5]",
    paper="YOLOv10's C2f with compact inverted blocks (Wang et al. 2024)",
    examples=((16, [32], 1), (16, [32, True, True], 1)),
    sets=MODERN_HEAD,
)(C2fCIB)
