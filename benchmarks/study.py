"""The ShuffleNet V2 variant study as data: the published table our ``shufflenetv2-*-cls.yaml`` configs reproduce.

The study (``SOURCE``: a blog post by DDX) modified ShuffleNet V2 1.0x (Ma et al., ECCV 2018) in five ways and
trained each as a CIFAR-10 classifier; its table gives params and "flops" (multiply-accumulates, as a thop-style counter prints them)
at 224x224 with 10 classes, and CIFAR-10 top-1 for each. ``tests/test_variants.py`` checks our configs
against it: params within 3%, MAC ratio to the baseline within 0.03 (absolute MACs differ by counting convention).
``CONCLUSIONS`` are the study's four conclusions as claims about top-1 differences between variants, which
``study_report`` checks against a bench's Welch intervals.
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
    top1: float  # CIFAR-10 top-1 as published


# The study as published: its author, its title (as the project's block notes, /work/shared/BLOCKS.md, record it)
# and where it was republished.
SOURCE = 'DDX, "优化实践 | 大改ShuffleNetV2网络,注意力机制,csp,卷积裁剪..." (republished on EEPW, 2021-01-18)'

STUDY_IMGSZ = 224
STUDY_NC = 10
STUDY = (
    StudyVariant("baseline", "shufflenetv2-cls.yaml", 1.263, 147.79, 0.880),
    StudyVariant("se", "shufflenetv2-se-cls.yaml", 1.406, 147.93, 0.884),
    StudyVariant("sk", "shufflenetv2-sk-cls.yaml", 1.555, 152.34, 0.885),
    StudyVariant("liteconv", "shufflenetv2-liteconv-cls.yaml", 0.923, 104.77, 0.879),
    StudyVariant("k5", "shufflenetv2-k5-cls.yaml", 1.303, 155.18, 0.891),
    StudyVariant("csp", "shufflenetv2-csp-cls.yaml", 0.924, 101.96, 0.862),
)


@dataclass(frozen=True)
class Claim:
    """A claim about the top-1 of variant ``a`` against variant ``b`` (study names).

    ``relation``: ``">"`` a is more accurate, ``"<"`` a is less accurate, ``"~"`` a costs at most
    ``EQUIVALENCE_MARGIN`` of top-1 against b ("almost no accuracy cost").
    """

    a: str
    relation: str
    b: str


@dataclass(frozen=True)
class Conclusion:
    """One of the study's conclusions, in its words, and the claims that make it up."""

    text: str
    claims: tuple[Claim, ...]


# "Almost no accuracy cost": the loss of top-1 that still counts as none (one point; the study's liteconv is 0.6 point
# below its sk variant, its csp 1.7 points below liteconv).
EQUIVALENCE_MARGIN = 0.01
CONCLUSIONS = (
    Conclusion(
        "k5 gains the most accuracy, for about +5% compute",
        (Claim("k5", ">", "baseline"), Claim("k5", ">", "se"), Claim("k5", ">", "sk")),
    ),
    Conclusion(
        "attention (se, sk) gains accuracy, less than k5",
        (Claim("se", ">", "baseline"), Claim("sk", ">", "baseline"), Claim("se", "<", "k5"), Claim("sk", "<", "k5")),
    ),
    Conclusion(
        "liteconv cuts about 30% of the compute at almost no accuracy cost", (Claim("liteconv", "~", "baseline"),)
    ),
    Conclusion(
        "csp cuts compute but loses accuracy clearly",
        (Claim("csp", "<", "baseline"), Claim("csp", "<", "liteconv")),
    ),
)
