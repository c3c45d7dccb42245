"""A bench folder's files read back with every value checked: ``settings.json``, ``bench.json`` and
``results/<config>/seed<k>.json``.

``bench --resume DIR`` trains, scores and times what these files say, and a bench folder is input from anywhere (a
colleague's results, a repository, a hand edit): a list where a dict belongs, ``seeds: "0"``, ``threads: -1``,
``latency_rounds: 1e12`` or a ``NaN`` metric would otherwise give a traceback deep in the bench, loop for ever, or be
published. Each check raises one ``ConfigError`` line naming the file and the key; sizes, rounds and threads are
bounded by the limits of ``yolo_ghost.cfg.limits`` (raisable like the model-config ones), and the recorded hyp goes
through the task's ``--hyp`` check.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from yolo_ghost.bench.deploy import check_deploy
from yolo_ghost.bench.tasks import TASKS, BenchTask, bench_rows, get_bench_task, model_name
from yolo_ghost.cfg import ConfigError
from yolo_ghost.cfg.errors import one_line
from yolo_ghost.cfg.limits import check_limit
from yolo_ghost.tools.latency import CPU_BACKENDS, OPENVINO_BACKEND

# Every backend yolo_ghost.tools.latency can time (available_backends() lists those this machine has).
KNOWN_BACKENDS = (*CPU_BACKENDS, OPENVINO_BACKEND, "torch-cuda", "torch-cuda-fp16", "onnxruntime-cuda")
# Training seeds as torch.manual_seed and numpy take them.
_MAX_SEED = 2**32 - 1


def read_json(path: Path) -> Any:
    """A JSON file's content; a file that cannot be read or parsed is one ``ConfigError`` naming it."""
    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ConfigError(f"{path}: not a readable JSON file ({one_line(e, typed=True, limit=200)})") from None


def _dict(d: Any, where: str) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: must be a JSON object (a dict), got {type(d).__name__}")
    return d


def _int(d: Mapping[str, Any], key: str, where: str, lo: int, limit: str | None = None, hi: int | None = None) -> int:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{where}: {key} must be an integer, got {v!r}")
    if v < lo:
        raise ConfigError(f"{where}: {key} must be >= {lo}, got {v}")
    if hi is not None and v > hi:
        raise ConfigError(f"{where}: {key} must be <= {hi}, got {v}")
    if limit is not None:
        check_limit(limit, v, where, key)
    return v


def _number(v: Any, where: str, key: str, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(f"{where}: {key} must be a finite number, got {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ConfigError(f"{where}: {key} must be in [{lo}, {hi}], got {v!r}")
    return float(v)


def _str(d: Mapping[str, Any], key: str, where: str) -> str:
    v = d.get(key)
    if not isinstance(v, str) or not v:
        raise ConfigError(f"{where}: {key} must be a non-empty string, got {v!r}")
    return v


def _str_list(d: Mapping[str, Any], key: str, where: str) -> list[str]:
    v = d.get(key)
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
        raise ConfigError(f"{where}: {key} must be a non-empty list of strings, got {v!r}")
    return v


def check_settings(settings: Any, where: str, available: list[str] | None = None) -> dict[str, Any]:
    """Check a bench's settings (``settings.json``'s content, or those a new bench is about to record).

    Args:
        settings: the settings dict.
        where: what to name in an error (the file, or ``bench``).
        available: the backends this machine can time (default: all known); a recorded one missing here is refused
            before any training rather than after it.

    Raises:
        ConfigError: one line naming ``where`` and the key.
    """
    s = _dict(settings, where)
    if "task" in s and s["task"] is not None and s["task"] not in TASKS:
        raise ConfigError(f"{where}: task must be one of {', '.join(TASKS)}, got {s['task']!r}")
    task = get_bench_task(s.get("task"))
    cfgs = _str_list(s, "cfgs", where)
    names = [model_name(c) for c in cfgs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"{where}: cfgs: config name(s) {dup} given twice; each row needs its own name")
    if s.get("weights") is not None and len(_str_list(s, "weights", where)) != len(cfgs):
        raise ConfigError(
            f"{where}: weights must list one checkpoint per config ({len(cfgs)}), got {len(s['weights'])}"
        )
    names = [row for row, _, _ in bench_rows(cfgs, _distill(s, names, task, where))]  # with the distilled rows
    _str(s, "data", where)
    if not isinstance(s.get("device"), str):  # '' is a device too: the first CUDA device, else the CPU
        raise ConfigError(f"{where}: device must be a string ('', 'cpu', '0', ...), got {s.get('device')!r}")
    _int(s, "epochs", where, 1, "max_epochs")
    _int(s, "batch", where, 1, "max_batch")
    _int(s, "workers", where, 0, "max_threads")
    for key in ("imgsz", "latency_imgsz"):
        if _int(s, key, where, 32, "max_imgsz") % 32:
            raise ConfigError(f"{where}: {key} must be a multiple of 32, got {s[key]}")
    _int(s, "latency_rounds", where, 1, "max_latency_rounds")
    _int(s, "latency_warmup", where, 0, "max_latency_rounds")
    _int(s, "threads", where, 1, "max_threads")
    _int(s, "seed", where, 0, hi=_MAX_SEED)
    seeds = s.get("seeds")
    if seeds is not None:  # a bench folder from before --seeds has only ``seed``
        ok = isinstance(seeds, list) and seeds and all(type(x) is int and 0 <= x <= _MAX_SEED for x in seeds)
        if not ok:
            raise ConfigError(f"{where}: seeds must be a non-empty list of integers in [0, 2**32), got {seeds!r}")
        if len(set(seeds)) != len(seeds):
            raise ConfigError(f"{where}: seeds lists a seed twice: {seeds}")
    backends = _str_list(s, "backends", where)
    for b in backends:
        if b not in KNOWN_BACKENDS:
            raise ConfigError(f"{where}: backends: unknown backend {b!r}; known: {', '.join(KNOWN_BACKENDS)}")
        if available is not None and b not in available:
            raise ConfigError(
                f"{where}: backends: {b!r} is not available here; this machine has {', '.join(available)}"
            )
    if len(set(backends)) != len(backends):
        raise ConfigError(f"{where}: backends lists a backend twice: {backends}")
    pairs = s.get("baselines") or {}
    if not isinstance(pairs, dict):
        raise ConfigError(f"{where}: baselines must be a dict of row name: baseline row name, got {pairs!r}")
    for row, base in pairs.items():
        if row not in names or base not in names or row == base:
            raise ConfigError(
                f"{where}: baselines: {row}={base}: both must be rows of this bench ({', '.join(names)}) and differ"
            )
    if s.get("command") is not None and not isinstance(s["command"], str):
        raise ConfigError(f"{where}: command must be a string, got {s['command']!r}")
    if s.get("hyp") is not None:
        task.check_hyp(s["hyp"], f"{where}: hyp")
    if check_deploy(s.get("deploy"), where) and task.name != "detect":
        raise ConfigError(f"{where}: deploy: only detectors are exported and scored here; this is a {task.kind} bench")
    return s


def _distill(s: Mapping[str, Any], names: list[str], task: BenchTask, where: str) -> dict[str, str]:
    """A bench's recorded ``distill`` (``{config name: teacher checkpoint}``), checked; ``{}`` when it has none."""
    d = s.get("distill") or {}
    if not isinstance(d, dict) or not all(isinstance(v, str) and v for v in d.values()):
        raise ConfigError(f"{where}: distill must be a dict of config name: teacher checkpoint, got {d!r}")
    for name in d:
        if name not in names:
            raise ConfigError(f"{where}: distill: {name!r} is not a config of this bench ({', '.join(names)})")
    if d and task.name != "detect":
        raise ConfigError(f"{where}: distill: only detectors train with a teacher; this bench is a {task.kind} bench")
    if d and s.get("weights") is not None:
        raise ConfigError(f"{where}: distill needs training; a bench of given weights trains nothing")
    return d


def check_run(run: Any, where: str, task: BenchTask, seed: int) -> dict[str, Any]:
    """Check one finished run's record (``results/<config>/seed<k>.json``) before the report averages it.

    Raises:
        ConfigError: one line naming ``where`` and the key (a metric that is not a finite number in [0, 1], a seed
            that is not the file's, ...).
    """
    r = _dict(run, where)
    if _int(r, "seed", where, 0, hi=_MAX_SEED) != seed:
        raise ConfigError(f"{where}: seed is {r['seed']}, but the file is the record of seed {seed}")
    _str(r, "weights", where)
    _int(r, "nc", where, 1, "max_channels")
    if r.get("train_seconds") is not None:
        _number(r["train_seconds"], where, "train_seconds", 0.0)
    for key in task.metrics:
        if key not in r:
            raise ConfigError(f"{where}: {key} is missing (a {task.kind} run records {', '.join(task.metrics)})")
        _number(r[key], where, key, 0.0, 1.0)
    curve = r.get("curve")
    if curve is not None:
        for key, values in _dict(curve, f"{where}: curve").items():
            if not isinstance(values, list):
                raise ConfigError(f"{where}: curve.{key} must be a list of numbers, got {type(values).__name__}")
            for v in values:
                _number(v, where, f"curve.{key}")
    for target, metrics in _dict(r.get("deploy") or {}, f"{where}: deploy").items():
        for key in task.metrics:
            _number(_dict(metrics, f"{where}: deploy.{target}").get(key), where, f"deploy.{target}.{key}", 0.0, 1.0)
    conv = r.get("convergence")
    if conv is not None and not isinstance(_dict(conv, f"{where}: convergence").get("still_improving", False), bool):
        raise ConfigError(f"{where}: convergence.still_improving must be true or false")
    return r


def read_settings(path: Path, available: list[str] | None = None) -> dict[str, Any]:
    """``settings.json`` read and checked (``check_settings``)."""
    return check_settings(read_json(path), str(path), available)


def read_run(path: Path, task: BenchTask, seed: int) -> dict[str, Any]:
    """``results/<config>/seed<k>.json`` read and checked (``check_run``)."""
    return check_run(read_json(path), str(path), task, seed)


def read_bench_folder(run_dir: Path, available: list[str] | None = None) -> tuple[dict[str, Any], dict[Path, Any]]:
    """Check a bench folder before a resumed bench uses any of it, so that a bad file is refused before any training.

    Returns ``(settings, runs)``: ``settings.json`` checked, and every finished run's record that exists
    (``results/<config>/seed<k>.json`` for the recorded configs and seeds), checked, by path. ``bench.json``, when
    present, must be a bench report.
    """
    run_dir = Path(run_dir)
    settings = read_settings(run_dir / "settings.json", available)
    check_report_file(run_dir / "bench.json")
    task = get_bench_task(settings.get("task"))
    runs = {}
    for name, _, _ in bench_rows(settings["cfgs"], settings.get("distill")):
        for seed in settings.get("seeds") or [settings["seed"]]:
            path = run_dir / "results" / name / f"seed{seed}.json"
            if path.is_file():
                runs[path] = read_run(path, task, seed)
            elif path.exists() or path.is_symlink():
                raise ConfigError(f"{path}: not a regular file")
    return settings, runs


def check_report_file(path: Path) -> None:
    """A bench folder's ``bench.json``, when there is one, must be a readable JSON object (a resumed bench rewrites
    it; a corrupt one means the folder is not what it seems)."""
    if Path(path).exists():
        report = _dict(read_json(path), str(path))
        for key in ("settings", "rows"):
            if not isinstance(report.get(key), dict if key == "settings" else list):
                raise ConfigError(f"{path}: {key} is missing or of the wrong type; not a bench report")
