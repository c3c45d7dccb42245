"""Resource limits for model configs, bench folders and datasets, checked before anything is allocated or read.

A model YAML is input from anywhere (a download, a colleague, a fuzzer), and without bounds a few characters
(``n: 1000000000``, ``width_multiple: 1e6``, a YAML alias bomb) make the builder allocate until the process dies.
Every limit below is generous for real detectors (the largest shipped config, yolov5x, has 87M parameters, 1280
channels, 12 repeats and 25 rows; its YAML is under 2 KB) and is checked at the step that could exceed it:

=================  ===========  ====================================================================================
limit              default      checked
=================  ===========  ====================================================================================
max_file_bytes     65,536       size of the YAML file, before reading it
max_yaml_depth     32           nesting of YAML lists and mappings, on the parser's events, before building objects
max_yaml_nodes     100,000      values in the loaded config with aliases expanded (what the builder walks)
max_layers         1,000        rows of ``backbone`` + ``head``
max_repeats        128          a row's repeat count after ``depth_multiple``
max_channels       16,384       a channel count after ``width_multiple``
max_params         500,000,000  parameters of the whole model, counted on PyTorch's ``meta`` device (no memory)
max_activation     67,108,864   elements of one layer's output in the builder's dry run (128 x 128 probe)
max_dry_run_macs   1e10         dry-run multiply-accumulates, checked before each conv runs (yolov5x: 4.1e9)
=================  ===========  ====================================================================================

A bench folder's ``settings.json`` (``yolo_ghost.bench.files``) and a dataset on disk (``yolo_ghost.data.scan``)
are input from anywhere too, bounded by:

==================  ===========  ===================================================================================
limit               default      checked
==================  ===========  ===================================================================================
max_epochs          100,000      a bench's recorded epochs
max_batch           65,536       a bench's recorded batch size
max_imgsz           8,192        a bench's recorded train / val and latency image sizes
max_threads         1,024        a bench's recorded latency threads and loader workers
max_latency_rounds  10,000       a bench's recorded latency rounds and warm-up runs
max_image_bytes     268,435,456  size of one image file of a dataset, before anything reads it
==================  ===========  ===================================================================================

Raise a limit for one process with the environment variable ``YOLO_GHOST_<NAME>`` (``YOLO_GHOST_MAX_PARAMS=2e9``)
or, in Python, for a block of code with ``override_limits(max_params=2_000_000_000)``. A config cannot raise its
own limits.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from yolo_ghost.cfg.errors import ConfigError


@dataclass(frozen=True)
class Limits:
    """The bounds a model config, a bench folder or a dataset must stay within (see the module docstring)."""

    max_file_bytes: int = 65_536
    max_yaml_depth: int = 32
    max_yaml_nodes: int = 100_000
    max_layers: int = 1_000
    max_repeats: int = 128
    max_channels: int = 16_384
    max_params: int = 500_000_000
    max_activation: int = 2**26
    max_dry_run_macs: int = 10_000_000_000
    max_epochs: int = 100_000
    max_batch: int = 65_536
    max_imgsz: int = 8_192
    max_threads: int = 1_024
    max_latency_rounds: int = 10_000
    max_image_bytes: int = 2**28


class LimitError(ConfigError):
    """A config beyond one of the ``Limits``; the message names the limit and how to raise it."""


_OVERRIDES: contextvars.ContextVar[dict[str, int] | None] = contextvars.ContextVar("yolo_ghost_limits", default=None)


def env_name(field: str) -> str:
    """The environment variable that overrides a limit: ``max_params`` -> ``YOLO_GHOST_MAX_PARAMS``."""
    return f"YOLO_GHOST_{field.upper()}"


def current_limits() -> Limits:
    """The limits in force: ``override_limits`` values, else ``YOLO_GHOST_<NAME>`` variables, else the defaults."""
    values: dict[str, int] = {}
    for f in dataclasses.fields(Limits):
        raw = os.environ.get(env_name(f.name))
        if raw is not None:
            try:
                v = float(raw)
                ok = math.isfinite(v) and v >= 1
            except ValueError:
                ok = False
            if not ok:
                raise ConfigError(f"{env_name(f.name)}={raw!r}: a limit must be a positive number such as 2e9")
            values[f.name] = int(v)
    values.update(_OVERRIDES.get() or {})
    return Limits(**values)


@contextlib.contextmanager
def override_limits(**limits: int) -> Iterator[Limits]:
    """Raise (or lower) limits inside a ``with`` block: ``with override_limits(max_params=2_000_000_000): ...``."""
    names = {f.name for f in dataclasses.fields(Limits)}
    unknown = sorted(set(limits) - names)
    if unknown:
        raise TypeError(f"override_limits: unknown limit(s) {unknown}; known: {sorted(names)}")
    token = _OVERRIDES.set({**(_OVERRIDES.get() or {}), **{k: int(v) for k, v in limits.items()}})
    try:
        yield current_limits()
    finally:
        _OVERRIDES.reset(token)


def check_limit(field: str, value: float, where: str, what: str) -> None:
    """Raise ``LimitError`` when ``value`` exceeds the limit ``field``; ``where`` names the layer or key."""
    limit = getattr(current_limits(), field)
    if value > limit:
        shown = f"{value:,.0f}" if math.isfinite(value) else str(value)
        raise LimitError(
            f"{where}: {what} {shown} exceeds the limit of {limit:,} ({field}); if it is meant to be this "
            f"large, raise it with {env_name(field)}=<n> or yolo_ghost.cfg.limits.override_limits({field}=<n>)"
        )


def check_file_size(path: Path) -> None:
    """Refuse a config file larger than ``max_file_bytes`` before reading it."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it ({e.strerror or e})") from None
    check_limit("max_file_bytes", size, str(path), "file size (bytes)")


def _loader() -> type:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: same safe types, 4x faster


def safe_load_yaml(path: Path) -> Any:
    """Read a YAML file with the safe loader after checking its nesting depth on the parser's events.

    Composing deeply nested YAML recurses once per level, so the depth is measured first without building anything.

    Raises:
        ConfigError: the file is not UTF-8 text, not valid YAML (or uses tags such as ``!!python/object``), nests
        deeper than ``max_yaml_depth`` or expands to more than ``max_yaml_nodes`` values.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not a YAML text file (byte {e.start} is not UTF-8)") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it ({e.strerror or e})") from None
    if "\x00" in text:
        raise ConfigError(f"{path}: not a YAML text file (it contains NUL bytes)")
    limit = current_limits().max_yaml_depth
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_loader()):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > limit:
                    check_limit("max_yaml_depth", depth, str(path), "YAML nesting depth")
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
        d = yaml.load(text, Loader=_loader())  # a SafeLoader: plain data types only
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(e).split())}") from None
    except RecursionError:
        raise ConfigError(f"{path}: YAML nested too deeply to read") from None
    check_tree(d, str(path))
    return d


def check_tree(obj: Any, where: str) -> None:
    """Count the values of a loaded config as the builder will walk them (YAML aliases expanded, shared references
    counted each time they occur) and refuse it beyond ``max_yaml_nodes`` or ``max_yaml_depth``, stopping early."""
    lim = current_limits()
    stack: list[tuple[Any, int]] = [(obj, 1)]
    count = 0
    while stack:
        x, depth = stack.pop()
        count += 1
        if count > lim.max_yaml_nodes:
            check_limit("max_yaml_nodes", count, where, "number of values (YAML aliases expanded)")
        if isinstance(x, (list, tuple, dict)):
            if depth > lim.max_yaml_depth:
                check_limit("max_yaml_depth", depth, where, "nesting depth")
            items = [*x.keys(), *x.values()] if isinstance(x, dict) else x
            if len(items) + count > lim.max_yaml_nodes:
                check_limit("max_yaml_nodes", len(items) + count, where, "number of values (YAML aliases expanded)")
            stack.extend((v, depth + 1) for v in items)
