"""A seeded fuzzer for model configs: mutate the shipped YAMLs and check that every outcome is a model or a
``ConfigError``, never another exception, a hang or a crash.

Mutations act on the loaded YAML (a value replaced by a hostile one, a row dropped, duplicated or reordered, a
module renamed, a top-level key broken) or on its text (bytes deleted, inserted or replaced), as a careless user or
an attacker would produce them. ``tests/test_hostile.py`` runs a few hundred cases; ``benchmarks/config_fuzz.py``
runs more and reports the counts.
"""

from __future__ import annotations

import copy
import random
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from yolo_ghost.cfg import ConfigError, models_dir
from yolo_ghost.models.yolo import build_model
from yolo_ghost.nn.registry import list_blocks

# Replacement values: the edges of every type a YAML can hold.
HOSTILE_VALUES: tuple[Any, ...] = (
    0, -1, 1, 2, 7, 3000, 10**9, -(10**9), 10**30, 0.5, 1e9, 1e-9, float("nan"), float("inf"), -float("inf"),
    True, False, None, "", "abc", "nc", "anchors", "None", "nearest", "__import__('os')", "1e9", "[1, 2]",
    [], [1], [[1]], [-1, 6], [None, 2, "nearest"], {}, {"a": 1}, "nn.LSTM", "Conv", b"\x00\xff",
)  # fmt: skip
TORCH_NAMES = ("nn.LSTM", "nn.Linear", "nn.Upsample", "nn.ReLU", "nn.Identity", "nn.Flatten", "nn.Embedding")


@dataclass
class FuzzReport:
    """Counts of the outcomes of a fuzz run; ``escapes`` lists every case that ended in neither."""

    cases: int = 0
    built: int = 0
    refused: int = 0
    escapes: list[str] = field(default_factory=list)
    slowest_s: float = 0.0
    kinds: Counter = field(default_factory=Counter)


def shipped_configs() -> list[Path]:
    """Every model YAML in the shipped folder."""
    return sorted(models_dir().glob("*.yaml"))


def _paths(d: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every position (a tuple of keys / indices) of a scalar or container inside the loaded YAML."""
    yield prefix
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield from _paths(v, (*prefix, i))


def _set(d: Any, path: tuple, value: Any) -> None:
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value


def mutate_dict(d: dict[str, Any], rng: random.Random) -> tuple[dict[str, Any], str]:
    """One structural mutation of a loaded config; returns the new dict and the kind of mutation."""
    d = copy.deepcopy(d)
    kind = rng.choice(("value", "value", "value", "module", "row", "key", "from", "scale"))
    rows = d.get("backbone", []) + d.get("head", [])
    if kind == "value":
        path = rng.choice([p for p in _paths(d) if p])
        _set(d, path, rng.choice(HOSTILE_VALUES))
    elif kind == "module" and rows:
        row = rng.choice(rows)
        row[2] = rng.choice((*list_blocks(), *TORCH_NAMES))
    elif kind == "row":
        part = d[rng.choice(("backbone", "head"))]
        if part:
            op = rng.choice(("drop", "dup", "swap"))
            j = rng.randrange(len(part))
            if op == "drop":
                part.pop(j)
            elif op == "dup":
                part.insert(j, copy.deepcopy(part[j]))
            else:
                k = rng.randrange(len(part))
                part[j], part[k] = part[k], part[j]
    elif kind == "key":
        key = rng.choice(sorted(d, key=str))
        if rng.random() < 0.5:
            del d[key]
        else:
            d[key] = rng.choice(HOSTILE_VALUES)
    elif kind == "from" and rows:
        rng.choice(rows)[0] = rng.choice((-1, -2, 0, 1, 6, 99, -99, [-1, 6], [-1, 99], [], [[-1]], "x"))
    elif kind == "scale" and "scales" in d:
        d["scales"] = rng.choice(({"n": [0.33]}, {"n": "abc"}, [1, 2], {"n": [0.33, 0.25, "x"]}, {"n": [1e9, 1, 1]}))
    return d, kind


def mutate_text(text: str, rng: random.Random) -> str:
    """Delete, insert or replace a few characters (or bytes) of a YAML text."""
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        j = rng.randrange(len(chars))
        op = rng.choice(("del", "ins", "rep"))
        c = rng.choice("[]{}:,-&*!|>'\"#\n 0123456789abcxyz\t\x00\xff")
        if op == "del":
            chars.pop(j)
        elif op == "ins":
            chars.insert(j, c)
        else:
            chars[j] = c
    return "".join(chars)


class _Timeout(BaseException):  # not an Exception: no `except Exception` in the builder may swallow it
    pass


def _alarm(_signum: int, _frame: Any) -> None:
    raise _Timeout


def run_fuzz(n: int, seed: int = 0, timeout_s: float = 20.0, configs: list[Path] | None = None) -> FuzzReport:
    """Build ``n`` mutated configs (seeded) and classify every outcome.

    Each case is built from a temporary YAML file (so the reader is fuzzed too) with ``nc`` kept small; a case that
    runs longer than ``timeout_s`` counts as a hang (an escape), as does any exception other than ``ConfigError``.
    """
    rng = random.Random(seed)
    sources = [(p, p.read_text()) for p in (configs or shipped_configs())]
    report = FuzzReport()
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for case in range(n):
                path, text = rng.choice(sources)
                if rng.random() < 0.25:
                    kind, body = "text", mutate_text(text, rng).encode("utf-8", "surrogateescape")
                else:
                    d, kind = mutate_dict(yaml.safe_load(text), rng)
                    body = yaml.safe_dump(d, sort_keys=False, allow_unicode=False).encode()
                # the file name keeps the scale letter of the family YAMLs (yolov5-ghost.yaml -> yolov5n-ghost.yaml)
                target = Path(tmp) / f"{case}" / path.name.replace("yolov5-", "yolov5n-")
                target.parent.mkdir()
                target.write_bytes(body)
                report.cases += 1
                report.kinds[kind] += 1
                t0 = time.perf_counter()
                signal.setitimer(signal.ITIMER_REAL, timeout_s)
                try:
                    build_model(target, nc=3)
                    report.built += 1
                except ConfigError:
                    report.refused += 1
                except _Timeout:
                    report.escapes.append(f"case {case} ({path.name}, {kind}): no result after {timeout_s:.0f} s")
                except Exception as e:
                    report.escapes.append(f"case {case} ({path.name}, {kind}): {type(e).__name__}: {e}"[:400])
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                report.slowest_s = max(report.slowest_s, time.perf_counter() - t0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    return report
