"""The built-in synthetic detection dataset ``shapes``: coloured shapes on cluttered backgrounds, in YOLO format.

Each class is a (colour, shape) pair, and the classes are laid out so that neither cue alone decides: every colour
comes in two shapes and every shape in two colours, and the eight remaining combinations (a green circle, a red
square, ...) are drawn as unlabelled look-alikes, as are the shapes in off-palette colours. Objects range from a few
pixels to more than half the image, may overlap or leave the frame, and sit on textured, cluttered backgrounds with
noise, blur and JPEG compression. An object is labelled only while at least ``MIN_VISIBLE`` of its area can be seen,
measured on the rendered pixel mask, and its box is the tight box of the visible pixels.

Every image is drawn from its own random generator seeded by ``(seed, split, index)``, so any image can be rendered
alone (``render_image``) and a dataset is identical from run to run. ``make_shapes`` writes the dataset once into a
cache folder (``$YOLO_GHOST_CACHE`` or ``~/.cache/yolo_ghost``) and reuses it afterwards; a dataset is used only once
its completion marker matches the generation parameters and ``FORMAT_VERSION``, so a half-written one from a killed
run is never mistaken for a finished one.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

# Bump whenever a change to the drawing code changes the images or labels: old caches are then regenerated.
FORMAT_VERSION = 1

COLOURS = ("red", "yellow", "green", "blue")
SHAPES = ("circle", "square", "triangle", "star")
# A Latin layout over the 4 x 4 grid: each colour in two shapes, each shape in two colours.
SHAPES_NAMES: tuple[str, ...] = (
    "red circle",
    "red triangle",
    "yellow square",
    "yellow triangle",
    "green square",
    "green star",
    "blue circle",
    "blue star",
)
# Hue in degrees of each class colour; the off-palette hues lie between them, so colour has to be read closely.
_CLASS_HUES = {"red": 0.0, "yellow": 55.0, "green": 120.0, "blue": 225.0}
_OFF_PALETTE_HUES = (28.0, 185.0, 280.0, 330.0)  # orange, cyan, purple, pink

DEFAULT_SEED = 0
MIN_VISIBLE = 0.4  # the fraction of an object's area that must be visible for it to be labelled
_SPLITS = ("train", "val")
_MARKER = ".complete.json"
_YAML = "shapes.yaml"
_STALE_TMP_S = 3600  # a temp folder this old belongs to a run that died; newer ones may still be in progress


@dataclass(frozen=True)
class ShapesProfile:
    """How hard a ``shapes`` dataset is: its size and the ranges every image's random draws come from.

    Integer ranges are half-open ``(low, high)`` as in ``numpy.random.Generator.integers``. Changing a value changes
    the images, so every profile carries its own ``version`` (bump it with any change to the profile or the drawing).
    """

    name: str
    version: int
    n_train: int
    n_val: int
    imgsz: int
    objects: tuple[int, int]  # labelled objects besides the one every image gets
    lookalikes: tuple[int, int]  # unlabelled off-layout or off-palette shapes
    size: tuple[float, float, float]  # smallest and largest object as a fraction of the image, small-object tilt
    clutter: tuple[int, int]  # background lines, ellipses and blobs
    texture: tuple[float, float]  # largest amplitude of the low- and mid-frequency background texture
    bg_saturation: float  # largest saturation of the background gradient's colours
    wires: tuple[int, int]  # thin foreground lines cutting across objects
    noise: tuple[float, float]  # sensor-noise standard deviation range, in grey levels


# `shapes`, the default: calibrated so that the main job (yolov5n-ghost, the default recipe, two CPU cores) ends on its
# plateau within ten minutes, while the larger models still do measurably better (README, "The built-in dataset").
DEFAULT_PROFILE = ShapesProfile(
    name="shapes",
    version=1,
    n_train=1000,
    n_val=200,
    imgsz=160,
    objects=(0, 4),
    lookalikes=(0, 2),
    size=(0.12, 0.6, 1.0),
    clutter=(0, 6),
    texture=(20.0, 10.0),
    bg_saturation=0.4,
    wires=(0, 2),
    noise=(1.0, 5.0),
)
# `shapes-hard`: the original set (tiny objects, dense clutter, many look-alikes), for long schedules and GPUs.
HARD_PROFILE = ShapesProfile(
    name="shapes-hard",
    version=1,
    n_train=1200,
    n_val=200,
    imgsz=256,
    objects=(0, 7),
    lookalikes=(0, 3),
    size=(0.03, 0.6, 1.5),
    clutter=(4, 20),
    texture=(40.0, 25.0),
    bg_saturation=0.6,
    wires=(0, 3),
    noise=(2.0, 10.0),
)
PROFILES: dict[str, ShapesProfile] = {p.name: p for p in (DEFAULT_PROFILE, HARD_PROFILE)}


def get_profile(name: str | ShapesProfile) -> ShapesProfile:
    """The profile called ``name`` (``shapes`` or ``shapes-hard``); a profile is returned as it is."""
    if isinstance(name, ShapesProfile):
        return name
    try:
        return PROFILES[str(name)]
    except KeyError:
        raise ValueError(f"unknown shapes profile {name!r}; known: {', '.join(PROFILES)}") from None


# Unit outlines (extent about 1 around the origin), drawn at 1/16-pixel precision.
_SUBPIX = 4
_ANGLES = np.linspace(0, 2 * np.pi, 64, endpoint=False)
_CIRCLE = np.stack([np.cos(_ANGLES), np.sin(_ANGLES)], 1)


def cache_root() -> Path:
    """The folder holding yolo-ghost's generated data: ``$YOLO_GHOST_CACHE`` if set, else ``~/.cache/yolo_ghost``."""
    env = os.environ.get("YOLO_GHOST_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "yolo_ghost"


# --------------------------------------------------------------------------------------------------------------------
# Rendering


def _bgr(hue: float, sat: float, val: float) -> np.ndarray:
    r, g, b = colorsys.hsv_to_rgb((hue % 360.0) / 360.0, sat, val)
    return np.array([b, g, r], dtype=np.float32) * 255.0


def _outline(shape: str, rng: np.random.Generator) -> np.ndarray:
    """A unit outline of ``shape`` with a little per-object variation, as (k, 2) points."""
    if shape == "circle":
        a = rng.uniform(0.9, 1.1)  # slightly elliptical, so "round" is learnt rather than a fixed template
        return _CIRCLE * np.array([a, 1.0 / a])
    if shape == "square":
        return np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64) * 0.85
    if shape == "triangle":
        ang = np.deg2rad(np.array([-90.0, 30.0, 150.0]) + rng.uniform(-8, 8, 3))
        r = 1.1 * rng.uniform(0.92, 1.08, 3)
        return np.stack([r * np.cos(ang), r * np.sin(ang) + 0.25], 1)  # shifted so the box is roughly centred
    if shape == "star":
        k = 10
        r = np.where(np.arange(k) % 2 == 0, 1.1, 1.1 * rng.uniform(0.38, 0.5))
        ang = np.arange(k) * (2 * np.pi / k) - np.pi / 2
        return np.stack([r * np.cos(ang), r * np.sin(ang)], 1)
    raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")


def _object_size(rng: np.random.Generator, imgsz: int, profile: ShapesProfile) -> float:
    # Log-uniform between the smallest and largest size, tilted towards small objects by u**tilt (shapes-hard: 1.5,
    # so that roughly a third of them are COCO-"small" and one in seven spans more than a third of the image).
    lo_frac, hi_frac, tilt = profile.size
    lo, hi = max(6.0, lo_frac * imgsz), hi_frac * imgsz
    return float(np.exp(np.log(lo) + rng.random() ** tilt * (np.log(hi) - np.log(lo))))


def _background(rng: np.random.Generator, imgsz: int, profile: ShapesProfile) -> np.ndarray:
    """A textured, cluttered uint8 BGR background."""
    n = imgsz
    # A two-colour gradient in a random direction, mostly muted so that objects usually (not always) stand out.
    sat = profile.bg_saturation
    c0 = _bgr(rng.uniform(0, 360), rng.uniform(0, sat), rng.uniform(0.15, 0.95))
    c1 = _bgr(rng.uniform(0, 360), rng.uniform(0, sat), rng.uniform(0.15, 0.95))
    theta = rng.uniform(0, 2 * np.pi)
    ramp = np.linspace(-0.5, 0.5, n, dtype=np.float32)
    t = np.clip(np.cos(theta) * ramp[None, :] + np.sin(theta) * ramp[:, None] + 0.5, 0, 1)[..., None]
    img = c0 * (1 - t) + c1 * t
    # Low- and mid-frequency colour texture (upsampled noise).
    low, mid = profile.texture
    for cells, amp in ((4, rng.uniform(0, low)), (max(4, n // 8), rng.uniform(0, mid))):
        grid = rng.standard_normal((cells, cells, 3), dtype=np.float32) * amp
        img += cv2.resize(grid, (n, n), interpolation=cv2.INTER_CUBIC)
    img = np.clip(img, 0, 255).astype(np.uint8)

    # Clutter: lines in any colour (class colours included: a red line is not a red object), and blobs and ellipses
    # in off-palette or neutral colours, some of them translucent.
    for _ in range(int(rng.integers(*profile.clutter))):
        kind = rng.random()
        layer = img.copy()
        if kind < 0.4:
            hue = rng.choice([*_CLASS_HUES.values(), *_OFF_PALETTE_HUES])
            col = _bgr(hue + rng.uniform(-10, 10), rng.uniform(0.3, 1), rng.uniform(0.3, 1))
            p0, p1 = rng.uniform(-0.1 * n, 1.1 * n, (2, 2))
            cv2.line(
                layer,
                tuple(int(v) for v in p0),
                tuple(int(v) for v in p1),
                col.tolist(),
                int(rng.integers(1, 5)),
                cv2.LINE_AA,
            )
        else:
            if rng.random() < 0.5:
                col = _bgr(rng.choice(_OFF_PALETTE_HUES) + rng.uniform(-8, 8), rng.uniform(0.3, 1), rng.uniform(0.3, 1))
            else:  # neutral: grey, white, black, brown
                col = _bgr(rng.uniform(20, 40), rng.uniform(0, 0.35), rng.uniform(0.05, 1))
            centre = rng.uniform(0, n, 2)
            size = _object_size(rng, n, profile)
            if kind < 0.7:  # an elongated ellipse, so that it is not mistaken for a circle
                axes = (int(size / 2) + 1, int(size / 2 * rng.uniform(0.15, 0.55)) + 1)
                cv2.ellipse(
                    layer,
                    tuple(int(v) for v in centre),
                    axes,
                    rng.uniform(0, 180),
                    0,
                    360,
                    col.tolist(),
                    -1,
                    cv2.LINE_AA,
                )
            else:  # an irregular blob
                k = int(rng.integers(5, 10))
                ang = np.sort(rng.uniform(0, 2 * np.pi, k))
                r = size / 2 * rng.uniform(0.3, 1.0, k)
                pts = centre + np.stack([r * np.cos(ang), r * np.sin(ang)], 1)
                cv2.fillPoly(layer, [np.round(pts).astype(np.int32)], col.tolist(), cv2.LINE_AA)
        alpha = 1.0 if rng.random() < 0.6 else rng.uniform(0.3, 0.8)
        img = layer if alpha == 1.0 else cv2.addWeighted(layer, alpha, img, 1 - alpha, 0)
    if rng.random() < 0.5:  # background slightly out of focus
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.5))
    return img


def _draw_object(
    img: np.ndarray,
    owner: np.ndarray,
    oid: int,
    shape: str,
    colour: np.ndarray,
    size: float,
    inside: bool,
    rng: np.random.Generator,
) -> int:
    """Draw one object onto ``img`` (in place), mark its pixels ``oid`` in ``owner``; return its full area in pixels.

    The full area counts the pixels outside the frame too, so that a truncated object's visible fraction is honest.
    """
    n = img.shape[0]
    pts = _outline(shape, rng)
    theta = rng.uniform(0, 2 * np.pi)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    pts = pts @ rot.T * (size / 2)
    lo, hi = pts.min(0), pts.max(0)
    ext = hi - lo
    # Place by the outline's box: fully inside, or with up to a quarter of the box outside the frame.
    margin = np.zeros(2) if inside else 0.25 * ext
    cx, cy = (rng.uniform(-lo[i] - margin[i], n - hi[i] + margin[i]) for i in range(2))
    pts = pts + np.array([cx, cy])

    # Render alpha (and an optional outline) on a local canvas around the object.
    x0, y0 = int(np.floor(pts[:, 0].min())) - 2, int(np.floor(pts[:, 1].min())) - 2
    w, h = int(np.ceil(pts[:, 0].max())) - x0 + 3, int(np.ceil(pts[:, 1].max())) - y0 + 3
    fixed = np.round((pts - np.array([x0, y0])) * (1 << _SUBPIX)).astype(np.int32)
    alpha = np.zeros((h, w), np.uint8)
    cv2.fillPoly(alpha, [fixed], 255, cv2.LINE_AA, _SUBPIX)
    edge = None
    if rng.random() < 0.3 and size > 10:
        edge = np.zeros((h, w), np.uint8)
        cv2.polylines(edge, [fixed], True, 255, int(rng.integers(1, 3)), cv2.LINE_AA, _SUBPIX)
        alpha = np.maximum(alpha, edge)
    full_area = int((alpha >= 128).sum())

    # Paste the part inside the frame.
    ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x0 + w, n), min(y0 + h, n)
    if ix0 >= ix1 or iy0 >= iy1:
        return full_area
    sl = (slice(iy0 - y0, iy1 - y0), slice(ix0 - x0, ix1 - x0))
    a = alpha[sl].astype(np.float32)[..., None] / 255.0
    # Shading: a linear brightness ramp across the object, as if lit from one side.
    yy, xx = np.mgrid[iy0:iy1, ix0:ix1].astype(np.float32)
    d = rng.uniform(-1, 1, 2) / max(size, 1.0)
    shade = 1.0 + rng.uniform(0, 0.35) * ((xx - cx) * d[0] + (yy - cy) * d[1])
    fill = colour[None, None, :] * shade[..., None]
    if edge is not None:
        e = edge[sl].astype(np.float32)[..., None] / 255.0
        fill = fill * (1 - e) + colour * rng.uniform(0.25, 0.6) * e  # a darker rim
    roi = img[iy0:iy1, ix0:ix1].astype(np.float32)
    img[iy0:iy1, ix0:ix1] = np.clip(roi * (1 - a) + fill * a, 0, 255).astype(np.uint8)
    owner[iy0:iy1, ix0:ix1][alpha[sl] >= 128] = oid
    return full_area


def _class_colour(name: str, rng: np.random.Generator) -> np.ndarray:
    return _bgr(_CLASS_HUES[name] + rng.uniform(-8, 8), rng.uniform(0.55, 1.0), rng.uniform(0.5, 1.0))


def render_image(
    seed: int, split: str, index: int, imgsz: int | None = None, profile: str | ShapesProfile = "shapes"
) -> tuple[np.ndarray, np.ndarray]:
    """Render image ``index`` of ``split`` for ``seed``: ``(BGR uint8 image, labels)``.

    ``labels`` is an ``(n, 5)`` float array of ``class cx cy w h``, normalised to [0, 1], boxes tight around the
    visible pixels. The result depends only on the arguments (its own generator is seeded by them).
    """
    img, labels, _, _ = _render(seed, split, index, imgsz, profile)
    return img, labels


def _render(
    seed: int, split: str, index: int, imgsz: int | None = None, profile: str | ShapesProfile = "shapes"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """``render_image`` plus the object-id map of the visible pixels (-1: background) and each label's object id."""
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {', '.join(_SPLITS)}, got {split!r}")
    prof = get_profile(profile)
    rng = np.random.default_rng([int(seed), _SPLITS.index(split), int(index)])
    n = int(imgsz or prof.imgsz)
    img = _background(rng, n, prof)
    owner = np.full((n, n), -1, np.int16)

    # Objects: (class id or -1, shape, colour). Look-alikes are the off-layout colour/shape combinations and the
    # shapes in off-palette colours; they are drawn and never labelled.
    classes = [(c, *SHAPES_NAMES[c].split()) for c in range(len(SHAPES_NAMES))]
    combos = {tuple(name.split()) for name in SHAPES_NAMES}
    decoys = [(col, shp) for col in COLOURS for shp in SHAPES if (col, shp) not in combos]
    objects: list[tuple[int, str, np.ndarray]] = []
    for _ in range(int(rng.integers(*prof.objects))):
        c, col, shp = classes[int(rng.integers(len(classes)))]
        objects.append((c, shp, _class_colour(col, rng)))
    for _ in range(int(rng.integers(*prof.lookalikes))):
        if rng.random() < 0.6:
            col, shp = decoys[int(rng.integers(len(decoys)))]
            objects.append((-1, shp, _class_colour(col, rng)))
        else:
            hue = rng.choice(_OFF_PALETTE_HUES) + rng.uniform(-8, 8)
            objects.append(
                (-1, SHAPES[int(rng.integers(len(SHAPES)))], _bgr(hue, rng.uniform(0.55, 1), rng.uniform(0.5, 1)))
            )
    order = rng.permutation(len(objects))

    areas: dict[int, tuple[int, int]] = {}  # object id -> (class, full area)
    for oid, j in enumerate(order):
        c, shp, colour = objects[j]
        area = _draw_object(img, owner, oid, shp, colour, _object_size(rng, n, prof), False, rng)
        if c >= 0:
            areas[oid] = (c, area)
    # Thin foreground lines (wires, branches) that cut across objects.
    for _ in range(int(rng.integers(*prof.wires))):
        p0, p1 = (tuple(int(v) for v in rng.uniform(0, n, 2)) for _ in range(2))
        col, thick = _bgr(rng.uniform(0, 360), rng.uniform(0, 0.5), rng.uniform(0, 1)), int(rng.integers(1, 3))
        cv2.line(img, p0, p1, col.tolist(), thick, cv2.LINE_AA)
        cv2.line(owner, p0, p1, -1, thick)
    # Finally one object of class (seed + index) mod nc, whole and on top: every class is in every split of at least
    # nc images, and no image is empty.
    c = (int(seed) + int(index)) % len(SHAPES_NAMES)
    col, shp = SHAPES_NAMES[c].split()
    oid = len(objects)
    areas[oid] = (c, _draw_object(img, owner, oid, shp, _class_colour(col, rng), _object_size(rng, n, prof), True, rng))

    # Camera effects: white balance, blur, sensor noise.
    out = img.astype(np.float32) * rng.uniform(0.9, 1.1, 3).astype(np.float32)
    if rng.random() < 0.35:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.1))
    out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(rng.uniform(*prof.noise))
    out = np.clip(out + 0.5, 0, 255).astype(np.uint8)

    labels, label_ids = [], []
    for oid, (c, full) in areas.items():
        ys, xs = np.nonzero(owner == oid)
        if full == 0 or len(xs) < 4 or len(xs) / full < MIN_VISIBLE:
            continue
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        labels.append([c, (x0 + x1) / 2 / n, (y0 + y1) / 2 / n, (x1 - x0) / n, (y1 - y0) / n])
        label_ids.append(oid)
    return out, np.array(labels, dtype=np.float64).reshape(-1, 5), owner, label_ids


# --------------------------------------------------------------------------------------------------------------------
# Writing and caching


def _params(profile: ShapesProfile, seed: int, n_train: int, n_val: int, imgsz: int) -> dict[str, Any]:
    # The whole profile goes into the hash: a profile edited without a version bump still regenerates its caches.
    return {
        "name": profile.name,
        "version": FORMAT_VERSION,
        "profile": asdict(profile),
        "seed": seed,
        "n_train": n_train,
        "n_val": n_val,
        "imgsz": imgsz,
    }


def _params_hash(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


def _is_complete(folder: Path, params: dict[str, Any]) -> bool:
    """Whether ``folder`` holds a finished dataset generated from ``params``."""
    try:
        marker = json.loads((folder / _MARKER).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("hash") != _params_hash(params) or not (folder / _YAML).is_file():
        return False
    # Cheap guard against files deleted by hand after generation.
    return all(
        sum(1 for _ in (folder / "images" / s).glob("*.jpg")) == params[f"n_{s}"]
        and sum(1 for _ in (folder / "labels" / s).glob("*.txt")) == params[f"n_{s}"]
        for s in _SPLITS
    )


def _write_dataset(tmp: Path, final: Path, params: dict[str, Any]) -> None:
    """Write every image, label file and the YAML into ``tmp``; the marker goes last."""
    seed, imgsz = int(params["seed"]), int(params["imgsz"])
    profile = get_profile(str(params["name"]))
    n_labels = {}
    for split in _SPLITS:
        (tmp / "images" / split).mkdir(parents=True)
        (tmp / "labels" / split).mkdir(parents=True)
        count = 0
        for i in range(int(params[f"n_{split}"])):
            img, labels = render_image(seed, split, i, imgsz, profile)
            quality = 80 + (i * 7 + seed) % 16  # varied compression, deterministic per image
            if not cv2.imwrite(str(tmp / "images" / split / f"{i:06d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, quality]):
                raise OSError(f"could not write an image into {tmp}; check free space and permissions")
            lines = "".join(f"{int(c)} {x:.6f} {y:.6f} {w:.6f} {h:.6f}\n" for c, x, y, w, h in labels)
            (tmp / "labels" / split / f"{i:06d}.txt").write_text(lines)
            count += len(labels)
        n_labels[split] = count
    names = "\n".join(f"  {i}: {name}" for i, name in enumerate(SHAPES_NAMES))
    (tmp / _YAML).write_text(
        f"# yolo-ghost built-in synthetic dataset {profile.name!r} (generated; see yolo_ghost/data/shapes.py)\n"
        f"# generation parameters: {json.dumps(params, sort_keys=True)}\n"
        f"path: {json.dumps(str(final))}\n"
        "train: images/train\n"
        "val: images/val\n"
        f"names:\n{names}\n"
    )
    marker = {"hash": _params_hash(params), "params": params, "labels": n_labels}
    (tmp / _MARKER).write_text(json.dumps(marker, sort_keys=True, indent=1) + "\n")


def _remove_stale_tmp(root: Path) -> None:
    now = time.time()
    for p in root.glob(".tmp-*"):
        try:
            if now - p.stat().st_mtime > _STALE_TMP_S:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


@contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_file`` (POSIX ``flock``), so that concurrent processes, e.g. the ranks of a
    DDP run, generate a dataset once and never swap folders under one another. Without ``fcntl`` (Windows) only the
    atomic rename protects."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(lock_file, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def make_shapes(
    root: Path | str | None = None,
    *,
    seed: int = DEFAULT_SEED,
    n_train: int | None = None,
    n_val: int | None = None,
    imgsz: int | None = None,
    profile: str | ShapesProfile = "shapes",
) -> Path:
    """Generate a ``shapes`` dataset if it is not cached yet and return the path of its dataset YAML.

    Args:
        root: folder that holds the generated datasets (one sub-folder per parameter set); default
            ``cache_root() / "shapes"``.
        seed: generation seed; the same seed gives byte-identical label files and identical images.
        n_train: number of training images (default: the profile's).
        n_val: number of validation images (default: the profile's).
        imgsz: side of the (square) images in pixels (default: the profile's).
        profile: ``shapes`` (the default, converging set) or ``shapes-hard`` (see ``PROFILES``).

    Raises:
        ValueError: a count below 1, an image size below 64 or an unknown profile.
    """
    prof = get_profile(profile)
    n_train = prof.n_train if n_train is None else n_train
    n_val = prof.n_val if n_val is None else n_val
    imgsz = prof.imgsz if imgsz is None else imgsz
    for key, value, least in (("n_train", n_train, 1), ("n_val", n_val, 1), ("imgsz", imgsz, 64)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"make_shapes: {key} must be an integer >= {least}, got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"make_shapes: seed must be a non-negative integer, got {seed!r}")
    params = _params(prof, int(seed), int(n_train), int(n_val), int(imgsz))
    root = (Path(root) if root is not None else cache_root() / "shapes").expanduser().resolve()
    final = root / f"{prof.name}-v{prof.version}-seed{seed}-train{n_train}-val{n_val}-img{imgsz}"
    if _is_complete(final, params):
        return final / _YAML

    from ultralytics.utils import LOGGER  # imported here: the cached path above should stay light

    root.mkdir(parents=True, exist_ok=True)
    with _exclusive(root / f".{final.name}.lock"):
        if _is_complete(final, params):  # another process finished it while this one waited for the lock
            return final / _YAML
        _remove_stale_tmp(root)
        tmp = root / f".tmp-{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        t0 = time.perf_counter()
        LOGGER.info(f"{prof.name}: generating {n_train} train + {n_val} val images at {imgsz} px into {final} ...")
        try:
            _write_dataset(tmp, final, params)
            if final.exists():  # left by a killed run, edited by hand, or an older format
                shutil.rmtree(final)
            try:
                tmp.rename(final)  # atomic: the folder appears complete or not at all
            except OSError:
                if not _is_complete(final, params):  # not a process without the lock finishing first: a real error
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        LOGGER.info(f"{prof.name}: done in {time.perf_counter() - t0:.1f}s")
    return final / _YAML


def resolve_builtin_dataset(name: str) -> Path | None:
    """The dataset YAML of a built-in dataset (``shapes`` or ``shapes-hard``, generated on first use), else None."""
    key = str(name).strip().lower().removesuffix(".yaml")
    return make_shapes(profile=key) if key in PROFILES else None
