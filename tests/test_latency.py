"""Latency measurement: every model on every backend, interleaved rounds, honest statistics."""

from __future__ import annotations

import statistics

import pytest
import torch
from torch import nn

import yolo_ghost
from yolo_ghost.tools.latency import (
    CPU_BACKENDS,
    OPENVINO_BACKEND,
    LatencyStats,
    available_backends,
    format_latency_table,
    measure_latency,
    paired_ratio,
)

CALLS: list[str] = []  # module level, so the deep copies measure_latency makes still write here


class Tagged(nn.Module):
    """Records its name at every call; sleeps ``ms`` so that its latency is known."""

    def __init__(self, tag: str, ms: float) -> None:
        super().__init__()
        self.tag, self.ms = tag, ms
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import time

        CALLS.append(self.tag)
        time.sleep(self.ms / 1e3)
        return x * self.w


def test_rounds_are_interleaved_and_rotated():
    CALLS.clear()
    models = {t: Tagged(t, ms) for t, ms in (("a", 1.0), ("b", 20.0), ("c", 8.0))}
    res = measure_latency(models, 32, backends=["torch-cpu"], warmup=1, rounds=4, settle=0, progress=False)
    # one warm-up pass in insertion order, then each round starts one model later
    assert "".join(CALLS) == "abc" + "abc" + "bca" + "cab" + "abc"
    for t, ms in (("a", 1.0), ("b", 20.0), ("c", 8.0)):
        s = res[t]["torch-cpu"]
        assert s.runs == 4 and s.batch == 1 and s.imgsz == 32 and s.threads == torch.get_num_threads()
        assert ms <= s.p10_ms <= s.median_ms <= s.p90_ms < ms + 50
    assert res["a"]["torch-cpu"].median_ms < res["c"]["torch-cpu"].median_ms < res["b"]["torch-cpu"].median_ms
    c, a = res["c"]["torch-cpu"], res["a"]["torch-cpu"]
    ratios = sorted(x / y for x, y in zip(c.times_ms, a.times_ms))
    assert paired_ratio(c, a) == pytest.approx(statistics.median(ratios), rel=1e-12)
    assert paired_ratio(c, a, q=0) == pytest.approx(ratios[0])
    assert paired_ratio(c, a, q=100) == pytest.approx(ratios[-1])
    assert paired_ratio(c, a, q=25) <= paired_ratio(c, a) <= paired_ratio(c, a, q=75)
    with pytest.raises(ValueError, match="percentile"):
        paired_ratio(c, a, q=101)
    assert paired_ratio(c, a) > 2.0  # 8 ms against 1 ms plus overhead
    assert res["b"]["torch-cpu"].as_dict()["times_ms"] == list(res["b"]["torch-cpu"].times_ms)
    CALLS.clear()
    measure_latency(models, 32, backends=["torch-cpu"], warmup=0, rounds=2, settle=1, progress=False)
    assert "".join(CALLS) == "aabbcc" + "bbccaa"  # each timed run right after an untimed one of the same model
    table = format_latency_table(res, baseline="a")
    assert "x1.00" in table and "4 interleaved rounds" in table


def test_detectors_on_both_cpu_backends():
    assert available_backends()[:2] == list(CPU_BACKENDS)
    models = {"n": yolo_ghost.build_model("yolov5n.yaml"), "n-ghost": yolo_ghost.build_model("yolov5n-ghost.yaml")}
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in models["n"].modules())
    res = measure_latency(models, 64, backends=CPU_BACKENDS, warmup=1, rounds=3, threads=1, progress=False)
    assert set(res) == {"n", "n-ghost"} and all(set(v) == set(CPU_BACKENDS) for v in res.values())
    assert all(s.median_ms > 0 and s.runs == 3 and s.threads == 1 for v in res.values() for s in v.values())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in models["n"].modules()) == n_bn  # caller's model not fused


def test_classifiers_on_both_cpu_backends_run_the_exported_softmax(tmp_path):
    import numpy as np
    import onnxruntime as ort

    models = {n: yolo_ghost.build_model(f"{n}.yaml", nc=10) for n in ("shufflenetv2-cls", "shufflenetv2-k5-cls")}
    res = measure_latency(models, 32, backends=CPU_BACKENDS, warmup=1, rounds=2, threads=1, progress=False,
                          workdir=tmp_path)  # fmt: skip
    assert all(set(v) == set(CPU_BACKENDS) and all(s.median_ms > 0 for s in v.values()) for v in res.values())
    files = sorted(tmp_path.glob("*.onnx"))
    assert len(files) == 2  # what onnxruntime timed: the classifier exported as deployed, probabilities out
    for f in files:
        out = ort.InferenceSession(str(f), providers=["CPUExecutionProvider"]).run(
            None, {"images": np.zeros((3, 3, 32, 32), np.float32)}
        )[0]
        assert out.shape == (3, 10) and np.allclose(out.sum(1), 1.0, atol=1e-5)


def test_bad_arguments_are_refused():
    m = {"a": Tagged("a", 0.0)}
    with pytest.raises(ValueError, match="rounds >= 1"):
        measure_latency(m, 32, rounds=0, progress=False)
    with pytest.raises(ValueError, match="not available here"):
        measure_latency(m, 32, backends=["tpu"], progress=False)
    with pytest.raises(ValueError, match="ort_opt_level"):
        measure_latency(m, 32, ort_opt_level="max", progress=False)
    with pytest.raises(ValueError, match="no models"):
        measure_latency({}, 32, progress=False)


def _stats(name: str, times: list[float]) -> LatencyStats:
    return LatencyStats(
        model=name, backend="torch-cpu", imgsz=32, batch=1, threads=1, median_ms=statistics.median(times),
        p10_ms=min(times), p90_ms=max(times), runs=len(times), times_ms=tuple(times),
    )  # fmt: skip


def test_table_ratio_is_the_median_of_per_round_ratios():
    """Equal medians (ratio of medians 1.00), but in two rounds of three `b` took twice `a`'s time."""
    a, b = _stats("a", [2.0, 1.0, 5.0]), _stats("b", [1.0, 2.0, 10.0])
    assert a.median_ms == b.median_ms == 2.0
    table = format_latency_table({"a": {"torch-cpu": a}, "b": {"torch-cpu": b}}, baseline="a")
    row = next(line for line in table.splitlines() if line.startswith("b "))
    assert row.rstrip().endswith("x2.00"), table
    assert "median over rounds of the ratio to a" in table


def test_openvino_backend_is_offered_and_timed_when_installed():
    import importlib.util

    installed = importlib.util.find_spec("openvino") is not None
    assert (OPENVINO_BACKEND in available_backends()) == installed
    if not installed:
        pytest.skip("openvino is not installed (pip install -e '.[openvino]')")
    models = {"n": yolo_ghost.build_model("yolov5n.yaml"), "n-ghost": yolo_ghost.build_model("yolov5n-ghost.yaml")}
    backends = ["onnxruntime-cpu", OPENVINO_BACKEND]
    res = measure_latency(models, 64, backends=backends, warmup=1, rounds=3, threads=1, progress=False)
    assert all(set(v) == set(backends) for v in res.values())
    assert all(s.median_ms > 0 and s.runs == 3 and s.threads == 1 for v in res.values() for s in v.values())


def test_openvino_model_computes_what_pytorch_computes(tmp_path):
    pytest.importorskip("openvino", reason="openvino is not installed (pip install -e '.[openvino]')")
    from yolo_ghost.tools.export import export_onnx, prepare_for_export
    from yolo_ghost.tools.latency import openvino_model

    torch.manual_seed(0)
    model = yolo_ghost.build_model("yolov5n-ghost.yaml").eval()
    path = export_onnx(model, tmp_path / "m.onnx", 64)
    x = torch.rand(1, 3, 64, 64)
    compiled = openvino_model(path, threads=1)
    out = compiled(x.numpy())[compiled.output(0)]
    with torch.no_grad():
        ref = prepare_for_export(model)(x).numpy()
    assert out.shape == ref.shape and abs(out - ref).max() / abs(ref).max() < 1e-4


def test_deployed_files_run_under_the_precision_hint_asked_for(tmp_path):
    ov = pytest.importorskip("openvino", reason="openvino is not installed (pip install -e '.[openvino]')")
    from yolo_ghost.tools.export import export_onnx
    from yolo_ghost.tools.latency import openvino_model

    path = export_onnx(yolo_ghost.build_model("yolov5n.yaml").eval(), tmp_path / "m.onnx", 64)
    hint = "INFERENCE_PRECISION_HINT"
    assert openvino_model(path, threads=1).get_property(hint) == ov.Type.f32
    # CPUs without bf16 units run f32 whatever the hint; this machine has them (avx512_bf16)
    assert openvino_model(path, threads=1, precision="bf16").get_property(hint) in (ov.Type.bf16, ov.Type.f32)
    xml = tmp_path / "m.xml"
    ov.save_model(ov.convert_model(path), xml)
    res = measure_latency(
        {"n": yolo_ghost.build_model("yolov5n.yaml")}, 64, backends=[], warmup=1, rounds=2, threads=1,
        progress=False, artifacts={"n": {"ov-f32": (xml, "f32"), "ort": path}},
    )  # fmt: skip
    assert set(res["n"]) == {"ov-f32", "ort"} and all(s.runs == 2 for s in res["n"].values())
    with pytest.raises(ValueError, match="precision hint applies to OpenVINO"):
        measure_latency({"n": yolo_ghost.build_model("yolov5n.yaml")}, 64, backends=[], rounds=1, progress=False,
                        artifacts={"n": {"ort": (path, "f32")}})  # fmt: skip
