"""Tests of ``rulecheck.engines._rowboot`` against scikit-learn, scipy, numpy and hand oracles.

Every replicate is checked: the oracle is applied with ``sample_weight=`` the replicate's Poisson
counts (times the sample weights), or to the dataset with each row repeated by its count.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from scipy.stats.contingency import association as scipy_association
from scipy.stats.contingency import crosstab
from sklearn.metrics import log_loss, normalized_mutual_info_score, roc_auc_score

from rulecheck.engines._rowboot import (
    PoissonWeights,
    association_replicates,
    auc_replicates,
    group_means,
    group_ratio_of_sums,
    group_sums,
    log_loss_replicates,
    mean_abs_replicates,
    share_replicates,
)

TOL = 1e-9
N = 240
B = 40


def counts_of(pw: PoissonWeights) -> npt.NDArray[np.float64]:
    return np.concatenate([w for _, w in pw.blocks()], axis=0)


@pytest.fixture
def data() -> dict[str, npt.NDArray[np.generic]]:
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 3, N)
    codes[:2] = 3  # a group of two rows: absent from some replicates
    return {
        "codes": codes,
        "values": rng.normal(size=N),
        "weights": rng.integers(1, 4, N).astype(np.float64) * 0.5,
        "y": rng.random(N) < 0.4,
        "scores": np.round(rng.random(N), 1),  # many ties
        "proba": np.r_[0.0, 1.0, 0.0, 1.0, np.round(rng.random(N - 4), 2)],  # 0 and 1 clipped
        "x": rng.integers(0, 4, N),
        "shap": rng.normal(size=(N, 3)) * np.array([1.0, 2.0, 0.5]),
    }


@pytest.fixture
def pw() -> PoissonWeights:
    return PoissonWeights(N, B, seed=11, block_size=7)


def test_weights_are_poisson_counts(pw: PoissonWeights) -> None:
    w = counts_of(pw)
    assert w.shape == (B, N)
    assert np.array_equal(w, np.round(w))
    assert abs(w.mean() - 1.0) < 0.05
    assert abs(w.var() - 1.0) < 0.1
    assert pw.scale() == 1.0
    assert not pw.subsampled
    assert np.array_equal(pw.rows, np.arange(N))


def test_group_means_every_replicate(pw: PoissonWeights, data: dict[str, np.ndarray]) -> None:
    codes, values, sw = data["codes"], data["values"], data["weights"]
    got = group_means(pw, codes, 5, values, weights=sw)
    w = counts_of(pw)
    assert got.shape == (B, 5)
    assert np.isnan(got[:, 4]).all()  # an empty group
    absent = 0
    for r in range(B):
        for g in range(4):
            mask = codes == g
            total = (w[r] * sw)[mask].sum()
            if total == 0:
                absent += 1
                assert np.isnan(got[r, g])
            else:
                expected = np.average(values[mask], weights=(w[r] * sw)[mask])
                assert got[r, g] == pytest.approx(expected, abs=TOL)
    assert absent > 0  # the two-row group is missing from at least one replicate


def test_group_ratio_and_sums(pw: PoissonWeights, data: dict[str, np.ndarray]) -> None:
    codes, sw, y = data["codes"], data["weights"], data["y"]
    predicted = data["scores"] > 0.5
    fp, negative = (predicted & ~y).astype(float), (~y).astype(float)
    ratio = group_ratio_of_sums(pw, codes, 4, fp, negative, weights=sw)
    sums = group_sums(pw, codes, 4, fp, weights=sw)
    w = counts_of(pw)
    for r in range(B):
        for g in range(4):
            mask = codes == g
            num = (w[r] * sw * fp)[mask].sum()
            den = (w[r] * sw * negative)[mask].sum()
            assert sums[r, g] == pytest.approx(num, abs=TOL)
            if den == 0:
                assert np.isnan(ratio[r, g])
            else:
                assert ratio[r, g] == pytest.approx(num / den, abs=TOL)


def test_auc_every_replicate(pw: PoissonWeights, data: dict[str, np.ndarray]) -> None:
    y, scores, sw = data["y"], data["scores"], data["weights"]
    assert np.unique(scores).size < N // 10
    got = auc_replicates(pw, y, scores, weights=sw)
    w = counts_of(pw)
    for r in range(B):
        expected = roc_auc_score(y, scores, sample_weight=w[r] * sw)
        assert got[r] == pytest.approx(expected, abs=TOL)


def test_auc_forced_weights_and_nan_without_a_class() -> None:
    pw = PoissonWeights(4, 4, seed=0)
    pw._counts = np.array([[1, 0, 2, 0], [0, 1, 0, 1], [1, 1, 1, 1], [1, 1, 0, 0]], dtype=np.uint8)
    y = np.array([True, True, False, False])
    scores = np.array([0.2, 0.2, 0.2, 0.1])
    got = auc_replicates(pw, y, scores)
    assert got[0] == pytest.approx(0.5)  # the only pair is a tie
    assert got[0] == pytest.approx(roc_auc_score(y, scores, sample_weight=[1, 0, 2, 0]))
    assert got[1] == pytest.approx(1.0)
    assert got[2] == pytest.approx(0.75)
    assert np.isnan(got[3])  # no negative weight


def test_log_loss_every_replicate(pw: PoissonWeights, data: dict[str, np.ndarray]) -> None:
    y, proba, sw = data["y"], data["proba"], data["weights"]
    assert (proba == 0).any()
    assert (proba == 1).any()
    got = log_loss_replicates(pw, y, proba, weights=sw)
    assert np.isfinite(got).all()
    w = counts_of(pw)
    for r in range(B):
        expected = log_loss(y, proba, sample_weight=w[r] * sw)
        assert got[r] == pytest.approx(expected, abs=TOL)


def test_log_loss_clips_like_sklearn() -> None:
    pw = PoissonWeights(2, 1, seed=0)
    pw._counts = np.ones((1, 2), dtype=np.uint8)
    y, p = np.array([True, False]), np.array([0.0, 1.0])
    expected = log_loss(y, p)
    assert np.isfinite(expected)
    assert log_loss_replicates(pw, y, p)[0] == pytest.approx(expected, abs=TOL)


def test_mean_abs_and_shares(pw: PoissonWeights, data: dict[str, np.ndarray]) -> None:
    shap, codes = data["shap"], data["codes"]
    a = np.abs(shap)
    w = counts_of(pw)
    overall = mean_abs_replicates(pw, shap)
    shares = share_replicates(pw, shap)
    by_group = mean_abs_replicates(pw, shap, codes, 4)
    group_shares = share_replicates(pw, shap, codes, 4)
    assert overall.shape == (B, 3)
    assert by_group.shape == (B, 4, 3)
    for r in range(B):
        expected = np.average(a, axis=0, weights=w[r])
        assert overall[r] == pytest.approx(expected, abs=TOL)
        assert shares[r] == pytest.approx(expected / expected.sum(), abs=TOL)
        for g in range(4):
            mask = codes == g
            if w[r][mask].sum() == 0:
                assert np.isnan(by_group[r, g]).all()
                assert np.isnan(group_shares[r, g]).all()
                continue
            expected = np.average(a[mask], axis=0, weights=w[r][mask])
            assert by_group[r, g] == pytest.approx(expected, abs=TOL)
            assert group_shares[r, g] == pytest.approx(expected / expected.sum(), abs=TOL)


def test_nmi_every_replicate(pw: PoissonWeights, data: dict[str, np.ndarray]) -> None:
    x, codes = data["x"], data["codes"]
    got = association_replicates(pw, x, codes, "nmi")
    w = counts_of(pw).astype(np.int64)
    for r in range(B):
        expected = normalized_mutual_info_score(
            np.repeat(codes, w[r]), np.repeat(x, w[r]), average_method="arithmetic"
        )
        assert got[r] == pytest.approx(expected, abs=TOL)


def test_cramers_v_every_replicate(pw: PoissonWeights, data: dict[str, np.ndarray]) -> None:
    x, codes = data["x"], data["codes"]
    got = association_replicates(pw, x, codes, "cramers_v")
    w = counts_of(pw).astype(np.int64)
    for r in range(B):
        table = crosstab(np.repeat(x, w[r]), np.repeat(codes, w[r])).count
        expected = scipy_association(table, method="cramer", correction=False)
        assert got[r] == pytest.approx(expected, abs=TOL)


def test_association_degenerate_conventions() -> None:
    pw = PoissonWeights(4, 3, seed=0)
    # replicate 0: one x value and one attribute value; 1: one x value, two attribute values
    pw._counts = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 1, 1]], dtype=np.uint8)
    x = np.array([0, 0, 0, 1])
    a = np.array([0, 0, 1, 1])
    nmi = association_replicates(pw, x, a, "nmi")
    assert nmi[0] == normalized_mutual_info_score([0, 0], [0, 0]) == 1.0
    assert nmi[1] == normalized_mutual_info_score([0, 1], [0, 0]) == 0.0
    assert nmi[2] == pytest.approx(normalized_mutual_info_score(a, x), abs=TOL)
    v = association_replicates(pw, x, a, "cramers_v")
    assert v[0] == 0.0
    assert v[1] == 0.0
    assert v[2] == pytest.approx(scipy_association(crosstab(x, a).count, method="cramer"))
    eta = association_replicates(pw, np.array([1.0, 1.0, 1.0, 2.0]), a, "correlation_ratio")
    assert eta[0] == 0.0
    assert eta[1] == 0.0
    assert eta[2] > 0


def hand_correlation_ratio(x: np.ndarray, groups: np.ndarray) -> float:
    keep = ~np.isnan(x)
    x, groups = x[keep], groups[keep]
    total = float(((x - x.mean()) ** 2).sum())
    if total == 0.0:
        return 0.0
    between = sum(
        (groups == g).sum() * (x[groups == g].mean() - x.mean()) ** 2 for g in np.unique(groups)
    )
    return float(np.sqrt(between / total))


def test_correlation_ratio_every_replicate(pw: PoissonWeights, data: dict[str, np.ndarray]) -> None:
    codes = data["codes"]
    x = data["values"] + 0.4 * codes + 100.0
    x[5:15] = np.nan
    got = association_replicates(pw, x, codes, "correlation_ratio")
    w = counts_of(pw).astype(np.int64)
    for r in range(B):
        expected = hand_correlation_ratio(np.repeat(x, w[r]), np.repeat(codes, w[r]))
        assert got[r] == pytest.approx(expected, abs=TOL)


def test_determinism_and_pairing(data: dict[str, np.ndarray]) -> None:
    a = PoissonWeights(N, 150, seed=5)
    b = PoissonWeights(N, 150, seed=5, block_size=13)
    c = PoissonWeights(N, 150, seed=6)
    assert np.array_equal(counts_of(a), counts_of(b))
    assert not np.array_equal(counts_of(a), counts_of(c))
    # the weights of a replicate do not depend on the number of replicates
    assert np.array_equal(counts_of(PoissonWeights(N, 70, seed=5)), counts_of(a)[:70])
    assert np.array_equal(counts_of(a), counts_of(PoissonWeights(N, 150, seed=5)))  # pairing
    statistics: list[Callable[[PoissonWeights], npt.NDArray[np.float64]]] = [
        lambda p: group_means(p, data["codes"], 4, data["values"], data["weights"]),
        lambda p: group_sums(p, data["codes"], 4, data["values"], data["weights"]),
        lambda p: auc_replicates(p, data["y"], data["scores"]),
        lambda p: log_loss_replicates(p, data["y"], data["proba"], data["weights"]),
        lambda p: share_replicates(p, data["shap"]),
        lambda p: share_replicates(p, data["shap"], data["codes"], 4),
        lambda p: association_replicates(p, data["x"], data["codes"], "nmi"),
        lambda p: association_replicates(p, data["x"], data["codes"], "cramers_v"),
        lambda p: association_replicates(p, data["values"], data["codes"], "correlation_ratio"),
    ]
    for block in (1, 13, 64, 150):
        other = PoissonWeights(N, 150, seed=5, block_size=block)
        for statistic in statistics:
            assert np.array_equal(statistic(a), statistic(other), equal_nan=True)
    blocks = [w.shape[0] for _, w in PoissonWeights(N, 150, seed=5, block_size=13).blocks()]
    assert sum(blocks) == 150
    assert max(blocks) == 13


def test_subsample_rows() -> None:
    pw = PoissonWeights(50_000, 10, seed=1, max_rows=2_000)
    assert pw.subsampled
    assert pw.rows.dtype == np.int64
    assert pw.rows.shape == (2_000,)
    assert np.array_equal(pw.rows, np.unique(pw.rows))
    assert pw.rows.min() >= 0
    assert pw.rows.max() < 50_000
    assert pw.scale() == pytest.approx(np.sqrt(2_000 / 50_000))
    assert counts_of(pw).shape == (10, 2_000)
    assert np.array_equal(PoissonWeights(50_000, 10, seed=1, max_rows=2_000).rows, pw.rows)


def test_subsample_rescaling_matches_full_bootstrap() -> None:
    n, replicates = 200_000, 1000
    rng = np.random.default_rng(3)
    values = rng.normal(loc=2.0, size=n)
    codes = np.zeros(n, dtype=np.int64)
    full = group_means(PoissonWeights(n, replicates, seed=9, max_rows=n), codes, 1, values)[:, 0]
    sub_pw = PoissonWeights(n, replicates, seed=9, max_rows=20_000)
    sub = group_means(sub_pw, codes, 1, values)[:, 0]
    assert sub.std() == pytest.approx(full.std(), rel=0.10)
    assert sub.std() == pytest.approx(1 / np.sqrt(n), rel=0.10)
    assert abs(sub.mean() - values.mean()) < 4 * sub.std() / np.sqrt(replicates)
    # exactly the formula: full estimate + sqrt(m/n) * (sub replicate - sub estimate)
    manual = values.mean() + sub_pw.scale() * (
        counts_of(sub_pw) @ values[sub_pw.rows] / counts_of(sub_pw).sum(axis=1)
        - values[sub_pw.rows].mean()
    )
    assert sub == pytest.approx(manual, abs=TOL)


def test_subsample_rescales_auc_and_shares() -> None:
    n = 30_000
    rng = np.random.default_rng(4)
    y = rng.random(n) < 0.3
    scores = y + rng.normal(size=n)
    pw = PoissonWeights(n, 20, seed=2, max_rows=3_000)
    got = auc_replicates(pw, y, scores)
    w = counts_of(pw)
    sub_y, sub_s = y[pw.rows], scores[pw.rows]
    theta_full, theta_sub = roc_auc_score(y, scores), roc_auc_score(sub_y, sub_s)
    for r in range(20):
        expected = theta_full + pw.scale() * (
            roc_auc_score(sub_y, sub_s, sample_weight=w[r]) - theta_sub
        )
        assert got[r] == pytest.approx(expected, abs=TOL)
    shap = np.abs(rng.normal(size=(n, 2)))
    shares = share_replicates(pw, shap)
    full_share = shap.mean(0) / shap.mean(0).sum()
    sub_share = shap[pw.rows].mean(0) / shap[pw.rows].mean(0).sum()
    rep = w @ shap[pw.rows]
    rep = rep / rep.sum(1, keepdims=True)
    assert shares == pytest.approx(full_share + pw.scale() * (rep - sub_share), abs=TOL)


def test_input_validation() -> None:
    pw = PoissonWeights(3, 2, seed=0)
    with pytest.raises(ValueError, match="codes"):
        group_means(pw, np.array([0, 1, 5]), 2, np.ones(3))
    with pytest.raises(ValueError, match="values"):
        group_means(pw, np.array([0, 1, 1]), 2, np.ones(4))
    with pytest.raises(ValueError, match="seed"):
        PoissonWeights(3, 2, seed=-1)
    with pytest.raises(ValueError, match="probabilities"):
        log_loss_replicates(pw, np.array([True, False, True]), np.array([0.1, 1.2, 0.3]))


def test_speed_report() -> None:
    n = 1_000_000
    rng = np.random.default_rng(0)
    y = rng.random(n) < 0.3
    scores = y + rng.normal(size=n)
    codes = rng.integers(0, 8, n)
    pw = PoissonWeights(n, 1000, seed=1, max_rows=20_000)
    start = time.perf_counter()
    pw.counts()
    generated = time.perf_counter() - start
    start = time.perf_counter()
    auc_replicates(pw, y, scores)
    auc = time.perf_counter() - start
    start = time.perf_counter()
    group_means(pw, codes, 8, scores)
    means = time.perf_counter() - start
    print(f"\nweights {generated:.2f}s, auc_replicates {auc:.2f}s, group_means {means:.2f}s")
