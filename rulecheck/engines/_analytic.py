"""Closed-form confidence intervals for rates, their differences and ratios, and ROC AUC.

Every interval function is vectorized: the counts may be Python scalars or numpy arrays that
broadcast together, and each bound comes back as a float64 numpy array of the broadcast shape (a
0-d array for all-scalar input; ``float(low)`` turns it into a number). ``confidence`` is the
two-sided level, e.g. 0.95.

* :func:`wilson` is the Wilson (1927) score interval for one binomial proportion ``k / n``. It
  stays inside [0, 1] and keeps close to nominal coverage for small ``n`` and rates near 0 or 1,
  where the Wald interval fails (Brown, Cai & DasGupta 2001, "Interval Estimation for a Binomial
  Proportion", Statistical Science 16(2)).
* :func:`newcombe` is Newcombe's hybrid score interval for ``p1 - p2`` (Newcombe 1998,
  "Interval estimation for the difference between independent proportions: comparison of eleven
  methods", Statistics in Medicine 17(8), method 10), built from the two Wilson intervals
  ``[l1, u1]`` and ``[l2, u2]``: ``d - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` to
  ``d + sqrt((u1 - p1)^2 + (p2 - l2)^2)`` with ``d = p1 - p2``.
* :func:`katz` is the Katz log interval for the ratio ``(k1 / n1) / (k2 / n2)`` (Katz, Baptista,
  Azen & Pike 1978, "Obtaining confidence intervals for the risk ratio in cohort studies",
  Biometrics 34(3)): ``exp(log r ± z * sqrt(1/k1 - 1/n1 + 1/k2 - 1/n2))``. It is undefined when
  ``k1 == 0`` or ``k2 == 0``; those entries are NaN so that callers fall back to the bootstrap.
* :func:`delong` is the ROC AUC with DeLong's variance (DeLong, DeLong & Clarke-Pearson 1988,
  "Comparing the areas under two or more correlated receiver operating characteristic curves",
  Biometrics 44(3)), computed with the O(n log n) midrank algorithm of Sun & Xu (2014, "Fast
  implementation of DeLong's algorithm for comparing the areas under correlated receiver
  operating characteristic curves", IEEE Signal Processing Letters 21(11)).
  :func:`delong_interval` is the Wald interval ``AUC ± z * sqrt(var)`` on the AUC scale, clipped
  to [0, 1]; the logit-transformed interval is NOT used (at AUC = 1 both degenerate to a point,
  and the plain interval is what DeLong's variance was derived for).

A count of zero trials (``n == 0``) gives NaN bounds: the rate is undefined.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import numpy.typing as npt

__all__ = ["delong", "delong_interval", "katz", "newcombe", "wilson", "z_value"]

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike
Interval = tuple[FloatArray, FloatArray]


def z_value(confidence: float) -> float:
    """The two-sided standard normal quantile: ``z_value(0.95)`` is 1.959963984540054."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _floats(*values: ArrayLike) -> list[FloatArray]:
    """The arguments as float64 arrays broadcast to one shape."""
    return [np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(*values)]


def _array(values: ArrayLike) -> FloatArray:
    """``values`` as a float64 array (numpy returns bare scalars for 0-d results)."""
    return np.asarray(values, dtype=np.float64)


def wilson(k: ArrayLike, n: ArrayLike, confidence: float) -> Interval:
    """Wilson score interval for the proportion ``k / n``, clipped to [0, 1].

    ``k`` and ``n`` are counts (integers, possibly stored as floats) that broadcast; entries with
    ``n == 0`` are NaN.

    >>> low, high = wilson(3, 10, 0.95)
    >>> round(float(low), 4), round(float(high), 4)
    (0.1078, 0.6032)
    """
    k_, n_ = _floats(k, n)
    z = z_value(confidence)
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k_ / n_
        denom = 1.0 + z2 / n_
        center = (p + z2 / (2.0 * n_)) / denom
        half = z * np.sqrt(p * (1.0 - p) / n_ + z2 / (4.0 * n_ * n_)) / denom
    # The bounds at k = 0 and k = n are exactly 0 and 1; rounding would leave them 1e-17 off.
    low = np.where(k_ == 0, 0.0, np.clip(center - half, 0.0, 1.0))
    high = np.where(k_ == n_, 1.0, np.clip(center + half, 0.0, 1.0))
    return _array(np.where(n_ == 0, np.nan, low)), _array(np.where(n_ == 0, np.nan, high))


def newcombe(
    k1: ArrayLike, n1: ArrayLike, k2: ArrayLike, n2: ArrayLike, confidence: float
) -> Interval:
    """Newcombe's hybrid score interval (method 10) for the difference ``k1/n1 - k2/n2``.

    Always inside [-1, 1]; defined for zero counts; NaN where ``n1 == 0`` or ``n2 == 0``.

    >>> low, high = newcombe(8, 10, 3, 10, 0.95)
    >>> round(float(low), 4), round(float(high), 4)
    (0.0665, 0.7398)
    """
    k1_, n1_, k2_, n2_ = _floats(k1, n1, k2, n2)
    low1, high1 = wilson(k1_, n1_, confidence)
    low2, high2 = wilson(k2_, n2_, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = k1_ / n1_, k2_ / n2_
    diff = p1 - p2
    below = np.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    above = np.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2)
    return _array(diff - below), _array(diff + above)


def katz(k1: ArrayLike, n1: ArrayLike, k2: ArrayLike, n2: ArrayLike, confidence: float) -> Interval:
    """Katz log interval for the ratio ``(k1/n1) / (k2/n2)``.

    NaN where ``k1 == 0`` or ``k2 == 0`` (the log of the ratio or its variance is infinite there;
    callers fall back to the bootstrap) and where ``n1 == 0`` or ``n2 == 0``. No 0.5 continuity
    correction is added.

    >>> low, high = katz(20, 100, 10, 100, 0.95)
    >>> round(float(low), 4), round(float(high), 4)
    (0.9866, 4.0545)
    """
    k1_, n1_, k2_, n2_ = _floats(k1, n1, k2, n2)
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(k1_ / n1_) - np.log(k2_ / n2_)
        se = np.sqrt(1.0 / k1_ - 1.0 / n1_ + 1.0 / k2_ - 1.0 / n2_)
        low = np.exp(log_ratio - z * se)
        high = np.exp(log_ratio + z * se)
    undefined = (k1_ == 0) | (k2_ == 0) | (n1_ == 0) | (n2_ == 0)
    return _array(np.where(undefined, np.nan, low)), _array(np.where(undefined, np.nan, high))


def _midranks(values: FloatArray) -> FloatArray:
    """1-based ranks of ``values`` with tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts_run = np.empty(ordered.size, dtype=bool)
    starts_run[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts_run[1:])
    starts = np.flatnonzero(starts_run)
    ends = np.append(starts[1:], ordered.size)  # exclusive
    run_rank = (starts + 1 + ends) / 2.0  # mean of the ranks starts+1 .. ends
    ranks = np.empty(ordered.size, dtype=np.float64)
    ranks[order] = run_rank[np.cumsum(starts_run) - 1]
    return ranks


def delong(y_true: ArrayLike, scores: ArrayLike) -> tuple[float, float]:
    """ROC AUC of ``scores`` for the labels ``y_true`` and DeLong's variance of it (unweighted).

    With ``m`` positives and ``n`` negatives, the placement values are
    ``V10_i = (rank of x_i among all - rank of x_i among positives) / n`` and
    ``V01_j = 1 - (rank of y_j among all - rank of y_j among negatives) / m`` (midranks, so ties
    count one half); the AUC is the mean of ``V10`` and the variance is
    ``var(V10) / m + var(V01) / n`` with sample variances (ddof 1). A class of one element has
    no sample variance: its term is 0. Raises ValueError when only one class is present, when the
    arrays differ in length, or when a score is not finite.

    >>> auc, var = delong([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> auc, round(var, 6)
    (0.75, 0.125)
    """
    labels = np.asarray(y_true).astype(bool).ravel()
    values = np.asarray(scores, dtype=np.float64).ravel()
    if labels.size != values.size:
        raise ValueError(f"y_true has {labels.size} entries but scores has {values.size}")
    if not np.all(np.isfinite(values)):
        raise ValueError("scores must be finite for the AUC")
    positives, negatives = values[labels], values[~labels]
    m, n = positives.size, negatives.size
    if m == 0 or n == 0:
        raise ValueError("the AUC needs both classes in y_true; only one is present")
    overall = _midranks(np.concatenate([positives, negatives]))
    v10 = (overall[:m] - _midranks(positives)) / n
    v01 = 1.0 - (overall[m:] - _midranks(negatives)) / m
    auc = float(v10.mean())
    s10 = float(v10.var(ddof=1)) if m > 1 else 0.0
    s01 = float(v01.var(ddof=1)) if n > 1 else 0.0
    return auc, s10 / m + s01 / n


def delong_interval(y_true: ArrayLike, scores: ArrayLike, confidence: float) -> tuple[float, float]:
    """The interval ``AUC ± z * sqrt(DeLong variance)``, clipped to [0, 1] (no logit transform).

    >>> low, high = delong_interval([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.95)
    >>> round(low, 4), high
    (0.057, 1.0)
    """
    auc, variance = delong(y_true, scores)
    half = z_value(confidence) * float(np.sqrt(variance))
    return max(auc - half, 0.0), min(auc + half, 1.0)
