"""The built-in synthetic dataset ``shapes``: determinism, label validity, size spread, caching, ultralytics loading."""

from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from yolo_ghost.data import shapes
from yolo_ghost.data.shapes import SHAPES_NAMES, make_shapes, render_image, resolve_builtin_dataset

TINY = {"n_train": 16, "n_val": 8, "imgsz": 128}
NC = len(SHAPES_NAMES)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private dataset cache for one test."""
    root = tmp_path / "cache"
    monkeypatch.setenv("YOLO_GHOST_CACHE", str(root))
    return root


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The YAML of one tiny dataset shared by the read-only tests."""
    return make_shapes(tmp_path_factory.mktemp("shapes"), seed=0, **TINY)


def _labels(yaml_path: Path, split: str) -> list[np.ndarray]:
    files = sorted((yaml_path.parent / "labels" / split).glob("*.txt"))
    return [np.loadtxt(f, ndmin=2).reshape(-1, 5) for f in files]


def _mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


def test_names_need_colour_and_shape():
    assert len(SHAPES_NAMES) >= 8 and len(set(SHAPES_NAMES)) == len(SHAPES_NAMES)
    pairs = [tuple(n.split()) for n in SHAPES_NAMES]
    for colour in {c for c, _ in pairs}:  # every colour comes in two or more shapes ...
        assert len({s for c, s in pairs if c == colour}) >= 2, colour
    for shape in {s for _, s in pairs}:  # ... and every shape in two or more colours
        assert len({c for c, s in pairs if s == shape}) >= 2, shape


def test_render_is_deterministic_per_image():
    img, lab = render_image(3, "train", 5, 128)
    img2, lab2 = render_image(3, "train", 5, 128)
    assert img.shape == (128, 128, 3) and img.dtype == np.uint8
    assert np.array_equal(img, img2) and np.array_equal(lab, lab2)
    # Another seed, split or index gives another image.
    for other in (render_image(4, "train", 5, 128), render_image(3, "val", 5, 128), render_image(3, "train", 6, 128)):
        assert not np.array_equal(img, other[0])
    with pytest.raises(ValueError, match="split must be one of"):
        render_image(0, "test", 0, 128)


def test_same_seed_same_files_other_seed_different(tmp_path: Path, tiny: Path):
    again = make_shapes(tmp_path / "again", seed=0, **TINY)
    other = make_shapes(tmp_path / "other", seed=1, **TINY)
    for split in ("train", "val"):
        names = sorted(p.name for p in (tiny.parent / "labels" / split).glob("*.txt"))
        assert len(names) == TINY[f"n_{split}"]
        for name in names:
            assert (tiny.parent / "labels" / split / name).read_bytes() == (
                again.parent / "labels" / split / name
            ).read_bytes()
            stem = name.replace(".txt", ".jpg")
            a = cv2.imread(str(tiny.parent / "images" / split / stem))
            b = cv2.imread(str(again.parent / "images" / split / stem))
            assert a is not None and np.array_equal(a, b)
        differ = [
            (tiny.parent / "labels" / split / n).read_bytes() != (other.parent / "labels" / split / n).read_bytes()
            for n in names
        ]
        assert sum(differ) >= len(names) - 1  # a coincidence on one file at most


def test_labels_are_valid(tiny: Path):
    for split in ("train", "val"):
        for lab in _labels(tiny, split):
            assert len(lab) >= 1  # every image has at least its guaranteed object
            cls, xy, wh = lab[:, 0], lab[:, 1:3], lab[:, 3:5]
            assert np.all(cls == np.round(cls)) and cls.min() >= 0 and cls.max() < NC
            assert np.all(wh > 0)
            assert np.all(xy - wh / 2 >= -1e-6) and np.all(xy + wh / 2 <= 1 + 1e-6)


def test_labels_match_rendering(tiny: Path):
    """The written files hold exactly what ``render_image`` returns (rounded to 6 decimals)."""
    for i, lab in enumerate(_labels(tiny, "val")):
        _, expect = render_image(0, "val", i, TINY["imgsz"])
        assert lab.shape == expect.shape
        np.testing.assert_allclose(lab, expect, atol=1e-6)


@pytest.mark.parametrize("index", range(6))
def test_boxes_are_tight_around_visible_pixels(index: int):
    """Each box holds all visible pixels of its object and touches them on all four sides."""
    _, lab, owner, ids = shapes._render(7, "train", index, 256)
    n = owner.shape[0]
    assert len(lab) == len(ids) >= 1
    for (_c, x, y, w, h), oid in zip(lab, ids):
        x0, x1 = round((x - w / 2) * n), round((x + w / 2) * n)
        y0, y1 = round((y - h / 2) * n), round((y + h / 2) * n)
        assert 0 <= x0 < x1 <= n and 0 <= y0 < y1 <= n
        mask = owner == oid
        inside = mask[y0:y1, x0:x1]
        assert inside.sum() == mask.sum()  # nothing visible outside the box
        assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()


def test_every_class_in_both_splits(tiny: Path):
    for split in ("train", "val"):
        seen = set(np.concatenate(_labels(tiny, split))[:, 0].astype(int))
        assert seen == set(range(NC)), (split, sorted(seen))


def test_occluded_objects_drop_out(monkeypatch: pytest.MonkeyPatch):
    """Some class objects are too hidden to be labelled (< MIN_VISIBLE visible); most are labelled."""
    labelled = sum(len(render_image(0, "train", i, 128, "shapes-hard")[1]) for i in range(40))
    monkeypatch.setattr(shapes, "MIN_VISIBLE", 0.0)  # now every object with any visible pixels is labelled
    seen = sum(len(render_image(0, "train", i, 128, "shapes-hard")[1]) for i in range(40))
    assert 0.6 * seen < labelled < seen


def test_cache_is_reused(cache: Path):
    y1 = make_shapes(seed=2, **TINY)
    assert y1.is_relative_to(cache) and y1.is_file()
    before = _mtimes(y1.parent)
    time.sleep(0.02)
    y2 = make_shapes(seed=2, **TINY)
    assert y2 == y1 and _mtimes(y1.parent) == before
    assert not list((cache / "shapes").glob(".tmp-*"))  # no temp folder left behind


@pytest.mark.parametrize("damage", ["no_marker", "half_written", "old_format", "file_deleted"])
def test_incomplete_cache_is_regenerated(cache: Path, monkeypatch: pytest.MonkeyPatch, damage: str):
    y = make_shapes(seed=3, **TINY)
    folder = y.parent
    good = {p: folder.joinpath(p).read_bytes() for p in _mtimes(folder)}
    if damage == "no_marker":
        (folder / ".complete.json").unlink()
    elif damage == "half_written":  # what a killed run would leave if it had written in place
        (folder / ".complete.json").unlink()
        for p in list((folder / "images" / "train").glob("*.jpg"))[5:]:
            p.unlink()
        (folder / "labels" / "train" / "000000.txt").write_text("garbage\n")
    elif damage == "old_format":
        monkeypatch.setattr(shapes, "FORMAT_VERSION", shapes.FORMAT_VERSION + 1)
    elif damage == "file_deleted":
        (folder / "labels" / "val" / "000003.txt").unlink()
    before = _mtimes(folder)
    time.sleep(0.02)
    y2 = make_shapes(seed=3, **TINY)
    assert y2 == y
    after = _mtimes(folder)
    assert set(after) == set(good)
    assert all(after[p] != before.get(p) for p in after)  # every file was written anew
    if damage != "old_format":  # same parameters: the same bytes as the first generation
        assert {p: folder.joinpath(p).read_bytes() for p in after} == good
    marker = json.loads((folder / ".complete.json").read_text())
    assert marker["params"]["version"] == shapes.FORMAT_VERSION


def test_stale_temp_folder_is_removed(cache: Path):
    root = cache / "shapes"
    stale = root / ".tmp-seed9-train16-val8-img128-1-dead"
    (stale / "images").mkdir(parents=True)
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    make_shapes(seed=9, **TINY)
    assert not stale.exists()


def test_argument_errors(cache: Path):
    with pytest.raises(ValueError, match="n_train must be an integer >= 1"):
        make_shapes(n_train=0)
    with pytest.raises(ValueError, match="imgsz must be an integer >= 64"):
        make_shapes(imgsz=32)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        make_shapes(seed=-1)
    assert not cache.exists()  # nothing written before the arguments are checked


def test_resolve_builtin_dataset(cache: Path, monkeypatch: pytest.MonkeyPatch):
    # The real default size takes ~15 s to generate; the name resolution is the same with a tiny one.
    monkeypatch.setattr(shapes, "make_shapes", functools.partial(make_shapes, seed=0, **TINY))
    for name in ("shapes", "SHAPES", "shapes.yaml"):
        y = resolve_builtin_dataset(name)
        assert y is not None and y.is_file() and y.is_relative_to(cache) and y.parent.name.startswith("shapes-v")
    hard = resolve_builtin_dataset("shapes-hard")
    assert hard is not None and hard.parent.name.startswith("shapes-hard-v") and "'shapes-hard'" in hard.read_text()
    for name in ("coco128", "coco128.yaml", "shapes2", "shapes-easy", ""):
        assert resolve_builtin_dataset(name) is None


def test_loads_in_ultralytics(tiny: Path):
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset, load_dataset_cache_file

    data = check_det_dataset(str(tiny), autodownload=False)
    assert data["nc"] == NC and [data["names"][i] for i in range(NC)] == list(SHAPES_NAMES)
    assert Path(data["train"]) == tiny.parent / "images" / "train"
    cfg = get_cfg(overrides={"imgsz": TINY["imgsz"], "task": "detect"})
    for split in ("train", "val"):
        ds = build_yolo_dataset(cfg, data[split], batch=4, data=data, mode="val")
        n = TINY[f"n_{split}"]
        found, missing, empty, corrupt, total = load_dataset_cache_file(tiny.parent / "labels" / f"{split}.cache")[
            "results"
        ]
        assert (found, missing, empty, corrupt, total) == (n, 0, 0, 0, n)
        assert len(ds) == n
        ours = _labels(tiny, split)
        for i, lb in enumerate(ds.labels):
            np.testing.assert_allclose(lb["cls"][:, 0], ours[i][:, 0])
            np.testing.assert_allclose(lb["bboxes"], ours[i][:, 1:], atol=1e-5)
        item = ds[0]
        assert tuple(item["img"].shape) == (3, TINY["imgsz"], TINY["imgsz"])


def _stats(profile: str, n_images: int = 150) -> tuple[np.ndarray, np.ndarray]:
    """Labels of the first ``n_images`` train images of a profile at its own size: (all boxes, objects per image)."""
    labs = [render_image(0, "train", i, profile=profile)[1] for i in range(n_images)]
    return np.concatenate(labs), np.array([len(lb) for lb in labs])


@pytest.mark.parametrize("profile", sorted(shapes.PROFILES))
def test_profile_class_balance(profile: str):
    """Every class about equally often: between 0.7x and 1.3x of the mean count."""
    boxes, _ = _stats(profile)
    counts = np.bincount(boxes[:, 0].astype(int), minlength=NC)
    assert counts.min() > 0.7 * counts.mean() and counts.max() < 1.3 * counts.mean(), counts


def test_default_profile_box_statistics():
    """The calibrated default: a few mid-sized objects per image, none tiny, some spanning half the image."""
    p = shapes.get_profile("shapes")
    boxes, per_image = _stats("shapes")
    side = np.maximum(boxes[:, 3], boxes[:, 4])  # longest side as a fraction of the image
    assert per_image.min() >= 1.0 and 2.0 < per_image.mean() < 3.2 and per_image.max() <= p.objects[1]
    assert side.min() * p.imgsz >= 4  # truncated or occluded objects may be small, but never a speck
    assert 0.15 < np.median(side) < 0.35 and (side > 0.4).mean() > 0.05, np.percentile(side, [10, 50, 90])


def test_hard_profile_box_statistics():
    """shapes-hard: COCO's small, medium and large objects all well represented, more objects per image."""
    p = shapes.get_profile("shapes-hard")
    boxes, per_image = _stats("shapes-hard")
    area = boxes[:, 3] * boxes[:, 4] * p.imgsz**2
    scale = p.imgsz / 640  # COCO's 32 / 96 px thresholds at 640 px, scaled to this image size
    small, large = (area < (32 * scale) ** 2).mean(), (area >= (96 * scale) ** 2).mean()
    assert 0.15 < small < 0.5 and 0.15 < large < 0.5 and 1 - small - large > 0.2
    assert per_image.mean() > _stats("shapes")[1].mean() + 0.5


def test_unknown_profile_is_refused(cache: Path):
    with pytest.raises(ValueError, match="unknown shapes profile 'easy'; known: shapes, shapes-hard"):
        make_shapes(profile="easy")
    assert not cache.exists()
