"""Uncertainty in the base layer: the settings a rule is judged with, what an interval source
must provide, and the decision from an interval (pass, fail, inconclusive), Holm's correction
included.

Engines implement :class:`Estimate` (bootstrap replicates, closed-form intervals); rules attach
an :data:`Estimator` to each bound they check; :func:`rulecheck.rules._base.judge` turns the
estimates into verdicts. Nothing here imports numpy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from rulecheck._settings import IntervalMethod, OnInconclusive

__all__ = [
    "Estimate",
    "Estimator",
    "GroupStatistic",
    "IntervalSettings",
    "Outcome",
    "ShareStatistic",
    "decide",
    "decision_p_value",
    "holm",
]

Outcome = Literal["pass", "fail", "inconclusive"]


@dataclass(frozen=True, slots=True)
class IntervalSettings:
    """How one rule's intervals are computed and what an inconclusive verdict does."""

    confidence: float = 0.95
    method: IntervalMethod = "bootstrap"
    replicates: int = 1000
    seed: int = 0
    on_inconclusive: OnInconclusive = "warn"

    def with_method(self, method: IntervalMethod) -> IntervalSettings:
        return IntervalSettings(
            self.confidence, method, self.replicates, self.seed, self.on_inconclusive
        )


class Estimate(Protocol):
    """The sampling uncertainty of one measured value.

    ``method`` names what ran ("bootstrap", "wilson", "newcombe", "katz", "delong");
    ``n`` counts the cases that decided the value (the metric's denominator in the groups
    involved), None where no count applies; ``notes`` say why the method is not the one asked
    for (an analytic interval that does not apply falls back to the bootstrap).
    """

    @property
    def method(self) -> str: ...

    @property
    def n(self) -> int | None: ...

    @property
    def notes(self) -> tuple[str, ...]: ...

    def interval(self, confidence: float) -> tuple[float, float]:
        """The two-sided interval at ``confidence``; NaN ends when it is undefined."""
        ...

    def change_from(self, baseline: Estimate, relative: bool) -> Estimate | None:
        """The paired change (self - baseline, or divided by |baseline| when ``relative``),
        resampled jointly; None when the two were not resampled together."""
        ...


Estimator = Callable[[IntervalSettings], Estimate]


@dataclass(frozen=True, slots=True)
class GroupStatistic:
    """A rule's deciding quantity as a formula of per-group values, for joint resampling.

    ``op`` over the values ``v`` of the groups ``groups`` (indices into the table's groups) and
    a reference ``r`` (the group ``reference``, or the overall value when ``reference`` is None):

    - ``value``: v[groups[0]]
    - ``range``: max v - min v; ``min_over_max``: min v / max v; ``max_over_min``: max v / min v
    - ``max_abs_from``: max |v - r|; ``min_ratio_to``: min v / r; ``max_ratio_to``: max v / r
    - ``min``: min v; ``max``: max v

    Groups whose value is undefined in a replicate are left out of that replicate's max and min.
    """

    op: Literal[
        "value",
        "range",
        "min_over_max",
        "max_over_min",
        "max_abs_from",
        "min_ratio_to",
        "max_ratio_to",
        "min",
        "max",
    ]
    groups: tuple[int, ...]
    reference: int | None = None
    # The groups that take the extreme values in the point estimate: their support is the n
    # shown with the interval ("n=212 negatives").
    deciding: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ShareStatistic:
    """An attribution rule's deciding quantity: the largest (or smallest) share, or mean
    |contribution|, of the ``features`` (indices), summed when ``combined``, over the scopes
    ``groups`` (indices; None: all explained rows)."""

    kind: Literal["share", "mean_abs"]
    features: tuple[int, ...]
    combined: bool
    reduce: Literal["max", "min"]
    groups: tuple[int, ...] | None = None


def decide(interval: tuple[float, float], op: str, limit: float) -> Outcome:
    """pass when the whole interval meets the bound, fail when the whole interval breaks it,
    inconclusive otherwise (an undefined interval decides nothing)."""
    low, high = interval
    if low != low or high != high:  # NaN
        return "inconclusive"
    if op == "<=":
        return "pass" if high <= limit else "fail" if low > limit else "inconclusive"
    if op == ">=":
        return "pass" if low >= limit else "fail" if high < limit else "inconclusive"
    return "pass" if low > limit else "fail" if high <= limit else "inconclusive"  # ">"


def decision_p_value(estimate: Estimate, op: str, limit: float) -> float:
    """The smallest alpha at which the (1 - alpha) interval decides the bound (excludes the
    limit), found by bisection over the confidence level; 1.0 when even a 50% interval does not.

    Used to rank bounds for Holm's step-down: intervals widen monotonically with confidence, so
    "decided at level 1 - alpha" is monotone in alpha (40 halvings: exact to 1e-12).
    """

    def decided(level: float) -> bool:
        return decide(estimate.interval(level), op, limit) != "inconclusive"

    low, high = 0.5, 1.0 - 1e-9  # confidence levels
    if not decided(low):
        return 1.0
    if decided(high):
        return 1e-9
    for _ in range(40):
        mid = (low + high) / 2
        if decided(mid):
            low = mid
        else:
            high = mid
    return 1.0 - low


def holm(p_values: Sequence[float], alpha: float) -> tuple[list[bool], list[float]]:
    """Holm's step-down procedure: which hypotheses are decided, and the confidence level at
    which each one's interval is shown (1 - alpha / (m - rank + 1)).

    >>> holm([0.01, 0.04, 0.03], 0.05)
    ([True, False, False], [0.9833333333333333, 0.95, 0.975])
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    decided = [False] * m
    levels = [1.0 - alpha] * m
    stopped = False
    for rank, index in enumerate(order):
        threshold = alpha / (m - rank)
        levels[index] = 1.0 - threshold
        if not stopped and p_values[index] <= threshold:
            decided[index] = True
        else:
            stopped = True
    return decided, levels
