"""Hostile and careless runs: no user folder is removed, nothing is written outside the run folder, no dataset code
and no pickle payload runs, and every refusal is one ``error:`` line with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from payload import Payload
from toy_data import make_cls_folder, make_dataset

import yolo_ghost
from yolo_ghost import ConfigError
from yolo_ghost.__main__ import main as cli
from yolo_ghost.data.resolve import check_splits
from yolo_ghost.engine.classify.train import train_classifier
from yolo_ghost.engine.detect.train import YoloGhostTrainer, train
from yolo_ghost.engine.hyp import FLAG_FOR_KEY, HYP_KEYS, check_hyp
from yolo_ghost.engine.run_dir import check_run_name, remove_new_run_on_failure
from yolo_ghost.engine.trainer import prepare_offline
from yolo_ghost.tools.export import export

FAST = {"epochs": 1, "imgsz": 64, "batch": 4, "workers": 0, "plots": False}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("data"), n_train=4, n_val=2)


@pytest.fixture(scope="module")
def cls_data(tmp_path_factory) -> Path:
    return make_cls_folder(tmp_path_factory.mktemp("cls"), n_train=4, n_val=2, size=16)


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: ") and "Traceback" not in err, err
    return err


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")} if root.exists() else set()


# --------------------------------------------------------------------------------------------------------------------
# --name stays inside --project


@pytest.mark.parametrize("name", ["", ".", "ABS", "../escape", "a/../../escape"])
def test_a_name_outside_the_project_is_refused_by_every_command(tmp_path, name, capsys):
    project = tmp_path / "project"
    project.mkdir()
    name = str(tmp_path / "abs-target") if name == "ABS" else name
    commands = {
        "train": ["train", "--cfg", "yolov5n.yaml"],
        "train-cls": ["train-cls", "--cfg", "shufflenetv2-cls.yaml"],
        "train-cls --val": ["train-cls", "--val", str(tmp_path / "none.pt")],
        "val": ["val", "--weights", str(tmp_path / "none.pt")],
        "bench": ["bench", "--cfg", "yolov5n.yaml", "--seeds", "1"],
    }
    before = files_under(tmp_path)
    for what, argv in commands.items():
        assert cli([*argv, "--project", str(project), "--name", name]) == 2, what
        err = one_error_line(capsys)
        assert "--name" in err and ("inside --project" in err or "folder name" in err), (what, err)
    assert files_under(tmp_path) == before  # nothing written anywhere, the absolute target included


def test_check_run_name_accepts_nested_names_and_refuses_links_out(tmp_path):
    assert check_run_name(tmp_path, "a/b") == tmp_path / "a" / "b"
    assert check_run_name(tmp_path, "exp") == tmp_path / "exp"
    (tmp_path / "out").symlink_to(tmp_path.parent)
    with pytest.raises(ConfigError, match="link that leads outside"):
        check_run_name(tmp_path, "out/x")


# --------------------------------------------------------------------------------------------------------------------
# A failed run removes only what it created


def test_failure_removes_only_a_folder_this_call_created(tmp_path):
    mine = tmp_path / "users" / "mine"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(KeyboardInterrupt), remove_new_run_on_failure(mine):
        (mine / "args.yaml").write_text("run: 1")
        raise KeyboardInterrupt
    assert (mine / "notes.txt").read_text() == "keep me"  # an existing folder is never removed
    new = tmp_path / "new-project" / "runs" / "exp"
    with pytest.raises(RuntimeError), remove_new_run_on_failure(new):
        new.mkdir(parents=True)
        (new / "args.yaml").write_text("run: 1")
        raise RuntimeError("dataset broke")
    assert not (tmp_path / "new-project").exists()  # the run folder and the empty parents it made
    kept = tmp_path / "k" / "exp"
    with pytest.raises(RuntimeError), remove_new_run_on_failure(kept):
        (kept / "weights").mkdir(parents=True)
        (kept / "weights" / "last.pt").write_bytes(b"x")
        raise RuntimeError("died after a checkpoint")
    assert (kept / "weights" / "last.pt").is_file()  # a checkpoint is worth resuming


def test_a_failed_training_keeps_the_users_folder_with_exist_ok(tmp_path, data, monkeypatch):
    users = tmp_path / "users"
    users.mkdir()
    (users / "thesis.tex").write_text("years of work")

    def die(self):
        raise KeyboardInterrupt  # Ctrl-C in the first epoch

    monkeypatch.setattr(YoloGhostTrainer, "train", die)
    with pytest.raises(KeyboardInterrupt):
        train("yolov5n.yaml", data=data, project=tmp_path, name="users", exist_ok=True, **FAST)
    assert (users / "thesis.tex").read_text() == "years of work"
    with pytest.raises(KeyboardInterrupt):
        train("yolov5n.yaml", data=data, project=tmp_path / "runs", name="exp", **FAST)
    assert not (tmp_path / "runs" / "exp").exists()  # the folder this call made (with its args.yaml) is gone
    with pytest.raises(ConfigError, match="--name"):
        train("yolov5n.yaml", data=data, project=users, name=".", exist_ok=True, **FAST)
    assert (users / "thesis.tex").read_text() == "years of work"  # the refused call touched nothing


# --------------------------------------------------------------------------------------------------------------------
# export --out


def test_export_into_an_existing_folder_writes_inside_it(tmp_path, capsys):
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "keep.txt").write_text("mine")
    assert cli(["export", "--cfg", "yolov5n.yaml", "--img", "64", "--no-check", "--out", str(exports)]) == 0
    capsys.readouterr()
    assert (exports / "keep.txt").read_text() == "mine" and (exports / "yolov5n.onnx").stat().st_size > 100_000
    ckpt = tmp_path / "m.pt"
    torch.save({"model": yolo_ghost.build_model("yolov5n.yaml", nc=2).half(), "train_args": {"imgsz": 64}}, ckpt)
    size = ckpt.stat().st_size
    assert cli(["export", "--weights", str(ckpt), "--out", str(ckpt), "--no-check"]) == 2
    assert "is the checkpoint being exported" in one_error_line(capsys) and ckpt.stat().st_size == size
    folder = exports / "m.onnx"  # inside --out there is a folder of the user's where the file would go
    folder.mkdir()
    (folder / "data.csv").write_text("1,2")
    with pytest.raises(ConfigError, match="no export wrote"):
        export(weights=ckpt, out=exports, check=False)
    assert (folder / "data.csv").read_text() == "1,2"


# --------------------------------------------------------------------------------------------------------------------
# No dataset code runs, nothing is fetched or unpacked


def payload_yaml(root: Path, marker: Path, val: str = "images/missing") -> Path:
    y = root / f"payload-{val.replace('/', '-')}.yaml"
    y.write_text(
        yaml.safe_dump(
            {
                "path": str(root),
                "train": "images/train",
                "val": val,
                "test": "images/missing",
                "names": {0: "rect", 1: "ellipse"},
                "download": f"open({str(marker)!r}, 'w').write('ran')",
            }
        )
    )
    return y


def test_a_dataset_download_snippet_never_runs(tmp_path, data, capsys):
    import ultralytics.data.utils
    import ultralytics.engine.exporter
    import ultralytics.engine.trainer
    import ultralytics.engine.validator

    marker = tmp_path / "PWNED"
    evil = payload_yaml(data.parent, marker)
    prepare_offline()
    for module in (ultralytics.data.utils, ultralytics.engine.trainer, ultralytics.engine.validator,
                   ultralytics.engine.exporter):  # fmt: skip
        with pytest.raises(FileNotFoundError, match="images not found"):
            module.check_det_dataset(str(evil))  # as the engine calls it: autodownload left at its default, True
        with pytest.raises(FileNotFoundError, match="images not found"):
            module.check_det_dataset(str(payload_yaml(data.parent, marker, "images/val")), split="test")
    with pytest.raises(ConfigError, match="images not found"):
        check_splits(evil)
    assert cli(["train", "--cfg", "yolov5n.yaml", "--data", str(evil), "--project", str(tmp_path / "r")]) == 2
    one_error_line(capsys)
    usable = payload_yaml(data.parent, marker, "images/val")  # splits present: used, snippet still not run
    assert check_splits(usable)["nc"] == 2
    assert not marker.exists() and not (tmp_path / "r").exists()


def test_archives_and_urls_are_refused_and_never_unpacked(tmp_path, data, capsys):
    import shutil

    from ultralytics.utils import DATASETS_DIR

    archive = Path(shutil.make_archive(str(tmp_path / "set"), "zip", data.parent))
    before = files_under(DATASETS_DIR)
    assert cli(["train", "--cfg", "yolov5n.yaml", "--data", str(archive), "--project", str(tmp_path / "r")]) == 2
    assert "archive" in one_error_line(capsys)
    prepare_offline()
    import ultralytics.engine.trainer

    with pytest.raises(FileNotFoundError, match="URL"):
        ultralytics.engine.trainer.check_det_dataset("https://example.com/set.zip")
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        ultralytics.engine.trainer.check_cls_dataset("imagenette160")
    assert files_under(DATASETS_DIR) == before and not (tmp_path / "r").exists()


# --------------------------------------------------------------------------------------------------------------------
# --resume checks what the checkpoint records


def crafted_last(project: Path, train_args: dict) -> Path:
    last = project / "exp" / "weights" / "last.pt"
    last.parent.mkdir(parents=True)
    torch.save({"epoch": 0, "train_args": {"epochs": 3, **train_args}}, last)
    return last


def test_resume_refuses_a_recorded_folder_outside_the_project_and_an_unsafe_dataset(tmp_path, data):
    marker = tmp_path / "PWNED"
    outside = tmp_path / "elsewhere" / "run"
    project = tmp_path / "p1"
    crafted_last(project, {"data": str(data), "save_dir": str(outside)})
    with pytest.raises(ConfigError, match="outside --project"):
        train(None, resume=True, project=project)
    project = tmp_path / "p2"
    crafted_last(project, {"data": str(payload_yaml(data.parent, marker)), "save_dir": str(project / "exp")})
    with pytest.raises(ConfigError, match="images not found"):
        train(None, resume=True, project=project)
    project = tmp_path / "p3"
    crafted_last(project, {"data": "/nonexistent/cls", "save_dir": str(project / "exp")})
    with pytest.raises(ConfigError, match="nonexistent"):
        train_classifier(None, resume=True, project=project)
    assert not marker.exists() and not outside.exists()


# --------------------------------------------------------------------------------------------------------------------
# train-cls --val reads the checkpoint safely


def test_train_cls_val_runs_no_pickle_payload(tmp_path, cls_data, capsys):
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.pt"
    torch.save({"model": Payload(marker)}, evil)
    argv = ["train-cls", "--val", str(evil), "--data", str(cls_data), "--project", str(tmp_path / "runs")]
    assert cli(argv) == 2
    err = one_error_line(capsys)
    assert "posix.system" in err and "--trust-checkpoint" in err
    assert not marker.exists() and not (tmp_path / "runs").exists()


# --------------------------------------------------------------------------------------------------------------------
# --hyp holds hyperparameters only


HOSTILE_HYP = {
    "resume: other.pt": "use --resume",
    "split: test": "use `yolo-ghost val --split`",
    "data: coco.yaml": "use --data",
    "project: /tmp": "use --project",
    "name: x": "use --name",
    "epochs: 3": "use --epochs",
    "batch: 4": "use --batch-size",
    "task: classify": "'task' is not a hyperparameter",
    "save_dir: /tmp/x": "use --project and --name",
    "lr0: .nan": "lr0 must be a finite number",
    "lr0: -1": "lr0 -1 is outside (0, 10]",
    "optimizer: bogus": "optimizer 'bogus' is not one of",
    "ema_decay: [1]": "ema_decay must be a number, not list",
    "ema_tau: .nan": "ema_tau must be a finite number",
    "anchor_t: .inf": "anchor_t must be a finite number",
    "mosaic: '1'": "mosaic must be a number, not str",
    "nbs: 2.5": "nbs must be a whole number",
    "cache: disk": "cache 'disk' is not one of",
    "[1, 2]": "must be a mapping",
    "lr_zero: 1": "unknown hyperparameter 'lr_zero'",
}


@pytest.mark.parametrize("text", list(HOSTILE_HYP))
def test_hostile_hyp_file_is_one_line_naming_the_key(tmp_path, text, capsys):
    f = tmp_path / "hyp.yaml"
    f.write_text(text + "\n")
    argv = ["train", "--cfg", "yolov5n.yaml", "--hyp", str(f), "--project", str(tmp_path / "runs")]
    assert cli(argv) == 2
    err = one_error_line(capsys)
    assert HOSTILE_HYP[text] in err and str(f) in err, err
    assert not (tmp_path / "runs").exists()


def test_every_declared_hyp_key_accepts_the_shipped_recipes():
    from yolo_ghost.engine.classify.train import CLS_TRAIN_HYP
    from yolo_ghost.engine.detect.train import DATASET_RECIPES, YOLOV5_TRAIN_HYP

    for recipe in (YOLOV5_TRAIN_HYP, CLS_TRAIN_HYP, *(r.hyp for r in DATASET_RECIPES.values())):
        assert check_hyp(recipe) == {k: v for k, v in recipe.items()}
    assert not set(FLAG_FOR_KEY) & set(HYP_KEYS)
