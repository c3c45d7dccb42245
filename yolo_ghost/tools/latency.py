"""Inference latency that can be compared across models: same process, same threads, interleaved rounds.

Timing one model after another lets the machine's state (CPU frequency, other load, caches) drift between them and
shows up as a fake speed difference. ``measure_latency`` therefore warms every model up first, then runs *rounds*:
each round times every (model, backend) once, in an order that rotates from round to round, and a model's latency
is the median over rounds, with the 10th and 90th percentiles as its spread.

Backends: ``torch-cpu`` (PyTorch eager, BN fused, ``torch.inference_mode``), ``onnxruntime-cpu`` (the model exported
by ``yolo_ghost.tools.export`` with a dynamic batch, all graph optimisations on), ``openvino-cpu`` when openvino is installed
(the same ONNX file compiled by OpenVINO for latency, in fp32), and on a machine with a GPU ``torch-cuda``,
``torch-cuda-fp16`` and ``onnxruntime-cuda`` when onnxruntime has the CUDA provider.

Measured effects of these choices are in the README ("Measuring latency"), next to the commands that produced them.
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from yolo_ghost.tools.export import INPUT_NAME, export_onnx, prepare_for_export

CPU_BACKENDS = ("torch-cpu", "onnxruntime-cpu")
OPENVINO_BACKEND = "openvino-cpu"
ORT_OPT_LEVELS = ("disable", "basic", "extended", "all")


@dataclass(frozen=True)
class LatencyStats:
    """Latency of one model on one backend, in milliseconds per batch."""

    model: str
    backend: str
    imgsz: int
    batch: int
    threads: int
    median_ms: float
    p10_ms: float
    p90_ms: float
    runs: int
    times_ms: tuple[float, ...] = ()  # every timed run, in round order (pair rounds across models for ratios)

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (for JSON / CSV)."""
        return {**asdict(self), "times_ms": list(self.times_ms)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LatencyStats:
        """The inverse of ``as_dict`` (a record read back from JSON)."""
        return cls(**{**d, "times_ms": tuple(d.get("times_ms", ()))})


def available_backends() -> list[str]:
    """The backends this machine can time: the CPU ones, OpenVINO's when installed, CUDA ones when a GPU is visible."""
    import importlib.util

    out = list(CPU_BACKENDS)
    if importlib.util.find_spec("openvino") is not None:
        out.append(OPENVINO_BACKEND)
    if torch.cuda.is_available():
        out += ["torch-cuda", "torch-cuda-fp16"]
        try:
            import onnxruntime as ort

            if "CUDAExecutionProvider" in ort.get_available_providers():
                out.append("onnxruntime-cuda")
        except ImportError:
            pass
    return out


def _percentile(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def _torch_runner(model: nn.Module, x: torch.Tensor, cuda: bool, half: bool) -> Callable[[], None]:
    if cuda:
        model, x = model.cuda(), x.cuda()
        if half:
            model, x = model.half(), x.half()

    def run() -> None:
        with torch.inference_mode():
            model(x)
        if cuda:
            torch.cuda.synchronize()

    return run


def ort_session(
    path: str | Path,
    threads: int,
    opt_level: str = "all",
    cuda: bool = False,
    profile_prefix: str | Path | None = None,
) -> Any:
    """An ONNX Runtime session as every yolo-ghost timing runs it: ``threads`` intra-op threads, one inter-op thread,
    workers that sleep instead of spinning between runs, graph optimisation ``opt_level``; with ``profile_prefix``,
    ORT's profiler on (its JSON goes to ``<prefix>_<date>.json``)."""
    import onnxruntime as ort

    if opt_level not in ORT_OPT_LEVELS:
        raise ValueError(f"ort_opt_level must be one of {ORT_OPT_LEVELS}, got {opt_level!r}")
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    # ORT's idle workers spin for a while after each run; in an interleaved run that would steal the cores from the
    # next model timed, so they sleep instead.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.graph_optimization_level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[opt_level]
    if profile_prefix is not None:
        so.enable_profiling = True
        so.profile_file_prefix = str(profile_prefix)
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if cuda else ["CPUExecutionProvider"]
    return ort.InferenceSession(str(path), so, providers=providers)


def _ort_runner(
    model: nn.Module, x: torch.Tensor, path: Path, cuda: bool, threads: int, opt_level: str
) -> Callable[[], None]:
    export_onnx(model, path, x.shape[-1], fuse=False)  # the caller's copy is fused already
    sess = ort_session(path, threads, opt_level, cuda=cuda)
    feed = {INPUT_NAME: x.numpy()}
    return lambda: sess.run(None, feed)


def openvino_model(path: str | Path, threads: int, precision: str | None = "f32") -> Any:
    """An ONNX file (or OpenVINO IR ``.xml``) compiled by OpenVINO for the CPU as the timings run it: ``threads``
    inference threads, the latency hint (one stream), and the inference-precision hint ``precision``: ``"f32"`` by
    default (CPUs with bf16 units would otherwise run in bf16, not what the other backends time), ``None`` for the
    runtime's own choice (as ``YOLO("x_openvino_model")`` runs a deployed file), or ``"bf16"`` / ``"f16"``."""
    import openvino as ov

    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads}
    if precision is not None:
        config["INFERENCE_PRECISION_HINT"] = precision
    return ov.Core().compile_model(str(path), "CPU", config)


def _openvino_runner(model: nn.Module, x: torch.Tensor, path: Path, threads: int) -> Callable[[], None]:
    if not path.is_file():  # the ONNX file onnxruntime-cpu times, when both run
        export_onnx(model, path, x.shape[-1], fuse=False)
    compiled = openvino_model(path, threads)
    request = compiled.create_infer_request()
    feed = x.numpy()
    return lambda: request.infer({0: feed})


def _artifact_runner(path: Path, x: torch.Tensor, threads: int, precision: str | None = None) -> Callable[[], None]:
    """A deployed file as its runtime runs it by default: an ONNX file in ONNX Runtime (``ort_session``), an OpenVINO
    folder compiled for the CPU with the latency hint and the runtime's own inference precision (what
    ``YOLO("x_openvino_model")`` runs: bf16 for the floating-point parts on CPUs with bf16 units), or the
    ``precision`` hint given (OpenVINO's ``INFERENCE_PRECISION_HINT``: ``"f32"``, ``"bf16"``, ``"f16"``)."""
    feed = x.numpy()
    if path.suffix == ".onnx":
        if precision is not None:
            raise ValueError(f"{path}: a precision hint applies to OpenVINO files, not to ONNX Runtime")
        sess = ort_session(path, threads)
        name = sess.get_inputs()[0].name
        return lambda: sess.run(None, {name: feed})
    xml = next(path.glob("*.xml")) if path.is_dir() else path
    compiled = openvino_model(xml, threads, precision)
    request = compiled.create_infer_request()
    return lambda: request.infer({0: feed})


def measure_latency(
    models: Mapping[str, nn.Module],
    imgsz: int = 640,
    *,
    backends: Iterable[str] | None = None,
    batch: int = 1,
    warmup: int = 3,
    rounds: int = 20,
    settle: int = 1,
    threads: int | None = None,
    fuse: bool = True,
    ort_opt_level: str = "all",
    workdir: str | Path | None = None,
    progress: bool = True,
    artifacts: Mapping[str, Mapping[str, str | Path | tuple[str | Path, str]]] | None = None,
) -> dict[str, dict[str, LatencyStats]]:
    """Time every model on every backend in one interleaved run and return ``{model: {backend: LatencyStats}}``.

    Args:
        models: name -> model (each is deep-copied, put in eval mode and, with ``fuse``, BN-fused; yours is unchanged).
        imgsz: square input size (one batch of random images, the same for every model).
        backends: subset of ``available_backends()``; default: all of them.
        warmup: untimed runs of every (model, backend) before the first round (allocator, caches, ORT arenas).
        rounds: timed runs of every (model, backend); the order rotates each round.
        settle: untimed runs of the same (model, backend) right before each timed run. Switching models leaves cold
            caches and sleeping or still-spinning thread pools behind (PyTorch's OpenMP, other ORT sessions); without
            this the many-small-op Ghost graphs pay for it (measured in the README). With it, each timed run
            measures the model in steady state, as a deployed model runs.
        threads: intra-op threads for PyTorch, onnxruntime and OpenVINO (default: ``torch.get_num_threads()``); the
            same for every model, and recorded in the results.
        fuse: fold BatchNorm first, as deployed models run.
        ort_opt_level: onnxruntime graph optimisation level (``disable`` / ``basic`` / ``extended`` / ``all``).
        workdir: where the ONNX files go (default: a temporary folder, removed afterwards).
        progress: show a progress bar over rounds.
        artifacts: deployed files timed in the same rounds, ``{model: {label: path}}`` (an ``.onnx`` file or an
            OpenVINO folder, exported at ``imgsz`` x ``imgsz``, batch ``batch``), reported under their label. A value
            ``(path, precision)`` runs an OpenVINO file under that inference-precision hint instead of the runtime's
            default (``"f32"``: no bf16 on CPUs that have it).
    """
    if rounds < 1 or warmup < 0 or settle < 0 or batch < 1 or imgsz < 32:
        raise ValueError(
            f"measure_latency: need rounds >= 1, warmup >= 0, settle >= 0, batch >= 1, imgsz >= 32; "
            f"got rounds={rounds}, warmup={warmup}, settle={settle}, batch={batch}, imgsz={imgsz}"
        )
    if ort_opt_level not in ORT_OPT_LEVELS:
        raise ValueError(f"ort_opt_level must be one of {ORT_OPT_LEVELS}, got {ort_opt_level!r}")
    avail = available_backends()
    backends = list(backends) if backends is not None else avail
    missing = [b for b in backends if b not in avail]
    if missing:
        raise ValueError(f"backend(s) {missing} not available here; this machine has {avail}")
    if not models:
        raise ValueError("measure_latency: no models given")
    threads = int(threads or torch.get_num_threads())
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    x = torch.rand(batch, 3, imgsz, imgsz, generator=torch.Generator().manual_seed(0))
    tmp = tempfile.TemporaryDirectory(prefix="yolo_ghost_latency_") if workdir is None else None
    folder = Path(tmp.name if tmp else workdir)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        runners: list[tuple[str, str, Callable[[], None]]] = []
        for name, model in models.items():
            m = prepare_for_export(model, fuse=fuse)  # both backends run the same graph: fused, decoded output only
            path = folder / f"{_safe(name)}.onnx"
            for b in backends:
                if b.startswith("torch"):
                    run = _torch_runner(copy.deepcopy(m), x, cuda="cuda" in b, half=b.endswith("fp16"))
                elif b == OPENVINO_BACKEND:
                    run = _openvino_runner(m, x, path, threads=threads)
                else:
                    run = _ort_runner(m, x, path, cuda="cuda" in b, threads=threads, opt_level=ort_opt_level)
                runners.append((name, b, run))
        for name, files in (artifacts or {}).items():
            for label, file in files.items():
                path, precision = file if isinstance(file, tuple) else (file, None)
                runners.append((name, label, _artifact_runner(Path(path), x, threads, precision)))
        for _ in range(warmup):
            for _, _, run in runners:
                run()
        times: dict[tuple[str, str], list[float]] = {(n, b): [] for n, b, _ in runners}
        it = range(rounds)
        if progress:
            from ultralytics.utils.tqdm import TQDM

            n_art = sum(len(f) for f in (artifacts or {}).values())
            what = f"{len(models)} models x {len(backends)} backends" + (f" + {n_art} deployed files" if n_art else "")
            it = TQDM(it, desc=f"latency {what} @{imgsz}", total=rounds)
        for r in it:
            k = r % len(runners)
            for name, b, run in runners[k:] + runners[:k]:  # rotate so no model always runs first or last
                for _ in range(settle):
                    run()
                t0 = time.perf_counter()
                run()
                times[(name, b)].append((time.perf_counter() - t0) * 1e3)
    finally:
        torch.set_num_threads(old_threads)
        if tmp:
            tmp.cleanup()
    out: dict[str, dict[str, LatencyStats]] = {}
    for (name, b), ts in times.items():
        out.setdefault(name, {})[b] = LatencyStats(
            model=name, backend=b, imgsz=imgsz, batch=batch, threads=threads,
            median_ms=statistics.median(ts), p10_ms=_percentile(ts, 10), p90_ms=_percentile(ts, 90), runs=len(ts),
            times_ms=tuple(round(t, 3) for t in ts),
        )  # fmt: skip
    return out


def paired_ratio(a: LatencyStats, b: LatencyStats, q: float = 50) -> float:
    """The ``q``-th percentile (default: the median) over rounds of ``a``'s time over ``b``'s time in the same round.

    Both ran in every round, seconds apart, so slow drifts of the machine (frequency, neighbours on a shared host)
    cancel in each round's ratio; the ratio of the two medians does not have that protection. ``q=25`` and ``q=75``
    give the interquartile range of the per-round ratios, an honest error bar on a noisy machine.
    """
    if len(a.times_ms) != len(b.times_ms) or not a.times_ms:
        raise ValueError("paired_ratio needs two results of the same interleaved run")
    if not 0 <= q <= 100:
        raise ValueError(f"paired_ratio: q is a percentile in [0, 100], got {q}")
    return _percentile([x / y for x, y in zip(a.times_ms, b.times_ms)], q)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def format_latency_table(results: Mapping[str, Mapping[str, LatencyStats]], baseline: str | None = None) -> str:
    """A plain-text table: one row per model, median [p10-p90] ms per backend, and the ratio to ``baseline`` (the
    median of per-round ratios, ``paired_ratio``)."""
    backends = list(dict.fromkeys(b for per in results.values() for b in per))
    w = max(len(n) for n in results) + 2
    head = f"{'model':<{w}}" + "".join(f"{b:>28}" for b in backends)
    lines = [head]
    for name, per in results.items():
        cells = []
        for b in backends:
            s = per.get(b)
            if s is None:
                cells.append(f"{'-':>28}")
                continue
            cell = f"{s.median_ms:.1f} [{s.p10_ms:.1f}-{s.p90_ms:.1f}]"
            if baseline and baseline in results and b in results[baseline]:
                cell += f" x{paired_ratio(s, results[baseline][b]):.2f}"
            cells.append(f"{cell:>28}")
        lines.append(f"{name:<{w}}" + "".join(cells))
    any_s = next(iter(next(iter(results.values())).values()))
    lines.append(
        f"median [p10-p90] ms per batch of {any_s.batch} at {any_s.imgsz}x{any_s.imgsz}, {any_s.threads} threads, "
        f"{any_s.runs} interleaved rounds"
        + (f"; x = median over rounds of the ratio to {baseline}" if baseline else "")
    )
    return "\n".join(lines)
