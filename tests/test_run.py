"""One training path for both tasks (``yolo_ghost.engine.run``): each behaviour around the trainer is tested once,
for the detector and the classifier alike."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from toy_data import make_cls_folder, make_dataset

from yolo_ghost import ConfigError
from yolo_ghost.engine.classify.train import CLASSIFY, CLS_RECIPE, train_classifier
from yolo_ghost.engine.detect.train import DETECT, YOLOV5_RECIPE, YOLOV5_TRAIN_HYP, train


class _StopError(Exception):
    """Raised instead of training: the tests look at the trainer that was made."""


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    """(train function, TrainTask, config, dataset, the recipe the dataset trains with, the base hyp) per task."""
    det = make_dataset(tmp_path_factory.mktemp("det"), n_train=2, n_val=1)
    cls = make_cls_folder(tmp_path_factory.mktemp("cls"), n_train=4, n_val=2, size=16)
    return {
        "detect": (train, DETECT, "yolov5n.yaml", det, YOLOV5_RECIPE, YOLOV5_TRAIN_HYP),
        "classify": (train_classifier, CLASSIFY, "shufflenetv2-cls.yaml", cls, CLS_RECIPE, {}),
    }


def _stop_instead_of_training(monkeypatch, task, seen: list):
    def stop(self):
        seen.append(self)
        raise _StopError

    monkeypatch.setattr(task.trainer, "train", stop)


@pytest.mark.parametrize("which", ["detect", "classify"])
def test_recipe_and_hyp_merge_in_one_order(which, tasks, tmp_path, monkeypatch):
    fit, task, cfg, data, recipe, base = tasks[which]
    seen: list = []
    _stop_instead_of_training(monkeypatch, task, seen)
    with pytest.raises(_StopError):
        fit(cfg, data=data, project=tmp_path, hyp={"lr0": 0.0123, "fliplr": 0.25}, epochs=2)
    args = seen[0].args
    merged = {**base, **recipe.hyp}
    assert args.lr0 == 0.0123 and args.fliplr == 0.25  # --hyp over the recipe
    assert args.optimizer == merged["optimizer"] and args.weight_decay == merged["weight_decay"]  # the rest kept
    assert (args.epochs, args.imgsz, args.batch, args.workers) == (2, recipe.imgsz, recipe.batch, recipe.workers)
    assert Path(args.save_dir) == tmp_path / "exp"


@pytest.mark.parametrize("which", ["detect", "classify"])
def test_a_failed_run_removes_only_the_folder_it_made(which, tasks, tmp_path, monkeypatch):
    fit, task, cfg, data, *_ = tasks[which]
    _stop_instead_of_training(monkeypatch, task, [])
    with pytest.raises(_StopError):
        fit(cfg, data=data, project=tmp_path / "runs", epochs=1)
    assert not (tmp_path / "runs").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(_StopError):
        fit(cfg, data=data, project=tmp_path, name="mine", exist_ok=True, epochs=1)
    assert (mine / "notes.txt").read_text() == "keep" and (mine / "args.yaml").is_file()


@pytest.mark.parametrize("which", ["detect", "classify"])
def test_resume_refuses_a_finished_run_and_a_folder_outside_the_project(which, tasks, tmp_path):
    fit, _, _, data, *_ = tasks[which]
    last = tmp_path / "exp" / "weights" / "last.pt"
    last.parent.mkdir(parents=True)
    torch.save({"epoch": -1, "train_args": {"epochs": 3, "data": str(data), "save_dir": str(tmp_path / "exp")}}, last)
    with pytest.raises(ConfigError, match="finished its 3 epochs"):
        fit(None, resume=True, project=tmp_path)
    torch.save({"epoch": 1, "train_args": {"epochs": 3, "data": str(data), "save_dir": "/elsewhere/exp"}}, last)
    with pytest.raises(ConfigError, match="outside --project"):
        fit(None, resume=tmp_path / "exp", project=tmp_path)


@pytest.mark.parametrize("which", ["detect", "classify"])
def test_refusals_come_before_any_folder(which, tasks, tmp_path):
    fit, _, cfg, data, *_ = tasks[which]
    for kwargs, message in (
        ({"hyp": {"resume": "x.pt"}}, "use --resume"),
        ({"hyp": {"lr0": float("nan")}}, "lr0 must be a finite number"),
        ({"name": "../out"}, "outside --project"),
        ({"weights": tmp_path / "none.pt"}, "none.pt"),
    ):
        with pytest.raises(ConfigError, match=message):
            fit(cfg, data=data, project=tmp_path / "runs", **kwargs)
    with pytest.raises(ConfigError, match="model config is required"):
        fit(None, data=data, project=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
