"""ONNX export: every shipped config exports with a dynamic batch and matches PyTorch in onnxruntime."""

from __future__ import annotations

import onnx
import pytest
import torch

import yolo_ghost
from yolo_ghost.__main__ import main
from yolo_ghost.export import INPUT_NAME, OUTPUT_NAME, check_onnx, export, export_onnx

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
    assert out.is_file() and "dynamic batch" in text and "max relative error" in text
    assert main(["export", "--weights", str(tmp_path / "missing.pt")]) == 2
    assert "not found" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # --weights and --cfg are exclusive
        main(["export", "--weights", "a.pt", "--cfg", "yolov5n.yaml"])
