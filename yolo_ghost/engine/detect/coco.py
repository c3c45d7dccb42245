"""COCO-style box evaluation with pycocotools for any YOLO-format dataset.

Pure functions, independent of the ultralytics validator:

* ``yolo_to_coco`` turns the labels of a YOLO-format split into a COCO ground-truth JSON (cached, written atomically);
* ``run_cocoeval`` runs the official ``COCOeval`` (bbox) on a ground-truth and a detections JSON;
* ``format_report`` prints the result as an AP table and a per-class table.

Labels are read the way ultralytics reads them (``images/`` -> ``labels/``, polygons reduced to boxes, duplicate rows
dropped), so the ground truth here is the one the ultralytics validator scores against.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from yolo_ghost.utils.atomic import write_json_atomic

LOGGER = logging.getLogger(__name__)

# Bump when the JSON written by `yolo_to_coco` changes, so that caches from older versions are rebuilt.
_GT_FORMAT_VERSION = 1

# COCOeval.stats, in its order (Detectron / YOLOv5 names).
STAT_KEYS = (
    "AP50-95",
    "AP50",
    "AP75",
    "AP_small",
    "AP_medium",
    "AP_large",
    "AR1",
    "AR10",
    "AR100",
    "AR_small",
    "AR_medium",
    "AR_large",
)
_STAT_LABELS = (
    "AP  @[IoU=0.50:0.95 | area=   all | maxDets=100]",
    "AP  @[IoU=0.50      | area=   all | maxDets=100]",
    "AP  @[IoU=0.75      | area=   all | maxDets=100]",
    "AP  @[IoU=0.50:0.95 | area= small | maxDets=100]",
    "AP  @[IoU=0.50:0.95 | area=medium | maxDets=100]",
    "AP  @[IoU=0.50:0.95 | area= large | maxDets=100]",
    "AR  @[IoU=0.50:0.95 | area=   all | maxDets=  1]",
    "AR  @[IoU=0.50:0.95 | area=   all | maxDets= 10]",
    "AR  @[IoU=0.50:0.95 | area=   all | maxDets=100]",
    "AR  @[IoU=0.50:0.95 | area= small | maxDets=100]",
    "AR  @[IoU=0.50:0.95 | area=medium | maxDets=100]",
    "AR  @[IoU=0.50:0.95 | area= large | maxDets=100]",
)


# --------------------------------------------------------------------------------------------------------------------
# Files


def image_id_map(images: Sequence[str | Path]) -> dict[str, int]:
    """The COCO image id of every image: its index in the sorted list of paths (keys are the paths as strings)."""
    return {p: i for i, p in enumerate(sorted({os.fspath(x) for x in images}))}


def _label_paths(images: Sequence[str]) -> list[str]:
    from ultralytics.data.utils import img2label_paths

    return img2label_paths(images)


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


def _cache_key(
    images: list[str], labels: list[str], names: Mapping[int, str], category_ids: Sequence[int], single_cls: bool
) -> str:
    """Hash of everything the ground-truth JSON is made from: paths, image and label file stats, classes."""
    h = hashlib.sha256()
    h.update(json.dumps([_GT_FORMAT_VERSION, sorted(names.items()), list(category_ids), single_cls]).encode())
    for im, lb in zip(images, labels):
        h.update(json.dumps([im, _stat(im), _stat(lb)]).encode())
    return h.hexdigest()


def _read_cached(out: Path, key: str) -> bool:
    try:
        with open(out, encoding="utf-8") as f:
            d = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(d, dict) and d.get("info", {}).get("yolo_ghost_cache_key") == key


# --------------------------------------------------------------------------------------------------------------------
# YOLO labels -> COCO ground truth


def _read_one(im_file: str, lb_file: str, single_cls: bool) -> tuple[tuple[int, int] | None, np.ndarray, str]:
    """``((height, width), labels (N, 5) cls+normalized xywh, message)`` of one image, ``(None, ...)`` if corrupt."""
    from ultralytics.data.utils import verify_image_label

    # A huge class count: labels of classes outside `names` are dropped by the caller (as ultralytics does for a model
    # with fewer classes than the dataset) rather than making the whole image "corrupt".
    im, lb, shape, *_, msg = verify_image_label((im_file, lb_file, "", False, 2**31, 0, 0, single_cls))
    if im is None:
        return None, np.zeros((0, 5), np.float32), msg
    return shape, lb, msg


def yolo_to_coco(
    images: Sequence[str | Path],
    names: Mapping[int, str],
    out: str | Path,
    *,
    category_ids: Sequence[int] | None = None,
    single_cls: bool = False,
) -> Path:
    """Write the COCO ground-truth JSON of a YOLO-format split and return its path.

    Args:
        images: the split's image files; each one's labels are found the ultralytics way (the last ``images/`` in the
            path becomes ``labels/``, the extension ``.txt``). A missing label file means an image without objects.
        names: class index -> name; labels of other classes are skipped (with a warning).
        out: the JSON to write. It is reused as is when a hash of the image paths, the image and label files' mtimes
            and sizes, ``names``, ``category_ids`` and ``single_cls`` is unchanged (the hash is stored under
            ``info.yolo_ghost_cache_key``).
        category_ids: COCO category id of each class index, in index order; default ``index + 1``. Give the official
            ids (``coco80_to_coco91_class()``) for real COCO.
        single_cls: count every label as class 0 (the ultralytics ``single_cls`` option).

    Image ids are ``image_id_map(images)`` (index in sorted path order); ``file_name`` is the path relative to the
    images' common folder. Boxes are ``[x, y, w, h]`` in pixels of the image as stored (EXIF rotation applied, as
    ultralytics loads it), ``area = w * h``, ``iscrowd = 0``. Corrupt images (those ultralytics would skip) are left
    out with a warning.
    """
    out = Path(out)
    ids = image_id_map(images)
    files = list(ids)  # sorted
    classes = sorted(int(k) for k in names)
    if category_ids is None:
        category_ids = [c + 1 for c in classes]
    category_ids = [int(c) for c in category_ids]
    if len(category_ids) != len(classes):
        raise ValueError(f"category_ids has {len(category_ids)} entries for {len(classes)} classes in names")
    cat_of = dict(zip(classes, category_ids))
    labels = _label_paths(files)
    key = _cache_key(files, labels, names, category_ids, single_cls)
    if _read_cached(out, key):
        return out

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        parsed = list(pool.map(lambda a: _read_one(a[0], a[1], single_cls), zip(files, labels)))

    root = os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in files]) if files else ""
    coco_images, annotations, skipped, corrupt = [], [], 0, []
    for f, (shape, lb, msg) in zip(files, parsed):
        if shape is None:
            corrupt.append(msg)
            continue
        h, w = shape
        coco_images.append(
            {"id": ids[f], "file_name": os.path.relpath(os.path.abspath(f), root), "width": w, "height": h}
        )
        for c, xc, yc, bw, bh in lb.tolist():
            c = 0 if single_cls else int(c)
            if c not in cat_of:
                skipped += 1
                continue
            box = [(xc - bw / 2) * w, (yc - bh / 2) * h, bw * w, bh * h]
            annotations.append(
                {
                    "id": len(annotations) + 1,  # COCOeval reads id 0 as "unmatched": ids start at 1
                    "image_id": ids[f],
                    "category_id": cat_of[c],
                    "bbox": box,
                    "area": box[2] * box[3],
                    "iscrowd": 0,
                }
            )
    if corrupt:
        LOGGER.warning("yolo_to_coco: %d corrupt image(s) left out, e.g. %s", len(corrupt), corrupt[0])
    if skipped:
        LOGGER.warning("yolo_to_coco: %d label(s) of classes not in names %s skipped", skipped, classes)
    gt = {
        "info": {"description": "YOLO labels converted by yolo-ghost", "yolo_ghost_cache_key": key},
        "images": coco_images,
        "annotations": annotations,
        "categories": [{"id": cat_of[c], "name": str(names[c]), "supercategory": ""} for c in classes],
    }
    return write_json_atomic(out, gt)


# --------------------------------------------------------------------------------------------------------------------
# pycocotools


def _quiet() -> contextlib.AbstractContextManager:
    """pycocotools prints progress to stdout; the report says what matters."""
    return contextlib.redirect_stdout(io.StringIO())


def _load_detections(dt: str | Path | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(dt, (str, Path)):
        with open(dt, encoding="utf-8") as f:
            dets = json.load(f)
        if not isinstance(dets, list):
            raise ValueError(f"{dt}: a COCO results file must hold a JSON list of detections")
        return dets
    return [dict(d) for d in dt]  # loadRes adds keys to each entry: leave the caller's untouched


def run_cocoeval(
    gt_json: str | Path,
    dt_json: str | Path | Sequence[Mapping[str, Any]],
    img_ids: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Score detections against ground truth with pycocotools ``COCOeval`` (bbox) and return the metrics.

    Args:
        gt_json: COCO ground-truth JSON.
        dt_json: COCO results JSON (a list of ``{image_id, category_id, bbox: [x, y, w, h], score}``), or the list.
            An empty list scores 0 wherever there is ground truth (pycocotools' ``loadRes`` itself fails on it).
        img_ids: evaluate these images only (default: all images of the ground truth).

    Returns:
        ``COCOeval.stats`` under ``STAT_KEYS`` (``AP50-95``, ``AP50``, ``AP75``, ``AP_small``, ..., ``AR100``, ...);
        ``per_class``: category name -> AP50-95, averaged over ``eval["precision"]`` exactly as ``summarize`` averages
        it (entries of -1 ignored), ``None`` for a class without ground truth; ``num_images``, ``num_detections``.
        As in pycocotools, -1 marks a metric with no ground truth to score against (e.g. ``AP_large`` without large
        objects).

    Raises:
        ValueError: a detection names an image or a category that the ground truth does not have.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with _quiet():
        gt = COCO(os.fspath(gt_json))
    dets = _load_detections(dt_json)
    known_images, known_cats = set(gt.getImgIds()), set(gt.getCatIds())
    bad_images = {d["image_id"] for d in dets} - known_images
    if bad_images:
        raise ValueError(
            f"{len(bad_images)} image id(s) in the detections are not in {gt_json}, e.g. {sorted(bad_images, key=str)[:5]}"
        )
    bad_cats = {d["category_id"] for d in dets} - known_cats
    if bad_cats:
        raise ValueError(
            f"category id(s) {sorted(bad_cats, key=str)} in the detections are not in {gt_json} "
            f"(it has {sorted(known_cats)})"
        )

    with _quiet():
        if dets:
            dt = gt.loadRes(dets)
        else:  # the same result object loadRes would build, with no annotations
            dt = COCO()
            dt.dataset = {
                "images": list(gt.dataset["images"]),
                "categories": gt.dataset["categories"],
                "annotations": [],
            }
            dt.createIndex()
        ev = COCOeval(gt, dt, iouType="bbox")
        if img_ids is not None:
            ev.params.imgIds = sorted(int(i) for i in img_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()

    result: dict[str, Any] = {k: float(v) for k, v in zip(STAT_KEYS, ev.stats)}
    # precision: [IoU thresholds, recall thresholds, categories, area ranges, max dets]; summarize() reads
    # area "all" (index 0) and maxDets=100 (the last) for AP50-95.
    precision = ev.eval["precision"]
    per_class: dict[str, float | None] = {}
    for k, cat_id in enumerate(ev.params.catIds):
        p = precision[:, :, k, 0, -1]
        p = p[p > -1]
        name = str(gt.cats[cat_id].get("name", cat_id))
        per_class[name] = float(np.mean(p)) if p.size else None
    result["per_class"] = per_class
    result["num_images"] = len(ev.params.imgIds)
    result["num_detections"] = len(dets)
    return result


def format_report(metrics: Mapping[str, Any], ultralytics: Mapping[str, float] | None = None) -> str:
    """The printed report: pycocotools' twelve numbers, the ultralytics mAP for comparison, AP50-95 per class.

    Args:
        metrics: the dict ``run_cocoeval`` returns.
        ultralytics: optionally ``{"mAP50-95": ..., "mAP50": ...}`` from the ultralytics validator.
    """

    def fmt(v: float | None) -> str:
        return "      -" if v is None or v < 0 else f"{v:7.3f}"

    lines = [
        f"COCO bbox evaluation (pycocotools): {metrics.get('num_images', '?')} images, "
        f"{metrics.get('num_detections', '?')} detections ('-': no ground truth in that range)"
    ]
    lines += [f"  {label} = {fmt(metrics[k])}   {k}" for k, label in zip(STAT_KEYS, _STAT_LABELS)]
    if ultralytics:
        lines.append(
            "  ultralytics validator (101-point interpolated, all detections): "
            + "  ".join(f"{k} {fmt(v).strip()}" for k, v in ultralytics.items())
        )
    per_class = metrics.get("per_class") or {}
    if per_class:
        width = max(12, *(len(n) for n in per_class))
        lines.append(f"  {'Class':<{width}}  AP50-95")
        lines += [f"  {name:<{width}}  {fmt(ap)}" for name, ap in per_class.items()]
    return "\n".join(lines)
