"""A recipe: how a dataset trains when the command leaves it open, one type for detectors and classifiers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Recipe:
    """Epochs, image size, batch, loader workers, and the hyperparameters a dataset trains with by default.

    ``hyp`` holds what differs from the task's base hyperparameters (YOLOv5's for detectors, none for classifiers);
    an explicit ``--hyp`` key or keyword argument wins over it.
    """

    epochs: int
    imgsz: int
    batch: int
    workers: int
    hyp: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for k in ("epochs", "imgsz", "batch"):
            if getattr(self, k) < 1:
                raise ValueError(f"Recipe {k} {getattr(self, k)}: must be >= 1")
        if self.workers < 0:
            raise ValueError(f"Recipe workers {self.workers}: must be >= 0")
