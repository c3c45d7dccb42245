"""Tiny datasets for training tests, learnable in a few steps: YOLO-format detection (two classes on a flat
background) and ImageFolder classification (reddish and bluish noise); and the small models and readers several
test files share."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import torch
import yaml

import yolo_ghost
from yolo_ghost.cfg import models_dir


def anchor_free_cfg(tmp: Path) -> Path:
    """The Ghost family YAML with the anchor-free head (``[nc]``); returned as its n-scale name."""
    text = (models_dir() / "yolov5-ghost.yaml").read_text().replace("[nc, anchors]", "[nc]")
    (tmp / "yolov5-ghost-af.yaml").write_text(text)
    return tmp / "yolov5n-ghost-af.yaml"


def read_results(run: Path) -> list[dict[str, float]]:
    """A training run's results.csv, one dict of floats per epoch."""
    with open(run / "results.csv") as f:
        return [{k.strip(): float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def finding_model(cfg: str, nc: int = 2, seed: int = 0) -> torch.nn.Module:
    """An untrained detector made to find boxes: non-trivial BatchNorm statistics, and the coarsest level's
    objectness raised, so that a few well-separated candidates (2x2 cells x 3 anchors at 64 px) pass a threshold
    (YOLOv5's prior makes an untrained model find almost nothing)."""
    model = yolo_ghost.build_model(cfg, nc=nc).eval()
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    head = model.model[-1]
    with torch.no_grad():
        head.m[-1].bias.view(head.na, head.no)[:, 4] += 6.0
    return model


def make_dataset(root: Path, n_train: int = 8, n_val: int = 4, size: int = 64, seed: int = 0) -> Path:
    """A YOLO-format dataset of filled red rectangles (class 0) and cyan ellipses (class 1) on grey."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("val", n_val)):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            im = np.full((size, size, 3), 60, np.uint8)
            rows = []
            for _ in range(int(rng.integers(1, 3))):
                c = int(rng.integers(0, 2))
                w, h = (int(v) for v in rng.integers(size // 4, size // 2, 2))
                x0, y0 = int(rng.integers(0, size - w)), int(rng.integers(0, size - h))
                if c == 0:
                    cv2.rectangle(im, (x0, y0), (x0 + w - 1, y0 + h - 1), (0, 0, 255), -1)
                else:
                    cv2.ellipse(im, (x0 + w // 2, y0 + h // 2), (w // 2, h // 2), 0, 0, 360, (255, 220, 0), -1)
                rows.append(f"{c} {(x0 + w / 2) / size:.6f} {(y0 + h / 2) / size:.6f} {w / size:.6f} {h / size:.6f}")
            cv2.imwrite(str(root / "images" / split / f"{i}.png"), im)
            (root / "labels" / split / f"{i}.txt").write_text("\n".join(rows) + "\n")
    data = root / "data.yaml"
    data.write_text(
        yaml.safe_dump(
            {"path": str(root), "train": "images/train", "val": "images/val", "names": {0: "rect", 1: "ellipse"}}
        )
    )
    return data


def make_cls_folder(
    root: Path, n_train: int = 24, n_val: int = 12, size: int = 24, seed: int = 0, n_test: int = 0
) -> Path:
    """ImageFolder data: noisy reddish (class ``red``) and bluish (class ``blue``) images, learnable in a few steps;
    a ``test/`` split too when ``n_test`` is set."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        for i in range(n):
            cls = ("blue", "red")[i % 2]
            base = np.array([200, 60, 40] if cls == "blue" else [40, 60, 200], np.float32)  # BGR
            im = np.clip(base + rng.normal(0, 40, (size, size, 3)), 0, 255).astype(np.uint8)
            (root / split / cls).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / split / cls / f"{i}.png"), im)
    return root
