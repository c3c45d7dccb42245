"""The ShuffleNet V2 variant study as data: the published table our ``shufflenetv2-*-cls.yaml`` configs reproduce.

A practitioner's study modified ShuffleNet V2 1.0x (Ma et al., ECCV 2018) in five ways and trained each as a
CIFAR-10 classifier; its table gives params and "flops" (multiply-accumulates, as a thop-style counter prints them)
at 224x224 with 10 classes, and CIFAR-10 top-1 for three variants. ``tests/test_variants.py`` checks our configs
against it: params within 3%, MAC ratio to the baseline within 0.03 (absolute MACs differ by counting convention).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StudyVariant:
    """One row of the study's table and the shipped config that builds it."""

    name: str
    cfg: str
    params_m: float
    mflops: float
    top1: float | None  # CIFAR-10 top-1 as published; None where the study gives none


STUDY_IMGSZ = 224
STUDY_NC = 10
STUDY = (
    StudyVariant("baseline", "shufflenetv2-cls.yaml", 1.263, 147.79, None),
    StudyVariant("se", "shufflenetv2-se-cls.yaml", 1.406, 147.93, None),
    StudyVariant("sk", "shufflenetv2-sk-cls.yaml", 1.555, 152.34, 0.885),
    StudyVariant("liteconv", "shufflenetv2-liteconv-cls.yaml", 0.923, 104.77, 0.879),
    StudyVariant("k5", "shufflenetv2-k5-cls.yaml", 1.303, 155.18, None),  # the study's best top-1, value not given
    StudyVariant("csp", "shufflenetv2-csp-cls.yaml", 0.924, 101.96, 0.862),
)
