"""Old module paths, still importable: the package was regrouped into layer folders (``nn/``, ``models/``, ...).

Checkpoints pickle their classes by module path (``yolo_ghost.model.YoloGhostModel``,
``yolo_ghost.blocks.ghost.GhostConv``), so a checkpoint written before the regrouping names modules that no longer
exist as files. ``install`` puts a finder on ``sys.meta_path`` that answers each old name in ``MOVED`` with a thin
module forwarding every attribute to the new one (a ``DeprecationWarning`` says where it went); unpickling, the safe
loader's allow-list (``yolo_ghost.models.checkpoint``) and ``from yolo_ghost.model import build_model`` all work.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

_BLOCK_FILES = [
    "attention",
    "classify",
    "csp",
    "downsample",
    "elan",
    "ghost",
    "heads",
    "helpers",
    "mobilenet",
    "psa",
    "resnext",
    "selective_kernel",
    "shuffle",
    "spconv",
    "stock",
    "xception",
]
# old module -> new module
MOVED: dict[str, str] = {
    "yolo_ghost.atomic": "yolo_ghost.utils.atomic",
    "yolo_ghost.registry": "yolo_ghost.nn.registry",
    "yolo_ghost.builder": "yolo_ghost.nn.builder",
    "yolo_ghost.fuse": "yolo_ghost.nn.fuse",
    "yolo_ghost.loss": "yolo_ghost.nn.loss",
    "yolo_ghost.blocks": "yolo_ghost.nn.blocks",
    **{f"yolo_ghost.blocks.{m}": f"yolo_ghost.nn.blocks.{m}" for m in _BLOCK_FILES},
    "yolo_ghost.model": "yolo_ghost.models.yolo",
    "yolo_ghost.classifier": "yolo_ghost.models.classifier",
    "yolo_ghost.yaml_model": "yolo_ghost.models.yaml_model",
    "yolo_ghost.checkpoint": "yolo_ghost.models.checkpoint",
    "yolo_ghost.datasets": "yolo_ghost.data.resolve",
    "yolo_ghost.image_check": "yolo_ghost.data.image_check",
    "yolo_ghost.profiler": "yolo_ghost.tools.profiler",
    "yolo_ghost.latency": "yolo_ghost.tools.latency",
    "yolo_ghost.export": "yolo_ghost.tools.export",
    "yolo_ghost.curves": "yolo_ghost.engine.curves",
    "yolo_ghost.train": "yolo_ghost.engine.detect.train",
    "yolo_ghost.train_cls": "yolo_ghost.engine.classify.train",
    "yolo_ghost.eval": "yolo_ghost.engine.detect.coco",
    "yolo_ghost.eval.coco": "yolo_ghost.engine.detect.coco",
    "yolo_ghost.eval.nms": "yolo_ghost.engine.detect.nms",
    "yolo_ghost.eval.validator": "yolo_ghost.engine.detect.val",
    "yolo_ghost.bench_task": "yolo_ghost.bench.tasks",
    "yolo_ghost.stats": "yolo_ghost.bench.stats",
    "yolo_ghost.pareto": "yolo_ghost.bench.pareto",
    "yolo_ghost.commands": "yolo_ghost.cli",
}


class _Forward(types.ModuleType):
    """The old module: every attribute is the new module's."""

    def __init__(self, name: str, target: str) -> None:
        super().__init__(name, f"moved to {target}")
        self.__path__: list[str] = []  # a package, so that `yolo_ghost.blocks.ghost` can be found below it
        self._target = target

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(importlib.import_module(self._target), attr)


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the old names of ``MOVED`` (and nothing else)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; import it from there", DeprecationWarning, stacklevel=2)
        return _Forward(spec.name, new)

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the module forwards to its new home."""


def install() -> None:
    """Put the finder of the old module paths on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
