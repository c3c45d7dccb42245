"""The block registry: YAML names mapped to modules together with their channel rule.

A block declares here, where it is registered, how the builder must call it: whether it receives its input
channels, how its output channels follow from its YAML args, which args scale with ``width_multiple`` and what the
repeat count ``n`` means for it. The builder (``yolo_ghost.builder``) reads these declarations in one generic loop
and never names a block, so a block defined anywhere (in this package or in user code) becomes usable in a YAML by
registering it.
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

    def __post_init__(self) -> None:
        if self.inputs not in ("single", "list", "none"):
            raise ValueError(f"block {self.name!r}: inputs must be 'single', 'list' or 'none', got {self.inputs!r}")
        if not callable(self.out) and self.out not in ("arg0", "same", "sum"):
            raise ValueError(f"block {self.name!r}: out must be 'arg0', 'same', 'sum' or a function, got {self.out!r}")
        if self.repeat not in ("stack", "arg", "none"):
            raise ValueError(f"block {self.name!r}: repeat must be 'stack', 'arg' or 'none', got {self.repeat!r}")
        if self.repeat == "arg" and self.inputs != "single":
            raise ValueError(f"block {self.name!r}: repeat='arg' needs inputs='single' (n goes after c1, c2)")


_REGISTRY: dict[str, BlockSpec] = {}


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

    Raises:
        ValueError: the name is already registered (a second block would silently shadow the first).
    """

    def decorator(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name if isinstance(name, str) else getattr(factory, "__name__", None)
        if not key:
            raise ValueError("register_block needs a name for a factory without __name__")
        if key in _REGISTRY:
            prev = _REGISTRY[key].factory
            raise ValueError(
                f"block name {key!r} is already registered (by {prev.__module__}.{prev.__qualname__}); "
                "choose another name or unregister_block() the old one first"
            )
        wa = tuple(width_args) if width_args is not None else ((0,) if out == "arg0" else ())
        _REGISTRY[key] = BlockSpec(
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
        )
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
    """Remove a registered block (mainly for tests and for users replacing a block deliberately)."""
    _REGISTRY.pop(name, None)


def list_blocks(pattern: str | None = None) -> list[str]:
    """Return the registered YAML names, sorted, optionally filtered by a case-insensitive substring."""
    names = sorted(_REGISTRY)
    return [n for n in names if pattern.lower() in n.lower()] if pattern else names


def get_block(name: str) -> BlockSpec:
    """Return the spec registered under ``name``.

    Raises:
        KeyError: unknown name; the message lists close matches.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(unknown_block_message(name)) from None


def unknown_block_message(name: str) -> str:
    """An error text for an unknown block name that suggests the registered names closest to it."""
    close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return (
        f"unknown block {name!r}{hint} (registered blocks: yolo_ghost.list_blocks(); torch layers are written "
        f"'nn.Name'; register your own with @yolo_ghost.register_block)"
    )


def is_registered(name: str) -> bool:
    """Whether ``name`` is a registered YAML block name."""
    return name in _REGISTRY
