"""Datasets that ship with yolo-ghost (generated locally, never downloaded)."""

from yolo_ghost.data.shapes import SHAPES_NAMES, make_shapes, render_image, resolve_builtin_dataset

__all__ = ["SHAPES_NAMES", "make_shapes", "render_image", "resolve_builtin_dataset"]
