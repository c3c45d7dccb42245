"""Checkpoints load with weights_only=True and an allow-list: a crafted pickle runs nothing in any entry point."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from payload import Payload
from toy_data import make_dataset

import yolo_ghost
from yolo_ghost import ConfigError
from yolo_ghost.__main__ import main as cli
from yolo_ghost.engine.detect.train import train
from yolo_ghost.models.checkpoint import UnsafeCheckpointError, checkpoint_globals, read_checkpoint

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def genuine(tmp_path_factory, data) -> Path:
    """best.pt of one epoch of yolov5n-ghost at 64 px: what the trainer really writes."""
    run = tmp_path_factory.mktemp("runs")
    s = train(
        "yolov5n-ghost.yaml", data=data, epochs=1, imgsz=64, batch=4, workers=0, project=run, name="a",
        plots=False, close_mosaic=0, warmup_epochs=0,
    )  # fmt: skip
    return Path(s["best"])


def crafted(tmp: Path, how: str) -> tuple[Path, Path]:
    """A .pt whose unpickling would create a marker file: inside torch.save's zip, as a plain pickle, or hidden in a
    genuine-looking checkpoint dict next to a real model."""
    marker = tmp / f"PWNED-{how}"
    path = tmp / f"evil-{how}.pt"
    if how == "zip":
        torch.save({"model": Payload(marker)}, path)
    elif how == "raw":
        path.write_bytes(pickle.dumps({"model": Payload(marker)}, protocol=2))
    elif how == "raw4":
        path.write_bytes(pickle.dumps({"model": Payload(marker)}, protocol=4))
    else:  # a real model with the payload in its train_args
        model = yolo_ghost.build_model("yolov5n.yaml", nc=2)
        torch.save({"model": model.half(), "train_args": {"imgsz": 64, "x": Payload(marker)}}, path)
    return path, marker


HOWS = ["zip", "raw", "raw4", "hidden"]


def test_genuine_checkpoint_needs_only_allowed_types(genuine):
    names = checkpoint_globals(genuine)
    assert "yolo_ghost.models.yolo.YoloGhostModel" in names and "yolo_ghost.nn.builder.LayerInfo" in names
    ckpt = read_checkpoint(genuine)
    assert type(ckpt.get("ema") or ckpt["model"]).__name__ == "YoloGhostModel" and ckpt["train_args"]["imgsz"] == 64
    model = yolo_ghost.load_checkpoint(genuine)
    x = torch.zeros(1, 3, 64, 64)
    assert model(x)[0].shape[1] == 4 + 2


@pytest.mark.parametrize("how", HOWS)
def test_crafted_checkpoint_runs_nothing_in_the_library(tmp_path, how):
    path, marker = crafted(tmp_path, how)
    with pytest.raises(UnsafeCheckpointError, match=r"posix\.system.*--trust-checkpoint") as e:
        yolo_ghost.load_checkpoint(path)
    assert "\n" not in str(e.value)
    with pytest.raises(UnsafeCheckpointError):
        read_checkpoint(path)
    from ultralytics import YOLO

    with pytest.raises(UnsafeCheckpointError):
        YOLO(str(path))
    assert not marker.exists()


def test_crafted_checkpoint_runs_nothing_in_the_commands(tmp_path, data, capsys):
    from val_det import main as val

    for how in HOWS:
        path, marker = crafted(tmp_path, how)
        assert val(["--weights", str(path), "--data", str(data), "--project", str(tmp_path / "runs")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "posix.system" in err and "--trust-checkpoint" in err, (how, err)
        assert cli(["export", "--weights", str(path)]) == 2
        out = capsys.readouterr().err.strip()
        assert out.count("\n") == 0 and "posix.system" in out, (how, out)
        assert not marker.exists(), how
    assert not (tmp_path / "runs").exists()  # a refused run leaves no folder


def test_only_trust_loads_a_crafted_checkpoint_and_it_runs_its_code(tmp_path):
    path, marker = crafted(tmp_path, "zip")
    with pytest.raises(ConfigError):  # trusted: the payload ran, and the result is not a model
        yolo_ghost.load_checkpoint(path, trust=True)
    assert marker.exists()


@pytest.mark.parametrize("safe_env", ["0", "1"])
def test_genuine_checkpoint_loads_in_ultralytics_after_import(genuine, data, tmp_path, safe_env):
    image = next((data.parent / "images" / "val").glob("*.png"))
    code = (
        "import json, yolo_ghost\n"
        "from ultralytics import YOLO\n"
        f"m = YOLO({str(genuine)!r})\n"
        f"p = m.predict({str(image)!r}, imgsz=64, conf=0.0, verbose=False)[0]\n"
        "print(json.dumps({'cls': type(m.model).__name__, 'n': len(p.boxes)}))\n"
    )
    env = {**os.environ, "YOLO_OFFLINE": "1", "ULTRALYTICS_SAFE_LOAD": safe_env}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"cls": "YoloGhostModel", "n": result["n"]} and result["n"] > 0


def test_genuine_checkpoint_validates_and_exports(genuine, data, tmp_path, monkeypatch):
    from val_det import main as val

    monkeypatch.setattr("ultralytics.nn.tasks.SAFE_LOAD", True)  # as ULTRALYTICS_SAFE_LOAD=1 sets it at import
    assert val(["--weights", str(genuine), "--data", str(data), "--project", str(tmp_path / "runs")]) == 0
    assert json.loads((tmp_path / "runs" / "exp" / "metrics.json").read_text())["settings"]["imgsz"] == 64
    assert cli(["export", "--weights", str(genuine), "--out", str(tmp_path / "g.onnx")]) == 0
    assert (tmp_path / "g.onnx").is_file()


def bad_files(tmp: Path) -> dict[str, Path]:
    """Files that are not checkpoints, as a careless user hands them over."""
    files = {}
    rng = torch.Generator().manual_seed(0)
    files["random"] = tmp / "random.pt"
    files["random"].write_bytes(bytes(torch.randint(0, 256, (4096,), generator=rng, dtype=torch.uint8).tolist()))
    files["empty"] = tmp / "empty.pt"
    files["empty"].write_bytes(b"")
    buf = io.BytesIO()
    torch.save({"model": yolo_ghost.build_model("yolov5n.yaml", nc=2)}, buf)
    files["truncated"] = tmp / "truncated.pt"
    files["truncated"].write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    files["plain-dict"] = tmp / "dict.pt"
    torch.save({"a": 1, "b": [2, 3]}, files["plain-dict"])
    files["tensor"] = tmp / "tensor.pt"
    torch.save(torch.zeros(3), files["tensor"])
    files["state-dict"] = tmp / "sd.pt"
    torch.save(yolo_ghost.build_model("yolov5n.yaml", nc=2).state_dict(), files["state-dict"])
    files["zip-not-torch"] = tmp / "zip.pt"
    with zipfile.ZipFile(files["zip-not-torch"], "w") as z:
        z.writestr("hello.txt", "hi")
    return files


def test_bad_files_are_refused_in_one_line(tmp_path, data, capsys):
    for name, path in bad_files(tmp_path).items():
        with pytest.raises(ConfigError) as e:
            yolo_ghost.load_checkpoint(path)
        assert "\n" not in str(e.value), name
        assert cli(["export", "--weights", str(path)]) == 2, name
        out = capsys.readouterr().err.strip()
        assert out.startswith("error: ") and out.count("\n") == 0, (name, out)
    from val_det import main as val

    for name in ("random", "truncated", "plain-dict", "tensor"):
        path = tmp_path / f"{name.replace('plain-', '')}.pt"
        assert val(["--weights", str(path), "--data", str(data), "--img", "64", "--project", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("val_det.py: error: ") and err.count("\n") == 0, (name, err)


def _with_old_module_paths(path: Path, out: Path) -> Path:
    """``path`` as a checkpoint written before the package was regrouped into layer folders: every class global
    names its old module (``yolo_ghost.model``, ``yolo_ghost.builder``, ``yolo_ghost.blocks.<file>``)."""
    import pickletools

    def old(module: str) -> str:
        for new, was in (("yolo_ghost.models.yolo", "yolo_ghost.model"), ("yolo_ghost.nn.builder", "yolo_ghost.builder"),
                         ("yolo_ghost.nn.blocks.", "yolo_ghost.blocks.")):  # fmt: skip
            if module.startswith(new):
                return was + module[len(new) :]
        return module

    def rewrite(pkl: bytes) -> bytes:
        ops = list(pickletools.genops(pkl))
        buf = bytearray()
        for i, (op, arg, pos) in enumerate(ops):
            end = ops[i + 1][2] if i + 1 < len(ops) else len(pkl)
            if op.name == "GLOBAL" and str(arg).startswith("yolo_ghost."):
                module, name = str(arg).split(" ", 1)
                buf += b"c" + old(module).encode() + b"\n" + name.encode() + b"\n"
            else:
                buf += pkl[pos:end]
        return bytes(buf)

    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, rewrite(data) if item.filename.endswith("data.pkl") else data)
    return out


def test_a_checkpoint_with_the_old_module_paths_still_loads(tmp_path):
    model = yolo_ghost.build_model("yolov5n-ghost.yaml", nc=2).eval()
    torch.save({"model": model, "train_args": {"imgsz": 64}}, tmp_path / "new.pt")
    old = _with_old_module_paths(tmp_path / "new.pt", tmp_path / "old.pt")
    names = checkpoint_globals(old)
    assert "yolo_ghost.model.YoloGhostModel" in names and "yolo_ghost.builder.LayerInfo" in names
    assert any(n.startswith("yolo_ghost.blocks.") for n in names) and not any(
        n.startswith(("yolo_ghost.nn.", "yolo_ghost.models.")) for n in names
    )
    with pytest.warns(DeprecationWarning, match="moved to yolo_ghost"):
        loaded = yolo_ghost.load_checkpoint(old)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded.float()(x)[0], yolo_ghost.load_checkpoint(tmp_path / "new.pt").float()(x)[0])
    assert type(loaded) is yolo_ghost.YoloGhostModel
