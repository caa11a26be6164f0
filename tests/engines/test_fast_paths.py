"""Issue 18, faster on one machine: every fast path equals the slow one it replaced.

The rank-based ROC AUC against scikit-learn (ties, weights, zero weights), the categorical
factorization against ``pd.factorize``, the 0/1 check against the float comparison, and the
frame fingerprint: stable, sensitive to the data, and named in the report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

import rulecheck
from rulecheck.engines._auc import roc_auc
from rulecheck.engines.data import FRAME_FINGERPRINT, fingerprint_frame
from rulecheck.engines.groupstats import _factorize_column, factorize
from rulecheck.engines.targets import _zero_one


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("levels", [2, 5, 40, None], ids=lambda v: f"levels={v}")
@pytest.mark.parametrize("seed", range(6))
def test_roc_auc_equals_scikit_learn(seed: int, levels: int | None, weighted: bool) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 2000))
    y = rng.integers(0, 2, n).astype(bool)
    y[:2] = [False, True]  # both classes
    # Few distinct score levels make many ties; None gives (almost surely) none.
    scores = rng.normal(size=n) if levels is None else rng.integers(0, levels, n) / 3.0
    weights = None
    if weighted:
        weights = rng.uniform(0.0, 4.0, n) * (rng.random(n) > 0.2)  # some zero weights
        weights[:2] = 1.0
    expected = roc_auc_score(y, scores, sample_weight=weights)
    assert roc_auc(y, scores, weights) == pytest.approx(expected, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.sampled_from([0.0, 0.25, 0.5, 1.0, -3.0]), st.integers(0, 3)),
        min_size=2,
        max_size=40,
    )
)
def test_roc_auc_equals_scikit_learn_on_small_tied_data(
    rows: list[tuple[bool, float, int]],
) -> None:
    y = np.array([r[0] for r in rows])
    scores = np.array([r[1] for r in rows])
    weights = np.array([float(r[2]) for r in rows])
    for w in (None, weights):
        present = y if w is None else y[w > 0]
        if present.all() or not present.any():
            continue
        expected = roc_auc_score(y, scores, sample_weight=w)
        assert roc_auc(y, scores, w) == pytest.approx(expected, abs=1e-12)


def _categoricals() -> list[pd.Series]:
    cats = ["c", "z", "b", "a"]
    return [
        pd.Series(pd.Categorical(["b", "a", "c", None, "b"], categories=cats)),
        pd.Series(pd.Categorical(["b", "a", "c", "b"], categories=cats, ordered=True)),
        pd.Series(pd.Categorical([2, 1, 2], categories=[2, 1, 3])),
        pd.Series(pd.Categorical([None, None], categories=["x"])),
        pd.Series(pd.Categorical([], categories=["x"])),
        pd.Series(pd.Categorical.from_codes(np.arange(300) % 150, [f"k{i}" for i in range(150)])),
    ]


@pytest.mark.parametrize("series", _categoricals(), ids=lambda s: str(list(s.head(3))))
def test_categorical_factorization_equals_pandas(series: pd.Series) -> None:
    codes, uniques = _factorize_column(series)
    expected_codes, expected_uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    np.testing.assert_array_equal(codes, expected_codes)
    assert list(np.asarray(uniques, dtype=object)) == list(
        np.asarray(expected_uniques, dtype=object)
    )


def test_one_group_column_keeps_its_codes_and_two_combine() -> None:
    frame = pd.DataFrame({"a": pd.Categorical(["x", "y", "x"]), "b": [1, 1, 2]})
    one = factorize(frame, ("a",))
    assert one.codes.dtype == np.int64
    assert one.codes.tolist() == [0, 1, 0]
    assert one.keys == (("x",), ("y",))
    both = factorize(frame, ("a", "b"))
    assert both.codes.tolist() == [0, 2, 1]
    assert both.keys == (("x", 1), ("x", 2), ("y", 1))
    assert factorize(frame, ()).codes.tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    "values",
    [[0, 1, 1], [1, 1], [0], [0, 2], [-1, 1], [0.0, 1.0], [0.5, 1.0], [np.uint8(1), np.uint8(0)]],
    ids=str,
)
def test_zero_one_check_equals_the_float_comparison(values: list[float]) -> None:
    series = pd.Series(values)
    as_float = series.to_numpy(dtype=np.float64)
    assert _zero_one(series) == bool(((as_float == 0) | (as_float == 1)).all())


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "g": pd.Categorical(["a", "b", "a"]),
            "s": ["x", "y", "z"],
            "y": [0, 1, 1],
            "f": [0.5, np.nan, 2.0],
            "t": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
        }
    )


def test_fingerprint_is_stable_and_sensitive_to_the_data() -> None:
    frame = _frame()
    digest = fingerprint_frame(frame)
    assert len(digest) == 64
    assert fingerprint_frame(_frame()) == digest  # equal data, equal digest
    assert fingerprint_frame(frame.copy(deep=True)) == digest
    changed = [
        frame.assign(y=[0, 1, 0]),
        frame.assign(s=["x", "y", "w"]),
        frame.assign(g=pd.Categorical(["a", "b", "b"])),
        frame.assign(g=pd.Categorical(["a", "b", "a"], categories=["b", "a"])),
        frame.rename(columns={"y": "label"}),
        frame.set_axis([1, 2, 3]),
        frame.astype({"y": np.int32}),
        frame.iloc[:2],
    ]
    digests = {fingerprint_frame(f) for f in changed}
    assert digest not in digests
    assert len(digests) == len(changed)


def test_the_report_names_what_the_frame_fingerprint_hashes() -> None:
    policy = rulecheck.load_policy(
        "version: 1\nname: fp\ntarget: {label: y, prediction: y}\nrules:\n"
        "  - {id: dp, kind: demographic_parity, by: g, max_difference: 1.0}\n"
    )
    report = rulecheck.evaluate(policy, data=_frame())
    assert report.data["sha256"] == fingerprint_frame(_frame())
    assert report.data["sha256_of"] == FRAME_FINGERPRINT
