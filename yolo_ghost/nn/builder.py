"""The YAML model builder: one generic loop over the rows of a config and the registry's channel rules.

It reads both YAML dialects: YOLOv5's (``depth_multiple`` / ``width_multiple`` / ``anchors``) and the
ultralytics one (``scales:`` with the scale letter taken from the file name). Where a block name means different
blocks in the two (``Bottleneck``), the registry holds one per dialect and ``yaml_dialect`` says which one a YAML
gets. Nothing in a YAML is ever evaluated as code: module names are looked up in the registry (or as attributes of
``torch.nn`` for ``nn.Name``), activations come from a fixed list with literal arguments, and args are literals or
the names ``nc`` / ``anchors``.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
from ultralytics.nn.modules.conv import Conv

from yolo_ghost.cfg import ConfigError
from yolo_ghost.cfg.limits import LimitError, check_limit, current_limits
from yolo_ghost.nn.blocks.helpers import make_divisible
from yolo_ghost.nn.registry import DEFAULT_DIALECT, DIALECTS, BlockSpec, get_block, is_registered, unknown_block_message

# Activations a YAML may name in `activation:`; anything else is refused rather than evaluated.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    name: getattr(nn, name)
    for name in (
        "ReLU",
        "ReLU6",
        "LeakyReLU",
        "SiLU",
        "Hardswish",
        "Hardsigmoid",
        "Mish",
        "GELU",
        "ELU",
        "SELU",
        "CELU",
        "PReLU",
        "Sigmoid",
        "Tanh",
        "Identity",
    )
}
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


@dataclass
class LayerInfo:
    """What the builder decided for one YAML row; kept on the module (``m.i``, ``m.f``, ``m.type``, ...)."""

    i: int
    f: int | list[int]
    n: int
    type: str
    args: list[Any]
    c_out: int | list[int]


def parse_activation(spec: Any) -> nn.Module:
    """Turn ``activation: nn.LeakyReLU(0.1)`` into a module without ``eval``: a listed class, literal arguments."""
    if not isinstance(spec, str):
        raise ConfigError(f"activation: expected a string like 'nn.SiLU()', got {spec!r}")
    try:
        node = ast.parse(spec.strip(), mode="eval").body
    except SyntaxError:
        node = None
    if isinstance(node, ast.Attribute):  # `nn.SiLU` without parentheses
        node = ast.Call(func=node, args=[], keywords=[])
    dotted = _dotted_name(node.func) if isinstance(node, ast.Call) else None
    name = dotted.rsplit(".", 1)[-1] if dotted else None
    if not dotted or dotted not in (f"nn.{name}", f"torch.nn.{name}") or name not in ACTIVATIONS:
        raise ConfigError(
            f"activation: {spec!r} is not allowed; use one of {', '.join('nn.' + a + '()' for a in ACTIVATIONS)} "
            "with literal arguments"
        )
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
    except ValueError:
        raise ConfigError(f"activation: {spec!r}: arguments must be literals (numbers, booleans)") from None
    return ACTIVATIONS[name](*args, **kwargs)


def _dotted_name(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


@contextlib.contextmanager
def default_activation(act: nn.Module | None) -> Iterator[None]:
    """Set the activation every ``Conv`` built inside the block gets, and restore it afterwards.

    ``Conv.default_act`` is process-wide state in ultralytics; restoring it keeps one model's
    ``activation:`` from leaking into the next model built in the same process.
    """
    previous = Conv.default_act
    if act is not None:
        Conv.default_act = act
    try:
        yield
    finally:
        Conv.default_act = previous


def yaml_dialect(d: dict[str, Any]) -> str:
    """The dialect a model YAML is written in: ``"yolov5"`` (the YOLOv5 repository) or ``"ultralytics"``.

    Every YOLOv5-repository YAML has an ``anchors:`` key and no ultralytics-package YAML has one (their heads are
    anchor-free), so anchors decide; a YAML may also say ``dialect: yolov5`` or ``dialect: ultralytics``.
    """
    dialect = d.get("dialect")
    if dialect is None:
        return "yolov5" if "anchors" in d else "ultralytics"
    if dialect not in DIALECTS:
        raise ConfigError(f"model YAML: dialect must be one of {', '.join(DIALECTS)}, got {dialect!r}")
    return dialect


def resolve_module(i: int, name: Any, dialect: str = DEFAULT_DIALECT) -> BlockSpec:
    """The spec for a YAML module name in a YAML of ``dialect``: a registered block, or ``nn.Name`` (torch.nn)."""
    if not isinstance(name, str):
        raise ConfigError(f"layer {i}: module must be a block name, got {name!r}")
    if is_registered(name):
        try:
            return get_block(name, dialect)
        except KeyError as e:
            raise ConfigError(f"layer {i}: {e.args[0]}; this YAML is in the {dialect} dialect") from None
    if name.startswith(("nn.", "torch.nn.")):
        attr = name.split(".")[-1]
        cls = getattr(nn, attr, None) if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", attr) else None
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise ConfigError(f"layer {i}: {name!r} is not a torch.nn layer class")
        # As in YOLOv5: a torch layer receives its YAML args unchanged and keeps its input's channel count.
        return BlockSpec(name=name, factory=cls, inputs="none", out="same", width_args=(), signature="torch.nn args")
    raise ConfigError(f"layer {i}: {unknown_block_message(name)}")


def resolve_arg(i: int, value: Any, names: dict[str, Any]) -> Any:
    """A YAML arg as a Python value: literals pass, ``nc``/``anchors``/``None`` are substituted, code is refused."""
    if isinstance(value, list):
        return [resolve_arg(i, v, names) for v in value]
    if not isinstance(value, str):
        return value
    if value in names:
        if names[value] is None:
            raise ConfigError(
                f"layer {i}: argument {value!r} names the top-level key '{value}', which the YAML does not have; add "
                f"'{value}:' (for the anchor-based Detect head) or drop the argument (anchor-free Detect: [nc])"
            )
        return names[value]
    if value == "None":
        return None
    try:
        return ast.literal_eval(value)  # "(5, 9, 13)", "'nearest'", "1e-3": literals only, never code
    except (ValueError, SyntaxError):
        pass
    if _WORD.match(value):  # a plain word such as nearest / bilinear is a string argument
        return value
    raise ConfigError(
        f"layer {i}: argument {value!r} is neither a literal (number, bool, None, list, quoted string) nor one of "
        f"the names {sorted(names)}; YAML args are never evaluated as code"
    )


def _check_from(i: int, f: Any, n_layers_before: int) -> int | list[int]:
    def one(x: Any) -> int:
        if isinstance(x, bool) or not isinstance(x, int):
            raise ConfigError(f"layer {i}: 'from' entries must be integers, got {x!r}")
        j = x if x >= 0 else i + x
        if i == 0 and x == -1:
            return x
        if not 0 <= j < i:
            raise ConfigError(
                f"layer {i}: 'from' index {x} is out of range; it must point to an earlier layer (0..{i - 1}, or "
                f"-1..-{i})"
            )
        return x

    if isinstance(f, list):
        if not f:
            raise ConfigError(f"layer {i}: 'from' is an empty list")
        return [one(x) for x in f]
    return one(f)


def _multiples(d: dict[str, Any]) -> tuple[float, float, float]:
    """``(depth_multiple, width_multiple, max_channels)`` of a YAML: its ``scales:`` entry or the YOLOv5 keys."""
    scales = d.get("scales")
    if scales:
        if not isinstance(scales, dict):
            raise ConfigError(f"model YAML: scales must map a letter to [depth, width, max_channels], got {scales!r}")
        scale = d.get("scale") or next(iter(scales))
        if not isinstance(scale, str) or scale not in scales:
            raise ConfigError(f"model YAML: scale {scale!r} is not among its scales {list(scales)}")
        d["scale"] = scale
        entry = scales[scale]
        if not isinstance(entry, list) or len(entry) != 3:
            raise ConfigError(f"model YAML: scales.{scale} must be [depth, width, max_channels], got {entry!r}")
        keys = (f"scales.{scale}[0] (depth)", f"scales.{scale}[1] (width)", f"scales.{scale}[2] (max_channels)")
        values = entry
    else:
        keys = ("depth_multiple", "width_multiple")
        values = [d.get("depth_multiple", 1.0), d.get("width_multiple", 1.0)]
    for key, v in zip(keys, values):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ConfigError(f"model YAML: {key} must be a positive finite number, got {v!r}")
    check_limit("max_repeats", values[0], f"model YAML: {keys[0]}", "depth multiple")
    check_limit("max_channels", values[1], f"model YAML: {keys[1]}", "width multiple")
    return float(values[0]), float(values[1]), float(values[2]) if len(values) == 3 else float("inf")


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0][:300] if lines else ""


def parse_model(d: dict[str, Any], ch: int = 3) -> tuple[nn.Sequential, list[int]]:
    """Build the layers of a model dict (a loaded YAML) into ``(nn.Sequential, save)``.

    ``save`` lists the layers whose outputs later layers read (the ultralytics ``BaseModel`` contract). Each
    module gets ``.i``, ``.f``, ``.type``, ``.np`` (as in ultralytics) and ``.yaml_row`` (a ``LayerInfo``) for the
    profiler and for printing.
    """
    for key in ("backbone", "head"):
        if not isinstance(d.get(key), list):
            raise ConfigError(f"model YAML needs a '{key}' list of [from, number, module, args] rows")
    nc = d.get("nc")
    if isinstance(nc, bool) or not isinstance(nc, int) or nc < 1:
        raise ConfigError(f"model YAML: nc must be a positive integer, got {nc!r}")
    check_limit("max_channels", nc, "model YAML: nc", "number of classes")
    depth, width, max_channels = _multiples(d)
    act = parse_activation(d["activation"]) if d.get("activation") else None
    names = {"nc": nc, "anchors": d.get("anchors")}
    dialect = yaml_dialect(d)
    settings = {k: v for k, v in d.items() if isinstance(k, str)}  # top-level keys, then what earlier blocks set

    rows = d["backbone"] + d["head"]
    check_limit("max_layers", len(rows), "model YAML: backbone + head", "number of rows")
    layers: list[nn.Module] = []
    save: list[int] = []
    channels: list[int] = [ch]
    with default_activation(act):
        for i, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != 4:
                raise ConfigError(f"layer {i}: expected a row [from, number, module, args], got {row!r}")
            f, n, name, args = row
            f = _check_from(i, f, len(layers))
            spec = resolve_module(i, name, dialect)
            if not isinstance(args, list):
                raise ConfigError(f"layer {i} ({name}): args must be a list, got {args!r}")
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ConfigError(f"layer {i} ({name}): number must be a positive integer, got {n!r}")
            check_limit("max_repeats", n, f"layer {i} ({name})", "number")
            args = [resolve_arg(i, a, names) for a in args]
            n = max(round(n * depth), 1) if n > 1 else n
            check_limit("max_repeats", n, f"layer {i} ({name})", f"number x depth_multiple {depth}")
            try:
                module, c_out, call_args = _build_layer(
                    i, spec, f, n, args, channels, width, max_channels, settings, d.get("scale") or ""
                )
            except ConfigError:
                raise
            except Exception as e:  # whatever a block's constructor or channel rule raises for args it cannot take
                raise ConfigError(
                    f"layer {i} ({spec.name}): cannot build it with args {args}: {type(e).__name__}: "
                    f"{_first_line(e)}; signature {spec.name}{spec.signature or ''}"
                ) from None
            settings.update(spec.sets)
            module.np = sum(p.numel() for p in module.parameters())
            module.i, module.f, module.type = i, f, spec.name  # what ultralytics' BaseModel reads
            module.yaml_row = LayerInfo(i=i, f=f, n=n, type=spec.name, args=call_args, c_out=c_out)
            save.extend(x % i for x in ([f] if isinstance(f, int) else f) if x != -1)
            layers.append(module)
            if i == 0:
                channels = []
            channels.append(c_out)
    return nn.Sequential(*layers), sorted(set(save))


def _build_layer(
    i: int,
    spec: BlockSpec,
    f: int | list[int],
    n: int,
    args: list[Any],
    channels: list[int],
    width: float,
    max_channels: float,
    settings: dict[str, Any],
    scale: str = "",
) -> tuple[nn.Module, int | list[int], list[Any]]:
    c_in: Any = channels[f] if isinstance(f, int) else [channels[x] for x in f]
    if spec.inputs == "single" and isinstance(c_in, list):
        raise ConfigError(f"layer {i} ({spec.name}): takes one input but 'from' lists {len(c_in)}: {f}")
    args = list(args)
    for j in spec.width_args:
        if j < len(args) and isinstance(args[j], int) and not isinstance(args[j], bool):
            check_limit("max_channels", abs(args[j]) * width, f"layer {i} ({spec.name})", f"channel arg {j} x width")
            args[j] = make_divisible(min(args[j], max_channels) * width, 8)
    if spec.out == "arg0":
        if not args or not isinstance(args[0], int):
            raise ConfigError(
                f"layer {i} ({spec.name}): the first arg must be the output channel count; signature "
                f"{spec.name}{spec.signature or '(c2, ...)'}"
            )
        c_out = args[0]
    elif spec.out == "same":
        c_out = c_in if isinstance(c_in, int) else c_in[0]
    elif spec.out == "sum":
        c_out = sum(c_in) if isinstance(c_in, list) else c_in
    else:
        c_out = spec.out(c_in, args)
    # A block may output several tensors (CBLinear): then it declares a list of channel counts, one per output.
    for c in c_out if isinstance(c_out, list) and c_out else [c_out]:
        if isinstance(c, bool) or not isinstance(c, int) or c < 0:
            raise ConfigError(
                f"layer {i} ({spec.name}): its args give {c_out!r} output channels; a channel count must be a whole "
                f"number (signature {spec.name}{spec.signature or ''})"
            )
        check_limit("max_channels", c, f"layer {i} ({spec.name})", "output channels")
    if spec.inputs == "none" and isinstance(spec.factory, type) and spec.factory.__module__.startswith("torch.nn"):
        _check_torch_args(i, spec.name, spec.factory, args)

    call = [c_in, *args] if spec.inputs == "single" else list(args)
    kwargs = {k: settings[k] for k in spec.yaml_keys if settings.get(k) is not None}
    if spec.inputs == "list":
        kwargs["ch"] = c_in if isinstance(c_in, list) else [c_in]
    repeats = n
    if spec.repeat == "arg":
        call.insert(2, n)
        repeats = 1
    elif spec.repeat == "none" and n != 1:
        raise ConfigError(f"layer {i} ({spec.name}): number must be 1 for this block, got {n}")
    if spec.scale_args is not None:
        call = spec.scale_args(scale, list(call))

    def make(first: bool) -> nn.Module:
        a = call if first or spec.inputs != "single" else [c_out, *call[1:]]
        try:
            return spec.factory(*a, **kwargs)
        except (LimitError, MemoryError):
            raise
        except Exception as e:  # TypeError, IndexError, ...: whatever the constructor raises for args it cannot take
            raise ConfigError(
                f"layer {i} ({spec.name}): cannot build it with args {args}: {type(e).__name__}: {_first_line(e)}; "
                f"signature {spec.name}{spec.signature or ''}"
            ) from None

    module = make(True) if repeats == 1 else nn.Sequential(*(make(k == 0) for k in range(repeats)))
    if not isinstance(module, nn.Module):
        raise ConfigError(f"layer {i} ({spec.name}): the registered factory returned {type(module).__name__}")
    c_out = [int(c) for c in c_out] if isinstance(c_out, (list, tuple)) else int(c_out)
    return module, c_out, call


def _macs(m: nn.Module, x: torch.Tensor) -> int:
    """Multiply-accumulates of one conv or linear module on input ``x``, from its shapes alone (nothing is computed)."""
    if isinstance(m, nn.Linear):
        return (x.numel() // max(m.in_features, 1)) * m.in_features * m.out_features
    unfolded = _unfolded(m, x)
    return unfolded * m.out_channels // max(m.groups, 1) if unfolded else 0


def _unfolded(m: nn.Module, x: torch.Tensor) -> int:
    """Elements of a conv's unfolded input (im2col: input channels per group x kernel x output positions, over all
    groups), the buffer PyTorch's CPU convolution fills for kernels its fast paths do not take; 0 for other modules."""
    if not isinstance(m, nn.modules.conv._ConvNd) or x.dim() < 3:
        return 0
    spatial = x.shape[2:]
    if m.transposed:  # every input position scatters a kernel into the output
        return x.shape[0] * m.in_channels * math.prod(spatial) * math.prod(m.kernel_size)
    if m.padding == "same":  # torch allows 'same' at stride 1 only: the output keeps the input's size
        out = list(spatial)
    else:
        pad = (0,) * len(spatial) if m.padding == "valid" else m.padding
        out = [
            max((n + 2 * p - d * (k - 1) - 1) // s + 1, 0)
            for n, p, d, k, s in zip(spatial, pad, m.dilation, m.kernel_size, m.stride)
        ]
    return x.shape[0] * m.in_channels * math.prod(out) * math.prod(m.kernel_size)


@contextlib.contextmanager
def _bounded_compute(layer: nn.Module, spent: list[int]) -> Iterator[None]:
    """Refuse, before it runs, the conv or linear of ``layer`` that takes the dry run beyond ``max_dry_run_macs``.

    Each such module's multiply-accumulates follow from its weights' shapes and the input it is about to get (a
    forward pre-hook sees it), so a 256 x 256 kernel is refused in microseconds instead of computed for seconds.
    ``spent`` holds the dry run's running total; the error names the layer and what its module would add.
    """
    lim = current_limits()
    where = f"layer {getattr(layer, 'i', '?')} ({getattr(layer, 'type', type(layer).__name__)})"

    def check(mod: nn.Module, inputs: tuple[Any, ...]) -> None:
        x = inputs[0] if inputs else None
        if not isinstance(x, torch.Tensor):
            return
        spent[0] += _macs(mod, x)
        what = f"its {type(mod).__name__} of weight {tuple(mod.weight.shape)} on a {tuple(x.shape)} input"
        if spent[0] > lim.max_dry_run_macs:
            check_limit(
                "max_dry_run_macs", spent[0], where,
                f"multiply-accumulates in the dry run ({what}, estimated before running it)",
            )  # fmt: skip
        # A huge kernel is slow out of proportion to its MACs: the CPU convolution unfolds its input first.
        if _unfolded(mod, x) > lim.max_activation:
            check_limit("max_activation", _unfolded(mod, x), where, f"elements of the unfolded input ({what})")

    handles = [
        mod.register_forward_pre_hook(check)
        for mod in layer.modules()
        if isinstance(mod, (nn.Linear, nn.modules.conv._ConvNd))
    ]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


@torch.no_grad()
def dry_forward(layers: nn.Sequential, save: list[int], x: torch.Tensor) -> list[torch.Tensor]:
    """Run the layers once, as ``BaseModel._predict_once`` does, and name the layer that fails.

    Returns the inputs of the last layer (the head's feature maps). A shape error (typically a channel mismatch
    from a wrong ``from`` or a wrong width) is re-raised as a ``ConfigError`` naming the layer; a conv or linear that
    would take the run beyond ``max_dry_run_macs`` multiply-accumulates is refused before it computes anything.
    """
    y: list[torch.Tensor | None] = []
    feats: list[torch.Tensor] = []
    spent = [0]
    for m in layers:
        if m.f != -1:
            x = y[m.f] if isinstance(m.f, int) else [x if j == -1 else y[j] for j in m.f]
        if m is layers[-1]:
            feats = list(x) if isinstance(x, list) else [x]
        try:
            with _bounded_compute(m, spent):
                out = m(x)
        except (LimitError, MemoryError):
            raise
        except Exception as e:  # RuntimeError for a channel mismatch; IndexError, TypeError... for other bad args
            shapes = [tuple(t.shape) for t in x] if isinstance(x, list) else tuple(x.shape)
            raise ConfigError(
                f"layer {m.i} ({m.type}): forward failed on input of shape {shapes}: {type(e).__name__}: "
                f"{_first_line(e)}; check this row's 'from' and args"
            ) from None
        # Mid-model layers return a tensor, or a list / tuple of tensors when they declare a list of output channels
        # (CBLinear, read by CBFuse); anything else (an LSTM's (output, state)) would break the layers after it.
        row = getattr(m, "yaml_row", None)
        several = isinstance(getattr(row, "c_out", None), list) and isinstance(out, (list, tuple))
        several = several and all(isinstance(t, torch.Tensor) for t in out)
        if m is not layers[-1] and not isinstance(out, torch.Tensor) and not several:
            raise ConfigError(
                f"layer {m.i} ({m.type}): returns a {type(out).__name__}, not a tensor; only the last layer (the head) "
                "may return anything else"
            )
        if isinstance(out, torch.Tensor):
            check_limit("max_activation", out.numel(), f"layer {m.i} ({m.type})", "elements in the dry run's output")
        x = out
        y.append(x if m.i in save else None)
    return feats


def _check_torch_args(i: int, name: str, cls: type, args: list[Any]) -> None:
    """Refuse YAML args a ``torch.nn`` layer would accept silently or fail on later (``nn.ReLU('yes')``): too many,
    or of the wrong type where its signature annotates ``bool``, ``int`` or ``float``."""
    try:
        sig = inspect.signature(cls)
        bound = sig.bind(*args)
    except TypeError as e:
        raise ConfigError(f"layer {i} ({name}): args {args} do not fit {name}{_safe_sig(cls)}: {e}") from None
    except ValueError:  # no introspectable signature: the constructor reports bad args itself
        return
    for key, value in bound.arguments.items():
        ann = sig.parameters[key].annotation
        ann = {"bool": bool, "int": int, "float": float}.get(ann, ann) if isinstance(ann, str) else ann
        if ann is bool and not isinstance(value, bool):
            ok = False
        elif ann is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif ann is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            continue
        if not ok:
            raise ConfigError(
                f"layer {i} ({name}): argument '{key}' must be {ann.__name__}, got {value!r}; signature "
                f"{name}{_safe_sig(cls)}"
            )


def _safe_sig(cls: type) -> str:
    try:
        return str(inspect.signature(cls))
    except (TypeError, ValueError):
        return "(...)"


def check_budget(d: dict[str, Any], ch: int = 3) -> int:
    """Build the layers of ``d`` on PyTorch's ``meta`` device (shapes only, no memory) and refuse the config beyond
    ``max_params`` parameters; returns the count (-1 when the build fails: the real build then names the layer)."""
    with torch.device("meta"):
        try:
            layers, _ = parse_model(dict(d), ch=ch)
        except (LimitError, MemoryError):
            raise
        except Exception:
            return -1
    n_params = sum(p.numel() for p in layers.parameters())
    check_limit("max_params", n_params, "model", "parameter count")
    return n_params


def build_block(
    name: str,
    c_in: int | list[int],
    args: list[Any],
    n: int = 1,
    nc: int = 80,
    anchors: Any = None,
    dialect: str = DEFAULT_DIALECT,
) -> tuple[nn.Module, int | list[int]]:
    """Build one registered block exactly as a YAML row ``[-1, n, name, args]`` of a ``dialect`` YAML would, and
    return it with its output channel count (the registry's channel rule applied at width 1.0)."""
    spec = resolve_module(0, name, dialect)
    names = {"nc": nc, "anchors": anchors}
    args = [resolve_arg(0, a, names) for a in args]
    f: int | list[int] = list(range(len(c_in))) if isinstance(c_in, list) else 0
    channels = list(c_in) if isinstance(c_in, list) else [c_in]
    module, c_out, _ = _build_layer(0, spec, f, n, args, channels, 1.0, float("inf"), {})
    return module, c_out
