"""Publish a bench run into docs/benchmark.md (the section between its ``<!-- generated: SECTION -->`` and
``<!-- end generated -->`` markers; the text around it is kept) with the run's pareto.png and curves.png copied to
docs/img/<figures>-pareto.png and docs/img/<figures>-curves.png (and, for a bench with ``--deploy``, each
pareto-<target>.png to docs/img/<figures>-pareto-<target>.png).

python benchmarks/publish_bench.py results/bench-v2                     # the main results ("bench results")
python benchmarks/publish_bench.py results/ghost-nano --section "ghost at nano width" --figures ghost-nano \
    --title "Ghost at nano width"                                        # a section of its own, added when missing
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from yolo_ghost.bench.tasks import recorded_hyp

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGE = DOCS / "benchmark.md"
END = "<!-- end generated -->"


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
    """Write the results section of docs/benchmark.md from the run's bench.json / bench.md and copy its figures."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="a finished bench folder (holding bench.json, bench.md, pareto.png)")
    p.add_argument("--section", default="bench results", help="the generated section to fill (default: bench results)")
    p.add_argument("--figures", default="benchmark", help="file name prefix of the copied figures (default: benchmark)")
    p.add_argument("--title", default=None, help="heading of the section when the page does not have it yet")
    a = p.parse_args(argv)
    begin = f"<!-- generated: {a.section} -->"
    pareto, curves_png = f"{a.figures}-pareto.png", f"{a.figures}-curves.png"
    report = json.loads((a.run / "bench.json").read_text())
    table = (a.run / "bench.md").read_text()
    s, m = report["settings"], report["machine"]
    img = DOCS / "img"
    img.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(a.run / "pareto.png", img / pareto)
    curves = (a.run / "curves.png").is_file()
    if curves:
        shutil.copyfile(a.run / "curves.png", img / curves_png)
    deployed = []  # bench --deploy: one figure per target, the file's own mAP against the file's own latency
    for fig in sorted(a.run.glob("pareto-*.png")):
        target = fig.stem.removeprefix("pareto-")
        shutil.copyfile(fig, img / f"{a.figures}-{fig.name}")
        deployed += [f"![mAP50-95 of the {target} files against their latency](img/{a.figures}-{fig.name})", ""]
    try:
        folder = a.run.resolve().relative_to(DOCS.parent).as_posix()
    except ValueError:
        folder = str(a.run)
    extra = "" if a.section == "bench results" else f' --section "{a.section}" --figures {a.figures}'
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
            "Everything in this section was written by `python -m yolo_ghost bench` (then "
            f"`python benchmarks/publish_bench.py {folder}{extra}`) on {report['date']}. The bench folder, `{folder}`, "
            f"holds its settings, per-run results and reports; `yolo-ghost bench --resume {folder}` finds every run "
            "done and only re-times the models. The command as recorded (its `--project` and `--name` name where "
            "the bench was first written):",
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
            f"![mAP50-95 against GFLOPs and against CPU latency](img/{pareto})",
            "",
            *deployed,
            *([f"![val mAP50-95 per epoch, one line per run](img/{curves_png})", ""] if curves else []),
        ]
    )
    page = PAGE.read_text() if PAGE.is_file() else "# Benchmark\n"
    if begin not in page:
        if not a.title:
            raise SystemExit(f"publish_bench.py: error: {PAGE} has no {begin} section; give --title to add one")
        page = f"{page.rstrip()}\n\n## {a.title}\n\n{begin}\n{END}\n"
    head, rest = page.split(begin, 1)
    PAGE.write_text(f"{head}{begin}\n{text.rstrip()}\n{END}{rest.split(END, 1)[1]}")
    print(f"wrote {PAGE} and {img / pareto}")
    return PAGE


if __name__ == "__main__":
    main()
