"""A pickle payload for the tests that check no checkpoint runs code: unpickling ``Payload(marker)`` creates
``marker``, which is what a checkpoint from a stranger could do instead."""

from __future__ import annotations

import os
from pathlib import Path


class Payload:
    """Unpickling this runs ``touch marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))
