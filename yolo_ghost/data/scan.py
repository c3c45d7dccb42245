"""The one walk over a dataset's image folders before ultralytics reads them: regular image files only.

ultralytics finds images by following every symlink (``glob('**/*.*', recursive=True)`` for detection, torchvision's
``ImageFolder`` for classification) and reads each file whole. On a careless or hostile folder that means a symlink
loop counted as dozens of copies of the same images (8 images read as 168, 1 val image scored as 41), two loops or a
link to ``/dev/zero`` hanging the run. ``scan_images`` walks a folder as ultralytics will, but follows a symlinked
folder only the first time its real path is seen and never opens a file, and refuses (one ``ConfigError`` line naming
the path and the reason) what ultralytics would mishandle: a folder reached twice (a loop, or two links to one
folder), an image name that is not a regular file (a device, a fifo, a socket, a broken link), and a file larger than
``max_image_bytes`` (``yolo_ghost.cfg.limits``). Refusing rather than skipping: ultralytics reads the folder itself,
so a skipped file would still be read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from yolo_ghost.cfg import ConfigError
from yolo_ghost.cfg.limits import check_limit, current_limits


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a fifo"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def check_image_file(path: Path, where: str) -> int:
    """Refuse an image path that is not a regular file, or is larger than ``max_image_bytes``; returns its size.

    Only ``os.stat`` is called (following a symlink to its target): a fifo or a device is never opened.
    """
    try:
        st = os.stat(path)
    except OSError as e:
        reason = "a broken symlink" if os.path.islink(path) else (e.strerror or str(e))
        raise ConfigError(f"{where}: {path} cannot be read ({reason}); remove it") from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{where}: {path} is {_kind(st.st_mode)}, not an image file; remove it")
    if st.st_size > current_limits().max_image_bytes:
        check_limit("max_image_bytes", st.st_size, f"{where}: {path}", "file size (bytes)")
    return st.st_size


def scan_images(folder: str | Path, where: str) -> list[Path]:
    """The image files under ``folder`` as ultralytics will find them (symlinks followed), each checked.

    Args:
        folder: a split folder (``images/val``) or a class folder.
        where: what an error names first (``dataset data.yaml``).

    Raises:
        ConfigError: a folder reached twice (a symlink loop or a repeated folder), an image name that is not a regular
            file, or a file over ``max_image_bytes``; the message names the path and what to do.
    """
    from ultralytics.data.utils import IMG_FORMATS  # the suffixes ultralytics loads as images

    folder = Path(folder)
    seen = {os.path.realpath(folder)}
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        for d in sorted(dirnames):
            sub = os.path.join(dirpath, d)
            real = os.path.realpath(sub)
            if real in seen:
                raise ConfigError(
                    f"{where}: {sub} leads to {real}, a folder already read (a symlink loop or a folder reached "
                    "twice); ultralytics would read its images once per path, so remove the link"
                )
            seen.add(real)
        for name in sorted(filenames):
            if "." in name and name.rpartition(".")[2].lower() in IMG_FORMATS:
                p = Path(dirpath) / name
                check_image_file(p, where)
                found.append(p)
    return found
