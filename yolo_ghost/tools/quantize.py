"""INT8 post-training quantization of an exported detector: OpenVINO through NNCF, ONNX through ONNX Runtime.

The fp32 file comes from the ultralytics exporter (``yolo_ghost.tools.export``); the calibration images come from the
exporter's own INT8 calibration loader (``Exporter.get_int8_calibration_dataloader`` and its ``_transform_fn``: the
split's images letterboxed to the export size, scaled to 0-1), here on the dataset's training split. What this module
adds is the choice of what stays in floating point, as the quantizer's ignored scope:

* always the detection head's decode (grid offsets, anchor scaling, sigmoid): one INT8 scale over box pixels and class
  probabilities would round the scores away (ultralytics keeps its own ``Detect`` head float for the same reason);
* on request, named layer types (``keep_float``): ``depthwise`` (every depthwise convolution, the layers GhostNet's
  authors advise leaving unquantized) or a block name from the registry (``GhostConv``, ``C3Ghost``, ...: every
  operation inside those blocks).

ONNX Runtime quantizes convolutions only (QDQ format, as ultralytics' ``onnx_int8_quantize`` does); NNCF places its
quantizers by its MIXED preset (symmetric weights, asymmetric activations), as the ultralytics exporter calls it.
"""

from __future__ import annotations

import ast
import itertools
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from torch import nn

from yolo_ghost.cfg import ConfigError
from yolo_ghost.data.resolve import check_splits, resolve_data
from yolo_ghost.models.yolo import model_task

# The layer type that names every depthwise convolution (groups == input channels > 1) in ``keep_float``.
DEPTHWISE = "depthwise"
# The export formats with an INT8 path here, and the quantizer each one uses.
INT8_FORMATS = ("onnx", "openvino")
# Calibration images by default: NNCF's default subset size, and the number ultralytics recommends.
DEFAULT_CALIB_IMAGES = 300


# ONNX Runtime's activation type: unsigned activations with signed weights (U8S8) run its VNNI / AVX2 kernels; signed
# ones (S8S8, its default for QDQ) ran slower on the development CPU (measured in docs/export.md).
ONNX_ACTIVATIONS = ("u8", "s8")
# ONNX Runtime's ways of fitting each activation's range on the calibration images: the extremes seen (its default),
# a high percentile of the values (outliers clipped), or the range that keeps the histogram's entropy.
ONNX_CALIBRATIONS = ("minmax", "percentile", "entropy")


@dataclass(frozen=True)
class Int8Settings:
    """How an export is quantized to INT8.

    Attributes:
        data: the dataset whose training images calibrate the ranges (a YAML or ``shapes``).
        calib_images: calibration images.
        keep_float: layer types left in floating point: ``depthwise`` and/or block class names.
        per_channel: ONNX Runtime: one weight scale per output channel (NNCF's MIXED preset always has them).
        activations: ONNX Runtime's activation type, ``u8`` (default) or ``s8``.
        calibration: ONNX Runtime's range fitting, ``minmax`` (default), ``percentile`` or ``entropy``.
    """

    data: str | Path
    calib_images: int = DEFAULT_CALIB_IMAGES
    keep_float: tuple[str, ...] = ()
    per_channel: bool = False
    activations: str = "u8"
    calibration: str = "minmax"

    def __post_init__(self) -> None:
        if type(self.calib_images) is not int or self.calib_images < 1:
            raise ConfigError(f"--calib-images {self.calib_images!r}: give at least 1 calibration image")
        if self.activations not in ONNX_ACTIVATIONS:
            raise ConfigError(f"INT8 activations {self.activations!r}: choose {' or '.join(ONNX_ACTIVATIONS)}")
        if self.calibration not in ONNX_CALIBRATIONS:
            raise ConfigError(f"INT8 calibration {self.calibration!r}: choose one of {', '.join(ONNX_CALIBRATIONS)}")
        object.__setattr__(self, "keep_float", tuple(self.keep_float))


def float_modules(model: nn.Module, keep_float: Iterable[str] = ()) -> list[str]:
    """Names (``model.24``, ``model.3.cv1``) of the modules whose operations stay in floating point: the detection
    head, and every module whose class is named in ``keep_float`` (``depthwise`` is matched on the graph instead).

    Raises:
        ConfigError: a name in ``keep_float`` is neither ``depthwise`` nor the class of any module of this model.
    """
    types = [t for t in keep_float if t != DEPTHWISE]
    present = {type(m).__name__ for m in model.modules()}
    unknown = [t for t in types if t not in present]
    if unknown:
        blocks = sorted(n for n in present if n[:1].isupper() and n not in {"Sequential", "ModuleList"})
        raise ConfigError(
            f"--keep-float {' '.join(unknown)}: no such layer in this model; use '{DEPTHWISE}' or one of its blocks: "
            f"{', '.join(blocks)}"
        )
    seq = getattr(model, "model", None)
    head = f"model.{len(seq) - 1}" if isinstance(seq, nn.Sequential) and len(seq) else None
    names = [head] if head else []
    names += [n for n, m in model.named_modules() if n and type(m).__name__ in types]
    return [n for n in names if not any(n.startswith(f"{p}.") for p in names if p != n)]  # the outermost only


def calibration_batches(
    model: nn.Module, data: str | Path, imgsz: int, images: int = DEFAULT_CALIB_IMAGES, split: str = "train"
) -> list[np.ndarray]:
    """``images`` calibration inputs (float32 NCHW, batch 1, 0-1) from ``split`` of ``data``, through the ultralytics
    exporter's calibration loader (letterboxed to ``imgsz`` as the validator feeds the exported model).

    Raises:
        ConfigError: ``images`` < 1, or the split has no images.
    """
    from ultralytics.engine.exporter import Exporter

    if images < 1:
        raise ConfigError(
            f"--calib-images {images}: give at least 1 calibration image (default {DEFAULT_CALIB_IMAGES})"
        )
    data = resolve_data(data)
    check_splits(data, (split,))
    exporter = Exporter(overrides={"data": str(data), "imgsz": imgsz, "batch": 1, "split": split, "format": "onnx"})
    exporter.model = SimpleNamespace(task=model_task(getattr(model, "yaml", None) or {}))  # all the loader reads
    exporter.imgsz = (imgsz, imgsz)
    loader = exporter.get_int8_calibration_dataloader(prefix="INT8:")
    n = min(images, len(loader.dataset))
    return [exporter._transform_fn(b) for b in itertools.islice(loader, n)]


def _module_of_onnx(node_name: str) -> str:
    """``/model.3/m/m.0/cv1/conv/Conv`` -> ``model.3.m.0.cv1.conv``: torch.onnx names a node by its module scopes, a
    container's child as ``<container>.<index>`` after the container's own scope."""
    out: list[str] = []
    for seg in node_name.strip("/").split("/")[:-1]:
        if out and seg.startswith(f"{out[-1]}."):
            out[-1] = seg
        else:
            out.append(seg)
    return ".".join(out)


def _module_of_openvino(op_name: str) -> str:
    """``__module.model.3.cv1.conv/aten::_convolution/Convolution`` -> ``model.3.cv1.conv``."""
    head = op_name.split("/", 1)[0]
    return head[len("__module.") :] if head.startswith("__module.") else ""


def _inside(module: str, prefixes: Sequence[str]) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in prefixes)


def quantize_onnx(
    src: Path,
    dst: Path,
    batches: Sequence[np.ndarray],
    modules: Sequence[str],
    depthwise: bool,
    per_channel: bool,
    activations: str = "u8",
    calibration: str = "minmax",
) -> list[str]:
    """Quantize the convolutions of ``src`` to INT8 (ONNX Runtime static quantization, QDQ) into ``dst``, keeping
    the convolutions inside ``modules`` (and, with ``depthwise``, every depthwise one) in fp32; the metadata of
    ``src`` is kept. Returns the names of the convolutions left in fp32."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    proto = onnx.load(str(src))
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    keep = [
        n.name
        for n in convs
        if _inside(_module_of_onnx(n.name), modules)
        or (depthwise and any(a.name == "group" and a.i > 1 for a in n.attribute))
    ]
    name = proto.graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self.it, None)
            return None if x is None else {name: x}

    quantize_static(
        str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
        nodes_to_exclude=keep, per_channel=per_channel, weight_type=QuantType.QInt8,
        activation_type=QuantType.QUInt8 if activations == "u8" else QuantType.QInt8,
        calibrate_method={"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                          "entropy": CalibrationMethod.Entropy}[calibration],
    )  # fmt: skip
    out = onnx.load(str(dst))
    del out.metadata_props[:]
    for p in proto.metadata_props:  # quantize_static drops the metadata the ultralytics backend reads
        entry = out.metadata_props.add()
        entry.key, entry.value = p.key, (str(_int8_args(ast.literal_eval(p.value))) if p.key == "args" else p.value)
    onnx.save(out, str(dst))
    return keep


def quantize_openvino(
    src: Path, dst: Path, batches: Sequence[np.ndarray], modules: Sequence[str], depthwise: bool
) -> list[str]:
    """Quantize the OpenVINO model in folder ``src`` to INT8 with NNCF (MIXED preset) into folder ``dst``, keeping
    every operation inside ``modules`` (and, with ``depthwise``, every GroupConvolution) in floating point; the
    exporter's ``metadata.yaml`` is copied. Returns the names of the operations in the ignored scope."""
    import logging

    import nncf
    import openvino as ov

    nncf.set_log_level(logging.WARNING)  # one INFO line per operation it leaves alone
    xml = next(src.glob("*.xml"))
    model = ov.Core().read_model(str(xml))
    keep = [
        op.get_friendly_name()
        for op in model.get_ordered_ops()
        if _inside(_module_of_openvino(op.get_friendly_name()), modules)
        or (depthwise and op.get_type_name() == "GroupConvolution")
    ]
    keep = [n for n in keep if not n.startswith("Constant")]
    q = nncf.quantize(
        model,
        nncf.Dataset(list(batches)),
        preset=nncf.QuantizationPreset.MIXED,
        subset_size=len(batches),
        ignored_scope=nncf.IgnoredScope(names=keep, validate=False),
    )
    dst.mkdir(parents=True, exist_ok=True)
    ov.save_model(q, str(dst / xml.name), compress_to_fp16=False)
    meta = src / "metadata.yaml"
    if meta.is_file():
        from ultralytics.utils import YAML

        d = YAML.load(meta)
        d["args"] = _int8_args(d.get("args") or {})
        YAML.save(dst / "metadata.yaml", d)
    return keep


def _int8_args(args: dict[str, Any]) -> dict[str, Any]:
    """The exporter's recorded arguments, saying the file is INT8 as its own INT8 exports do (``quantize: 8``)."""
    return {**args, "quantize": 8}


def quantize_export(
    fmt: str, src: Path, dst: Path, model: nn.Module, imgsz: int, settings: Int8Settings
) -> dict[str, Any]:
    """INT8 copy ``dst`` of the fp32 export ``src`` (``fmt`` ``onnx`` or ``openvino``) of ``model``, calibrated at
    ``imgsz`` as ``settings`` say. Returns what was done: the settings, the calibration images used and the number of
    operations kept in floating point.

    Raises:
        ConfigError: another format, or a ``keep_float`` name this model lacks.
    """
    if fmt not in INT8_FORMATS:
        raise ConfigError(f"--int8: supported for --format {' and '.join(INT8_FORMATS)}, not {fmt!r}")
    modules = float_modules(model, settings.keep_float)
    batches = calibration_batches(model, settings.data, imgsz, settings.calib_images)
    depthwise = DEPTHWISE in settings.keep_float
    if fmt == "onnx":
        kept = quantize_onnx(
            src, dst, batches, modules, depthwise, settings.per_channel, settings.activations, settings.calibration
        )
    else:
        if dst.exists():
            shutil.rmtree(dst)
        kept = quantize_openvino(src, dst, batches, modules, depthwise)
    return {
        "calib_images": len(batches),
        "keep_float": list(settings.keep_float),
        "per_channel": settings.per_channel,
        "activations": settings.activations,
        "calibration": settings.calibration if fmt == "onnx" else "nncf",
        "float_ops": len(kept),
    }
