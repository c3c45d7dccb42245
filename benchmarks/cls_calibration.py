"""Calibrate the built-in classification set and recipe: train one classifier at several settings and seeds, and
report what a study on that setting would see.

For each setting (clutter, train-set size, epochs, learning-rate schedule, weight EMA) and seed, one run of
``train_classifier`` on a generated ``shapes-cls`` set with a small val split (the per-epoch curve, the plateau rule)
and a large held-out test split (scored once on ``best.pt``). The table gives, per setting, test top-1 mean and
sample standard deviation over seeds, val top-1, the largest plateau gain (the detector's 5% rule), how many runs were
still improving, and training seconds per run. Settings are given as ``key=value,key=value`` strings; keys are
``make_shapes_cls`` arguments (clutter, min_size, n_train, n_val, n_test), ``epochs``, ``batch``, and ``--hyp`` keys.

    python benchmarks/cls_calibration.py --cfg shufflenetv2-cls.yaml --seeds 0 1 \\
        --setting clutter=0.5,n_train=7500,epochs=20 --setting clutter=0.25,n_train=7500,epochs=20 \\
        --out results/cls-calibration/probe.md

Times are wall-clock on whatever else the machine runs: measure the one that decides on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from yolo_ghost.data.shapes_cls import make_shapes_cls
from yolo_ghost.engine.classify.train import train_classifier, validate_classifier

DATA_KEYS = ("clutter", "n_train", "n_val", "n_test", "min_size")
RUN_KEYS = ("epochs", "batch")
# What every setting starts from: a small val split for the curve, a large test split for the score.
BASE = {"n_val": 1000, "n_test": 10000}


def parse_setting(text: str) -> dict[str, Any]:
    """``"clutter=0.5,n_train=7500,cos_lr=true"`` -> ``{"clutter": 0.5, "n_train": 7500, "cos_lr": True}``."""
    out: dict[str, Any] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--setting {text!r}: {item!r} is not key=value")
        low = value.strip().lower()
        if low in ("true", "false"):
            out[key.strip()] = low == "true"
        else:
            try:
                num = float(value)
            except ValueError:
                out[key.strip()] = value.strip()
            else:
                out[key.strip()] = int(num) if num.is_integer() and "." not in value else num
    return out


def run_setting(cfg: str, setting: dict[str, Any], seed: int, workdir: Path) -> dict[str, Any]:
    """Train and score one run of ``cfg`` at ``setting`` with ``seed``; returns its record."""
    data_args = {**BASE, **{k: v for k, v in setting.items() if k in DATA_KEYS}}
    data = make_shapes_cls(**data_args)
    run_args = {k: v for k, v in setting.items() if k in RUN_KEYS}
    hyp = {k: v for k, v in setting.items() if k not in DATA_KEYS + RUN_KEYS}  # over the recipe of a folder dataset
    t0 = time.time()
    s = train_classifier(cfg, data=data, seed=seed, hyp=hyp, project=workdir, name="run", plots=False, **run_args)
    seconds = time.time() - t0
    test = validate_classifier(s["best"], data=data, split="test", project=workdir, name="test")
    conv = s.get("convergence") or {}
    return {
        "seed": seed,
        "test_top1": float(test["top1"]),
        "val_top1": float(s["top1"]),
        "still_improving": bool(conv.get("still_improving")),
        "plateau_gain": float(conv.get("plateau_gain", float("nan"))),
        "seconds": round(seconds, 1),
        "curve": s.get("curve"),
    }


def summarize(label: str, runs: list[dict[str, Any]]) -> str:
    """One markdown table row of a setting's runs."""
    test = [r["test_top1"] for r in runs]
    val = [r["val_top1"] for r in runs]
    std = statistics.stdev(test) if len(test) > 1 else float("nan")
    return (
        f"| `{label}` | {len(runs)} | {statistics.mean(test):.4f} | {std:.4f} | {statistics.mean(val):.4f} | "
        f"{max(r['plateau_gain'] for r in runs):.3f} | {sum(r['still_improving'] for r in runs)} | "
        f"{statistics.mean(r['seconds'] for r in runs):.0f} |"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cfg", default="shufflenetv2-cls.yaml", help="classifier config (default: the study baseline)")
    ap.add_argument("--setting", action="append", required=True, help="key=value,... (repeat for several)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="training seeds (default: 0 1)")
    ap.add_argument("--out", type=Path, required=True, help="markdown table to write (a .json of the runs beside it)")
    args = ap.parse_args(argv)
    records: dict[str, list[dict[str, Any]]] = {}
    json_path = args.out.with_suffix(".json")
    if json_path.is_file():  # continue an interrupted calibration: finished runs are not trained again
        records = json.loads(json_path.read_text())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for text in args.setting:
        setting = parse_setting(text)
        label = ",".join(f"{k}={v}" for k, v in setting.items())
        runs = records.setdefault(label, [])
        for seed in args.seeds:
            if any(r["seed"] == seed for r in runs):
                continue
            with tempfile.TemporaryDirectory(prefix="cls-calib-") as tmp:
                runs.append(run_setting(args.cfg, setting, seed, Path(tmp)))
            print(f"cls_calibration: {label} seed {seed}: test top-1 {runs[-1]['test_top1']:.4f}", flush=True)
            json_path.write_text(json.dumps(records, indent=1) + "\n")
    lines = [
        f"Calibration of `{args.cfg}` (`python benchmarks/cls_calibration.py`); test split {BASE['n_test']} images "
        f"unless set; top-1 of best.pt.",
        "",
        "| setting | runs | test top-1 | std | val top-1 | max plateau gain | still improving | s/run |",
        "|:---|---:|---:|---:|---:|---:|---:|---:|",
        *(summarize(label, runs) for label, runs in records.items() if runs),
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
