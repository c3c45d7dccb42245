"""Seeded fuzz of the shipped model configs: every mutated config must build or be refused with a ConfigError.

Runs ``fuzz.run_fuzz`` (value / row / module / key / scale mutations of the loaded YAML and byte-level
edits of its text, each built from a file with nc=3) over every shipped config and prints the outcome counts, the
slowest case and every escape (an exception other than ConfigError, or no result within --timeout seconds).
Exit status 1 when anything escaped.

    python benchmarks/config_fuzz.py [--cases 800] [--seed 0] [--timeout 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

from fuzz import run_fuzz, shipped_configs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, default=800, help="number of mutated configs (default 800)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds after which a case counts as a hang")
    p.add_argument("--json", default=None, help="also write the result to this JSON file")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    r = run_fuzz(args.cases, seed=args.seed, timeout_s=args.timeout, configs=shipped_configs())
    wall = time.perf_counter() - t0
    result = {
        "cases": r.cases, "built": r.built, "refused_with_ConfigError": r.refused, "escapes": len(r.escapes),
        "slowest_case_s": round(r.slowest_s, 2), "wall_s": round(wall, 1), "seed": args.seed,
        "mutation_kinds": dict(sorted(r.kinds.items())), "configs": len(shipped_configs()),
        "python": platform.python_version(), "command": " ".join(["python", *sys.argv]),
    }  # fmt: skip
    print(json.dumps(result, indent=2))
    for e in r.escapes:
        print("ESCAPE", e)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**result, "escape_list": r.escapes}, f, indent=2)
    return 1 if r.escapes else 0


if __name__ == "__main__":
    sys.exit(main())
