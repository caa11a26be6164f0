"""Group metrics from one vectorized pass: per-group confusion counts and per-group sums.

Groups are factorized once into integer codes; a single ``np.bincount`` over
``code * 4 + 2 * y_true + y_pred`` yields every group's confusion matrix, and every count-based
metric is a ratio of those counts. Regression metrics use ``np.bincount`` with weights.
No Python loop touches rows or groups. fairlearn's ``MetricFrame`` with scikit-learn metrics is
the reference (``tests/engines/test_fairness_oracle.py``), with one deliberate difference: a
metric whose denominator is zero for a group is undefined here (NaN in the arrays, ``None`` in
tables), where scikit-learn returns 0.0 for some of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck.errors import InputError

__all__ = [
    "COUNT_METRICS",
    "VALUE_METRICS",
    "Confusion",
    "Grouping",
    "confusion_counts",
    "count_metric",
    "factorize",
    "value_metric",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Grouping:
    """Rows factorized into groups: ``codes[i]`` is row i's group, ``keys[g]`` group g's values."""

    by: tuple[str, ...]
    codes: IntArray
    keys: tuple[tuple[str | int | float | bool, ...], ...]

    @property
    def n_groups(self) -> int:
        return len(self.keys)

    def sizes(self) -> IntArray:
        return np.bincount(self.codes, minlength=self.n_groups).astype(np.int64)


def _python_scalar(value: object) -> str | int | float | bool:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def factorize(frame: pd.DataFrame, by: tuple[str, ...]) -> Grouping:
    """Factorize the ``by`` columns of ``frame`` into one code per row (intersections combined).

    Raises InputError for a missing column or missing values in a group column.
    """
    combined = np.zeros(len(frame), dtype=np.int64)
    per_column: list[list[str | int | float | bool]] = []
    radix: list[int] = []
    for column in by:
        if column not in frame.columns:
            raise InputError(missing_column_message(column, frame, "group column"), subject=column)
        codes, uniques = pd.factorize(frame[column], sort=True, use_na_sentinel=True)
        missing = int((codes < 0).sum())
        if missing:
            raise InputError(
                f"group column {column!r} has {missing} missing value{'s' if missing > 1 else ''} "
                f"(first at row {int(np.flatnonzero(codes < 0)[0])}); fill or drop them first",
                subject=column,
            )
        per_column.append([_python_scalar(u) for u in np.asarray(uniques, dtype=object)])
        radix.append(len(uniques))
        combined = combined * len(uniques) + codes.astype(np.int64)
    if len(by) == 1:
        keys = tuple((u,) for u in per_column[0])
        return Grouping(by, combined, keys)
    present, inverse = np.unique(combined, return_inverse=True)
    keys_list: list[tuple[str | int | float | bool, ...]] = []
    for code in present.tolist():
        parts: list[str | int | float | bool] = []
        for size, column_values in zip(reversed(radix), reversed(per_column), strict=True):
            code, index = divmod(code, size)
            parts.append(column_values[index])
        keys_list.append(tuple(reversed(parts)))
    return Grouping(by, inverse.astype(np.int64), tuple(keys_list))


def missing_column_message(column: str, frame: pd.DataFrame, what: str) -> str:
    import difflib

    columns = [str(c) for c in frame.columns]
    close = difflib.get_close_matches(column, columns, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(columns[:30]) + (" ..." if len(columns) > 30 else "")
    return f"{what} {column!r} not found in the data{hint} (columns: {shown})"


@dataclass(frozen=True)
class Confusion:
    """Per-group confusion counts (arrays of length n_groups)."""

    tp: IntArray
    fp: IntArray
    tn: IntArray
    fn: IntArray

    @property
    def n(self) -> IntArray:
        return self.tp + self.fp + self.tn + self.fn


def confusion_counts(
    codes: IntArray, n_groups: int, y_true: BoolArray, y_pred: BoolArray
) -> Confusion:
    """Every group's confusion matrix from one bincount."""
    cell = codes * 4 + y_true.astype(np.int64) * 2 + y_pred.astype(np.int64)
    counts = np.bincount(cell, minlength=4 * n_groups).reshape(n_groups, 4)
    # cell index: 0 = (neg, neg) TN, 1 = (neg, pos) FP, 2 = (pos, neg) FN, 3 = (pos, pos) TP
    return Confusion(tp=counts[:, 3], fp=counts[:, 1], tn=counts[:, 0], fn=counts[:, 2])


def _ratio(num: IntArray | FloatArray, den: IntArray | FloatArray) -> FloatArray:
    """num / den, NaN where den == 0 (undefined)."""
    num_f = np.asarray(num, dtype=np.float64)
    den_f = np.asarray(den, dtype=np.float64)
    out = np.full(num_f.shape, np.nan)
    np.divide(num_f, den_f, out=out, where=den_f != 0)
    return out


def _balanced_accuracy(c: Confusion) -> FloatArray:
    # scikit-learn: mean recall over the classes present in y_true.
    tpr = _ratio(c.tp, c.tp + c.fn)
    tnr = _ratio(c.tn, c.tn + c.fp)
    both = (tpr + tnr) / 2
    return np.where(np.isnan(tpr), tnr, np.where(np.isnan(tnr), tpr, both))


COUNT_METRICS: dict[str, Callable[[Confusion], FloatArray]] = {
    "selection_rate": lambda c: _ratio(c.tp + c.fp, c.n),
    "true_positive_rate": lambda c: _ratio(c.tp, c.tp + c.fn),
    "false_positive_rate": lambda c: _ratio(c.fp, c.fp + c.tn),
    "true_negative_rate": lambda c: _ratio(c.tn, c.tn + c.fp),
    "false_negative_rate": lambda c: _ratio(c.fn, c.fn + c.tp),
    "precision": lambda c: _ratio(c.tp, c.tp + c.fp),
    "negative_predictive_value": lambda c: _ratio(c.tn, c.tn + c.fn),
    "false_discovery_rate": lambda c: _ratio(c.fp, c.fp + c.tp),
    "false_omission_rate": lambda c: _ratio(c.fn, c.fn + c.tn),
    "accuracy": lambda c: _ratio(c.tp + c.tn, c.n),
    "balanced_accuracy": _balanced_accuracy,
    "f1": lambda c: _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn),
}


def count_metric(metric: str, counts: Confusion) -> FloatArray:
    """A count-based metric for every group; NaN marks undefined."""
    return COUNT_METRICS[metric](counts)


def _group_mean(codes: IntArray, n_groups: int, values: FloatArray, sizes: IntArray) -> FloatArray:
    return _ratio(np.bincount(codes, weights=values, minlength=n_groups), sizes)


def _r2(
    codes: IntArray, n_groups: int, y: FloatArray, p: FloatArray, sizes: IntArray
) -> FloatArray:
    # Undefined for a group of one row or with constant labels (zero total sum of squares), where
    # scikit-learn returns NaN or a forced 1.0/0.0. Constant labels are detected by comparing the
    # group's min and max, not by ss_tot == 0: the rounding of the group mean leaves a tiny nonzero
    # ss_tot for constants such as 0.1 (-> r2 near -1e33 instead of undefined).
    mean_y = _group_mean(codes, n_groups, y, sizes)
    ss_res = np.bincount(codes, weights=(y - p) ** 2, minlength=n_groups)
    ss_tot = np.bincount(codes, weights=(y - mean_y[codes]) ** 2, minlength=n_groups)
    low = np.full(n_groups, np.inf)
    high = np.full(n_groups, -np.inf)
    np.minimum.at(low, codes, y)
    np.maximum.at(high, codes, y)
    out = 1.0 - _ratio(ss_res, ss_tot)
    out[(sizes < 2) | (low == high)] = np.nan
    return out


VALUE_METRICS: dict[
    str, Callable[[IntArray, int, FloatArray, FloatArray, IntArray], FloatArray]
] = {
    "mean_prediction": lambda codes, k, y, p, n: _group_mean(codes, k, p, n),
    "mean_absolute_error": lambda codes, k, y, p, n: _group_mean(codes, k, np.abs(y - p), n),
    "mean_squared_error": lambda codes, k, y, p, n: _group_mean(codes, k, (y - p) ** 2, n),
    "r2": _r2,
}


def value_metric(
    metric: str, codes: IntArray, n_groups: int, y: FloatArray, p: FloatArray
) -> FloatArray:
    """A metric over numeric labels and predictions for every group; NaN marks undefined."""
    sizes = np.bincount(codes, minlength=n_groups).astype(np.int64)
    return VALUE_METRICS[metric](codes, n_groups, y, p, sizes)
