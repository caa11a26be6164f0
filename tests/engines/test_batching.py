"""Every model call goes through one batched path (ModelAdapter.predict_proba / predict /
margins): results equal an unbatched call, and no call sees more than ``rows_per_batch`` rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import rulecheck
from rulecheck.engines.model import DEFAULT_BATCH_BYTES, adapt


class Recording(LogisticRegression):
    """A logistic regression that records how many rows each call received."""

    sizes: list[int]

    def predict_proba(self, X):  # type: ignore[no-untyped-def,override]
        self.sizes.append(len(X))
        return super().predict_proba(X)


@pytest.fixture
def fitted() -> tuple[Recording, pd.DataFrame]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(size=2500), "b": rng.normal(size=2500)})
    y = (X["a"] + rng.normal(size=2500) > 0).astype(int)
    model = Recording().fit(X, y)
    model.sizes = []
    return model, X.assign(y=y, g=np.where(X["b"] > 0, "p", "q"))


def test_batches_equal_one_call_and_stay_within_the_batch(
    fitted: tuple[Recording, pd.DataFrame],
) -> None:
    model, frame = fitted
    adapter = adapt(model)
    whole = adapter.predict_proba(frame[["a", "b"]])
    assert model.sizes == [2500]  # the default budget fits 2,500 rows of 2 columns in one call
    adapter.batch_rows = 1000
    model.sizes.clear()
    parts = adapter.predict_proba(frame[["a", "b"]])
    assert model.sizes == [1000, 1000, 500]
    np.testing.assert_array_equal(parts, whole)


def test_default_batch_stays_under_the_memory_budget() -> None:
    adapter = adapt(LogisticRegression())
    wide = pd.DataFrame(np.zeros((1, 500)))
    rows = adapter.rows_per_batch(wide)
    assert rows * 500 * 8 * adapter.ACTIVATION_FACTOR <= DEFAULT_BATCH_BYTES


def test_an_audit_with_small_batches_gives_the_same_report(
    fitted: tuple[Recording, pd.DataFrame],
) -> None:
    model, frame = fitted
    policy = (
        "version: 1\nname: b\nrules:\n"
        "  - {id: dp, kind: demographic_parity, by: g, max_difference: 0.5}\n"
        "  - {id: auc, kind: performance, metric: roc_auc, min: 0.5}\n"
    )
    whole = rulecheck.evaluate(policy, data=frame, model=model, label="y", features=["a", "b"])
    adapter = adapt(model)
    adapter.batch_rows = 333
    model.sizes.clear()
    small = rulecheck.evaluate(policy, data=frame, model=adapter, label="y", features=["a", "b"])
    assert max(model.sizes) == 333
    assert [v.value for v in small.verdicts] == [v.value for v in whole.verdicts]
