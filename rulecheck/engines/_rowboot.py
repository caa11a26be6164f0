"""Poisson bootstrap replicates of row-level statistics, pairable across models.

Count metrics are resampled elsewhere (multinomial draws of confusion counts). This module
resamples statistics that need the rows themselves: per-group means and sums of a per-row value,
ratios of per-group sums (weighted confusion cells), ROC AUC, log loss, attribution shares from a
per-row ``|SHAP|`` matrix, and the proxy association measures (NMI, Cramér's V, correlation
ratio).

Method
------
*Poisson bootstrap.* Replicate ``r`` gives row ``i`` an integer weight ``w[r, i] ~ Poisson(1)``
instead of drawing ``n`` rows with replacement. The weights of different rows are independent, so
a replicate is a weighted recomputation of the statistic and every statistic here is a
matrix product of a ``(b, m)`` block of weights with a per-row design (a one-hot sparse matrix of
group codes, the per-row values, ...), vectorized over the ``b`` replicates of the block. Sample
weights multiply the bootstrap weights.

*Pairing.* :class:`PoissonWeights` is a pure function of ``(n_rows, replicates, seed,
max_rows)``: two callers that build it with equal arguments get bit-identical weights, so a
candidate and a baseline model evaluated on the same rows are resampled with the same rows (a
paired bootstrap: the replicate differences are the bootstrap distribution of the difference).

*Random numbers.* Replicates come in fixed chunks of 64; chunk ``k`` is drawn from its own
generator ``np.random.default_rng(SeedSequence(seed, spawn_key=(1, k)))`` and the subsample (see
below) from ``SeedSequence(seed, spawn_key=(0,))``. The weights of replicate ``r`` therefore do
not depend on the block size nor on the total number of replicates. The whole ``(B, m)`` matrix is
generated once, on first use, and cached as ``uint8`` (1000 x 20,000 rows = 20 MB; a
Poisson(1) count above 255 has probability below 1e-500 and is clipped to 255): drawing 20
million Poisson variates costs about a second, while converting a cached block to float64 costs
milliseconds, and one :class:`PoissonWeights` typically serves many statistics.

*Blocks.* :meth:`PoissonWeights.blocks` yields float64 blocks of ``b`` replicates with
``b * m <= 4e6`` entries (32 MB) unless ``block_size`` is given; the per-block products keep the
memory bounded whatever ``B``.

*Subsampling above ``max_rows`` rows.* With ``n > max_rows`` the bootstrap runs on a seeded random
subsample of ``m = max_rows`` rows (sorted, without replacement), and each replicate's deviation
from the subsample's own estimate is shrunk by ``sqrt(m / n)`` and re-centred on the full-data
estimate::

    theta*_full = theta_hat_full + sqrt(m / n) * (theta*_sub - theta_hat_sub)

where ``theta_hat_full`` is the statistic on all ``n`` rows (with the sample weights, without
bootstrap weights) and ``theta_hat_sub`` the same on the ``m`` subsampled rows. This is valid for
smooth statistics whose spread shrinks as ``1 / sqrt(n)`` (means, ratios of sums, AUC, shares,
association measures away from their boundaries); rescaled replicates are not clipped to the
statistic's range. :func:`group_sums` is not rescaled (a sum grows with ``n``); callers needing a
rate use :func:`group_ratio_of_sums`.

All functions return the raw replicate arrays (first axis = replicate); NaN marks a replicate in
which the statistic is undefined (a group or a class with zero total weight).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.special import xlogy

__all__ = [
    "PoissonWeights",
    "association_replicates",
    "auc_replicates",
    "group_means",
    "group_ratio_of_sums",
    "group_sums",
    "log_loss_replicates",
    "mean_abs_replicates",
    "share_replicates",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Kernel = Callable[[FloatArray], FloatArray]
ScalarT = TypeVar("ScalarT", bound=np.generic)
AssociationMeasure = Literal["nmi", "cramers_v", "correlation_ratio"]

CHUNK = 64
"""Replicates per independently seeded generator chunk (fixed: part of the weights' definition)."""
BLOCK_ENTRIES = 4_000_000
"""Default upper bound on the entries of one float64 block of weights (32 MB)."""


class PoissonWeights:
    """Seeded Poisson(1) bootstrap weights: ``replicates`` x ``m`` where ``m = min(n_rows, max_rows)``.

    Above ``max_rows`` rows the bootstrap runs on a seeded, sorted random subsample of ``max_rows``
    rows (without replacement), and the statistics rescale each replicate's deviation by
    :meth:`scale` ``= sqrt(m / n_rows)`` around the full-data estimate (see the module docstring).

    >>> pw = PoissonWeights(5, replicates=3, seed=0)
    >>> pw.counts().shape, pw.subsampled, pw.scale()
    ((3, 5), False, 1.0)
    >>> bool((PoissonWeights(5, 3, seed=0).counts() == pw.counts()).all())
    True
    """

    n_rows: int
    replicates: int
    seed: int
    max_rows: int
    rows: IntArray
    subsampled: bool

    def __init__(
        self,
        n_rows: int,
        replicates: int,
        seed: int,
        max_rows: int = 20_000,
        block_size: int | None = None,
    ) -> None:
        for name, value in (("n_rows", n_rows), ("replicates", replicates), ("max_rows", max_rows)):
            if int(value) < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if int(seed) < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        if block_size is not None and int(block_size) < 1:
            raise ValueError(f"block_size must be at least 1, got {block_size}")
        self.n_rows = int(n_rows)
        self.replicates = int(replicates)
        self.seed = int(seed)
        self.max_rows = int(max_rows)
        self.subsampled = self.n_rows > self.max_rows
        if self.subsampled:
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0,)))
            chosen = rng.choice(self.n_rows, size=self.max_rows, replace=False)
            self.rows = np.sort(chosen).astype(np.int64)
        else:
            self.rows = np.arange(self.n_rows, dtype=np.int64)
        m = self.rows.shape[0]
        self._block = (
            int(block_size)
            if block_size is not None
            else max(1, min(self.replicates, BLOCK_ENTRIES // m))
        )
        self._counts: npt.NDArray[np.uint8] | None = None

    @property
    def m(self) -> int:
        """Number of rows the replicates weight (``len(rows)``)."""
        return int(self.rows.shape[0])

    def counts(self) -> npt.NDArray[np.uint8]:
        """The cached ``(replicates, m)`` matrix of Poisson(1) counts, generated on first use."""
        if self._counts is None:
            counts = np.empty((self.replicates, self.m), dtype=np.uint8)
            for chunk, start in enumerate(range(0, self.replicates, CHUNK)):
                stop = min(start + CHUNK, self.replicates)
                rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(1, chunk)))
                draws = rng.poisson(1.0, size=(stop - start, self.m))
                counts[start:stop] = np.minimum(draws, 255)
            self._counts = counts
        return self._counts

    def blocks(self) -> Iterator[tuple[int, FloatArray]]:
        """``(first replicate index, (b, m) float64 weights)``; the blocks stack to the full matrix."""
        counts = self.counts()
        for start in range(0, self.replicates, self._block):
            yield start, counts[start : start + self._block].astype(np.float64)

    def scale(self) -> float:
        """``sqrt(m / n_rows)``: the shrink factor of replicate deviations (1.0 without subsampling)."""
        return float(np.sqrt(self.m / self.n_rows)) if self.subsampled else 1.0


# ---------------------------------------------------------------------------------------------
# Driver


def _run(pw: PoissonWeights, build: Callable[[IntArray | None], Kernel]) -> FloatArray:
    """Apply ``build(rows)``'s kernel to every block, rescaling around the full-data estimate.

    ``build(index)`` returns a kernel over the rows ``index`` (``None``: all rows) mapping a
    ``(b, k)`` weight matrix to a ``(b, ...)`` statistic.
    """
    kernel = build(None if not pw.subsampled else pw.rows)
    out = np.concatenate([kernel(weights) for _, weights in pw.blocks()], axis=0)
    if not pw.subsampled:
        return out
    theta_sub = kernel(np.ones((1, pw.m)))[0]
    theta_full = build(None)(np.ones((1, pw.n_rows)))[0]
    with np.errstate(invalid="ignore"):
        return np.asarray(theta_full + pw.scale() * (out - theta_sub), dtype=np.float64)


def _take(array: npt.NDArray[ScalarT], index: IntArray | None) -> npt.NDArray[ScalarT]:
    return array if index is None else array[index]


def _divide(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """``numerator / denominator`` with NaN where the denominator is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator != 0, numerator / denominator, np.nan)


def _one_hot(codes: IntArray, n_columns: int, data: FloatArray | None = None) -> sp.csr_array:
    k = codes.shape[0]
    values = np.ones(k) if data is None else data
    return sp.csr_array((values, (np.arange(k), codes)), shape=(k, n_columns))


def _product(weights: FloatArray, design: sp.csr_array) -> FloatArray:
    """``weights @ design`` as a C-contiguous float64 array.

    Every product of weights with a per-row design goes through scipy's sparse kernel, which adds
    the rows of one output entry in the same order whatever the number of replicates in the block
    (a dense BLAS product may switch kernels with the block's shape), and the result is made
    C-contiguous so that later reductions along the last axis do not depend on the block size
    either: the replicates are bit-identical for every block size.
    """
    return np.ascontiguousarray(weights @ design, dtype=np.float64)


def _dense_design(columns: FloatArray) -> sp.csr_array:
    """A ``(k, c)`` float matrix as a CSR design for :func:`_product`."""
    return sp.csr_array(columns)


# ---------------------------------------------------------------------------------------------
# Validation


def _codes(pw: PoissonWeights, codes: npt.ArrayLike, n_groups: int, what: str) -> IntArray:
    array = np.asarray(codes)
    if array.shape != (pw.n_rows,) or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{what} must be an integer array of length {pw.n_rows}")
    array = array.astype(np.int64, copy=False)
    if n_groups < 1 or (array.size and (array.min() < 0 or array.max() >= n_groups)):
        raise ValueError(f"{what} must lie in [0, {n_groups})")
    return array


def _floats(pw: PoissonWeights, values: npt.ArrayLike, what: str, ndim: int = 1) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != ndim or array.shape[0] != pw.n_rows:
        raise ValueError(f"{what} must have {ndim} dimension(s) and {pw.n_rows} rows")
    return array


def _sample_weights(pw: PoissonWeights, weights: npt.ArrayLike | None) -> FloatArray:
    if weights is None:
        return np.ones(pw.n_rows)
    array = _floats(pw, weights, "weights")
    if not np.all(np.isfinite(array)) or (array < 0).any():
        raise ValueError("weights must be finite and non-negative")
    return array


# ---------------------------------------------------------------------------------------------
# Group statistics


def group_ratio_of_sums(
    pw: PoissonWeights,
    codes: npt.ArrayLike,
    n_groups: int,
    numerators: npt.ArrayLike,
    denominators: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> FloatArray:
    """``(B, G)``: per group, ``sum(s * w * num) / sum(s * w * den)`` over the group's rows.

    ``s`` are the sample weights, ``w`` the bootstrap weights. NaN where the denominator sum is 0.
    Rescaled when subsampled. For weighted confusion-count rates, e.g. the false positive rate:
    ``numerators`` = false-positive indicator, ``denominators`` = negative indicator.
    """
    group = _codes(pw, codes, n_groups, "codes")
    num = _floats(pw, numerators, "numerators")
    den = _floats(pw, denominators, "denominators")
    sample = _sample_weights(pw, weights)

    def build(index: IntArray | None) -> Kernel:
        g, s = _take(group, index), _take(sample, index)
        k = g.shape[0]
        design = sp.csr_array(
            (
                np.concatenate([s * _take(num, index), s * _take(den, index)]),
                (np.tile(np.arange(k), 2), np.concatenate([g, g + n_groups])),
            ),
            shape=(k, 2 * n_groups),
        )

        def kernel(w: FloatArray) -> FloatArray:
            sums = _product(w, design)
            return _divide(sums[:, :n_groups], sums[:, n_groups:])

        return kernel

    return _run(pw, build)


def group_means(
    pw: PoissonWeights,
    codes: npt.ArrayLike,
    n_groups: int,
    values: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> FloatArray:
    """``(B, G)``: per-group (sample weight x bootstrap weight) weighted means of ``values``.

    NaN where a group has zero total weight in a replicate. Rescaled when subsampled.
    """
    checked = _floats(pw, values, "values")
    return group_ratio_of_sums(pw, codes, n_groups, checked, np.ones(pw.n_rows), weights)


def group_sums(
    pw: PoissonWeights,
    codes: npt.ArrayLike,
    n_groups: int,
    values: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> FloatArray:
    """``(B, G)``: raw per-group ``sum(s * w * values)`` over the used rows ``pw.rows``.

    Not rescaled: on a subsample these are sums over ``m`` rows, not ``n``. Callers needing a rate
    use :func:`group_ratio_of_sums`.
    """
    group = _codes(pw, codes, n_groups, "codes")
    data = _floats(pw, values, "values") * _sample_weights(pw, weights)
    design = _one_hot(group[pw.rows], n_groups, data[pw.rows])
    return np.concatenate([_product(w, design) for _, w in pw.blocks()], axis=0)


# ---------------------------------------------------------------------------------------------
# Classification scores


def auc_replicates(
    pw: PoissonWeights,
    y_true: npt.ArrayLike,
    scores: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> FloatArray:
    """``(B,)``: weighted ROC AUC per replicate, ties counting 1/2.

    Equal to scikit-learn's ``roc_auc_score(y_true, scores, sample_weight=s * w)``. The rows are
    sorted by score once; per block, the weighted positives and negatives are summed per tie group
    (runs of equal scores, ``np.add.reduceat``) and
    ``AUC = sum_t P_t * (N_below_t + N_t / 2) / (P * N)``. NaN where a replicate has no positive
    or no negative weight. Rescaled when subsampled.
    """
    positive = np.asarray(y_true)
    if positive.shape != (pw.n_rows,):
        raise ValueError(f"y_true must have length {pw.n_rows}")
    positive = positive.astype(bool)
    score = _floats(pw, scores, "scores")
    if not np.all(np.isfinite(score)):
        raise ValueError("scores must be finite")
    sample = _sample_weights(pw, weights)

    def build(index: IntArray | None) -> Kernel:
        sc = _take(score, index)
        order = np.argsort(sc, kind="stable")
        sorted_scores = sc[order]
        starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
        s = _take(sample, index)[order]
        pos = _take(positive, index)[order]
        pos_weight, neg_weight = s * pos, s * ~pos

        def kernel(w: FloatArray) -> FloatArray:
            ordered = w[:, order]
            p = np.add.reduceat(ordered * pos_weight, starts, axis=1)
            n = np.add.reduceat(ordered * neg_weight, starts, axis=1)
            below = np.cumsum(n, axis=1) - n
            numerator = (p * (below + 0.5 * n)).sum(axis=1)
            total_p, total_n = p.sum(axis=1), n.sum(axis=1)
            return _divide(numerator, total_p * total_n)

        return kernel

    return _run(pw, build)


def log_loss_replicates(
    pw: PoissonWeights,
    y_true: npt.ArrayLike,
    probabilities: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> FloatArray:
    """``(B,)``: weighted mean log loss per replicate, as scikit-learn's ``log_loss``.

    scikit-learn 1.9 clips the class probabilities ``[1 - p, p]`` to ``[eps, 1 - eps]`` with
    ``eps`` the float64 machine epsilon (so ``p = 0`` for a positive costs ``-log(eps) ≈ 36.04``,
    not infinity); the same is done here, in float64 (for float32 input scikit-learn would clip at
    float32's epsilon). NaN where a replicate has zero total weight. Rescaled when subsampled.
    """
    positive = np.asarray(y_true)
    if positive.shape != (pw.n_rows,):
        raise ValueError(f"y_true must have length {pw.n_rows}")
    positive = positive.astype(bool)
    p = _floats(pw, probabilities, "probabilities")
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError("probabilities must lie in [0, 1]")
    eps = np.finfo(np.float64).eps
    chosen = np.where(positive, p, 1.0 - p)
    loss = -np.log(np.clip(chosen, eps, 1.0 - eps))
    sample = _sample_weights(pw, weights)

    def build(index: IntArray | None) -> Kernel:
        s = _take(sample, index)
        design = _dense_design(np.stack([s * _take(loss, index), s], axis=1))

        def kernel(w: FloatArray) -> FloatArray:
            sums = _product(w, design)
            return _divide(sums[:, 0], sums[:, 1])

        return kernel

    return _run(pw, build)


# ---------------------------------------------------------------------------------------------
# Attribution


def _attribution_kernel(
    pw: PoissonWeights, abs_values: npt.ArrayLike, codes: npt.ArrayLike | None, n_groups: int
) -> Callable[[IntArray | None], Kernel]:
    """Builder of the bootstrap-weighted per-column (per-group) mean of ``|abs_values|``."""
    values = np.abs(_floats(pw, abs_values, "abs_values", ndim=2))
    n_features = values.shape[1]
    group = _codes(pw, codes, n_groups, "codes") if codes is not None else None

    def build(index: IntArray | None) -> Kernel:
        a = _take(values, index)
        if group is None:
            design = _dense_design(np.column_stack([a, np.ones(a.shape[0])]))

            def ungrouped(w: FloatArray) -> FloatArray:
                sums = _product(w, design)
                return _divide(sums[:, :n_features], sums[:, n_features:])

            return ungrouped
        g = _take(group, index)
        k = g.shape[0]
        columns = (g[:, None] * n_features + np.arange(n_features)).ravel()
        design = sp.csr_array(
            (a.ravel(), (np.repeat(np.arange(k), n_features), columns)),
            shape=(k, n_groups * n_features),
        )
        counts = _one_hot(g, n_groups)

        def per_group(w: FloatArray) -> FloatArray:
            sums = _product(w, design).reshape(w.shape[0], n_groups, n_features)
            return _divide(sums, _product(w, counts)[:, :, None])

        return per_group

    return build


def mean_abs_replicates(
    pw: PoissonWeights,
    abs_values: npt.ArrayLike,
    codes: npt.ArrayLike | None = None,
    n_groups: int = 0,
) -> FloatArray:
    """``(B, F)`` or, with ``codes``, ``(B, G, F)``: bootstrap-weighted mean of each column.

    ``abs_values`` is the ``(n_rows, F)`` per-row attribution matrix; its absolute value is taken
    (a no-op on ``|SHAP|``). NaN for a group with zero weight in a replicate. Rescaled when
    subsampled. For attribution shares use :func:`share_replicates`, which rescales the share.
    """
    build = _attribution_kernel(pw, abs_values, codes, n_groups)
    return _run(pw, build)


def share_replicates(
    pw: PoissonWeights,
    abs_values: npt.ArrayLike,
    codes: npt.ArrayLike | None = None,
    n_groups: int = 0,
) -> FloatArray:
    """``(B, F)`` or ``(B, G, F)``: attribution shares ``mean_abs_f / sum_f mean_abs``.

    NaN where the group is absent or all its attributions are 0 in a replicate. When subsampled
    the rescaling is applied to the share (not to the means it is computed from).
    """
    build_means = _attribution_kernel(pw, abs_values, codes, n_groups)

    def build(index: IntArray | None) -> Kernel:
        means = build_means(index)

        def kernel(w: FloatArray) -> FloatArray:
            mean_abs = means(w)
            return _divide(mean_abs, mean_abs.sum(axis=-1, keepdims=True))

        return kernel

    return _run(pw, build)


# ---------------------------------------------------------------------------------------------
# Proxy association


def association_replicates(
    pw: PoissonWeights,
    x_codes_or_values: npt.ArrayLike,
    attribute_codes: npt.ArrayLike,
    measure: AssociationMeasure,
) -> FloatArray:
    """``(B,)``: a proxy association measure recomputed on bootstrap-weighted rows.

    - ``"nmi"``: scikit-learn's ``normalized_mutual_info_score`` (arithmetic average) of the
      weighted contingency table: ``MI / mean(H(x), H(a))``; 1.0 when both variables take a single
      value in the replicate, 0.0 when exactly one does (scikit-learn's conventions).
    - ``"cramers_v"``: ``sqrt(chi2 / (n * (min(R', C') - 1)))`` without Yates correction, where
      ``R'``, ``C'`` count the rows / columns with non-zero totals in the replicate; 0 when either
      variable takes a single value; capped at 1 like ``proxy.cramers_v``.
    - ``"correlation_ratio"``: ``eta = sqrt(between-group SS / total SS)`` of the float ``x``
      across the attribute's groups, rows with NaN ``x`` excluded; 0 when ``x`` is constant over
      the rows with positive weight.

    For ``"nmi"`` and ``"cramers_v"``, ``x`` are integer codes (missing values already a code of
    their own). The replicate tables are ``W_block @ onehot(cell)`` over the cells ``(x, a)`` that
    occur, so the cost does not grow with the number of possible cells. Rescaled when subsampled.
    """
    attribute = np.asarray(attribute_codes)
    if attribute.shape != (pw.n_rows,) or not np.issubdtype(attribute.dtype, np.integer):
        raise ValueError(f"attribute_codes must be an integer array of length {pw.n_rows}")
    if attribute.size and attribute.min() < 0:
        raise ValueError("attribute_codes must be non-negative")
    attribute = attribute.astype(np.int64)
    if measure == "correlation_ratio":
        x = _floats(pw, x_codes_or_values, "x")
        return _run(pw, lambda index: _eta_kernel(_take(x, index), _take(attribute, index)))
    if measure not in ("nmi", "cramers_v"):
        raise ValueError(f"unknown association measure {measure!r}")
    codes = np.asarray(x_codes_or_values)
    if codes.shape != (pw.n_rows,) or not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"x must be an integer code array of length {pw.n_rows} for {measure}")
    if codes.size and codes.min() < 0:
        raise ValueError("x codes must be non-negative")
    codes = codes.astype(np.int64)
    return _run(
        pw,
        lambda index: _table_kernel(_take(codes, index), _take(attribute, index), measure),
    )


def _table_kernel(x: IntArray, a: IntArray, measure: AssociationMeasure) -> Kernel:
    """Kernel computing NMI or Cramér's V from the replicate contingency tables of ``(x, a)``."""
    n_columns = int(a.max()) + 1
    cells, cell_of_row = np.unique(x * n_columns + a, return_inverse=True)
    cell_row_code, cell_col_code = np.divmod(cells, n_columns)
    _, cell_row = np.unique(cell_row_code, return_inverse=True)
    _, cell_col = np.unique(cell_col_code, return_inverse=True)
    n_cells = cells.shape[0]
    to_cells = _one_hot(cell_of_row.ravel(), n_cells)
    to_rows = _one_hot(cell_row.ravel(), int(cell_row.max()) + 1)
    to_cols = _one_hot(cell_col.ravel(), int(cell_col.max()) + 1)

    def kernel(w: FloatArray) -> FloatArray:
        table = _product(w, to_cells)  # (b, cells)
        row_totals = _product(table, to_rows)
        col_totals = _product(table, to_cols)
        n = table.sum(axis=1)
        n_rows_present = (row_totals > 0).sum(axis=1)
        n_cols_present = (col_totals > 0).sum(axis=1)
        single = (n_rows_present <= 1) | (n_cols_present <= 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            if measure == "nmi":
                n_log_n = xlogy(n, n)
                row_term = xlogy(row_totals, row_totals).sum(axis=1)
                col_term = xlogy(col_totals, col_totals).sum(axis=1)
                mi = np.maximum(
                    (xlogy(table, table).sum(axis=1) - row_term - col_term + n_log_n), 0
                )
                h_rows = n_log_n - row_term
                h_cols = n_log_n - col_term
                nmi = np.where(single, 0.0, mi / (0.5 * (h_rows + h_cols)))
                both_single = (n_rows_present <= 1) & (n_cols_present <= 1)
                return np.where(both_single, 1.0, nmi)
            expected = row_totals[:, cell_row.ravel()] * col_totals[:, cell_col.ravel()]
            ratio = np.where(table > 0, table * table / np.where(expected > 0, expected, 1.0), 0.0)
            chi2 = np.maximum(n * (ratio.sum(axis=1) - 1.0), 0.0)
            dof = np.minimum(n_rows_present, n_cols_present) - 1
            v = np.sqrt(chi2 / (n * np.where(single, 1, dof)))
            return np.where(single, 0.0, np.minimum(v, 1.0))

    return kernel


def _eta_kernel(x: FloatArray, a: IntArray) -> Kernel:
    """Kernel computing the correlation ratio of ``x`` across the groups ``a`` per replicate."""
    present = ~np.isnan(x)
    index = np.flatnonzero(present)
    values = x[index]
    centered = values - (values.mean() if values.size else 0.0)
    groups = a[index]
    n_groups = int(groups.max()) + 1 if groups.size else 1
    k = groups.shape[0]
    design = sp.csr_array(
        (
            np.concatenate([np.ones(k), centered, centered * centered]),
            (
                np.tile(np.arange(k), 3),
                np.concatenate([groups, groups + n_groups, np.full(k, 2 * n_groups)]),
            ),
        ),
        shape=(k, 2 * n_groups + 1),
    )

    def kernel(w_all: FloatArray) -> FloatArray:
        w = w_all[:, index]
        sums = _product(w, design)
        weight_g, sum_g = sums[:, :n_groups], sums[:, n_groups : 2 * n_groups]
        sum_squares = sums[:, 2 * n_groups]
        total_weight = weight_g.sum(axis=1)
        total_sum = sum_g.sum(axis=1)
        positive = w > 0
        low = np.where(positive, values, np.inf).min(axis=1, initial=np.inf)
        high = np.where(positive, values, -np.inf).max(axis=1, initial=-np.inf)
        constant = ~(high > low)
        with np.errstate(invalid="ignore", divide="ignore"):
            grand = total_sum * total_sum / total_weight
            total = sum_squares - grand
            between = np.where(weight_g > 0, sum_g * sum_g / weight_g, 0.0).sum(axis=1) - grand
            eta = np.sqrt(np.clip(between / total, 0.0, 1.0))
        return np.where(constant, 0.0, eta)

    return kernel
