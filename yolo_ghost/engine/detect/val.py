"""The ultralytics detection validator with pycocotools AP for any YOLO-format dataset, and ``evaluate``.

``CocoDetectionValidator`` keeps everything ``DetectionValidator`` does (NMS, ultralytics mAP, plots, the trainer's
per-epoch validation) and also collects every prediction, scaled back to the original image, as a COCO result. At the
end it writes ``predictions.json``, scores it with pycocotools against the split's COCO ground truth (converted from
the YOLO labels, or the dataset's own COCO JSON), prints the report, writes ``metrics.json`` and adds the numbers to
the returned stats as ``metrics/coco_<name>(B)``.

ultralytics' own ``save_json`` path only knows real COCO / LVIS and evaluates with ``faster-coco-eval`` (which it tries
to pip-install); this validator replaces it, so ``save_json`` is ignored here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from ultralytics.models.yolo.detect import DetectionValidator
from ultralytics.utils import LOGGER, RANK

from yolo_ghost.cfg import ConfigError
from yolo_ghost.data.resolve import check_splits, resolve_data
from yolo_ghost.engine.detect.coco import STAT_KEYS, format_report, image_id_map, run_cocoeval, yolo_to_coco
from yolo_ghost.engine.detect.nms import per_class_nms
from yolo_ghost.engine.run_dir import next_run_dir, remove_new_run_on_failure
from yolo_ghost.engine.trainer import prepare_offline
from yolo_ghost.models.checkpoint import checkpoint_imgsz, trusted
from yolo_ghost.tools.export import export_metadata, exported_format
from yolo_ghost.utils.atomic import write_json_atomic

# YOLOv5's val.py defaults (ultralytics uses iou=0.7 for NMS; YOLOv5 reports its numbers with 0.6).
DEFAULT_CONF = 0.001
DEFAULT_IOU = 0.6
DEFAULT_MAX_DET = 300
DEFAULT_IMGSZ = 640
DEFAULT_PROJECT = "runs/val"


def _json_key_path(data: dict[str, Any], split: str) -> Path | None:
    """The COCO ground-truth JSON a dataset YAML names for ``split`` (``val_json:``, relative to ``path``)."""
    value = data.get(f"{split}_json")
    if not value:
        return None
    p = Path(value)
    if not p.is_absolute():
        p = Path(data.get("path") or ".") / p
    if not p.is_file():
        raise ConfigError(f"dataset '{split}_json: {value}' not found (looked for {p}); fix the path or remove the key")
    return p.resolve()


def _match_images(gt: dict[str, Any], im_files: list[str], gt_path: Path) -> dict[str, int]:
    """Map each image file to the id of the ground-truth image of the same file name (or path suffix)."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for im in gt.get("images", []):
        by_name.setdefault(Path(im["file_name"]).name, []).append(im)
    ids, missing = {}, []
    for f in im_files:
        candidates = by_name.get(Path(f).name, [])
        if len(candidates) > 1:  # the same name in several folders: the recorded path must end the file's path
            posix = Path(f).as_posix()
            candidates = [im for im in candidates if posix.endswith("/" + im["file_name"].lstrip("/"))]
        if len(candidates) != 1:
            missing.append(f)
            continue
        ids[f] = candidates[0]["id"]
    if missing:
        raise ConfigError(
            f"{len(missing)} of {len(im_files)} images have no single matching entry (by file name) in {gt_path}, "
            f"e.g. {missing[0]}; point '*_json:' at the ground truth of this split"
        )
    return ids


def _category_ids(gt: dict[str, Any], names: dict[int, str], coco_map: list[int] | None, gt_path: Path) -> list[int]:
    """COCO category id of each class index: by name, else the official COCO ids, else the sorted ids in order."""
    cats = gt.get("categories", [])
    by_name = {c.get("name"): c["id"] for c in cats}
    order = [names[i] for i in sorted(names)]
    if all(n in by_name for n in order):
        return [by_name[n] for n in order]
    if coco_map is not None:
        return list(coco_map[: len(order)])
    ids = sorted(c["id"] for c in cats)
    if len(ids) == len(order):
        return ids
    raise ConfigError(
        f"{gt_path}: cannot map the model's {len(order)} classes to its {len(ids)} categories (names differ); "
        "give the dataset YAML the category names of the JSON"
    )


class CocoDetectionValidator(DetectionValidator):
    """``DetectionValidator`` that also scores its predictions with pycocotools, for any YOLO-format dataset.

    Attributes:
        coco_eval_every_epoch: run pycocotools at every validation during training (default True; it costs one pass
            over the predictions). When False it runs only outside training (standalone and the final validation of
            ``best.pt``) or when ``final`` is set.
        final: force the pycocotools evaluation (the trainer sets it for its last validation).
        coco_metrics: after a call with pycocotools: the content of ``metrics.json``.

    Real COCO (ultralytics' ``is_coco``) keeps the official category ids and, when present, its
    ``annotations/instances_val2017.json``. A dataset YAML may name a COCO ground truth for a split (``val_json:``,
    relative to ``path``), which is then read instead of converting the YOLO labels.
    """

    coco_eval_every_epoch: bool = True

    def __init__(self, dataloader=None, save_dir=None, args=None, _callbacks: dict | None = None) -> None:
        """Arguments as ``DetectionValidator``; ``conf`` defaults to 0.001 and ``max_det`` to 300 as in ultralytics."""
        prepare_offline()  # the dataset check looks for a plotting font it would otherwise download
        super().__init__(dataloader, save_dir, args, _callbacks)
        self.final = False
        self.coco_metrics: dict[str, Any] | None = None
        self.coco_active = False
        self._gt_cache: dict[tuple, tuple[Path, dict[str, int], list[int]]] = {}
        self._gt: tuple[Path, dict[str, int], list[int]] | None = None

    @property
    def coco_final_only(self) -> bool:
        """The inverse of ``coco_eval_every_epoch`` (the trainer's spelling)."""
        return not self.coco_eval_every_epoch

    @coco_final_only.setter
    def coco_final_only(self, value: bool) -> None:
        self.coco_eval_every_epoch = not value

    # ----------------------------------------------------------------------------------------------------------------
    # ultralytics hooks

    def init_metrics(self, model: torch.nn.Module) -> None:
        """Set up the ultralytics metrics, then (when pycocotools will run) the COCO ground truth of this split."""
        super().init_metrics(model)
        # ultralytics' JSON path (faster-coco-eval, real COCO only) is replaced by ours: keep it off.
        self.args.save_json = False
        self.is_custom_json = self.build_gdict = False
        self.gdict = self.eval_ids = None
        self.coco_active = (not self.training) or self.coco_eval_every_epoch or self.final
        self.coco_metrics = None
        self._gt = None
        if self.coco_active and RANK in {-1, 0}:
            # Built before the first batch, so that a bad `val_json:` fails at once rather than after inference.
            self._gt = self._ground_truth()

    def postprocess(self, preds: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """The parent's NMS (multi-label, class-aware), one greedy pass per class (``yolo_ghost.engine.detect.nms``)."""
        if self.end2end or self.args.task != "detect":
            return super().postprocess(preds)
        outputs = per_class_nms(
            preds,
            self.args.conf,
            self.args.iou,
            max_det=self.args.max_det,
            agnostic=bool(self.args.single_cls or self.args.agnostic_nms),
        )
        return [{"bboxes": x[:, :4], "conf": x[:, 4], "cls": x[:, 5], "extra": x[:, 6:]} for x in outputs]

    def update_metrics(self, preds: list[dict[str, torch.Tensor]], batch: dict[str, Any]) -> None:
        """Update the ultralytics metrics, and keep every prediction in original-image pixels as a COCO result."""
        super().update_metrics(preds, batch)
        if not self.coco_active:
            return
        for si, pred in enumerate(preds):
            if pred["cls"].shape[0] == 0:
                continue
            pbatch = self._prepare_batch(si, batch)
            self.pred_to_json(self.scale_preds(self._prepare_pred(pred), pbatch), pbatch)

    def pred_to_json(self, predn: dict[str, torch.Tensor], pbatch: dict[str, Any]) -> None:
        """The parent's COCO result entries, keyed by image file and class index until the ground truth is known.

        (The parent derives image ids from numeric file stems, which only real COCO has. DDP gathers ``jdict`` to
        rank 0, which alone reads the ground truth and maps files and classes to its ids.)
        """
        start = len(self.jdict)
        super().pred_to_json(predn, pbatch)
        for d, c in zip(self.jdict[start:], predn["cls"].tolist()):
            d["image_id"] = pbatch["im_file"]
            d["category_id"] = int(c)  # the class index; the category id is looked up with the ground truth
            d.pop("file_name", None)

    def get_stats(self) -> dict[str, Any]:
        """The ultralytics stats, plus ``metrics/coco_<name>(B)`` from pycocotools when it runs."""
        stats = super().get_stats()
        if self.coco_active:
            self.coco_metrics = self._coco_evaluate(stats)
            stats.update({f"metrics/coco_{k}(B)": self.coco_metrics["pycocotools"][k] for k in STAT_KEYS})
        return stats

    def print_results(self) -> None:
        """The ultralytics table, then the pycocotools report."""
        super().print_results()
        if self.coco_metrics is not None:
            LOGGER.info(format_report(self.coco_metrics["pycocotools"], self.coco_metrics["ultralytics"]))

    # ----------------------------------------------------------------------------------------------------------------
    # COCO ground truth and evaluation

    def _ground_truth(self) -> tuple[Path, dict[str, int], list[int]]:
        """``(GT JSON, image file -> image id, category id per class index)`` for the images of this dataloader."""
        im_files = list(self.dataloader.dataset.im_files)
        split = self.args.split or "val"
        given = _json_key_path(self.data, split) if self.data else None
        if given is None and self.is_coco and split == "val":
            official = Path(self.data["path"]) / "annotations" / "instances_val2017.json"
            given = official if official.is_file() else None
        if given is not None and self.args.single_cls:
            LOGGER.warning(f"single_cls: scoring against the YOLO labels, not the per-class {given}")
            given = None

        if given is not None:
            st = given.stat()
            key = (str(given), st.st_mtime_ns, st.st_size, tuple(im_files), tuple(sorted(self.names.items())))
            if key not in self._gt_cache:  # a 5k-image JSON is worth reading once per run, not once per epoch
                with open(given, encoding="utf-8") as f:
                    gt = json.load(f)
                coco_map = list(self.class_map) if self.is_coco else None
                self._gt_cache = {
                    key: (given, _match_images(gt, im_files, given), _category_ids(gt, self.names, coco_map, given))
                }
            path, ids, cats = self._gt_cache[key]
        else:
            cats = [self.class_map[0]] if self.args.single_cls else list(self.class_map[: len(self.names)])
            names = {0: self.names[0]} if self.args.single_cls else self.names
            path = yolo_to_coco(
                im_files, names, self._gt_json_path(im_files, split), category_ids=cats, single_cls=self.args.single_cls
            )
            ids = image_id_map(im_files)
        return path, ids, cats

    def _gt_json_path(self, im_files: list[str], split: str) -> Path:
        """Where the converted ground truth is cached: beside the labels (like ultralytics' labels ``.cache``)."""
        from ultralytics.data.utils import img2label_paths

        if im_files:
            label_dir = Path(img2label_paths(im_files[:1])[0]).parent
            if label_dir.is_dir() and os.access(label_dir.parent, os.W_OK):
                return label_dir.parent / f"{label_dir.name}.coco_gt.json"
        return Path(self.save_dir) / f"{split}_coco_gt.json"

    def _coco_evaluate(self, stats: dict[str, Any]) -> dict[str, Any]:
        """Write predictions.json, score it with pycocotools, write metrics.json; return the metrics.json content."""
        gt_path, ids, cats = self._gt if self._gt is not None else self._ground_truth()
        detections = [
            {
                "image_id": ids[d["image_id"]],
                "category_id": cats[d["category_id"]],
                "bbox": d["bbox"],
                "score": d["score"],
            }
            for d in self.jdict
        ]
        save_dir = Path(self.save_dir)
        pred_path = write_json_atomic(save_dir / "predictions.json", detections)
        coco = run_cocoeval(gt_path, pred_path, img_ids=sorted(set(ids.values())))
        metrics = {
            "pycocotools": coco,
            "ultralytics": {
                "mAP50-95": float(stats.get("metrics/mAP50-95(B)", float("nan"))),
                "mAP50": float(stats.get("metrics/mAP50(B)", float("nan"))),
                "precision": float(stats.get("metrics/precision(B)", float("nan"))),
                "recall": float(stats.get("metrics/recall(B)", float("nan"))),
            },
            "gt_json": str(gt_path),
            "predictions_json": str(pred_path),
            "settings": {
                "conf": self.args.conf,
                "iou": self.args.iou,
                "max_det": self.args.max_det,
                "imgsz": self.args.imgsz,
                "split": self.args.split,
                "single_cls": self.args.single_cls,
                "device": str(self.device),
            },
        }
        write_json_atomic(save_dir / "metrics.json", metrics)
        return metrics


# --------------------------------------------------------------------------------------------------------------------
# Library entry point


def _export_imgsz(path: Path, fmt: str, imgsz: int | None) -> int:
    """The input size an exported model was written for (its exporter metadata), checked against a requested one.

    Raises:
        ConfigError: the export has no metadata with its size, or another ``imgsz`` is asked of a fixed-size export.
    """
    meta = export_metadata(path, fmt)
    if not meta.get("imgsz"):
        raise ConfigError(f"{path}: no export metadata with its input size; export it with `yolo-ghost export`")
    size = int(meta["imgsz"][0])
    if imgsz and imgsz != size and not (meta.get("args") or {}).get("dynamic"):
        raise ConfigError(f"--img {imgsz}: {path.name} was exported for {size}x{size} only; drop --img or re-export")
    return imgsz or size


def evaluate(
    weights: str | Path | torch.nn.Module,
    data: str | Path,
    imgsz: int | None = None,
    batch: int = 16,
    device: str = "",
    conf: float = DEFAULT_CONF,
    iou: float = DEFAULT_IOU,
    max_det: int = DEFAULT_MAX_DET,
    split: str = "val",
    project: str | Path = DEFAULT_PROJECT,
    name: str = "exp",
    exist_ok: bool = False,
    save_dir: str | Path | None = None,
    workers: int = 0,
    plots: bool = False,
    verbose: bool = True,
    trust_checkpoint: bool = False,
) -> dict[str, Any]:
    """Validate a detector on a YOLO-format split and return its metrics (the content of ``metrics.json``).

    Args:
        weights: a checkpoint (``.pt``, ultralytics format) or a model.
        data: dataset YAML path or a name ``resolve_data`` knows (``shapes``).
        imgsz: inference size; default: the checkpoint's training size, else 640.
        batch: images per batch.
        device: ``cpu``, ``0``, ...
        conf: confidence threshold before NMS (0.001: every detection counts towards AP).
        iou: NMS IoU threshold. 0.6 as YOLOv5's val.py (ultralytics' validator defaults to 0.7; the trainer's
            per-epoch validation keeps the training run's value).
        max_det: detections kept per image (pycocotools scores the best 100 of them, ultralytics all).
        split: dataset split to evaluate (``val`` or ``test``).
        project, name, exist_ok: results go to ``project/name`` (numbered ``name2``, ... unless ``exist_ok``).
        save_dir: write here instead of ``project/name``.
        workers: dataloader workers (ultralytics uses 0 on CPU).
        plots: save ultralytics' plots (off by default: no font needed).
        verbose: print the ultralytics per-class table.
        trust_checkpoint: load a checkpoint that needs types outside the allow-list of ``yolo_ghost.models.checkpoint``
            (this runs code from the file; only for files from someone you trust).

    Returns:
        ``{"pycocotools": run_cocoeval(...), "ultralytics": {mAP50-95, mAP50, precision, recall}, "gt_json",
        "predictions_json", "settings", "save_dir"}``.

    Raises:
        ConfigError: the weights or the dataset cannot be found or read, or the split holds no images.
    """
    prepare_offline()  # the dataset check and plots look for a font they would otherwise download
    out_dir = Path(save_dir).absolute() if save_dir else next_run_dir(project, name, exist_ok)
    data_yaml = resolve_data(data)
    check_splits(data_yaml, (split,))
    model = weights if isinstance(weights, torch.nn.Module) else None
    fmt = None if model is not None else exported_format(weights)
    if model is None:
        path = Path(weights)
        if not path.exists() or (fmt is None and not path.is_file()):
            raise ConfigError(
                f"weights {str(weights)!r} not found; give a checkpoint such as runs/train/exp/weights/best.pt or an "
                "exported model (best.onnx, best_openvino_model/, best.torchscript, best_ncnn_model/)"
            )
        if fmt is None:
            trained_at = checkpoint_imgsz(path, trust=trust_checkpoint)  # read first: a bad file is refused in one line
            imgsz = imgsz or trained_at
        else:
            imgsz = _export_imgsz(path, fmt, imgsz)
    args = {
        "task": "detect",
        "mode": "val",
        "model": None if model is not None else str(Path(weights).resolve()),
        "data": str(data_yaml),
        "imgsz": imgsz or DEFAULT_IMGSZ,
        "batch": batch,
        "device": device,
        "conf": conf,
        "iou": iou,
        "max_det": max_det,
        "split": split,
        "project": str(out_dir.parent),
        "name": out_dir.name,
        "exist_ok": exist_ok,
        "workers": workers,
        "plots": plots,
        "verbose": verbose,
        "rect": False,  # the protocol: square letterbox at imgsz, as the exported fixed-size model is fed
    }
    with remove_new_run_on_failure(out_dir), trusted(trust_checkpoint):
        validator = CocoDetectionValidator(save_dir=out_dir, args=args)
        validator(model=model)
    assert validator.coco_metrics is not None  # standalone validation always runs pycocotools
    return {**validator.coco_metrics, "save_dir": str(validator.save_dir)}
