"""Property rules on planted models: real sklearn and LightGBM models, no mocks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from rulecheck._measures import PropertySpec
from rulecheck.engines.groupstats import factorize
from rulecheck.engines.properties import check_property, replay, search
from rulecheck.errors import InputError

SWAP = (("Male", "Female"), ("Female", "Male"))
Output = tuple[np.ndarray | None, np.ndarray]


def _people(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows whose label depends strongly on sex (relationship is its proxy)."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["Male", "Female"], n)
    relationship = np.where(
        rng.random(n) < 0.8, np.where(sex == "Male", "Husband", "Wife"), "Unmarried"
    )
    X = pd.DataFrame(
        {
            "sex": pd.Series(sex, dtype="str"),
            "relationship": pd.Series(relationship, dtype="category"),
            "age": rng.integers(18, 90, n),
            "hours": rng.normal(40, 10, n).round(1),
            "noise": rng.normal(0, 1, n),
        }
    )
    logit = 2.5 * (sex == "Male") - 1.2 + 0.02 * (X["hours"].to_numpy() - 40)
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    return X, y


def _pipeline(
    X: pd.DataFrame, y: np.ndarray, categorical: list[str], numeric: list[str]
) -> Pipeline:
    columns = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), categorical),
        ("passthrough", numeric),
        remainder="drop",
    )
    return make_pipeline(columns, LogisticRegression(max_iter=1000)).fit(X, y)


def _predictor(model: Any) -> Callable[[pd.DataFrame], Output]:
    def predict(frame: pd.DataFrame) -> Output:
        scores = np.asarray(model.predict_proba(frame)[:, 1], dtype=np.float64)
        return scores, scores >= 0.5

    return predict


class Counting:
    """A predict that records the size of every call."""

    def __init__(self, predict: Callable[[pd.DataFrame], Output]) -> None:
        self.predict = predict
        self.calls: list[int] = []
        self.frames: list[pd.DataFrame] = []

    def __call__(self, frame: pd.DataFrame) -> Output:
        self.calls.append(len(frame))
        self.frames.append(frame)
        return self.predict(frame)


@pytest.fixture(scope="module")
def people() -> tuple[pd.DataFrame, np.ndarray]:
    return _people(3000)


@pytest.fixture(scope="module")
def biased(people: tuple[pd.DataFrame, np.ndarray]) -> Pipeline:
    X, y = people
    return _pipeline(X, y, ["sex", "relationship"], ["age", "hours"])


@pytest.fixture(scope="module")
def blind(people: tuple[pd.DataFrame, np.ndarray]) -> Pipeline:
    X, y = people
    return _pipeline(X, y, [], ["age", "hours"])


def _differences(row: dict[str, Any], other: dict[str, Any]) -> set[str]:
    return {c for c in row if row[c] != other[c]}


def test_counterfactual_on_a_biased_model_fails_and_the_search_shrinks_to_a_sex_swap(
    people: tuple[pd.DataFrame, np.ndarray], biased: Pipeline
) -> None:
    X, _ = people
    spec = PropertySpec(kind="counterfactual", attribute="sex", swap=SWAP, search_examples=100)
    result = check_property(spec, X, _predictor(biased))
    assert result.rows == len(X)
    assert result.rate > 0
    assert result.largest == max(abs(w.change) for w in result.worst)
    found = result.found
    assert found is not None
    assert found.row_index is None
    assert abs(found.after - found.before) > 0
    assert (found.before >= 0.5) != (found.after >= 0.5)
    row = dict(found.row)
    counterfactual = {**row, **dict(found.changed)}
    assert _differences(row, counterfactual) == {"sex"}
    # also_change: the proxy moves with sex, and nothing else does
    spec = PropertySpec(
        kind="counterfactual",
        attribute="sex",
        swap=SWAP,
        also_change=(("relationship", (("Husband", "Wife"), ("Wife", "Husband"))),),
        search_examples=100,
    )
    found = check_property(spec, X, _predictor(biased)).found
    assert found is not None
    row = dict(found.row)
    counterfactual = {**row, **dict(found.changed)}
    assert _differences(row, counterfactual) <= {"sex", "relationship"}
    assert "sex" in _differences(row, counterfactual)
    if row["relationship"] in ("Husband", "Wife"):
        assert _differences(row, counterfactual) == {"sex", "relationship"}


def test_counterfactual_on_a_model_without_sex_passes_exactly(
    people: tuple[pd.DataFrame, np.ndarray], blind: Pipeline
) -> None:
    X, _ = people
    spec = PropertySpec(
        kind="counterfactual", attribute="sex", swap=SWAP, output="score", search_examples=50
    )
    result = check_property(spec, X, _predictor(blind))
    assert (result.rate, result.largest, result.violations, result.worst) == (0.0, 0.0, 0, ())
    assert result.found is None
    assert result.examples == 50


def test_one_batched_call_per_perturbation(
    people: tuple[pd.DataFrame, np.ndarray], biased: Pipeline
) -> None:
    X, _ = people
    cases = [
        (PropertySpec(kind="counterfactual", attribute="sex", swap=SWAP), 2),
        (
            PropertySpec(
                kind="counterfactual",
                attribute="relationship",
                values=("Husband", "Wife", "Unmarried"),
            ),
            4,
        ),
        (PropertySpec(kind="monotonic", feature="age", steps=7), 7),
        (
            PropertySpec(
                kind="invariance",
                perturb=(("hours", -1, 1), ("age", 0, 2)),
                replace=(("relationship", ("Wife", "Husband")),),
            ),
            4,
        ),
    ]
    for spec, calls in cases:
        counting = Counting(_predictor(biased))
        result = check_property(spec, X, counting)
        assert counting.calls == [len(X)] * calls, spec.kind
        assert result.predictions == len(X) * calls


def test_group_rates_match_a_pandas_groupby(
    people: tuple[pd.DataFrame, np.ndarray], biased: Pipeline
) -> None:
    X, _ = people
    spec = PropertySpec(kind="counterfactual", attribute="sex", swap=(("Male", "Female"),))
    grouping = factorize(X, ("relationship",))
    result = check_property(spec, X, _predictor(biased), grouping=grouping)
    predict = _predictor(biased)
    before = predict(X)[1]
    after = predict(X.assign(sex=X["sex"].where(X["sex"] != "Male", "Female")))[1]
    hand = pd.DataFrame({"relationship": X["relationship"].astype(str), "flip": before != after})[
        X["sex"] == "Male"
    ]
    expected = hand.groupby("relationship")["flip"].agg(["size", "mean"])
    assert result.by == ("relationship",)
    assert result.rows == int((X["sex"] == "Male").sum())
    got = {key[0]: (n, rate) for key, n, rate in result.group_rates}
    assert got == {k: (int(r["size"]), pytest.approx(r["mean"])) for k, r in expected.iterrows()}


def test_values_mode_is_the_union_of_the_per_value_swaps(
    people: tuple[pd.DataFrame, np.ndarray], biased: Pipeline
) -> None:
    X, _ = people
    values = ("Husband", "Wife", "Unmarried")
    spec = PropertySpec(kind="counterfactual", attribute="relationship", values=values)
    result = check_property(spec, X, _predictor(biased))
    scores, decisions = _predictor(biased)(X)
    broken = np.zeros(len(X), dtype=bool)
    largest = 0.0
    for value in values:
        changed = X["relationship"] != value
        other = X.assign(relationship=X["relationship"].where(~changed, value))
        new_scores, new_decisions = _predictor(biased)(other)
        broken |= changed.to_numpy() & (new_decisions != decisions)
        largest = max(largest, float(np.abs(new_scores - scores)[changed.to_numpy()].max()))
    assert result.violations == int(broken.sum())
    assert result.rows == len(X)
    assert result.largest == pytest.approx(largest)
    assert {w.row_index for w in result.worst} <= set(np.flatnonzero(broken).tolist())


def test_perturbed_frames_keep_the_columns_dtypes(
    people: tuple[pd.DataFrame, np.ndarray], biased: Pipeline
) -> None:
    X, _ = people
    X = X.assign(flag=X["age"] > 50, code=X["age"] % 3)
    spec = PropertySpec(
        kind="counterfactual",
        attribute="sex",
        swap=(("Male", "Other"),),  # a value the str column never held
        also_change=(("relationship", (("Husband", "Partner"),)),),  # a new category
    )
    counting = Counting(_predictor(biased))
    check_property(spec, X, counting)
    changed = counting.frames[1]
    assert changed["sex"].dtype == X["sex"].dtype
    assert isinstance(changed["relationship"].dtype, pd.CategoricalDtype)
    assert "Partner" in changed["relationship"].cat.categories
    assert (changed["sex"] == "Other").sum() == (X["sex"] == "Male").sum()
    # values from YAML in another spelling: numeric swap on an int column, bool as text
    for attribute, swap in (("code", (("0", 1.0),)), ("flag", (("true", False),))):
        spec = PropertySpec(kind="counterfactual", attribute=attribute, swap=swap)
        counting = Counting(_predictor(biased))
        result = check_property(spec, X, counting)
        assert counting.frames[1][attribute].dtype == X[attribute].dtype
        assert result.rows == int((X[attribute] == (0 if attribute == "code" else True)).sum())


def test_output_score_needs_scores(
    people: tuple[pd.DataFrame, np.ndarray], biased: Pipeline
) -> None:
    X, _ = people

    def decisions_only(frame: pd.DataFrame) -> Output:
        return None, biased.predict(frame).astype(bool)

    spec = PropertySpec(kind="counterfactual", attribute="sex", swap=SWAP, output="score")
    with pytest.raises(InputError, match="predict_proba"):
        check_property(spec, X, decisions_only)
    flips = check_property(
        PropertySpec(kind="counterfactual", attribute="sex", swap=SWAP), X, decisions_only
    )
    assert flips.rate > 0
    assert flips.largest == 1.0
    with pytest.raises(InputError, match="numeric"):
        check_property(PropertySpec(kind="monotonic", feature="sex"), X, decisions_only)


def test_search_is_reproducible_and_replay_reproduces_it(
    people: tuple[pd.DataFrame, np.ndarray], biased: Pipeline, blind: Pipeline
) -> None:
    X, _ = people
    spec = PropertySpec(
        kind="invariance",
        replace=(("relationship", ("Unmarried",)),),
        output="score",
        tolerance=0.02,
        search_examples=100,
        seed=7,
    )
    first = search(spec, X, _predictor(biased))
    again = search(spec, X, _predictor(biased))
    assert first == again
    assert first[0] is not None
    found = first[0]
    assert replay(spec, dict(found.row), X, _predictor(biased)) == found
    # a row for which the property holds replays as None
    assert replay(spec, dict(found.row), X, _predictor(blind)) is None


def _lightgbm(X: pd.DataFrame, y: np.ndarray, constraints: list[int] | None) -> lgb.LGBMClassifier:
    options: dict[str, Any] = {"n_estimators": 60, "num_leaves": 15, "verbose": -1}
    if constraints is not None:
        options["monotone_constraints"] = constraints
    return lgb.LGBMClassifier(**options).fit(X, y)


def test_monotonic_passes_with_lightgbm_constraints_and_fails_without() -> None:
    rng = np.random.default_rng(1)
    n = 3000
    X = pd.DataFrame({"income": rng.uniform(0, 100, n), "debt": rng.uniform(0, 50, n)})
    # a non-monotone true effect of income: risky in the middle
    logit = 3 * np.sin(X["income"].to_numpy() / 16) - 0.05 * X["debt"].to_numpy()
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    spec = PropertySpec(kind="monotonic", feature="income", output="score", steps=12)
    constrained = check_property(spec, X, _predictor(_lightgbm(X, y, [1, 0])))
    assert constrained.rate == 0.0
    assert constrained.largest == 0.0
    spec = PropertySpec(
        kind="monotonic", feature="income", output="score", steps=12, search_examples=25
    )
    free = check_property(spec, X, _predictor(_lightgbm(X, y, None)))
    assert free.rate > 0.5
    assert free.largest > 0.1
    for example in (free.worst[0], free.found):
        assert example is not None
        row, changed = dict(example.row), dict(example.changed)
        assert changed["income"] > row["income"]
        assert example.after < example.before


def test_invariance_on_an_unused_feature_is_exact_and_replace_flips_rows(
    people: tuple[pd.DataFrame, np.ndarray], biased: Pipeline
) -> None:
    X, _ = people  # the pipeline drops "noise" (remainder="drop")
    spec = PropertySpec(
        kind="invariance", perturb=(("noise", -5.0, 5.0),), output="score", search_examples=30
    )
    result = check_property(spec, X, _predictor(biased))
    assert (result.rate, result.largest, result.found) == (0.0, 0.0, None)
    spec = PropertySpec(kind="invariance", replace=(("sex", ("Female",)),))
    flipped = check_property(spec, X, _predictor(biased))
    assert flipped.violations > 0
    assert flipped.rows == len(X)
    assert all(dict(w.changed) == {"sex": "Female"} for w in flipped.worst)
    assert all(dict(w.row)["sex"] == "Male" for w in flipped.worst)


def test_timing_of_the_exhaustive_pass_on_100k_rows(biased: Pipeline) -> None:
    X, _ = _people(100_000, seed=5)
    predict = _predictor(biased)
    start = time.perf_counter()
    predict(X)
    once = time.perf_counter() - start
    start = time.perf_counter()
    check_property(PropertySpec(kind="counterfactual", attribute="sex", swap=SWAP), X, predict)
    exhaustive = time.perf_counter() - start
    print(
        f"\n100k rows: one predict {once:.3f}s, counterfactual {exhaustive:.3f}s, ratio {exhaustive / once:.2f}"
    )
