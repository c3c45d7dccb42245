"""The block registry: YAML names mapped to modules together with their channel rule.

A block declares here, where it is registered, how the builder must call it: whether it receives its input
channels, how its output channels follow from its YAML args, which args scale with ``width_multiple`` and what the
repeat count ``n`` means for it. The builder (``yolo_ghost.nn.builder``) reads these declarations in one generic loop
and never names a block, so a block defined anywhere (in this package or in user code) becomes usable in a YAML by
registering it.

One YAML name can mean two blocks: ``Bottleneck`` is 1x1 -> 3x3 in the YOLOv5 repository and 3x3 -> 3x3 in the
ultralytics package. Such a name is registered once per dialect (``dialect="yolov5"`` / ``"ultralytics"``); the
builder asks for the dialect of the YAML it reads (``yolo_ghost.nn.builder.yaml_dialect``) and gets that block.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch.nn as nn

Inputs = Literal["single", "list", "none"]
OutRule = Literal["arg0", "same", "sum"] | Callable[[Any, list[Any]], int]
Repeat = Literal["stack", "arg", "none"]
Dialect = Literal["yolov5", "ultralytics"]

# The YAML dialects the builder reads; a name registered without a dialect means the same block in both.
DIALECTS: tuple[str, ...] = ("yolov5", "ultralytics")
DEFAULT_DIALECT = "yolov5"


@dataclass(frozen=True)
class BlockSpec:
    """How one registered block is called from a YAML row ``[from, n, name, args]``.

    Attributes:
        name: the YAML name.
        factory: the class (or function) that builds the module.
        inputs: ``"single"``: the input channel count ``c1`` is passed first, before the YAML args;
            ``"list"``: the list of input channel counts (one per ``from`` entry) is passed as keyword ``ch``
            (detection heads); ``"none"``: no channel count is passed (pooling, upsampling, concat).
        out: output channels: ``"arg0"`` the first YAML arg after width scaling (conv-like blocks),
            ``"same"`` equal to the input channels, ``"sum"`` the sum of the input channels (concat),
            or a function ``(c_in, call_args) -> c_out``.
        width_args: indices of YAML args that are channel counts and scale with ``width_multiple``.
        repeat: ``"stack"``: the block is repeated ``n`` times in sequence (the first instance takes ``c1``, the
            others take the block's own output); ``"arg"``: the scaled ``n`` is passed as the argument right after
            the channel arguments (CSP blocks that repeat inside); ``"none"``: ``n`` must be 1.
        yaml_keys: top-level YAML keys passed as keyword arguments when present (e.g. ``reg_max`` for heads).
        signature: the YAML args as users write them, for error messages and the README.
        paper: where the block comes from.
        task: for a model's last block, the task of the model it ends (``"detect"`` or ``"classify"``).
        examples: ``(c_in, yaml_args, stride)`` triples the registry-wide tests build the block with (through the
            builder's channel rule) and check: output channels, spatial size divided by ``stride``, backward, fusion.
        dialect: ``None`` when the name means this block in every YAML dialect; ``"yolov5"`` or ``"ultralytics"``
            when the name means another block in the other dialect.
        scale_args: ``(scale, call_args) -> call_args``: how the call args (``c1, c2, n, ...`` as the factory gets
            them) change with the model scale letter (YOLO11's C3k2 turns on its C3k inner blocks at m/l/x).
        sets: ``(key, value)`` settings this block implies for the layers after it, read by later blocks through
            ``yaml_keys`` like top-level YAML keys (YOLO11's blocks give the ``Detect`` after them its light
            depthwise class branch: ``("legacy", False)``).
    """

    name: str
    factory: Callable[..., nn.Module]
    inputs: Inputs = "single"
    out: OutRule = "arg0"
    width_args: tuple[int, ...] = (0,)
    repeat: Repeat = "stack"
    yaml_keys: tuple[str, ...] = ()
    signature: str = ""
    paper: str = ""
    task: str = "detect"
    examples: tuple[tuple[Any, list[Any], int], ...] = ()
    dialect: str | None = None
    scale_args: Callable[[str, list[Any]], list[Any]] | None = None
    sets: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.inputs not in ("single", "list", "none"):
            raise ValueError(f"block {self.name!r}: inputs must be 'single', 'list' or 'none', got {self.inputs!r}")
        if not callable(self.out) and self.out not in ("arg0", "same", "sum"):
            raise ValueError(f"block {self.name!r}: out must be 'arg0', 'same', 'sum' or a function, got {self.out!r}")
        if self.repeat not in ("stack", "arg", "none"):
            raise ValueError(f"block {self.name!r}: repeat must be 'stack', 'arg' or 'none', got {self.repeat!r}")
        if self.repeat == "arg" and self.inputs != "single":
            raise ValueError(f"block {self.name!r}: repeat='arg' needs inputs='single' (n goes after c1, c2)")
        if self.dialect is not None and self.dialect not in DIALECTS:
            raise ValueError(f"block {self.name!r}: dialect must be None or one of {DIALECTS}, got {self.dialect!r}")

    @property
    def label(self) -> str:
        """The YAML name, with the dialect when the name means another block in the other dialect."""
        return f"{self.name} ({self.dialect})" if self.dialect else self.name


# name -> {dialect or None: spec}; None holds a block that means the same in every dialect.
_REGISTRY: dict[str, dict[str | None, BlockSpec]] = {}


def register_block(
    name: str | Callable[..., nn.Module] | None = None,
    *,
    inputs: Inputs = "single",
    out: OutRule = "arg0",
    width_args: Sequence[int] | None = None,
    repeat: Repeat = "stack",
    yaml_keys: Sequence[str] = (),
    signature: str = "",
    paper: str = "",
    task: str = "detect",
    examples: Sequence[tuple[Any, list[Any], int]] = (),
    dialect: str | None = None,
    scale_args: Callable[[str, list[Any]], list[Any]] | None = None,
    sets: Sequence[tuple[str, Any]] = (),
) -> Any:
    """Register a block under a YAML name, with the rule that tells the builder how to call it.

    Used as a decorator, with or without arguments::

        @register_block                       # conv-like: Block(c1, c2, *args), c2 = first YAML arg x width
        class Block(nn.Module): ...

        @register_block("SE", out="same", width_args=())   # attention: SE(c1, *args), output = input width
        class SqueezeExcite(nn.Module): ...

    Args:
        name: the YAML name (defaults to the class name).
        inputs, out, width_args, repeat, yaml_keys: the channel rule, see ``BlockSpec``. ``width_args`` defaults
            to ``(0,)`` when ``out == "arg0"`` and to ``()`` otherwise.
        signature: the YAML args as users write them (``"[c2, k=1, s=1]"``), shown in errors and docs.
        paper: the reference the block implements.
        task: for a final block, the kind of model it ends (``"detect"`` or ``"classify"``).
        examples: ``(c_in, yaml_args, stride)`` triples for the registry-wide tests; conv-like blocks default to
            ``(16, [32], 1)``, blocks that keep their width to ``(16, [], 1)``. Give one per supported stride.
        dialect, scale_args, sets: see ``BlockSpec``. Register a name once per dialect when the YOLOv5 repository
            and the ultralytics package mean different blocks by it.

    Raises:
        ValueError: the name is already registered for that dialect (or for all of them): a second block would
            silently shadow the first.
    """

    def decorator(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name if isinstance(name, str) else getattr(factory, "__name__", None)
        if not key:
            raise ValueError("register_block needs a name for a factory without __name__")
        entry = _REGISTRY.get(key, {})
        clash = entry.get(dialect) or entry.get(None) or (next(iter(entry.values())) if entry and not dialect else None)
        if clash is not None:
            prev = clash.factory
            where = f" for the {dialect} dialect" if dialect else ""
            raise ValueError(
                f"block name {key!r} is already registered{where} (by {prev.__module__}.{prev.__qualname__}); "
                "choose another name or unregister_block() the old one first"
            )
        wa = tuple(width_args) if width_args is not None else ((0,) if out == "arg0" else ())
        spec = BlockSpec(
            name=key,
            factory=factory,
            inputs=inputs,
            out=out,
            width_args=wa,
            repeat=repeat,
            yaml_keys=tuple(yaml_keys),
            signature=signature,
            paper=paper or _first_line(getattr(factory, "__doc__", "")),
            task=task,
            examples=tuple(examples) or _default_examples(inputs, out),
            dialect=dialect,
            scale_args=scale_args,
            sets=tuple(sets),
        )
        _REGISTRY.setdefault(key, {})[dialect] = spec
        return factory

    if callable(name) and not isinstance(name, str):  # bare @register_block
        factory, name = name, None
        return decorator(factory)
    return decorator


def _default_examples(inputs: str, out: Any) -> tuple[tuple[Any, list[Any], int], ...]:
    if inputs == "single" and out == "arg0":
        return ((16, [32], 1),)
    if inputs in ("single", "none") and out == "same":
        return ((16, [], 1),)
    return ()


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if doc and doc.strip() else ""


def unregister_block(name: str) -> None:
    """Remove a registered block, in every dialect (mainly for tests and for users replacing a block deliberately)."""
    _REGISTRY.pop(name, None)


def list_blocks(pattern: str | None = None) -> list[str]:
    """Return the registered YAML names, sorted, optionally filtered by a case-insensitive substring."""
    names = sorted(_REGISTRY)
    return [n for n in names if pattern.lower() in n.lower()] if pattern else names


def list_specs(pattern: str | None = None) -> list[BlockSpec]:
    """Every registered spec, one per name and dialect, sorted by name (then dialect)."""
    return [spec for name in list_blocks(pattern) for _, spec in sorted(_REGISTRY[name].items(), key=_dialect_order)]


def _dialect_order(item: tuple[str | None, BlockSpec]) -> int:
    return -1 if item[0] is None else DIALECTS.index(item[0])


def get_block(name: str, dialect: str = DEFAULT_DIALECT) -> BlockSpec:
    """Return the spec registered under ``name`` for a YAML of ``dialect`` (``"yolov5"`` or ``"ultralytics"``).

    Raises:
        KeyError: unknown name (the message lists close matches), or a name defined only in another dialect.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {DIALECTS}, got {dialect!r}")
    entry = _REGISTRY.get(name)
    if not entry:
        raise KeyError(unknown_block_message(name))
    spec = entry.get(dialect) or entry.get(None)
    if spec is None:
        raise KeyError(f"block {name!r} is registered only for the {' and '.join(map(str, entry))} dialect")
    return spec


def unknown_block_message(name: str) -> str:
    """An error text for an unknown block name: the ultralytics class it would come from, or the closest names."""
    source = ultralytics_source(name)
    if source:
        return (
            f"unknown block {name!r}: it is {source} in the ultralytics package, which yolo-ghost does not register "
            f"yet; register it with yolo_ghost.register_block({name!r}, ...)({name}) declaring its channel rule "
            "(see BlockSpec), or open an issue"
        )
    close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return (
        f"unknown block {name!r}{hint} (registered blocks: yolo_ghost.list_blocks(); torch layers are written "
        f"'nn.Name'; register your own with @yolo_ghost.register_block)"
    )


def ultralytics_source(name: str) -> str | None:
    """The import path of the ultralytics module class a YAML name refers to (``ultralytics.nn.modules.block.C2fAttn``),
    or ``None`` when ultralytics has no such module."""
    import ultralytics.nn.modules as modules

    cls = getattr(modules, name, None) if name.isidentifier() else None
    if isinstance(cls, type) and issubclass(cls, nn.Module):
        return f"{cls.__module__}.{cls.__qualname__}"
    return None


def is_registered(name: str) -> bool:
    """Whether ``name`` is a registered YAML block name."""
    return name in _REGISTRY
