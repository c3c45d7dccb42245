"""What a user deploys: INT8 export in ONNX Runtime and OpenVINO, ``val`` on exported models (an fp32 export scores as
its checkpoint does), the ignored scope of ``--keep-float``, and ``bench --deploy`` against scoring by hand."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import onnx
import onnx.numpy_helper
import pytest
import torch
from toy_data import finding_model, make_dataset

import yolo_ghost
from yolo_ghost.__main__ import main as cli
from yolo_ghost.bench import stats
from yolo_ghost.bench.deploy import export_target
from yolo_ghost.bench.runner import run_bench
from yolo_ghost.cfg import ConfigError
from yolo_ghost.engine.detect.val import evaluate
from yolo_ghost.tools.export import export, exported_format, runtime_available
from yolo_ghost.tools.quantize import Int8Settings, float_modules

IMG = 64
CALIB = 4


def _checkpoint(cfg: str, path: Path, seed: int = 0) -> Path:
    """A checkpoint that finds boxes without training, so that mAP and the INT8 ranges are not degenerate."""
    torch.save({"model": finding_model(cfg, seed=seed), "train_args": {"imgsz": IMG}}, path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("int8")
    data = make_dataset(d / "set", n_train=6, n_val=4, size=IMG)
    return _checkpoint("yolov5n-ghost.yaml", d / "m.pt"), data


def _score(weights: Path, data: Path, out: Path) -> dict:
    return evaluate(weights, data, save_dir=out, verbose=False)["pycocotools"]


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "openvino"])
def test_fp32_export_scores_as_its_checkpoint(fmt, files, tmp_path):
    ckpt, data = files
    if not runtime_available(fmt):
        pytest.fail(f"the dev extra installs the {fmt} runtime")
    path = export(weights=ckpt, out=tmp_path, format=fmt).path
    assert exported_format(path) == fmt
    want, have = _score(ckpt, data, tmp_path / "v_pt"), _score(path, data, tmp_path / "v_exp")
    assert want["num_detections"] > 0
    assert abs(have["AP50-95"] - want["AP50-95"]) <= 0.002
    # OpenVINO runs the float graph in bf16 on CPUs with bf16 units (its default): a score may cross the threshold
    assert abs(have["num_detections"] - want["num_detections"]) <= (
        0 if fmt != "openvino" else 0.02 * want["num_detections"]
    )


def _quantized_onnx_convs(path: Path) -> dict[str, bool]:
    """Every Conv of a QDQ graph: whether its weight comes through a DequantizeLinear (INT8) or as a float tensor."""
    g = onnx.load(str(path)).graph
    producer = {o: n for n in g.node for o in n.output}
    return {
        n.name: (n.input[1] in producer and producer[n.input[1]].op_type == "DequantizeLinear")
        for n in g.node
        if n.op_type == "Conv"
    }


def test_onnx_int8_quantizes_the_convs_but_the_head_and_scores(files, tmp_path):
    ckpt, data = files
    r = export(weights=ckpt, out=tmp_path, format="onnx", int8=Int8Settings(str(data), CALIB))
    assert r.path.name == "m_int8.onnx" and r.int8["calib_images"] == CALIB and r.int8["activations"] == "u8"
    assert 0 < r.max_rel_err < 0.5  # INT8 differs from PyTorch, reported rather than refused
    convs = _quantized_onnx_convs(r.path)
    head = {k: v for k, v in convs.items() if k.startswith("/model.24/")}
    assert len(head) == 3 and not any(head.values())  # the head's output convs stay fp32
    assert sum(convs.values()) == len(convs) - 3
    meta = {p.key: p.value for p in onnx.load(str(r.path)).metadata_props}
    assert meta["imgsz"] == f"[{IMG}, {IMG}]" and "'quantize': 8" in meta["args"]
    got = _score(r.path, data, tmp_path / "v")
    assert got["num_detections"] > 0 and 0.0 <= got["AP50-95"] <= 1.0


def _activation_scales(path: Path) -> dict[str, float]:
    """The scale of every QuantizeLinear of an activation (its input is not a weight initializer), by node name."""
    g = onnx.load(str(path)).graph
    init = {t.name: onnx.numpy_helper.to_array(t) for t in g.initializer}
    return {n.name: float(init[n.input[1]]) for n in g.node if n.op_type == "QuantizeLinear" and n.input[0] not in init}


def test_percentile_calibration_clips_the_activation_ranges(files, tmp_path):
    ckpt, data = files
    scales = {}
    for method in ("minmax", "percentile"):
        r = export(
            weights=ckpt, out=tmp_path / method, format="onnx", int8=Int8Settings(str(data), CALIB, calibration=method)
        )
        assert r.int8["calibration"] == method
        scales[method] = _activation_scales(r.path)
    assert scales["minmax"].keys() == scales["percentile"].keys() and len(scales["minmax"]) > 10
    # the 0.001-99.999 percentiles of the values never reach beyond their extremes, and clip some of them (a little,
    # with four calibration images; more where outliers are real)
    ratios = sorted(scales["percentile"][k] / scales["minmax"][k] for k in scales["minmax"])
    assert ratios[-1] <= 1 + 1e-6 and ratios[len(ratios) // 2] < 1 - 1e-5
    with pytest.raises(ConfigError, match="INT8 calibration 'kl'"):
        Int8Settings(str(data), CALIB, calibration="kl")


def _onnx_scope(module: str) -> str:
    """The scope torch.onnx gives a module's nodes: ``model.4.m.0.cv1`` -> ``/model.4/m/m.0/cv1/``."""
    p = module.split(".")
    out, i = [f"{p[0]}.{p[1]}"], 2
    while i < len(p):
        if i + 1 < len(p) and p[i + 1].isdigit():
            out += [p[i], f"{p[i]}.{p[i + 1]}"]
            i += 2
        else:
            out.append(p[i])
            i += 1
    return "/" + "/".join(out) + "/"


def test_keep_float_keeps_the_named_layers_in_floating_point(files, tmp_path):
    ckpt, data = files
    model = yolo_ghost.load_checkpoint(ckpt)
    dw = {
        f"{_onnx_scope(n)}Conv"
        for n, m in model.named_modules()
        if isinstance(m, torch.nn.Conv2d) and m.groups > 1 and m.groups == m.in_channels
    }
    r = export(
        weights=ckpt, out=tmp_path / "a.onnx", format="onnx", int8=Int8Settings(str(data), CALIB, ("depthwise",))
    )
    convs = _quantized_onnx_convs(r.path)
    assert dw and dw <= set(convs) and not any(convs[n] for n in dw)
    assert all(v for k, v in convs.items() if k not in dw and not k.startswith("/model.24/"))
    ghost = [n for n, m in model.named_modules() if type(m).__name__ == "GhostConv"]
    r = export(
        weights=ckpt, out=tmp_path / "b.onnx", format="onnx", int8=Int8Settings(str(data), CALIB, ("GhostConv",))
    )
    convs = _quantized_onnx_convs(r.path)
    inside = {k for k in convs if any(k.startswith(_onnx_scope(g)) for g in ghost)}
    assert len(inside) == 2 * len(ghost) and not any(convs[k] for k in inside)  # GhostConv = primary + cheap conv
    assert float_modules(model, ["GhostConv"])[0] == "model.24"
    with pytest.raises(ConfigError, match="GhostConvv: no such layer"):
        float_modules(model, ["GhostConvv"])


def test_openvino_int8_quantizes_and_keeps_the_ignored_scope(files, tmp_path):
    import openvino as ov

    ckpt, data = files

    def int8_group_convs(path: Path) -> tuple[int, int]:
        """(FakeQuantize ops, depthwise convs reading INT8 weights or a FakeQuantize'd input)."""
        m = ov.Core().read_model(str(next(path.glob("*.xml"))))

        def int8_upstream(node) -> bool:  # through a dequantization chain only, not through earlier layers
            kind = node.get_type_name()
            if kind == "FakeQuantize":
                return True
            if kind == "Constant":
                return node.get_element_type().get_type_name() in ("i8", "u8")
            chain = ("Convert", "Subtract", "Multiply", "Reshape")
            return kind in chain and any(int8_upstream(i.get_node()) for i in node.input_values())

        ops = m.get_ordered_ops()
        fq = sum(op.get_type_name() == "FakeQuantize" for op in ops)
        dw = [op for op in ops if op.get_type_name() == "GroupConvolution"]
        return fq, sum(any(int8_upstream(i.get_node()) for i in op.input_values()) for op in dw)

    r = export(weights=ckpt, out=tmp_path, format="openvino", int8=Int8Settings(str(data), CALIB))
    assert r.path.name == "m_int8_openvino_model" and (r.path / "metadata.yaml").is_file()
    fq, dw_fq = int8_group_convs(r.path)
    assert fq > 0 and dw_fq > 0
    got = _score(r.path, data, tmp_path / "v")
    assert got["num_detections"] > 0 and 0.0 <= got["AP50-95"] <= 1.0
    r = export(
        weights=ckpt,
        out=tmp_path / "kept_openvino_model",
        format="openvino",
        int8=Int8Settings(str(data), CALIB, ("depthwise",)),
    )
    fq_kept, dw_kept = int8_group_convs(r.path)
    assert dw_kept == 0 and fq_kept > 0


def test_int8_commands_explain_what_is_missing(files, tmp_path, capsys):
    ckpt, data = files
    assert cli(["export", "--weights", str(ckpt), "--int8"]) == 2
    assert "--int8 needs --data" in capsys.readouterr().err
    assert cli(["export", "--weights", str(ckpt), "--keep-float", "depthwise"]) == 2
    assert "add --int8" in capsys.readouterr().err
    assert cli(["export", "--weights", str(ckpt), "--format", "openvino", "--int8", "--data", str(data),
                "--calibration", "percentile"]) == 2  # fmt: skip
    assert "NNCF fits its own" in capsys.readouterr().err
    assert cli(["export", "--weights", str(ckpt), "--format", "torchscript", "--int8", "--data", str(data)]) == 2
    assert "supported for --format onnx and openvino" in capsys.readouterr().err
    out = tmp_path / "q.onnx"
    assert (
        cli(["export", "--weights", str(ckpt), "--int8", "--data", str(data), "--calib-images", "2", "--out", str(out)])
        == 0
    )
    assert "INT8 (2 calibration images" in capsys.readouterr().out
    assert cli(["val", "--weights", str(out), "--data", str(data), "--project", str(tmp_path / "v")]) == 0
    assert "COCO AP50-95" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "v" / "exp" / "metrics.json").read_text())
    assert metrics["settings"]["imgsz"] in (IMG, [IMG, IMG])
    assert (
        cli(["val", "--weights", str(out), "--data", str(data), "--img", "128", "--project", str(tmp_path / "v")]) == 2
    )
    assert "exported for 64x64 only" in capsys.readouterr().err


def test_paired_interval_agrees_with_a_hand_computation():
    a, b = [0.70, 0.72, 0.69], [0.71, 0.725, 0.70]
    d = [x - y for x, y in zip(a, b)]
    half = stats.t_ppf(0.975, 2) * statistics.stdev(d) / math.sqrt(3)
    r = stats.paired_interval(a, b)
    assert r.diff == pytest.approx(statistics.mean(d)) and r.df == 2
    assert (r.low, r.high) == pytest.approx((statistics.mean(d) - half, statistics.mean(d) + half))
    assert stats.t_ppf(0.975, 2) == pytest.approx(4.303, abs=1e-3)  # the t table's value
    with pytest.raises(ValueError, match="pairs need the same number"):
        stats.paired_interval([0.1], [0.1, 0.2])


def test_bench_deploy_agrees_with_scoring_the_files_by_hand(files, tmp_path):
    _, data = files
    ckpts = [_checkpoint(c, tmp_path / f"{i}.pt", seed=i) for i, c in enumerate(["yolov5n.yaml", "yolov5n-ghost.yaml"])]
    report = run_bench(
        ["yolov5n.yaml", "yolov5n-ghost.yaml"], data=str(data), imgsz=IMG, weights=[str(c) for c in ckpts],
        project=tmp_path, name="b", latency_rounds=2, latency_warmup=1, deploy=["onnx-int8", "openvino-int8"],
        calib_images=CALIB, threads=1,
    )  # fmt: skip
    rows = {(r["name"], r["target"]): r for r in report["deploy"]}
    assert set(rows) == {(n, t) for n in ("yolov5n", "yolov5n-ghost") for t in ("onnx-int8", "openvino-int8")}
    settings = report["settings"]
    for k, row in enumerate(report["rows"]):
        run = json.loads((tmp_path / "b" / "results" / row["name"] / "seed0.json").read_text())
        for t in ("onnx-int8", "openvino-int8"):
            path = export_target(ckpts[k], t, tmp_path / "hand" / row["name"] / t, IMG, str(data), settings["deploy"])
            by_hand = _score(path, data, tmp_path / "hand" / row["name"] / t / "val")["AP50-95"]
            assert run["deploy"][t]["map50_95"] == pytest.approx(by_hand, abs=1e-9)
            d = rows[(row["name"], t)]
            assert d["map50_95"] == pytest.approx(by_hand, abs=1e-9)
            assert d["drop"]["diff"] == pytest.approx(by_hand - run["map50_95"], abs=1e-9)
            assert d["latency_ms"] > 0 and row["latency"][t]["runs"] == 2
    assert rows[("yolov5n", "onnx-int8")]["latency_ratio"] == 1.0
    assert rows[("yolov5n", "onnx-int8")]["fp32_latency_ratio"] is None  # no fp32 file deployed to compare with
    md = (tmp_path / "b" / "bench.md").read_text()
    assert "### Deployed models" in md and md.count("| onnx-int8 |") == 2
    assert (tmp_path / "b" / "pareto-openvino-int8.png").stat().st_size > 10_000
