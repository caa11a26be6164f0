"""ROC AUC from one sort of the scores (the Mann-Whitney statistic), ties counting one half.

Why not ``sklearn.metrics.roc_auc_score``: it builds the whole ROC curve (several float64 arrays
per row and a threshold-dropping pass) and costs +763 MB at 1e7 rows; the statistic needs the
scores sorted once: unweighted, the positives' and the negatives' scores each sorted and binary
searched; weighted, one ``argsort`` and per-tie-group sums of the weights. The values agree with scikit-learn's to 1e-12, weighted or
not, with ties (tested against it on random data).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["roc_auc"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def roc_auc(y_true: BoolArray, scores: FloatArray, weights: FloatArray | None = None) -> float:
    """``sum_t P_t * (N_below_t + N_t / 2) / (P * N)`` over the tie groups ``t`` of ``scores``.

    ``P_t`` and ``N_t`` are the (weighted) positives and negatives scoring exactly the ``t``-th
    lowest score, ``N_below_t`` the negatives scoring lower. The scores must be finite and both
    classes present with positive weight (the caller checks: the AUC is undefined otherwise).

    Examples
    --------
    >>> import numpy as np
    >>> roc_auc(np.array([False, False, True, True]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    if weights is None:
        # Two half-size sorts and binary searches: faster than one argsort of every score.
        pos_scores = scores[y_true]
        neg_scores = scores[~y_true]
        pos_scores.sort()
        neg_scores.sort()
        below = np.searchsorted(neg_scores, pos_scores, side="left")
        not_above = np.searchsorted(neg_scores, pos_scores, side="right")
        wins = float(below.sum()) + 0.5 * float((not_above - below).sum())
        return wins / (float(len(pos_scores)) * float(len(neg_scores)))
    order = np.argsort(scores)
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    positive = y_true[order]
    w = weights[order]
    pos = np.add.reduceat(np.where(positive, w, 0.0), starts)
    neg = np.add.reduceat(np.where(positive, 0.0, w), starts)
    below_weight = np.cumsum(neg) - neg
    numerator = float(np.dot(pos, below_weight + 0.5 * neg))
    return numerator / (float(pos.sum()) * float(neg.sum()))
