"""YOLOv9's GELAN blocks, registered as the ultralytics package defines them (Wang et al., YOLOv9, 2024).

``RepNCSPELAN4``, ``ELAN1`` and ``SPPELAN`` are conv-like (only their first arg scales with width, as in the
ultralytics parser). ``CBLinear`` and ``CBFuse`` are YOLOv9-E's auxiliary reversible branch: ``CBLinear`` outputs a
list of maps (its channel rule returns the list of widths) and ``CBFuse`` resizes and sums picks from those lists
onto its last input, keeping that input's width.
"""

from __future__ import annotations

from ultralytics.nn.modules.block import ELAN1, SPPELAN, CBFuse, CBLinear, RepNCSPELAN4

from yolo_ghost.nn.registry import register_block

register_block(
    "RepNCSPELAN4",
    signature="[c2, c3, c4, n=1]",
    paper="YOLOv9's GELAN block with RepNCSP units (Wang et al. 2024)",
    examples=((16, [32, 32, 16, 1], 1),),
)(RepNCSPELAN4)
register_block(
    "ELAN1",
    signature="[c2, c3, c4]",
    paper="YOLOv9-t/s's light ELAN block (Wang et al. 2024)",
    examples=((16, [32, 32, 16], 1),),
)(ELAN1)
register_block(
    "SPPELAN",
    signature="[c2, c3, k=5]",
    paper="YOLOv9's SPP with ELAN (Wang et al. 2024)",
    examples=((16, [32, 16], 1),),
)(SPPELAN)
register_block(
    "CBLinear",
    out=lambda c_in, args: list(args[0]),
    width_args=(),
    signature="[[c2, ...], k=1, s=1, p=None, g=1]",
    paper="YOLOv9's CBLinear: one conv split into several outputs (auxiliary reversible branch, Wang et al. 2024)",
)(CBLinear)
register_block(
    "CBFuse",
    inputs="none",
    out=lambda c_in, args: c_in[-1],
    width_args=(),
    signature="[[index, ...]]",
    paper="YOLOv9's CBFuse: resize and sum CBLinear outputs onto the last input (Wang et al. 2024)",
)(CBFuse)
