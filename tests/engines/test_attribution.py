"""Tests of ``rulecheck.engines.attribution`` against direct shap calls and exact Shapley values.

Oracles:

- tree and linear models: the same values as ``shap.TreeExplainer`` (path-dependent) and
  ``shap.LinearExplainer`` (interventional, same background) at 1e-9;
- model-agnostic: Shapley values by full coalition enumeration written here. The interventional
  value of a coalition S is the mean, over the background rows, of the model on the row with the
  columns outside S taken from the background row. shap's ExactExplainer with an Independent
  masker computes exactly that, so ``explainer="exact"`` must match at 1e-9. The permutation
  explainer is exact only for two features (a permutation and its reverse are all orderings), so
  it is compared at 1e-9 on a two-feature model and only for additivity beyond that;
- additivity: each row's contributions sum to the explained output minus the expected value.

XGBoost computes in float32, so its additivity holds to 1e-5, not 1e-9 (its values still equal
shap's, which calls the same XGBoost routine, exactly).
"""

from __future__ import annotations

import itertools
import math
import re
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shap
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from rulecheck.engines.attribution import Attribution, explain
from rulecheck.errors import InputError

TOL = 1e-9
N_ROWS = 2000


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    """Small models: OpenMP threads (boosting libraries) only add contention on a busy machine."""
    with threadpool_limits(limits=1):
        yield


# --- data and models ----------------------------------------------------------------------------


def _numeric_data(n: int = N_ROWS, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 5)), columns=["age", "income", "hours", "tenure", "debt"])
    score = X["age"] + X["income"] * X["hours"] - 0.5 * X["debt"] + rng.normal(scale=0.5, size=n)
    return X, pd.Series((score > 0).astype(int), name="y")


def _mixed_data(n: int = 600, seed: int = 1) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "job": pd.Series(rng.choice(["clerk", "nurse", "pilot", "chef"], n), dtype="str"),
            "hours": rng.normal(40, 5, n),
            "city": pd.Series(rng.choice(["a", "b", "c"], n), dtype="str"),
        }
    )
    score = (X["age"] - 40) / 10 + (X["job"] == "pilot") * 1.5 - (X["city"] == "c")
    return X, pd.Series((score + rng.normal(size=n) > 0).astype(int), name="y")


def _column_transformer() -> ColumnTransformer:
    return ColumnTransformer(
        [
            ("num", StandardScaler(), ["age", "hours"]),
            ("cat", OneHotEncoder(sparse_output=False), ["job", "city"]),
        ]
    )


@pytest.fixture(scope="module")
def numeric() -> tuple[pd.DataFrame, pd.Series]:
    return _numeric_data()


@pytest.fixture(scope="module")
def mixed() -> tuple[pd.DataFrame, pd.Series]:
    return _mixed_data()


def _lightgbm() -> Any:
    lightgbm = pytest.importorskip("lightgbm")
    return lightgbm.LGBMClassifier(
        n_estimators=50, num_leaves=8, verbose=-1, random_state=0, n_jobs=1
    )


def _xgboost() -> Any:
    xgboost = pytest.importorskip("xgboost")
    return xgboost.XGBClassifier(n_estimators=50, max_depth=3, random_state=0, n_jobs=1)


TREE_CLASSIFIERS: dict[str, Callable[[], Any]] = {
    "gradient_boosting": lambda: GradientBoostingClassifier(n_estimators=50, random_state=0),
    "random_forest": lambda: RandomForestClassifier(n_estimators=30, max_depth=6, random_state=0),
    "hist_gradient_boosting": lambda: HistGradientBoostingClassifier(max_iter=50, random_state=0),
    "lightgbm": _lightgbm,
    "xgboost": _xgboost,
}
# Their trees output class probabilities; the other families explain the log-odds margin.
PROBABILITY_MODELS = {"random_forest"}


def _margin(model: Any, X: pd.DataFrame) -> np.ndarray:
    """The binary model's log-odds margin of its second class."""
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(X), dtype=np.float64)
    if type(model).__module__.startswith("lightgbm"):
        return np.asarray(model.predict(X, raw_score=True), dtype=np.float64)
    return np.asarray(model.predict(X, output_margin=True), dtype=np.float64)


def _shap_tree(model: Any, X: pd.DataFrame, index: int = 1) -> tuple[np.ndarray, float]:
    """The direct shap call the engine must reproduce, reduced to one class."""
    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LightGBM binary output-format notice
        values = np.asarray(explainer.shap_values(X), dtype=np.float64)
    expected = np.asarray(explainer.expected_value, dtype=np.float64).reshape(-1)
    if values.ndim == 3:
        return values[:, :, index], float(expected[index])
    return values, float(expected[0])


@pytest.fixture(scope="module", params=sorted(TREE_CLASSIFIERS))
def tree_model(request: pytest.FixtureRequest, numeric: tuple[pd.DataFrame, pd.Series]) -> Any:
    X, y = numeric
    model = TREE_CLASSIFIERS[request.param]()
    model.fit(X, y)
    return request.param, model


# --- oracle: direct shap calls ------------------------------------------------------------------


def test_tree_values_equal_shap_tree_explainer(
    tree_model: tuple[str, Any], numeric: tuple[pd.DataFrame, pd.Series]
) -> None:
    name, model = tree_model
    X, _ = numeric
    result = explain(model, X)
    values, expected = _shap_tree(model, X)

    assert result.explainer == "tree"
    assert result.output == ("probability" if name in PROBABILITY_MODELS else "log_odds")
    np.testing.assert_allclose(result.values, values, rtol=0, atol=TOL)
    assert result.expected_value == pytest.approx(expected, abs=TOL)
    direct_mean_abs = np.abs(values).mean(axis=0)
    np.testing.assert_allclose(
        result.shares(), direct_mean_abs / direct_mean_abs.sum(), rtol=0, atol=TOL
    )


def test_tree_additivity(
    tree_model: tuple[str, Any], numeric: tuple[pd.DataFrame, pd.Series]
) -> None:
    name, model = tree_model
    X, _ = numeric
    result = explain(model, X)
    output = model.predict_proba(X)[:, 1] if name in PROBABILITY_MODELS else _margin(model, X)
    tolerance = 1e-5 if name == "xgboost" else 1e-9  # XGBoost computes in float32
    np.testing.assert_allclose(
        result.values.sum(axis=1) + result.expected_value, output, rtol=0, atol=tolerance
    )


def test_first_class_is_the_negated_margin(numeric: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = numeric
    model = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y)
    first = explain(model, X, positive_class=0)
    second = explain(model, X)
    np.testing.assert_allclose(first.values, -second.values, rtol=0, atol=TOL)
    assert first.expected_value == pytest.approx(-second.expected_value, abs=TOL)


@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "hist_gradient_boosting"])
def test_multiclass_tree_values_equal_shap(family: str) -> None:
    X, _ = _numeric_data(400, seed=3)
    y = np.digitize(X["age"] + X["income"], [-0.7, 0.7])
    model = TREE_CLASSIFIERS[family]().fit(X, y)
    for index in range(3):
        result = explain(model, X, positive_class=index)
        values, expected = _shap_tree(model, X, index)
        assert result.output == "raw"
        np.testing.assert_allclose(result.values, values, rtol=0, atol=TOL)
        assert result.expected_value == pytest.approx(expected, abs=TOL)


def test_regression_tree_values_equal_shap(numeric: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = numeric
    target = X["age"] * X["hours"] + X["income"]
    for model in (
        GradientBoostingRegressor(n_estimators=30, random_state=0),
        ExtraTreesRegressor(n_estimators=10, max_depth=5, random_state=0),
    ):
        model.fit(X, target)
        result = explain(model, X)
        values, _expected = _shap_tree(model, X)
        assert result.output == "raw"
        np.testing.assert_allclose(result.values, values, rtol=0, atol=TOL)
        np.testing.assert_allclose(
            result.values.sum(axis=1) + result.expected_value, model.predict(X), atol=1e-9
        )


def test_probability_of_boosting_is_interventional_tree_shap(
    numeric: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = numeric
    X = X.iloc[:300]
    model = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y.iloc[:300])
    # background_size >= rows: the background is all of X, so shap can be called on the same one.
    result = explain(model, X, output="probability", background_size=len(X))
    direct = shap.TreeExplainer(
        model, data=X, feature_perturbation="interventional", model_output="probability"
    )
    values = direct.shap_values(X)

    assert (result.explainer, result.output, result.background_rows) == ("tree", "probability", 300)
    np.testing.assert_allclose(result.values, values, rtol=0, atol=TOL)
    np.testing.assert_allclose(
        result.values.sum(axis=1) + result.expected_value,
        model.predict_proba(X)[:, 1],
        rtol=0,
        atol=1e-6,  # shap's interventional probability transform is float32-accurate
    )


@pytest.mark.parametrize(
    "model",
    [LogisticRegression(max_iter=1000), Ridge(alpha=1.0), LinearRegression()],
    ids=lambda m: type(m).__name__,
)
def test_linear_values_equal_shap_linear_explainer(
    model: Any, numeric: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = numeric
    target = y if isinstance(model, LogisticRegression) else X["age"] * 2 + X["debt"]
    model.fit(X, target)
    result = explain(model, X)
    # The engine's background is all of X; give shap the same one (its default keeps 100 rows).
    direct = shap.LinearExplainer(model, shap.maskers.Independent(X, max_samples=len(X)))
    values = direct.shap_values(X)

    assert (result.explainer, result.background_rows) == ("linear", len(X))
    np.testing.assert_allclose(result.values, values, rtol=0, atol=TOL)
    direct_mean_abs = np.abs(values).mean(axis=0)
    np.testing.assert_allclose(
        result.shares(), direct_mean_abs / direct_mean_abs.sum(), rtol=0, atol=TOL
    )
    assert result.expected_value == pytest.approx(
        float(np.ravel(direct.expected_value)[0]), abs=TOL
    )
    output = model.decision_function(X) if hasattr(model, "decision_function") else model.predict(X)
    np.testing.assert_allclose(
        result.values.sum(axis=1) + result.expected_value, output, rtol=0, atol=1e-9
    )


def test_linear_multiclass_explains_the_class_score(
    numeric: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, _ = numeric
    y = np.digitize(X["age"] - X["debt"], [-0.5, 0.5])
    model = LogisticRegression(max_iter=1000).fit(X, y)
    for index in range(3):
        result = explain(model, X, positive_class=index)
        assert result.output == "raw"
        np.testing.assert_allclose(
            result.values.sum(axis=1) + result.expected_value,
            model.decision_function(X)[:, index],
            rtol=0,
            atol=1e-9,
        )


# --- oracle: exact Shapley values by enumeration ------------------------------------------------


def _enumerated_shapley(
    f: Callable[[pd.DataFrame], np.ndarray], x: pd.DataFrame, background: pd.DataFrame
) -> np.ndarray:
    """Interventional Shapley values of each row of ``x`` by enumerating all coalitions.

    v(S) is the mean over background rows of f on (x's values in S, the background's elsewhere);
    phi_i = sum over S without i of |S|! (m - |S| - 1)! / m! * (v(S + i) - v(S)).
    """
    m = x.shape[1]
    coalitions = [frozenset(c) for k in range(m + 1) for c in itertools.combinations(range(m), k)]
    bg = background.to_numpy()
    result = np.zeros(x.shape, dtype=np.float64)
    for r, row in enumerate(x.to_numpy()):
        masks = np.array([[j in c for j in range(m)] for c in coalitions])
        mixed = np.where(masks[:, None, :], row, bg[None, :, :]).reshape(-1, m)
        outputs = f(pd.DataFrame(mixed, columns=x.columns)).reshape(len(coalitions), len(bg))
        value = dict(zip(coalitions, outputs.mean(axis=1), strict=True))
        for i in range(m):
            for coalition in coalitions:
                if i not in coalition:
                    size = len(coalition)
                    weight = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
                    result[r, i] += weight * (value[coalition | {i}] - value[coalition])
    return result


@pytest.fixture(scope="module")
def small_mlp() -> tuple[Any, pd.DataFrame]:
    X, y = _numeric_data(300, seed=5)
    X = X[["age", "income", "hours", "debt"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: the fit need not converge
        model = MLPClassifier(hidden_layer_sizes=(6,), max_iter=200, random_state=0).fit(X, y)
    return model, X


def test_exact_explainer_equals_enumerated_shapley_values(
    small_mlp: tuple[Any, pd.DataFrame],
) -> None:
    model, X = small_mlp
    data = X.iloc[:12]  # background = all 12 rows (background_size >= rows), so no sampling
    result = explain(model, data, background_size=12, max_rows=None)
    expected = _enumerated_shapley(lambda d: model.predict_proba(d)[:, 1], data, data)

    assert (result.explainer, result.output, result.background_rows) == (
        "exact",
        "probability",
        12,
    )
    np.testing.assert_allclose(result.values, expected, rtol=0, atol=TOL)
    assert result.expected_value == pytest.approx(model.predict_proba(data)[:, 1].mean(), abs=TOL)


def test_permutation_explainer_is_exact_for_two_features() -> None:
    X, _y = _numeric_data(300, seed=6)
    X = X[["age", "income"]]
    model = MLPRegressor(hidden_layer_sizes=(5,), max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, X["age"] * X["income"])
    data = X.iloc[:4]
    result = explain(model, data, explainer="permutation", background_size=4)
    expected = _enumerated_shapley(model.predict, data, data)

    assert result.explainer == "permutation"
    np.testing.assert_allclose(result.values, expected, rtol=0, atol=TOL)


@pytest.mark.parametrize("method", ["exact", "permutation"])
def test_model_agnostic_additivity_with_sampled_background(
    small_mlp: tuple[Any, pd.DataFrame], method: str
) -> None:
    model, X = small_mlp
    result = explain(model, X, explainer=method, max_rows=5, background_size=40, seed=3)
    rows = _explained_rows(result, X)
    output = model.predict_proba(X.iloc[rows])[:, 1]

    assert (result.rows, result.background_rows) == (5, 40)
    np.testing.assert_allclose(
        result.values.sum(axis=1) + result.expected_value, output, rtol=0, atol=1e-9
    )


def _explained_rows(result: Attribution, X: pd.DataFrame) -> np.ndarray:
    """The rows the engine sampled: its ``row_index``, which is the documented seeded sample."""
    row_seq, _ = np.random.SeedSequence(result.seed).spawn(2)
    documented = np.sort(np.random.default_rng(row_seq).choice(len(X), result.rows, replace=False))
    assert result.row_index is not None
    np.testing.assert_array_equal(result.row_index, documented)
    return result.row_index


def test_model_agnostic_log_odds_output(small_mlp: tuple[Any, pd.DataFrame]) -> None:
    model, X = small_mlp
    data = X.iloc[:20]
    result = explain(model, data, output="log_odds", background_size=20)
    p = model.predict_proba(data)[:, 1]
    assert (result.explainer, result.output) == ("exact", "log_odds")
    np.testing.assert_allclose(
        result.values.sum(axis=1) + result.expected_value, np.log(p / (1 - p)), atol=1e-9
    )


def test_auto_uses_exact_up_to_eight_features_then_permutation() -> None:
    rng = np.random.default_rng(0)
    for width, method in ((8, "exact"), (9, "permutation")):
        X = pd.DataFrame(rng.normal(size=(60, width)), columns=[f"x{i}" for i in range(width)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = MLPRegressor(hidden_layer_sizes=(3,), max_iter=20, random_state=0)
            model.fit(X, X["x0"])
        result = explain(model, X, max_rows=2, background_size=5)
        assert result.explainer == method


def test_permutation_is_seeded_and_leaves_the_global_rng_alone(
    small_mlp: tuple[Any, pd.DataFrame],
) -> None:
    model, X = small_mlp
    np.random.seed(123)
    state = np.random.get_state()
    first = explain(model, X, explainer="permutation", max_rows=3, background_size=20, seed=7)
    after = np.random.get_state()
    second = explain(model, X, explainer="permutation", max_rows=3, background_size=20, seed=7)

    assert np.array_equal(state[1], after[1])
    assert state[2] == after[2]
    np.testing.assert_array_equal(first.values, second.values)


# --- pipelines: attribution to raw columns ------------------------------------------------------


@pytest.mark.parametrize(
    "final",
    [
        LogisticRegression(max_iter=1000),
        GradientBoostingClassifier(n_estimators=30, random_state=0),
    ],
    ids=lambda m: type(m).__name__,
)
def test_one_hot_pipeline_sums_internal_columns_into_raw_columns(
    final: Any, mixed: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = mixed
    pipe = Pipeline([("prep", _column_transformer()), ("model", final)]).fit(X, y)
    result = explain(pipe, X)

    # Direct shap on the transformed matrix, then sum the one-hot columns by hand.
    prep, model = pipe[:-1], pipe[-1]
    matrix = prep.transform(X)
    names = list(prep.get_feature_names_out())
    if isinstance(model, LogisticRegression):
        masker = shap.maskers.Independent(matrix, max_samples=len(matrix))
        internal = shap.LinearExplainer(model, masker).shap_values(matrix)
    else:
        internal = shap.TreeExplainer(model).shap_values(matrix)
    by_raw = {
        column: internal[:, [i for i, n in enumerate(names) if n.startswith(prefix)]].sum(axis=1)
        for column, prefix in (
            ("age", "num__age"),
            ("hours", "num__hours"),
            ("job", "cat__job_"),
            ("city", "cat__city_"),
        )
    }

    assert result.features == ("age", "job", "hours", "city")
    for j, column in enumerate(result.features):
        np.testing.assert_allclose(result.values[:, j], by_raw[column], rtol=0, atol=TOL)
    np.testing.assert_allclose(
        result.values.sum(axis=1) + result.expected_value,
        pipe.decision_function(X),
        rtol=0,
        atol=1e-9,
    )


def test_dropped_and_unread_columns_get_zero(mixed: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = mixed
    prep = ColumnTransformer([("num", StandardScaler(), ["age"])], remainder="drop")
    pipe = Pipeline([("prep", prep), ("model", LogisticRegression())]).fit(X, y)
    extra = X.assign(protected=np.arange(len(X)) % 2)
    result = explain(pipe, extra)
    shares = dict(zip(result.features, result.shares(), strict=True))
    assert shares["age"] == pytest.approx(1.0)
    assert shares["job"] == shares["hours"] == shares["city"] == shares["protected"] == 0.0


@pytest.mark.parametrize(
    "mixer", [PCA(n_components=2), PolynomialFeatures(degree=2)], ids=lambda m: type(m).__name__
)
def test_column_mixing_step_is_refused_but_permutation_works(
    mixer: Any, numeric: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = numeric
    X, y = X.iloc[:200], y.iloc[:200]
    pipe = Pipeline(
        [("scale", StandardScaler()), ("mix", mixer), ("model", LogisticRegression())]
    ).fit(X, y)
    with pytest.raises(InputError, match=r"step 'mix' \(" + type(mixer).__name__ + r"\)") as info:
        explain(pipe, X)
    assert "explainer='permutation'" in info.value.message

    result = explain(pipe, X, explainer="permutation", max_rows=3, background_size=20)
    assert result.explainer == "permutation"
    assert result.values.shape == (3, 5)


def test_permutation_explains_a_pipeline_on_raw_text_columns(
    mixed: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = mixed
    pipe = Pipeline([("prep", _column_transformer()), ("model", LogisticRegression())]).fit(X, y)
    result = explain(pipe, X, explainer="exact", max_rows=10, background_size=30)
    rows = _explained_rows(result, X)
    np.testing.assert_allclose(
        result.values.sum(axis=1) + result.expected_value,
        pipe.predict_proba(X.iloc[rows])[:, 1],
        rtol=0,
        atol=1e-9,
    )


# --- properties ---------------------------------------------------------------------------------

FAMILIES = st.sampled_from(["tree", "linear", "pipeline"])


def _fit(family: str, X: pd.DataFrame, y: pd.Series, seed: int) -> Any:
    if family == "tree":
        return GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=seed).fit(X, y)
    if family == "linear":
        return LogisticRegression().fit(X, y)
    names = list(X.columns)
    prep = ColumnTransformer([("scale", StandardScaler(), names[::-1])])
    return Pipeline([("prep", prep), ("model", LogisticRegression())]).fit(X, y)


def _random_problem(seed: int, n: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    y = pd.Series(((X["a"] - X["b"] + rng.normal(size=n)) > 0).astype(int))
    if y.nunique() < 2:
        y.iloc[0] = 1 - y.iloc[0]
    return X, y


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(30, 120))
def test_a_feature_the_tree_never_splits_on_gets_share_zero(seed: int, n: int) -> None:
    X, y = _random_problem(seed, n)
    tree = DecisionTreeClassifier(max_depth=2, random_state=seed).fit(X, y)
    used = set(tree.tree_.feature[tree.tree_.feature >= 0])
    shares = explain(tree, X).shares()
    for j in range(X.shape[1]):
        if j not in used:
            assert shares[j] == 0.0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(30, 120), family=FAMILIES)
def test_a_column_outside_the_model_gets_share_zero(seed: int, n: int, family: str) -> None:
    X, y = _random_problem(seed, n)
    model = _fit(family, X[["a", "b", "c"]], y, seed)
    result = explain(model, X)
    assert result.features[3] == "d"
    assert result.shares()[3] == 0.0
    assert not result.values[:, 3].any()


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(30, 120),
    family=FAMILIES,
    order=st.permutations(["a", "b", "c", "d"]),
)
def test_column_order_does_not_change_shares_per_name(
    seed: int, n: int, family: str, order: list[str]
) -> None:
    X, y = _random_problem(seed, n)
    model = _fit(family, X, y, seed)
    original = dict(zip(X.columns, explain(model, X).shares(), strict=True))
    reordered = explain(model, X[order])
    assert reordered.features == tuple(order)
    for name, share in zip(reordered.features, reordered.shares(), strict=True):
        assert share == pytest.approx(original[name], abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(30, 120), family=FAMILIES)
def test_duplicating_rows_does_not_change_shares(seed: int, n: int, family: str) -> None:
    X, y = _random_problem(seed, n)
    model = _fit(family, X, y, seed)
    once = explain(model, X).shares()
    twice = explain(model, pd.concat([X, X], ignore_index=True)).shares()
    np.testing.assert_allclose(twice, once, rtol=0, atol=1e-12)


# --- the result and the errors ------------------------------------------------------------------


def test_result_is_read_only_and_states_its_sizes(numeric: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = numeric
    model = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, y)
    result = explain(model, X, max_rows=100, seed=4)
    assert (result.rows, result.seed, result.background_rows) == (100, 4, None)
    assert result.values.shape == (100, 5)
    with pytest.raises(ValueError, match="read-only"):
        result.values[0, 0] = 1.0
    assert result.shares().sum() == pytest.approx(1.0)
    np.testing.assert_allclose(result.mean_abs(), np.abs(result.values).mean(axis=0))


def test_shares_of_all_zero_contributions_are_zero() -> None:
    result = Attribution(
        features=("a", "b"),
        values=np.zeros((3, 2)),
        expected_value=0.5,
        explainer="tree",
        output="raw",
        rows=3,
        seed=0,
        background_rows=None,
    )
    assert result.shares().tolist() == [0.0, 0.0]


def test_importing_the_engine_does_not_import_shap() -> None:
    code = "import rulecheck.engines.attribution, sys; assert 'shap' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("kwargs", "subject", "message"),
    [
        ({"explainer": "kernel"}, "explainer", "The 'explainer' parameter of explain must be one"),
        ({"output": "odds"}, "output", "The 'output' parameter"),
        ({"max_rows": 0}, "max_rows", "must be an int >= 1 or None. Got 0 instead."),
        ({"background_size": 2.5}, "background_size", "must be an int >= 1"),
        ({"positive_class": "yes"}, "positive_class", "is not one of the model's classes [0, 1]"),
        ({"explainer": "linear"}, "model", "explainer='linear' does not support RandomForest"),
        # a forest has no decision_function, so no model-agnostic "raw" score either
        ({"output": "raw", "explainer": "exact"}, "output", "cannot explain output='raw'"),
    ],
)
def test_argument_errors(
    kwargs: dict[str, Any], subject: str, message: str, numeric: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = numeric
    model = RandomForestClassifier(n_estimators=3, random_state=0).fit(X.iloc[:100], y.iloc[:100])
    with pytest.raises(InputError, match=re.escape(message)) as info:
        explain(model, X, **kwargs)
    assert info.value.subject == subject


def test_output_the_fast_path_cannot_compute_is_refused(
    numeric: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = numeric
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X.iloc[:100], y.iloc[:100])
    with pytest.raises(InputError, match="cannot compute output='log_odds' exactly") as info:
        explain(forest, X, explainer="tree", output="log_odds")
    assert info.value.subject == "output"
    # With explainer="auto" the model-agnostic path computes it instead.
    result = explain(forest, X.iloc[:20], output="log_odds", background_size=10)
    assert (result.explainer, result.output) == ("exact", "log_odds")


def test_multiclass_needs_a_positive_class(numeric: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = numeric
    y = np.digitize(X["age"], [-0.5, 0.5])
    model = LogisticRegression(max_iter=500).fit(X, y)
    with pytest.raises(InputError, match=r"positive_class is required .* 3 classes: \[0, 1, 2\]"):
        explain(model, X)
    # a class written as text in a policy file still matches
    assert explain(model, X, positive_class="2").output == "raw"


def test_text_columns_without_preprocessing_are_refused(
    mixed: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = mixed
    model = HistGradientBoostingClassifier(max_iter=5).fit(X[["age", "hours"]], y)
    data = X[["age", "hours"]].assign(hours=X["job"])
    with pytest.raises(InputError, match=r"columns \['hours'\] are not numeric") as info:
        explain(model, data)
    assert info.value.subject == "X"


def test_missing_model_columns_are_refused(numeric: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = numeric
    model = LogisticRegression().fit(X, y)
    with pytest.raises(InputError, match=r"missing from the data: \['debt'\]"):
        explain(model, X.drop(columns="debt"))


def test_x_must_be_a_non_empty_frame(numeric: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = numeric
    model = LogisticRegression().fit(X, y)
    with pytest.raises(InputError, match=r"must be a pandas DataFrame\. Got 'ndarray'"):
        explain(model, X.to_numpy())  # type: ignore[arg-type]
    with pytest.raises(InputError, match="no rows"):
        explain(model, X.iloc[:0])
