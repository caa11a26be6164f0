"""Tests of ``rulecheck.engines._pipeline``: which raw column each internal column comes from.

Oracle: change one input column (shuffle it) and see which output columns change. Every output
column that changes must be owned by that input column, and every owned output that does not
change must be constant (e.g. the missing-indicator of a column without missing values).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.decomposition import PCA
from sklearn.feature_selection import SelectKBest, VarianceThreshold, f_classif
from sklearn.impute import KNNImputer, MissingIndicator, SimpleImputer
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    Normalizer,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    SplineTransformer,
    StandardScaler,
    TargetEncoder,
)

from rulecheck.engines._pipeline import MixedColumnsError, column_owners, preprocess
from rulecheck.errors import InputError


def _frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "job": pd.Series(
                rng.choice(
                    ["clerk", "nurse", "pilot", "chef", "rare"], n, p=[0.3, 0.3, 0.2, 0.18, 0.02]
                ),
                dtype="str",
            ),
            "hours": rng.normal(40, 5, n),
            "city": pd.Series(rng.choice(["a", "b", "c"], n), dtype="str"),
        }
    )
    frame.loc[rng.random(n) < 0.1, "hours"] = np.nan
    return frame


def _target(frame: pd.DataFrame) -> np.ndarray:
    return (frame["age"] > 40).to_numpy().astype(int)


def _changed_outputs(transformer: Any, frame: pd.DataFrame, column: str) -> set[int]:
    base = np.asarray(_dense(transformer.transform(frame)), dtype=float)
    shuffled = frame.copy()
    shuffled[column] = frame[column].sample(frac=1.0, random_state=1).to_numpy()
    moved = np.asarray(_dense(transformer.transform(shuffled)), dtype=float)
    differs = ~np.isclose(base, moved, equal_nan=True)
    return set(np.flatnonzero(differs.any(axis=0)).tolist())


def _dense(matrix: Any) -> Any:
    return matrix.toarray() if hasattr(matrix, "toarray") else matrix


CASES: dict[str, Any] = {
    "scale_and_one_hot": lambda: ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "hours"]),
            ("cat", OneHotEncoder(), ["job", "city"]),
        ]
    ),
    "one_hot_drop_first_and_infrequent": lambda: ColumnTransformer(
        [
            (
                "cat",
                OneHotEncoder(drop="first", min_frequency=10, sparse_output=False),
                ["job", "city"],
            ),
            ("num", SimpleImputer(add_indicator=True), ["hours", "age"]),
        ]
    ),
    "remainder_passthrough_and_selector": lambda: ColumnTransformer(
        [("cat", OrdinalEncoder(), make_column_selector(dtype_include="str"))],
        remainder=make_pipeline(
            SimpleImputer(), KBinsDiscretizer(n_bins=4, quantile_method="averaged_inverted_cdf")
        ),
    ),
    "spline_and_target_encoding": lambda: ColumnTransformer(
        [
            (
                "spline",
                make_pipeline(SimpleImputer(), SplineTransformer(n_knots=4)),
                ["age", "hours"],
            ),
            ("target", TargetEncoder(), ["job", "city"]),
        ]
    ),
    "indicator_ufunc_and_drop": lambda: ColumnTransformer(
        [
            ("missing", MissingIndicator(features="all"), ["hours", "age"]),
            (
                "log",
                make_pipeline(SimpleImputer(), FunctionTransformer(np.log1p)),
                ["age", "hours"],
            ),
            ("gone", "drop", ["city"]),
            ("job", OneHotEncoder(), ["job"]),
        ]
    ),
    "feature_union_of_selectors": lambda: make_pipeline(
        ColumnTransformer(
            [
                ("num", SimpleImputer(), ["age", "hours"]),
                ("cat", OneHotEncoder(sparse_output=False), ["job"]),
            ]
        ),
        FeatureUnion([("var", VarianceThreshold(0.1)), ("best", SelectKBest(f_classif, k=2))]),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_owners_match_which_outputs_each_input_moves(case: str) -> None:
    frame = _frame()
    transformer = CASES[case]().fit(frame, _target(frame))
    width = _dense(transformer.transform(frame)).shape[1]
    owners = column_owners(transformer, frame.shape[1], width)

    assert owners.shape == (width,)
    for i, column in enumerate(frame.columns):
        moved = _changed_outputs(transformer, frame, column)
        owned = set(np.flatnonzero(owners == i).tolist())
        assert moved <= owned, f"{column}: outputs {sorted(moved - owned)} move but are not owned"
        still = owned - moved  # owned outputs that never move must be constant (an empty indicator)
        matrix = np.asarray(_dense(transformer.transform(frame)), dtype=float)
        assert all(np.nanstd(matrix[:, j]) == 0 for j in still), f"{column}: {sorted(still)}"


@pytest.mark.parametrize(
    "mixer",
    [
        PCA(n_components=2),
        PolynomialFeatures(degree=2),
        Normalizer(),
        KNNImputer(),
        FunctionTransformer(lambda x: x * 2),
    ],
    ids=lambda m: type(m).__name__,
)
def test_transformers_that_may_mix_columns_are_refused(mixer: Any) -> None:
    frame = _frame()[["age", "hours"]].fillna(40.0)
    mixer.fit(frame)
    width = mixer.transform(frame).shape[1]
    with pytest.raises(MixedColumnsError):
        column_owners(mixer, 2, width)


def test_any_transformer_of_a_single_column_owns_all_its_outputs() -> None:
    frame = _frame()[["age"]]
    poly = PolynomialFeatures(degree=3).fit(frame)
    assert column_owners(poly, 1, 4).tolist() == [0, 0, 0, 0]


def test_preprocess_names_the_mixing_step() -> None:
    frame = _frame()[["age", "hours"]].fillna(40.0)
    pipe = Pipeline([("scale", StandardScaler()), ("pca", PCA(2))]).fit(frame)
    with pytest.raises(InputError, match=r"step 'pca' \(PCA\)") as info:
        preprocess(pipe.steps, frame, final=object())
    assert info.value.subject == "model"


def test_preprocess_refuses_text_reaching_the_model() -> None:
    frame = _frame()[["age", "city"]]
    passthrough = ColumnTransformer([("keep", "passthrough", ["age", "city"])]).fit(frame)
    with pytest.raises(InputError, match="preprocessed data that reaches object is not numeric"):
        preprocess([("keep", passthrough)], frame, final=object())


def test_nested_pipeline_owners() -> None:
    frame = _frame()
    pipe = Pipeline(
        [
            ("prep", CASES["scale_and_one_hot"]()),
            ("select", VarianceThreshold(0.0)),
        ]
    ).fit(frame, _target(frame))
    matrix, owners = preprocess(list(pipe.steps), frame, final=object())
    assert matrix.shape[1] == owners.shape[0]
    assert set(owners.tolist()) == {0, 1, 2, 3}
