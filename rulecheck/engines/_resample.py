"""The count bootstrap: resampling confusion-cell counts instead of rows, and percentile intervals.

Every group metric rulecheck computes from decisions (selection rate, true and false positive
rates, and their differences and ratios between groups) is a function of each group's cell
counts: the 4 confusion cells (TN, FP, FN, TP), or 8 cells when two models' decisions are counted
jointly. A stratified row bootstrap (Efron & Tibshirani 1993, "An Introduction to the Bootstrap",
ch. 6 and 13) draws ``n_g`` rows with replacement inside each group ``g``; the cell counts of
such a resample are exactly multinomial with ``n_g`` trials and the observed cell shares as
probabilities. :func:`multinomial_replicates` draws those counts directly, for all replicates and
groups in one call, so a replicate costs O(G * C) whatever the number of rows.

:func:`percentile_interval` and :func:`percentile_intervals` are the equal-tailed percentile
intervals (Efron & Tibshirani 1993, ch. 13) of the replicate values, ignoring replicates where
the statistic is undefined (NaN, e.g. a ratio whose denominator rate is 0 in that replicate);
:func:`undefined_share` reports how many those were, so a caller can flag a fragile interval.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rulecheck.engines.groupstats import Confusion

__all__ = [
    "confusion_replicates",
    "multinomial_replicates",
    "percentile_interval",
    "percentile_intervals",
    "undefined_share",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def confusion_replicates(
    codes: IntArray,
    n_groups: int,
    labels: IntArray,
    mine: IntArray,
    theirs: IntArray | None,
    role: int,
    replicates: int,
    seed: int,
    rows: FloatArray | None = None,
) -> Confusion:
    """Multinomial resamples of each group's confusion cells, as (B, G) arrays.

    ``codes``, ``labels`` (0/1) and ``mine`` (this model's 0/1 decisions) are per row, or per
    cell of rows when ``rows`` gives each one's row count (a streamed audit). With ``theirs``
    (the partner model's decisions) the 8 joint cells (label, candidate's decision, baseline's
    decision) are resampled, so that both models' replicates come from the same resampled rows;
    ``role`` says which model this is (0 candidate, 1 baseline). The same counts and seed give
    the same draws, whatever the rows' order or grouping into cells.
    """
    k = n_groups
    rng = np.random.default_rng(seed)
    if theirs is None:
        cell = codes * 4 + labels * 2 + mine
        cells = np.bincount(cell, weights=rows, minlength=4 * k).reshape(k, 4).astype(np.int64)
        draws = multinomial_replicates(cells, replicates, rng).astype(np.float64)
        joint = draws.reshape(replicates, k, 2, 2)
    else:
        first, second = (mine, theirs) if role == 0 else (theirs, mine)
        cell = codes * 8 + labels * 4 + first * 2 + second
        cells = np.bincount(cell, weights=rows, minlength=8 * k).reshape(k, 8).astype(np.int64)
        draws = multinomial_replicates(cells, replicates, rng).astype(np.float64)
        cube = draws.reshape(replicates, k, 2, 2, 2)
        joint = cube.sum(axis=4) if role == 0 else cube.sum(axis=3)
    # joint[..., label, decision]: TN (0, 0), FP (0, 1), FN (1, 0), TP (1, 1)
    return Confusion(
        tp=joint[..., 1, 1], fp=joint[..., 0, 1], tn=joint[..., 0, 0], fn=joint[..., 1, 0]
    )


def multinomial_replicates(
    cells: npt.ArrayLike, replicates: int, rng: np.random.Generator
) -> IntArray:
    """``replicates`` bootstrap draws of the (G, C) cell counts ``cells``, as a (B, G, C) array.

    Replicate ``b`` of group ``g`` is a multinomial draw of ``n_g = cells[g].sum()`` trials with
    probabilities ``cells[g] / n_g``: the cell counts of a stratified row bootstrap (rows
    resampled within each group, group sizes fixed). A group with no rows gives zeros. The
    result depends only on ``cells``, ``replicates`` and the state of ``rng``.

    >>> draws = multinomial_replicates([[3, 1], [0, 0]], 5, np.random.default_rng(0))
    >>> draws.shape, draws.sum(axis=2).tolist()[0]
    ((5, 2, 2), [4, 0])
    """
    counts = np.asarray(cells)
    if counts.ndim != 2 or counts.shape[1] == 0:
        raise ValueError(
            f"cells must be a (groups, cells) array with cells >= 1, got {counts.shape}"
        )
    if counts.size and not np.all(np.isfinite(counts)):
        raise ValueError("cells must be finite counts")
    if counts.size and (np.any(counts < 0) or np.any(counts != np.round(counts))):
        raise ValueError("cells must be non-negative integer counts")
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, got {replicates}")
    counts = counts.astype(np.int64)
    sizes = counts.sum(axis=1)
    empty = sizes == 0
    shares = counts / np.where(empty, 1, sizes)[:, None]
    shares[empty, 0] = 1.0  # any valid probabilities: zero trials draw nothing
    draws: IntArray = rng.multinomial(sizes, shares, size=(replicates, counts.shape[0])).astype(
        np.int64, copy=False
    )
    return draws


def percentile_intervals(
    replicates: npt.ArrayLike, confidence: float
) -> tuple[FloatArray, FloatArray]:
    """Equal-tailed percentile intervals of the columns of a (B, K) array of replicate values.

    NaN replicates are ignored; the quantiles of the others are those of
    ``np.nanquantile(..., method="linear")`` along axis 0, computed with one sort. A column whose
    replicates are all NaN gives (NaN, NaN). Returns the lower and upper bounds, each of shape (K,).

    >>> low, high = percentile_intervals([[0.0, 1.0], [1.0, np.nan], [2.0, 3.0]], 0.5)
    >>> low.tolist(), high.tolist()
    ([0.5, 1.5], [1.5, 2.5])
    """
    values = np.asarray(replicates, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"replicates must be a (B, K) array, got shape {values.shape}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    tail = (1.0 - confidence) / 2.0
    ordered = np.sort(values, axis=0)  # NaN sorts last
    valid = np.sum(~np.isnan(values), axis=0)
    last = np.maximum(valid - 1, 0)
    bounds = []
    for q in (tail, 1.0 - tail):
        position = last * q
        below = np.floor(position).astype(np.intp)
        above = np.minimum(below + 1, last)
        weight = position - below
        low_value = np.take_along_axis(ordered, below[None, :], axis=0)[0]
        high_value = np.take_along_axis(ordered, above[None, :], axis=0)[0]
        # numpy's "linear" interpolation, in its numerically stable form (from the nearer point).
        step = high_value - low_value
        value = np.where(
            weight >= 0.5, high_value - step * (1.0 - weight), low_value + step * weight
        )
        value = np.where(weight == 0, low_value, value)  # exact at the sample points
        bounds.append(np.where(valid == 0, np.nan, value))
    return bounds[0], bounds[1]


def percentile_interval(replicates: npt.ArrayLike, confidence: float) -> tuple[float, float]:
    """Equal-tailed percentile interval of a 1-D array of replicate values, ignoring NaN.

    (NaN, NaN) when every replicate is NaN.

    >>> percentile_interval([0.0, 1.0, 2.0, 3.0, 4.0, np.nan], 0.5)
    (1.0, 3.0)
    """
    values = np.asarray(replicates, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"replicates must be a 1-D array, got shape {values.shape}")
    low, high = percentile_intervals(values[:, None], confidence)
    return float(low[0]), float(high[0])


def undefined_share(replicates: npt.ArrayLike) -> float:
    """The share of replicate values that are NaN (the statistic was undefined there).

    >>> undefined_share([0.1, np.nan, 0.3, np.nan])
    0.5
    """
    values = np.asarray(replicates, dtype=np.float64)
    if values.size == 0:
        raise ValueError("no replicates to count")
    return float(np.mean(np.isnan(values)))
