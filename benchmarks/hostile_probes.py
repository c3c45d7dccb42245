"""Probe the command line as a hostile or careless user would, and print one table row per probe.

Each probe runs ``python -m yolo_ghost ...`` in a fresh scratch folder (as a user on a fresh install would) and
checks what the project promises: the exit status (2 for a refusal), one ``error:`` line and no traceback, no user
file lost, no payload run (a marker file that dataset code or a pickle would write), nothing written outside the run
folder, and how long the refusal took.

    python benchmarks/hostile_probes.py            # the table, in Markdown
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Outcome:
    rc: int
    seconds: float
    err_lines: list[str]

    @property
    def one_line(self) -> bool:
        return len(self.err_lines) == 1 and self.err_lines[0].startswith("error:")


def cli(*args: str, cwd: Path, timeout: int = 300) -> Outcome:
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "yolo_ghost", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    errs = [line for line in r.stderr.splitlines() if line.strip()]
    if "Traceback" in r.stderr:
        errs = ["TRACEBACK", *errs]
    return Outcome(r.returncode, time.perf_counter() - t0, errs if r.returncode else [])


def images(folder: Path, n: int, size: int = 32, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i}.png"), rng.integers(0, 255, (size, size, 3), dtype=np.uint8))


def det_dataset(root: Path) -> Path:
    for split, n in (("train", 4), ("val", 2)):
        images(root / "images" / split, n, 64)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            (root / "labels" / split / f"{i}.txt").write_text("0 0.5 0.5 0.3 0.3\n")
    y = root / "data.yaml"
    y.write_text(yaml.safe_dump({"path": str(root), "train": "images/train", "val": "images/val", "names": ["a"]}))
    return y


def cls_dataset(root: Path) -> Path:
    for split in ("train", "val"):
        for c in ("a", "b"):
            images(root / split / c, 2, 16)
    return root


class Payload:
    """Unpickling this runs a shell command that writes ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# --------------------------------------------------------------------------------------------------------------------
# The probes: each gets a fresh folder and returns (what was tried, what happened, whether the promise held).

Probe = Callable[[Path], tuple[Outcome, bool, str]]
PROBES: dict[str, Probe] = {}


def probe(name: str) -> Callable[[Probe], Probe]:
    def add(f: Probe) -> Probe:
        PROBES[name] = f
        return f

    return add


def _user_dir(d: Path) -> Path:
    u = d / "mine"
    u.mkdir()
    (u / "thesis.tex").write_text("years of work")
    return u


@probe("train --project DIR --name . --exist-ok")
def _(d: Path):
    u = _user_dir(d)
    o = cli("train", "--cfg", "yolov5n.yaml", "--project", str(u), "--name", ".", "--exist-ok", cwd=d)
    return o, (u / "thesis.tex").is_file(), "user file kept"


def _failing_train(d: Path, *run_folder: str) -> Outcome:
    """A training that fails after its trainer made the run folder: every training image is corrupt."""
    data = det_dataset(d / "set")
    for p in (d / "set" / "images" / "train").iterdir():
        p.write_bytes(b"not an image")
    return cli(
        "train", "--cfg", "yolov5n.yaml", "--data", str(data), "--img", "64", "--epochs", "1", *run_folder, cwd=d
    )


@probe("a failed run (every image corrupt) into an existing folder with --exist-ok")
def _(d: Path):
    u = _user_dir(d)
    o = _failing_train(d, "--project", str(d), "--name", "mine", "--exist-ok")
    return o, (u / "thesis.tex").is_file(), "user file kept"


@probe("the same failed run into a new folder")
def _(d: Path):
    o = _failing_train(d, "--project", str(d / "runs"))
    return o, not (d / "runs").exists(), "no run folder left"


@probe("--name ../escape (train, val, train-cls, bench)")
def _(d: Path):
    before = tree(d)
    outs = [
        cli(*cmd, "--project", str(d / "p"), "--name", "../escape", cwd=d)
        for cmd in (["train", "--cfg", "yolov5n.yaml"], ["val", "--weights", "x.pt"],
                    ["train-cls", "--cfg", "shufflenetv2-cls.yaml"], ["bench", "--cfg", "yolov5n.yaml"])
    ]  # fmt: skip
    worst = max(outs, key=lambda o: (o.rc != 2, not o.one_line))
    return worst, tree(d) == before, "nothing written"


@probe("export --out EXISTING_FOLDER/")
def _(d: Path):
    u = _user_dir(d)
    o = cli("export", "--cfg", "yolov5n.yaml", "--img", "64", "--no-check", "--out", str(u), cwd=d)
    return o, (u / "thesis.tex").is_file() and (u / "yolov5n.onnx").is_file(), "user file kept, ONNX inside"


@probe("export --weights m.pt --out m.pt")
def _(d: Path):
    import yolo_ghost

    ckpt = d / "m.pt"
    torch.save({"model": yolo_ghost.build_model("yolov5n.yaml", nc=2), "train_args": {"imgsz": 64}}, ckpt)
    size = ckpt.stat().st_size
    o = cli("export", "--weights", str(ckpt), "--out", str(ckpt), "--no-check", cwd=d)
    return o, ckpt.stat().st_size == size, "checkpoint kept"


def _payload_yaml(d: Path, marker: Path) -> Path:
    data = det_dataset(d / "set")
    y = yaml.safe_load(data.read_text())
    y.update(val="images/missing", download=f"open({str(marker)!r}, 'w').write('ran')")
    evil = d / "set" / "evil.yaml"
    evil.write_text(yaml.safe_dump(y))
    return evil


@probe("dataset YAML with a download: payload and a missing split")
def _(d: Path):
    marker = d / "PWNED"
    o = cli("train", "--cfg", "yolov5n.yaml", "--data", str(_payload_yaml(d, marker)), "--project", str(d / "r"), cwd=d)
    return o, not marker.exists() and not (d / "r").exists(), "payload not run"


@probe("--data set.zip")
def _(d: Path):
    det_dataset(d / "set")
    archive = shutil.make_archive(str(d / "set"), "zip", d / "set")
    from ultralytics.utils import DATASETS_DIR

    before = tree(DATASETS_DIR) if DATASETS_DIR.exists() else set()
    o = cli("train", "--cfg", "yolov5n.yaml", "--data", archive, "--project", str(d / "r"), cwd=d)
    after = tree(DATASETS_DIR) if DATASETS_DIR.exists() else set()
    return o, before == after, "nothing unpacked"


@probe("--resume of a crafted last.pt (train_args: payload dataset, save_dir outside)")
def _(d: Path):
    marker = d / "PWNED"
    last = d / "runs" / "exp" / "weights" / "last.pt"
    last.parent.mkdir(parents=True)
    torch.save({"epoch": 1, "train_args": {"epochs": 3, "data": str(_payload_yaml(d, marker)),
                                           "save_dir": str(d / "outside")}}, last)  # fmt: skip
    o = cli("train", "--resume", str(d / "runs" / "exp"), "--project", str(d / "runs"), cwd=d)
    return o, not marker.exists() and not (d / "outside").exists(), "payload not run, nothing outside"


@probe("train-cls --val crafted.pt (a pickle payload)")
def _(d: Path):
    marker = d / "PWNED"
    torch.save({"model": Payload(marker)}, d / "evil.pt")
    o = cli("train-cls", "--val", str(d / "evil.pt"), "--data", str(cls_dataset(d / "cls")), cwd=d)
    return o, not marker.exists(), "payload not run"


for _text in ("resume: other.pt", "split: test", "epochs: 3", "lr0: .nan", "optimizer: bogus", "ema_decay: [1]",
              "ema_tau: .nan", "anchor_t: .inf"):  # fmt: skip

    def _hyp(d: Path, text: str = _text):
        (d / "hyp.yaml").write_text(text + "\n")
        o = cli("train", "--cfg", "yolov5n.yaml", "--hyp", str(d / "hyp.yaml"), "--project", str(d / "r"), cwd=d)
        key = text.split(":")[0]
        return o, bool(o.err_lines) and key in o.err_lines[-1] and not (d / "r").exists(), f"names {key!r}"

    PROBES[f"--hyp {{{_text}}}"] = _hyp


def _bench_copy(d: Path) -> Path:
    b = d / "bench"
    shutil.copytree(ROOT / "results" / "bench-v2", b)
    return b


for _key, _value, _file in (("settings", [], "settings.json"), ("seeds", "0", "settings.json"),
                            ("threads", -1, "settings.json"), ("latency_rounds", 1e12, "settings.json"),
                            ("cfgs", None, "settings.json"), ("map50_95", float("nan"), "results/yolov5n/seed0.json")):  # fmt: skip

    def _bench(d: Path, key: str = _key, value=_value, file: str = _file):
        b = _bench_copy(d)
        p = b / file
        if key == "settings":
            p.write_text(json.dumps(value))
        else:
            doc = json.loads(p.read_text())
            if value is None:
                del doc[key]
            else:
                doc[key] = value
            p.write_text(json.dumps(doc))
        before = {f: (b / f).read_bytes() for f in tree(b) if (b / f).is_file()}
        o = cli("bench", "--resume", str(b), cwd=d)
        after = {f: (b / f).read_bytes() for f in tree(b) if (b / f).is_file()}
        named = bool(o.err_lines) and Path(file).name in o.err_lines[-1]
        return o, named and before == after, "names the file, folder unchanged"

    PROBES[f"bench --resume, {_file}: {_key} " + ("removed" if _value is None else f"= {_value!r}")] = _bench


@probe("ImageFolder with a symlink to /dev/zero")
def _(d: Path):
    root = cls_dataset(d / "cls")
    (root / "train" / "a" / "zero.png").symlink_to("/dev/zero")
    o = cli("train-cls", "--cfg", "shufflenetv2-cls.yaml", "--data", str(root), "--project", str(d / "r"), cwd=d)
    return o, o.seconds < 60 and not (d / "r").exists(), "refused within seconds"


@probe("ImageFolder with a symlink loop")
def _(d: Path):
    root = cls_dataset(d / "cls")
    (root / "train" / "a" / "loop").symlink_to(root / "train")
    o = cli("train-cls", "--cfg", "shufflenetv2-cls.yaml", "--data", str(root), "--project", str(d / "r"), cwd=d)
    return o, o.seconds < 60 and not (d / "r").exists(), "refused within seconds"


@probe("ImageFolder with an empty class folder")
def _(d: Path):
    root = cls_dataset(d / "cls")
    (root / "train" / "empty").mkdir()
    o = cli("train-cls", "--cfg", "shufflenetv2-cls.yaml", "--data", str(root), "--project", str(d / "r"), cwd=d)
    return o, not (d / "r").exists(), "refused, no run folder"


@probe("detection images/val with a symlink loop")
def _(d: Path):
    data = det_dataset(d / "set")
    (d / "set" / "images" / "val" / "loop").symlink_to(d / "set" / "images")
    o = cli("val", "--weights", "none.pt", "--data", str(data), "--project", str(d / "r"), cwd=d)
    return o, not (d / "r").exists(), "refused, no run folder"


@probe("a config whose stem is Conv [24, 256, 2]")
def _(d: Path):
    from yolo_ghost.cfg import models_dir

    cfg = yaml.safe_load((models_dir() / "yolov5s.yaml").read_text())
    cfg["backbone"][0] = [-1, 1, "Conv", [24, 256, 2]]
    (d / "big.yaml").write_text(yaml.safe_dump(cfg))
    o = cli("profile", "--cfg", str(d / "big.yaml"), cwd=d)
    return o, o.seconds < 30, "refused before the dry run computes"


def main(argv: list[str] | None = None) -> int:
    """Run every probe (or those whose name contains ``--only``) and print the table; exit 1 if a promise broke."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default="", help="run the probes whose name contains this text")
    a = p.parse_args(argv)
    print("| probe | exit | one `error:` line | seconds | promise | held |\n|---|---:|:---:|---:|---|:---:|")
    broken = 0
    for name, run in PROBES.items():
        if a.only not in name:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            o, held, promise = run(Path(tmp))
        ok = held and (o.rc == 0 if name.startswith("export --out") else o.rc == 2 and o.one_line)
        broken += not ok
        line = o.err_lines[-1][:90] if o.err_lines else ""
        print(f"| {name} | {o.rc} | {'yes' if o.one_line else 'no'} | {o.seconds:.1f} | {promise} | "
              f"{'yes' if ok else 'NO'} |" + (f" <!-- {line} -->" if not ok else ""), flush=True)  # fmt: skip
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
