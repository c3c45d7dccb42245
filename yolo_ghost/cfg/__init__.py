"""Finding and reading model and dataset YAMLs by bare name.

The YAMLs live in the repository's top-level ``models/`` and ``data/`` folders and are installed inside the package
as ``yolo_ghost.cfg.models`` and ``yolo_ghost.cfg.datasets``, so ``--cfg yolov5l-ghost.yaml`` resolves from any
working directory, with an editable or a regular install.
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any

import yaml

from yolo_ghost.cfg.errors import ConfigError
from yolo_ghost.cfg.limits import check_file_size, check_tree, safe_load_yaml

__all__ = ["ConfigError", "list_configs", "load_model_cfg", "models_dir", "resolve_data_cfg", "resolve_model_cfg"]

# `yolov5l-ghost.yaml` -> family `yolov5-ghost.yaml` at scale `l` (the ultralytics `scales:` convention): the family
# stem, the scale letter, the rest of the name.
_FAMILY, _SCALE, _REST = r"^(.*?yolov?\d+)", r"([nsmlx])", r"((?:[-_.].*)?)$"
_SCALE_RE = re.compile(_FAMILY + _SCALE + _REST)
_FAMILY_RE = re.compile(_FAMILY + _REST)


def _shipped(folder: str, installed: str) -> Path:
    # A regular install copies the YAMLs into the package (see pyproject's package-dir); an editable install or a
    # checkout reads them from the repository's top-level folder.
    inside = Path(__file__).parent / installed
    return inside if inside.is_dir() else Path(__file__).resolve().parents[2] / folder


def models_dir() -> Path:
    """The folder holding the shipped model YAMLs."""
    return _shipped("models", "models")


def datasets_dir() -> Path:
    """The folder holding the shipped dataset YAMLs."""
    return _shipped("data", "datasets")


def config_names(path: Path) -> list[str]:
    """The names a model YAML answers to as ``--cfg``: its file name, or one name per scale for a family file with
    ``scales:`` (``yolov5-ghost.yaml`` -> ``yolov5n-ghost.yaml``, ``yolov5s-ghost.yaml``, ...)."""
    d = yaml.safe_load(path.read_text())
    scales = d.get("scales") if isinstance(d, dict) else None
    m = _FAMILY_RE.match(path.stem)
    if scales and m:
        return [f"{m.group(1)}{s}{m.group(2)}.yaml" for s in scales]
    return [path.name]


def list_configs() -> list[str]:
    """File names of the shipped model YAMLs, sorted (the families with ``scales:`` expanded per scale)."""
    return sorted(n for p in models_dir().glob("*.yaml") for n in config_names(p))


def ultralytics_cfg_dir() -> Path:
    """The folder of the model YAMLs the installed ultralytics package ships (found by bare name as a last resort)."""
    import ultralytics

    return Path(ultralytics.__file__).parent / "cfg" / "models"


def _find(name: str, folders: list[Path]) -> Path | None:
    for folder in folders:
        p = folder / name
        if p.is_file():
            return p
    for p in sorted(ultralytics_cfg_dir().rglob(name)):  # the ultralytics package's own YAMLs, as a last resort
        return p
    return None


def resolve_model_cfg(cfg: str | Path) -> tuple[Path, str]:
    """Find a model YAML by path or bare name and return ``(path, scale)``.

    Looks for the exact file (as a path, then among the shipped models, then in the ultralytics package); failing
    that, for the scale-less family file (``yolov5l-ghost.yaml`` -> ``yolov5-ghost.yaml``, scale ``l``).
    """
    given = Path(cfg)
    if given.suffix not in (".yaml", ".yml"):
        given = given.with_suffix(".yaml")
    folders = [models_dir()]
    path = given if given.is_file() else _find(given.name, folders) if given.parent == Path(".") else None
    m = _SCALE_RE.match(given.stem)
    scale = m.group(2) if m else ""
    if path is None and m:
        family = given.with_name(f"{m.group(1)}{m.group(3)}{given.suffix}")
        path = family if family.is_file() else _find(family.name, folders) if given.parent == Path(".") else None
    if path is None and given.parent != Path("."):  # a path: no shipped name can be meant
        raise ConfigError(f"model config {str(cfg)!r}: file not found")
    if path is None:
        close = difflib.get_close_matches(given.name, list_configs(), n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ConfigError(
            f"model config {str(cfg)!r} not found (as a file or a shipped name){hint} (`yolo-ghost configs` lists them)"
        )
    return path, scale


def load_model_cfg(cfg: str | Path | dict[str, Any]) -> dict[str, Any]:
    """Read a model YAML (path, bare name or already-loaded dict) into a dict, with ``scale`` and ``yaml_file`` set."""
    if isinstance(cfg, dict):
        check_tree(cfg, "model dict")  # before the copy: a dict of shared references can expand enormously
        return copy.deepcopy(cfg)
    path, scale = resolve_model_cfg(cfg)
    check_file_size(path)
    d = safe_load_yaml(path)
    if not isinstance(d, dict):
        raise ConfigError(f"{path}: a model YAML must be a mapping with 'backbone' and 'head', got {type(d).__name__}")
    d.setdefault("scale", scale)
    if scale:
        d["scale"] = scale
    d["yaml_file"] = Path(str(cfg)).name if not Path(str(cfg)).is_file() else str(cfg)
    return d


def resolve_data_cfg(data: str | Path) -> Path:
    """Find a dataset YAML by path or bare name among the shipped ones (``coco128.yaml``)."""
    p = Path(data)
    if p.is_file():
        return p
    for name in (p.name, f"{p.name}.yaml"):
        q = datasets_dir() / name
        if q.is_file():
            return q
    if p.parent != Path("."):
        raise ConfigError(f"dataset config {str(data)!r}: file not found")
    shipped = sorted(x.name for x in datasets_dir().glob("*.yaml"))
    close = difflib.get_close_matches(p.name if p.suffix else f"{p.name}.yaml", shipped, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise ConfigError(f"dataset config {str(data)!r} not found (as a file or a shipped name){hint}")
