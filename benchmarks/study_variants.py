"""The ShuffleNet V2 variant configs against the practitioner study's table: params and MACs at 10 classes, 224x224.

Counted with ``study_report.study_cost`` (the profiler on the models as built, BatchNorm not folded, as a
thop-style counter sees them; MACs are half the profiler's FLOPs). Compute is compared as the ratio to each side's baseline.
The last row is the sk variant with the reduction ratio of the study's code snippet (r = 2), for comparison.

    python benchmarks/study_variants.py
"""

from __future__ import annotations

import argparse

from study import STUDY
from study_report import study_cost

from yolo_ghost.cfg import load_model_cfg


def _sk_with_r(r: int) -> dict:
    cfg = load_model_cfg("shufflenetv2-sk-cls.yaml")
    for row in cfg["backbone"]:
        if row[2] == "ShuffleV2SK":
            row[3] = [*row[3][:2], r]
    return cfg


def main(argv: list[str] | None = None) -> list[dict]:
    """Print the Markdown table and return its rows."""
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    cases = [(v.name, v.cfg, v) for v in STUDY] + [("sk, r=2 (the snippet)", _sk_with_r(2), STUDY[2])]
    base_mac, study_base = None, STUDY[0].mflops
    print('| variant | params (M) | study params (M) | MMACs | study "flops" (M) | MAC ratio | study ratio |')
    print("|:---|---:|---:|---:|---:|---:|---:|")
    rows = []
    for name, cfg, v in cases:
        params, mac = study_cost(cfg)
        base_mac = base_mac or mac
        row = dict(variant=name, params=params, mmacs=mac, ratio=mac / base_mac, study_ratio=v.mflops / study_base)
        rows.append(row)
        print(
            f"| {name} | {params / 1e6:.3f} | {v.params_m:.3f} | {mac:.1f} | {v.mflops:.2f} | "
            f"{row['ratio']:.3f} | {row['study_ratio']:.3f} |"
        )
    return rows


if __name__ == "__main__":
    main()
