"""Loading ``.pt`` checkpoints without running code from them.

A ``.pt`` file is a pickle, and unpickling with ``torch.load(weights_only=False)`` (ultralytics' default) runs
whatever the file asks for. Importing yolo-ghost routes every checkpoint load of the ultralytics engine
(``YOLO("best.pt")``, its trainer, validator and predictor) and of yolo-ghost itself through ``torch.load`` with
``weights_only=True``: torch then rebuilds tensors and plain containers only, plus the types on an explicit
allow-list:

* ``nn.Module`` classes of ``yolo_ghost``, ``torch.nn.modules`` and ``ultralytics.nn`` (the layers of a model),
  and the data classes of ``DATA_TYPES`` (``LayerInfo``, the builder's record of a YAML row);
* what the ultralytics restricted loader accepts in official ultralytics checkpoints (its ``ULTRALYTICS_SAFE_LOAD``
  mode, which the load is delegated to: numpy scalars, ``IterableSimpleNamespace``, paths, its loss classes).

A file that needs any other type is refused with one line naming it. Trusting the file (``trust=True``,
``--trust-checkpoint``) is the only way to load it anyway, and that runs code from the file.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import io
import pickle
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import torch
import torch.nn as nn

from yolo_ghost.cfg import ConfigError
from yolo_ghost.cfg.errors import one_line

# Packages whose nn.Module subclasses a checkpoint may rebuild (the layers of yolo-ghost and ultralytics models).
MODULE_PACKAGES = ("yolo_ghost", "torch.nn.modules", "ultralytics.nn")
# Non-module yolo-ghost types our checkpoints hold, as "module.Name" (every module class is allowed by package).
DATA_TYPES = ("yolo_ghost.nn.builder.LayerInfo", "yolo_ghost.builder.LayerInfo")  # the second: its path until 0.1
# Prefixes the ultralytics restricted loader decides on itself (its own allow-list of data types and aliases).
_ULTRALYTICS_DECIDES = ("ultralytics.", "numpy.", "pathlib.", "torchvision.transforms.", "clip.", "builtins.getattr")
TRUST_HINT = "if you trust whoever made it, load it with --trust-checkpoint (trust=True), which runs code from the file"

_TRUSTED: contextvars.ContextVar[bool] = contextvars.ContextVar("yolo_ghost_trusted_checkpoint", default=False)
_original_torch_safe_load: Callable[..., tuple[dict[str, Any], str]] | None = None


class UnsafeCheckpointError(ConfigError):
    """A checkpoint that needs a type outside the allow-list (loading it would run code chosen by the file)."""


@contextlib.contextmanager
def trusted(enabled: bool = True) -> Iterator[None]:
    """Within this block, checkpoints load with ``weights_only=False`` (runs code from the file) when ``enabled``."""
    token = _TRUSTED.set(enabled or _TRUSTED.get())
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def allowed_type(name: str) -> type | None:
    """The yolo-ghost / torch / ultralytics type a checkpoint global ``module.Name`` stands for, if it is allowed.

    Returns ``None`` for anything else. Only modules inside ``MODULE_PACKAGES`` are imported to look a name up (as
    the unpickler itself would import them), never a module named by the file outside them.
    """
    module, _, attr = name.rpartition(".")
    if not module or not re.fullmatch(r"[A-Za-z_][\w.]*", module) or not attr.isidentifier():
        return None
    if not any(module == p or module.startswith(p + ".") for p in MODULE_PACKAGES):
        return None
    try:
        obj = getattr(importlib.import_module(module), attr, None)
    except ImportError:
        return None
    if isinstance(obj, type) and (issubclass(obj, nn.Module) or name in DATA_TYPES):
        return obj
    return None


def checkpoint_globals(path: Path) -> list[str]:
    """Every type or function the pickle inside ``path`` names, less those torch allows by default, read statically
    (nothing is unpickled): the ``data.pkl`` of a ``torch.save`` zip archive, else the leading pickles of the file."""
    import zipfile

    names: set[str] = set()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for member in z.namelist():
                if member.endswith("/data.pkl") or member == "data.pkl":
                    names |= _pickle_globals(io.BytesIO(z.read(member)), max_pickles=1)
    else:
        with open(path, "rb") as f:
            names = _pickle_globals(f, max_pickles=5)  # the legacy format is several pickles in a row
    try:
        from torch._weights_only_unpickler import _get_allowed_globals

        names -= set(_get_allowed_globals())
    except ImportError:  # a torch without the helper: every name is checked against our rule instead
        pass
    return sorted(names)


def _pickle_globals(f: BinaryIO, max_pickles: int) -> set[str]:
    """``module.name`` of every GLOBAL / STACK_GLOBAL opcode in the first ``max_pickles`` pickles of ``f``."""
    import pickletools

    names: set[str] = set()
    for _ in range(max_pickles):
        strings: list[str] = []
        try:
            for op, arg, _pos in pickletools.genops(f):
                if op.name == "GLOBAL":
                    names.add(_py3_name(*str(arg).split(" ", 1)))
                elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                    names.add(_py3_name(strings[-2], strings[-1]))
                elif isinstance(arg, str) and "UNICODE" in op.name:
                    strings.append(arg)
        except Exception:  # bytes that are not (or no longer) a pickle: nothing more to read
            break
    return names


def _py3_name(module: str, name: str) -> str:
    """The name Python 3 unpickles a protocol-2 GLOBAL as (``__builtin__.set`` is ``builtins.set``)."""
    import _compat_pickle

    module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
    return f"{_compat_pickle.IMPORT_MAPPING.get(module, module)}.{name}"


def _allow(path: Path) -> None:
    """Register the yolo-ghost types ``path`` needs; refuse the file when it needs a type nobody allows."""
    entries = []
    for name in checkpoint_globals(path):
        obj = allowed_type(name)
        if obj is not None:
            entries.append((obj, name))
        elif not name.startswith(_ULTRALYTICS_DECIDES):
            raise _refusal(path, name)
    if entries:
        torch.serialization.add_safe_globals(entries)


def _refusal(path: Path | str, name: str) -> UnsafeCheckpointError:
    return UnsafeCheckpointError(
        f"checkpoint {str(path)!r} needs the type {name!r}, which is not among the types yolo-ghost, torch and "
        f"ultralytics checkpoints contain, so it was not loaded; {TRUST_HINT}"
    )


def _refused_name(e: BaseException) -> str | None:
    """The global torch's restricted unpickler refused, read from an exception chain (ultralytics wraps it)."""
    while e is not None:
        m = re.search(r"GLOBAL ([\w.]+)", str(e))
        if m:
            return m.group(1)
        e = e.__cause__ or e.__context__
    return None


def guarded_torch_safe_load(weight: Any, safe_only: bool | None = None) -> tuple[dict[str, Any], str]:
    """``ultralytics.nn.tasks.torch_safe_load`` with ``weights_only=True`` and the yolo-ghost allow-list, unless the
    caller is inside ``trusted()`` (the ``safe_only`` argument of the original is ignored: never unsafe unasked)."""
    assert _original_torch_safe_load is not None, "install() first"
    if _TRUSTED.get():
        return _original_torch_safe_load(weight, safe_only=False)
    if not hasattr(torch.serialization, "get_unsafe_globals_in_checkpoint"):
        raise UnsafeCheckpointError(f"checkpoint {str(weight)!r}: safe loading needs torch>=2.6; {TRUST_HINT}")
    path = Path(str(weight))
    if path.is_file():
        _allow(path)
    try:
        return _original_torch_safe_load(weight, safe_only=True)
    except (TypeError, pickle.UnpicklingError) as e:
        name = _refused_name(e)
        if name:
            raise _refusal(weight, name) from None
        raise


def install() -> None:
    """Route the ultralytics engine's checkpoint loads through ``guarded_torch_safe_load`` (idempotent).

    ``load_checkpoint`` in ``ultralytics.nn.tasks`` (used by ``YOLO(...)``, the trainer's ``--resume`` and
    ``--weights``, the validator and the predictor) looks ``torch_safe_load`` up in its module at call time, so
    replacing that one name covers them all.
    """
    global _original_torch_safe_load
    import ultralytics.nn.tasks as tasks

    if tasks.torch_safe_load is not guarded_torch_safe_load:
        _original_torch_safe_load = tasks.torch_safe_load
        tasks.torch_safe_load = guarded_torch_safe_load


def read_checkpoint(path: str | Path, trust: bool = False) -> dict[str, Any]:
    """The dict inside a ``.pt`` checkpoint, loaded as ``install`` describes (``trust=True`` runs code from it).

    Raises:
        ConfigError: the file is missing, unreadable or not a checkpoint dict; ``UnsafeCheckpointError`` when it
        needs a type outside the allow-list.
    """
    install()
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"weights {str(path)!r} not found; give a checkpoint such as runs/train/exp/weights/best.pt")
    with trusted(trust):
        try:
            ckpt, _ = guarded_torch_safe_load(p)
        except UnsafeCheckpointError:
            raise
        except Exception as e:  # torch / ultralytics raise TypeError, RuntimeError, OverflowError... on bad bytes
            raise ConfigError(
                f"weights {str(path)!r}: not a readable checkpoint ({one_line(e, typed=True, limit=300)})"
            ) from None
    if not isinstance(ckpt, dict):
        raise ConfigError(f"weights {str(path)!r}: not a checkpoint (holds a {type(ckpt).__name__}, not a dict)")
    return ckpt


def checkpoint_imgsz(weights: Path, trust: bool = False) -> int | None:
    """The image size a ``.pt`` checkpoint was trained at (``train_args.imgsz``), if it records one.

    The file is read safely (``yolo_ghost.models.checkpoint.read_checkpoint``; ``trust=True`` runs code from it) and must
    hold a model, so a bad file is refused here with one line rather than deep inside the validator.

    Raises:
        ConfigError: a ``.pt`` file that is unreadable, needs a type outside the allow-list or holds no model.
    """
    if weights.suffix != ".pt":  # an exported model: the ultralytics backend reads its metadata
        return None
    ckpt = read_checkpoint(weights, trust=trust)
    if not isinstance(ckpt.get("ema") or ckpt.get("model"), torch.nn.Module):
        raise ConfigError(
            f"weights {str(weights)!r}: holds no model (a checkpoint keeps it under 'ema' or 'model'; keys: "
            f"{sorted(map(str, ckpt))[:8]})"
        )
    imgsz = (ckpt.get("train_args") or {}).get("imgsz")
    return int(imgsz) if isinstance(imgsz, (int, float)) else None
