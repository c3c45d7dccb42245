"""Export of yolo-ghost models: every CPU format of the ultralytics exporter, each checked against PyTorch.

``export`` hands a checkpoint (or a config built with its initial weights) to ``ultralytics.YOLO(...).export``, the
engine's own exporter, so every format it writes on a CPU (ONNX, TorchScript, OpenVINO, NCNN, ...) comes with the
metadata its ``YOLO("exported file")`` predictor reads. The file is then run in its own runtime where one is
installed (onnxruntime, ``torch.jit.load``, the OpenVINO runtime, ncnn) on random images and compared with the
BN-fused PyTorch model: more than 1e-4 relative difference is an error.

``export_onnx`` is the low-level trace kept for timing (``yolo_ghost.tools.latency``): it exports any ``nn.Module``, not
only a checkpoint, with a symbolic batch and fixed height and width.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from yolo_ghost.cfg import ConfigError
from yolo_ghost.models.checkpoint import checkpoint_imgsz, trusted
from yolo_ghost.models.yolo import build_model, load_checkpoint, model_task
from yolo_ghost.tools.quantize import INT8_FORMATS, Int8Settings, quantize_export
from yolo_ghost.utils.atomic import atomic_write

INPUT_NAME = "images"
OUTPUT_NAME = "output0"
DEFAULT_OPSET = 17


def prepare_for_export(model: nn.Module, fuse: bool = True) -> nn.Module:
    """A deep copy of ``model`` in eval mode, BN fused, with its head returning only the decoded predictions."""
    model = copy.deepcopy(model).float().cpu().eval()
    if fuse and hasattr(model, "fuse"):
        model.fuse()
    for m in model.modules():
        if hasattr(m, "export"):  # Detect / Classify heads: one output tensor, no raw maps
            m.export = True
    return model


def model_stride(model: nn.Module) -> int:
    """The model's largest stride (32 when it records none, as a classifier)."""
    return int(getattr(model, "stride", torch.tensor([32])).max().item())


def export_onnx(
    model: nn.Module,
    path: str | Path,
    imgsz: int = 640,
    *,
    batch: int = 1,
    dynamic: bool = True,
    opset: int = DEFAULT_OPSET,
    fuse: bool = True,
) -> Path:
    """Export ``model`` to ONNX at ``imgsz`` x ``imgsz``; input ``images``, output ``output0``.

    Args:
        model: a yolo-ghost (or ultralytics) model; it is copied, never changed.
        path: the ``.onnx`` file to write; written to a temporary name first, so a failure leaves nothing half-done.
        imgsz: square input size; a multiple of the model's largest stride.
        batch: the batch size traced (with ``dynamic`` the file runs at any batch size).
        dynamic: make the batch dimension symbolic (``batch``); height and width stay fixed.
        opset: ONNX opset (17 runs on every onnxruntime >= 1.14).
        fuse: fold BatchNorm into the convolutions first (what inference runs).
    """
    if imgsz < 1 or batch < 1:
        raise ValueError(f"export_onnx: imgsz and batch must be >= 1, got imgsz={imgsz}, batch={batch}")
    m = prepare_for_export(model, fuse=fuse)
    x = torch.zeros(batch, 3, imgsz, imgsz)
    axes = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}} if dynamic else None

    def write(tmp: Path) -> None:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape reads that are constant at fixed H, W
            warnings.simplefilter(
                "ignore", DeprecationWarning
            )  # chosen on purpose: the dynamo exporter needs onnxscript
            torch.onnx.export(
                m, x, str(tmp), dynamo=False, opset_version=opset, input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME], dynamic_axes=axes, do_constant_folding=True,
            )  # fmt: skip
        _add_metadata(tmp, m, imgsz, batch, dynamic)

    return atomic_write(path, write)


def _add_metadata(path: Path, model: nn.Module, imgsz: int, batch: int, dynamic: bool) -> None:
    """Write the metadata the ultralytics ONNX backend reads, so ``YOLO("model.onnx")`` predicts with the right
    stride, size and class names (values are strings, as the ultralytics exporter writes them). It states what the
    graph is: a fixed ``imgsz`` x ``imgsz`` input (``args.dynamic`` False), with a symbolic batch when ``dynamic``."""
    from importlib.metadata import version

    import onnx

    yaml = getattr(model, "yaml", None) or {}
    meta = {
        "description": f"yolo-ghost {version('yolo-ghost')} {Path(str(yaml.get('yaml_file', 'model'))).name}",
        "author": "yolo-ghost",
        "stride": max(model_stride(model), 1),
        "task": model_task(yaml),
        "batch": batch,
        "imgsz": [imgsz, imgsz],
        "names": getattr(model, "names", None) or {i: str(i) for i in range(int(yaml.get("nc", 0)))},
        # ultralytics' `dynamic` means any input size; only the batch dimension is symbolic here, so the predictor
        # must letterbox to the traced size (it would otherwise feed a non-square photo at its own aspect ratio)
        "args": {"batch": batch, "dynamic": False, "half": False, "int8": False, "nms": False},
        "dynamic_batch": dynamic,
        "channels": 3,
        "end2end": False,
    }
    proto = onnx.load(str(path))
    for k, v in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, str(v)
    onnx.save(proto, str(path))


def _output(y: torch.Tensor | tuple | list) -> torch.Tensor:
    return y[0] if isinstance(y, (tuple, list)) else y


# Relative difference to PyTorch above which an exported file is refused.
PARITY_RTOL = 1e-4


@dataclass(frozen=True)
class ExportResult:
    """What ``export`` wrote: the file (or folder), its format, the size it was traced at, and the check against
    PyTorch (``None``: skipped, or no runtime for the format here)."""

    path: Path
    format: str
    imgsz: int
    dynamic: bool
    max_abs_err: float | None
    max_rel_err: float | None
    int8: dict[str, Any] | None = None


def cpu_formats() -> dict[str, str]:
    """The ultralytics exporter's formats that run on a CPU: ``{argument: suffix}`` (``onnx``: ``.onnx``,
    ``openvino``: ``_openvino_model``, ...)."""
    from ultralytics.engine.exporter import export_formats

    f = export_formats()
    return {a: s for a, s, cpu in zip(f["Argument"], f["Suffix"], f["CPU"]) if cpu and a != "-"}


def exported_format(path: str | Path) -> str | None:
    """The export format of ``path`` (``onnx``, ``openvino``, ``torchscript``, ``ncnn``, ...) by the exporter's
    suffixes (a file ``*.onnx``, a folder ``*_openvino_model``), or ``None`` for anything else (a ``.pt``)."""
    name = Path(path).name
    for fmt, suffix in cpu_formats().items():
        if name.endswith(suffix):
            return fmt
    return None


def export_metadata(path: str | Path, fmt: str) -> dict[str, Any]:
    """The metadata the ultralytics exporter wrote into (or beside) an exported model: ``imgsz``, ``args``, ``names``,
    ``stride``, ... (``{}`` when there is none)."""
    import ast
    import json

    path = Path(path)
    if fmt == "onnx":
        import onnx

        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        out: dict[str, Any] = {}
        for k, v in props.items():
            try:
                out[k] = ast.literal_eval(v)  # the exporter writes str(value)
            except (ValueError, SyntaxError):
                out[k] = v
        return out
    if fmt == "torchscript":
        extra = {"config.txt": ""}
        torch.jit.load(str(path), _extra_files=extra, map_location="cpu")
        return json.loads(extra["config.txt"]) if extra["config.txt"] else {}
    meta = path / "metadata.yaml" if path.is_dir() else None
    if meta is None or not meta.is_file():
        return {}
    from ultralytics.utils import YAML

    return dict(YAML.load(meta) or {})


def _run_onnx(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return lambda x: sess.run(None, {name: x})[0]


def _run_torchscript(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    m = torch.jit.load(str(path), map_location="cpu").eval()
    return lambda x: _output(m(torch.from_numpy(x))).numpy()


def _run_openvino(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    import openvino as ov

    xml = next(path.glob("*.xml"))
    # f32 on purpose: on CPUs with bf16 units OpenVINO would otherwise compute in bf16 and the check would fail
    compiled = ov.Core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return lambda x: compiled(x)[compiled.output(0)]


def _run_ncnn(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    import ncnn

    net = ncnn.Net()
    net.load_param(str(path / "model.ncnn.param"))
    net.load_model(str(path / "model.ncnn.bin"))

    def run(x: np.ndarray) -> np.ndarray:
        outs = []
        for img in x:  # ncnn runs one image at a time
            with net.create_extractor() as ex:
                ex.input("in0", ncnn.Mat(np.ascontiguousarray(img)))
                outs.append(np.array(ex.extract("out0")[1]))
        return np.stack(outs)

    return run


# The runtime that runs each format here, and the Python module it needs.
RUNTIMES: dict[str, tuple[str, Callable[[Path], Callable[[np.ndarray], np.ndarray]]]] = {
    "onnx": ("onnxruntime", _run_onnx),
    "torchscript": ("torch", _run_torchscript),
    "openvino": ("openvino", _run_openvino),
    "ncnn": ("ncnn", _run_ncnn),
}


def runtime_available(fmt: str) -> bool:
    """Whether ``check_export`` can run files of format ``fmt`` on this machine."""
    import importlib.util

    return fmt in RUNTIMES and importlib.util.find_spec(RUNTIMES[fmt][0]) is not None


@torch.no_grad()
def check_export(
    model: nn.Module, path: str | Path, fmt: str, imgsz: int, batches: tuple[int, ...] = (1,), seed: int = 0
) -> tuple[float, float]:
    """Run an exported file in its runtime and return ``(max abs, max relative)`` difference to PyTorch.

    The relative error is ``max |exported - torch| / max |torch|`` over the outputs for random images at each batch
    size, the reference being the BN-fused eval copy of ``model`` that the exporter writes.
    """
    if not runtime_available(fmt):
        raise ValueError(
            f"no runtime for {fmt!r} here; checkable formats: {[f for f in RUNTIMES if runtime_available(f)]}"
        )
    run = RUNTIMES[fmt][1](Path(path))
    ref_model = prepare_for_export(model)
    g = torch.Generator().manual_seed(seed)
    worst_abs = worst_rel = 0.0
    for b in batches:
        x = torch.rand(b, 3, imgsz, imgsz, generator=g)
        ref = _output(ref_model(x)).numpy()
        out = np.asarray(run(x.numpy()))
        if out.shape != ref.shape:
            raise AssertionError(f"{path}: {fmt} output shape {out.shape} != PyTorch {ref.shape} at batch {b}")
        diff = float(np.abs(out - ref).max())
        worst_abs = max(worst_abs, diff)
        worst_rel = max(worst_rel, diff / max(float(np.abs(ref).max()), 1e-12))
    return worst_abs, worst_rel


def check_onnx(
    model: nn.Module, path: str | Path, imgsz: int, batches: tuple[int, ...] = (1, 2), seed: int = 0
) -> float:
    """The worst relative difference of an ONNX file to PyTorch in onnxruntime (``check_export`` for ONNX)."""
    return check_export(model, path, "onnx", imgsz, batches, seed)[1]


def _is_export_folder(d: Path) -> bool:
    """Whether ``d`` is a folder an earlier export wrote (the exporter's ``metadata.yaml`` and model files, no
    subfolders): only such a folder is ever replaced."""
    entries = list(d.iterdir())
    return (d / "metadata.yaml").is_file() and all(e.is_file() and not e.is_symlink() for e in entries)


def _destination(out: str | Path | None, default: Path, source: Path | None) -> Path:
    """Where the export goes: ``out`` (inside it, named as ``default``, when it is an existing folder that no export
    wrote), else ``default``.

    Raises:
        ConfigError: the destination is the input checkpoint, or an existing folder that no export wrote.
    """
    dest = Path(out) if out else default
    if dest.is_dir() and not dest.is_symlink() and not _is_export_folder(dest):
        dest = dest / default.name  # `--out exports/` means "write inside exports/"
        if dest.is_dir() and not _is_export_folder(dest):
            raise ConfigError(f"--out: {str(dest)!r} is a folder that no export wrote; choose another --out")
    if source is not None and dest.exists() and dest.resolve() == source.resolve():
        raise ConfigError(f"--out {str(dest)!r} is the checkpoint being exported; choose another file name")
    return dest


def _replace(src: Path, dst: Path) -> Path:
    """Move ``src`` (file or folder) over ``dst``: a file is replaced atomically, a folder only when an earlier export
    wrote it (``_destination`` checked), and then through a rename aside so a failure leaves one of the two whole."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_dir() and not dst.is_symlink():
        old = dst.with_name(f".{dst.name}.old{os.getpid()}")
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old)
        return dst
    if src.is_dir() and dst.exists():
        raise ConfigError(f"--out {str(dst)!r} is a file; a {src.name} export is a folder, choose a folder name")
    os.replace(src, dst)
    return dst


def export(
    weights: str | Path | None = None,
    cfg: str | Path | None = None,
    out: str | Path | None = None,
    imgsz: int | None = None,
    *,
    format: str = "onnx",  # ultralytics' name for it
    opset: int | None = None,
    dynamic: bool = False,
    check: bool = True,
    trust_checkpoint: bool = False,
    int8: Int8Settings | None = None,
) -> ExportResult:
    """Export a checkpoint (``weights``) or a freshly built config (``cfg``) with the ultralytics exporter, and check
    the file against PyTorch in its runtime.

    Args:
        weights: a ``.pt`` checkpoint (``best.pt``); ``imgsz`` then defaults to its training size.
        cfg: a model YAML, exported with its initial weights (for latency or graph inspection).
        out: where the file (or the folder, for OpenVINO and NCNN) goes; default: beside the checkpoint, named as
            ultralytics names it (``best.onnx``, ``best_openvino_model/``), or ``<cfg stem><suffix>`` in the
            working directory. An existing folder that no export wrote means "inside it": it is never removed.
            Written under a temporary name first, so a failure leaves nothing half-done.
        imgsz: input size (default: the checkpoint's training size, else 640); rounded up to the model stride.
        format: one of ``cpu_formats()`` (``onnx``, ``torchscript``, ``openvino``, ``ncnn``, ...).
        opset: ONNX opset (default: the exporter's choice for the installed torch).
        dynamic: symbolic batch, height and width (ultralytics' ``dynamic``). The default is a fixed batch of 1 at
            ``imgsz`` x ``imgsz``, and the metadata says so: ``YOLO("x.onnx")`` then letterboxes photos to that
            square. With ``dynamic`` the metadata says any size, which the graph then accepts.
        check: run the file at batch 1 (and 2 when ``dynamic``) and raise if it differs from PyTorch by more
            than ``PARITY_RTOL``; formats without a runtime here are exported unchecked.
        trust_checkpoint: load a checkpoint needing types outside the allow-list of ``yolo_ghost.models.checkpoint``
            (runs code from the file).
        int8: quantize to INT8 after the fp32 export, as these settings say (``onnx``: ONNX Runtime static
            quantization; ``openvino``: NNCF; calibrated on the dataset's training split, ``yolo_ghost.tools.quantize``).
            The default name gains ``_int8`` (``best_int8.onnx``, ``best_int8_openvino_model/``). The check then
            measures the deviation from PyTorch and reports it instead of failing.

    Raises:
        ConfigError: no or both sources, an unknown format, a missing or refused checkpoint, a bad config, INT8 for
            a format without an INT8 path here.
    """
    from ultralytics import YOLO

    if (weights is None) == (cfg is None):
        raise ConfigError("export: give exactly one of --weights (a checkpoint) or --cfg (a model YAML)")
    formats = cpu_formats()
    if format not in formats:
        raise ConfigError(f"export: unknown format {format!r}; the CPU formats are {', '.join(formats)}")
    if int8 and format not in INT8_FORMATS:
        raise ConfigError(f"--int8: supported for --format {' and '.join(INT8_FORMATS)}, not {format!r}")
    if int8 and int8.calibration != "minmax" and format != "onnx":
        raise ConfigError(f"--calibration sets ONNX Runtime's range fitting; NNCF fits its own for --format {format}")
    if weights is not None:
        model = load_checkpoint(weights, trust=trust_checkpoint)
        if imgsz is None:
            imgsz = checkpoint_imgsz(Path(weights), trust=trust_checkpoint)
        stem, folder = Path(weights).stem, Path(weights).parent
    else:
        model = build_model(cfg).eval()
        stem, folder = Path(str(cfg)).stem, Path.cwd()
    imgsz = imgsz or 640
    stride = max(model_stride(model), 32)
    if imgsz % stride:
        new = (imgsz + stride - 1) // stride * stride
        warnings.warn(f"--img {imgsz} is not a multiple of the model stride {stride}; using {new}", stacklevel=2)
        imgsz = new
    suffix = formats[format]
    if int8:
        suffix = f"_int8{suffix}"  # best_int8.onnx, best_int8_openvino_model/
    dest = _destination(out, folder / f"{stem}{suffix}", Path(weights) if weights is not None else None)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{stem}.export", dir=dest.parent) as tmp:
        # The exporter names its output after the checkpoint it loaded: hand it a copy in a scratch folder (our own
        # types only, so it loads under the allow-list) and move the result into place once it is complete. The
        # copy's name is neutral: ultralytics renames yolov5*.pt files to its own `u` models and downloads them.
        src = Path(tmp) / "model.pt"
        torch.save({"model": copy.deepcopy(model).float(), "train_args": {"imgsz": imgsz}}, src)
        kwargs = {"format": format, "imgsz": imgsz, "dynamic": dynamic, "batch": 1, "device": "cpu"}
        if format == "onnx":
            kwargs["simplify"] = False  # onnxslim is not a dependency; the graph is exported as traced
        if opset is not None:
            kwargs["opset"] = opset
        with trusted(False):
            written = Path(YOLO(str(src), task=model_task(getattr(model, "yaml", None) or {})).export(**kwargs))
        quant = None
        if int8:
            fp32, written = written, Path(tmp) / f"{src.stem}{suffix}"
            quant = quantize_export(format, fp32, written, model, imgsz, int8)
        err_abs = err_rel = None
        if check and runtime_available(format):
            err_abs, err_rel = check_export(model, written, format, imgsz, batches=(1, 2) if dynamic else (1,))
            if err_rel > PARITY_RTOL and not int8:  # INT8 differs by design: the deviation is reported instead
                raise AssertionError(
                    f"{written.name}: {format} output differs from PyTorch by {err_rel:.2e} (relative) > {PARITY_RTOL}"
                )
        path = _replace(written, dest)
    return ExportResult(
        path=path, format=format, imgsz=imgsz, dynamic=dynamic, max_abs_err=err_abs, max_rel_err=err_rel, int8=quant
    )
