"""Dataset checks that never download, unpack or run anything, for every ultralytics call yolo-ghost makes.

The ultralytics trainer, validator and exporter check a dataset with ``check_det_dataset(data)`` (and
``check_cls_dataset``), whose defaults fetch what is missing: a dataset YAML's ``download:`` value is run as Python
(or a shell command, or a URL fetched) when a split is missing, an archive given as ``data`` is unpacked into
ultralytics' global datasets folder, and a classification folder without ``train/`` is split into a new folder beside
it. yolo-ghost promises that nothing is fetched and no dataset code runs, so ``install`` replaces both checks, in
every ultralytics module that imported them, with versions that refuse URLs and archives and never download. A
YAML with a ``download:`` key is still used when its splits exist.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

_ORIGINAL: dict[str, Callable[..., Any]] = {}
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".xz", ".bz2", ".txz", ".tbz2")


def _refuse_remote_or_archive(dataset: Any) -> None:
    s = str(dataset)
    if "://" in s:
        raise FileNotFoundError(f"dataset {s!r} is a URL; nothing is downloaded: give a dataset on disk")
    p = Path(s)
    if (p.is_file() and (zipfile.is_zipfile(p) or tarfile.is_tarfile(p))) or (
        not p.is_dir() and s.lower().endswith(_ARCHIVE_SUFFIXES)
    ):
        raise FileNotFoundError(
            f"dataset {s!r} is an archive; nothing is unpacked: unpack it yourself and give its dataset YAML or folder"
        )


def check_det_dataset(dataset: str | Path, autodownload: bool = True, split: str = "") -> dict[str, Any]:
    """``ultralytics.data.utils.check_det_dataset`` with downloads off, whatever the caller asks: a missing split is
    a ``FileNotFoundError`` and the YAML's ``download:`` never runs; URLs and archives are refused."""
    _refuse_remote_or_archive(dataset)
    return _ORIGINAL["det"](dataset, autodownload=False, split=split)


def check_cls_dataset(dataset: str | Path, split: str = "") -> dict[str, Any]:
    """``ultralytics.data.utils.check_cls_dataset`` for folders that exist and hold ``train/``: URLs, archives and
    missing folders (which it would download) and folders without ``train/`` (which it would split into a new folder
    beside them) are refused."""
    _refuse_remote_or_archive(dataset)
    p = Path(str(dataset))
    if not p.is_dir():
        raise FileNotFoundError(f"classification dataset {str(dataset)!r}: no such folder; nothing is downloaded")
    if not (p / "train").is_dir():
        raise FileNotFoundError(f"classification dataset {str(dataset)!r}: no train/ folder in it")
    return _ORIGINAL["cls"](dataset, split=split)


def install() -> None:
    """Put ``check_det_dataset`` / ``check_cls_dataset`` above in place of ultralytics' own in every ultralytics
    module that holds them (they import the functions by name, so each module's binding is replaced). Idempotent."""
    import ultralytics.data.utils as du
    import ultralytics.engine.exporter
    import ultralytics.engine.trainer
    import ultralytics.engine.validator  # noqa: F401  (imported so that their bindings exist to be replaced)

    ours = {"check_det_dataset": check_det_dataset, "check_cls_dataset": check_cls_dataset}
    if not _ORIGINAL:  # the first call, before anything is replaced: ultralytics' own functions
        _ORIGINAL.update(det=du.check_det_dataset, cls=du.check_cls_dataset)
    originals = {"check_det_dataset": _ORIGINAL["det"], "check_cls_dataset": _ORIGINAL["cls"]}
    for name, module in list(sys.modules.items()):
        if not name.startswith("ultralytics") or module is None:
            continue
        for attr, original in originals.items():
            if getattr(module, attr, None) is original:
                setattr(module, attr, ours[attr])
