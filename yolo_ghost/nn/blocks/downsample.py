"""Stride-2 downsampling blocks of YOLOv9 and YOLOv10, registered as the ultralytics package defines them."""

from __future__ import annotations

from ultralytics.nn.modules.block import AConv, ADown, SCDown

from yolo_ghost.nn.registry import register_block

register_block(
    "ADown",
    signature="[c2]",
    paper="YOLOv9's ADown: average pool, then half the channels by a 3x3 stride-2 conv, half by max pool + 1x1",
    examples=((16, [32], 2),),
)(ADown)
register_block(
    "AConv",
    signature="[c2]",
    paper="YOLOv9-t/s's AConv: average pool then a 3x3 stride-2 conv (Wang et al. 2024)",
    examples=((16, [32], 2),),
)(AConv)
register_block(
    "SCDown",
    signature="[c2, k, s]",
    paper="YOLOv10's spatial-channel decoupled downsampling: 1x1 conv then k x k depthwise stride s (Wang 2024)",
    examples=((16, [32, 3, 2], 2),),
)(SCDown)
