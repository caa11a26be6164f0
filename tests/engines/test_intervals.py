"""The closed-form intervals and the count bootstrap against independent oracles.

Wilson, Newcombe and Katz are compared with statsmodels (used only here, as an oracle); the
DeLong AUC with scikit-learn and its variance with a slow O(n1 * n0) implementation of DeLong's
structural components; the percentile intervals with ``np.nanquantile``; the multinomial
replicates with their known moments.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
import pytest
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from rulecheck.engines._analytic import (
    _midranks,
    delong,
    delong_interval,
    katz,
    newcombe,
    wilson,
    z_value,
)
from rulecheck.engines._resample import (
    multinomial_replicates,
    percentile_interval,
    percentile_intervals,
    undefined_share,
)

CONFIDENCES = [0.9, 0.95, 0.99]
SIZES = [1, 2, 7, 30, 500, 10_000]


def _counts(n: int) -> list[int]:
    return sorted({k for k in (0, 1, 2, n // 3, n // 2, n - 1, n) if 0 <= k <= n})


def _one_sample_grid() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    pairs = [(k, n) for n in SIZES for k in _counts(n)]
    k, n = np.array(pairs, dtype=np.float64).T
    return k, n


def _two_sample_grid() -> tuple[npt.NDArray[np.float64], ...]:
    k, n = _one_sample_grid()
    i, j = np.meshgrid(np.arange(k.size), np.arange(k.size), indexing="ij")
    return k[i.ravel()], n[i.ravel()], k[j.ravel()], n[j.ravel()]


@pytest.mark.parametrize("confidence", CONFIDENCES)
def test_z_value(confidence: float) -> None:
    from scipy.stats import norm

    assert z_value(confidence) == pytest.approx(norm.isf((1 - confidence) / 2), abs=1e-12)


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5, 95.0])
def test_z_value_rejects_impossible_levels(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        z_value(confidence)


@pytest.mark.parametrize("confidence", CONFIDENCES)
def test_wilson_equals_statsmodels(confidence: float) -> None:
    k, n = _one_sample_grid()
    low, high = wilson(k, n, confidence)
    expected_low, expected_high = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    assert low.dtype == np.float64
    assert low.shape == k.shape
    np.testing.assert_allclose(low, expected_low, rtol=0, atol=1e-9)
    np.testing.assert_allclose(high, expected_high, rtol=0, atol=1e-9)
    assert np.all((low >= 0) & (low <= k / n) & (k / n <= high) & (high <= 1))


def test_wilson_scalars_give_0d_arrays_and_broadcast() -> None:
    low, high = wilson(3, 10, 0.95)
    assert isinstance(low, np.ndarray)
    assert low.shape == ()
    assert low.dtype == np.float64
    low, high = wilson(np.array([[0], [5]]), np.array([10, 20, 30]), 0.95)
    assert low.shape == high.shape == (2, 3)
    assert float(low[0, 0]) == 0.0
    assert np.all(np.isnan(wilson(0, 0, 0.95)))


@pytest.mark.parametrize("confidence", CONFIDENCES)
def test_newcombe_equals_statsmodels(confidence: float) -> None:
    k1, n1, k2, n2 = _two_sample_grid()
    low, high = newcombe(k1, n1, k2, n2, confidence)
    expected_low, expected_high = confint_proportions_2indep(
        k1, n1, k2, n2, method="newcomb", compare="diff", alpha=1 - confidence
    )
    assert low.shape == k1.shape
    np.testing.assert_allclose(low, expected_low, rtol=0, atol=1e-9)
    np.testing.assert_allclose(high, expected_high, rtol=0, atol=1e-9)
    diff = k1 / n1 - k2 / n2
    assert np.all((low >= -1 - 1e-12) & (low <= diff) & (diff <= high) & (high <= 1 + 1e-12))


@pytest.mark.parametrize("confidence", CONFIDENCES)
def test_katz_equals_statsmodels_log_where_defined(confidence: float) -> None:
    # statsmodels' method="log" for compare="ratio" is the plain Katz log interval (its
    # "log-adjusted" default adds 0.5 to the counts; "log" adds nothing), checked in its source
    # and against the hand formula below.
    k1, n1, k2, n2 = _two_sample_grid()
    low, high = katz(k1, n1, k2, n2, confidence)
    defined = (k1 > 0) & (k2 > 0)
    assert np.all(np.isnan(low[~defined]))
    assert np.all(np.isnan(high[~defined]))
    assert not np.any(np.isnan(low[defined]) | np.isnan(high[defined]))
    args = (k1[defined], n1[defined], k2[defined], n2[defined])
    expected_low, expected_high = confint_proportions_2indep(
        *args, method="log", compare="ratio", alpha=1 - confidence
    )
    np.testing.assert_allclose(low[defined], expected_low, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(high[defined], expected_high, rtol=1e-12, atol=1e-9)
    a, m, b, n = args
    ratio = (a / m) / (b / n)
    half = z_value(confidence) * np.sqrt(1 / a - 1 / m + 1 / b - 1 / n)
    np.testing.assert_allclose(low[defined], ratio * np.exp(-half), rtol=1e-12)
    np.testing.assert_allclose(high[defined], ratio * np.exp(half), rtol=1e-12)


def test_katz_scalar_zero_count_is_nan() -> None:
    low, high = katz(0, 50, 4, 50, 0.95)
    assert low.shape == ()
    assert np.isnan(low)
    assert np.isnan(high)
    low, high = katz(4, 50, 0, 50, 0.95)
    assert np.isnan(low)
    assert np.isnan(high)


def _slow_delong(y: npt.NDArray[np.bool_], s: npt.NDArray[np.float64]) -> tuple[float, float]:
    """DeLong's structural components from all n1 * n0 pairs (ties count 0.5)."""
    x, z = s[y], s[~y]
    psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return float(psi.mean()), float(v10.var(ddof=1) / x.size + v01.var(ddof=1) / z.size)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize(("size", "share"), [(10, 0.5), (200, 0.1), (1_500, 0.4), (3_000, 0.97)])
def test_delong_equals_sklearn_and_the_slow_components(size: int, share: float, ties: bool) -> None:
    rng = np.random.default_rng(size + ties)
    y = rng.random(size) < share
    y[:2] = [True, False]
    scores = rng.normal(0.8 * y, 1.0)
    if ties:
        scores = np.round(scores, 1)
    auc, variance = delong(y, scores)
    assert abs(auc - roc_auc_score(y, scores)) < 1e-12
    slow_auc, slow_variance = _slow_delong(y, scores)
    assert abs(auc - slow_auc) < 1e-12
    assert abs(variance - slow_variance) < 1e-12
    assert variance > 0


def test_midranks_equal_scipy() -> None:
    values = np.round(np.random.default_rng(1).normal(size=1_000), 1)
    np.testing.assert_array_equal(_midranks(values), rankdata(values, method="average"))


def test_delong_rejects_one_class_and_bad_input() -> None:
    with pytest.raises(ValueError, match="both classes"):
        delong(np.ones(5, dtype=bool), np.arange(5.0))
    with pytest.raises(ValueError, match="both classes"):
        delong(np.zeros(5, dtype=bool), np.arange(5.0))
    with pytest.raises(ValueError, match="entries"):
        delong([True, False], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="finite"):
        delong([True, False], [0.1, np.nan])


def test_delong_interval() -> None:
    rng = np.random.default_rng(7)
    y = rng.random(400) < 0.3
    scores = rng.normal(y.astype(float), 1.0)
    auc, variance = delong(y, scores)
    low, high = delong_interval(y, scores, 0.95)
    half = z_value(0.95) * np.sqrt(variance)
    assert low == pytest.approx(auc - half, abs=1e-15)
    assert high == pytest.approx(auc + half, abs=1e-15)
    # perfect separation: zero variance, the interval is the point 1, clipped
    assert delong_interval([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 0.95) == (1.0, 1.0)
    low, high = delong_interval([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.9, 0.3, 0.8, 0.95], 0.99)
    assert 0.0 <= low < high <= 1.0


CELLS = np.array([[50, 10, 5, 35], [0, 0, 0, 0], [1, 0, 0, 0], [3, 0, 7, 2]], dtype=np.int64)


def test_multinomial_replicates_shape_sums_and_empty_group() -> None:
    draws = multinomial_replicates(CELLS, 300, np.random.default_rng(3))
    assert draws.shape == (300, 4, 4)
    assert draws.dtype == np.int64
    np.testing.assert_array_equal(draws.sum(axis=2), np.broadcast_to(CELLS.sum(axis=1), (300, 4)))
    assert np.all(draws[:, 1] == 0)
    assert np.all(draws[:, 2] == [1, 0, 0, 0])
    assert np.all(draws[:, :, CELLS.sum(axis=0) == 0] == 0)  # an empty cell is never drawn
    assert np.all(draws >= 0)


def test_multinomial_replicates_are_deterministic() -> None:
    first = multinomial_replicates(CELLS, 50, np.random.default_rng(11))
    again = multinomial_replicates(CELLS, 50, np.random.default_rng(11))
    other = multinomial_replicates(CELLS, 50, np.random.default_rng(12))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_multinomial_replicates_have_the_bootstrap_moments() -> None:
    replicates = 20_000
    cells = np.array([[400, 30, 20, 50], [3, 9, 1, 17], [0, 0, 0, 0]], dtype=np.int64)
    draws = multinomial_replicates(cells, replicates, np.random.default_rng(5))
    sizes = cells.sum(axis=1, keepdims=True)
    shares = cells / np.maximum(sizes, 1)
    variance = sizes * shares * (1 - shares)  # the multinomial (= row bootstrap) cell variance
    # mean: within 5 standard errors of the cell counts
    tolerance = 5 * np.sqrt(variance / replicates) + 1e-12
    assert np.all(np.abs(draws.mean(axis=0) - cells) <= tolerance)
    # variance: within 6 standard errors (normal approximation, sd of s^2 ~ var * sqrt(2 / B))
    observed = draws.var(axis=0, ddof=1)
    assert np.all(np.abs(observed - variance) <= 6 * variance * np.sqrt(2 / replicates) + 1e-12)
    # cells of one group are negatively correlated as in a multinomial: cov = -n p_i p_j
    covariance = np.cov(draws[:, 0, 0], draws[:, 0, 3])[0, 1]
    expected = -500 * shares[0, 0] * shares[0, 3]
    assert covariance == pytest.approx(expected, rel=0.1)


@pytest.mark.parametrize(
    "cells",
    [np.array([1, 2, 3]), np.zeros((2, 0)), np.array([[1, -1]]), np.array([[1.5, 2.0]])],
    ids=["1-d", "no cells", "negative", "fractional"],
)
def test_multinomial_replicates_reject_bad_cells(cells: npt.NDArray[np.float64]) -> None:
    with pytest.raises(ValueError, match="cells"):
        multinomial_replicates(cells, 10, np.random.default_rng(0))


def test_multinomial_replicates_reject_no_replicates() -> None:
    with pytest.raises(ValueError, match="replicates"):
        multinomial_replicates(CELLS, 0, np.random.default_rng(0))


@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.95, 0.99])
def test_percentile_intervals_equal_nanquantile(confidence: float) -> None:
    rng = np.random.default_rng(2)
    values = rng.normal(size=(1_001, 6))
    values[rng.random(values.shape) < 0.2] = np.nan
    values[:, 4] = np.nan  # all undefined
    values[1:, 5] = np.nan  # one defined replicate
    low, high = percentile_intervals(values, confidence)
    tail = (1 - confidence) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the all-NaN column
        expected = np.nanquantile(values, [tail, 1 - tail], axis=0, method="linear")
    np.testing.assert_allclose(low, expected[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(high, expected[1], rtol=0, atol=1e-12)
    assert np.isnan(low[4])
    assert np.isnan(high[4])
    assert low[5] == high[5] == values[0, 5]


def test_percentile_interval_one_dimensional() -> None:
    values = np.random.default_rng(4).uniform(size=999)
    low, high = percentile_interval(values, 0.95)
    expected = np.nanquantile(values, [0.025, 0.975], method="linear")
    assert (low, high) == pytest.approx(tuple(expected), abs=1e-15)  # numpy's index rounds apart
    assert isinstance(low, float)
    low, high = percentile_interval(np.full(10, np.nan), 0.95)
    assert np.isnan(low)
    assert np.isnan(high)
    with pytest.raises(ValueError, match="1-D"):
        percentile_interval(np.zeros((3, 2)), 0.95)


def test_undefined_share() -> None:
    assert undefined_share(np.array([1.0, np.nan, 2.0, np.nan, np.nan])) == 0.6
    assert undefined_share(np.zeros((4, 3))) == 0.0
    with pytest.raises(ValueError, match="no replicates"):
        undefined_share(np.array([]))
