"""Where a command writes, and what it may remove: the run folder ``project/name``.

Every command that writes a run folder (train, train-cls, val, bench) asks here, so that one rule holds for all:

* ``--name`` is a relative path that stays inside ``--project``: not empty, not ``.``, not absolute, no ``..`` that
  climbs out. Anything else is refused before a file is written.
* A failed run removes its folder only when this call created it and everything in it was written by the run, and
  it holds nothing worth keeping (no checkpoint, no ``results.csv``). An existing folder (``--exist-ok``) is never
  removed, whatever happens to the run.

It sits below the trainers, the validator and the bench and imports none of them.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from yolo_ghost.cfg import ConfigError


def check_run_name(project: str | Path, name: str | Path, flag: str = "--name") -> Path:
    """The folder ``project/name`` as an absolute path, refused unless ``name`` is a relative path inside ``project``.

    Raises:
        ConfigError: ``name`` is empty, ``.``, absolute, or resolves outside ``project`` (``../x``).
    """
    text = str(name).strip()
    if not text or text in {".", "./"}:
        raise ConfigError(f"{flag} {str(name)!r}: give a folder name inside --project, e.g. {flag} exp")
    if Path(text).is_absolute():
        raise ConfigError(f"{flag} {text!r}: an absolute path; give a name inside --project (or set --project instead)")
    root = Path(project).expanduser().absolute()
    target = Path(os.path.normpath(root / text))
    if target == root or root not in target.parents:
        raise ConfigError(f"{flag} {text!r}: resolves outside --project {str(root)!r}; give a name inside --project")
    real_root = root.resolve()
    if real_root not in target.resolve().parents:  # a symlink inside project pointing elsewhere
        raise ConfigError(
            f"{flag} {text!r}: a link that leads outside --project {str(root)!r}; give a plain name inside --project"
        )
    return target


def next_run_dir(project: str | Path, name: str | Path, exist_ok: bool) -> Path:
    """The run folder a new run gets: ``project/name``, or ``name2``, ``name3``, ... unless ``exist_ok`` (as
    ultralytics numbers them); checked by ``check_run_name``, not created."""
    from ultralytics.utils.files import increment_path

    return Path(increment_path(check_run_name(project, name), exist_ok=exist_ok, sep="", mkdir=False))


@contextmanager
def remove_new_run_on_failure(run_dir: str | Path) -> Iterator[None]:
    """On any failure (Ctrl-C included), remove ``run_dir`` if it did not exist when the block began and holds only
    what was written since, with no checkpoint and no ``results.csv``; then the empty parents it created.

    A folder that existed before (``--exist-ok``, a resumed run) is never touched.
    """
    d = Path(run_dir).absolute()
    existed = d.exists() or d.is_symlink()
    first_new = _first_missing_ancestor(d)
    t0 = time.time()
    try:
        yield
    except BaseException:
        if not existed and d.is_dir() and not d.is_symlink() and _only_run_scratch(d, t0):
            shutil.rmtree(d, ignore_errors=True)
            _remove_empty_parents(d.parent, stop=first_new)
        raise


def _first_missing_ancestor(d: Path) -> Path | None:
    """The outermost folder on the way to ``d`` that does not exist yet (created by this run, if it fails)."""
    missing = None
    for p in [d, *d.parents]:
        if p.exists():
            break
        missing = p
    return missing


def _only_run_scratch(d: Path, since: float) -> bool:
    """Whether ``d`` holds nothing of value: no checkpoint or results, and nothing older than the run."""
    if any(d.glob("weights/*.pt")) or (d / "results.csv").exists():
        return False
    for root, dirs, files in os.walk(d, followlinks=False):
        for n in dirs + files:
            if os.lstat(os.path.join(root, n)).st_mtime < since - 1.0:  # the user's, not the run's
                return False
    return True


def _remove_empty_parents(start: Path, stop: Path | None) -> None:
    """``rmdir`` the now-empty folders from ``start`` up to ``stop`` (the first one this run created); a folder
    that holds anything stays."""
    if stop is None or (start != stop and stop not in start.parents):
        return
    p = start
    while True:
        try:
            p.rmdir()
        except OSError:
            return
        if p == stop:
            return
        p = p.parent
