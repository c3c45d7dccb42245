"""Export: every shipped config traces to ONNX with a dynamic batch; checkpoints and configs go through the ultralytics
exporter to ONNX, TorchScript, OpenVINO and NCNN and match PyTorch in each runtime."""

from __future__ import annotations

import onnx
import pytest
import torch

import yolo_ghost
from yolo_ghost.__main__ import main
from yolo_ghost.cfg import ConfigError
from yolo_ghost.tools.export import (
    INPUT_NAME,
    OUTPUT_NAME,
    check_export,
    check_onnx,
    export,
    export_onnx,
    runtime_available,
)

IMG = 64


@pytest.mark.parametrize("cfg", yolo_ghost.list_configs())
def test_every_shipped_config_exports_with_a_dynamic_batch(cfg, tmp_path, randomize_bn):
    torch.manual_seed(0)
    model = randomize_bn(yolo_ghost.build_model(cfg)).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    path = export_onnx(model, tmp_path / "m.onnx", IMG)
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == [INPUT_NAME] and [o.name for o in graph.output] == [OUTPUT_NAME]
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert not any(n.op_type == "BatchNormalization" for n in graph.node)  # exported fused
    assert check_onnx(model, path, IMG, batches=(1, 3)) <= 1e-4
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the caller's model is not fused or changed
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind


def test_static_export_has_a_fixed_batch(tmp_path):
    r = export(cfg="yolov5n-ghost.yaml", out=tmp_path / "s.onnx", imgsz=IMG, dynamic=False)
    dim = onnx.load(str(r.path)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dim] == [1, 3, IMG, IMG]
    assert r.max_rel_err is not None and r.max_rel_err <= 1e-4


def test_export_rounds_the_size_up_to_the_stride(tmp_path):
    with pytest.warns(UserWarning, match="multiple of the model stride 32; using 96"):
        r = export(cfg="yolov5n.yaml", out=tmp_path / "r.onnx", imgsz=70, check=False)
    assert r.imgsz == 96 and r.max_rel_err is None
    dim = onnx.load(str(r.path)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dim[1:]] == [3, 96, 96]


def test_export_command(tmp_path, capsys):
    out = tmp_path / "cli.onnx"
    assert main(["export", "--cfg", "yolov5-shufflenetv2.yaml", "--img", str(IMG), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.is_file() and "batch 1" in text and "max relative error" in text  # what YOLO("x.onnx") runs
    assert main(["export", "--cfg", "yolov5n.yaml", "--img", str(IMG), "--out", str(out), "--dynamic-batch"]) == 0
    assert "dynamic batch" in capsys.readouterr().out
    assert onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert main(["export", "--weights", str(tmp_path / "missing.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "not found" in err and "\n" not in err
    assert main(["export", "--cfg", "yolov5n.yaml", "--format", "tensorrt-cpu"]) == 2
    err = capsys.readouterr().err
    assert "unknown format 'tensorrt-cpu'" in err and "openvino" in err
    with pytest.raises(SystemExit):  # --weights and --cfg are exclusive
        main(["export", "--weights", "a.pt", "--cfg", "yolov5n.yaml"])


def _onnx_shape_and_args(path):
    import ast

    proto = onnx.load(str(path))
    meta = {p.key: p.value for p in proto.metadata_props}
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    return dims, ast.literal_eval(meta["args"]), ast.literal_eval(meta["imgsz"])


def test_metadata_states_what_the_graph_accepts(tmp_path):
    """ultralytics' `dynamic` means any input size: False for a fixed graph (its predictor then letterboxes to the
    traced square), True only when height and width are symbolic too."""
    r = export(cfg="yolov5n-ghost.yaml", out=tmp_path / "f.onnx", imgsz=IMG, check=False)
    dims, args, imgsz = _onnx_shape_and_args(r.path)
    assert dims == [1, 3, IMG, IMG] and args["dynamic"] is False and imgsz == [IMG, IMG] and args["batch"] == 1
    r = export(cfg="yolov5n-ghost.yaml", out=tmp_path / "d.onnx", imgsz=IMG, dynamic=True)
    dims, args, _ = _onnx_shape_and_args(r.path)
    assert dims == ["batch", 3, "height", "width"] and args["dynamic"] is True
    assert r.max_rel_err <= 1e-4  # checked at batch 1 and 2


FORMATS = ["onnx", "torchscript", "openvino", "ncnn"]
SUFFIX = {"onnx": ".onnx", "torchscript": ".torchscript", "openvino": "_openvino_model", "ncnn": "_ncnn_model"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_checkpoint_exports_through_ultralytics_and_matches_pytorch(fmt, tmp_path, randomize_bn):
    if not runtime_available(fmt):
        pytest.skip(f"{fmt}: its runtime is not installed (pip install -e '.[dev]' installs it)")
    torch.manual_seed(0)
    model = randomize_bn(yolo_ghost.build_model("yolov5n-ghost.yaml", nc=3)).eval()
    ckpt = tmp_path / "best.pt"
    torch.save({"model": model.half(), "train_args": {"imgsz": IMG}}, ckpt)
    r = export(weights=ckpt, format=fmt)
    assert r.path == tmp_path / f"best{SUFFIX[fmt]}" and r.path.exists() and r.imgsz == IMG and r.format == fmt
    assert r.max_rel_err is not None and r.max_rel_err <= 1e-4 and r.max_abs_err <= 1e-4 * IMG * 10
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["best.pt", r.path.name])  # no scratch left
    # the check can fail: the same file against a model with other weights is far off
    other = randomize_bn(yolo_ghost.build_model("yolov5n-ghost.yaml", nc=3)).eval()
    _, rel = check_export(other, r.path, fmt, IMG)
    assert rel > 1e-2


def test_export_refuses_bad_sources(tmp_path):
    with pytest.raises(ConfigError, match="exactly one"):
        export()
    with pytest.raises(ConfigError, match="unknown format 'onxx'"):
        export(cfg="yolov5n.yaml", format="onxx")


@pytest.mark.parametrize("photo", ["bus.jpg", "zidane.jpg"])
def test_exported_model_predicts_a_non_square_photo_like_the_checkpoint(photo, tmp_path, randomize_bn):
    """The photos ultralytics ships (810x1080 and 1280x720) through YOLO(.pt) and YOLO(.onnx): same boxes."""
    from pathlib import Path

    import ultralytics
    from ultralytics import YOLO

    source = str(Path(ultralytics.__file__).parent / "assets" / photo)
    torch.manual_seed(0)
    model = randomize_bn(yolo_ghost.build_model("yolov5n.yaml", nc=2)).eval()
    with torch.no_grad():  # spread the scores (an untrained head gives every box the same prior), so ranks are clear
        for conv in model.model[-1].m:
            conv.bias.normal_(0.0, 2.0, generator=torch.Generator().manual_seed(0))
    ckpt = tmp_path / "m.pt"
    torch.save({"model": model.half(), "train_args": {"imgsz": 160}}, ckpt)
    r = export(weights=ckpt)
    assert r.imgsz == 160 and r.max_rel_err <= 1e-4
    kw = {"conf": 0.001, "max_det": 50, "verbose": False}
    onnx_pred = YOLO(str(r.path), task="detect").predict(source, **kw)[0]  # the size comes from the metadata
    assert onnx_pred.orig_shape[0] != onnx_pred.orig_shape[1]
    # the .pt predictor letterboxes to the same square (rect=False), so both runs see the same pixels
    ref = YOLO(str(ckpt)).predict(source, imgsz=160, rect=False, **kw)[0]
    assert len(ref.boxes) > 0 and len(onnx_pred.boxes) == len(ref.boxes)
    # the 20 best boxes each have a twin within 1 photo pixel and 1e-3 score (further down, boxes of nearly equal
    # score at the max_det cut may be kept by one run and not the other)
    top = onnx_pred.boxes.conf.argsort(descending=True)[:20]
    near = torch.cdist(onnx_pred.boxes.xyxy[top], ref.boxes.xyxy, p=float("inf")) < 1.0
    same_score = (onnx_pred.boxes.conf[top, None] - ref.boxes.conf[None]).abs() < 1e-3
    same_class = onnx_pred.boxes.cls[top, None] == ref.boxes.cls[None]
    assert (near & same_score & same_class).any(1).all()


def test_dynamic_export_takes_any_batch_and_size_as_its_metadata_says(tmp_path, randomize_bn):
    import numpy as np
    import onnxruntime as ort

    from yolo_ghost.tools.export import prepare_for_export

    torch.manual_seed(0)
    model = randomize_bn(yolo_ghost.build_model("yolov5n-ghost.yaml", nc=2)).eval()
    ckpt = tmp_path / "m.pt"
    torch.save({"model": model.half(), "train_args": {"imgsz": IMG}}, ckpt)
    r = export(weights=ckpt, dynamic=True)
    ref_model = prepare_for_export(yolo_ghost.load_checkpoint(ckpt))
    sess = ort.InferenceSession(str(r.path), providers=["CPUExecutionProvider"])
    for b, h, w in ((1, IMG, IMG), (2, 96, IMG), (3, IMG, 128)):  # non-square, as the predictor letterboxes photos
        x = torch.rand(b, 3, h, w)
        with torch.no_grad():
            ref = ref_model(x).numpy()
        out = sess.run(None, {INPUT_NAME: x.numpy()})[0]
        assert out.shape == ref.shape == (b, 6, 3 * (h * w // 64 + h * w // 256 + h * w // 1024))
        assert np.abs(out - ref).max() / np.abs(ref).max() < 1e-4
