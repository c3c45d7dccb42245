"""COCO-style evaluation with pycocotools for any YOLO-format dataset.

``yolo_ghost.eval.coco`` holds the pure functions (ground-truth conversion, ``COCOeval``, the report);
``yolo_ghost.eval.validator`` the ultralytics validator built on them and the ``evaluate`` entry point. The validator
is imported lazily so that ``from yolo_ghost.eval import run_cocoeval`` does not import the ultralytics engine.
"""

from __future__ import annotations

from typing import Any

from yolo_ghost.eval.coco import STAT_KEYS, format_report, image_id_map, run_cocoeval, yolo_to_coco

__all__ = [
    "STAT_KEYS",
    "CocoDetectionValidator",
    "evaluate",
    "format_report",
    "image_id_map",
    "resolve_data",
    "run_cocoeval",
    "yolo_to_coco",
]


def __getattr__(name: str) -> Any:
    if name == "resolve_data":  # its home is yolo_ghost.datasets; kept here for existing importers
        from yolo_ghost.datasets import resolve_data

        return resolve_data
    if name in {"CocoDetectionValidator", "evaluate"}:
        from yolo_ghost.eval import validator

        return getattr(validator, name)
    raise AttributeError(f"module 'yolo_ghost.eval' has no attribute {name!r}")
