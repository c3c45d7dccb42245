"""The classic YOLOv5 loss: anchor/cell assignment, the empty-image case, and that it trains."""

from __future__ import annotations

import pytest
import torch

from yolo_ghost import build_model
from yolo_ghost.nn.blocks.heads import AnchorDetect
from yolo_ghost.nn.loss import LOSS_NAMES, YOLOv5Loss


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    m = build_model("yolov5n.yaml", nc=3)
    m.train()
    return m


def _targets(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32).view(-1, 6)


def _cells(model, targets: torch.Tensor, level: int, size: int = 256) -> set[tuple[int, int, int]]:
    """(anchor, row, col) triples the loss assigns the targets to at one level of a `size` x `size` input."""
    head: AnchorDetect = model.model[-1]
    loss = YOLOv5Loss(model)
    g = size // int(head.stride[level])
    _, a, gj, gi, _, _ = loss.build_targets(targets, head.anchors_grid_units[level], g, g)
    return set(zip(a.tolist(), gj.tolist(), gi.tolist()))


def test_target_at_cell_centre_goes_to_its_anchor_and_cell(model):
    head = model.model[-1]
    level, anchor, size = 1, 2, 256  # P4 (stride 16), its third anchor (59 x 119 px)
    g = size // 16
    w, h = (head.anchor_wh[level, anchor] / size).tolist()
    # exactly at the centre of cell (row 6, col 5): YOLOv5's strict `< 0.5` test adds no neighbour
    centre = _targets([[0, 0, 5.5 / g, 6.5 / g, w, h]])
    assert (anchor, 6, 5) in _cells(model, centre, level)
    assert {c for c in _cells(model, centre, level) if c[0] == anchor} == {(anchor, 6, 5)}
    # a quarter cell up-left of the centre: the cell plus its left and upper neighbours
    off = _targets([[0, 0, 5.25 / g, 6.25 / g, w, h]])
    assert {c for c in _cells(model, off, level) if c[0] == anchor} == {(anchor, 6, 5), (anchor, 6, 4), (anchor, 5, 5)}
    # a quarter cell down-right: right and lower neighbours
    off = _targets([[0, 0, 5.75 / g, 6.75 / g, w, h]])
    assert {c for c in _cells(model, off, level) if c[0] == anchor} == {(anchor, 6, 5), (anchor, 6, 6), (anchor, 7, 5)}


def test_target_beyond_anchor_t_is_not_assigned(model):
    head = model.model[-1]
    size = 256
    # 1 x 1 px: more than 4x smaller than every anchor (the smallest is 10 x 13 px)
    tiny = _targets([[0, 0, 0.5, 0.5, 1 / size, 1 / size]])
    assert float(head.anchor_wh.min()) / 1 > 4.0
    for level in range(head.nl):
        assert _cells(model, tiny, level) == set()
    # 10 x 13 px equals the smallest anchor: assigned at P3, and P5's anchors (>= 90 px) are more than 4x off
    exact = _targets([[0, 0, 0.5, 0.5, 10 / size, 13 / size]])
    assert {c[0] for c in _cells(model, exact, 0)} >= {0}
    assert _cells(model, exact, 2) == set()


def test_target_near_border_stays_on_grid(model):
    cells = _cells(model, _targets([[0, 0, 0.01, 0.99, 0.05, 0.05]]), 0)
    assert cells and all(0 <= j < 32 and 0 <= i < 32 for _, j, i in cells)


def test_loss_format_and_no_targets(model):
    x = torch.rand(2, 3, 128, 128)
    empty = {"img": x, "batch_idx": torch.zeros(0), "cls": torch.zeros(0, 1), "bboxes": torch.zeros(0, 4)}
    model.zero_grad()
    loss, items = model.loss(empty, model(x))
    assert loss.shape == (3,) and tuple(items) == LOSS_NAMES
    assert float(items["box_loss"]) == 0.0 and float(items["cls_loss"]) == 0.0
    assert float(items["obj_loss"]) > 0.0
    loss.sum().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    # validation passes the (decoded, raw) tuple
    model.eval()
    with torch.no_grad():
        loss_eval, _ = model.loss(empty, model(x))
    model.train()
    assert torch.isfinite(loss_eval).all()


def test_loss_is_batch_size_times_items(model):
    x = torch.rand(2, 3, 128, 128)
    batch = {
        "img": x,
        "batch_idx": torch.tensor([0.0, 1.0]),
        "cls": torch.tensor([[0.0], [2.0]]),
        "bboxes": torch.tensor([[0.5, 0.5, 0.3, 0.2], [0.3, 0.6, 0.1, 0.2]]),
    }
    loss, items = model.loss(batch, model(x))
    assert torch.allclose(loss.detach(), 2 * torch.stack(list(items.values())))
    assert all(float(v) > 0 for v in items.values())


def test_loss_decreases_under_sgd():
    torch.manual_seed(0)
    m = build_model("yolov5n.yaml", nc=2)
    m.train()
    x = torch.rand(4, 3, 96, 96)
    batch = {
        "img": x,
        "batch_idx": torch.tensor([0.0, 1.0, 2.0, 3.0, 3.0]),
        "cls": torch.tensor([[0.0], [1.0], [0.0], [1.0], [0.0]]),
        "bboxes": torch.tensor(
            [
                [0.5, 0.5, 0.4, 0.3],
                [0.3, 0.3, 0.2, 0.2],
                [0.6, 0.4, 0.3, 0.5],
                [0.2, 0.7, 0.2, 0.3],
                [0.7, 0.7, 0.3, 0.3],
            ]
        ),
    }
    opt = torch.optim.SGD(m.parameters(), lr=0.02, momentum=0.9)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss, _ = m.loss(batch, m(x))
        loss.sum().backward()
        opt.step()
        losses.append(float(loss.detach().sum()))
    assert losses[-1] < 0.7 * losses[0], losses
