"""Sample weights: every weighted metric against fairlearn's MetricFrame with ``sample_params``
and scikit-learn's ``sample_weight``, at 1e-9, on Adult (census weights ``fnlwgt``) and on
generated data; plus the invariances that pin the semantics (unit weights equal no weights,
integer weights equal repeated rows) and the bad-weight messages.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

import rulecheck
from rulecheck.engines.context import DataContext, TargetSpec
from rulecheck.engines.fairness import COUNT_METRICS, VALUE_METRICS
from tests.engines.test_fairness_oracle import COUNT_ORACLE as UNWEIGHTED_ORACLE
from tests.engines.test_fairness_oracle import DENOMINATOR

TOL = 1e-9
ADULT = Path(__file__).resolve().parents[2] / "examples" / "adult" / "adult.csv.gz"

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning"),
]


def _weighted_cells(y: Any, p: Any, sample_weight: Any) -> tuple[float, float, float, float]:
    """(tn, fp, fn, tp) sums of weights, by hand (scikit-learn refuses all-zero weights)."""
    y, p, w = np.asarray(y), np.asarray(p), np.asarray(sample_weight, dtype=float)
    return tuple(float(w[(y == a) & (p == b)].sum()) for a, b in ((0, 0), (0, 1), (1, 0), (1, 1)))  # type: ignore[return-value]


def _hand(num: Any, den: Any) -> Any:
    def metric(y: Any, p: Any, sample_weight: Any) -> float:
        cells = _weighted_cells(y, p, sample_weight)
        d = den(*cells)
        return num(*cells) / d if d else math.nan

    return metric


# The unweighted oracle's fairlearn / scikit-learn functions all take sample_weight; the three
# hand-made ones are replaced by weighted twins. Denominators are the same formulas of the
# (weighted) cells.
COUNT_ORACLE = {
    **UNWEIGHTED_ORACLE,
    "negative_predictive_value": _hand(lambda tn, fp, fn, tp: tn, lambda tn, fp, fn, tp: tn + fn),
    "false_discovery_rate": _hand(lambda tn, fp, fn, tp: fp, lambda tn, fp, fn, tp: fp + tp),
    "false_omission_rate": _hand(lambda tn, fp, fn, tp: fn, lambda tn, fp, fn, tp: fn + tn),
}
VALUE_ORACLE = {
    "mean_prediction": flm.mean_prediction,
    "mean_absolute_error": skm.mean_absolute_error,
    "mean_squared_error": skm.mean_squared_error,
    "r2": skm.r2_score,
}


def _frame_oracle(metrics: dict[str, Any], y: Any, p: Any, groups: pd.Series, w: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return flm.MetricFrame(
            metrics=metrics,
            y_true=y,
            y_pred=p,
            sensitive_features=groups,
            sample_params={name: {"sample_weight": w} for name in metrics},
        )


def assert_weighted_count_metrics(frame: pd.DataFrame, by: str, weight: str) -> None:
    ctx = DataContext(frame, TargetSpec(label="y", prediction="p", sample_weight=weight))
    y, p, w = frame["y"].to_numpy(), frame["p"].to_numpy(), frame[weight].to_numpy(float)
    # fairlearn refuses a group whose weights are all 0: such groups are checked to be undefined
    # and the others against scikit-learn's functions directly.
    weighted_groups = frame.groupby(by)[weight].sum()
    oracle = (
        _frame_oracle(COUNT_ORACLE, y, p, frame[by], w) if (weighted_groups > 0).all() else None
    )
    for metric in COUNT_METRICS:
        table = ctx.group_metric(metric, (by,))
        assert table.weights is not None
        for (key,), n, value, total in zip(
            table.keys, table.n, table.values, table.weights, strict=True
        ):
            rows = (frame[by] == key).to_numpy()
            assert n == int(rows.sum())
            assert abs(total - w[rows].sum()) <= TOL * max(1.0, w[rows].sum())
            cells = _weighted_cells(y[rows], p[rows], w[rows])
            if DENOMINATOR[metric](*cells) == 0:
                assert value is None, (metric, key)
            else:
                if oracle is not None:
                    expected = oracle.by_group[metric][key]
                else:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        expected = COUNT_ORACLE[metric](y[rows], p[rows], sample_weight=w[rows])
                assert value is not None, (metric, key)
                assert abs(value - expected) <= TOL, (metric, key, value)
        overall_cells = _weighted_cells(y, p, w)
        if DENOMINATOR[metric](*overall_cells) == 0:
            assert table.overall is None
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = COUNT_ORACLE[metric](y, p, sample_weight=w)
            if oracle is not None:
                assert oracle.overall[metric] == pytest.approx(expected, abs=TOL, nan_ok=True)
            assert table.overall is not None
            assert abs(table.overall - expected) <= TOL, metric


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    if not ADULT.exists():
        pytest.skip(f"{ADULT} not present")
    frame = pd.read_csv(ADULT, usecols=["race", "sex", "fnlwgt", "income_over_50k", "age"])
    # A deterministic stand-in for a model's decisions that differs between groups.
    decision = (frame["age"] >= 40) & (frame["sex"] == "Male") | (frame["age"] >= 55)
    return frame.assign(y=frame["income_over_50k"], p=decision.astype(int))


@pytest.mark.parametrize("by", ["race", "sex"])
def test_weighted_count_metrics_match_fairlearn_on_adult(adult: pd.DataFrame, by: str) -> None:
    assert_weighted_count_metrics(adult, by, "fnlwgt")


def test_census_weights_change_the_four_fifths_ratio_on_adult(adult: pd.DataFrame) -> None:
    policy = """
version: 1
name: weighted
rules:
  - {id: di, kind: disparate_impact, by: race, reference_group: White, min_ratio: 0.01}
"""
    plain = rulecheck.evaluate(policy, adult, label="y", prediction="p")
    weighted = rulecheck.evaluate(policy, adult, label="y", prediction="p", sample_weight="fnlwgt")
    groups = adult.assign(w=adult["fnlwgt"], wp=adult["fnlwgt"] * adult["p"]).groupby("race")
    rates = groups["wp"].sum() / groups["w"].sum()
    expected = min(r / rates["White"] for g, r in rates.items() if g != "White")
    assert weighted.verdicts[0].value == pytest.approx(expected, abs=TOL)
    assert plain.verdicts[0].value != pytest.approx(expected, abs=1e-3)
    by_group = {g.group[0][1]: g for g in weighted.verdicts[0].groups}
    assert by_group["White"].weight == pytest.approx(
        float(adult.loc[adult.race == "White", "fnlwgt"].sum())
    )


@st.composite
def weighted_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 40))
    return pd.DataFrame(
        {
            "g": draw(st.lists(st.sampled_from("abcd"), min_size=n, max_size=n)),
            "y": draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
            "p": draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
            # zero weights come up often: a group can have rows but no weight in a cell
            "w": draw(
                st.lists(st.one_of(st.just(0.0), st.floats(0.01, 100.0)), min_size=n, max_size=n)
            ),
        }
    )


@given(frame=weighted_frames())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_weighted_count_metrics_match_fairlearn_on_generated_data(frame: pd.DataFrame) -> None:
    if not frame["w"].any():
        frame.loc[0, "w"] = 1.0
    assert_weighted_count_metrics(frame, "g", "w")


@given(frame=weighted_frames(), values=st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_weighted_value_metrics_match_scikit_learn(frame: pd.DataFrame, values: Any) -> None:
    n = len(frame)
    reals = st.floats(-50, 50, allow_nan=False)
    frame["yr"] = values.draw(st.lists(reals, min_size=n, max_size=n))
    frame["pr"] = values.draw(st.lists(reals, min_size=n, max_size=n))
    frame.loc[0, "w"] = max(float(frame.loc[0, "w"]), 1.0)
    spec = TargetSpec(label="yr", prediction="pr", task="regression", sample_weight="w")
    ctx = DataContext(frame, spec)
    for metric in VALUE_METRICS:
        table = ctx.group_metric(metric, ("g",))
        for (key,), value in zip(table.keys, table.values, strict=True):
            rows = (frame["g"] == key).to_numpy()
            y, p, w = frame["yr"][rows], frame["pr"][rows], frame["w"][rows]
            if w.sum() == 0:
                assert value is None, (metric, key)
                continue
            if metric == "r2":
                mean = (w * y).sum() / w.sum()
                ss_tot = (w * (y - mean) ** 2).sum()
                if rows.sum() < 2 or y.min() == y.max() or ss_tot == 0:
                    assert value is None, (metric, key)  # undefined wins over a forced 1.0/0.0
                    continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = VALUE_ORACLE[metric](y, p, sample_weight=w)
            if metric == "r2" and not np.isfinite(expected):
                continue
            assert value is not None
            assert abs(value - expected) <= TOL * max(1.0, abs(expected)), (metric, key)


def test_weighted_roc_auc_log_loss_and_losses_match_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    n = 500
    frame = pd.DataFrame(
        {
            "g": rng.choice(["a", "b"], n),
            "y": rng.integers(0, 2, n),
            "s": rng.uniform(0.01, 0.99, n),
            "w": rng.uniform(0, 3, n),
        }
    )
    ctx = DataContext(frame, TargetSpec(label="y", score="s", sample_weight="w"))
    y, s, w = frame["y"], frame["s"], frame["w"]
    assert ctx.overall_metric("roc_auc") == pytest.approx(
        skm.roc_auc_score(y, s, sample_weight=w), abs=TOL
    )
    assert ctx.overall_metric("log_loss") == pytest.approx(
        skm.log_loss(y, s, sample_weight=w), abs=TOL
    )
    table = ctx.group_loss("log_loss", {}, ("g",))
    for (key,), value in zip(table.keys, table.values, strict=True):
        rows = frame["g"] == key
        expected = skm.log_loss(y[rows], s[rows], sample_weight=w[rows], labels=[0, 1])
        assert value == pytest.approx(expected, abs=TOL)
    assert table.overall == pytest.approx(skm.log_loss(y, s, sample_weight=w), abs=TOL)


@given(frame=weighted_frames())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_unit_weights_equal_no_weights(frame: pd.DataFrame) -> None:
    frame["w"] = 1.0
    plain = DataContext(frame, TargetSpec(label="y", prediction="p"))
    weighted = DataContext(frame, TargetSpec(label="y", prediction="p", sample_weight="w"))
    for metric in COUNT_METRICS:
        a, b = plain.group_metric(metric, ("g",)), weighted.group_metric(metric, ("g",))
        assert a.values == b.values, metric
        assert a.overall == b.overall, metric
        assert b.weights == tuple(float(n) for n in b.n)


@given(frame=weighted_frames())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_integer_weights_equal_repeated_rows(frame: pd.DataFrame) -> None:
    frame["w"] = (frame["w"] // 30).astype(int)
    if not frame["w"].any():
        frame.loc[0, "w"] = 2
    repeated = frame.loc[frame.index.repeat(frame["w"])].reset_index(drop=True)
    weighted = DataContext(frame, TargetSpec(label="y", prediction="p", sample_weight="w"))
    plain = DataContext(repeated, TargetSpec(label="y", prediction="p"))
    for metric in COUNT_METRICS:
        table_w = weighted.group_metric(metric, ("g",))
        table_r = plain.group_metric(metric, ("g",))
        by_key = dict(zip(table_w.keys, table_w.values, strict=True))
        for key, value in zip(table_r.keys, table_r.values, strict=True):
            if value is None:
                assert by_key[key] is None, (metric, key)
            else:
                assert by_key[key] == pytest.approx(value, abs=TOL), (metric, key)


def test_min_group_weight_excludes_light_groups() -> None:
    frame = pd.DataFrame(
        {
            "g": ["a"] * 40 + ["b"] * 40 + ["c"] * 40,
            "y": [0, 1] * 60,
            "p": [1] * 40 + [0, 1] * 20 + [0] * 40,
            "w": [1.0] * 80 + [0.01] * 40,
        }
    )
    policy = """
version: 1
name: w
target: {label: y, prediction: p, sample_weight: w}
rules:
  - {id: dp, kind: demographic_parity, by: g, max_difference: 0.6, min_group_weight: 5}
"""
    verdict = rulecheck.evaluate(policy, frame).verdicts[0]
    assert verdict.status.value == "pass"  # c (selection rate 0) is too light to count
    assert verdict.value == pytest.approx(0.5)
    assert "min_group_weight 5: g=c (n=40, weight 0.4)" in verdict.message
    excluded = {g.group[0][1]: g.excluded for g in verdict.groups}
    assert excluded == {"a": False, "b": False, "c": True}


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1.0, -1.0, 1.0, 1.0], "1 negative, missing or infinite weights (first at row 1: -1.0)"),
        ([1.0, np.nan, 1.0, 1.0], "has 1 missing value (first at row 1)"),
        ([1.0, 1.0, np.inf, 1.0], "1 negative, missing or infinite weights (first at row 2: inf)"),
        ([0.0, 0.0, 0.0, 0.0], "is 0 on every row"),
        (["a", "b", "c", "d"], "is not numeric"),
    ],
)
def test_bad_weights_are_input_errors_naming_the_column(weights: list[Any], message: str) -> None:
    frame = pd.DataFrame({"g": ["a", "b"] * 2, "y": [0, 1] * 2, "p": [1, 1, 0, 1], "w": weights})
    policy = """
version: 1
name: w
target: {label: y, prediction: p, sample_weight: w}
rules:
  - {id: dp, kind: demographic_parity, by: g, min_group_size: 1}
  - {id: acc, kind: performance, metric: accuracy, min: 0.1}
"""
    report = rulecheck.evaluate(policy, frame)
    for verdict in report.verdicts:
        assert verdict.status.value == "error"
        assert message in verdict.message
        if "numeric" not in message:
            assert "sample_weight column 'w'" in verdict.message


def test_sample_weight_array_through_the_api_follows_target_where() -> None:
    frame = pd.DataFrame(
        {
            "g": ["a", "b"] * 50,
            "y": [0, 1] * 50,
            "p": [1, 1, 0, 1] * 25,
            "keep": [1] * 60 + [0] * 40,
        }
    )
    weights = np.arange(100, dtype=float) + 1
    policy = """
version: 1
name: w
target: {label: y, prediction: p, where: {keep: 1}}
rules:
  - {id: acc, kind: performance, metric: accuracy, min: 0.0}
"""
    report = rulecheck.evaluate(policy, frame, sample_weight=weights)
    rows = frame["keep"] == 1
    expected = skm.accuracy_score(frame.y[rows], frame.p[rows], sample_weight=weights[rows])
    assert report.verdicts[0].value == pytest.approx(expected, abs=TOL)
    assert report.data["selected_rows"] == 60
