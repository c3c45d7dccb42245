"""Publish a bench run as docs/benchmarks.md, docs/benchmarks_pareto.png and docs/benchmarks_curves.png (every
figure copied from the run).

python benchmarks/publish_bench.py runs/bench/docs
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from yolo_ghost.bench_task import recorded_hyp

DOCS = Path(__file__).resolve().parents[1] / "docs"


def recipe_line(settings: dict) -> str:
    """The training recipe a bench recorded, in words: epochs, size, batch and every hyperparameter it set."""
    recorded = recorded_hyp(settings["hyp"]) if settings.get("hyp") else {}
    hyp = ", ".join(f"{k} {v}" for k, v in sorted(recorded.items()))
    return (
        f"The recipe, as recorded in the bench's `settings.json` (a later default recipe of the dataset may differ; "
        f"`bench --resume` trains missing runs with this one): {settings['epochs']} epochs at {settings['imgsz']} px, "
        f"batch {settings['batch']}; {hyp or 'the trainer defaults'}."
    )


def main(argv: list[str] | None = None) -> Path:
    """Write docs/benchmarks.md from the run's bench.json / bench.md and copy its pareto.png."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="a finished bench folder (holding bench.json, bench.md, pareto.png)")
    a = p.parse_args(argv)
    report = json.loads((a.run / "bench.json").read_text())
    table = (a.run / "bench.md").read_text()
    s, m = report["settings"], report["machine"]
    DOCS.mkdir(exist_ok=True)
    shutil.copyfile(a.run / "pareto.png", DOCS / "benchmarks_pareto.png")
    curves = (a.run / "curves.png").is_file()
    if curves:
        shutil.copyfile(a.run / "curves.png", DOCS / "benchmarks_curves.png")
    trained = [r for r in report["rows"] if r.get("train_seconds")]
    timing = (
        [
            "Training time, summed over seeds (each run timed where it ran; a resumed bench may span machines): "
            + ", ".join(f"{r['name']} {r['train_seconds'] / 60:.1f} min" for r in trained)
            + f" ({sum(r['train_seconds'] for r in trained) / 60:.1f} min in all, evaluation and latency not included).",
            "",
        ]
        if trained
        else []
    )
    text = "\n".join(
        [
            "# Benchmark: accuracy vs compute vs latency on the built-in dataset",
            "",
            "Everything below was written by `python -m yolo_ghost bench` (then `benchmarks/publish_bench.py`) on "
            f"{report['date']}; reproduce it with:",
            "",
            "```bash",
            s["command"],
            "```",
            "",
            f"Every config was trained from scratch with the same recipe on `{s['data']}`, once per seed, and scored with "
            "pycocotools on its val split; latency was measured for all of them in one interleaved run on "
            f"{m['cpu_count']} CPU cores ({m['cpu']}). The dataset is small and synthetic, so the mAP "
            "values compare the configs under one recipe on one task; they are not COCO numbers.",
            "",
            recipe_line(s),
            "",
            table.rstrip(),
            "",
            *timing,
            "![mAP50-95 against GFLOPs and against CPU latency](benchmarks_pareto.png)",
            "",
            *(["![val mAP50-95 per epoch, one line per run](benchmarks_curves.png)", ""] if curves else []),
        ]
    )
    out = DOCS / "benchmarks.md"
    out.write_text(text)
    print(f"wrote {out} and {DOCS / 'benchmarks_pareto.png'}")
    return out


if __name__ == "__main__":
    main()
