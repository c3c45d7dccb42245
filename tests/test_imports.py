"""Dependencies flow one way: the lower modules load alone, without the trainers or the validator, and no module of
the package is part of an import cycle (STYLE.md, point 10)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import yolo_ghost

PACKAGE = Path(yolo_ghost.__file__).parent

# What a lower module must never load: our trainers and validator, and the ultralytics engine they build on.
HEAVY = (
    "yolo_ghost.train",
    "yolo_ghost.train_cls",
    "yolo_ghost.bench",
    "yolo_ghost.eval.validator",
    "ultralytics.models.yolo.detect.train",
    "ultralytics.engine.trainer",
    "ultralytics.engine.validator",
)
LOWER = (
    "yolo_ghost.latency",
    "yolo_ghost.profiler",
    "yolo_ghost.builder",
    "yolo_ghost.registry",
    "yolo_ghost.blocks",
    "yolo_ghost.fuse",
    "yolo_ghost.checkpoint",
    "yolo_ghost.datasets",
    "yolo_ghost.stats",
    "yolo_ghost.curves",
    "yolo_ghost.pareto",
    "yolo_ghost.eval.coco",
)


def _loaded_after_import(module: str) -> list[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_check_sees_what_a_trainer_loads():
    """The probe itself: importing the detection trainer does load every heavy module it looks for."""
    loaded = set(_loaded_after_import("yolo_ghost.train"))
    assert {"yolo_ghost.train", "yolo_ghost.eval.validator", "ultralytics.engine.trainer"} <= loaded


@pytest.mark.parametrize("module", LOWER)
def test_lower_module_loads_no_trainer_or_validator(module):
    loaded = set(_loaded_after_import(module))
    assert module in loaded
    assert sorted(loaded & set(HEAVY)) == []


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """``module -> package modules it imports``, from every ``import`` / ``from ... import`` statement in its source,
    including those inside functions (a lower module never imports a higher one, not even lazily)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    anchor = name.split(".") if is_pkg else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base]) if base else ".".join(anchor)
                # `from pkg import sub` imports the submodule `pkg.sub` when there is one
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for t in targets:
                while t and t not in modules:  # `import yolo_ghost.blocks.heads` -> that module
                    t = t.rpartition(".")[0]
                if t and t != name:
                    graph[name].add(t)
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                return [*path[path.index(m) :], m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        path.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_holds_the_known_edges():
    graph = _import_graph()
    assert "yolo_ghost.eval.validator" in graph["yolo_ghost.train"]
    assert "yolo_ghost.datasets" in graph["yolo_ghost.eval.validator"]
    assert "yolo_ghost.registry" in graph["yolo_ghost.blocks.heads"]


def test_no_module_of_the_package_is_part_of_an_import_cycle():
    # The package's __init__ imports the model for its public API; a submodule importing `yolo_ghost` itself would
    # close a loop through it, so it counts like any other module.
    assert _find_cycle(_import_graph()) is None
