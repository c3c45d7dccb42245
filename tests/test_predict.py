"""``yolo-ghost predict``: annotated images, YOLO labels and COCO JSON from a checkpoint, the same boxes as
``YOLO(weights).predict`` and as the checkpoint's ONNX and OpenVINO exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from toy_data import finding_model, make_dataset

from yolo_ghost.__main__ import main as cli
from yolo_ghost.engine.detect.predict import predict
from yolo_ghost.tools.export import export, runtime_available

IMG = 64
CONF = 0.2


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    """An untrained yolov5n checkpoint made to find boxes (non-trivial BatchNorm statistics, raised objectness)
    and 4 val images."""
    d = tmp_path_factory.mktemp("predict")
    make_dataset(d / "set", n_train=1, n_val=4, size=IMG)
    model = finding_model("yolov5n.yaml")
    ckpt = d / "m.pt"
    torch.save({"model": model.half(), "train_args": {"imgsz": IMG}}, ckpt)
    return ckpt, d / "set" / "images" / "val"


def boxes_by_image(predictions_json: str | Path) -> dict:
    out: dict = {}
    for r in json.loads(Path(predictions_json).read_text()):
        out.setdefault(r["image_id"], []).append([*r["bbox"], r["score"], r["category_id"]])
    return {k: np.array(sorted(v, key=lambda b: -b[4])) for k, v in out.items()}


def assert_same_boxes(have: np.ndarray, want: np.ndarray, box_tol: float, score_tol: float) -> None:
    """The same detections (``x y w h score class`` rows) in any order: each wanted box has its own match of the
    same class within ``box_tol`` pixels and ``score_tol`` of score (near-equal scores may be ranked either way)."""
    assert len(have) == len(want)
    free = list(range(len(have)))
    for w in want:
        dist = [np.abs(have[i, :4] - w[:4]).max() if have[i, 5] == w[5] else np.inf for i in free]
        j = int(np.argmin(dist))
        assert dist[j] <= box_tol and abs(have[free[j], 4] - w[4]) <= score_tol, (w, have[free[j]])
        free.pop(j)


def test_predict_writes_annotated_images_labels_and_coco_json(files, tmp_path):
    ckpt, images = files
    s = predict(ckpt, images, conf=CONF, save_txt=True, save_json=True, project=tmp_path, device="cpu")
    run = Path(s["save_dir"])
    assert run == tmp_path / "exp" and s["images"] == 4 and s["detections"] > 0 and s["device"] == "cpu"
    assert sorted(p.stem for p in run.iterdir() if p.suffix == ".jpg") == ["0", "1", "2", "3"]  # annotated copies
    label_rows = [line.split() for f in (run / "labels").glob("*.txt") for line in f.read_text().splitlines()]
    rows = json.loads((run / "predictions.json").read_text())
    assert len(label_rows) == len(rows) == s["detections"]
    assert all(len(r) == 5 and 0 <= float(r[1]) <= 1 for r in label_rows)  # class x y w h, normalised
    assert {r["image_id"] for r in rows} <= {0, 1, 2, 3} and all(r["score"] >= CONF for r in rows)
    assert s["ms_per_image"] > 0 and s["ms_per_image"] == pytest.approx(sum(s["speed"].values()))


def test_boxes_match_ultralytics_predict(files, tmp_path):
    from ultralytics import YOLO

    ckpt, images = files
    s = predict(ckpt, images, conf=CONF, save=False, save_json=True, project=tmp_path, device="cpu", verbose=False)
    ours = boxes_by_image(s["predictions_json"])
    for r in YOLO(str(ckpt)).predict(
        str(images), conf=CONF, iou=0.45, max_det=1000, imgsz=IMG, device="cpu", verbose=False
    ):
        xyxy = r.boxes.xyxy.numpy()
        theirs = np.c_[xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2], r.boxes.conf.numpy(), r.boxes.cls.numpy()]
        assert_same_boxes(ours[int(Path(r.path).stem)], theirs, box_tol=2e-3, score_tol=1e-5)


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_an_export_finds_the_same_boxes_as_its_checkpoint(fmt, files, tmp_path):
    if not runtime_available(fmt):
        pytest.fail(f"the {fmt} runtime is a dev dependency and should be installed")
    ckpt, images = files
    exported = export(weights=ckpt, format=fmt, out=tmp_path / f"m{'.onnx' if fmt == 'onnx' else '_openvino_model'}")
    ref = predict(ckpt, images, conf=CONF, save=False, save_json=True, project=tmp_path, name="pt", device="cpu")
    got = predict(exported.path, images, conf=CONF, save=False, save_json=True, project=tmp_path, name=fmt)
    want, have = boxes_by_image(ref["predictions_json"]), boxes_by_image(got["predictions_json"])
    assert want.keys() == have.keys() and got["detections"] == ref["detections"] > 0
    for k in want:  # same boxes, classes and scores, to the runtimes' float differences
        assert_same_boxes(have[k], want[k], box_tol=0.05, score_tol=2e-3)


def test_the_command_prints_each_image_and_the_total(files, tmp_path, capsys):
    ckpt, images = files
    argv = ["predict", "--weights", str(ckpt), "--source", str(images / "0.png"), "--device", "cpu",
            "--project", str(tmp_path), "--conf", str(CONF)]  # fmt: skip
    assert cli(argv) == 0
    out = capsys.readouterr().out
    assert "0.png: 64x64 " in out and "1 images, " in out and " ms per image on cpu" in out
    assert (tmp_path / "exp" / "0.jpg").is_file()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--source", "nothere/"], "--source 'nothere/': no such file"),
        (["--source", "*.nothing"], "no such file"),
        (["--weights", "none.pt"], "--weights 'none.pt': file not found"),
        (["--conf", "1.5"], "--conf 1.5: must be in [0, 1]"),
        (["--name", "../out"], "outside --project"),
    ],
)
def test_bad_input_is_one_line(files, tmp_path, capsys, argv, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ckpt, images = files
    base = {"--weights": str(ckpt), "--source": str(images)}
    for flag, value in zip(argv[::2], argv[1::2]):
        base[flag] = value
    assert cli(["predict", *[x for kv in base.items() for x in kv], "--project", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err, err
    assert not (tmp_path / "runs").exists()
