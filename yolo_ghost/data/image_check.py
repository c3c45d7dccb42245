"""The real reason an image is skipped.

ultralytics replaces ``PIL.Image.open`` by an opener that, when Pillow cannot identify a file, installs and registers
the HEIF plugin ``pi-heif`` and tries again. Offline, or wherever pi-heif is not installed, the install is skipped and
the import fails, so every zero-byte, truncated or non-image file in a dataset is reported as "No module named
'pi_heif'". ``install`` wraps that opener: when the plugin cannot be had, the file is opened once more by Pillow's own
opener, whose error says what is wrong with the file ("cannot identify image file ...").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_ultralytics_open: Callable[..., Any] | None = None


def open_image(filename: Any, *args: Any, **kwargs: Any) -> Any:
    """``PIL.Image.open`` as ultralytics patches it, raising Pillow's own error when the HEIF plugin is missing."""
    from ultralytics.utils import patches

    assert _ultralytics_open is not None, "install() first"
    try:
        return _ultralytics_open(filename, *args, **kwargs)
    except ImportError:  # pi-heif not installed: the file is not an image Pillow knows, say so
        return patches._image_open(filename, *args, **kwargs)


def install() -> None:
    """Put ``open_image`` in place of the ultralytics opener (idempotent)."""
    global _ultralytics_open
    from PIL import Image
    from ultralytics.utils import patches  # noqa: F401  (importing it installs the ultralytics opener)

    if Image.open is not open_image:
        _ultralytics_open = Image.open
        Image.open = open_image
