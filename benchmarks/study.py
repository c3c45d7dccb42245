"""The ShuffleNet V2 variant study as data: the published table our ``shufflenetv2-*-cls.yaml`` configs reproduce.

The study (``SOURCE``) modified ShuffleNet V2 1.0x (Ma et al., ECCV 2018) in five ways and trained each once as a
CIFAR-10 classifier; its table gives, for each variant, CIFAR-10 top-1, params and "flops" (multiply-accumulates, as a
thop-style counter prints them) at 224x224 with 10 classes, and the size of the saved model file.
``tests/test_variants.py`` checks our configs against it: params within 3%, MAC ratio to the baseline within 0.03
(absolute MACs differ by counting convention). ``CONCLUSIONS`` are the study's four conclusions as claims about
top-1 differences between variants, each carrying the study's own single-run difference (``Claim.study_diff``), which
``study_report.judge`` checks against a bench's Welch intervals.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Citation:
    """Where the study was published, as a reader would look it up (the repost gives no more than this)."""

    author: str
    column: str
    title: str  # as published, in Chinese
    title_en: str  # our English gloss of the title
    republisher: str
    venue: str
    date: str  # ISO 8601, the date of the republication

    def __str__(self) -> str:
        return (
            f'{self.author} of the "{self.column}" column, "{self.title}" ({self.title_en}), republished by '
            f"{self.republisher} on {self.venue}, {self.date}"
        )


SOURCE = Citation(
    author="DDX",
    column="DL工程实践",
    title="优化实践 | 大改ShuffleNetV2网络,注意力机制,csp,卷积裁剪...",
    title_en="Optimisation in practice: reworking ShuffleNetV2 with attention, CSP and convolution pruning",
    republisher="CV研究院",
    venue="EEPW",
    date="2021-01-18",
)


@dataclass(frozen=True)
class StudyVariant:
    """One row of the study's table and the shipped config that builds it."""

    name: str
    cfg: str
    params_m: float
    mflops: float
    top1: float  # CIFAR-10 top-1 as published, one run
    file_kb: int  # the saved model file as the table prints it ("5116K")


STUDY_IMGSZ = 224
STUDY_NC = 10
STUDY = (
    StudyVariant("baseline", "shufflenetv2-cls.yaml", 1.263, 147.79, 0.880, 5116),
    StudyVariant("se", "shufflenetv2-se-cls.yaml", 1.406, 147.93, 0.884, 5676),
    StudyVariant("sk", "shufflenetv2-sk-cls.yaml", 1.555, 152.34, 0.885, 6872),
    StudyVariant("liteconv", "shufflenetv2-liteconv-cls.yaml", 0.923, 104.77, 0.879, 3736),
    StudyVariant("k5", "shufflenetv2-k5-cls.yaml", 1.303, 155.18, 0.891, 5268),
    StudyVariant("csp", "shufflenetv2-csp-cls.yaml", 0.924, 101.96, 0.862, 3776),
)
# The study gives top-1 to three decimals; a difference of two of them is rounded back to that precision so that
# +0.011 reads +0.011 and not +0.01100000000000001.
STUDY_DECIMALS = 3


def study_variant(name: str) -> StudyVariant:
    """The study's row named ``name``.

    Raises:
        KeyError: no such variant; the message lists the study's names.
    """
    for v in STUDY:
        if v.name == name:
            return v
    raise KeyError(f"{name!r} is not a variant of the study; its variants: {', '.join(v.name for v in STUDY)}")


def study_difference(a: str, b: str = "baseline") -> float:
    """The study's top-1 of variant ``a`` minus that of ``b``: a single-run difference, to the study's precision."""
    return round(study_variant(a).top1 - study_variant(b).top1, STUDY_DECIMALS)


@dataclass(frozen=True)
class Claim:
    """A claim about the top-1 of variant ``a`` against variant ``b`` (study names).

    ``relation``: ``">"`` a is more accurate, ``"<"`` a is less accurate, ``"~"`` a costs at most
    ``EQUIVALENCE_MARGIN`` of top-1 against b ("almost no accuracy cost").
    """

    a: str
    relation: str
    b: str

    @property
    def study_diff(self) -> float:
        """The study's own top-1 difference ``a - b`` behind the claim (one run of each)."""
        return study_difference(self.a, self.b)


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
        "k5 gives the best accuracy, better than the attention variants se and sk, for about 5% more compute",
        (Claim("k5", ">", "baseline"), Claim("k5", ">", "se"), Claim("k5", ">", "sk")),
    ),
    Conclusion(
        "attention (se, sk) gains accuracy, less than k5",
        (Claim("se", ">", "baseline"), Claim("sk", ">", "baseline"), Claim("se", "<", "k5"), Claim("sk", "<", "k5")),
    ),
    Conclusion(
        "liteconv (the 1x1 conv after the depthwise conv pruned) cuts about 30% of the compute with almost no loss",
        (Claim("liteconv", "~", "baseline"),),
    ),
    Conclusion(
        "csp cuts compute a lot but loses accuracy clearly",
        (Claim("csp", "<", "baseline"), Claim("csp", "<", "liteconv")),
    ),
)
