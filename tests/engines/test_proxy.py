"""Tests of ``rulecheck.engines.proxy`` against scikit-learn, scipy and hand computations."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats.contingency import association as scipy_association
from scipy.stats.contingency import crosstab
from sklearn.metrics import normalized_mutual_info_score
from threadpoolctl import threadpool_limits

from rulecheck.engines.proxy import (
    Association,
    association,
    associations,
    correlation_ratio,
    cramers_v,
    is_categorical,
    normalized_mutual_information,
    predictability_auc,
)
from rulecheck.errors import InputError

TOL = 1e-12


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    """Small models: OpenMP threads only add contention on a busy machine."""
    with threadpool_limits(limits=1):
        yield


def _planted(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """A protected attribute, a proxy of it with 5% of values replaced at random, and noise."""
    rng = np.random.default_rng(seed)
    groups = np.array(["black", "white", "asian"])
    protected = pd.Series(rng.choice(groups, n, p=[0.3, 0.5, 0.2]), name="race")
    proxy = protected.to_numpy().copy()
    noisy = rng.random(n) < 0.05
    proxy[noisy] = rng.choice(groups, noisy.sum())
    codes = pd.Series(pd.Categorical(protected)).cat.codes.to_numpy()
    X = pd.DataFrame(
        {
            "zip_group": pd.Series(proxy, dtype="str").map(
                {"black": "z1", "white": "z2", "asian": "z3"}
            ),
            "zip_income": codes + rng.normal(scale=0.15, size=n),
            "shoe_colour": pd.Series(rng.choice(["red", "blue", "green", "grey"], n), dtype="str"),
            "height": rng.normal(170, 10, n),
        }
    )
    return X, protected


codes_strategy = st.lists(st.integers(0, 3), min_size=8, max_size=60)


def _series(codes: list[int], labels: str, name: str) -> pd.Series:
    return pd.Series([labels[c] for c in codes], name=name, dtype="str")


# --- oracles ------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(feature=codes_strategy, protected=codes_strategy)
def test_nmi_equals_scikit_learn(feature: list[int], protected: list[int]) -> None:
    n = min(len(feature), len(protected))
    protected = protected[:n]
    if len(set(protected)) < 2:
        protected[0] = (protected[0] + 1) % 4
    f, a = _series(feature[:n], "pqrs", "f"), _series(protected, "abcd", "a")
    expected = normalized_mutual_info_score(a, f, average_method="arithmetic")
    assert normalized_mutual_information(f, a) == pytest.approx(expected, abs=TOL)
    assert association(f, a) == (pytest.approx(expected, abs=TOL), "nmi")


@settings(max_examples=30, deadline=None)
@given(feature=codes_strategy, protected=codes_strategy)
def test_cramers_v_equals_scipy(feature: list[int], protected: list[int]) -> None:
    n = min(len(feature), len(protected))
    protected = protected[:n]
    if len(set(protected)) < 2:
        protected[0] = (protected[0] + 1) % 4
    f, a = _series(feature[:n], "pqrs", "f"), _series(protected, "abcd", "a")
    table = crosstab(f.to_numpy(), a.to_numpy()).count
    expected = 0.0 if min(table.shape) < 2 else scipy_association(table, method="cramer")
    assert cramers_v(f, a) == pytest.approx(expected, abs=TOL)
    measured = association(f, a, measure="cramers_v")
    assert measured.measure == "cramers_v"


@settings(max_examples=30, deadline=None)
@given(
    # Values whose squares are subnormal (|x| < 1e-150) lose digits in any sum of squares, the
    # hand computation's included: they round to 0 here.
    values=st.lists(
        st.floats(-1e3, 1e3, allow_nan=False).map(lambda v: 0.0 if abs(v) < 1e-150 else v),
        min_size=12,
        max_size=60,
    ),
    seed=st.integers(0, 1000),
)
def test_correlation_ratio_equals_hand_computation(values: list[float], seed: int) -> None:
    x = pd.Series(values, name="x")
    groups = np.random.default_rng(seed).choice(["a", "b", "c"], len(x))
    groups[:2] = ["a", "b"]
    a = pd.Series(groups, name="a")
    mean = x.mean()
    total = ((x - mean) ** 2).sum()
    between = sum(len(g) * (g.mean() - mean) ** 2 for _, g in x.groupby(a))
    expected = 0.0 if total == 0 else float(np.sqrt(between / total))
    assert correlation_ratio(x, a) == pytest.approx(expected, abs=1e-9)


def test_correlation_ratio_leaves_out_missing_feature_values() -> None:
    x = pd.Series([1.0, 2.0, np.nan, 4.0, 5.0, np.nan], name="x")
    a = pd.Series(["a", "a", "b", "b", "b", "a"], name="a")
    kept = x.notna()
    assert correlation_ratio(x, a) == correlation_ratio(
        x[kept].reset_index(drop=True), a[kept].reset_index(drop=True)
    )


def test_missing_category_is_a_category_of_its_own() -> None:
    feature = pd.Series(["x", None, "x", None, "y", "y"], dtype="str", name="f")
    protected = pd.Series(["a", "b", "a", "b", "c", "c"], name="a")
    assert association(feature, protected).score == pytest.approx(1.0)


# --- planted proxies ----------------------------------------------------------------------------


def test_planted_proxy_is_found_and_noise_is_not() -> None:
    X, protected = _planted()
    nmi = associations(X, protected)
    cramer = associations(X, protected, categorical_measure="cramers_v")

    assert nmi["zip_group"].measure == "nmi"
    assert nmi["zip_group"].score > 0.7
    assert cramer["zip_group"].score > 0.7
    assert nmi["zip_income"].measure == "correlation_ratio"
    assert nmi["zip_income"].score > 0.7
    assert nmi["shoe_colour"].score < 0.05
    assert cramer["shoe_colour"].score < 0.05
    assert nmi["height"].score < 0.05


def test_planted_proxy_predicts_the_attribute_and_noise_does_not() -> None:
    X, protected = _planted(1500)
    assert predictability_auc(X[["zip_group"]], protected) > 0.9
    assert predictability_auc(X[["zip_group"]], protected, positive="asian") > 0.9
    assert predictability_auc(X[["shoe_colour", "height"]], protected) == pytest.approx(
        0.5, abs=0.05
    )


def test_predictability_is_deterministic_for_a_seed() -> None:
    X, protected = _planted(600)
    first = predictability_auc(X, protected, seed=3, cv=3)
    assert predictability_auc(X, protected, seed=3, cv=3) == first


def test_binary_auc_does_not_depend_on_the_positive_group() -> None:
    X, protected = _planted(600)
    binary = protected.where(protected == "white", "other")
    assert predictability_auc(X, binary, positive="white", cv=3) == pytest.approx(
        predictability_auc(X, binary, positive="other", cv=3)
    )


# --- categorical or numeric ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("feature", "categorical"),
    [
        (pd.Series(["a", "b"] * 10, dtype="str"), True),
        (pd.Series(pd.Categorical([1.5, 2.5] * 10)), True),
        (pd.Series([True, False] * 10), True),
        (pd.Series(np.arange(20) % 10), True),  # ten distinct values
        (pd.Series(np.arange(20) % 11), False),
        (pd.Series(np.linspace(0, 1, 20)), False),
    ],
)
def test_categorical_rule(feature: pd.Series, categorical: bool) -> None:
    assert is_categorical(feature) is categorical
    protected = pd.Series(["a", "b"] * 10)
    expected = "nmi" if categorical else "correlation_ratio"
    assert association(feature, protected).measure == expected


# --- errors -------------------------------------------------------------------------------------


def test_missing_protected_values_name_the_column_and_count() -> None:
    protected = pd.Series(["a", None, "b", None], name="sex")
    with pytest.raises(InputError, match="protected attribute 'sex' has 2 missing values") as info:
        association(pd.Series([1.0, 2.0, 3.0, 4.0]), protected)
    assert info.value.subject == "sex"
    with pytest.raises(InputError, match="'sex' has 2 missing values"):
        predictability_auc(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}), protected)


def test_single_group_is_refused() -> None:
    with pytest.raises(InputError, match="needs at least two groups; it has 1"):
        associations(pd.DataFrame({"x": [1, 2]}), pd.Series(["a", "a"], name="sex"))


def test_length_mismatch_is_refused() -> None:
    with pytest.raises(InputError, match="X has 2 rows but the protected attribute 'sex' has 3"):
        associations(pd.DataFrame({"x": [1, 2]}), pd.Series(["a", "b", "a"], name="sex"))


def test_correlation_ratio_of_text_is_refused() -> None:
    with pytest.raises(InputError, match="needs a numeric feature; 'job'"):
        association(
            pd.Series(["a", "b"], name="job"), pd.Series(["x", "y"]), measure="correlation_ratio"
        )


def test_bad_measure_is_refused() -> None:
    with pytest.raises(InputError, match="The 'measure' parameter of association must be one of"):
        association(pd.Series([1, 2]), pd.Series(["x", "y"]), measure="pearson")  # type: ignore[arg-type]


def test_small_groups_for_cross_validation_are_refused() -> None:
    X = pd.DataFrame({"x": np.arange(12.0)})
    protected = pd.Series(["a"] * 9 + ["b"] * 3, name="sex")
    with pytest.raises(InputError, match="group 'b' of protected attribute 'sex' has 3 rows"):
        predictability_auc(X, protected, cv=5)


def test_unknown_positive_group_is_refused() -> None:
    X, protected = _planted(100)
    with pytest.raises(InputError, match="positive 'martian' is not a group"):
        predictability_auc(X, protected, positive="martian")


def test_association_is_a_tuple_of_score_and_measure() -> None:
    score, measure = association(pd.Series(["a", "b"] * 3), pd.Series(["x", "y"] * 3))
    assert (score, measure) == (pytest.approx(1.0), "nmi")
    assert isinstance(Association(0.5, "nmi"), tuple)
