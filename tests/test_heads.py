"""The head decides: its loss, the names of the loss terms and the trainer's gains are asked of the head."""

from __future__ import annotations

import pytest
import torch
from ultralytics.utils import DEFAULT_CFG
from ultralytics.utils.loss import v8DetectionLoss

from yolo_ghost import build_model, register_block, unregister_block
from yolo_ghost.engine.detect.train import train_gains
from yolo_ghost.models.yolo import model_head
from yolo_ghost.nn.blocks.heads import AnchorDetect, head_loss_names, head_train_gains
from yolo_ghost.nn.loss import YOLOv5Loss


@pytest.mark.parametrize(
    ("cfg", "names", "gains", "loss"),
    [
        ("yolov5n.yaml", ("box_loss", "obj_loss", "cls_loss"), {"box": 0.05, "cls": 0.5}, YOLOv5Loss),
        ("yolov8n.yaml", ("box_loss", "cls_loss", "dfl_loss"), {}, v8DetectionLoss),
    ],
)
def test_loss_names_gains_and_loss_come_from_the_head(cfg, names, gains, loss):
    assert train_gains(cfg) == gains  # before the model exists: the head is built on the meta device
    head = model_head(cfg)
    assert next(head.parameters()).device.type == "meta"
    assert head_loss_names(head) == names
    model = build_model(cfg, nc=3)
    model.args = DEFAULT_CFG  # the trainer's arguments, which ultralytics' loss reads
    assert head_loss_names(model.model[-1]) == names
    assert head_train_gains(model.model[-1]) == gains
    assert type(model.init_criterion()) is loss


class ToyLoss:
    """Sum of squares of the raw maps, as one term."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model

    def __call__(self, preds, batch):
        raw = preds[1] if isinstance(preds, tuple) else preds
        total = sum((p.float() ** 2).mean() for p in raw).view(1)
        return total * batch["img"].shape[0], {"toy_loss": total.detach()}


class ToyDetect(AnchorDetect):
    """An anchor head that trains with its own loss and gains, declared here and nowhere else."""

    loss_names = ("toy_loss",)
    train_gains = {"box": 1.25, "cls": 0.75}  # noqa: RUF012

    def make_loss(self, model: torch.nn.Module) -> ToyLoss:
        return ToyLoss(model)


@pytest.fixture
def toy_head():
    register_block(
        "ToyDetect", inputs="list", out=lambda c_in, args: 0, width_args=(), repeat="none", signature="[nc, anchors]"
    )(ToyDetect)
    yield
    unregister_block("ToyDetect")


def test_a_new_head_family_declares_its_own_loss(toy_head):
    cfg = build_model("yolov5n.yaml").yaml
    cfg["head"][-1] = [cfg["head"][-1][0], 1, "ToyDetect", ["nc", "anchors"]]
    assert train_gains(cfg) == {"box": 1.25, "cls": 0.75}
    model = build_model(cfg, nc=2)
    assert isinstance(model.model[-1], ToyDetect)
    assert head_loss_names(model.model[-1]) == ("toy_loss",)
    assert isinstance(model.init_criterion(), ToyLoss)
    batch = {
        "img": torch.zeros(2, 3, 64, 64),
        "batch_idx": torch.tensor([0.0]),
        "cls": torch.tensor([[1.0]]),
        "bboxes": torch.tensor([[0.5, 0.5, 0.2, 0.2]]),
    }
    model.train()
    loss, items = model.loss(batch)  # the ultralytics engine's call: init_criterion, forward, criterion
    assert set(items) == {"toy_loss"} and loss.shape == (1,) and loss.item() > 0
