"""Feature distillation (``train --distill``, ``bench --distill``): what the head declares, the loss on a fixed batch,
a tiny distilled run that saves a student without its teacher, resumes and exports, and the refusals."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from payload import Payload
from toy_data import anchor_free_cfg, make_dataset, read_results
from ultralytics.cfg import get_cfg

import yolo_ghost.bench.runner as bench
from yolo_ghost.bench.files import check_settings, read_bench_folder
from yolo_ghost.bench.tasks import bench_rows
from yolo_ghost.cfg import ConfigError
from yolo_ghost.engine.detect.train import YoloGhostTrainer, train, train_gains
from yolo_ghost.models.checkpoint import UnsafeCheckpointError, checkpoint_globals, read_checkpoint
from yolo_ghost.models.distill import HeadDistillationModel
from yolo_ghost.models.yolo import YoloGhostModel, build_model, load_checkpoint
from yolo_ghost.nn.blocks.heads import head_distill_layers, head_loss_names

ROOT = Path(__file__).resolve().parents[1]
FAST = {"plots": False, "close_mosaic": 0, "warmup_epochs": 0}


def save_model(path: Path, cfg: str | Path, nc: int = 2) -> Path:
    """A checkpoint of an untrained ``cfg`` as the trainer writes one (``model`` and ``train_args``)."""
    torch.manual_seed(0)
    torch.save({"model": build_model(cfg, nc=nc).half(), "train_args": {"imgsz": 64}}, path)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("data"))


# --------------------------------------------------------------------------------------------------------------------
# What the head declares


def test_anchor_head_scores_are_its_decoded_scores_per_cell():
    """The teacher's per-location scores are, after the sigmoid DistillationModel applies, the best anchor's decoded
    score (objectness x class probability) in each cell of each level, per class."""
    torch.manual_seed(0)
    model = build_model("yolov5n.yaml", nc=3).eval()
    head = model.model[-1]
    with torch.no_grad():
        out = model(torch.rand(2, 3, 96, 64))
        scores = head.distill_scores(out).sigmoid()
    decoded = out[0][:, 4:]  # (B, nc, anchors x cells, level by level)
    sizes = [(12, 8), (6, 4), (3, 2)]  # 96 x 64 at strides 8, 16, 32
    assert scores.shape == (2, 3, sum(h * w for h, w in sizes))
    a = c = 0
    for h, w in sizes:
        best = decoded[..., a : a + 3 * h * w].reshape(2, 3, 3, h * w).amax(2)  # max over the 3 anchors
        torch.testing.assert_close(scores[..., c : c + h * w], best, rtol=1e-4, atol=1e-6)
        a, c = a + 3 * h * w, c + h * w
    assert float(best.max()) > 0.0  # real scores, not the clamp
    assert torch.equal(head.distill_scores(out[1]), head.distill_scores(out))  # the raw maps alone give the same


def test_heads_declare_the_imitated_levels(tmp_path):
    assert head_distill_layers(build_model("yolov5n.yaml").model[-1]) == [17, 20, 23, 24]  # P3-P5, then the head
    af = build_model(anchor_free_cfg(tmp_path)).model[-1]
    assert head_distill_layers(af) == [*af.f, af.i]  # ultralytics' head: DistillationModel's own rule
    assert head_distill_layers(build_model("shufflenetv2-cls.yaml").model[-1]) is None


# --------------------------------------------------------------------------------------------------------------------
# The loss


@pytest.mark.parametrize("head", ["anchor", "anchor-free"])
def test_distillation_loss_is_nonzero_and_decreases_on_a_fixed_batch(head, tmp_path):
    student_cfg = "yolov5n-ghost.yaml" if head == "anchor" else anchor_free_cfg(tmp_path)
    teacher_cfg = "yolov5n.yaml" if head == "anchor" else "yolov8n.yaml"
    torch.manual_seed(0)
    student, teacher = build_model(student_cfg, nc=2), build_model(teacher_cfg, nc=2)
    student.args = get_cfg(overrides={"imgsz": 64, "dis": 1.0, **train_gains(student_cfg)})
    model = HeadDistillationModel(teacher, student).train()
    frozen = {k: v.clone() for k, v in model.teacher_model.state_dict().items()}
    g = torch.Generator().manual_seed(0)
    batch = {
        "img": torch.rand(4, 3, 64, 64, generator=g),
        "batch_idx": torch.arange(4.0),
        "cls": torch.tensor([[0.0], [1.0], [0.0], [1.0]]),
        "bboxes": torch.tensor(
            [[0.5, 0.5, 0.3, 0.3], [0.4, 0.4, 0.2, 0.5], [0.3, 0.6, 0.4, 0.2], [0.5, 0.5, 0.5, 0.5]]
        ),
    }
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert not any(p.requires_grad for p in model.teacher_model.parameters())
    optimizer = torch.optim.Adam(trainable, lr=1e-3)
    dis = []
    for _ in range(6):
        loss, items = model(batch)
        # the head's loss terms, then ultralytics' dis_loss: the order of results.csv and the progress bar
        assert list(items) == [*head_loss_names(student.model[-1]), "dis_loss"] and len(loss) == len(items)
        dis.append(float(items["dis_loss"]))
        optimizer.zero_grad()
        loss.sum().backward()
        optimizer.step()
    assert dis[0] > 1e-3, dis
    assert dis[-1] < 0.6 * dis[0] and dis[-1] == min(dis), dis
    assert all(torch.equal(v, frozen[k]) for k, v in model.teacher_model.state_dict().items())  # the teacher is frozen


# --------------------------------------------------------------------------------------------------------------------
# A tiny distilled run


class _KilledError(Exception):
    pass


@pytest.fixture(scope="module")
def distilled(tmp_path_factory, data):
    """2 epochs of yolov5n-ghost at 64 px distilled from a yolov5n: killed after epoch 1, its teacher moved, resumed."""
    root = tmp_path_factory.mktemp("distill")
    teacher = save_model(root / "teacher.pt", "yolov5n.yaml")
    mp = pytest.MonkeyPatch()
    original = YoloGhostTrainer.save_model

    def save_then_die(self):
        original(self)
        raise _KilledError  # as if the process died right after the first epoch's checkpoint

    mp.setattr(YoloGhostTrainer, "save_model", save_then_die)
    args = {"data": data, "epochs": 2, "imgsz": 64, "batch": 4, "workers": 0, "project": root / "runs", **FAST}
    try:
        with pytest.raises(_KilledError):
            train("yolov5n-ghost.yaml", name="d", distill=teacher, hyp={"dis": 2.0}, **args)
    finally:
        mp.undo()
    run = root / "runs" / "d"
    interrupted = read_checkpoint(run / "weights" / "last.pt")
    moved = root / "elsewhere" / "teacher.pt"
    moved.parent.mkdir()
    shutil.move(teacher, moved)
    with pytest.raises(ConfigError, match=r"its teacher .*teacher\.pt' is gone; give its new place with --distill"):
        train(None, resume=run, project=root / "runs")
    summary = train(None, resume=run, project=root / "runs", distill=moved)
    return summary, interrupted, run, moved


def test_interrupted_checkpoint_holds_the_student_and_projector_not_the_teacher(distilled):
    ckpt = distilled[1]
    ema = ckpt["ema"]
    assert isinstance(ema, HeadDistillationModel) and ema.teacher_model is None  # read by the safe loader
    assert not any(k.startswith("teacher_model.") for k in ema.state_dict())
    assert any(k.startswith("projector.") for k in ema.state_dict())  # resumed with the projector it trained
    assert ckpt["train_args"]["dis"] == 2.0


def test_distilled_run_trains_and_resumes(distilled):
    summary, _, run, moved = distilled
    rows = read_results(run)
    assert [r["epoch"] for r in rows] == [1, 2]  # the resumed run went on from epoch 2
    for r in rows:
        assert r["train/dis_loss"] > 0 and r["train/box_loss"] > 0 and r["train/obj_loss"] > 0
    assert read_checkpoint(run / "weights" / "last.pt")["train_args"]["distill_model"] == str(moved)
    # the summary reports the student, BN fused, not the teacher
    student = build_model("yolov5n-ghost.yaml", nc=2)
    assert summary["cfg"] == "yolov5n-ghost.yaml" and summary["params"] < sum(p.numel() for p in student.parameters())


@pytest.mark.parametrize("which", ["best", "last"])
def test_saved_student_carries_no_teacher_and_loads_safely(distilled, which):
    summary, _, _, _ = distilled
    path = Path(summary[which])
    assert not [g for g in checkpoint_globals(path) if "distill" in g.lower()]  # no wrapper, no hook
    model = load_checkpoint(path)  # the safe loader, no --trust-checkpoint
    assert type(model) is YoloGhostModel
    student = build_model("yolov5n-ghost.yaml", nc=2)
    assert model.state_dict().keys() == student.state_dict().keys()
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in student.parameters())


def test_distilled_student_exports_without_its_teacher(distilled, tmp_path):
    import onnx

    from yolo_ghost.tools.export import export
    from yolo_ghost.tools.profiler import profile_model

    best = tmp_path / "best.pt"
    shutil.copy(distilled[0]["best"], best)
    r = export(weights=best)
    assert r.path == tmp_path / "best.onnx" and r.max_rel_err <= 1e-4
    weights = sum(int(torch.tensor(t.dims).prod()) for t in onnx.load(str(r.path)).graph.initializer)
    fused = profile_model("yolov5n-ghost.yaml", imgsz=64, nc=2).params
    assert fused <= weights < fused + 1_000  # the student's fused weights (and a few constants), no teacher


# --------------------------------------------------------------------------------------------------------------------
# Refusals


def test_mismatched_teacher_is_refused_in_one_line_before_training(tmp_path, data):
    p6 = save_model(tmp_path / "p6.pt", "yolov5n-p6.yaml")  # 4 levels: strides 8, 16, 32, 64
    out = subprocess.run(
        [sys.executable, str(ROOT / "train_det.py"), "--cfg", "yolov5n-ghost.yaml", "--data", str(data), "--img", "64",
         "--distill", str(p6), "--project", str(tmp_path / "runs")],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "YOLO_OFFLINE": "1"}, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-1500:]
    last = out.stderr.strip().splitlines()[-1]
    assert last == (
        f"train_det.py: error: --distill {str(p6)!r}: its head reads 4 feature levels (strides [8, 16, 32, 64]) and "
        "the student's 3 ([8, 16, 32]); give a teacher whose head has 3 levels, strides [8, 16, 32]"
    )
    assert not (tmp_path / "runs").exists()  # refused before any run folder


def test_teacher_refusals(tmp_path, data):
    run = {"data": data, "epochs": 1, "imgsz": 64, "batch": 4, "workers": 0, "project": tmp_path / "runs"}
    with pytest.raises(ConfigError, match=r"--distill 'none\.pt': file not found; give a trained detector's"):
        train("yolov5n-ghost.yaml", distill="none.pt", **run)
    cls = save_model(tmp_path / "cls.pt", "shufflenetv2-cls.yaml")
    with pytest.raises(ConfigError, match=r"it is not a detector \(its last layer is .*\); give a detector's"):
        train("yolov5n-ghost.yaml", distill=cls, **run)
    # the teacher is read by the safe loader: a file that would run code is refused and runs nothing
    marker = tmp_path / "PWNED"
    torch.save({"model": Payload(marker)}, tmp_path / "evil.pt")
    with pytest.raises(UnsafeCheckpointError, match="--trust-checkpoint"):
        train("yolov5n-ghost.yaml", distill=tmp_path / "evil.pt", **run)
    assert not marker.exists()
    # a run that trained without a teacher cannot take one on resume (its optimizer has no room for the projector)
    plain = tmp_path / "runs" / "plain" / "weights" / "last.pt"
    plain.parent.mkdir(parents=True)
    torch.save({"model": build_model("yolov5n-ghost.yaml", nc=2), "epoch": 0, "train_args": {"data": str(data)}}, plain)
    with pytest.raises(ConfigError, match="trained without a teacher; start a new run to distill"):
        train(None, resume=plain, distill=save_model(tmp_path / "t.pt", "yolov5n.yaml"), project=tmp_path / "runs")
    assert not (tmp_path / "runs" / "exp").exists()


# --------------------------------------------------------------------------------------------------------------------
# The bench


def test_bench_rows_and_recorded_distill(tmp_path, data):
    cfgs = ["yolov5n.yaml", "yolov5n-ghost.yaml"]
    assert bench_rows(cfgs, {"yolov5n-ghost": "t.pt"}) == [
        ("yolov5n", "yolov5n.yaml", None),
        ("yolov5n-ghost", "yolov5n-ghost.yaml", None),
        ("yolov5n-ghost+distill", "yolov5n-ghost.yaml", "t.pt"),
    ]
    teacher = save_model(tmp_path / "t.pt", "yolov5n.yaml")
    kw = {"data": str(data), "epochs": 1, "imgsz": 64, "batch": 4, "project": tmp_path / "b"}
    with pytest.raises(ConfigError, match=r"--distill yolov5s=.*: yolov5s is not one of --cfg \(yolov5n, yolov5n-gh"):
        bench.run_bench(cfgs, distill={"yolov5s": str(teacher)}, **kw)
    with pytest.raises(ConfigError, match="its head reads 4 feature levels"):
        bench.run_bench(cfgs, distill={"yolov5n-ghost.yaml": str(save_model(tmp_path / "p6.pt", "yolov5n-p6.yaml"))},
                        **kw)  # fmt: skip
    with pytest.raises(ConfigError, match="--distill needs training"):
        bench.run_bench(cfgs, weights=[str(teacher)] * 2, distill={"yolov5n-ghost": str(teacher)}, **kw)
    assert not (tmp_path / "b").exists()
    # a recorded distill is checked like every other setting, and the distilled row's results are read back
    settings = {
        "task": "detect", "cfgs": cfgs, "weights": None, "data": "shapes", "device": "", "epochs": 1, "batch": 4,
        "workers": 0, "imgsz": 64, "latency_imgsz": 64, "latency_rounds": 2, "latency_warmup": 0, "threads": 1,
        "seed": 0, "seeds": [0], "backends": ["torch-cpu"], "baselines": {"yolov5n-ghost+distill": "yolov5n-ghost"},
        "distill": {"yolov5n-ghost": str(teacher)},
    }  # fmt: skip
    assert check_settings(settings, "settings.json") is settings
    with pytest.raises(ConfigError, match=r"settings.json: distill: 'yolov5s' is not a config of this bench"):
        check_settings({**settings, "distill": {"yolov5s": str(teacher)}}, "settings.json")
    with pytest.raises(ConfigError, match=r"baselines: yolov5n\+distill=yolov5n: both must be rows"):
        check_settings({**settings, "baselines": {"yolov5n+distill": "yolov5n"}}, "settings.json")
    folder = tmp_path / "folder"
    (folder / "results" / "yolov5n-ghost+distill").mkdir(parents=True)
    (folder / "settings.json").write_text(json.dumps(settings))
    (folder / "results" / "yolov5n-ghost+distill" / "seed0.json").write_text(json.dumps({"seed": 1}))
    with pytest.raises(ConfigError, match=r"yolov5n-ghost\+distill/seed0.json: seed is 1"):
        read_bench_folder(folder, available=["torch-cpu"])


@pytest.mark.slow
def test_bench_trains_a_distilled_row_and_resumes_with_its_teacher(tmp_path, data):
    teacher = save_model(tmp_path / "t.pt", "yolov5n.yaml")
    report = bench.run_bench(
        ["yolov5n-ghost.yaml"], data=str(data), epochs=1, imgsz=64, batch=4, workers=0, project=tmp_path / "b",
        name="x", distill={"yolov5n-ghost": str(teacher)}, pairs={"yolov5n-ghost+distill": "yolov5n-ghost"},
        latency_rounds=2, latency_warmup=0, backends=["torch-cpu"],
    )  # fmt: skip
    assert [r["name"] for r in report["rows"]] == ["yolov5n-ghost", "yolov5n-ghost+distill"]
    assert report["settings"]["distill"] == {"yolov5n-ghost": str(teacher)}
    plain, distilled = (
        tmp_path / "b" / "x" / "train" / n / "seed0" for n in ("yolov5n-ghost", "yolov5n-ghost+distill")
    )
    assert "train/dis_loss" in read_results(distilled)[0] and "train/dis_loss" not in read_results(plain)[0]
    assert report["rows"][0]["params"] == report["rows"][1]["params"]  # the same student graph
    again = bench.run_bench([], resume=tmp_path / "b" / "x")  # every run recorded: nothing trained again
    assert [r["name"] for r in again["rows"]] == ["yolov5n-ghost", "yolov5n-ghost+distill"]
