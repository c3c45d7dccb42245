"""COCO evaluation: YOLO -> COCO ground truth, pycocotools metrics, the validator end to end, and the CLI."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from yolo_ghost.cfg import ConfigError
from yolo_ghost.data.resolve import resolve_data
from yolo_ghost.engine.detect.coco import STAT_KEYS, format_report, image_id_map, run_cocoeval, yolo_to_coco
from yolo_ghost.engine.detect.nms import per_class_nms
from yolo_ghost.engine.detect.val import CocoDetectionValidator, evaluate
from yolo_ghost.utils.atomic import write_json_atomic

ROOT = Path(__file__).resolve().parents[1]
NAMES = {0: "red", 1: "green"}


def make_dataset(root: Path, n_val: int = 8, seed: int = 0) -> Path:
    """A YOLO-format dataset of filled rectangles of two colours on images of different sizes.

    ``val/0`` has no label file (an image without objects) and ``val/1`` is labelled with polygons (ultralytics turns
    them into their bounding boxes). Returns the dataset YAML.
    """
    rng = np.random.default_rng(seed)
    for split, n in (("train", 2), ("val", n_val)):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            h, w = int(rng.integers(48, 130)), int(rng.integers(48, 130))
            im = np.full((h, w, 3), 40, np.uint8)
            rows = []
            for _ in range(int(rng.integers(1, 4))):
                c = int(rng.integers(0, 2))
                bw, bh = rng.uniform(0.2, 0.5), rng.uniform(0.2, 0.5)
                xc, yc = rng.uniform(bw / 2, 1 - bw / 2), rng.uniform(bh / 2, 1 - bh / 2)
                x0, y0, x1, y1 = xc - bw / 2, yc - bh / 2, xc + bw / 2, yc + bh / 2
                colour = (0, 0, 255) if c == 0 else (0, 255, 0)
                cv2.rectangle(im, (int(x0 * w), int(y0 * h)), (int(x1 * w), int(y1 * h)), colour, -1)
                if split == "val" and i == 1:
                    rows.append(f"{c} {x0:.6f} {y0:.6f} {x1:.6f} {y0:.6f} {x1:.6f} {y1:.6f} {x0:.6f} {y1:.6f}")
                else:
                    rows.append(f"{c} {xc:.6f} {yc:.6f} {bw:.6f} {bh:.6f}")
            ext = "png" if i % 2 else "jpg"
            cv2.imwrite(str(root / "images" / split / f"im{i}.{ext}"), im)
            if not (split == "val" and i == 0):
                (root / "labels" / split / f"im{i}.txt").write_text("\n".join(rows) + "\n")
    data = root / "data.yaml"
    data.write_text(yaml.safe_dump({"path": str(root), "train": "images/train", "val": "images/val", "names": NAMES}))
    return data


def val_images(root: Path) -> list[Path]:
    return sorted((root / "images" / "val").iterdir())


def expected_boxes(image: Path) -> list[tuple[int, list[float]]]:
    """(class, [x, y, w, h] pixels) of an image's labels, computed independently of the code under test."""
    h, w = cv2.imread(str(image)).shape[:2]
    label = image.parent.parent.parent / "labels" / "val" / f"{image.stem}.txt"
    out = []
    if not label.exists():
        return out
    for row in label.read_text().split("\n"):
        if not row.strip():
            continue
        v = [float(x) for x in row.split()]
        if len(v) > 5:  # polygon
            xs, ys = v[1::2], v[2::2]
            out.append((int(v[0]), [min(xs) * w, min(ys) * h, (max(xs) - min(xs)) * w, (max(ys) - min(ys)) * h]))
        else:
            c, xc, yc, bw, bh = v
            out.append((int(c), [(xc - bw / 2) * w, (yc - bh / 2) * h, bw * w, bh * h]))
    return out


@pytest.fixture
def no_network(monkeypatch) -> list[str]:
    """Refuses (and records) every outgoing connection and DNS lookup."""
    attempts: list[str] = []

    def refuse(name):
        def f(*args, **kwargs):
            attempts.append(f"{name}{args[:2]}")
            raise OSError(f"network blocked by test ({name})")

        return f

    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    return attempts


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("ds")).parent


@pytest.fixture(scope="module")
def gt_json(dataset, tmp_path_factory) -> Path:
    return yolo_to_coco(val_images(dataset), NAMES, tmp_path_factory.mktemp("gt") / "gt.json")


def perturbed(gt: dict, seed: int, jitter: float = 0.1, false_pos: int = 6) -> list[dict]:
    """Ground-truth boxes moved by ``jitter`` x their size, some with the wrong class, extra false positives, and
    random scores: detections with a known, non-trivial AP."""
    rng = np.random.default_rng(seed)
    dets = []
    for a in gt["annotations"]:
        x, y, w, h = a["bbox"]
        dx, dy, dw, dh = rng.normal(0, jitter, 4)
        cat = a["category_id"] if rng.random() > 0.15 else 3 - a["category_id"]
        box = [x + dx * w, y + dy * h, w * (1 + dw), h * (1 + dh)]
        dets.append({"image_id": a["image_id"], "category_id": cat, "bbox": box, "score": float(rng.random())})
    for _ in range(false_pos):
        im = gt["images"][int(rng.integers(len(gt["images"])))]
        box = [float(rng.uniform(0, im["width"] / 2)), float(rng.uniform(0, im["height"] / 2)), 20.0, 15.0]
        dets.append({"image_id": im["id"], "category_id": int(rng.integers(1, 3)), "bbox": box, "score": 0.5})
    return dets


def pycocotools_direct(gt_path: Path, dt_path: Path) -> np.ndarray:
    """The reference: pycocotools called the documented way on the two files."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        ev = COCOeval(gt, gt.loadRes(str(dt_path)), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


# --------------------------------------------------------------------------------------------------------------------
# YOLO labels -> COCO ground truth


def test_yolo_to_coco_images_boxes_and_categories(dataset, gt_json):
    gt = json.loads(gt_json.read_text())
    images = val_images(dataset)
    ids = image_id_map(images)
    assert ids == {str(p): i for i, p in enumerate(images)}  # index in sorted order
    assert [im["id"] for im in gt["images"]] == list(range(len(images)))
    for im, path in zip(gt["images"], images):
        h, w = cv2.imread(str(path)).shape[:2]
        assert (im["file_name"], im["width"], im["height"]) == (path.name, w, h)
    assert gt["categories"] == [
        {"id": 1, "name": "red", "supercategory": ""},
        {"id": 2, "name": "green", "supercategory": ""},
    ]

    expected = [(ids[str(p)], c + 1, box) for p in images for c, box in expected_boxes(p)]
    got = [(a["image_id"], a["category_id"], a["bbox"]) for a in gt["annotations"]]
    assert len(got) == len(expected) > len(images)
    for (ei, ec, eb), (gi, gc, gb) in zip(expected, got):
        assert (ei, ec) == (gi, gc)
        np.testing.assert_allclose(gb, eb, atol=1e-3)  # pixels (float32 labels)
    assert all(a["area"] == pytest.approx(a["bbox"][2] * a["bbox"][3]) and a["iscrowd"] == 0 for a in gt["annotations"])
    assert [a["id"] for a in gt["annotations"]] == list(range(1, len(got) + 1))
    assert not any(a["image_id"] == ids[str(images[0])] for a in gt["annotations"])  # no label file: no objects
    assert sum(a["image_id"] == ids[str(images[1])] for a in gt["annotations"]) == len(expected_boxes(images[1]))


def test_yolo_to_coco_official_category_ids_and_single_cls(dataset, tmp_path):
    gt = json.loads(yolo_to_coco(val_images(dataset), NAMES, tmp_path / "a.json", category_ids=[7, 3]).read_text())
    assert {a["category_id"] for a in gt["annotations"]} == {7, 3}
    assert [c["id"] for c in gt["categories"]] == [7, 3]
    one = json.loads(yolo_to_coco(val_images(dataset), {0: "item"}, tmp_path / "b.json", single_cls=True).read_text())
    assert {a["category_id"] for a in one["annotations"]} == {1}
    assert len(one["annotations"]) == len(gt["annotations"])


def test_ground_truth_cache_is_reused_and_a_changed_label_rebuilds_it(tmp_path):
    root = make_dataset(tmp_path / "ds", n_val=4).parent
    out = tmp_path / "gt.json"
    yolo_to_coco(val_images(root), NAMES, out)
    first = out.stat().st_mtime_ns
    os.utime(out, ns=(first - 10**9, first - 10**9))  # so that a rewrite shows in the mtime
    yolo_to_coco(val_images(root), NAMES, out)
    assert out.stat().st_mtime_ns == first - 10**9  # unchanged inputs: the file was not rewritten

    label = root / "labels" / "val" / "im2.txt"
    label.write_text("0 0.5 0.5 0.5 0.25\n")
    gt = json.loads(yolo_to_coco(val_images(root), NAMES, out).read_text())
    ann = [a for a in gt["annotations"] if a["image_id"] == 2]
    h, w = cv2.imread(str(val_images(root)[2])).shape[:2]
    assert len(ann) == 1 and ann[0]["bbox"] == pytest.approx([0.25 * w, 0.375 * h, 0.5 * w, 0.25 * h])
    assert not list(tmp_path.glob(".gt.json.tmp*"))  # atomic write leaves no temporary file

    changed = json.loads(yolo_to_coco(val_images(root), {0: "a", 1: "b"}, out).read_text())  # new names: rebuilt
    assert [c["name"] for c in changed["categories"]] == ["a", "b"]


# --------------------------------------------------------------------------------------------------------------------
# run_cocoeval


def test_perfect_detections_score_one(gt_json, tmp_path):
    gt = json.loads(gt_json.read_text())
    dets = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 0.9}
        for a in gt["annotations"]
    ]
    m = run_cocoeval(gt_json, write_json_atomic(tmp_path / "dt.json", dets))
    for k in ("AP50-95", "AP50", "AP75", "AR100"):
        assert m[k] == pytest.approx(1.0), k
    assert m["per_class"] == {"red": pytest.approx(1.0), "green": pytest.approx(1.0)}
    assert m["num_detections"] == len(dets) and m["num_images"] == len(gt["images"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_imperfect_detections_equal_pycocotools_called_directly(gt_json, tmp_path, seed):
    dets = perturbed(json.loads(gt_json.read_text()), seed)
    dt_json = write_json_atomic(tmp_path / "dt.json", dets)
    m = run_cocoeval(gt_json, dt_json)
    reference = pycocotools_direct(gt_json, dt_json)
    assert [m[k] for k in STAT_KEYS] == reference.tolist()  # exactly: the same computation
    assert 0.1 < m["AP50-95"] < 0.9  # non-trivial
    assert m["per_class"]["red"] != m["per_class"]["green"]
    # all classes have ground truth: the mean of the per-class APs is AP50-95 (pycocotools averages the same entries)
    assert np.mean(list(m["per_class"].values())) == pytest.approx(m["AP50-95"], abs=1e-12)
    assert run_cocoeval(gt_json, dets) == m  # a list works as well as a file, and is left as it was
    assert set(dets[0]) == {"image_id", "category_id", "bbox", "score"}


def test_empty_detections_score_zero(gt_json, tmp_path):
    m = run_cocoeval(gt_json, write_json_atomic(tmp_path / "dt.json", []))
    gt = json.loads(gt_json.read_text())
    has_large = any(a["area"] > 96**2 for a in gt["annotations"])
    for k in STAT_KEYS:
        # pycocotools' -1: no ground truth in that area range (these images have no large objects)
        assert m[k] == (-1.0 if k.endswith("_large") and not has_large else 0.0), k
    assert m["per_class"] == {"red": 0.0, "green": 0.0} and m["num_detections"] == 0
    assert "AP50-95" in format_report(m)


def test_detections_for_unknown_images_or_categories_are_refused(gt_json):
    good = {"image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.5}
    with pytest.raises(ValueError, match="image id"):
        run_cocoeval(gt_json, [{**good, "image_id": 999}])
    with pytest.raises(ValueError, match=r"category id\(s\) \[42\]"):
        run_cocoeval(gt_json, [{**good, "category_id": 42}])


def test_report_lists_every_metric_and_class(gt_json):
    m = run_cocoeval(gt_json, perturbed(json.loads(gt_json.read_text()), 0))
    text = format_report(m, {"mAP50-95": 0.25, "mAP50": 0.5})
    for k in (*STAT_KEYS, "red", "green", "mAP50-95 0.250"):
        assert k in text, k
    assert f"{m['AP50-95']:7.3f}" in text


# --------------------------------------------------------------------------------------------------------------------
# The validator


def tiny_model(seed: int = 0) -> torch.nn.Module:
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(seed)
    model = DetectionModel("yolov5n.yaml", nc=2, verbose=False)
    model.names = dict(NAMES)
    return model


class OracleValidator(CocoDetectionValidator):
    """Replaces the network's detections by perturbed ground truth with random scores before both metrics see them.

    So the ultralytics mAP and pycocotools score the same, non-trivial predictions through the whole validator
    (letterbox coordinates, scaling back, JSON, image and category ids).
    """

    seed = 0

    def init_metrics(self, model: torch.nn.Module) -> None:
        super().init_metrics(model)
        self.gen = torch.Generator().manual_seed(self.seed)

    def update_metrics(self, preds, batch) -> None:
        g, fake = self.gen, []
        for si in range(len(preds)):
            pb = self._prepare_batch(si, batch)
            boxes, cls = pb["bboxes"], pb["cls"].clone()
            size = (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2)
            boxes = boxes + torch.randn(boxes.shape, generator=g) * 0.08 * size
            flip = torch.rand(len(cls), generator=g) < 0.15
            cls[flip] = 1 - cls[flip]
            k = int(torch.randint(0, 4, (1,), generator=g))  # false positives
            s = torch.tensor(pb["imgsz"], dtype=torch.float)[[1, 0, 1, 0]]
            xy = torch.rand(k, 2, generator=g) * s[:2] * 0.7
            boxes = torch.cat([boxes, torch.cat([xy, xy + 5 + torch.rand(k, 2, generator=g) * s[:2] * 0.3], 1)])
            boxes = boxes.clamp(min=torch.zeros(4), max=s)
            cls = torch.cat([cls, torch.randint(0, 2, (k,), generator=g).float()])
            conf = torch.rand(len(cls), generator=g)
            order = conf.argsort(descending=True)  # NMS output order, which ultralytics' matching relies on
            fake.append(
                {"bboxes": boxes[order], "conf": conf[order], "cls": cls[order], "extra": torch.zeros(len(order), 0)}
            )
        super().update_metrics(fake, batch)


def test_evaluate_writes_predictions_and_metrics_consistent_with_pycocotools(dataset, tmp_path, no_network):
    result = evaluate(tiny_model(), dataset / "data.yaml", imgsz=64, batch=4, save_dir=tmp_path / "run")
    assert no_network == []
    run = Path(result["save_dir"])
    assert run == tmp_path / "run"
    written = json.loads((run / "metrics.json").read_text())
    assert written == {k: v for k, v in result.items() if k != "save_dir"}
    preds = json.loads((run / "predictions.json").read_text())
    gt_path = Path(written["gt_json"])
    assert gt_path == dataset / "labels" / "val.coco_gt.json"  # cached beside the labels
    assert len(preds) == written["pycocotools"]["num_detections"] > 0  # conf 0.001: a random model still detects
    ids = {im["id"] for im in json.loads(gt_path.read_text())["images"]}
    assert {p["image_id"] for p in preds} <= ids and {p["category_id"] for p in preds} <= {1, 2}
    assert written["pycocotools"] == run_cocoeval(gt_path, run / "predictions.json")
    assert written["settings"] == {
        "conf": 0.001,
        "iou": 0.6,
        "max_det": 300,
        "imgsz": 64,
        "split": "val",
        "single_cls": False,
        "device": "cuda:0" if torch.cuda.is_available() else "cpu",  # what '' chose
    }
    u = written["ultralytics"]
    assert set(u) == {"mAP50-95", "mAP50", "precision", "recall"} and all(0 <= v <= 1 for v in u.values())


def test_validator_agrees_with_the_ultralytics_map_on_the_same_predictions(dataset, tmp_path):
    v = OracleValidator(
        args={"data": str(dataset / "data.yaml"), "imgsz": 64, "batch": 4, "plots": False, "iou": 0.6},
        save_dir=tmp_path,
    )
    stats = v(model=tiny_model())
    coco, ultra = v.coco_metrics["pycocotools"], v.coco_metrics["ultralytics"]
    assert 0.1 < coco["AP50-95"] < 0.9  # non-trivial
    assert abs(coco["AP50-95"] - ultra["mAP50-95"]) < 0.02, (coco["AP50-95"], ultra["mAP50-95"])
    assert abs(coco["AP50"] - ultra["mAP50"]) < 0.02, (coco["AP50"], ultra["mAP50"])
    assert stats["metrics/coco_AP50-95(B)"] == coco["AP50-95"]
    assert stats["metrics/mAP50-95(B)"] == ultra["mAP50-95"]
    assert {f"metrics/coco_{k}(B)" for k in STAT_KEYS} <= set(stats)
    # the predictions went through the ultralytics scaling to original pixels: they match the ground truth file
    assert v.coco_metrics["pycocotools"] == run_cocoeval(v.coco_metrics["gt_json"], tmp_path / "predictions.json")


def test_dataset_yaml_val_json_is_used_with_its_own_ids(dataset, tmp_path):
    """A COCO ground truth with other image ids, category ids and order scores the same as the converted one."""
    data = yaml.safe_load((dataset / "data.yaml").read_text())
    gt = json.loads((yolo_to_coco(val_images(dataset), NAMES, tmp_path / "conv.json")).read_text())
    remap_cat = {1: 17, 2: 5}
    for im in gt["images"]:
        im["id"] += 1000
        im["file_name"] = f"images/val/{im['file_name']}"
    for a in gt["annotations"]:
        a["image_id"] += 1000
        a["category_id"] = remap_cat[a["category_id"]]
    gt["categories"] = [{"id": 5, "name": "green"}, {"id": 17, "name": "red"}]
    (dataset / "annotations").mkdir(exist_ok=True)
    (dataset / "annotations" / "val.json").write_text(json.dumps(gt))
    (tmp_path / "with_json.yaml").write_text(yaml.safe_dump({**data, "val_json": "annotations/val.json"}))

    results = {}
    for key, y in (("converted", dataset / "data.yaml"), ("given", tmp_path / "with_json.yaml")):
        v = OracleValidator(args={"data": str(y), "imgsz": 64, "batch": 4, "plots": False}, save_dir=tmp_path / key)
        v(model=tiny_model())
        results[key] = v.coco_metrics
    assert results["given"]["gt_json"] == str(dataset / "annotations" / "val.json")
    preds = json.loads((tmp_path / "given" / "predictions.json").read_text())
    assert {p["category_id"] for p in preds} == {5, 17} and min(p["image_id"] for p in preds) >= 1000
    assert results["given"]["pycocotools"] == results["converted"]["pycocotools"]

    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({**data, "val_json": "annotations/missing.json"}))
    with pytest.raises(ConfigError, match=r"val_json: annotations/missing\.json"):
        evaluate(tiny_model(), tmp_path / "bad.yaml", imgsz=64, save_dir=tmp_path / "bad")


def test_pycocotools_can_be_kept_for_the_final_validation_only(dataset, tmp_path):
    """During training (the trainer's validator), pycocotools runs per epoch unless switched to the final one."""
    from copy import copy

    from ultralytics.models.yolo.detect import DetectionTrainer

    class Trainer(DetectionTrainer):
        every_epoch = True

        def get_validator(self):
            self.loss_names = "box_loss", "cls_loss", "dfl_loss"
            v = CocoDetectionValidator(
                self.test_loader, save_dir=self.save_dir, args=copy(self.args), _callbacks=self.callbacks
            )
            v.coco_eval_every_epoch = self.every_epoch
            return v

    rows = {}
    for every in (True, False):
        Trainer.every_epoch = every
        t = Trainer(
            overrides={
                "model": "yolov5n.yaml",
                "data": str(dataset / "data.yaml"),
                "epochs": 1,
                "imgsz": 64,
                "batch": 4,
                "workers": 0,
                "device": "cpu",
                "plots": False,
                "amp": False,
                "project": str(tmp_path),
                "name": f"every_{every}",
            }
        )
        t.train()
        header = (t.save_dir / "results.csv").read_text().splitlines()[0]
        rows[every] = header
        assert t.validator.coco_final_only is (not every)
        assert "metrics/coco_AP50-95(B)" in t.metrics  # the final validation of best.pt always scores with pycocotools
        assert (t.save_dir / "metrics.json").is_file() and (t.save_dir / "predictions.json").is_file()
    assert "metrics/coco_AP50-95(B)" in rows[True]
    assert "metrics/coco_AP50-95(B)" not in rows[False] and "metrics/mAP50-95(B)" in rows[False]


# --------------------------------------------------------------------------------------------------------------------
# Datasets by name and the command line


def test_resolve_data_takes_paths_and_refuses_unknown_names(dataset):
    assert resolve_data(dataset / "data.yaml") == (dataset / "data.yaml").resolve()
    with pytest.raises(ConfigError, match="not found"):
        resolve_data("no-such-dataset.yaml")


def test_cli_help_explains_every_flag(capsys):
    from val_det import parse_args

    with pytest.raises(SystemExit) as e:
        parse_args(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--weights", "--data", "--img", "--batch-size", "--device", "--conf-thres", "--iou-thres",
                 "--max-det", "--project", "--name", "--exist-ok"):  # fmt: skip
        assert flag in text, flag
    assert "YOLOv5" in text and "0.001" in text


def test_cli_evaluates_a_checkpoint(dataset, tmp_path):
    ckpt = tmp_path / "tiny.pt"
    torch.save({"model": tiny_model().half(), "train_args": {"imgsz": 64}}, ckpt)
    out = subprocess.run(
        [sys.executable, str(ROOT / "val_det.py"), "--weights", str(ckpt), "--data", str(dataset / "data.yaml"),
         "--project", str(tmp_path / "runs")],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "YOLO_OFFLINE": "1"}, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    metrics = json.loads((tmp_path / "runs" / "exp" / "metrics.json").read_text())
    assert metrics["settings"]["imgsz"] == 64  # the checkpoint's training size
    assert math.isfinite(metrics["pycocotools"]["AP50-95"])
    assert f"COCO AP50-95 {metrics['pycocotools']['AP50-95']:.4f}" in out.stdout
    assert "AP  @[IoU=0.50:0.95 | area=   all | maxDets=100]" in out.stdout + out.stderr  # the report


def test_cli_bad_input_gives_one_clear_line(dataset, tmp_path, capsys):
    from val_det import main

    ckpt = tmp_path / "tiny.pt"
    torch.save({"model": tiny_model().half()}, ckpt)
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    empty = make_dataset(tmp_path / "empty", n_val=1)
    shutil.rmtree(tmp_path / "empty" / "images" / "val")
    (tmp_path / "empty" / "images" / "val").mkdir()
    cases = {
        ("--weights", "none.pt", "--data", str(dataset / "data.yaml")): "none.pt",
        ("--weights", str(ckpt), "--data", "missing.yaml"): "missing.yaml",
        ("--weights", str(tmp_path / "garbage.pt"), "--data", str(dataset / "data.yaml")): "not a readable",
        ("--weights", str(ckpt), "--data", str(empty)): "holds no images",
    }
    for args, expected in cases.items():
        assert main([*args, "--project", str(tmp_path / "runs")]) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("val_det.py: error:") and expected in err[0], (args, err)
    assert not (tmp_path / "runs").exists()  # nothing written for a failed run


@pytest.mark.parametrize("agnostic", [False, True])
def test_per_class_nms_keeps_the_ultralytics_detections(agnostic: bool) -> None:
    """One greedy pass per class keeps exactly the detections of ultralytics' offset-by-class NMS, in its order,
    on the candidate flood of an untrained model (most of 8 classes x 1575 boxes above conf 0.001)."""
    from ultralytics.utils.nms import non_max_suppression

    g = torch.Generator().manual_seed(0)
    bs, nc, n = 2, 8, 1575
    xy, wh = torch.rand(bs, 2, n, generator=g) * 160, torch.rand(bs, 2, n, generator=g) * 40 + 4
    extra = torch.randn(bs, 3, n, generator=g)  # mask-coefficient-like channels travel with their box
    pred = torch.cat((xy, wh, torch.rand(bs, nc, n, generator=g) ** 4, extra), 1)
    ours = per_class_nms(pred, 0.001, 0.6, max_det=300, nc=nc, agnostic=agnostic)
    # ultralytics gives up on the remaining images after 2 s + 0.05 s per image: not what is compared here
    ref = non_max_suppression(pred, 0.001, 0.6, multi_label=True, agnostic=agnostic, nc=nc, max_time_img=60.0)
    for a, b in zip(ours, ref, strict=True):
        assert a.shape == b.shape and a.shape[1] == 9
        assert a.shape[0] == 300 if not agnostic else a.shape[0] > 100  # NMS kept many, max_det cut the class-aware
        torch.testing.assert_close(a, b)
    few = [len(f) for f in per_class_nms(pred, 0.95, 0.6, nc=nc)]  # a high threshold: only the pairs above it
    assert min(few) > 0 and max(few) < 300
    assert few == [len(r) for r in non_max_suppression(pred, 0.95, 0.6, multi_label=True, max_det=300, nc=nc)]
    with pytest.raises(ValueError, match="must lie in"):
        per_class_nms(pred, 1.5, 0.6)
