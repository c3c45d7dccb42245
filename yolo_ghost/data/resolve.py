"""Dataset resolution: a dataset *name* or path becomes a YAML path, and a split is checked for images.

This is the one place where ``shapes`` (the built-in synthetic set) or a shipped dataset name becomes a YAML path,
and where a dataset YAML is read the way the ultralytics engine will read it to make sure a split holds images.
The trainers, the validator and the bench all ask here; it imports none of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from yolo_ghost.cfg import ConfigError
from yolo_ghost.cfg.errors import one_line
from yolo_ghost.data.scan import check_image_file, scan_images


def resolve_data(data: str | Path) -> Path:
    """The dataset YAML for ``data``: an existing file, a built-in dataset name (``shapes``), or a shipped YAML name.

    Raises:
        ConfigError: nothing of that name exists.
    """
    p = Path(data)
    if p.is_file():
        return p.resolve()
    try:
        from yolo_ghost.data.shapes import resolve_builtin_dataset
    except ModuleNotFoundError as e:  # the built-in datasets are optional; a broken module must still fail loudly
        if e.name not in {"yolo_ghost.data.shapes", "yolo_ghost.data"}:
            raise
    else:
        found = resolve_builtin_dataset(str(data))
        if found is not None:
            return Path(found)
    from yolo_ghost.cfg import resolve_data_cfg

    try:
        return resolve_data_cfg(data).resolve()
    except ConfigError as e:
        raise ConfigError(f"{e}; give a dataset YAML path or the built-in name 'shapes'") from None


def count_images(sources: Any, where: str = "dataset") -> int:
    """Images in a split as a dataset YAML gives it: folders (searched recursively), list files, or a list of both.

    Every folder is walked by ``yolo_ghost.data.scan.scan_images`` and every listed image checked by
    ``check_image_file``, so a symlink loop, a repeated folder, a special file or an oversize file is refused here,
    before ultralytics reads the split.
    """
    n = 0
    for src in sources if isinstance(sources, list) else [sources]:
        p = Path(str(src))
        if p.is_dir():
            n += len(scan_images(p, where))
        elif p.is_file():
            for line in p.read_text().splitlines():
                if line.strip():
                    # ultralytics resolves a list file's "./" entries against the list's folder
                    item = line.strip()
                    f = p.parent / item[2:] if item.startswith("./") else Path(item)
                    if f.exists() or f.is_symlink():
                        check_image_file(f, where)
                    n += 1
    return n


def check_splits(data_yaml: str | Path, splits: Sequence[str] = ("train", "val")) -> dict[str, Any]:
    """Read a dataset YAML the way the ultralytics engine will and make sure each of ``splits`` holds images.

    Returns the dataset dict of ``ultralytics.data.utils.check_det_dataset`` (nothing is downloaded). Corrupt images
    and bad label rows are not errors here (the ultralytics loader skips them and reports how many).

    Raises:
        ConfigError: the YAML is unusable, or a split is missing or empty (the message names the split and folder).
    """
    from ultralytics.data.utils import check_det_dataset

    split = splits[0] if len(splits) == 1 else None  # ultralytics checks only the split it is told about
    try:
        info = check_det_dataset(str(data_yaml), autodownload=False, **({"split": split} if split else {}))
    except Exception as e:  # ultralytics raises FileNotFoundError, SyntaxError, RuntimeError... for unusable YAMLs
        raise ConfigError(f"dataset {data_yaml}: {one_line(e)}") from None
    for s in splits:
        sources = info.get(s)
        if count_images(sources, f"dataset {data_yaml}") == 0:
            shown = ", ".join(map(str, sources if isinstance(sources, list) else [sources]))
            raise ConfigError(f"dataset {data_yaml}: the {s!r} split ({shown}) holds no images")
    return info
