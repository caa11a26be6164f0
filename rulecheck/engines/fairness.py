"""Group metrics as pure formulas of per-group statistics.

Every count-based metric is a ratio of (weighted) confusion counts, and every regression metric a
ratio of (weighted) per-group sums; the counts and sums come from a
:class:`~rulecheck.engines.groupstats.GroupStats` backend (one ``np.bincount`` each in memory).
No Python loop touches rows or groups. fairlearn's ``MetricFrame`` with scikit-learn metrics is
the reference (``tests/engines/test_fairness_oracle.py``), with one deliberate difference: a
metric whose denominator is zero for a group is undefined here (NaN in the arrays, ``None`` in
tables), where scikit-learn returns 0.0 for some of them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from rulecheck.engines.groupstats import Confusion, Grouping, GroupStats, ratio

__all__ = ["COUNT_METRICS", "VALUE_METRICS", "count_metric", "value_metric"]

FloatArray = npt.NDArray[np.float64]


def _balanced_accuracy(c: Confusion) -> FloatArray:
    # scikit-learn: mean recall over the classes present in y_true.
    tpr = ratio(c.tp, c.tp + c.fn)
    tnr = ratio(c.tn, c.tn + c.fp)
    both = (tpr + tnr) / 2
    return np.where(np.isnan(tpr), tnr, np.where(np.isnan(tnr), tpr, both))


COUNT_METRICS: dict[str, Callable[[Confusion], FloatArray]] = {
    "selection_rate": lambda c: ratio(c.tp + c.fp, c.n),
    "true_positive_rate": lambda c: ratio(c.tp, c.tp + c.fn),
    "false_positive_rate": lambda c: ratio(c.fp, c.fp + c.tn),
    "true_negative_rate": lambda c: ratio(c.tn, c.tn + c.fp),
    "false_negative_rate": lambda c: ratio(c.fn, c.fn + c.tp),
    "precision": lambda c: ratio(c.tp, c.tp + c.fp),
    "negative_predictive_value": lambda c: ratio(c.tn, c.tn + c.fn),
    "false_discovery_rate": lambda c: ratio(c.fp, c.fp + c.tp),
    "false_omission_rate": lambda c: ratio(c.fn, c.fn + c.tn),
    "accuracy": lambda c: ratio(c.tp + c.tn, c.n),
    "balanced_accuracy": _balanced_accuracy,
    "f1": lambda c: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn),
}


def count_metric(metric: str, counts: Confusion) -> FloatArray:
    """A count-based metric for every group; NaN marks undefined."""
    return COUNT_METRICS[metric](counts)


def _r2(
    stats: GroupStats, grouping: Grouping, y: FloatArray, p: FloatArray, w: FloatArray | None
) -> FloatArray:
    # Undefined for a group of one row or with constant labels (zero total sum of squares), where
    # scikit-learn returns NaN or a forced 1.0/0.0. Constant labels are detected by comparing the
    # group's min and max, not by ss_tot == 0: the rounding of the group mean leaves a tiny nonzero
    # ss_tot for constants such as 0.1 (-> r2 near -1e33 instead of undefined). With weights,
    # the mean and both sums of squares are weighted, as in scikit-learn's r2_score.
    mean_y = stats.means(grouping, y, w)
    ss_res = stats.sums(grouping, (y - p) ** 2, w)
    ss_tot = stats.sums(grouping, (y - mean_y[grouping.codes]) ** 2, w)
    low, high = stats.minmax(grouping, y)
    out = 1.0 - ratio(ss_res, ss_tot)
    out[(stats.counts(grouping) < 2) | (low == high)] = np.nan
    return out


ValueMetric = Callable[
    [GroupStats, Grouping, FloatArray, FloatArray, FloatArray | None], FloatArray
]
VALUE_METRICS: dict[str, ValueMetric] = {
    "mean_prediction": lambda stats, g, y, p, w: stats.means(g, p, w),
    "mean_absolute_error": lambda stats, g, y, p, w: stats.means(g, np.abs(y - p), w),
    "mean_squared_error": lambda stats, g, y, p, w: stats.means(g, (y - p) ** 2, w),
    "r2": _r2,
}


def value_metric(
    metric: str,
    stats: GroupStats,
    grouping: Grouping,
    y: FloatArray,
    p: FloatArray,
    weights: FloatArray | None = None,
) -> FloatArray:
    """A metric over numeric labels and predictions for every group; NaN marks undefined."""
    return VALUE_METRICS[metric](stats, grouping, y, p, weights)
