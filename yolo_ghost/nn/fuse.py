"""Conv+BatchNorm folding for inference, for every block, found from the graph the model runs.

``fuse_model`` runs the model once (eval mode, no gradients) and records, for every op, which tensors it reads and
writes. A BatchNorm is folded into a convolution when the BatchNorm's input is the output of that convolution and
nothing else reads that output (no other op, not the model's output), and each of the two modules runs once per
forward. Attribute names, definition order and ``nn.Sequential`` play no part, so a block written with any names
and any forward order fuses the same way, ultralytics' modules included.

A block whose BatchNorm sits behind something else (a sum or a concatenation of convs: SPConv, BottleneckCSP)
declares how it fuses with a ``fuse_bn()`` method, which runs first. Any BatchNorm still left after that cannot be
folded exactly; ``fuse_model`` then raises ``FuseError`` naming the layer and block, and changes nothing it has not
already folded. It never replaces a BatchNorm by another op (an extra conv would be counted by the profiler and the
latency as an op the user never wrote).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from ultralytics.utils.torch_utils import fuse_conv_and_bn, fuse_deconv_and_bn

_CONVS = (nn.Conv2d, nn.ConvTranspose2d)
_BATCHNORM = nn.modules.batchnorm._BatchNorm
# Ops that only read a tensor's metadata, never its values.
_METADATA_OPS = {"sym_size", "sym_stride", "sym_numel", "size", "stride", "is_contiguous", "sym_storage_offset"}
_PROBE = 64  # example input size when none is given (at least 2 x 2 at stride 32)


class FuseError(RuntimeError):
    """A BatchNorm that cannot be folded into the conv that feeds it (the message names the layer and block)."""


def fold_bn(conv: nn.Conv2d | nn.ConvTranspose2d, bn: nn.BatchNorm2d) -> nn.Conv2d | nn.ConvTranspose2d:
    """Return a conv with ``bn`` folded into its weight and bias (exact in eval mode)."""
    if isinstance(conv, nn.ConvTranspose2d):
        return fuse_deconv_and_bn(conv, bn)
    return fuse_conv_and_bn(conv, bn)


@dataclass
class _Trace:
    """What one forward pass showed: who produced each tensor, who read it, and which module ran when."""

    conv_out: dict[int, str] = field(default_factory=dict)  # id(tensor) -> conv module name
    bn_in: dict[str, int] = field(default_factory=dict)  # bn module name -> id(its input)
    producer: dict[int, str] = field(default_factory=dict)  # id(tensor) -> the op that wrote it
    readers: dict[int, int] = field(default_factory=dict)  # id(conv output) -> reads outside its BatchNorm
    calls: dict[str, int] = field(default_factory=dict)  # module name -> times it ran
    keep: list[Any] = field(default_factory=list)  # every tensor seen, alive so that ids stay unique
    inside_bn: list[int] = field(default_factory=list)  # id of the input of the BatchNorm now running


class _Recorder(TorchDispatchMode):
    def __init__(self, trace: _Trace) -> None:
        super().__init__()
        self.t = trace

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = func._overloadpacket.__name__
        if name not in _METADATA_OPS:
            bn_input = self.t.inside_bn[-1] if self.t.inside_bn else None  # the running BatchNorm's own read
            for a in tree_flatten((args, kwargs))[0]:
                if isinstance(a, torch.Tensor) and id(a) in self.t.conv_out and id(a) != bn_input:
                    self.t.readers[id(a)] = self.t.readers.get(id(a), 0) + 1
            for o in tree_flatten(out)[0]:
                if isinstance(o, torch.Tensor):
                    self.t.producer[id(o)] = f"aten.{name}"
                    self.t.keep.append(o)
        return out


@contextmanager
def _hooks(model: nn.Module, trace: _Trace) -> Iterator[None]:
    def count(name: str) -> None:
        trace.calls[name] = trace.calls.get(name, 0) + 1

    def conv_hook(name: str):
        def hook(_m: nn.Module, _x: Any, y: Any) -> None:
            count(name)
            if isinstance(y, torch.Tensor):
                trace.conv_out[id(y)] = name
                trace.keep.append(y)

        return hook

    def bn_pre(name: str):
        def hook(_m: nn.Module, x: tuple[Any, ...]) -> None:
            count(name)
            xid = id(x[0]) if x and isinstance(x[0], torch.Tensor) else -1
            trace.bn_in[name] = xid
            trace.inside_bn.append(xid)

        return hook

    def bn_post(_m: nn.Module, _x: Any, _y: Any) -> None:
        trace.inside_bn.pop()

    with ExitStack() as stack:
        for name, m in model.named_modules():
            if isinstance(m, _CONVS):
                stack.callback(m.register_forward_hook(conv_hook(name)).remove)
            elif isinstance(m, _BATCHNORM):
                stack.callback(m.register_forward_pre_hook(bn_pre(name)).remove)
                stack.callback(m.register_forward_hook(bn_post).remove)
        yield


def example_input(model: nn.Module) -> torch.Tensor:
    """A batch-1 input for a yolo-ghost model: its YAML's channels, at twice its largest stride (at least 64)."""
    yaml = getattr(model, "yaml", None)
    if not isinstance(yaml, dict):
        raise TypeError(f"fuse_model: {type(model).__name__} has no yolo-ghost YAML; pass an example input")
    stride = getattr(model, "stride", None)
    s = int(max(stride.tolist())) if isinstance(stride, torch.Tensor) and stride.numel() else 32
    size = max(_PROBE, 2 * s)
    p = next(iter(model.parameters()), None)
    return torch.zeros(
        1,
        int(yaml.get("channels", 3)),
        size,
        size,
        device=p.device if p is not None else None,
        dtype=p.dtype if p is not None else None,
    )


def _trace(model: nn.Module, x: Any) -> _Trace:
    trace = _Trace()
    with _hooks(model, trace), _Recorder(trace):
        y = model(*x) if isinstance(x, tuple) else model(x)
    for o in tree_flatten(y)[0]:  # a conv output the model returns is read by its caller
        if isinstance(o, torch.Tensor) and id(o) in trace.conv_out:
            trace.readers[id(o)] = trace.readers.get(id(o), 0) + 1
    return trace


def _owner(model: nn.Module, name: str) -> str:
    """``layer 7 (GhostBottleneck), model.7.conv.bn`` for a module name inside a YAML-built model, else the path and
    the class of the block holding it."""
    parts = name.split(".")
    layers = getattr(model, "model", None)
    if parts[0] == "model" and len(parts) > 1 and isinstance(layers, nn.Sequential) and parts[1].isdigit():
        layer = layers[int(parts[1])]
        return f"layer {getattr(layer, 'i', parts[1])} ({getattr(layer, 'type', type(layer).__name__)}), {name}"
    parent = model.get_submodule(".".join(parts[:-1])) if len(parts) > 1 else model
    return f"{name} ({type(model.get_submodule(name)).__name__}) in {type(parent).__name__}"


def _why_not(trace: _Trace, name: str) -> str:
    xid = trace.bn_in.get(name)
    if trace.calls.get(name, 0) == 0:
        return "it does not run in the forward pass"
    if trace.calls.get(name, 0) > 1:
        return f"it runs {trace.calls[name]} times per forward"
    conv = trace.conv_out.get(xid) if xid is not None else None
    if conv is None:
        return f"its input comes from {trace.producer.get(xid, 'outside the model')}, not from a conv"
    if trace.calls.get(conv, 0) > 1:
        return f"the conv {conv} that feeds it runs {trace.calls[conv]} times per forward"
    return f"the output of the conv {conv} that feeds it is also read elsewhere"


def _set(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    old = getattr(parent, attr) if not attr.isdigit() else parent[int(attr)]
    for a in ("i", "f", "type", "np", "yaml_row"):  # keep what BaseModel and the profiler read on a YAML layer
        if hasattr(old, a):
            setattr(new, a, getattr(old, a))
    if attr.isdigit() and isinstance(parent, (nn.Sequential, nn.ModuleList)):
        parent[int(attr)] = new
    else:
        setattr(parent, attr, new)


def _drop_bn(model: nn.Module, name: str) -> None:
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    if attr == "bn" and callable(getattr(parent, "forward_fuse", None)) and hasattr(parent, "conv"):
        delattr(parent, "bn")  # ultralytics Conv: its fused forward skips the BatchNorm, and ultralytics checks this
        parent.forward = parent.forward_fuse
    else:
        _set(model, name, nn.Identity())


@torch.no_grad()
def fuse_model(model: nn.Module, example: Any = None) -> nn.Module:
    """Fold every BatchNorm of ``model`` into the convolution that feeds it, in place, and return the model.

    Blocks with a ``fuse_bn()`` method fuse themselves first; every other BatchNorm is matched to its conv from one
    forward pass on ``example`` (default: ``example_input(model)``), as the module docstring describes.

    Raises:
        FuseError: a BatchNorm cannot be folded exactly (its input is not the sole output of a conv); the message
            names the layer, the block and why. It is raised before anything is folded (blocks' own ``fuse_bn()``
            aside), and no BatchNorm is ever replaced by another op.
    """
    was_training = model.training
    model.eval()
    try:
        for m in list(model.modules()):
            if callable(getattr(m, "fuse_bn", None)):
                m.fuse_bn()
        bns = [n for n, m in model.named_modules() if isinstance(m, _BATCHNORM)]
        if not bns:
            return model
        trace = _trace(model, example if example is not None else example_input(model))
        pairs, stuck = [], []
        for name in bns:
            xid = trace.bn_in.get(name)
            conv = trace.conv_out.get(xid) if xid is not None else None
            if conv is None or trace.calls.get(name) != 1 or trace.calls.get(conv) != 1 or trace.readers.get(xid):
                stuck.append(name)
            else:
                pairs.append((conv, name))
        if stuck:
            reasons = "; ".join(f"{_owner(model, n)}: {_why_not(trace, n)}" for n in stuck[:3])
            raise FuseError(
                f"fuse: {len(stuck)} BatchNorm layer(s) cannot be folded into a conv ({reasons}); a BatchNorm folds "
                "when its input is the output of a conv that nothing else reads; give the block a fuse_bn() method "
                "for anything else"
            )
        for conv, name in pairs:
            _set(model, conv, fold_bn(model.get_submodule(conv), model.get_submodule(name)))
            _drop_bn(model, name)
        return model
    finally:
        model.train(was_training)


def count_batchnorms(model: nn.Module) -> int:
    """Number of BatchNorm layers in ``model`` (zero after ``fuse_model``)."""
    return sum(isinstance(m, _BATCHNORM) for m in model.modules())
