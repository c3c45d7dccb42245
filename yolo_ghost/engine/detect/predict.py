"""Boxes on your own images: ``predict`` runs a checkpoint or an exported model through the ultralytics predictor.

The ultralytics predictor does the work (loading images, folders, globs, videos and webcams, letterbox, the
backend of each export format, NMS, drawing and video writing); yolo-ghost adds safe checkpoint loading, the run
folder rules of every other command, COCO-format results (``predictions.json``) and one summary: images,
detections and milliseconds per image, on the device that ran them.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from yolo_ghost.cfg import ConfigError
from yolo_ghost.data.shapes import resolve_builtin_dataset
from yolo_ghost.engine.run_dir import next_run_dir, remove_new_run_on_failure
from yolo_ghost.engine.trainer import clear_errors, prepare_offline
from yolo_ghost.models.checkpoint import checkpoint_imgsz, trusted
from yolo_ghost.tools.export import cpu_formats, exported_format
from yolo_ghost.utils.atomic import write_json_atomic

DEFAULT_PROJECT = "runs/predict"
# YOLOv5's detect.py defaults.
DEFAULT_CONF = 0.25
DEFAULT_IOU = 0.45
DEFAULT_MAX_DET = 1000
# The export formats predict takes (the file or folder suffix of each is the exporter's, ``cpu_formats``).
PREDICT_FORMATS = ("onnx", "torchscript", "openvino", "ncnn")


def check_weights(weights: str | Path, trust: bool = False) -> tuple[Path, int | None]:
    """The model to predict with and the size it was trained at (None for an export, whose metadata says it).

    Raises:
        ConfigError: nothing there, a format the predictor does not read, or a ``.pt`` the safe loader refuses.
    """
    p = Path(weights)
    if not p.exists():
        raise ConfigError(f"--weights {str(weights)!r}: file not found")
    if p.suffix != ".pt" and exported_format(p) not in PREDICT_FORMATS:
        exports = [cpu_formats()[f] for f in PREDICT_FORMATS]
        raise ConfigError(
            f"--weights {str(weights)!r}: not a model the predictor reads; give a .pt checkpoint or an export "
            f"({', '.join(exports)})"
        )
    return p, checkpoint_imgsz(p, trust=trust)  # None for an export


def check_source(source: str | Path) -> tuple[str, int | None]:
    """The source as the predictor takes it and how many images and videos it holds (None for a webcam or stream);
    a built-in dataset's name stands for its validation images.

    Raises:
        ConfigError: a path or glob that matches nothing.
    """
    from ultralytics.data.utils import IMG_FORMATS, VID_FORMATS

    s = str(source)
    if s.isnumeric() or "://" in s:  # a webcam index or a stream
        return s, None
    p = Path(s).expanduser()
    if not p.exists() and (builtin := resolve_builtin_dataset(s)) is not None:  # `--source shapes`: its val images
        info = yaml.safe_load(builtin.read_text())
        p = Path(info["path"]) / info["val"]
    if p.is_dir():
        files = [f for f in sorted(p.iterdir()) if f.suffix[1:].lower() in IMG_FORMATS | VID_FORMATS]
    elif any(c in s for c in "*?["):
        files = [Path(f) for f in sorted(glob.glob(s, recursive=True))]
    else:
        files = [p] if p.is_file() else []
    if not files:
        raise ConfigError(f"--source {s!r}: no such file, or no image or video in it")
    return str(p) if p.exists() else s, len(files)


def _coco_rows(result: Any) -> list[dict[str, Any]]:
    """One image's boxes in the COCO results format: image_id (the file stem, as a number when it is one),
    category_id (the class index), bbox ``[x, y, w, h]`` in pixels from the top-left corner, score."""
    stem = Path(result.path).stem
    image_id: int | str = int(stem) if stem.isnumeric() else stem
    rows = []
    for xyxy, cls, score in zip(result.boxes.xyxy.tolist(), result.boxes.cls.tolist(), result.boxes.conf.tolist()):
        x1, y1, x2, y2 = (round(v, 3) for v in xyxy)
        rows.append(
            {"image_id": image_id, "category_id": int(cls), "bbox": [x1, y1, round(x2 - x1, 3), round(y2 - y1, 3)],
             "score": round(score, 5)}
        )  # fmt: skip
    return rows


def predict(
    weights: str | Path,
    source: str | Path,
    imgsz: int | None = None,
    conf: float = DEFAULT_CONF,
    iou: float = DEFAULT_IOU,
    max_det: int = DEFAULT_MAX_DET,
    classes: Sequence[int] | None = None,
    device: str = "",
    save: bool = True,
    save_txt: bool = False,
    save_json: bool = False,
    project: str | Path = DEFAULT_PROJECT,
    name: str = "exp",
    exist_ok: bool = False,
    trust_checkpoint: bool = False,
    verbose: bool = True,
) -> dict[str, Any]:
    """Detect objects in ``source`` with ``weights`` and save what was found in ``project/name``.

    Args:
        weights: a ``.pt`` checkpoint or an exported model (``.onnx``, ``*_openvino_model/``, ``.torchscript``,
            ``*_ncnn_model/``).
        source: an image, a folder, a glob, a video file, a webcam index (``0``), or a built-in dataset's name
            (``shapes``: its validation images).
        imgsz: inference size (default: the checkpoint's training size; an export's own size); the predictor rounds
            it up to the stride.
        conf, iou, max_det, classes: NMS confidence and IoU thresholds, detections kept per image, classes kept.
        device: ``""`` = the first CUDA device when there is one, else the CPU; ``cpu``, ``0``, ...
        save, save_txt, save_json: annotated images or videos; YOLO-format ``labels/*.txt``; ``predictions.json``
            in the COCO results format.
        project, name, exist_ok: the run folder, as for every other command.
        trust_checkpoint: load a checkpoint needing types outside the allow-list (runs code from the file).
        verbose: print one line per image, a progress bar and the total.

    Returns:
        ``{"images", "detections", "ms_per_image", "speed" (preprocess / inference / postprocess ms per image),
        "device", "save_dir", "predictions_json" (with ``save_json``)}``.

    Raises:
        ConfigError: missing or unreadable weights, a source that matches nothing, a run name outside ``project``.
    """
    from ultralytics import YOLO
    from ultralytics.utils import TQDM

    prepare_offline()
    save_dir = next_run_dir(project, name, exist_ok)
    path, trained_at = check_weights(weights, trust_checkpoint)
    src, n_files = check_source(source)
    for k, v, lo, hi in (("conf", conf, 0.0, 1.0), ("iou", iou, 0.0, 1.0)):
        if not lo <= v <= hi:
            raise ConfigError(f"--{k} {v}: must be in [{lo:g}, {hi:g}]")
    totals = {"images": 0, "detections": 0}
    speed = {"preprocess": 0.0, "inference": 0.0, "postprocess": 0.0}
    coco: list[dict[str, Any]] = []
    with clear_errors(), remove_new_run_on_failure(save_dir), trusted(trust_checkpoint):
        model = YOLO(str(path), task="detect")
        size = {"imgsz": imgsz or trained_at} if imgsz or trained_at else {}  # an export's metadata has its own
        results = model.predict(
            source=src, **size, conf=conf, iou=iou, max_det=max_det,
            classes=list(classes) if classes else None, device=device, save=save, save_txt=save_txt,
            project=str(save_dir.parent), name=save_dir.name, exist_ok=True, stream=True, verbose=False,
        )  # fmt: skip
        bar = TQDM(results, total=n_files, desc="predict", disable=not verbose or not n_files or n_files < 2)
        for r in bar:
            totals["images"] += 1
            totals["detections"] += len(r.boxes)
            for k in speed:
                speed[k] += float(r.speed.get(k) or 0.0)
            if save_json:
                coco += _coco_rows(r)
            if verbose:
                found = r.verbose().rstrip(", ") or "no detections"
                line = (
                    f"{Path(r.path).name}: {r.orig_shape[1]}x{r.orig_shape[0]} {found}, {sum(r.speed.values()):.1f} ms"
                )
                if n_files and n_files > 1:
                    bar.write(line)  # above the progress bar
                else:
                    print(line)
        dev = str(model.predictor.device) if model.predictor is not None else str(device)
    n = max(totals["images"], 1)
    out: dict[str, Any] = {
        **totals,
        "ms_per_image": sum(speed.values()) / n,
        "speed": {k: v / n for k, v in speed.items()},
        "device": dev,
        "save_dir": str(save_dir),
    }
    if save_json:
        save_dir.mkdir(parents=True, exist_ok=True)
        out["predictions_json"] = str(write_json_atomic(save_dir / "predictions.json", coco))
    return out


def format_summary(s: dict[str, Any]) -> str:
    """The total ``yolo-ghost predict`` prints."""
    sp = s["speed"]
    return (
        f"{s['images']} images, {s['detections']} detections, {s['ms_per_image']:.1f} ms per image on {s['device']} "
        f"({sp['preprocess']:.1f} preprocess, {sp['inference']:.1f} inference, {sp['postprocess']:.1f} postprocess)\n"
        f"results: {s['save_dir']}"
    )
