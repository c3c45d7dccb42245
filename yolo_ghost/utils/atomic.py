"""Atomic file writes: every file yolo-ghost writes for others to read (checkpoints, JSON reports, ONNX files) goes
through a temporary file and a rename, so a reader never sees half a file and a killed writer leaves the old one."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Run ``write(tmp_path)`` on a temporary file beside ``path``, then rename it over ``path``.

    Readers never see half a file and a killed or failing writer leaves the previous file intact. The temporary
    name keeps the suffix, for writers that pick the format from it (``torch.save``, ``torch.onnx.export``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_json_atomic(path: str | Path, obj: Any, indent: int | None = None) -> Path:
    """Write ``obj`` as JSON to ``path`` through ``atomic_write``, so readers never see half a file."""
    return atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=indent), encoding="utf-8"))
