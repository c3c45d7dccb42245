"""ONNX export of yolo-ghost detectors, checked against PyTorch in onnxruntime.

The graph is traced from the BN-fused eval model with the head in export mode (it then returns only the decoded
``(batch, 4 + nc, anchors)`` tensor, the layout the ultralytics exporter writes and its ``YOLO("model.onnx")``
predictor reads), with a symbolic batch dimension. Every shipped block exports this way, including channel shuffle,
whose reshapes read the batch size from the tensor instead of freezing it.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from yolo_ghost.atomic import atomic_write
from yolo_ghost.cfg import ConfigError
from yolo_ghost.checkpoint import checkpoint_imgsz
from yolo_ghost.model import build_model, load_checkpoint, model_task

INPUT_NAME = "images"
OUTPUT_NAME = "output0"
DEFAULT_OPSET = 17


@dataclass(frozen=True)
class ExportResult:
    """What ``export`` wrote: the file, the size it was traced at, and the check against PyTorch (None: skipped)."""

    path: Path
    imgsz: int
    opset: int
    dynamic: bool
    max_rel_err: float | None


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
    import onnx

    from yolo_ghost import __version__

    yaml = getattr(model, "yaml", None) or {}
    meta = {
        "description": f"yolo-ghost {__version__} {Path(str(yaml.get('yaml_file', 'model'))).name}",
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


@torch.no_grad()
def check_onnx(
    model: nn.Module, path: str | Path, imgsz: int, batches: tuple[int, ...] = (1, 2), seed: int = 0
) -> float:
    """Run the ONNX file in onnxruntime (CPU) at each batch size and return the worst relative error to PyTorch.

    The error is ``max |onnx - torch| / max |torch|`` over the outputs of random images, the model being the same
    BN-fused eval copy that was exported.
    """
    import onnxruntime as ort

    ref_model = prepare_for_export(model)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(seed)
    worst = 0.0
    for b in batches:
        x = torch.rand(b, 3, imgsz, imgsz, generator=g)
        ref = _output(ref_model(x)).numpy()
        out = sess.run(None, {INPUT_NAME: x.numpy()})[0]
        if out.shape != ref.shape:
            raise AssertionError(f"{path}: ONNX output shape {out.shape} != PyTorch {ref.shape} at batch {b}")
        worst = max(worst, float(np.abs(out - ref).max() / max(np.abs(ref).max(), 1e-12)))
    return worst


def export(
    weights: str | Path | None = None,
    cfg: str | Path | None = None,
    out: str | Path | None = None,
    imgsz: int | None = None,
    *,
    opset: int = DEFAULT_OPSET,
    dynamic: bool = False,
    check: bool = True,
    trust_checkpoint: bool = False,
) -> ExportResult:
    """Export a checkpoint (``weights``) or a freshly built config (``cfg``) to ONNX and check it.

    Args:
        weights: a ``.pt`` checkpoint (``best.pt``); ``imgsz`` then defaults to its training size.
        cfg: a model YAML, exported with its initial weights (for latency or graph inspection).
        out: the ``.onnx`` path; default: beside the checkpoint, or ``<cfg stem>.onnx`` in the working directory.
        imgsz: input size (default: the checkpoint's training size, else 640); rounded up to the model stride.
        opset, dynamic: as in ``export_onnx``. The default is a fixed batch of 1: ultralytics' ``YOLO("x.onnx")``
            reads any symbolic dimension as "any input size" and then feeds a non-square photo at its own aspect
            ratio, which a graph traced at ``imgsz`` x ``imgsz`` rejects; a dynamic batch suits onnxruntime users.
        check: run the file in onnxruntime at batch 1 and 2 and raise if it differs from PyTorch by more than 1e-4.
        trust_checkpoint: load a checkpoint needing types outside the allow-list of ``yolo_ghost.checkpoint``
            (runs code from the file).
    """
    if (weights is None) == (cfg is None):
        raise ConfigError("export: give exactly one of --weights (a checkpoint) or --cfg (a model YAML)")
    if weights is not None:
        model = load_checkpoint(weights, trust=trust_checkpoint)
        if imgsz is None:
            imgsz = checkpoint_imgsz(Path(weights), trust=trust_checkpoint)
        default_out = Path(weights).with_suffix(".onnx")
    else:
        model = build_model(cfg)
        default_out = Path(Path(str(cfg)).stem + ".onnx")
    imgsz = imgsz or 640
    stride = max(model_stride(model), 32)
    if imgsz % stride:
        new = (imgsz + stride - 1) // stride * stride
        warnings.warn(f"--img {imgsz} is not a multiple of the model stride {stride}; using {new}", stacklevel=2)
        imgsz = new
    path = export_onnx(model, out or default_out, imgsz, dynamic=dynamic, opset=opset)
    err = None
    if check:
        err = check_onnx(model, path, imgsz, batches=(1, 2) if dynamic else (1,))
        if err > 1e-4:
            raise AssertionError(f"{path}: onnxruntime output differs from PyTorch by {err:.2e} (relative) > 1e-4")
    return ExportResult(path=path, imgsz=imgsz, opset=opset, dynamic=dynamic, max_rel_err=err)
