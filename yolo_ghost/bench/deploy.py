"""What a user deploys, in the bench: every trained run exported (fp32 or INT8, ONNX Runtime or OpenVINO), scored
with pycocotools as its checkpoint is, and timed in the bench's interleaved latency rounds.

A deploy target names a file and the runtime that runs it with its own defaults, as ``YOLO("file")``,
``yolo-ghost predict`` and ``yolo-ghost val`` run it:

* ``onnx`` / ``onnx-int8``: the fp32 ONNX export, or its INT8 copy (ONNX Runtime static quantization of the convs);
* ``openvino`` / ``openvino-int8``: the fp32 OpenVINO export, or its INT8 copy (NNCF post-training quantization).
  OpenVINO computes the floating-point parts in bf16 on CPUs with bf16 units (its default there); the bench's
  ``openvino-cpu`` latency column is the same fp32 graph forced to f32.

One input protocol for every precision and runtime: square letterbox at the bench image size, batch 1 for exports
(``yolo_ghost.engine.detect.val.evaluate``). INT8 is calibrated on the training split (``calib_images`` images), with
the head's decode and the ``keep_float`` layer types left in floating point (``yolo_ghost.tools.quantize``).

Each run's deployed scores are kept in its ``seed<k>.json`` under ``deploy``; the report adds, per target: mAP50-95
mean and std over seeds, its drop from the run's own fp32 checkpoint with a paired 95% interval over seeds, and the
latency of the file (exported at the latency size from the first seed) with its ratio to the baseline row's.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from yolo_ghost.bench.stats import mean_std, paired_interval
from yolo_ghost.cfg import ConfigError
from yolo_ghost.tools.export import export
from yolo_ghost.tools.latency import LatencyStats, paired_ratio
from yolo_ghost.tools.quantize import DEFAULT_CALIB_IMAGES, Int8Settings

# target -> (export format, INT8)
DEPLOY_TARGETS: dict[str, tuple[str, bool]] = {
    "onnx": ("onnx", False),
    "onnx-int8": ("onnx", True),
    "openvino": ("openvino", False),
    "openvino-int8": ("openvino", True),
}
# The Python modules each target needs.
_NEEDS = {"onnx": ("onnx", "onnxruntime"), "openvino": ("openvino",)}


def check_deploy(deploy: Any, where: str = "bench") -> dict[str, Any] | None:
    """A bench's ``deploy`` settings (``{"targets", "calib_images", "keep_float"}``) checked; ``None`` stays None.

    Raises:
        ConfigError: an unknown target, one whose runtime (or quantizer) is not installed here, a bad image count.
    """
    if deploy is None:
        return None
    if not isinstance(deploy, dict):
        raise ConfigError(f"{where}: deploy must be a dict with targets, calib_images, keep_float; got {deploy!r}")
    targets = deploy.get("targets")
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise ConfigError(f"{where}: deploy targets must be a non-empty list of {', '.join(DEPLOY_TARGETS)}")
    for t in targets:
        if t not in DEPLOY_TARGETS:
            raise ConfigError(f"{where}: --deploy {t!r} is not a target; choose from {', '.join(DEPLOY_TARGETS)}")
        fmt, int8 = DEPLOY_TARGETS[t]
        missing = [m for m in (*_NEEDS[fmt], *(("nncf",) if int8 and fmt == "openvino" else ())) if not _have(m)]
        if missing:
            raise ConfigError(f"{where}: --deploy {t} needs {', '.join(missing)}; pip install 'yolo-ghost[deploy]'")
    if len(set(targets)) != len(targets):
        raise ConfigError(f"{where}: deploy lists a target twice: {targets}")
    n = deploy.get("calib_images", DEFAULT_CALIB_IMAGES)
    if type(n) is not int or not 1 <= n <= 100_000:
        raise ConfigError(f"{where}: deploy calib_images must be an integer in [1, 100000], got {n!r}")
    keep = deploy.get("keep_float") or []
    if not isinstance(keep, list) or not all(isinstance(k, str) and k.isidentifier() for k in keep):
        raise ConfigError(f"{where}: deploy keep_float must be a list of layer type names, got {keep!r}")
    return {"targets": list(targets), "calib_images": n, "keep_float": list(keep)}


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def export_target(
    weights: str | Path, target: str, folder: Path, imgsz: int, data: str, deploy: Mapping[str, Any]
) -> Path:
    """Export checkpoint ``weights`` for ``target`` into ``folder`` at ``imgsz`` (INT8 calibrated on ``data``)."""
    fmt, int8 = DEPLOY_TARGETS[target]
    folder.mkdir(parents=True, exist_ok=True)
    q = Int8Settings(data, deploy["calib_images"], tuple(deploy["keep_float"])) if int8 else None
    return export(weights=weights, out=folder, imgsz=imgsz, format=fmt, int8=q).path


def score_targets(
    run: Mapping[str, Any], score: Any, settings: Mapping[str, Any], folder: Path
) -> dict[str, dict[str, float]]:
    """The deployed scores of one run: ``{target: metrics}`` for every target of ``settings["deploy"]`` that the run
    has not recorded yet, each exported from the run's checkpoint into ``folder/<target>`` and scored by ``score``
    (the bench task's scorer) as the checkpoint was. Targets already recorded are kept as they are; a run whose
    checkpoint is gone (a bench kept without its weights) is left undeployed, with a warning, and the report's
    deployed rows then count only the runs that were.
    """
    deploy = settings["deploy"]
    done = dict(run.get("deploy") or {})
    todo = [t for t in deploy["targets"] if t not in done]
    if todo and not Path(run["weights"]).is_file():
        print(f"bench: {run['weights']} is gone; seed {run['seed']} is not deployed ({', '.join(todo)})")
        return done
    for t in todo:
        path = export_target(run["weights"], t, folder / t / "export", settings["imgsz"], settings["data"], deploy)
        done[t] = score(str(path), settings["data"], settings["imgsz"], folder / t / "val")
    return done


def latency_files(weights: str | Path, settings: Mapping[str, Any], folder: Path) -> dict[str, Path]:
    """Every deploy target of the bench exported from ``weights`` at the latency size, for the latency rounds."""
    deploy = settings["deploy"]
    return {
        t: export_target(weights, t, folder / t, settings["latency_imgsz"], settings["data"], deploy)
        for t in deploy["targets"]
    }


def deploy_rows(rows: Sequence[Mapping[str, Any]], settings: Mapping[str, Any], headline: str) -> list[dict[str, Any]]:
    """Per config and target: ``headline`` mean and std over seeds, its paired difference to the run's own
    checkpoint (the drop from fp32) with its 95% interval, and the latency with its ratio to the baseline row's."""
    targets = (settings.get("deploy") or {}).get("targets") or []
    names = [r["name"] for r in rows]
    baselines = settings.get("baselines") or {}
    out = []
    for r in rows:
        base_name = baselines.get(r["name"], names[0])
        base = next(b for b in rows if b["name"] == base_name)
        for t in targets:
            runs = [x for x in r["runs"] if t in (x.get("deploy") or {})]
            if not runs:
                continue
            deployed = [x["deploy"][t][headline] for x in runs]
            own = [x[headline] for x in runs]
            lat_d, base_d = (r.get("latency") or {}).get(t), (base.get("latency") or {}).get(t)
            fp32_d = (r.get("latency") or {}).get(_fp32_target(t)) if t != _fp32_target(t) else None
            lat = lat_d["median_ms"] if lat_d else None
            mean, std = mean_std(deployed)
            out.append(
                {
                    "name": r["name"],
                    "target": t,
                    "n_runs": len(runs),
                    headline: mean,
                    f"{headline}_std": std,
                    "drop": paired_interval(deployed, own).as_dict(),
                    "latency_ms": lat,
                    "baseline": base_name,
                    "latency_ratio": _ratio(lat_d, base_d),
                    "fp32_latency_ratio": _ratio(lat_d, fp32_d),
                }
            )
    return out


def _fp32_target(target: str) -> str:
    """The fp32 file of the same runtime (``openvino-int8`` -> ``openvino``)."""
    fmt, _ = DEPLOY_TARGETS[target]
    return next(t for t, (f, q) in DEPLOY_TARGETS.items() if f == fmt and not q)


def _ratio(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> float | None:
    """The median of per-round latency ratios of two timed files, when both were timed."""
    return paired_ratio(LatencyStats.from_dict(a), LatencyStats.from_dict(b)) if a and b else None


def format_deploy(report: Mapping[str, Any]) -> str:
    """The Markdown section of the deployed models: one row per config and target."""
    s = report["settings"]
    d = s["deploy"]
    keep = ", ".join(d["keep_float"]) or "none"
    lines = [
        "### Deployed models",
        "",
        f"| model | target | mAP50-95 | Δ vs own fp32 checkpoint [95% CI] | ms @{s['latency_imgsz']} | vs own fp32 file "
        "| vs | latency ratio |",
        "|:---|:---|---:|---:|---:|---:|:---|---:|",
    ]
    for r in report["deploy"]:
        drop = r["drop"]
        ci = f" [{drop['low']:+.4f}, {drop['high']:+.4f}]" if drop["low"] is not None else ""
        lat = f"{r['latency_ms']:.2f}" if r["latency_ms"] else "-"
        ratio = f"{r['latency_ratio']:.2f}x" if r["latency_ratio"] else "-"
        own = f"{r['fp32_latency_ratio']:.2f}x" if r["fp32_latency_ratio"] else "-"
        lines.append(
            f"| {r['name']} | {r['target']} | {r['map50_95']:.4f} ± {r['map50_95_std']:.4f} | "
            f"{drop['diff']:+.4f}{ci} | {lat} | {own} | {r['baseline']} | {ratio} |"
        )
    lines += [
        "",
        f"Each run exported from its checkpoint and scored as the checkpoint is (pycocotools, square letterbox at "
        f"{s['imgsz']} px, batch 1); Δ = mean over seeds of (exported - checkpoint) with a paired t 95% interval. "
        f"INT8: post-training, calibrated on {d['calib_images']} training images; the head's decode kept in floating "
        f"point, and these layer types too: {keep}. Latency: the file exported at {s['latency_imgsz']} px from the "
        "first seed, timed in the same interleaved rounds as the table above, in its runtime's defaults (OpenVINO: "
        "latency hint, its own inference precision); ratios = median of per-round ratios, to the same model's fp32 file in "
        "the same runtime (when deployed) and to the `vs` row's same target.",
    ]
    return "\n".join(lines)
