"""loss_attribution: SHAP of the per-row loss, additivity, and the worst group's driver shares."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.linear_model import LogisticRegression

import rulecheck
from rulecheck.engines.attribution import explain_loss
from rulecheck.engines.losses import get_loss
from rulecheck.verdict import Status


def frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n)
    a = rng.normal(size=n)
    b = rng.normal(size=n) + sex
    y = (rng.random(n) < 1 / (1 + np.exp(-(a + 0.8 * b - 0.5)))).astype(int)
    return pd.DataFrame({"sex": sex, "a": a, "b": b, "y": y, "g": np.where(sex == 1, "m", "f")})


INPUTS = ["sex", "a", "b"]


def per_row_log_loss(model: object, data: pd.DataFrame) -> np.ndarray:
    p = model.predict_proba(data[INPUTS])[:, 1]  # type: ignore[attr-defined]
    y = data["y"].to_numpy()
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


@pytest.fixture(scope="module")
def lightgbm_model() -> tuple[pd.DataFrame, object]:
    data = frame()
    return data, lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(data[INPUTS], data["y"])


def test_tree_path_equals_direct_shap_and_is_additive(
    lightgbm_model: tuple[pd.DataFrame, object],
) -> None:
    data, model = lightgbm_model
    result = explain_loss(
        model,
        data[INPUTS],
        data["y"].to_numpy() == 1,
        loss=get_loss("log_loss"),
        background_size=50,
    )
    assert result.explainer == "tree"
    background = data[INPUTS].iloc[
        np.sort(
            np.random.default_rng(np.random.SeedSequence(0).spawn(2)[1]).choice(
                len(data), 50, replace=False
            )
        )
    ]
    explainer = shap.TreeExplainer(
        model, data=background, feature_perturbation="interventional", model_output="log_loss"
    )
    labels = data["y"].to_numpy(dtype=float)
    direct = explainer.shap_values(data[INPUTS], labels)
    np.testing.assert_allclose(result.values, direct, atol=1e-9)
    expected = np.where(labels == 1, explainer.expected_value(1.0), explainer.expected_value(0.0))
    np.testing.assert_allclose(
        result.values.sum(axis=1) + expected, per_row_log_loss(model, data), atol=1e-6
    )


def test_model_agnostic_path_is_additive() -> None:
    data = frame(60, 1)
    model = LogisticRegression().fit(data[INPUTS], data["y"])
    result = explain_loss(
        model,
        data[INPUTS],
        data["y"].to_numpy() == 1,
        loss=get_loss("log_loss"),
        background_size=30,
    )
    assert result.explainer == "exact"
    # The expected loss depends on the label: recover it per label from the additivity gap.
    gap = per_row_log_loss(model, data) - result.values.sum(axis=1)
    for label in (0, 1):
        chosen = gap[data["y"].to_numpy() == label]
        assert np.ptp(chosen) < 1e-9  # one constant expected loss per label value


def test_non_probability_loss_is_refused() -> None:
    data = frame(50)
    model = LogisticRegression().fit(data[INPUTS], data["y"])
    with pytest.raises(rulecheck.InputError, match="takes decision"):
        explain_loss(model, data[INPUTS], data["y"].to_numpy() == 1, loss=get_loss("zero_one"))


POLICY = """\
version: 1
name: loss-drivers
attribution: {background_size: 50}
rules:
  - id: drivers
    kind: loss_attribution
    by: g
    features: [b]
    max_share: 0.9
    min_group_size: 10
"""


def test_rule_share_is_the_worst_groups_share(lightgbm_model: tuple[pd.DataFrame, object]) -> None:
    data, model = lightgbm_model
    report = rulecheck.evaluate(POLICY, data=data, model=model, label="y", features=INPUTS)
    verdict = report.verdicts[0]
    assert verdict.status is Status.PASS, verdict.message
    losses = pd.Series(per_row_log_loss(model, data)).groupby(data["g"]).mean()
    worst = losses.idxmax()
    info = dict(verdict.info)
    assert info["worst_group"] == f"g={worst}"
    assert info["worst_group_mean_loss"] == pytest.approx(losses[worst], abs=1e-9)
    result = explain_loss(
        model,
        data[INPUTS],
        data["y"].to_numpy() == 1,
        loss=get_loss("log_loss"),
        background_size=50,
    )
    rows = (data["g"] == worst).to_numpy()
    mean_abs = np.abs(result.values[rows]).mean(axis=0)
    assert verdict.value == pytest.approx(mean_abs[INPUTS.index("b")] / mean_abs.sum(), abs=1e-9)
    assert {g.group[0][1] for g in verdict.groups} == {"f", "m"}
