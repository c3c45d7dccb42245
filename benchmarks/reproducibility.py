"""Is a training reproducible? Train one config twice with the same seed and compare the results.

Both runs use the library's ``train`` with the dataset's default recipe (the main job's, for ``shapes``) unless
``--epochs`` / ``--img`` are given, and are scored by pycocotools on best.pt. Prints both mAP50-95, their
difference, and the first epoch at which the per-epoch val mAP curves differ; writes the same as JSON.

    python benchmarks/reproducibility.py --cfg yolov5n-ghost.yaml --out runs/repro.json
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from yolo_ghost.engine.detect.train import train
from yolo_ghost.utils.atomic import write_json_atomic


def main() -> None:
    """Run the two trainings and print the comparison."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cfg", default="yolov5n-ghost.yaml", help="model config (default yolov5n-ghost.yaml)")
    p.add_argument("--data", default="shapes", help="dataset (default: the built-in shapes set)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: the dataset's recipe)")
    p.add_argument("--img", type=int, default=None, help="image size (default: the dataset's recipe)")
    p.add_argument("--seed", type=int, default=0, help="the seed both runs use (default 0)")
    p.add_argument("--out", default=None, help="also write the comparison to this JSON file")
    args = p.parse_args()

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(2):
            s = train(
                args.cfg, data=args.data, epochs=args.epochs, imgsz=args.img, seed=args.seed,
                project=tmp, name=f"run{k}", plots=False,
            )  # fmt: skip
            runs.append(s)
            print(f"run {k}: mAP50-95 {s.get('coco_map50_95', s['map50_95']):.5f} in {s['seconds']:.0f} s")
    a, b = (r["curve"]["map50_95"] for r in runs)
    first_diff = next((i + 1 for i, (x, y) in enumerate(zip(a, b)) if x != y), None)
    key = "coco_map50_95" if "coco_map50_95" in runs[0] else "map50_95"
    out = {
        "cfg": args.cfg,
        "data": args.data,
        "seed": args.seed,
        "epochs": runs[0]["epochs"],
        "imgsz": runs[0]["imgsz"],
        "metric": key,
        "map50_95": [r[key] for r in runs],
        "difference": runs[1][key] - runs[0][key],
        "seconds": [r["seconds"] for r in runs],
        "curves": [a, b],
        "first_epoch_that_differs": first_diff,
    }
    print(
        f"{args.cfg} seed {args.seed}: {key} {out['map50_95'][0]:.5f} vs {out['map50_95'][1]:.5f} "
        f"(difference {out['difference']:+.5f}); curves "
        + ("identical" if first_diff is None else f"first differ at epoch {first_diff}")
    )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(Path(args.out), out)


if __name__ == "__main__":
    main()
