"""Interval sources for every measured value: the estimates behind pass / fail / inconclusive.

Two kinds of :class:`~rulecheck._intervals.Estimate`:

- :class:`Replicated`: bootstrap replicates of the value, with percentile intervals. Count
  metrics resample each group's confusion counts (multinomial within the group, so group sizes
  stay fixed: the same distribution as a stratified row bootstrap, at a cost independent of the
  number of rows; :mod:`rulecheck.engines._resample`). Row-level quantities (means of losses
  and errors, AUC, log loss, attribution shares, proxy associations, weighted counts) use
  Poisson row weights (:mod:`rulecheck.engines._rowboot`). A rule's deciding quantity over
  several groups (the max-min gap, the worst ratio) is computed on each replicate of all groups
  at once (:func:`statistic_replicates`), never assembled from per-group intervals.
- :class:`Closed`: closed-form intervals for ``method: analytic``: Wilson for one rate,
  Newcombe's hybrid score for the difference of two rates, Katz's log interval for their ratio,
  DeLong for ROC AUC (:mod:`rulecheck.engines._analytic`). Where none applies (three or more
  groups, a comparison with the overall value, which shares its rows with the group, weights,
  a zero count for Katz, a metric that is not one proportion), the bootstrap runs and the
  estimate's note says so.

Baseline changes are paired: the candidate's and the baseline's replicates come from the same
resampled rows (8 joint confusion cells per group for count metrics; identical Poisson weights
for row-level quantities), so :meth:`Replicated.change_from` subtracts them replicate by
replicate.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from rulecheck._intervals import Estimate, GroupStatistic, IntervalSettings, ShareStatistic
from rulecheck.engines._analytic import delong_interval, katz, newcombe, wilson
from rulecheck.engines._resample import percentile_interval
from rulecheck.engines.groupstats import Confusion

__all__ = [
    "PROPORTIONS",
    "SUPPORT_UNITS",
    "Closed",
    "Replicated",
    "ShareSampler",
    "TableSampler",
    "proportion_parts",
    "statistic_replicates",
    "support_counts",
]

FloatArray = npt.NDArray[np.float64]
FEW_EVENTS = 5  # below this many events (or non-events) the percentile bootstrap undercovers
Replicates = Callable[[int, int], tuple[FloatArray, FloatArray]]  # (B, seed) -> (V (B,G), O (B,))

# Count metrics that are one proportion k / n of confusion counts: (numerator, denominator).
PROPORTIONS: dict[str, Callable[[Confusion], tuple[FloatArray, FloatArray]]] = {
    "selection_rate": lambda c: (c.tp + c.fp, c.n),
    "true_positive_rate": lambda c: (c.tp, c.tp + c.fn),
    "false_positive_rate": lambda c: (c.fp, c.fp + c.tn),
    "true_negative_rate": lambda c: (c.tn, c.tn + c.fp),
    "false_negative_rate": lambda c: (c.fn, c.fn + c.tp),
    "precision": lambda c: (c.tp, c.tp + c.fp),
    "negative_predictive_value": lambda c: (c.tn, c.tn + c.fn),
    "false_discovery_rate": lambda c: (c.fp, c.fp + c.tp),
    "false_omission_rate": lambda c: (c.fn, c.fn + c.tn),
    "accuracy": lambda c: (c.tp + c.tn, c.n),
}

# What the support of a count metric counts: the rows in its denominator.
SUPPORT_UNITS: dict[str, str] = {
    "selection_rate": "rows",
    "true_positive_rate": "positives",
    "false_negative_rate": "positives",
    "false_positive_rate": "negatives",
    "true_negative_rate": "negatives",
    "precision": "predicted positives",
    "false_discovery_rate": "predicted positives",
    "negative_predictive_value": "predicted negatives",
    "false_omission_rate": "predicted negatives",
    "accuracy": "rows",
    "balanced_accuracy": "rows",
    "f1": "positives or predicted positives",
}


def proportion_parts(metric: str, counts: Confusion) -> tuple[FloatArray, FloatArray] | None:
    """(numerator, denominator) counts of a metric that is one proportion, else None."""
    parts = PROPORTIONS.get(metric)
    return None if parts is None else parts(counts)


def support_counts(metric: str, counts: Confusion) -> FloatArray:
    """Rows in the metric's own denominator per group (unweighted counts)."""
    parts = proportion_parts(metric, counts)
    if parts is not None:
        return parts[1]
    if metric == "f1":
        return counts.tp + counts.fp + counts.fn
    return counts.n


@dataclass(frozen=True)
class Replicated:
    """Bootstrap replicates of one value; percentile intervals (NaN replicates ignored)."""

    point: float
    replicates: FloatArray
    n: int | None = None
    notes: tuple[str, ...] = ()
    pairing: object = None  # equal tokens: resampled with the same rows
    method: str = "bootstrap"
    # The interval's construction when not the percentile interval of ``replicates``
    # (a statistic over several groups: see group_interval).
    bounds: Callable[[float], tuple[float, float]] | None = None

    def interval(self, confidence: float) -> tuple[float, float]:
        if self.bounds is not None:
            return self.bounds(confidence)
        return percentile_interval(self.replicates, confidence)

    def change_from(self, baseline: Estimate, relative: bool) -> Estimate | None:
        if (
            not isinstance(baseline, Replicated)
            or self.pairing is None
            or self.pairing != baseline.pairing
            or self.replicates.shape != baseline.replicates.shape
        ):
            return None
        delta = self.replicates - baseline.replicates
        point = self.point - baseline.point
        if relative:
            with np.errstate(divide="ignore", invalid="ignore"):
                delta = np.where(
                    baseline.replicates != 0, delta / np.abs(baseline.replicates), np.nan
                )
            point = point / abs(baseline.point) if baseline.point != 0 else float("nan")
        return Replicated(point, delta, self.n, self.notes, self.pairing)


@dataclass(frozen=True)
class Closed:
    """A closed-form interval: ``bounds(confidence)`` gives its ends."""

    method: str
    bounds: Callable[[float], tuple[float, float]]
    n: int | None = None
    notes: tuple[str, ...] = ()

    def interval(self, confidence: float) -> tuple[float, float]:
        return self.bounds(confidence)

    def change_from(self, baseline: Estimate, relative: bool) -> Estimate | None:
        return None  # changes are paired bootstrap estimates


def statistic_replicates(
    stat: GroupStatistic, values: FloatArray, overall: FloatArray
) -> FloatArray:
    """The value of ``stat`` on every replicate: ``values`` (B, G) per group, ``overall`` (B,).

    Undefined groups (NaN) in a replicate are left out of its max and min; a replicate where
    every compared group is undefined, or a ratio's denominator is 0, is NaN.
    """
    v = values[:, list(stat.groups)]
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN, as wanted
        high = np.nanmax(v, axis=1)
        low = np.nanmin(v, axis=1)
        ref = overall if stat.reference is None else values[:, stat.reference]
        op = stat.op
        if op == "value":
            out = v[:, 0]
        elif op == "range":
            out = high - low
        elif op == "min_over_max":
            out = np.where(high != 0, low / high, np.nan)
        elif op == "max_over_min":
            out = np.where(low != 0, high / low, np.nan)
        elif op == "max_abs_from":
            out = np.nanmax(np.abs(v - ref[:, None]), axis=1)
        elif op == "min_ratio_to":
            out = np.where(ref != 0, low / ref, np.nan)
        elif op == "max_ratio_to":
            out = np.where(ref != 0, high / ref, np.nan)
        elif op == "min":
            out = low
        else:  # "max"
            out = high
    return np.asarray(out, dtype=np.float64)


MAX_PAIR_GROUPS = 40  # above this many groups, a gap's band is built from groups, not pairs


def _components(
    stat: GroupStatistic, values: FloatArray, overall: FloatArray
) -> tuple[FloatArray, str, str]:
    """The quantities whose extreme is the statistic, per replicate: (Q (B, K), reduce, kind).

    ``kind`` says how one component's interval maps to the statistic's: ``absdiff`` folds a
    signed difference to its magnitude, ``ratio_low`` / ``ratio_high`` fold a ratio of two
    groups to min(r, 1/r) / max(r, 1/r), ``gap`` marks pairwise differences (the gap is their
    maximum, at least 0), ``groups_gap`` group values whose max - min is the gap; otherwise the
    component's interval is used as it is.
    """
    op, groups = stat.op, list(stat.groups)
    v = values[:, groups]
    ref = overall if stat.reference is None else values[:, stat.reference]
    two = len(groups) == 2 and len(stat.deciding) == 2
    with np.errstate(divide="ignore", invalid="ignore"):
        if op == "value":
            return v[:, :1], "max", "value"
        if op in ("min", "max"):
            return v, op, "value"
        if op == "max_abs_from":
            return v - ref[:, None], "max", "absdiff"
        if op in ("min_ratio_to", "max_ratio_to"):
            return np.where(ref[:, None] != 0, v / ref[:, None], np.nan), op[:3], "value"
        if two:
            first, second = (values[:, i] for i in stat.deciding)
            if op == "range":  # deciding = (highest, lowest) in the point estimate
                return (first - second)[:, None], "max", "absdiff"
            ratio = np.where(second != 0, first / second, np.nan)[:, None]
            return ratio, "max", "ratio_low" if op == "min_over_max" else "ratio_high"
        if op == "range" and len(groups) > MAX_PAIR_GROUPS:
            return v, "max", "groups_gap"
        i, j = np.array(
            [(a, b) for a in range(len(groups)) for b in range(len(groups)) if a != b]
        ).T
        if op == "range":
            return v[:, i] - v[:, j], "max", "gap"
        pairs = np.where(v[:, j] != 0, v[:, i] / v[:, j], np.nan)
        return pairs, "min" if op == "min_over_max" else "max", "value"


def group_interval(
    stat: GroupStatistic,
    values: FloatArray,
    overall: FloatArray,
    point_values: FloatArray,
    point_overall: float,
) -> Callable[[float], tuple[float, float]]:
    """The bootstrap interval of a statistic over groups, from joint replicates of all groups.

    One component (a group's value, the difference or ratio of two groups, a group against the
    reference): the percentile interval of the component, folded where the statistic is a
    magnitude (|difference|; the ratio of the lower to the higher group).

    Several components (a gap among three or more groups, the worst ratio to a reference, the
    lowest group's value): the statistic is their maximum (or minimum), and the percentile
    interval of its replicates is biased away from the estimate: every replicate's gap is >= 0,
    so equal groups would get an interval above 0 and fail a bound their estimate meets. The
    interval takes each end from the construction that is valid on that side:

    - the far end (upper for a maximum, lower for a minimum) is the percentile of the
      statistic's own joint replicates, where the bias only makes it conservative;
    - the near end is a one-sided simultaneous bound: max-t over the components (each
      component's deviation from its estimate in units of its bootstrap standard deviation;
      c is the 1 - alpha/2 quantile of the largest), and the statistic's bound is the extreme
      of the components' bounds estimate -/+ c sd. It always contains the estimate side.
    """
    q, reduce, kind = _components(stat, values, overall)
    q0, _, _ = _components(stat, point_values[None, :], np.array([point_overall]))
    point = q0[0]
    keep = ~np.isnan(point)
    q, point = q[:, keep], point[keep]
    if q.shape[1] == 0:
        return lambda confidence: (float("nan"), float("nan"))
    if q.shape[1] == 1 and kind != "groups_gap":
        return lambda confidence: _fold(kind, percentile_interval(q[:, 0], confidence))
    reps = statistic_replicates(stat, values, overall)
    estimate = _point(stat, point_values, point_overall)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        se = np.nanstd(q, axis=0)
        varies = np.isfinite(se) & (se > 0)
        t = np.abs(q[:, varies] - point[varies]) / se[varies]
        largest = np.nanmax(t, axis=1) if t.shape[1] else np.zeros(q.shape[0])

    def bounds(confidence: float) -> tuple[float, float]:
        finite = largest[~np.isnan(largest)]
        low_p, high_p = percentile_interval(reps, confidence)
        if finite.size == 0 or low_p != low_p:
            return float("nan"), float("nan")
        c = float(np.quantile(finite, 1 - (1 - confidence) / 2))
        half = np.where(varies, c * np.nan_to_num(se), 0.0)
        low, high = point - half, point + half
        if kind == "groups_gap":  # group values: the gap is at least max low - min high
            return min(max(float(low.max() - high.min()), 0.0), estimate), max(high_p, estimate)
        if kind == "absdiff":
            folded = [_fold("absdiff", (lo, hi)) for lo, hi in zip(low, high, strict=True)]
            low = np.array([f[0] for f in folded])
            high = np.array([f[1] for f in folded])
        if reduce == "max":
            near = float(np.max(low))
            if kind == "gap":
                near = max(near, 0.0)
            return min(near, estimate), max(high_p, estimate)
        return min(low_p, estimate), max(float(np.min(high)), estimate)

    return bounds


def _fold(kind: str, interval: tuple[float, float]) -> tuple[float, float]:
    """Map a component's interval to the statistic's: |d| for a signed difference d, and
    min(r, 1/r) or max(r, 1/r) for the ratio r of two groups taken in a fixed order."""
    low, high = interval
    if low != low or high != high:
        return low, high
    if kind == "absdiff":
        if low >= 0:
            return low, high
        if high <= 0:
            return -high, -low
        return 0.0, max(high, -low)
    if kind in ("ratio_low", "ratio_high"):
        inverse = (1 / high if high > 0 else float("inf"), 1 / low if low > 0 else float("inf"))
        if kind == "ratio_low":
            if high <= 1:
                return low, high
            if low >= 1:
                return inverse
            return min(low, inverse[0]), 1.0
        if low >= 1:
            return low, high
        if high <= 1:
            return inverse
        return 1.0, max(high, inverse[1])
    return low, high


def _point(stat: GroupStatistic, values: FloatArray, overall: float) -> float:
    return float(statistic_replicates(stat, values[None, :], np.array([overall]))[0])


@dataclass
class TableSampler:
    """Resamples one :class:`~rulecheck._measures.GroupTable` (implements ``GroupSampler``).

    ``replicates(B, seed)`` gives the per-group values (B, G) and overall values (B,) of B
    resamples, cached by the caller; ``counts`` are the unweighted confusion counts when the
    metric is one proportion of them (for analytic intervals), else None; ``support`` the
    cases in each group's denominator.
    """

    metric: str
    values: FloatArray  # point values per group (NaN undefined)
    overall: float
    support: FloatArray
    replicates: Replicates
    pairing: object = None
    counts: Confusion | None = None
    why_not_analytic: str = ""
    _cache: dict[object, Estimate] = field(default_factory=dict)

    def estimate(self, stat: GroupStatistic, settings: IntervalSettings) -> Estimate:
        key = (stat, settings.method, settings.replicates, settings.seed)
        if key not in self._cache:
            self._cache[key] = self._estimate(stat, settings)
        return self._cache[key]

    def _cases(self, stat: GroupStatistic) -> int:
        groups = set(stat.deciding)
        if stat.reference is not None:
            groups.add(stat.reference)
        return int(sum(self.support[i] for i in groups))

    def _estimate(self, stat: GroupStatistic, settings: IntervalSettings) -> Estimate:
        notes: tuple[str, ...] = ()
        n = self._cases(stat)
        if settings.method == "analytic":
            closed, why = self._analytic(stat, n)
            if closed is not None:
                return closed
            notes = (f"Analytic interval not available ({why}): bootstrap used.",)
        notes = (*notes, *self._few_events(stat))
        values, overall = self.replicates(settings.replicates, settings.seed)
        reps = statistic_replicates(stat, values, overall)
        point = _point(stat, self.values, self.overall)
        share = float(np.isnan(reps).mean()) if reps.size else 1.0
        if share > 0.05:
            notes = (
                *notes,
                f"{self.metric}: {share:.0%} of the bootstrap replicates left the value "
                "undefined (too few cases); its interval is unreliable.",
            )
        bounds = group_interval(stat, values, overall, self.values, self.overall)
        return Replicated(point, reps, n, notes, self.pairing, bounds=bounds)

    def _few_events(self, stat: GroupStatistic) -> tuple[str, ...]:
        """A warning when a deciding group has fewer than 5 events or non-events: there the
        percentile bootstrap undercovers (docs/uncertainty.md, coverage by simulation)."""
        if self.counts is None:
            return ()
        parts = proportion_parts(self.metric, self.counts)
        if parts is None:
            return ()
        k, d = parts
        groups = set(stat.deciding) | ({stat.reference} if stat.reference is not None else set())
        if all(min(k[g], d[g] - k[g]) >= FEW_EVENTS for g in groups):
            return ()
        return (
            f"Fewer than {FEW_EVENTS} events or non-events decide this {self.metric}: the "
            "bootstrap interval may be too narrow; method: analytic covers better here.",
        )

    def _analytic(self, stat: GroupStatistic, n: int) -> tuple[Closed | None, str]:
        if self.counts is None:
            return None, self.why_not_analytic or f"{self.metric} is not one proportion"
        parts = proportion_parts(self.metric, self.counts)
        if parts is None:
            return None, f"{self.metric} is not one proportion"
        k, d = parts
        op, groups = stat.op, stat.groups
        if op in ("value", "min", "max") and len(groups) == 1:
            g = groups[0]
            return Closed("wilson", _wilson(k[g], d[g]), n), ""
        pair = self._pair(stat)
        if pair is None:
            if stat.reference is None and op in ("max_abs_from", "min_ratio_to", "max_ratio_to"):
                return None, "a group against the overall value shares its rows"
            return None, f"{op} over {len(groups)} groups has no closed form"
        a, b = pair  # the interval is of value(a) - value(b) or value(a) / value(b)
        if op in ("range", "max_abs_from"):
            return Closed("newcombe", _absolute_newcombe(k[a], d[a], k[b], d[b]), n), ""
        if 0 in (k[a], k[b]):
            return None, "a zero count leaves Katz's interval undefined"
        return Closed("katz", _katz(k[a], d[a], k[b], d[b]), n), ""

    def _pair(self, stat: GroupStatistic) -> tuple[int, int] | None:
        """The two groups whose difference or ratio the statistic is, in the order of the
        ratio (numerator first), or None when it involves more than two groups."""
        op, groups = stat.op, stat.groups
        if stat.reference is not None and op in ("max_abs_from", "min_ratio_to", "max_ratio_to"):
            if len(groups) != 1:
                return None
            return groups[0], stat.reference
        if stat.reference is None and op in ("max_abs_from", "min_ratio_to", "max_ratio_to"):
            return None
        if op not in ("range", "min_over_max", "max_over_min") or len(groups) != 2:
            return None
        first, second = groups
        low, high = sorted((first, second), key=lambda i: self.values[i])
        return (low, high) if op == "min_over_max" else (high, low)


def _wilson(k: float, n: float) -> Callable[[float], tuple[float, float]]:
    def bounds(confidence: float) -> tuple[float, float]:
        low, high = wilson(k, n, confidence)
        return float(low), float(high)

    return bounds


def _absolute_newcombe(
    k1: float, n1: float, k2: float, n2: float
) -> Callable[[float], tuple[float, float]]:
    """The interval of |p1 - p2| from Newcombe's interval of p1 - p2: an interval that
    crosses 0 becomes [0, the larger end's magnitude]."""

    def bounds(confidence: float) -> tuple[float, float]:
        low, high = (float(x) for x in newcombe(k1, n1, k2, n2, confidence))
        if low >= 0:
            return low, high
        if high <= 0:
            return -high, -low
        return 0.0, max(high, -low)

    return bounds


def _katz(k1: float, n1: float, k2: float, n2: float) -> Callable[[float], tuple[float, float]]:
    def bounds(confidence: float) -> tuple[float, float]:
        low, high = katz(k1, n1, k2, n2, confidence)
        return float(low), float(high)

    return bounds


def delong_estimate(
    y_true: npt.NDArray[np.bool_], scores: FloatArray
) -> Callable[[float], tuple[float, float]]:
    """DeLong's interval of the ROC AUC (unweighted)."""

    def bounds(confidence: float) -> tuple[float, float]:
        return delong_interval(y_true, scores, confidence)

    return bounds


@dataclass
class ShareSampler:
    """Resamples the explained rows of an attribution table (implements ``ShareSampler``).

    ``magnitude`` is |contribution| per explained row and feature (times the row's sample
    weight, which leaves weighted shares exact); ``codes`` the explained rows' groups in the
    table's group order (None without groups). ``replicates(kind, B, seed)`` gives (B, F) or
    (B, G, F) replicates of the shares or mean |contribution|.
    """

    magnitude: FloatArray
    codes: npt.NDArray[np.int64] | None
    n_groups: int
    replicates: Callable[[str, int, int], FloatArray]
    pairing: object = None
    weighted: bool = False
    _cache: dict[object, Estimate] = field(default_factory=dict)

    def estimate(self, stat: ShareStatistic, settings: IntervalSettings) -> Estimate:
        key = (stat, settings.method, settings.replicates, settings.seed)
        if key not in self._cache:
            self._cache[key] = self._estimate(stat, settings)
        return self._cache[key]

    def _estimate(self, stat: ShareStatistic, settings: IntervalSettings) -> Estimate:
        notes: tuple[str, ...] = ()
        if settings.method == "analytic":
            notes = ("Analytic interval not available for attributions: bootstrap used.",)
        if stat.kind == "mean_abs" and self.weighted:
            nan = np.full(settings.replicates, np.nan)
            return Replicated(
                float("nan"), nan, None, ("No interval for weighted mean |contribution|.",)
            )
        reps = self.replicates(stat.kind, settings.replicates, settings.seed)
        point = self._reduce(stat, self._point(stat.kind)[None, ...])[0]
        return Replicated(
            float(point), self._reduce(stat, reps), self._rows(stat), notes, self.pairing
        )

    def _rows(self, stat: ShareStatistic) -> int:
        if stat.groups is None or self.codes is None:
            return int(self.magnitude.shape[0])
        return int(np.isin(self.codes, list(stat.groups)).sum())

    def _point(self, kind: str) -> FloatArray:
        m = self.magnitude
        if self.codes is None:
            means = m.mean(axis=0)
        else:
            sums = np.zeros((self.n_groups, m.shape[1]))
            np.add.at(sums, self.codes, m)
            counts = np.bincount(self.codes, minlength=self.n_groups)[:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                means = sums / counts
        if kind == "mean_abs":
            return np.asarray(means, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(means / means.sum(axis=-1, keepdims=True), dtype=np.float64)

    def _reduce(self, stat: ShareStatistic, reps: FloatArray) -> FloatArray:
        """(B, F) or (B, G, F) -> (B,): the features' sum or extreme, then the groups' extreme."""
        if stat.groups is not None and reps.ndim == 3:
            reps = reps[:, list(stat.groups), :]
        picked = reps[..., list(stat.features)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if stat.combined:
                per_scope = picked.sum(axis=-1)
            else:
                per_scope = (
                    np.nanmax(picked, axis=-1)
                    if stat.reduce == "max"
                    else np.nanmin(picked, axis=-1)
                )
            if per_scope.ndim == 2:
                per_scope = (
                    np.nanmax(per_scope, axis=1)
                    if stat.reduce == "max"
                    else np.nanmin(per_scope, axis=1)
                )
        return np.asarray(per_scope, dtype=np.float64)


def max_replicates(per_feature: Sequence[FloatArray]) -> FloatArray:
    """The largest of several (B,) replicate arrays, replicate by replicate."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanmax(np.vstack(per_feature), axis=0), dtype=np.float64)
