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
    "yolo_ghost.engine.detect.train",
    "yolo_ghost.engine.classify.train",
    "yolo_ghost.bench.runner",
    "yolo_ghost.engine.detect.val",
    "ultralytics.models.yolo.detect.train",
    "ultralytics.engine.trainer",
    "ultralytics.engine.validator",
)
LOWER = (
    "yolo_ghost.tools.latency",
    "yolo_ghost.tools.profiler",
    "yolo_ghost.nn.builder",
    "yolo_ghost.nn.registry",
    "yolo_ghost.nn.blocks",
    "yolo_ghost.nn.fuse",
    "yolo_ghost.models.checkpoint",
    "yolo_ghost.data.resolve",
    "yolo_ghost.bench.stats",
    "yolo_ghost.engine.curves",
    "yolo_ghost.bench.pareto",
    "yolo_ghost.engine.detect.coco",
)


def _loaded_after_import(module: str) -> list[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_check_sees_what_a_trainer_loads():
    """The probe itself: importing the detection trainer does load every heavy module it looks for."""
    loaded = set(_loaded_after_import("yolo_ghost.engine.detect.train"))
    assert {"yolo_ghost.engine.detect.train", "yolo_ghost.engine.detect.val", "ultralytics.engine.trainer"} <= loaded


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
                while t and t not in modules:  # `import yolo_ghost.nn.blocks.heads` -> that module
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
    assert "yolo_ghost.engine.detect.val" in graph["yolo_ghost.engine.detect.train"]
    assert "yolo_ghost.data.resolve" in graph["yolo_ghost.engine.detect.val"]
    assert "yolo_ghost.nn.registry" in graph["yolo_ghost.nn.blocks.heads"]


def test_no_module_of_the_package_is_part_of_an_import_cycle():
    # The package's __init__ imports the model for its public API; a submodule importing `yolo_ghost` itself would
    # close a loop through it, so it counts like any other module.
    assert _find_cycle(_import_graph()) is None


# The package's folders are its layers, lowest first: a module imports only from its own folder and from folders
# further up this list (STYLE.md, point 14). The package root (the public API, `python -m yolo_ghost`, the old module
# paths) sits above them all.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cfg", "utils"),
    ("nn",),
    ("models", "data"),
    ("tools",),
    ("engine",),
    ("bench",),
    ("cli",),
)
RANK = {folder: i for i, folders in enumerate(LAYERS) for folder in folders}


def _folder(module: str) -> str | None:
    """The layer folder of a package module (``yolo_ghost.nn.blocks.ghost`` -> ``nn``); None for the root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else None


def test_every_folder_of_the_package_is_a_layer():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert folders == set(RANK)


def _upward_imports(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in graph.items():
        here = _folder(module)
        if here is None:
            continue
        for t in sorted(targets):
            there = _folder(t)
            if there is None or (there != here and RANK[there] >= RANK[here]):
                bad.append(f"{module} -> {t}")
    return bad


def test_the_layer_check_sees_an_upward_import():
    graph = {"yolo_ghost.nn.builder": {"yolo_ghost.engine.detect.train", "yolo_ghost.cfg"}, "yolo_ghost": set()}
    assert _upward_imports(graph) == ["yolo_ghost.nn.builder -> yolo_ghost.engine.detect.train"]
    assert _upward_imports({"yolo_ghost.models.yolo": {"yolo_ghost.data.resolve"}}) == [
        "yolo_ghost.models.yolo -> yolo_ghost.data.resolve"  # a folder of the same layer is not below
    ]


def test_imports_between_folders_flow_down_the_layers():
    assert _upward_imports(_import_graph()) == []
