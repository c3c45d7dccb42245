"""Small helpers shared by every block family."""

from __future__ import annotations

import math


def make_divisible(x: float, divisor: int = 8) -> int:
    """Round a channel count up to a multiple of ``divisor``, as YOLOv5 does when it scales widths.

    YOLOv5 rounds up (``ceil``) rather than to the nearest multiple; using the same rule is what makes the
    parameter counts of the scaled configs match the published ones.
    """
    if divisor <= 0:
        raise ValueError(f"make_divisible: divisor must be positive, got {divisor}")
    return int(math.ceil(x / divisor) * divisor)


def check_positive(block: str, **values: int | float) -> None:
    """Raise ``ValueError`` naming the block and the argument when one of ``values`` is not positive."""
    for k, v in values.items():
        if v is None or v <= 0:
            raise ValueError(f"{block}: {k} must be a positive number, got {v!r}")


def check_stride(block: str, s: int, allowed: tuple[int, ...] = (1, 2)) -> None:
    """Raise ``ValueError`` when a stride is not one the block supports."""
    if s not in allowed:
        raise ValueError(f"{block}: stride s must be one of {allowed}, got {s!r}")
