"""Classifier training and evaluation on the ultralytics classification engine: offline, top-1 / top-5 of best.pt
checked against an independent count, resume, the built-in dataset name, and one clear line for bad input."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml
from toy_data import make_cls_folder

from yolo_ghost.cfg import ConfigError
from yolo_ghost.engine.classify.train import (
    YoloGhostClassificationTrainer,
    YoloGhostClassificationValidator,
    check_classifier_cfg,
    eval_split,
    format_summary,
    resolve_cls_data,
    train_classifier,
    validate_classifier,
)
from yolo_ghost.engine.curves import convergence
from yolo_ghost.models.classifier import YoloGhostClassifier
from yolo_ghost.tools.profiler import profile_model

ROOT = Path(__file__).resolve().parents[1]
# No plots; no warm-up (ultralytics warms up for at least 100 steps, longer than these runs).
FAST = {"plots": False, "warmup_epochs": 0}
TINY = {
    "nc": 2,
    "activation": "nn.ReLU()",
    "backbone": [[-1, 1, "Conv", [16, 3, 2]], [-1, 1, "ShuffleV2Block", [32, 2]], [-1, 1, "ShuffleV2Block", [32, 1]]],
    "head": [[-1, 1, "ClassifyHead", ["nc"]]],
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_cls_folder(tmp_path_factory.mktemp("cls") / "data")


@pytest.fixture(scope="module")
def tiny_cfg(tmp_path_factory):
    p = tmp_path_factory.mktemp("cfg") / "tiny-cls.yaml"
    p.write_text(yaml.safe_dump(TINY))
    return p


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    project = tmp_path_factory.mktemp("runs")
    return train_classifier("shufflenetv2-k5-cls.yaml", data=data, epochs=2, imgsz=32, batch=8, project=project, **FAST)


def _independent_top1(weights: str, folder: Path, imgsz: int) -> float:
    """Accuracy of a checkpoint on ``folder/<class>/*`` counted here, with the validator's own preprocessing."""
    from PIL import Image
    from ultralytics.data.augment import classify_transforms

    model = torch.load(weights, map_location="cpu", weights_only=False)["model"].float().eval()
    tf = classify_transforms(imgsz)
    names = sorted(p.name for p in folder.iterdir())
    hits = total = 0
    with torch.no_grad():
        for c, name in enumerate(names):
            for f in sorted((folder / name).iterdir()):
                x = tf(Image.fromarray(cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)))[None]
                hits += int(model(x)[0].argmax(1).item() == c)
                total += 1
    return hits / total


def test_shipped_classifier_trains_offline_and_reports_best_pt(run, data):
    save = Path(run["save_dir"])
    assert (save / "weights" / "best.pt").is_file() and (save / "weights" / "last.pt").is_file()
    rows = list(csv.DictReader((save / "results.csv").open()))
    assert [int(float(r["epoch"])) for r in rows] == [1, 2]
    # the summary carries the per-epoch val top-1 and the plateau verdict on it, as the detector's does
    assert run["curve"]["top1"] == pytest.approx([float(r["metrics/accuracy_top1"]) for r in rows])
    assert run["convergence"] == convergence(run["curve"]["top1"])
    warned = "WARNING: this training is still improving" in format_summary(run)
    assert warned == run["convergence"]["still_improving"]
    assert run["cfg"] == "shufflenetv2-k5-cls.yaml" and run["epochs"] == 2 and run["imgsz"] == 32
    assert run["params"] == profile_model(YoloGhostClassifier("shufflenetv2-k5-cls.yaml", nc=2), 32).params
    assert run["gflops"] == pytest.approx(
        profile_model(YoloGhostClassifier("shufflenetv2-k5-cls.yaml", nc=2), 32).gflops
    )
    assert run["top1"] == pytest.approx(_independent_top1(run["best"], data / "val", 32))
    assert run["top5"] == 1.0  # two classes: the true one is always among the top five
    metrics = json.loads((save / "metrics.json").read_text())
    assert metrics["top1"] == pytest.approx(run["top1"]) and metrics["n_images"] == 12
    assert set(metrics["per_class_top1"]) == {"blue", "red"}
    assert np.mean(list(metrics["per_class_top1"].values())) == pytest.approx(run["top1"])  # balanced classes
    ckpt = torch.load(run["best"], map_location="cpu", weights_only=False)
    assert isinstance(ckpt["model"], YoloGhostClassifier) and ckpt["model"].names == {0: "blue", 1: "red"}


def test_summary_warns_when_top1_is_still_improving(run):
    rising = {**run, "convergence": convergence([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])}
    flat = {**run, "convergence": convergence([0.2, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6])}
    assert format_summary(rising).splitlines()[-1].startswith("WARNING: this training is still improving")
    assert "val top-1 gained 22.2% of its final value" in format_summary(rising)
    assert "WARNING" not in format_summary(flat)


def test_validate_classifier_gives_the_training_summary_s_figures(run, data, tmp_path):
    m = validate_classifier(run["best"], data=data, project=tmp_path)
    assert m["top1"] == pytest.approx(run["top1"]) and m["top5"] == 1.0 and m["n_images"] == 12
    assert (Path(m["save_dir"]) / "metrics.json").is_file()


def test_a_held_out_test_split_is_scored_once_and_named(run, tmp_path):
    # training validated on val/ every epoch; the bench scores best.pt on test/ when the dataset holds one
    folder = make_cls_folder(tmp_path / "d", n_train=8, n_val=6, n_test=10)
    assert eval_split(folder) == "test" and eval_split(make_cls_folder(tmp_path / "e", 8, 6)) == "val"
    m = validate_classifier(run["best"], data=folder, project=tmp_path, name="t", split="test")
    assert m["n_images"] == 10 and m["top1"] == pytest.approx(_independent_top1(run["best"], folder / "test", 32))
    assert validate_classifier(run["best"], data=folder, project=tmp_path, name="v")["n_images"] == 6
    from yolo_ghost.bench.tasks import CLASSIFY  # the bench scores the test split, as validate_classifier does

    assert CLASSIFY.score(run["best"], str(folder), 32, tmp_path / "s")["top1"] == pytest.approx(m["top1"])
    assert json.loads((tmp_path / "s" / "metrics.json").read_text())["n_images"] == 10
    with pytest.raises(ConfigError, match="'val' or 'test'"):
        validate_classifier(run["best"], data=folder, project=tmp_path, split="train")


def test_validator_counts_top1_top5_and_per_class_accuracy(tmp_path):
    v = YoloGhostClassificationValidator(save_dir=tmp_path, args={"plots": False})
    v.init_metrics(type("M", (), {"names": {0: "a", 1: "b", 2: "c"}})())
    v.pred = [torch.tensor([[0, 1, 2], [1, 0, 2]]), torch.tensor([[2, 0, 1], [0, 2, 1]])]  # ranked class ids
    v.targets = [torch.tensor([0, 0]), torch.tensor([2, 1])]
    v.training = False
    stats = v.get_stats()
    assert stats["metrics/accuracy_top1"] == pytest.approx(0.5) and stats["metrics/accuracy_top5"] == 1.0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m == {"top1": 0.5, "top5": 1.0, "n_images": 4, "per_class_top1": {"a": 0.5, "b": 0.0, "c": 1.0}}


class _KilledError(Exception):
    pass


def test_resume_finishes_the_planned_epochs(data, tiny_cfg, tmp_path, monkeypatch, ema_decays):
    original = YoloGhostClassificationTrainer.save_model

    def save_then_die(self):
        original(self)
        raise _KilledError  # as if the process died right after the first epoch's checkpoint

    monkeypatch.setattr(YoloGhostClassificationTrainer, "save_model", save_then_die)
    # the weight EMA sized by the hyp (yolo_ghost.engine.ema), read at every update, is the one the resumed run keeps
    ema = {"ema_decay": 0.5, "ema_tau": 7.0}
    with pytest.raises(_KilledError):
        # nbs 8: an optimizer step (and an EMA update) every batch
        train_classifier(
            tiny_cfg, data=data, epochs=2, imgsz=24, batch=8, nbs=8, project=tmp_path, name="r", hyp=ema, **FAST
        )
    monkeypatch.setattr(YoloGhostClassificationTrainer, "save_model", original)
    read = lambda: [int(float(r["epoch"])) for r in csv.DictReader((tmp_path / "r" / "results.csv").open())]  # noqa: E731
    assert read() == [1]
    first = len(ema_decays)
    s = train_classifier(None, resume=True, project=tmp_path)
    assert Path(s["save_dir"]) == tmp_path / "r" and s["epochs"] == 2 and read() == [1, 2]
    assert first > 0 and [u for u, _ in ema_decays] == list(range(1, 2 * first + 1))  # counted on from the checkpoint
    assert [d for _, d in ema_decays] == pytest.approx([0.5 * (1 - math.exp(-u / 7.0)) for u, _ in ema_decays])
    assert torch.load(s["last"], map_location="cpu", weights_only=False)["model"].yaml["ema"] == ema
    with pytest.raises(ConfigError, match="finished"):
        train_classifier(None, resume=tmp_path / "r")


def test_datasets_resolve_offline_or_say_what_is_wrong(tmp_path, monkeypatch, data):
    import yolo_ghost.data.shapes_cls as shapes_cls

    make = shapes_cls.make_shapes_cls
    small = lambda: make(tmp_path / "gen", n_train=10, n_val=10, imgsz=16)  # noqa: E731
    monkeypatch.setattr(shapes_cls, "make_shapes_cls", small)
    built = resolve_cls_data("shapes-cls")
    assert sorted(p.name for p in (built / "train").iterdir()) == list(shapes_cls.SHAPES_CLS_NAMES)
    assert resolve_cls_data(data) == data.resolve()
    (tmp_path / "d.yaml").write_text("train: x\n")
    (tmp_path / "noval" / "train" / "a").mkdir(parents=True)
    (tmp_path / "empty" / "train" / "a").mkdir(parents=True)
    (tmp_path / "empty" / "val" / "a").mkdir(parents=True)
    cases = {
        "cifar10": "no such folder; give a folder in ImageFolder layout",
        tmp_path / "d.yaml": "is a dataset YAML",
        tmp_path / "noval": "no val/",
        tmp_path / "empty": "hold no images",
    }
    for arg, match in cases.items():
        with pytest.raises(ConfigError, match=match):
            resolve_cls_data(arg)


def test_detector_config_is_refused_with_the_fix():
    assert check_classifier_cfg("shufflenetv2-cls.yaml") == "shufflenetv2-cls.yaml"
    with pytest.raises(ConfigError, match=r"yolov5n.yaml is a detector config \(its last layer is Detect\).*train_det"):
        check_classifier_cfg("yolov5n.yaml")


def test_cli_trains(data, tiny_cfg, tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "train_cls.py"), "--cfg", str(tiny_cfg), "--data", str(data), "--epochs", "1",
         "--img", "24", "--project", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "YOLO_OFFLINE": "1"}, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    summary = out.stdout.strip().splitlines()[-3:]
    assert summary[0].startswith("top-1 ") and "top-5 1.0000" in summary[0] and summary[1].startswith("run: ")
    # one epoch cannot show a plateau, so the run is flagged
    assert summary[2].startswith("WARNING: this training is still improving")
    assert (tmp_path / "exp" / "weights" / "best.pt").is_file()


def test_cli_bad_input_gives_one_clear_line(tmp_path, capsys):
    from train_cls import main

    cases = {
        ("--cfg", "yolov5n-ghost.yaml"): "is a detector config",
        ("--cfg", "shufflenetv2-cls.yaml", "--data", "cifar10"): "'cifar10': no such folder",
        ("--cfg", "shufflenetv2-cl.yaml"): "did you mean",
        ("--val", "none.pt"): "none.pt",
    }
    for args, expected in cases.items():
        assert main([*args, "--project", str(tmp_path)]) == 2, args
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("train_cls.py: error:") and expected in err, (args, err)
