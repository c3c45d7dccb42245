"""The built-in synthetic classification dataset ``shapes-cls``: which coloured shape is the main object of the image.

Ten classes, each a (colour, shape) pair laid out so that neither cue alone decides: each of the five shapes comes in
two of the four colours, and each colour in two or three shapes. Every image holds one main object of its class, from
a third of the image to almost all of it, rotated and lit from one side, plus up to three smaller distractors (other
classes, the colour/shape combinations that are no class, shapes in off-palette colours), on a textured, cluttered
background with lines crossing the object, blur and sensor noise. The label is the main object, which is always at
least twice the size of any distractor.

Images are small (32 px by default, like CIFAR-10) and written as PNG in ImageFolder layout
(``train/<class>/*.png``, ``val/<class>/*.png`` and, when asked for, a held-out ``test/<class>/*.png``), the layout
the ultralytics classification loader reads and the one any folder dataset on disk uses. Every image is drawn from its own random generator seeded by
``(seed, split, index)``, so a dataset is identical from run to run and any image can be rendered alone
(``render_cls_image``). ``make_shapes_cls`` writes the dataset once into ``cache_root() / "shapes-cls"`` and reuses it;
a folder is used only once its completion marker matches the generation parameters and ``FORMAT_VERSION``.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

import cv2
import numpy as np

from yolo_ghost.data.shapes import cache_root

# Bump whenever a change to the drawing code changes the images: old caches are then regenerated.
FORMAT_VERSION = 1

_HUES = {"red": 0.0, "yellow": 55.0, "green": 120.0, "blue": 225.0}
_OFF_PALETTE_HUES = (28.0, 185.0, 280.0, 330.0)  # orange, cyan, purple, pink: between the class hues
_SHAPES = ("circle", "square", "triangle", "star", "cross")
# Class names are the folder names; the loader numbers classes in sorted folder order, so they are kept sorted.
SHAPES_CLS_NAMES: tuple[str, ...] = tuple(
    sorted(
        (
            "red_circle",
            "red_triangle",
            "red_cross",
            "yellow_square",
            "yellow_star",
            "green_circle",
            "green_square",
            "green_cross",
            "blue_triangle",
            "blue_star",
        )
    )
)
_DECOYS = tuple(
    f"{c}_{s}" for c in _HUES for s in _SHAPES if f"{c}_{s}" not in SHAPES_CLS_NAMES
)  # drawn as distractors only

DEFAULT_SEED = 0
DEFAULT_N_TRAIN = 5000
DEFAULT_N_VAL = 1000
DEFAULT_IMGSZ = 32
MIN_SIZE = 0.35  # the smallest main object, as a fraction of the side (shapes-cls)
# A split's index seeds its images: "test" comes last, so that train and val draw what they drew before it existed.
SPLITS = ("train", "val", "test")
_MARKER = ".complete.json"
_SS = 4  # drawn at 4x and area-downsampled: smooth edges even at 32 px


def _bgr(hue: float, sat: float, val: float) -> tuple[float, float, float]:
    r, g, b = colorsys.hsv_to_rgb((hue % 360.0) / 360.0, sat, val)
    return b * 255.0, g * 255.0, r * 255.0


def _outline(shape: str, rng: np.random.Generator) -> np.ndarray:
    """A unit outline (extent about 1 around the origin) with some per-object variation, as (k, 2) points."""
    if shape == "circle":
        ang = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        a = rng.uniform(0.85, 1.15)
        return np.stack([a * np.cos(ang), np.sin(ang) / a], 1)
    if shape == "square":
        return np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64) * 0.8 * rng.uniform(0.9, 1.1, 2)
    if shape == "triangle":
        ang = np.deg2rad(np.array([-90.0, 30.0, 150.0]) + rng.uniform(-10, 10, 3))
        return np.stack([np.cos(ang), np.sin(ang) + 0.25], 1) * 1.1
    if shape == "star":
        r = np.where(np.arange(10) % 2 == 0, 1.1, 1.1 * rng.uniform(0.38, 0.5))
        ang = np.arange(10) * (np.pi / 5) - np.pi / 2
        return np.stack([r * np.cos(ang), r * np.sin(ang)], 1)
    if shape == "cross":
        t = rng.uniform(0.28, 0.4)  # half the bar width
        q = np.array([[t, -1], [t, -t], [1, -t], [1, t], [t, t], [t, 1]])
        return np.concatenate([q, -q]) * 0.95
    raise ValueError(f"unknown shape {shape!r}; known: {', '.join(_SHAPES)}")


def _draw(canvas: np.ndarray, shape: str, colour: tuple[float, ...], centre: np.ndarray, size: float, rng) -> None:
    """Fill a rotated, shaded ``shape`` of diameter ``size`` at ``centre`` into ``canvas`` (in place)."""
    theta = rng.uniform(0, 2 * np.pi)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    pts = _outline(shape, rng) @ rot.T * (size / 2) + centre
    mask = np.zeros(canvas.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    n = canvas.shape[0]
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    d = rng.uniform(-1, 1, 2) / max(size, 1.0)  # lit from one side: a brightness ramp across the object
    shade = 1.0 + rng.uniform(0, 0.4) * ((xx - centre[0]) * d[0] + (yy - centre[1]) * d[1])
    a = mask.astype(np.float32)[..., None] / 255.0
    canvas[:] = canvas * (1 - a) + np.asarray(colour, np.float32) * shade[..., None] * a


def _background(rng: np.random.Generator, n: int, clutter: float = 1.0) -> np.ndarray:
    """A textured float32 BGR background with clutter lines and blobs (their number and the texture's strength
    scaled by ``clutter``), at the drawing resolution ``n``."""
    c0 = np.array(_bgr(rng.uniform(0, 360), rng.uniform(0, 0.6), rng.uniform(0.15, 0.9)), np.float32)
    c1 = np.array(_bgr(rng.uniform(0, 360), rng.uniform(0, 0.6), rng.uniform(0.15, 0.9)), np.float32)
    theta = rng.uniform(0, 2 * np.pi)
    ramp = np.linspace(-0.5, 0.5, n, dtype=np.float32)
    t = np.clip(np.cos(theta) * ramp[None, :] + np.sin(theta) * ramp[:, None] + 0.5, 0, 1)[..., None]
    img = c0 * (1 - t) + c1 * t
    grid = rng.standard_normal((4, 4, 3)).astype(np.float32) * np.float32(rng.uniform(0, 40) * clutter)
    img += cv2.resize(grid, (n, n), interpolation=cv2.INTER_CUBIC)
    for _ in range(
        _scaled(int(rng.integers(2, 8)), clutter)
    ):  # lines in any hue (a red line is not a red object) and dull blobs
        if rng.random() < 0.5:
            hue = float(rng.choice([*_HUES.values(), *_OFF_PALETTE_HUES]))
            p0, p1 = (tuple(int(v) for v in rng.uniform(-0.1 * n, 1.1 * n, 2)) for _ in range(2))
            col = _bgr(hue + rng.uniform(-10, 10), rng.uniform(0.3, 1), rng.uniform(0.3, 1))
            cv2.line(img, p0, p1, col, int(rng.integers(1, 3)) * _SS, cv2.LINE_AA)
        else:
            col = _bgr(rng.uniform(20, 40), rng.uniform(0, 0.35), rng.uniform(0.05, 1))  # grey, brown, white, black
            axes = (int(rng.uniform(0.05, 0.3) * n) + 1, int(rng.uniform(0.03, 0.12) * n) + 1)
            centre = tuple(int(v) for v in rng.uniform(0, n, 2))
            cv2.ellipse(img, centre, axes, rng.uniform(0, 180), 0, 360, col, -1, cv2.LINE_AA)
    return img


def _colour(name: str, rng: np.random.Generator) -> tuple[float, float, float]:
    return _bgr(_HUES[name] + rng.uniform(-10, 10), rng.uniform(0.5, 1.0), rng.uniform(0.45, 1.0))


def _scaled(count: int, clutter: float) -> int:
    """``count`` clutter items scaled by ``clutter`` (the count itself at 1.0, so the default draws are unchanged)."""
    return count if clutter == 1.0 else int(count * clutter + 0.5)


def render_cls_image(
    seed: int, split: str, index: int, imgsz: int = DEFAULT_IMGSZ, clutter: float = 1.0, min_size: float = MIN_SIZE
) -> tuple[np.ndarray, int]:
    """Render image ``index`` of ``split`` for ``seed``: ``(BGR uint8 image of imgsz x imgsz, class id)``.

    The class of image ``i`` is ``(seed + i) % 10``, so every class has the same number of images (up to one). The
    result depends only on the arguments. ``clutter`` scales the distractors, the background lines and blobs, the
    lines across the object and the sensor noise (1.0: the ``shapes-cls`` images; 0: one object on a plain ramp).
    ``min_size`` is the smallest main object as a fraction of the side (the largest is 0.9): at 32 px a circle and a
    square a third of the side across are a few pixels apart, and which of them a model gets right varies from seed to
    seed.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    rng = np.random.default_rng([int(seed), SPLITS.index(split), int(index), 1])
    cls = (int(seed) + int(index)) % len(SHAPES_CLS_NAMES)
    n = int(imgsz) * _SS
    img = _background(rng, n, clutter)
    main = rng.uniform(min_size, 0.9) * n  # one draw whatever the bounds: the draws after it stay the same
    for _ in range(_scaled(int(rng.integers(0, 4)), clutter)):  # distractors, at most half the main object's size
        kind = rng.random()
        if kind < 0.4:
            col, shp = SHAPES_CLS_NAMES[int(rng.integers(len(SHAPES_CLS_NAMES)))].split("_")
            colour = _colour(col, rng)
        elif kind < 0.75:
            col, shp = _DECOYS[int(rng.integers(len(_DECOYS)))].split("_")
            colour = _colour(col, rng)
        else:
            shp = _SHAPES[int(rng.integers(len(_SHAPES)))]
            colour = _bgr(float(rng.choice(_OFF_PALETTE_HUES)) + rng.uniform(-8, 8), rng.uniform(0.5, 1), 0.8)
        _draw(img, shp, colour, rng.uniform(0, n, 2), main * rng.uniform(0.2, 0.5), rng)
    col, shp = SHAPES_CLS_NAMES[cls].split("_")
    centre = n / 2 + rng.uniform(-0.5, 0.5, 2) * (n - main) * 0.8
    _draw(img, shp, _colour(col, rng), centre, main, rng)
    for _ in range(_scaled(int(rng.integers(0, 2)), clutter)):  # a thin line across everything, the object included
        p0, p1 = (tuple(int(v) for v in rng.uniform(0, n, 2)) for _ in range(2))
        cv2.line(img, p0, p1, _bgr(rng.uniform(0, 360), rng.uniform(0, 0.5), rng.uniform(0, 1)), _SS, cv2.LINE_AA)
    out = cv2.resize(img, (int(imgsz), int(imgsz)), interpolation=cv2.INTER_AREA)
    out *= rng.uniform(0.85, 1.15, 3).astype(np.float32)  # white balance
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 0.9))
    out += rng.standard_normal(out.shape).astype(np.float32) * np.float32(rng.uniform(2, 12) * clutter)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), cls


def _params(
    seed: int, n_train: int, n_val: int, imgsz: int, clutter: float, n_test: int, min_size: float
) -> dict[str, int | str | float]:
    params = {"name": "shapes-cls", "version": FORMAT_VERSION, "seed": seed, "n_train": n_train, "n_val": n_val,
              "imgsz": imgsz}  # fmt: skip
    # only when set: the default set keeps the hash (and the cache) it had before these knobs
    if clutter != 1.0:
        params["clutter"] = clutter
    if n_test:
        params["n_test"] = n_test
    if min_size != MIN_SIZE:
        params["min_size"] = min_size
    return params


def _hash(params: dict[str, int | str]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


def _is_complete(folder: Path, params: dict[str, int | str]) -> bool:
    try:
        marker = json.loads((folder / _MARKER).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("hash") != _hash(params):
        return False
    return all(sum(1 for _ in (folder / s).rglob("*.png")) == params.get(f"n_{s}", 0) for s in SPLITS)


def make_shapes_cls(
    root: Path | str | None = None,
    *,
    seed: int = DEFAULT_SEED,
    n_train: int = DEFAULT_N_TRAIN,
    n_val: int = DEFAULT_N_VAL,
    imgsz: int = DEFAULT_IMGSZ,
    clutter: float = 1.0,
    n_test: int = 0,
    min_size: float = MIN_SIZE,
) -> Path:
    """Generate the ``shapes-cls`` dataset unless it is cached, and return its folder (``train/``, ``val/`` inside,
    and ``test/`` when ``n_test`` is set).

    Args:
        root: folder holding the generated datasets (one sub-folder per parameter set); default
            ``cache_root() / "shapes-cls"``.
        seed: generation seed; the same arguments give identical images.
        n_train, n_val: images per split (at least 10 each, so that every class is present).
        imgsz: side of the square images in pixels (at least 16).
        clutter: how much clutter to draw, from 0 (none) to 1 (the ``shapes-cls`` images; ``render_cls_image``).
        n_test: images of a held-out ``test`` split (0: none, else at least 10). Training validates on ``val`` every
            epoch; a bench scores its checkpoints once on ``test`` (``yolo_ghost.bench.tasks``), so that a small
            ``val`` keeps the epochs fast while a large ``test`` keeps the final score's noise low.
        min_size: the smallest main object as a fraction of the image side, in [0.1, 0.9] (``render_cls_image``).

    Raises:
        ValueError: a count below 10 (``n_test`` may be 0), a size below 16, a negative seed or a clutter outside
            [0, 1].
    """
    checks = (("n_train", n_train, 10), ("n_val", n_val, 10), ("imgsz", imgsz, 16), ("seed", seed, 0),
              ("n_test", n_test, 0))  # fmt: skip
    for key, value, least in checks:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"make_shapes_cls: {key} must be an integer >= {least}, got {value!r}")
    if 0 < n_test < 10:
        raise ValueError(f"make_shapes_cls: n_test must be 0 (no test split) or at least 10, got {n_test!r}")
    if isinstance(clutter, bool) or not isinstance(clutter, (int, float)) or not 0.0 <= clutter <= 1.0:
        raise ValueError(f"make_shapes_cls: clutter must be a number in [0, 1], got {clutter!r}")
    if isinstance(min_size, bool) or not isinstance(min_size, (int, float)) or not 0.1 <= min_size <= 0.9:
        raise ValueError(f"make_shapes_cls: min_size must be a number in [0.1, 0.9], got {min_size!r}")
    clutter, min_size = float(clutter), float(min_size)
    params = _params(int(seed), int(n_train), int(n_val), int(imgsz), clutter, int(n_test), min_size)
    root = (Path(root) if root is not None else cache_root() / "shapes-cls").expanduser().resolve()
    final = root / (
        f"seed{seed}-train{n_train}-val{n_val}-img{imgsz}"
        + (f"-test{n_test}" if n_test else "")
        + (f"-clutter{clutter:g}" if clutter != 1 else "")
        + (f"-min{min_size:g}" if min_size != MIN_SIZE else "")
    )
    if _is_complete(final, params):
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        for split in (s for s in SPLITS if params.get(f"n_{s}")):
            for name in SHAPES_CLS_NAMES:
                (tmp / split / name).mkdir(parents=True)
            for i in range(int(params[f"n_{split}"])):
                img, c = render_cls_image(seed, split, i, imgsz, clutter, min_size)
                if not cv2.imwrite(str(tmp / split / SHAPES_CLS_NAMES[c] / f"{i:06d}.png"), img):
                    raise OSError(f"could not write an image into {tmp}; check free space and permissions")
        (tmp / _MARKER).write_text(json.dumps({"hash": _hash(params), "params": params}, indent=1) + "\n")
        if final.exists():  # left by a killed run or an older format
            shutil.rmtree(final)
        try:
            tmp.rename(final)  # atomic: the folder appears complete or not at all
        except OSError:
            if not _is_complete(final, params):  # not another process finishing first: a real error
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


# The built-in sets by name (``_`` reads as ``-``): ``make_shapes_cls`` arguments. ``shapes-cls`` is the set the first
# ShuffleNet study ran on: at full clutter its runs were still improving after 30 epochs and the baseline's top-1 varied
# by 0.015 from seed to seed. ``shapes-cls-v2`` (the default since) is calibrated so that a study converges and agrees
# with itself on 2 CPU cores (benchmarks/cls_calibration.py, results/cls-calibration, docs/notes.md): one object per
# image with no clutter (at clutter 0.25 and 0.5 runs of the same budget were still improving, and two seeds at 0.5
# differed by 0.04), at least half the side across (from a third, five seeds spread by 0.009, most of it circles taken
# for squares; from a half, by 0.004), 7,500 train images, a small val split for the per-epoch curve and a
# 10,000-image test split scored once, where the binomial noise of a top-1 near 0.98 is 0.0014.
SHAPES_CLS_SETS: dict[str, dict[str, int | float]] = {
    "shapes-cls": {},
    "shapes-cls-v2": {"clutter": 0.0, "min_size": 0.5, "n_train": 7500, "n_val": 1000, "n_test": 10000},
}
BUILTIN_NAMES = tuple(SHAPES_CLS_SETS)


def builtin_cls_key(name: str | Path) -> str | None:
    """The ``SHAPES_CLS_SETS`` name ``name`` means (case and ``_`` / ``-`` aside), or None for any other dataset."""
    key = str(name).strip().lower().replace("_", "-")
    return key if key in SHAPES_CLS_SETS else None


def resolve_builtin_cls_dataset(name: str | Path) -> Path | None:
    """The folder of a built-in classification dataset (``shapes-cls``, ...: generated on first use), else None."""
    key = builtin_cls_key(name)
    return make_shapes_cls(**SHAPES_CLS_SETS[key]) if key else None
