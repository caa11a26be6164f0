"""Differential tests of the group-metric engine against fairlearn and scikit-learn.

Every metric in ``rulecheck.engines.fairness`` is compared per group with fairlearn's
``MetricFrame`` over fairlearn / scikit-learn metric functions (or a hand formula from
scikit-learn's ``confusion_matrix`` where neither library has the metric), at 1e-9, on real data
(scikit-learn's bundled datasets, the COMPAS example when present) and on generated data.

"Undefined wins": where a group's denominator is zero rulecheck reports the metric as undefined
(None / NaN) while scikit-learn and fairlearn may return 0.0 (or a forced r2). The tests compare
the defined values and assert separately that the undefined ones are exactly the zero-denominator
groups, with the denominators taken from scikit-learn's ``confusion_matrix``.

The last part checks the rule layer's difference / ratio semantics (via ``rulecheck.evaluate``)
against ``MetricFrame.difference`` / ``.ratio`` and fairlearn's derived fairness metrics.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn
from fairlearn import metrics as flm
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import rulecheck
from rulecheck.engines.context import DataContext, TargetSpec
from rulecheck.engines.fairness import COUNT_METRICS, VALUE_METRICS

TOL = 1e-9
COMPAS = Path(__file__).resolve().parents[2] / "examples" / "compas" / "compas.csv"

pytestmark = [
    # scikit-learn and fairlearn warn about zero denominators and single-class groups: exactly
    # the cases these tests are about.
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning"),
]

MetricFn = Callable[[Any, Any], Any]


# -- the oracle ----------------------------------------------------------------------------------
def _confusion(y_true: Any, y_pred: Any) -> tuple[int, int, int, int]:
    """(tn, fp, fn, tp) from scikit-learn."""
    tn, fp, fn, tp = skm.confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    return int(tn), int(fp), int(fn), int(tp)


def _hand(numerator: Callable[..., int], denominator: Callable[..., int]) -> MetricFn:
    """A metric as a ratio of confusion-matrix cells; NaN on a zero denominator."""

    def metric(y_true: Any, y_pred: Any) -> float:
        cells = _confusion(y_true, y_pred)
        den = denominator(*cells)
        return numerator(*cells) / den if den else math.nan

    return metric


COUNT_ORACLE: dict[str, MetricFn] = {
    "selection_rate": partial(flm.selection_rate, pos_label=1),
    "true_positive_rate": partial(flm.true_positive_rate, pos_label=1),
    "false_positive_rate": partial(flm.false_positive_rate, pos_label=1),
    "true_negative_rate": partial(flm.true_negative_rate, pos_label=1),
    "false_negative_rate": partial(flm.false_negative_rate, pos_label=1),
    "precision": partial(skm.precision_score, zero_division=np.nan),
    "negative_predictive_value": _hand(lambda tn, fp, fn, tp: tn, lambda tn, fp, fn, tp: tn + fn),
    "false_discovery_rate": _hand(lambda tn, fp, fn, tp: fp, lambda tn, fp, fn, tp: fp + tp),
    "false_omission_rate": _hand(lambda tn, fp, fn, tp: fn, lambda tn, fp, fn, tp: fn + tn),
    "accuracy": skm.accuracy_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
    "f1": partial(skm.f1_score, zero_division=np.nan),
}

# The denominator of each count metric, from the confusion cells (tn, fp, fn, tp): the metric is
# undefined exactly where it is zero. balanced_accuracy averages the recalls of the classes
# present, so it is defined for every non-empty group.
DENOMINATOR: dict[str, Callable[[int, int, int, int], int]] = {
    "selection_rate": lambda tn, fp, fn, tp: tn + fp + fn + tp,
    "true_positive_rate": lambda tn, fp, fn, tp: tp + fn,
    "false_positive_rate": lambda tn, fp, fn, tp: fp + tn,
    "true_negative_rate": lambda tn, fp, fn, tp: tn + fp,
    "false_negative_rate": lambda tn, fp, fn, tp: fn + tp,
    "precision": lambda tn, fp, fn, tp: tp + fp,
    "negative_predictive_value": lambda tn, fp, fn, tp: tn + fn,
    "false_discovery_rate": lambda tn, fp, fn, tp: fp + tp,
    "false_omission_rate": lambda tn, fp, fn, tp: fn + tn,
    "accuracy": lambda tn, fp, fn, tp: tn + fp + fn + tp,
    "balanced_accuracy": lambda tn, fp, fn, tp: tn + fp + fn + tp,
    "f1": lambda tn, fp, fn, tp: 2 * tp + fp + fn,
}

VALUE_ORACLE: dict[str, MetricFn] = {
    "mean_prediction": flm.mean_prediction,
    "mean_absolute_error": skm.mean_absolute_error,
    "mean_squared_error": skm.mean_squared_error,
    "r2": skm.r2_score,
}


def _r2_defined(y_true: Any, _y_pred: Any) -> bool:
    values = np.asarray(y_true, dtype=np.float64)
    return len(values) >= 2 and bool(values.min() != values.max())


VALUE_DEFINED: dict[str, MetricFn] = {
    "mean_prediction": lambda y, p: len(y) > 0,
    "mean_absolute_error": lambda y, p: len(y) > 0,
    "mean_squared_error": lambda y, p: len(y) > 0,
    "r2": _r2_defined,
}


def test_oracle_covers_every_engine_metric() -> None:
    assert set(COUNT_ORACLE) == set(DENOMINATOR) == set(COUNT_METRICS)
    assert set(VALUE_ORACLE) == set(VALUE_DEFINED) == set(VALUE_METRICS)


def _metric_frame(
    metrics: dict[str, MetricFn],
    y: Any,
    p: Any,
    sensitive: pd.Series | pd.DataFrame,
    *,
    confusion: bool = True,
) -> flm.MetricFrame:
    extra: dict[str, MetricFn] = {"_n": flm.count}
    if confusion:
        extra["_confusion"] = _confusion
    # Parameter validation costs more than the metrics on tiny groups; it changes no result.
    with sklearn.config_context(skip_parameter_validation=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return flm.MetricFrame(
            metrics={**metrics, **extra},
            y_true=y,
            y_pred=p,
            sensitive_features=sensitive,
        )


def _key(index_value: Any) -> tuple[Any, ...]:
    return index_value if isinstance(index_value, tuple) else (index_value,)


def _oracle_rows(frame: flm.MetricFrame) -> Iterator[tuple[tuple[Any, ...], pd.Series]]:
    """(group key, row) for every non-empty group (fairlearn also lists empty intersections)."""
    for index_value, row in frame.by_group.iterrows():
        if not pd.isna(row["_n"]) and row["_n"] > 0:
            yield _key(index_value), row


def _close(actual: float, expected: float) -> bool:
    return abs(actual - expected) <= TOL


def _context(frame: pd.DataFrame, **spec: Any) -> DataContext:
    return DataContext(frame, TargetSpec(**spec))


def assert_count_metrics_match(
    frame: pd.DataFrame, by: tuple[str, ...], label: str = "y", prediction: str = "p"
) -> None:
    """Every count metric of ``by`` groups equals the oracle; undefined iff denominator 0."""
    ctx = _context(frame, label=label, prediction=prediction)
    y = frame[label].to_numpy().astype(int)
    p = frame[prediction].to_numpy().astype(int)
    sensitive = frame[by[0]] if len(by) == 1 else frame[list(by)]
    oracle = _metric_frame(COUNT_ORACLE, y, p, sensitive)
    rows = dict(_oracle_rows(oracle))
    overall_cells = _confusion(y, p)
    for metric in COUNT_METRICS:
        table = ctx.group_metric(metric, by)
        assert set(table.keys) == set(rows), metric
        for key, n, value in zip(table.keys, table.n, table.values, strict=True):
            row = rows[key]
            assert n == row["_n"], (metric, key)
            if DENOMINATOR[metric](*row["_confusion"]) == 0:
                assert value is None, (metric, key, value)
            else:
                assert value is not None, (metric, key)
                assert _close(value, row[metric]), (metric, key, value, row[metric])
        if DENOMINATOR[metric](*overall_cells) == 0:
            assert table.overall is None, metric
        else:
            assert table.overall is not None, metric
            assert _close(table.overall, oracle.overall[metric]), metric
        assert ctx.overall_metric(metric) == table.overall


def assert_value_metrics_match(
    frame: pd.DataFrame, by: tuple[str, ...], ctx: DataContext, y: Any, p: Any
) -> None:
    """Every regression metric equals the oracle; undefined exactly where VALUE_DEFINED says."""
    sensitive = frame[by[0]] if len(by) == 1 else frame[list(by)]
    oracle = _metric_frame(VALUE_ORACLE, y, p, sensitive, confusion=False)
    defined = _metric_frame(VALUE_DEFINED, y, p, sensitive, confusion=False)
    rows = dict(_oracle_rows(oracle))
    defined_rows = dict(_oracle_rows(defined))
    for metric in VALUE_METRICS:
        table = ctx.group_metric(metric, by)
        assert set(table.keys) == set(rows), metric
        for key, n, value in zip(table.keys, table.n, table.values, strict=True):
            assert n == rows[key]["_n"]
            if not defined_rows[key][metric]:
                assert value is None, (metric, key, value)
            else:
                assert value is not None, (metric, key)
                assert _close(value, rows[key][metric]), (metric, key, value, rows[key][metric])
        if VALUE_DEFINED[metric](y, p):
            assert table.overall is not None
            assert _close(table.overall, oracle.overall[metric]), metric
        else:
            assert table.overall is None


# -- real data -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    """Breast cancer with a deliberately weak model, so that groups differ and some groups have
    a single label class (undefined TPR or FPR)."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    features = ["mean texture", "mean smoothness", "mean symmetry"]
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[features], y)
    radius = pd.qcut(X["mean radius"], 4, labels=["r1", "r2", "r3", "r4"])
    texture = pd.qcut(X["mean texture"], 3, labels=["t1", "t2", "t3"])
    return pd.DataFrame(
        {
            "radius": radius.astype(str),
            "texture": texture,  # categorical on purpose
            "y": y.to_numpy(),
            "p": model.predict(X[features]),
            "s": model.predict_proba(X[features])[:, 1],
        }
    )


@pytest.fixture(scope="module")
def diabetes() -> pd.DataFrame:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = LinearRegression().fit(X, y)
    return pd.DataFrame(
        {
            "sex": np.where(X["sex"] > 0, "M", "F"),
            "age": pd.qcut(X["age"], 5, labels=False),  # integer group values 0..4
            "y": y.to_numpy(),
            "p": model.predict(X),
        }
    )


@pytest.fixture(scope="module")
def compas() -> pd.DataFrame:
    if not COMPAS.exists():
        pytest.skip(f"{COMPAS} not present")
    return pd.read_csv(COMPAS, usecols=["race", "sex", "two_year_recid", "compas_high"])


def test_real_data_has_the_edge_cases(cancer: pd.DataFrame) -> None:
    # The intersectional cancer groups include single-class groups: keep the fixture honest.
    by_group = cancer.groupby(["radius", "texture"], observed=True)["y"].agg(["min", "max"])
    assert ((by_group["min"] == 1) & (by_group["max"] == 1)).any()
    assert ((by_group["min"] == 0) & (by_group["max"] == 0)).any()


@pytest.mark.parametrize("by", [("radius",), ("texture",), ("radius", "texture")], ids=str)
def test_count_metrics_breast_cancer(cancer: pd.DataFrame, by: tuple[str, ...]) -> None:
    assert_count_metrics_match(cancer, by)


@pytest.mark.parametrize("by", [("race",), ("race", "sex")], ids=str)
def test_count_metrics_compas(compas: pd.DataFrame, by: tuple[str, ...]) -> None:
    assert_count_metrics_match(compas, by, label="two_year_recid", prediction="compas_high")


@pytest.mark.parametrize("by", [("sex",), ("age",), ("sex", "age")], ids=str)
def test_value_metrics_diabetes(diabetes: pd.DataFrame, by: tuple[str, ...]) -> None:
    ctx = _context(diabetes, label="y", prediction="p", task="regression")
    assert_value_metrics_match(diabetes, by, ctx, diabetes["y"], diabetes["p"])


@pytest.mark.parametrize("by", [("radius",), ("radius", "texture")], ids=str)
def test_value_metrics_on_scores_breast_cancer(cancer: pd.DataFrame, by: tuple[str, ...]) -> None:
    # A classifier with scores: value metrics use the scores against 0/1 labels (MSE = Brier).
    ctx = _context(cancer, label="y", score="s")
    assert_value_metrics_match(cancer, by, ctx, cancer["y"].astype(float), cancer["s"])


def test_overall_roc_auc_and_log_loss_breast_cancer(cancer: pd.DataFrame) -> None:
    ctx = _context(cancer, label="y", score="s")
    roc_auc = ctx.overall_metric("roc_auc")
    log_loss = ctx.overall_metric("log_loss")
    assert roc_auc is not None
    assert log_loss is not None
    assert _close(roc_auc, skm.roc_auc_score(cancer["y"], cancer["s"]))
    assert _close(log_loss, skm.log_loss(cancer["y"], cancer["s"]))


def test_overall_roc_auc_and_log_loss_compas() -> None:
    if not COMPAS.exists():
        pytest.skip(f"{COMPAS} not present")
    frame = pd.read_csv(COMPAS, usecols=["two_year_recid", "decile_score"])
    frame["s"] = frame["decile_score"] / 10
    ctx = _context(frame, label="two_year_recid", score="s")
    roc_auc = ctx.overall_metric("roc_auc")
    log_loss = ctx.overall_metric("log_loss")
    assert roc_auc is not None
    assert log_loss is not None
    assert _close(roc_auc, skm.roc_auc_score(frame["two_year_recid"], frame["s"]))
    assert _close(log_loss, skm.log_loss(frame["two_year_recid"], frame["s"]))


# -- generated data ------------------------------------------------------------------------------
GROUP_VALUES = (("a", "b", "c", "d", "e", "f"), (5, 3, 0, 1, 4, 2))


@st.composite
def binary_frames(draw: st.DrawFn, columns: tuple[str, ...] = ("g",)) -> pd.DataFrame:
    """Up to 40 rows of 0/1 labels and predictions with 1-6 groups per column: small groups,
    single-class groups and groups without predicted positives come up constantly."""
    n = draw(st.integers(1, 40))
    most = 6 if len(columns) == 1 else 3
    data: dict[str, Any] = {}
    for column in columns:
        values = draw(st.sampled_from(GROUP_VALUES))[: draw(st.integers(1, most))]
        data[column] = draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))
    bits = st.lists(st.integers(0, 1), min_size=n, max_size=n)
    data["y"] = draw(bits)
    data["p"] = draw(bits)
    return pd.DataFrame(data)


SINGLE_ROW_GROUP = pd.DataFrame(
    {"g": ["a", "b", "b", "b", "c", "c"], "y": [1, 0, 1, 1, 0, 0], "p": [0, 0, 1, 0, 0, 0]}
)
NO_POSITIVES_AT_ALL = pd.DataFrame({"g": ["a", "a", "b"], "y": [0, 0, 0], "p": [0, 0, 0]})


@given(frame=binary_frames())
@example(frame=SINGLE_ROW_GROUP)
@example(frame=NO_POSITIVES_AT_ALL)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_count_metrics_generated(frame: pd.DataFrame) -> None:
    assert_count_metrics_match(frame, ("g",))


@given(frame=binary_frames(columns=("g", "h")))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_count_metrics_intersectional_generated(frame: pd.DataFrame) -> None:
    assert_count_metrics_match(frame, ("g", "h"))


# Labels from a grid that includes values such as 0.1 whose group mean is inexact, so that a
# constant-label group leaves rounding noise in the total sum of squares.
LABELS = st.sampled_from([-1.5, 0.0, 0.1, 0.3, 0.7, 2.0, 10.0])
PREDICTIONS = st.floats(-20, 20, allow_nan=False, allow_infinity=False)


@st.composite
def regression_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 40))
    values = draw(st.sampled_from(GROUP_VALUES))[: draw(st.integers(1, 6))]
    return pd.DataFrame(
        {
            "g": draw(st.lists(st.sampled_from(values), min_size=n, max_size=n)),
            "y": draw(st.lists(LABELS, min_size=n, max_size=n)),
            "p": draw(st.lists(PREDICTIONS, min_size=n, max_size=n)),
        }
    )


CONSTANT_POINT_ONE = pd.DataFrame(
    {"g": ["a"] * 3 + ["b"] * 3, "y": [0.1] * 3 + [0.3, 0.7, 2.0], "p": [0.0, 1.0, 2.0] * 2}
)


@given(frame=regression_frames())
@example(frame=CONSTANT_POINT_ONE)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_value_metrics_generated(frame: pd.DataFrame) -> None:
    ctx = _context(frame, label="y", prediction="p", task="regression")
    assert_value_metrics_match(frame, ("g",), ctx, frame["y"], frame["p"])


def test_r2_constant_labels_with_inexact_mean_is_undefined() -> None:
    # sum([0.1] * 3) / 3 != 0.1 in floating point; r2 must still be undefined, not about -1e33.
    ctx = _context(CONSTANT_POINT_ONE, label="y", prediction="p", task="regression")
    table = ctx.group_metric("r2", ("g",))
    assert table.values[0] is None
    assert table.values[1] is not None


@given(
    y=st.lists(st.integers(0, 1), min_size=1, max_size=40),
    data=st.data(),
)
@settings(max_examples=30, deadline=None)
def test_overall_roc_auc_and_log_loss_generated(y: list[int], data: st.DataObject) -> None:
    scores = data.draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=len(y), max_size=len(y)))
    frame = pd.DataFrame({"y": y, "s": scores})
    ctx = _context(frame, label="y", score="s")
    roc_auc = ctx.overall_metric("roc_auc")
    if len(set(y)) < 2:
        assert roc_auc is None  # undefined with one class; scikit-learn raises
    else:
        assert roc_auc is not None
        assert _close(roc_auc, skm.roc_auc_score(y, scores))
    log_loss = ctx.overall_metric("log_loss")
    assert log_loss is not None
    assert _close(log_loss, skm.log_loss(y, scores, labels=[0, 1]))


# -- rule layer: difference and ratio semantics ----------------------------------------------------
def _undefined_as_nan(metric: str) -> MetricFn:
    """The oracle metric, NaN where the denominator is zero (fairlearn's rates return 0.0)."""
    if metric not in COUNT_ORACLE:
        oracle, defined = VALUE_ORACLE[metric], VALUE_DEFINED[metric]
        return lambda y, p: oracle(y, p) if defined(y, p) else math.nan
    oracle, denominator = COUNT_ORACLE[metric], DENOMINATOR[metric]
    return lambda y, p: oracle(y, p) if denominator(*_confusion(y, p)) else math.nan


def _policy(*rules: str) -> str:
    lines = ["version: 1", "name: oracle", "rules:"]
    lines.extend(f"  - {{{rule}}}" for rule in rules)
    return "\n".join(lines) + "\n"


def _semantics_policy(metric: str, by: tuple[str, ...], big: float) -> str:
    by_yaml = by[0] if len(by) == 1 else "[" + ", ".join(by) + "]"
    common = f"kind: group_metric, metric: {metric}, by: {by_yaml}, min_group_size: 1"
    return _policy(
        f"id: between-diff, {common}, max_difference: {big}",
        f"id: between-ratio, {common}, min_ratio: 0.000001",
        f"id: overall-diff, {common}, relative_to: overall, max_difference: {big}",
    )


def assert_semantics_match(
    frame: pd.DataFrame,
    metric: str,
    by: tuple[str, ...],
    *,
    label: str = "y",
    prediction: str = "p",
    task: str | None = None,
) -> None:
    """Group-metric rule values equal MetricFrame.difference / .ratio on NaN-aware metrics;
    where the oracle has too few defined groups (or a zero maximum), the verdict is ERROR."""
    big = 1 if metric in COUNT_METRICS else 1e12
    policy = _semantics_policy(metric, by, big)
    if task is not None:
        policy = policy.replace("rules:", f"target: {{task: {task}}}\nrules:")
    report = rulecheck.evaluate(policy, data=frame, label=label, prediction=prediction)
    sensitive = frame[by[0]] if len(by) == 1 else frame[list(by)]
    mf = _metric_frame(
        {metric: _undefined_as_nan(metric)},
        frame[label],
        frame[prediction],
        sensitive,
        confusion=metric in COUNT_METRICS,
    )
    values = mf.by_group[metric].dropna()
    between, ratio, overall = (
        report.verdict(i) for i in ("between-diff", "between-ratio", "overall-diff")
    )
    if len(values) < 2:
        assert between.status.value == "error", between.message
        assert ratio.status.value == "error", ratio.message
    else:
        assert between.value is not None
        assert _close(between.value, mf.difference(method="between_groups")[metric])
        if values.max() == 0:
            assert ratio.status.value == "error", ratio.message
        else:
            assert ratio.value is not None
            assert _close(ratio.value, mf.ratio(method="between_groups")[metric])
    if len(values) == 0 or pd.isna(mf.overall[metric]):
        assert overall.status.value == "error", overall.message
    else:
        assert overall.value is not None, overall.message
        assert _close(overall.value, mf.difference(method="to_overall")[metric])


SEMANTICS_METRICS = (
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "precision",
    "balanced_accuracy",
    "f1",
)


@pytest.mark.parametrize("metric", SEMANTICS_METRICS)
@pytest.mark.parametrize("by", [("radius",), ("radius", "texture")], ids=str)
def test_difference_and_ratio_semantics_breast_cancer(
    cancer: pd.DataFrame, metric: str, by: tuple[str, ...]
) -> None:
    assert_semantics_match(cancer, metric, by)


@pytest.mark.parametrize("metric", SEMANTICS_METRICS)
def test_difference_and_ratio_semantics_compas(compas: pd.DataFrame, metric: str) -> None:
    assert_semantics_match(
        compas, metric, ("race",), label="two_year_recid", prediction="compas_high"
    )


@pytest.mark.parametrize("metric", sorted(VALUE_METRICS))
def test_difference_semantics_diabetes(diabetes: pd.DataFrame, metric: str) -> None:
    assert_semantics_match(diabetes, metric, ("sex", "age"), task="regression")


@given(
    frame=binary_frames(),
    metric=st.sampled_from(["selection_rate", "true_positive_rate", "precision", "f1"]),
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_difference_and_ratio_semantics_generated(frame: pd.DataFrame, metric: str) -> None:
    assert_semantics_match(frame, metric, ("g",))


def _fairness_policy(by: str) -> str:
    common = f"by: {by}, min_group_size: 1"
    return _policy(
        f"id: eodds, kind: equalized_odds, {common}, max_difference: 1",
        f"id: dp, kind: demographic_parity, {common}, max_difference: 1",
        f"id: di, kind: disparate_impact, {common}",
        f"id: eo, kind: equal_opportunity, {common}, max_difference: 1",
    )


def assert_fairness_rules_match(frame: pd.DataFrame, by: str, label: str, prediction: str) -> None:
    y, p, sensitive = frame[label], frame[prediction], frame[by]
    # fairlearn's rates are 0.0 where rulecheck's are undefined: only compare where all are defined.
    cells = frame.groupby(by)[[label, prediction]].apply(
        lambda g: _confusion(g[label], g[prediction])
    )
    assert all(tp + fn > 0 and fp + tn > 0 for tn, fp, fn, tp in cells)
    report = rulecheck.evaluate(
        _fairness_policy(by), data=frame, label=label, prediction=prediction
    )
    expected = {
        "eodds": flm.equalized_odds_difference(y, p, sensitive_features=sensitive),
        "dp": flm.demographic_parity_difference(y, p, sensitive_features=sensitive),
        "di": flm.demographic_parity_ratio(y, p, sensitive_features=sensitive),
        "eo": flm.equal_opportunity_difference(y, p, sensitive_features=sensitive),
    }
    for rule_id, value in expected.items():
        verdict = report.verdict(rule_id)
        assert verdict.value is not None, verdict.message
        assert _close(verdict.value, value), (rule_id, verdict.value, value)


@pytest.mark.parametrize("by", ["race", "sex"])
def test_fairness_rules_match_fairlearn_compas(compas: pd.DataFrame, by: str) -> None:
    assert_fairness_rules_match(compas, by, "two_year_recid", "compas_high")


def test_fairness_rules_match_fairlearn_breast_cancer(cancer: pd.DataFrame) -> None:
    assert_fairness_rules_match(cancer, "texture", "y", "p")


def test_failing_equalized_odds_value_is_the_worse_difference(compas: pd.DataFrame) -> None:
    pair = compas[compas["race"].isin(["African-American", "Caucasian"])]
    report = rulecheck.evaluate(
        _policy("id: eodds, kind: equalized_odds, by: race, max_difference: 0.1"),
        data=pair,
        label="two_year_recid",
        prediction="compas_high",
    )
    verdict = report.verdict("eodds")
    expected = flm.equalized_odds_difference(
        pair["two_year_recid"], pair["compas_high"], sensitive_features=pair["race"]
    )
    assert verdict.status.value == "fail"
    assert verdict.value is not None
    assert _close(verdict.value, expected)
