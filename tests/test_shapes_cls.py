"""The built-in classification dataset ``shapes-cls``: deterministic, balanced, ImageFolder layout, cached once."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import cv2
import numpy as np
import pytest

from yolo_ghost.data.shapes import cache_root
from yolo_ghost.data.shapes_cls import (
    SHAPES_CLS_NAMES,
    SHAPES_CLS_SETS,
    make_shapes_cls,
    render_cls_image,
    resolve_builtin_cls_dataset,
)


def test_classes_need_both_colour_and_shape():
    pairs = [n.split("_") for n in SHAPES_CLS_NAMES]
    assert len(set(SHAPES_CLS_NAMES)) == 10 and list(SHAPES_CLS_NAMES) == sorted(SHAPES_CLS_NAMES)
    assert all(v >= 2 for v in Counter(c for c, _ in pairs).values())  # no colour names a single class
    assert all(v == 2 for v in Counter(s for _, s in pairs).values())  # every shape comes in two colours


def test_rendering_is_deterministic_and_labels_are_balanced():
    a, ca = render_cls_image(3, "train", 17, 32)
    b, cb = render_cls_image(3, "train", 17, 32)
    c, _ = render_cls_image(3, "val", 17, 32)
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and ca == cb == (3 + 17) % 10
    assert not np.array_equal(a, c) and not np.array_equal(a, render_cls_image(3, "test", 17, 32)[0])
    assert a.std() > 10  # textured, not a flat image
    with pytest.raises(ValueError, match="split must be one of"):
        render_cls_image(0, "valid", 0)


def test_dataset_is_written_in_imagefolder_layout_and_reused(tmp_path):
    folder = make_shapes_cls(tmp_path, n_train=20, n_val=10, imgsz=24)
    for split, n in (("train", 20), ("val", 10)):
        assert sorted(p.name for p in (folder / split).iterdir()) == list(SHAPES_CLS_NAMES)
        counts = {p.name: len(list(p.glob("*.png"))) for p in (folder / split).iterdir()}
        assert sum(counts.values()) == n and set(counts.values()) == {n // 10}
    f = next((folder / "val" / SHAPES_CLS_NAMES[3]).glob("*.png"))
    i = int(f.stem)
    img, c = render_cls_image(0, "val", i, 24)
    assert SHAPES_CLS_NAMES[c] == SHAPES_CLS_NAMES[3] and np.array_equal(cv2.imread(str(f)), img)  # PNG: lossless
    marker = json.loads((folder / ".complete.json").read_text())
    mtime = f.stat().st_mtime_ns
    assert make_shapes_cls(tmp_path, n_train=20, n_val=10, imgsz=24) == folder and f.stat().st_mtime_ns == mtime
    assert marker["params"]["n_train"] == 20
    f.unlink()  # a file deleted by hand: the dataset is regenerated
    assert make_shapes_cls(tmp_path, n_train=20, n_val=10, imgsz=24) == folder and f.is_file()
    assert not list(tmp_path.glob(".tmp-*"))


def test_the_first_studys_set_keeps_its_images():
    # sha256 of three shapes-cls images as the first study trained on them: a change to the drawing code (a new
    # clutter knob, say) must leave the named set as it was, or bump FORMAT_VERSION and rename the set
    pinned = {0: "288a6b0381213958", 5: "d3f9d9c03c42127e", 17: "fc995c866fd40b93"}
    for i, digest in pinned.items():
        img, c = render_cls_image(0, "train", i)
        assert c == i % 10 and hashlib.sha256(img.tobytes()).hexdigest()[:16] == digest
    assert SHAPES_CLS_SETS["shapes-cls"] == {}  # the defaults of make_shapes_cls
    assert resolve_builtin_cls_dataset("not-a-set") is None


def test_clutter_scales_the_clutter_and_keeps_the_classes_balanced(tmp_path):
    plain = [render_cls_image(0, "train", i, 32, clutter=0.0)[0] for i in range(40)]
    full = [render_cls_image(0, "train", i, 32)[0] for i in range(40)]
    # without clutter the background is a smooth two-colour ramp: far less high-frequency energy than with it
    energy = [np.mean([np.abs(np.diff(im.astype(float), axis=0)).mean() for im in ims]) for ims in (plain, full)]
    assert energy[0] < 0.6 * energy[1], energy
    folder = make_shapes_cls(tmp_path, n_train=30, n_val=20, imgsz=24, clutter=0.5)
    assert (
        folder.name.endswith("-clutter0.5")
        and json.loads((folder / ".complete.json").read_text())["params"]["clutter"] == 0.5
    )
    for split, n in (("train", 30), ("val", 20)):
        counts = Counter(p.parent.name for p in (folder / split).glob("*/*.png"))
        assert sorted(counts) == list(SHAPES_CLS_NAMES) and set(counts.values()) == {n // 10}
    with pytest.raises(ValueError, match=r"clutter must be a number in \[0, 1\]"):
        make_shapes_cls(tmp_path, clutter=1.5)


@pytest.mark.parametrize(
    ("kw", "match"), [({"n_train": 5}, "n_train"), ({"imgsz": 8}, "imgsz"), ({"seed": -1}, "seed")]
)
def test_bad_arguments_are_refused(tmp_path, kw, match):
    with pytest.raises(ValueError, match=f"{match} must be an integer"):
        make_shapes_cls(tmp_path, **kw)


def test_a_held_out_test_split_is_balanced_and_leaves_train_and_val_as_they_were(tmp_path):
    with_test = make_shapes_cls(tmp_path, n_train=20, n_val=10, n_test=30, imgsz=24, clutter=0.5)
    without = make_shapes_cls(tmp_path, n_train=20, n_val=10, imgsz=24, clutter=0.5)
    assert with_test.name.endswith("-test30-clutter0.5") and not (without / "test").exists()
    counts = Counter(p.parent.name for p in (with_test / "test").glob("*/*.png"))
    assert sorted(counts) == list(SHAPES_CLS_NAMES) and set(counts.values()) == {3}
    for split in ("train", "val"):  # the test split draws its own images; the others are those of the set without it
        for f in (with_test / split).glob("*/*.png"):
            assert np.array_equal(cv2.imread(str(f)), cv2.imread(str(without / split / f.parent.name / f.name)))
    test_imgs = {hashlib.sha256(cv2.imread(str(f)).tobytes()).hexdigest() for f in (with_test / "test").glob("*/*")}
    train_imgs = {hashlib.sha256(cv2.imread(str(f)).tobytes()).hexdigest() for f in (with_test / "train").glob("*/*")}
    assert len(test_imgs) == 30 and not test_imgs & train_imgs
    with pytest.raises(ValueError, match="n_test must be 0"):
        make_shapes_cls(tmp_path, n_test=5)


def test_min_size_sets_the_smallest_main_object(tmp_path):
    # the main object's share of the image, seen as its mask on a clutter-free image: never below min_size's
    def object_fraction(i: int, min_size: float) -> float:
        img, _ = render_cls_image(0, "train", i, 64, clutter=0.0, min_size=min_size)
        grad = np.abs(np.diff(img.astype(float), axis=0)).sum(2)
        rows = np.where(grad.max(1) > 40)[0]  # rows where the object's edges are
        return (rows.max() - rows.min()) / 64 if len(rows) else 0.0

    small = [object_fraction(i, 0.1) for i in range(40)]
    large = [object_fraction(i, 0.8) for i in range(40)]
    assert min(large) > 0.5 and np.mean(large) > np.mean(small) + 0.2, (min(large), np.mean(small))
    assert make_shapes_cls(tmp_path, n_train=10, n_val=10, imgsz=16, min_size=0.5).name.endswith("-min0.5")
    with pytest.raises(ValueError, match=r"min_size must be a number in \[0.1, 0.9\]"):
        make_shapes_cls(tmp_path, min_size=0.05)


def test_the_recalibrated_set_is_balanced_in_every_split_and_has_its_own_recipe(tmp_path):
    from yolo_ghost.engine.classify.train import CLS_RECIPE, DEFAULT_DATA, cls_recipe_for

    assert DEFAULT_DATA == "shapes-cls-v2"
    folder = resolve_builtin_cls_dataset("SHAPES_CLS_V2")  # the set as a user gets it (~25 s to generate on 2 cores)
    assert folder is not None and folder.parent == cache_root() / "shapes-cls"
    for split, n in (("train", 7500), ("val", 1000), ("test", 10000)):
        counts = Counter(p.parent.name for p in (folder / split).glob("*/*.png"))
        assert sorted(counts) == list(SHAPES_CLS_NAMES) and set(counts.values()) == {n // 10}, (split, counts)
    params = json.loads((folder / ".complete.json").read_text())["params"]
    assert (params["clutter"], params["min_size"], params["n_test"]) == (0.0, 0.5, 10000)
    v2 = cls_recipe_for("shapes_cls_v2")
    assert (v2.epochs, v2.imgsz, v2.batch) == (20, 32, 64)
    assert {k: v2.hyp[k] for k in ("cos_lr", "lrf", "ema_decay", "ema_tau")} == {
        "cos_lr": True, "lrf": 0.01, "ema_decay": 0.995, "ema_tau": 100.0,
    }  # fmt: skip
    assert cls_recipe_for("shapes-cls") is CLS_RECIPE and cls_recipe_for(tmp_path) is CLS_RECIPE
