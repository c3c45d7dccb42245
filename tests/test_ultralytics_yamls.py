"""Every detection YAML shipped in the installed ultralytics package builds exactly as ultralytics builds it.

The cases are the package's own files (``ultralytics/cfg/models/**/*.yaml`` whose head ultralytics reads as a
detection head), each at its first scale and at ``s``, so a new ultralytics release is covered by being installed.
The first scale of every file runs by default; the ``s`` cases carry the ``slow`` marker (``-m slow``).
Where ultralytics' ``DetectionModel`` builds the file, yolo-ghost must build the same parameters under the same
``state_dict`` names, load ultralytics' weights strictly and give the same output. Where it does not (the World and
YOLOE files need text embeddings and their own model classes), yolo-ghost must refuse with an error that names the
ultralytics module it lacks.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import pytest
import torch
import ultralytics
from ultralytics.nn.tasks import DetectionModel, guess_model_task, yaml_model_load
from ultralytics.utils import LOGGER

from yolo_ghost import ConfigError, build_model

ROOT = Path(ultralytics.__file__).parent / "cfg" / "models"
FAMILIES = ("v3", "v5", "v6", "v8", "v9", "v10", "11", "12", "26")  # the detection families of ultralytics 8.4


def _cases() -> list:
    cases = []
    for path in sorted(ROOT.rglob("*.yaml")):
        d = yaml_model_load(path)
        if guess_model_task(d) != "detect":
            continue
        scales = list(d.get("scales") or {})
        for k, scale in enumerate(dict.fromkeys([*scales[:1], *(["s"] if "s" in scales else [])]) or [""]):
            label = f"{path.parent.name}/{path.stem}" + (f"-{scale}" if scale else "")
            cases.append(pytest.param(path, scale, id=label, marks=[pytest.mark.slow] if k else []))
    return cases


CASES = _cases()


def _load(path: Path, scale: str) -> dict:
    d = yaml_model_load(path)
    d["scale"] = scale or d.get("scale")
    return d


def _ultralytics_model(d: dict) -> DetectionModel | None:
    level = LOGGER.level
    LOGGER.setLevel(logging.ERROR)  # its "no model scale" and build messages
    try:
        return DetectionModel(copy.deepcopy(d), verbose=False)
    except Exception:  # any failure: ultralytics itself cannot build this file as a detector
        return None
    finally:
        LOGGER.setLevel(level)


@pytest.mark.parametrize(("path", "scale"), CASES)
def test_ultralytics_yaml_builds_identically(path, scale):
    d = _load(path, scale)
    theirs = _ultralytics_model(d)
    if theirs is None:
        with pytest.raises(ConfigError, match=r"unknown block '\w+': it is ultralytics\.nn\.modules\.\w+\.\w+ in"):
            build_model(d)
        return
    torch.manual_seed(0)
    ours = build_model(d)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)
    assert ours.stride.tolist() == theirs.stride.tolist()
    ours.eval(), theirs.eval()
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y_ours, y_theirs = ours(x), theirs(x)
    y_ours = y_ours[0] if isinstance(y_ours, (tuple, list)) else y_ours
    y_theirs = y_theirs[0] if isinstance(y_theirs, (tuple, list)) else y_theirs
    torch.testing.assert_close(y_ours, y_theirs, rtol=1e-5, atol=1e-4)


def test_every_detection_family_of_the_package_is_a_case():
    # The cases come from the package's files; this guards against an empty loop (a moved cfg folder, a changed
    # task guess). Whether each one builds identically is the test above.
    present = {p.name for p in ROOT.iterdir() if p.is_dir()}
    assert set(FAMILIES) & present <= {c.values[0].parent.name for c in CASES}
    assert len([c for c in CASES if c.values[0].parent.name in ("v3", "v5", "v6", "v8", "11", "12")]) >= 25


@pytest.mark.parametrize("scale", ["n", "s", "m", "l", "x"])
def test_shipped_yolov8_ghost_is_ultralytics_yolov8_ghost(scale):
    theirs = _ultralytics_model(_load(ROOT / "v8" / "yolov8-ghost.yaml", scale))
    ours = build_model(f"yolov8{scale}-ghost.yaml")
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)
