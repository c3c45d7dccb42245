"""Every block family; importing this package registers all of them."""

from yolo_ghost.blocks import attention, ghost, heads, stock  # noqa: F401  (registration side effects)
