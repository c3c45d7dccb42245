"""Pool the runs of several benches trained on one recipe into one bench folder with more seeds per config.

A second bench with new seeds (``--seed 3 --seeds 3``) narrows the intervals of a first one only if the two are
reported together. This script checks that the sources recorded the same recipe (task, data, epochs, size, batch,
workers, hyperparameters, device), that no (config, seed) comes from two sources, and that every config has a run
for every pooled seed; then it writes ``OUT/settings.json`` (the union of the seeds), copies each run's
``results/<config>/seed<k>.json`` byte for byte, and writes ``OUT/PROVENANCE.md`` saying where each run came from.
``yolo-ghost bench --resume OUT`` then finds every run done and writes the report: the accuracy columns from the
pooled runs, the latency columns measured then.

    python benchmarks/pool_benches.py results/bench-v2 results/bench-v3 --out results/bench-pooled \\
        --cfg yolov5n.yaml yolov5n-ghost.yaml yolov5s.yaml yolov5s-ghost.yaml yolov5-shufflenetv2.yaml \\
        --pair yolov5n-ghost=yolov5n yolov5s-ghost=yolov5s yolov5-shufflenetv2=yolov5n
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from pathlib import Path

from yolo_ghost.bench.files import check_settings, read_bench_folder
from yolo_ghost.bench.tasks import model_name, recorded_hyp
from yolo_ghost.cfg import ConfigError
from yolo_ghost.utils.atomic import write_json_atomic

# What the runs were trained and scored with: pooled runs must agree on all of it.
RECIPE_KEYS = ("task", "weights", "data", "epochs", "imgsz", "batch", "hyp", "device", "workers", "distill")


def pool(sources: list[Path], out: Path, cfgs: list[str] | None, pairs: dict[str, str], command: str) -> Path:
    """Write the pooled bench folder ``out`` from the bench folders ``sources``; returns ``out``."""
    read = [(src, *read_bench_folder(src)) for src in sources]
    first_src, first, _ = read[0]

    def recipe(settings: dict, key: str) -> object:
        # a detector's hyp as its runs trained: a key added to the recipe since its bench began took YOLOv5's value
        if key == "hyp" and settings.get("task", "detect") == "detect" and settings.get("hyp") is not None:
            return recorded_hyp(settings["hyp"])
        return settings.get(key) or None  # no teacher recorded as {} or not at all

    for src, settings, _ in read[1:]:
        for key in RECIPE_KEYS:
            a, b = recipe(settings, key), recipe(first, key)
            if a != b:
                if isinstance(a, dict) and isinstance(b, dict):  # the hyp: name the keys that differ
                    diff = sorted(k for k in {*a, *b} if a.get(k) != b.get(k))
                    a, b = ({k: d.get(k) for k in diff} for d in (a, b))
                raise ConfigError(
                    f"{src}: {key} is {a!r} where {first_src} recorded {b!r}; only runs of one recipe can be pooled"
                )
    cfgs = cfgs or [c for c in first["cfgs"] if all(c in s["cfgs"] for _, s, _ in read)]
    origin: dict[tuple[str, int], Path] = {}
    for src, _, runs in read:
        for path in runs:
            name, seed = path.parent.name, int(path.stem.removeprefix("seed"))
            if name not in {model_name(c) for c in cfgs}:
                continue
            if (name, seed) in origin:
                raise ConfigError(
                    f"{name} seed {seed} is in both {origin[(name, seed)]} and {src}; pool distinct seeds"
                )
            origin[(name, seed)] = path
    seeds = sorted({seed for _, seed in origin})
    missing = [f"{model_name(c)} seed {s}" for c in cfgs for s in seeds if (model_name(c), s) not in origin]
    if missing:
        raise ConfigError(f"pool: every config needs a run for every pooled seed; missing: {', '.join(missing)}")
    settings = {
        **first,
        "cfgs": list(cfgs),
        "seed": seeds[0],
        "seeds": seeds,
        "baselines": dict(pairs),
        "deploy": None,
        "command": command,
    }
    check_settings(settings, str(out / "settings.json"))  # the --pair rows exist, ...
    if out.exists():
        raise ConfigError(f"{out} exists; pool into a new folder")
    for (name, seed), path in origin.items():
        dest = out / "results" / name / f"seed{seed}.json"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    write_json_atomic(out / "settings.json", settings)
    lines = [
        "# Where this bench's runs come from",
        "",
        f"Pooled by `python benchmarks/pool_benches.py` (`{command}`) from bench folders that recorded the same "
        f"recipe ({', '.join(RECIPE_KEYS)} all equal), so that each config has {len(seeds)} seeds. Each run's "
        "record was copied unchanged, with the training time measured where it ran; the latency columns of the "
        "report are measured by `yolo-ghost bench --resume` on this folder.",
        "",
        "| run | from |",
        "|:---|:---|",
        *(f"| {name} seed {seed} | `{origin[(name, seed)].parent.parent.parent}` |" for name, seed in sorted(origin)),
        "",
        "The sources' commands:",
        "",
        *(f"- `{src}`: `{s.get('command')}`" for src, s, _ in read),
        "",
    ]
    (out / "PROVENANCE.md").write_text("\n".join(lines))
    return out


def main(argv: list[str] | None = None) -> Path:
    """Command line: sources, ``--out``, optional ``--cfg`` and ``--pair``."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sources", nargs="+", type=Path, help="bench folders trained on one recipe")
    p.add_argument("--out", type=Path, required=True, help="the new bench folder")
    p.add_argument("--cfg", nargs="+", default=None, help="configs to pool (default: those every source has)")
    p.add_argument("--pair", nargs="*", default=[], metavar="ROW=BASE", help="baselines, as bench --pair")
    a = p.parse_args(argv)
    bad = [x for x in a.pair if "=" not in x]
    if bad:
        p.error(f"--pair takes ROW=BASE, got {' '.join(bad)}")
    pairs = dict(x.split("=", 1) for x in a.pair)
    command = " ".join(shlex.quote(x) for x in ["python", "benchmarks/pool_benches.py", *(argv or sys.argv[1:])])
    try:
        out = pool(a.sources, a.out, a.cfg, pairs, command)
    except ConfigError as e:
        p.exit(2, f"pool_benches: {e}\n")
    print(f"pooled into {out}; now: yolo-ghost bench --resume {out}")
    return out


if __name__ == "__main__":
    main()
