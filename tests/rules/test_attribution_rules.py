"""attribution and proxy rules against direct shap / scikit-learn computations, and invariances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import normalized_mutual_info_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import rulecheck
from rulecheck.verdict import Status


def credit_frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["f", "m"], n)
    income = rng.normal(50, 15, n)
    debt = rng.normal(10, 5, n)
    noise = rng.normal(0, 1, n)
    logit = 0.08 * (income - 50) - 0.2 * (debt - 10) + 0.6 * (sex == "m")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"income": income, "debt": debt, "noise": noise, "sex": sex, "y": y})


def tree_model(frame: pd.DataFrame, inputs: list[str]) -> object:
    numeric = [c for c in inputs if c != "sex"]
    pre = ColumnTransformer(
        [("num", StandardScaler(), numeric)]
        + ([("cat", OneHotEncoder(), ["sex"])] if "sex" in inputs else [])
    )
    model = make_pipeline(
        pre, GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=0)
    )
    return model.fit(frame[inputs], frame["y"])


POLICY = """\
version: 1
name: attribution-test
rules:
  - {id: sex-share, kind: attribution, features: [sex], max_share: 0.5}
  - {id: sex-share-by-sex, kind: attribution, features: [sex], by: sex, max_share: 0.9, min_group_size: 1}
  - {id: income-rank, kind: attribution, features: [income], max_rank: 3}
"""


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, object]:
    frame = credit_frame()
    inputs = ["income", "debt", "noise", "sex"]
    return frame, tree_model(frame, inputs)


def direct_shares(model: object, frame: pd.DataFrame, inputs: list[str]) -> dict[str, float]:
    """shap.TreeExplainer on the final estimator, one-hot columns summed back to 'sex'."""
    pre, est = model[:-1], model[-1]  # type: ignore[index]
    matrix = pre.transform(frame[inputs])
    values = shap.TreeExplainer(est).shap_values(matrix)
    values = np.asarray(values)
    names = list(pre.get_feature_names_out())
    raw: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        source = name.split("__", 1)[1]
        source = "sex" if source.startswith("sex_") else source
        raw[source] = raw.get(source, 0) + values[:, j]
    mean_abs = {k: float(np.abs(v).mean()) for k, v in raw.items()}
    total = sum(mean_abs.values())
    return {k: v / total for k, v in mean_abs.items()}


def test_share_equals_direct_shap_call(fitted: tuple[pd.DataFrame, object]) -> None:
    frame, model = fitted
    inputs = ["income", "debt", "noise", "sex"]
    report = rulecheck.evaluate(POLICY, data=frame, model=model, label="y", features=inputs)
    expected = direct_shares(model, frame, inputs)
    verdict = report.verdict("sex-share")
    assert verdict.status is Status.PASS, verdict.message
    assert verdict.value == pytest.approx(expected["sex"], abs=1e-9)
    listed = {f.feature: f.value for f in verdict.features}
    for name, share in expected.items():
        assert listed[name] == pytest.approx(share, abs=1e-9)
    assert dict(verdict.info)["explainer"] == "tree"
    assert dict(verdict.info)["rows"] == len(frame)


def test_shares_by_group_equal_direct_per_group(fitted: tuple[pd.DataFrame, object]) -> None:
    frame, model = fitted
    inputs = ["income", "debt", "noise", "sex"]
    report = rulecheck.evaluate(POLICY, data=frame, model=model, label="y", features=inputs)
    verdict = report.verdict("sex-share-by-sex")
    for group in verdict.groups:
        rows = frame[frame["sex"] == group.group[0][1]]
        assert group.n == len(rows)
        assert group.value == pytest.approx(direct_shares(model, rows, inputs)["sex"], abs=1e-9)
    assert verdict.value == max(g.value for g in verdict.groups if g.value is not None)


def test_rank_bound(fitted: tuple[pd.DataFrame, object]) -> None:
    frame, model = fitted
    report = rulecheck.evaluate(
        POLICY, data=frame, model=model, label="y", features=["income", "debt", "noise", "sex"]
    )
    verdict = report.verdict("income-rank")
    # income drives the label: it is the most important input, so it is within the top 3
    assert verdict.value == 1.0
    assert verdict.status is Status.FAIL
    assert "importance rank of income 1 <= max_rank 3" in verdict.message


def test_attribution_without_model_is_an_error() -> None:
    frame = credit_frame(100)
    frame["p"] = frame["y"]
    report = rulecheck.evaluate(POLICY, data=frame, label="y", prediction="p")
    assert all(v.status is Status.ERROR for v in report.verdicts)
    assert "needs a model to explain" in report.verdicts[0].message


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 1000), threshold=st.floats(0.0, 1.0))
def test_unused_feature_has_share_zero_and_passes_any_max_share(
    seed: int, threshold: float
) -> None:
    frame = credit_frame(300, seed)
    inputs = ["income", "debt", "noise", "sex"]
    model = tree_model(frame.assign(noise=0.0), inputs)  # constant 'noise' is never split on
    policy = f"""
version: 1
name: unused
rules:
  - {{id: noise, kind: attribution, features: [noise], max_share: {threshold}}}
"""
    report = rulecheck.evaluate(policy, data=frame, model=model, label="y", features=inputs)
    verdict = report.verdicts[0]
    assert verdict.value == 0.0
    assert verdict.status is Status.PASS


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 1000), order=st.permutations(["income", "debt", "noise", "sex"]))
def test_column_order_and_duplicated_rows_do_not_change_shares(seed: int, order: list[str]) -> None:
    frame = credit_frame(300, seed)
    model = tree_model(frame, ["income", "debt", "noise", "sex"])
    base = rulecheck.evaluate(POLICY, data=frame, model=model, label="y", features=list(order))
    permuted = rulecheck.evaluate(
        POLICY, data=frame[[*reversed(frame.columns)]], model=model, label="y", features=list(order)
    )
    doubled = rulecheck.evaluate(
        POLICY,
        data=pd.concat([frame, frame], ignore_index=True),
        model=model,
        label="y",
        features=list(order),
    )
    shares = {f.feature: f.value for f in base.verdict("sex-share").features}
    for other in (permuted, doubled):
        other_shares = {f.feature: f.value for f in other.verdict("sex-share").features}
        assert other_shares.keys() == shares.keys()
        for name, value in shares.items():
            assert other_shares[name] == pytest.approx(value, abs=1e-9)


PROXY = """\
version: 1
name: proxy-test
rules:
  - {id: sex-proxy, kind: proxy, protected: sex, max_association: 0.3, max_auc: 0.8}
"""


def test_proxy_association_equals_sklearn_nmi_and_names_the_proxy() -> None:
    frame = credit_frame(800, 3)
    rng = np.random.default_rng(1)
    # 'title' copies sex except for 5% noise: a planted proxy
    flip = rng.random(len(frame)) < 0.05
    frame["title"] = np.where((frame["sex"] == "m") ^ flip, "Mr", "Ms")
    frame["p"] = frame["y"]
    report = rulecheck.evaluate(
        PROXY, data=frame, label="y", prediction="p", features=["income", "debt", "noise", "title"]
    )
    verdict = report.verdicts[0]
    assert verdict.status is Status.FAIL
    expected = normalized_mutual_info_score(frame["sex"], frame["title"])
    assert verdict.value == pytest.approx(expected, abs=1e-12)
    assert "association of title with sex (nmi)" in verdict.message
    assert verdict.features[0].feature == "title"
    auc = next(c for c in verdict.checks if c.bound == "max_auc")
    assert auc.value is not None
    assert auc.value > 0.9
