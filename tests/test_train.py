"""Training on the ultralytics engine: both heads, resume, reload, no network, and bad input."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import torch
import yaml
from toy_data import anchor_free_cfg, make_dataset, read_results

from yolo_ghost.cfg import ConfigError
from yolo_ghost.engine.detect.train import YoloGhostTrainer, format_summary, load_hyp, train

ROOT = Path(__file__).resolve().parents[1]
FAST = {"plots": False, "close_mosaic": 0, "warmup_epochs": 0}


class NetworkBlocked:
    """Records and refuses every outgoing connection, DNS lookup and URL open."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.attempts: list[str] = []

        def refuse(name):
            def f(*args, **kwargs):
                self.attempts.append(f"{name}{args[1:2] if name == 'connect' else args[:1]}")
                raise OSError(f"network blocked by test ({name})")

            return f

        monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
        monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect_ex"))
        monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
        monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
        monkeypatch.setattr(urllib.request, "urlopen", refuse("urlopen"))


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def anchor_run(tmp_path_factory, data):
    """One epoch of yolov5n (anchor head) at 64 px, network blocked, run from an empty working directory."""
    mp = pytest.MonkeyPatch()
    cwd = tmp_path_factory.mktemp("cwd")
    mp.chdir(cwd)
    net = NetworkBlocked(mp)
    try:
        summary = train(
            "yolov5n.yaml", data=data, epochs=1, imgsz=64, batch=4, workers=0, project=cwd / "runs", name="a", **FAST
        )
    finally:
        mp.undo()
    return summary, net.attempts, cwd


def test_anchor_head_trains_offline(anchor_run):
    summary, attempts, cwd = anchor_run
    run = Path(summary["save_dir"])
    assert attempts == []
    assert run == cwd / "runs" / "a"
    assert sorted(p.name for p in cwd.iterdir()) == ["runs"]  # nothing written beside the project
    assert (run / "weights" / "best.pt").is_file() and (run / "weights" / "last.pt").is_file()
    assert not list((run / "weights").glob(".*tmp*"))  # no temporary checkpoint left behind
    rows = read_results(run)
    assert len(rows) == 1
    for k in ("train/box_loss", "train/obj_loss", "train/cls_loss", "val/box_loss", "val/obj_loss", "val/cls_loss"):
        assert math.isfinite(rows[0][k]), k
    assert rows[0]["train/box_loss"] > 0 and rows[0]["train/obj_loss"] > 0
    assert summary["params"] > 1_000_000 and summary["gflops"] > 0 and summary["imgsz"] == 64
    assert 0.0 <= summary["map50_95"] <= summary["map50"] <= 1.0
    # the per-epoch val mAP is the results.csv column; one epoch cannot show a plateau, so it is flagged
    assert summary["curve"]["epoch"] == [1] and summary["curve"]["map50_95"] == [rows[0]["metrics/mAP50-95(B)"]]
    assert summary["convergence"]["still_improving"] is True
    assert "WARNING: this training is still improving" in format_summary(summary)


def test_summary_warns_only_when_still_improving(anchor_run):
    from yolo_ghost.engine.curves import convergence

    s = dict(anchor_run[0])
    s["convergence"] = convergence([0.1, 0.3, 0.5, 0.6, 0.62, 0.63, 0.63, 0.63])
    assert "WARNING" not in format_summary(s)
    s["convergence"] = convergence([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    text = format_summary(s).splitlines()[-1]
    assert text.startswith("WARNING: this training is still improving") and "25.0% of its final value" in text


def test_anchor_free_head_trains(tmp_path, data):
    cfg = anchor_free_cfg(tmp_path)
    s = train(
        cfg,
        data=data,
        epochs=1,
        imgsz=64,
        batch=4,
        workers=0,
        project=tmp_path / "runs",
        compare="yolov5n.yaml",
        **FAST,
    )
    run = Path(s["save_dir"])
    assert (run / "weights" / "best.pt").is_file() and (run / "weights" / "last.pt").is_file()
    row = read_results(run)[0]
    for k in ("train/box_loss", "train/cls_loss", "train/dfl_loss"):
        assert math.isfinite(row[k]) and row[k] > 0, k
    assert "train/obj_loss" not in row
    from yolo_ghost.tools.profiler import profile_model

    ref = profile_model("yolov5n.yaml", imgsz=64, nc=2)
    assert s["compare"]["params"] == ref.params
    assert s["compare"]["params_ratio"] == pytest.approx(s["params"] / ref.params)
    assert s["compare"]["gflops_ratio"] == pytest.approx(s["gflops"] / ref.gflops)
    assert s["compare"]["params_ratio"] < 1.0  # the Ghost model is the smaller one


def test_best_pt_reloads_in_a_fresh_process(anchor_run, data, tmp_path):
    best = anchor_run[0]["best"]
    image = next((data.parent / "images" / "val").glob("*.png"))
    code = (
        "import json, sys\n"
        "from ultralytics import YOLO\n"
        f"m = YOLO({best!r})\n"
        f"r = m.val(data={str(data)!r}, imgsz=64, batch=4, plots=False, project={str(tmp_path)!r}, verbose=False)\n"
        f"p = m.predict({str(image)!r}, imgsz=64, conf=0.0, verbose=False)[0]\n"
        "print(json.dumps({'cls': type(m.model).__module__, 'map50': float(r.box.map50), 'n': len(p.boxes)}))\n"
    )
    env = {**os.environ, "YOLO_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["cls"] == "yolo_ghost.models.yolo"
    assert 0.0 <= result["map50"] <= 1.0
    assert result["n"] > 0  # conf=0 keeps boxes even from an untrained model


def test_best_pt_exports_to_onnx_that_ultralytics_predicts_with(anchor_run, data, tmp_path):
    import shutil

    from ultralytics import YOLO

    from yolo_ghost.tools.export import export

    best = tmp_path / "best.pt"
    shutil.copy(anchor_run[0]["best"], best)
    r = export(weights=best)
    assert r.path == tmp_path / "best.onnx" and r.imgsz == 64 and r.max_rel_err <= 1e-4  # training size by default
    image = str(next((data.parent / "images" / "val").glob("*.png")))
    ref = YOLO(str(best)).predict(image, imgsz=64, conf=0.001, verbose=False)[0]
    onnx = YOLO(str(r.path), task="detect").predict(image, imgsz=64, conf=0.001, verbose=False)[0]
    assert onnx.names == ref.names == {0: "rect", 1: "ellipse"}  # read from the ONNX metadata
    assert len(ref.boxes) > 0 and len(onnx.boxes) == len(ref.boxes)
    # same detections; boxes of equal score may come out of NMS in another order
    assert torch.allclose(onnx.boxes.conf.sort().values, ref.boxes.conf.sort().values, atol=1e-4)
    assert torch.allclose(onnx.boxes.xyxy[0], ref.boxes.xyxy[0], atol=1e-2)


class _KilledError(Exception):
    pass


def test_resume_finishes_the_planned_epochs(tmp_path, data, monkeypatch, ema_decays):
    original = YoloGhostTrainer.save_model

    def save_then_die(self):
        original(self)
        raise _KilledError  # as if the process died right after the first epoch's checkpoint

    monkeypatch.setattr(YoloGhostTrainer, "save_model", save_then_die)
    # the EMA schedule of the hyp, read at every update, is the one the resumed run keeps
    ema = {"ema_decay": 0.5, "ema_tau": 7.0}
    run_args = {"epochs": 2, "imgsz": 64, "batch": 4, "nbs": 4, "workers": 0, **FAST}  # nbs 4: a step every batch
    with pytest.raises(_KilledError):
        train("yolov5n.yaml", data=data, project=tmp_path, name="r", hyp=ema, **run_args)
    monkeypatch.setattr(YoloGhostTrainer, "save_model", original)
    run = tmp_path / "r"
    assert [r["epoch"] for r in read_results(run)] == [1]
    first = len(ema_decays)
    s = train(None, resume=True, project=tmp_path)  # the newest run under the project
    assert Path(s["save_dir"]) == run and s["epochs"] == 2
    assert [r["epoch"] for r in read_results(run)] == [1, 2]
    assert first > 0 and [u for u, _ in ema_decays] == list(range(1, 2 * first + 1))  # counted on from the checkpoint
    assert [d for _, d in ema_decays] == pytest.approx([0.5 * (1 - math.exp(-u / 7.0)) for u, _ in ema_decays])
    assert (run / "weights" / "best.pt").is_file()
    with pytest.raises(ConfigError, match="finished"):
        train(None, resume=run)


def test_corrupt_images_and_bad_labels_are_skipped_and_imgsz_rounded(tmp_path):
    data = make_dataset(tmp_path / "d", n_train=8, n_val=4)
    (tmp_path / "d" / "images" / "train" / "0.png").write_bytes(b"not an image")
    (tmp_path / "d" / "labels" / "train" / "1.txt").write_text("0 0.5 0.5 0.2\n")  # 4 columns
    (tmp_path / "d" / "labels" / "train" / "2.txt").write_text("0 1.7 0.5 0.2 0.2\n")  # outside the image
    s = train("yolov5n.yaml", data=data, epochs=1, imgsz=70, batch=4, workers=0, project=tmp_path / "runs", **FAST)
    assert s["imgsz"] == 96  # 70 rounded up to the stride-32 grid
    from ultralytics.data.utils import load_dataset_cache_file

    cache = load_dataset_cache_file(tmp_path / "d" / "labels" / "train.cache")
    _, _, _, n_corrupt, _ = cache["results"]
    assert n_corrupt == 3 and len(cache["labels"]) == 5  # the 3 bad pairs skipped and counted, 5 used


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "YOLO_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, str(ROOT / "train_det.py"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_cli_bad_input_gives_one_clear_line(tmp_path, data):
    make_dataset(tmp_path / "e", n_train=4, n_val=1)
    (tmp_path / "e" / "images" / "val" / "0.png").unlink()
    cases = {
        ("--cfg", "yolov5n-gost.yaml"): "did you mean yolov5n-ghost.yaml",
        ("--cfg", "yolov5n.yaml", "--data", "missing.yaml"): "missing.yaml",
        ("--cfg", "yolov5n.yaml", "--data", str(tmp_path / "e" / "data.yaml"), "--img", "64"): "images/val",
        ("--cfg", "yolov5n.yaml", "--data", str(data), "--weights", "none.pt"): "none.pt",
    }
    for args, expected in cases.items():
        out = _cli(*args, "--project", str(tmp_path / "runs"), cwd=tmp_path)
        assert out.returncode == 2, (args, out.stderr[-1500:])
        assert "Traceback" not in out.stderr, out.stderr[-1500:]
        last = out.stderr.strip().splitlines()[-1]
        assert last.startswith("train_det.py: error:") and expected in last, (args, last)


def test_cli_help_names_every_flag():
    from train_det import parse_args  # noqa: F401  (importable as a module too)

    out = subprocess.run(
        [sys.executable, str(ROOT / "train_det.py"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0
    for flag in ("--cfg", "--data", "--weights", "--epochs", "--batch-size", "--img", "--device", "--workers",
                 "--project", "--name", "--exist-ok", "--resume", "--hyp", "--seed", "--compare"):  # fmt: skip
        assert flag in out.stdout, flag


def test_yolov5_hyp_file_is_split_between_trainer_and_loss(tmp_path):
    hyp = tmp_path / "hyp.yaml"
    hyp.write_text(
        "lr0: 0.02\nbox: 0.05\nobj: 0.7\ncls_pw: 1.0\nanchor_t: 3.0\niou_t: 0.2\nfl_gamma: 0.0\nmosaic: 0.5\n"
    )
    trainer_args, loss = load_hyp(hyp)
    assert trainer_args == {"lr0": 0.02, "box": 0.05, "mosaic": 0.5}
    assert loss == {"obj": 0.7, "cls_pw": 1.0, "anchor_t": 3.0}
    assert load_hyp({"ema_decay": 0.99, "ema_tau": 50})[0] == {"ema_decay": 0.99, "ema_tau": 50}  # the trainer's
    with pytest.raises(ConfigError, match=r"ema_decay 1\.0 is outside \[0, 1\)"):
        load_hyp({"ema_decay": 1.0})
    with pytest.raises(ConfigError, match=r"ema_tau 0 is outside \(0, "):
        load_hyp({"ema_tau": 0})
    with pytest.raises(ConfigError, match="lr_zero"):
        load_hyp({"lr_zero": 1})
    with pytest.raises(ConfigError, match="fl_gamma"):
        load_hyp({"fl_gamma": 1.5})


def test_classic_loss_overfits_four_images(tmp_path):
    """The classic loss learns: 4 images, no augmentation, 300 SGD steps; then mAP50 on the same 4 images.

    An untrained head scores mAP50 ~0.00 on this set (see the smoke runs); 0.5 needs most of the 6 boxes found
    at IoU 0.5 with the right class, which only a loss that trains box, objectness and class together reaches.
    """
    data = make_dataset(tmp_path / "d", n_train=4, n_val=0, size=96, seed=3)
    spec = yaml.safe_load(data.read_text())
    spec["val"] = spec["train"]  # judged on the images it trained on
    data.write_text(yaml.safe_dump(spec))
    no_aug = {k: 0.0 for k in ("mosaic", "hsv_h", "hsv_s", "hsv_v", "translate", "scale", "fliplr")}
    s = train(
        "yolov5n.yaml", data=data, epochs=300, imgsz=96, batch=4, workers=0, project=tmp_path / "runs",
        nbs=4, val=False, **no_aug, **FAST,
    )  # fmt: skip
    assert s["map50"] > 0.5, s


class _CapturedError(Exception):
    pass


@pytest.mark.parametrize("name", ["shapes", "shapes-hard", "coco128.yaml"])
def test_dataset_recipe_sets_the_defaults(name, data, monkeypatch):
    """``epochs`` / ``imgsz`` / ``batch`` left open take the dataset's recipe; its hyp reaches the trainer, while
    explicit values and ``--hyp`` keys win."""
    import yolo_ghost.engine.detect.train as tr

    seen = {}

    class Recorder:
        def __init__(self, overrides=None, loss_hyp=None, ema=None, **_):
            seen.update(overrides, **ema)
            raise _CapturedError

    # the detector's task with the trainer recorded and no dataset generated or looked up
    monkeypatch.setattr(tr, "DETECT", dataclasses.replace(tr.DETECT, trainer=Recorder, check_data=lambda d: str(data)))
    recipe = tr.recipe_for(name)
    with pytest.raises(_CapturedError):
        tr.train("yolov5n-ghost.yaml", data=name)
    assert (seen["epochs"], seen["imgsz"], seen["batch"]) == (recipe.epochs, recipe.imgsz, recipe.batch)
    for k, v in {**tr.YOLOV5_TRAIN_HYP, **recipe.hyp}.items():
        assert seen[k] == v, k
    with pytest.raises(_CapturedError):
        tr.train("yolov5n-ghost.yaml", data=name, epochs=3, imgsz=96, hyp={"lr0": 0.05, "close_mosaic": 1})
    assert (seen["epochs"], seen["imgsz"], seen["lr0"], seen["close_mosaic"]) == (3, 96, 0.05, 1)


def test_recipes():
    from yolo_ghost.engine.detect.train import DATASET_RECIPES, YOLOV5_RECIPE, recipe_for

    assert recipe_for("shapes") is recipe_for(" Shapes.yaml ") is DATASET_RECIPES["shapes"]
    assert recipe_for("shapes-hard").imgsz == 256 and recipe_for("shapes-hard").hyp == {}
    assert recipe_for("data/coco.yaml") is recipe_for("my.yaml") is YOLOV5_RECIPE
    assert (YOLOV5_RECIPE.epochs, YOLOV5_RECIPE.imgsz, YOLOV5_RECIPE.batch) == (100, 640, 16)
    assert DATASET_RECIPES["shapes"].hyp["optimizer"] == "AdamW"
