"""Hostile datasets on disk: only regular image files are read. A symlink to /dev/zero, a fifo, a symlink loop, a
folder reached twice, an oversize file or an empty class folder is one ConfigError line naming the path, within
seconds, before ultralytics sees the data (yolo_ghost.data.scan; issue 22)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from toy_data import make_cls_folder, make_dataset

from yolo_ghost.__main__ import main as cli
from yolo_ghost.cfg import ConfigError
from yolo_ghost.cfg.limits import LimitError, override_limits
from yolo_ghost.data.resolve import check_splits, count_images
from yolo_ghost.data.scan import scan_images
from yolo_ghost.engine.classify.train import resolve_cls_data


@pytest.fixture
def cls_data(tmp_path: Path) -> Path:
    return make_cls_folder(tmp_path / "cls", n_train=8, n_val=4, size=16)


def refused(data: Path, match: str) -> str:
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=match) as e:
        resolve_cls_data(data)
    assert time.perf_counter() - t0 < 2.0
    assert "\n" not in str(e.value)
    return str(e.value)


def test_a_clean_imagefolder_passes_and_counts_each_image_once(cls_data):
    assert resolve_cls_data(cls_data) == cls_data.resolve()
    assert len(scan_images(cls_data / "train", "x")) == 8 and len(scan_images(cls_data / "val", "x")) == 4


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_symlink_to_dev_zero_is_refused(cls_data):
    (cls_data / "train" / "red" / "zero.png").symlink_to("/dev/zero")  # hung training: ultralytics reads files whole
    msg = refused(cls_data, r"zero\.png is a character device, not an image file; remove it")
    assert msg.startswith(f"dataset {cls_data.resolve()}: ")


def test_a_fifo_is_refused_without_opening_it(cls_data):
    os.mkfifo(cls_data / "val" / "blue" / "pipe.jpg")  # opening it would block for ever
    refused(cls_data, r"pipe\.jpg is a fifo, not an image file")


def test_a_broken_symlink_is_refused(cls_data):
    (cls_data / "train" / "red" / "gone.png").symlink_to(cls_data / "nothing.png")
    refused(cls_data, r"gone\.png cannot be read \(a broken symlink\)")


def test_a_symlink_loop_is_refused(cls_data):
    (cls_data / "train" / "red" / "loop").symlink_to("..")  # counted 8 images as 168 before
    refused(cls_data, r"train/red/loop leads to .*/train, a folder already read \(a symlink loop")


def test_two_symlink_loops_are_refused_within_seconds(cls_data):
    (cls_data / "train" / "red" / "a").symlink_to("../blue")
    (cls_data / "train" / "blue" / "b").symlink_to("../red")  # together they hung the run before
    refused(cls_data, r"a folder already read")


def test_a_class_folder_reached_twice_is_refused(cls_data):
    (cls_data / "train" / "red2").symlink_to(cls_data / "train" / "red")
    refused(cls_data, r"train/red2 leads to .*/train/red, a folder already read")


def test_an_oversize_image_is_refused_before_reading(cls_data):
    with override_limits(max_image_bytes=100), pytest.raises(LimitError) as e:
        resolve_cls_data(cls_data)
    msg = str(e.value)
    assert "file size (bytes)" in msg and "exceeds the limit of 100 (max_image_bytes)" in msg, msg
    assert "YOLO_GHOST_MAX_IMAGE_BYTES=<n>" in msg


def test_an_empty_class_folder_is_one_config_error(cls_data):
    (cls_data / "train" / "green").mkdir()  # ultralytics printed an ERROR and exited 0
    refused(cls_data, r"class folder\(s\) train/green/ hold no images")


def test_train_cls_prints_one_error_line_and_exits_2(cls_data, tmp_path, capsys):
    (cls_data / "val" / "blue" / "loop").symlink_to("../..")
    argv = ["train-cls", "--cfg", "shufflenetv2-cls.yaml", "--data", str(cls_data), "--epochs", "1"]
    assert cli([*argv, "--project", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: dataset ") and "symlink loop" in err and "\n" not in err, err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.fixture
def det_data(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "det", n_train=2, n_val=1, size=32)


def test_a_loop_in_a_detection_val_split_does_not_multiply_the_images(det_data):
    val = det_data.parent / "images" / "val"
    assert count_images(str(val)) == 1
    (val / "again").symlink_to(".")  # ultralytics scored 1 image as 41
    with pytest.raises(ConfigError, match=r"images/val/again leads to .*/images/val, a folder already read"):
        check_splits(det_data)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_special_file_in_a_detection_split_is_refused(det_data):
    (det_data.parent / "images" / "train" / "zero.jpg").symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match=rf"^dataset {det_data}: .*zero\.jpg is a character device"):
        check_splits(det_data)


def test_a_detection_list_file_entry_is_checked(det_data, tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")
    lst = tmp_path / "val.txt"
    lst.write_text(f"{det_data.parent / 'images' / 'val' / '0.png'}\n{tmp_path / 'pipe.jpg'}\n")
    with pytest.raises(ConfigError, match=r"pipe\.jpg is a fifo"):
        count_images(str(lst), "dataset x")
