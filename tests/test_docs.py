"""The docs site: generated tables match what the code prints now, and `mkdocs build --strict` passes."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "benchmarks" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_docs = _gen_docs()
SLOW = {"configs"}  # profiles twelve configs at 640: minutes on 2 cores


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(gen_docs.TABLES)]
)
def test_generated_table_is_current(name):
    page, make, command = gen_docs.TABLES[name]
    assert gen_docs.current(name) == make(), (
        f"the {name} table in {page.relative_to(ROOT)} is not what `{command}` prints now; "
        f"regenerate it with: python benchmarks/gen_docs.py --only {name}"
    )


def test_mkdocs_build_strict(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, f"mkdocs build --strict failed:\n{r.stdout}\n{r.stderr}"
    assert (tmp_path / "site" / "index.html").is_file()
