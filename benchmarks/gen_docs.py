"""Rewrite the tables in docs/ that the code prints, between their marker comments:

    <!-- generated: NAME -->
    ...
    <!-- end generated -->

blocks   docs/models.md   `yolo-ghost blocks --markdown` (every registered block)             fast
configs  docs/models.md   `yolo-ghost profile --cfg <the YOLOv5 configs> --markdown` at 640   slow (minutes on 2 cores)

python benchmarks/gen_docs.py                 # every table
python benchmarks/gen_docs.py --only blocks   # one table
python benchmarks/gen_docs.py --check         # exit 1 naming the stale tables, change nothing

tests/test_docs.py fails when a table here differs from what the code prints now.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
from collections.abc import Callable
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
END = "<!-- end generated -->"
# The shipped YOLOv5 configs the configs table profiles (nc=80, 640x640, BN fused), stock then Ghost per scale.
PROFILED = [f"yolov5{s}{g}.yaml" for s in "nsmlx" for g in ("", "-ghost")] + [
    "yolov5l-v3.yaml",
    "yolov5l-v3-ghost.yaml",
]


def blocks_table() -> str:
    """What `yolo-ghost blocks --markdown` prints."""
    from yolo_ghost.cli import blocks

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        blocks.run(argparse.Namespace(pattern=None, markdown=True))
    return out.getvalue().strip()


def configs_table() -> str:
    """What `yolo-ghost profile --cfg <PROFILED> --markdown` prints (nc=80, 640x640, BN fused)."""
    from yolo_ghost.tools.profiler import format_markdown, profile_model

    return format_markdown([profile_model(c, 640, fuse=True, nc=80) for c in PROFILED])


# name: (page, table function, the command a reader runs for the same table)
TABLES: dict[str, tuple[Path, Callable[[], str], str]] = {
    "blocks": (DOCS / "models.md", blocks_table, "yolo-ghost blocks --markdown"),
    "configs": (DOCS / "models.md", configs_table, f"yolo-ghost profile --cfg {' '.join(PROFILED)} --markdown"),
}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated: {re.escape(name)} -->)(.*?)({re.escape(END)})", re.S)


def current(name: str) -> str:
    """The table as the page holds it now (between its markers)."""
    page = TABLES[name][0]
    m = _pattern(name).search(page.read_text())
    if not m:
        raise ValueError(f"{page}: no '<!-- generated: {name} -->' ... '{END}' section")
    return m.group(2).strip()


def write(name: str, table: str) -> bool:
    """Put ``table`` between the markers of ``name``; True when the page changed."""
    page = TABLES[name][0]
    text = page.read_text()
    new = _pattern(name).sub(lambda m: f"{m.group(1)}\n{table}\n{m.group(3)}", text, count=1)
    if new != text:
        page.write_text(new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", choices=sorted(TABLES), help="these tables only")
    p.add_argument("--check", action="store_true", help="report stale tables (exit 1), write nothing")
    a = p.parse_args(argv)
    stale = []
    for name in a.only or TABLES:
        table = TABLES[name][1]()
        if a.check:
            if current(name) != table:
                stale.append(name)
        elif write(name, table):
            print(f"gen_docs: rewrote the {name} table in {TABLES[name][0]}")
    if stale:
        print(f"gen_docs: stale: {', '.join(stale)}; run python benchmarks/gen_docs.py --only {' '.join(stale)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
