"""Per-layer FLOPs, parameters and memory traffic of a model, and side-by-side comparisons.

Convention (printed with every table): FLOPs = 2 x multiply-accumulates of every convolution, linear layer and
matrix multiply (a bias add counts as one MAC per output, as in thop and YOLOv5's tables), counted exactly from the ATen ops the forward pass runs (so a Focus stem's slicing, a channel
shuffle's reshapes or an attention block's matmuls can never be silently lost), at batch 1, in eval mode, with
BatchNorm folded into the convolutions unless ``fuse=False``. Element-wise ops (activations, additions, pooling)
add no FLOPs, as in YOLOv5's and the papers' tables. Memory traffic is the bytes every non-view op reads and
writes: its input activations, its weights and its output, the quantity the ShuffleNet V2 guidelines say FLOPs
miss.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import flop_registry

CONVENTION = (
    "FLOPs = 2 x MACs of every conv / linear / matmul, bias adds included (exact, from the ATen ops run), batch 1; "
    "memory = bytes read + written by every non-view op (activations and weights)"
)


@dataclass
class LayerProfile:
    """One YAML row's cost."""

    index: int
    from_: Any
    n: int
    params: int
    gflops: float
    mem_mb: float
    out_shape: list[Any]
    type: str
    args: list[Any]
    part: str


@dataclass
class ModelProfile:
    """A model's cost at one input size, per layer and in total."""

    cfg: str
    imgsz: int
    fused: bool
    params: int
    gflops: float
    mem_mb: float
    backbone: dict[str, float]
    head: dict[str, float]
    layers: list[LayerProfile] = field(default_factory=list)
    convention: str = CONVENTION

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``from_`` becomes ``from``)."""
        d = asdict(self)
        for layer in d["layers"]:
            layer["from"] = layer.pop("from_")
        return d


class _OpCounter(TorchDispatchMode):
    """Counts FLOPs and bytes of every ATen op, attributed to the layer that is running."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = -1
        self.flops: dict[int, int] = {}
        self.bytes: dict[int, int] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func._overloadpacket
        if packet in flop_registry:
            flops = int(flop_registry[packet](*args, **kwargs, out_val=out))
            if packet in _BIASED and _has_bias(packet, args):
                flops += 2 * out.numel()  # the bias add, one MAC per output as thop and YOLOv5 count it
            self.flops[self.layer] = self.flops.get(self.layer, 0) + flops
        if not func.is_view and packet not in _FREE_OPS:
            tensors = [t for t in tree_flatten((args, kwargs, out))[0] if isinstance(t, torch.Tensor)]
            seen, total = set(), 0
            for t in tensors:
                key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape))
                if key not in seen:
                    seen.add(key)
                    total += t.numel() * t.element_size()
            self.bytes[self.layer] = self.bytes.get(self.layer, 0) + total
        return out


_BIASED = {torch.ops.aten.convolution, torch.ops.aten._convolution, torch.ops.aten.addmm}


def _has_bias(packet: Any, args: tuple) -> bool:
    if packet is torch.ops.aten.addmm:
        return True  # addmm(bias, x, w)
    return len(args) > 2 and isinstance(args[2], torch.Tensor)


# Ops that move no data: metadata, allocation-free reshapes, shape queries.
_FREE_OPS = {
    torch.ops.aten.detach,
    torch.ops.aten.alias,
    torch.ops.aten.lift_fresh,
    torch.ops.aten.sym_size,
    torch.ops.aten.sym_stride,
    torch.ops.aten.sym_numel,
    torch.ops.aten.size,
    torch.ops.aten.stride,
    torch.ops.aten.is_contiguous,
}


def _as_model(model_or_cfg: nn.Module | str | Path | dict, nc: int | None) -> tuple[nn.Module, str]:
    if isinstance(model_or_cfg, nn.Module):
        yaml = getattr(model_or_cfg, "yaml", None) or {}
        return model_or_cfg, str(yaml.get("yaml_file", type(model_or_cfg).__name__))
    from yolo_ghost.models.yolo import build_model

    model = build_model(model_or_cfg, nc=nc)
    name = model_or_cfg if isinstance(model_or_cfg, (str, Path)) else model.yaml.get("yaml_file", "model")
    return model, Path(str(name)).name


@torch.no_grad()
def profile_model(
    model_or_cfg: nn.Module | str | Path | dict,
    imgsz: int = 640,
    fuse: bool = True,
    nc: int | None = None,
    ch: int = 3,
) -> ModelProfile:
    """Profile a yolo-ghost model (or build one from a config) at ``imgsz`` x ``imgsz``, batch 1.

    The model is copied before fusing, so the caller's model is left as it was.
    """
    import copy

    model, name = _as_model(model_or_cfg, nc)
    if isinstance(model_or_cfg, nn.Module):
        model = copy.deepcopy(model)
    model.eval()
    if fuse and hasattr(model, "fuse"):
        model.fuse()
    layers = list(model.model) if hasattr(model, "model") else [model]
    n_backbone = len(model.yaml.get("backbone", [])) if hasattr(model, "yaml") else len(layers)
    counter = _OpCounter()
    shapes: dict[int, list[Any]] = {}
    handles = []
    for idx, m in enumerate(layers):
        i = getattr(m, "i", idx)
        handles.append(m.register_forward_pre_hook(lambda _m, _x, i=i: setattr(counter, "layer", i)))
        handles.append(m.register_forward_hook(lambda _m, _x, y, i=i: shapes.__setitem__(i, _shape(y))))
    x = torch.zeros(1, ch, imgsz, imgsz, device=next(model.parameters()).device)
    try:
        with counter:
            model(x)
    finally:
        for h in handles:
            h.remove()

    rows = []
    for idx, m in enumerate(layers):
        i = getattr(m, "i", idx)
        row = getattr(m, "yaml_row", None)
        rows.append(
            LayerProfile(
                index=i,
                from_=getattr(m, "f", -1),
                n=row.n if row else 1,
                params=sum(p.numel() for p in m.parameters()),
                gflops=counter.flops.get(i, 0) / 1e9,
                mem_mb=counter.bytes.get(i, 0) / 1e6,
                out_shape=shapes.get(i, []),
                type=getattr(m, "type", type(m).__name__),
                args=_jsonable(row.args if row else []),
                part="backbone" if i < n_backbone else "head",
            )
        )
    total_flops = sum(counter.flops.values()) / 1e9
    total_mem = sum(counter.bytes.values()) / 1e6

    def part(p: str) -> dict[str, float]:
        sel = [r for r in rows if r.part == p]
        return {
            "params": sum(r.params for r in sel),
            "gflops": sum(r.gflops for r in sel),
            "mem_mb": sum(r.mem_mb for r in sel),
        }

    return ModelProfile(
        cfg=name,
        imgsz=imgsz,
        fused=fuse,
        params=sum(p.numel() for p in model.parameters()),
        gflops=total_flops,
        mem_mb=total_mem,
        backbone=part("backbone"),
        head=part("head"),
        layers=rows,
    )


def _shape(y: Any) -> list[Any]:
    if isinstance(y, torch.Tensor):
        return list(y.shape)
    if isinstance(y, (list, tuple)):
        return [_shape(t) for t in y if isinstance(t, (torch.Tensor, list, tuple))][:4]
    return []


def _jsonable(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    return str(v)


def _fmt_shape(s: list[Any]) -> str:
    if s and isinstance(s[0], list):
        return "[" + ", ".join(_fmt_shape(x) for x in s) + "]"
    return "x".join(str(d) for d in s)


def format_layers(p: ModelProfile) -> str:
    """The per-layer table of one model, with backbone/head/total lines and the counting convention."""
    lines = [
        f"{p.cfg} at {p.imgsz}x{p.imgsz}, batch 1, BN {'fused' if p.fused else 'not fused'}",
        f"{'idx':>4} {'from':>12} {'n':>3} {'params':>11} {'GFLOPs':>8} {'mem MB':>8}  {'output':<22} {'block':<18} args",
    ]
    for r in p.layers:
        lines.append(
            f"{r.index:>4} {r.from_!s:>12} {r.n:>3} {r.params:>11,} {r.gflops:>8.3f} {r.mem_mb:>8.2f}  "
            f"{_fmt_shape(r.out_shape):<22} {r.type:<18} {r.args}"
        )
    for label, d in (("backbone", p.backbone), ("head", p.head)):
        lines.append(f"{label:>21} {int(d['params']):>11,} {d['gflops']:>8.3f} {d['mem_mb']:>8.2f}")
    lines.append(f"{'total':>21} {p.params:>11,} {p.gflops:>8.3f} {p.mem_mb:>8.2f}")
    lines.append(f"convention: {CONVENTION}")
    return "\n".join(lines)


def format_comparison(profiles: list[ModelProfile], baseline: ModelProfile | None = None) -> str:
    """A side-by-side table; ratios are to ``baseline`` (default: the last profile, the ``--compare`` config)."""
    base = baseline or profiles[-1]
    lines = [
        f"comparison at {base.imgsz}x{base.imgsz} (ratios to {base.cfg})",
        f"{'config':<28} {'params':>12} {'GFLOPs':>9} {'mem MB':>9} {'params x':>9} {'GFLOPs x':>9} {'mem x':>7}",
    ]
    for p in profiles:
        lines.append(
            f"{p.cfg:<28} {p.params:>12,} {p.gflops:>9.2f} {p.mem_mb:>9.1f} {p.params / base.params:>9.3f} "
            f"{p.gflops / base.gflops:>9.3f} {p.mem_mb / base.mem_mb:>7.3f}"
        )
    return "\n".join(lines)


def format_markdown(profiles: list[ModelProfile], baseline: ModelProfile | None = None) -> str:
    """The side-by-side table as Markdown (for READMEs and reports); ratio columns only with a ``baseline``."""
    size = profiles[0].imgsz
    head = f"| config | params | GFLOPs @{size} | memory traffic MB |"
    rule = "|---|---:|---:|---:|"
    if baseline:
        head += f" params vs `{baseline.cfg}` | GFLOPs vs `{baseline.cfg}` |"
        rule += "---:|---:|"
    lines = [head, rule]
    for p in profiles:
        row = f"| `{p.cfg}` | {p.params:,} | {p.gflops:.1f} | {p.mem_mb:.0f} |"
        if baseline:
            row += f" {p.params / baseline.params:.2f}x | {p.gflops / baseline.gflops:.2f}x |"
        lines.append(row)
    return "\n".join(lines)


def to_json(profiles: list[ModelProfile]) -> str:
    """One JSON object ``{"convention", "models": [...]}`` for ``--json``."""
    return json.dumps({"convention": CONVENTION, "models": [p.to_dict() for p in profiles]}, indent=1)
