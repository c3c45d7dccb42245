"""Seed-to-seed statistics for comparing trainings: mean and spread, and Welch's t interval of a difference.

A difference between two configs is a result only when it is larger than what another seed would change, so every
comparison the bench prints goes through ``welch_interval``: the 95% confidence interval of ``mean(a) - mean(b)``
from Welch's unequal-variance t statistic, with the Welch-Satterthwaite degrees of freedom (B. L. Welch, "The
generalization of 'Student's' problem when several different population variances are involved", Biometrika
1947). The Student t quantile is computed here (regularised incomplete beta by its continued fraction, then
bisection) so that no statistics package is needed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """The mean and the sample standard deviation (n - 1 in the denominator; 0.0 for a single value)."""
    n = len(values)
    if n == 0:
        raise ValueError("mean_std: no values")
    m = math.fsum(values) / n
    if n == 1:
        return m, 0.0
    return m, math.sqrt(math.fsum((v - m) ** 2 for v in values) / (n - 1))


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 20000):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    ln_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(ln_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(ln_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """The cumulative distribution function of Student's t with ``df`` (> 0, may be fractional) degrees of freedom."""
    if not df > 0:
        raise ValueError(f"t_cdf: df must be > 0, got {df}")
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_ppf(q: float, df: float) -> float:
    """The ``q`` quantile (0 < q < 1) of Student's t with ``df`` degrees of freedom, to about 1e-12."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"t_ppf: q must be in (0, 1), got {q}")
    if q < 0.5:
        return -t_ppf(1.0 - q, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < q:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Difference:
    """``mean(a) - mean(b)`` with its confidence interval; ``significant`` when the interval excludes 0.

    ``low`` / ``high`` are None when either side has a single run (no spread to judge the difference by).
    """

    diff: float
    low: float | None
    high: float | None
    df: float | None
    confidence: float
    n_a: int
    n_b: int

    @property
    def half_width(self) -> float | None:
        """The interval's half-width (the ``± Y`` of a verdict), or None without an interval."""
        return None if self.low is None or self.high is None else (self.high - self.low) / 2.0

    @property
    def significant(self) -> bool | None:
        """Whether the interval excludes 0; None when there is no interval."""
        if self.low is None or self.high is None:
            return None
        return self.low > 0.0 or self.high < 0.0

    def as_dict(self) -> dict[str, Any]:
        """The fields plus ``half_width`` and ``significant``, for JSON."""
        return {**asdict(self), "half_width": self.half_width, "significant": self.significant}


def welch_interval(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Difference:
    """Welch's t confidence interval of ``mean(a) - mean(b)`` for two independent samples (seeds of two configs).

    With zero spread on both sides the interval collapses to the difference itself (identical reruns). Needs at
    least two values on each side for an interval; with fewer the difference is returned without one.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"welch_interval: confidence must be in (0, 1), got {confidence}")
    (ma, sa), (mb, sb) = mean_std(a), mean_std(b)
    na, nb = len(a), len(b)
    diff = ma - mb
    if na < 2 or nb < 2:
        return Difference(diff, None, None, None, confidence, na, nb)
    va, vb = sa * sa / na, sb * sb / nb
    se = math.sqrt(va + vb)
    if se == 0.0:
        return Difference(diff, diff, diff, math.inf, confidence, na, nb)
    df = (va + vb) ** 2 / (va * va / (na - 1) + vb * vb / (nb - 1))
    half = t_ppf(0.5 + confidence / 2.0, df) * se
    return Difference(diff, diff - half, diff + half, df, confidence, na, nb)


def paired_interval(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Difference:
    """The t confidence interval of ``mean(a - b)`` for paired values (``a[i]`` and ``b[i]`` from the same run: an
    exported model and its own checkpoint). Pairing removes the seed-to-seed spread both share.

    Needs at least two pairs for an interval; identical differences collapse it to the difference itself.
    """
    if len(a) != len(b):
        raise ValueError(f"paired_interval: {len(a)} values against {len(b)}; pairs need the same number")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"paired_interval: confidence must be in (0, 1), got {confidence}")
    d = [x - y for x, y in zip(a, b)]
    n = len(d)
    mean, sd = mean_std(d)
    if n < 2:
        return Difference(mean, None, None, None, confidence, n, n)
    if sd == 0.0:
        return Difference(mean, mean, mean, math.inf, confidence, n, n)
    half = t_ppf(0.5 + confidence / 2.0, n - 1) * sd / math.sqrt(n)
    return Difference(mean, mean - half, mean + half, float(n - 1), confidence, n, n)
