"""Baseline comparisons: change bounds on any rule, with both models' figures side by side."""

from __future__ import annotations

import json
import time
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

import rulecheck
from rulecheck.engines.losses import LossRegistry
from rulecheck.report.text import render
from rulecheck.verdict import Status

RULES_TEXT = """\
version: 1
name: compare
target: {label: y, score: new, baseline_score: old}
rules:
  - {id: loss-gap, kind: loss_disparity, loss: log_loss, by: g, min_group_size: 1, max_increase: 0.0}
  - {id: brier-gap, kind: loss_disparity, loss: brier, by: g, min_group_size: 1, max_decrease: 0.0}
  - {id: tpr-gap, kind: equal_opportunity, by: g, min_group_size: 1, max_relative_increase: 0.0}
  - {id: auc, kind: performance, metric: roc_auc, max_decrease: 0.0, max_increase: 0.0}
  - {id: sel-ratio, kind: group_metric, metric: selection_rate, by: g, min_group_size: 1, min_ratio: 0.01, max_increase: 0.0}
"""


RULES = rulecheck.load_policy(RULES_TEXT)


def scored_frame(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], n)
    y = rng.integers(0, 2, n)
    return pd.DataFrame(
        {
            "g": g,
            "y": y,
            "old": np.clip(0.5 + (y - 0.5) * rng.uniform(-0.4, 0.8, n), 0.01, 0.99),
            "new": np.clip(0.5 + (y - 0.5) * rng.uniform(-0.4, 0.8, n), 0.01, 0.99),
        }
    )


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_model_compared_with_itself_changes_nothing(seed: int) -> None:
    frame = scored_frame(seed)
    report = rulecheck.evaluate(RULES, data=frame, baseline_score="new")
    for verdict in report.verdicts:
        assert verdict.baseline is not None, verdict.message
        assert verdict.baseline.change == 0.0
        assert verdict.status is Status.PASS, verdict.message
        assert all(g.baseline_value == g.value for g in verdict.groups)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_swapping_baseline_and_candidate_negates_the_change(seed: int) -> None:
    frame = scored_frame(seed)
    forward = rulecheck.evaluate(RULES, data=frame)
    backward = rulecheck.evaluate(RULES, data=frame, score="old", baseline_score="new")
    for one, other in zip(forward.verdicts, backward.verdicts, strict=True):
        if Status.ERROR in (one.status, other.status):
            # A relative change from a baseline value of 0 is undefined (one direction only).
            assert "max_relative_increase is undefined" in one.message + other.message
            continue
        assert one.baseline is not None
        assert other.baseline is not None
        assert one.baseline.change == pytest.approx(-other.baseline.change, abs=1e-15)
        assert one.baseline.candidate == other.baseline.baseline
        assert one.baseline.baseline == other.baseline.candidate


def test_change_values_and_side_by_side_groups_match_sklearn() -> None:
    frame = scored_frame(3, n=600)
    report = rulecheck.evaluate(RULES, data=frame)
    verdict = report.verdict("loss-gap")
    per_group = {}
    for model in ("new", "old"):
        losses = [
            log_loss(frame.y[frame.g == g], frame[model][frame.g == g], labels=[0, 1])
            for g in "abc"
        ]
        per_group[model] = losses
    gap_new = max(per_group["new"]) - min(per_group["new"])
    gap_old = max(per_group["old"]) - min(per_group["old"])
    assert verdict.baseline is not None
    assert verdict.baseline.candidate == pytest.approx(gap_new, abs=1e-12)
    assert verdict.baseline.baseline == pytest.approx(gap_old, abs=1e-12)
    assert verdict.value == pytest.approx(gap_new - gap_old, abs=1e-12)
    assert verdict.bound == "max_increase"
    assert verdict.status is (Status.FAIL if gap_new > gap_old else Status.PASS)
    for group in verdict.groups:
        index = "abc".index(str(group.group[0][1]))
        assert group.value == pytest.approx(per_group["new"][index], abs=1e-12)
        assert group.baseline_value == pytest.approx(per_group["old"][index], abs=1e-12)


def test_change_bound_without_baseline_is_an_error_naming_the_bound() -> None:
    frame = scored_frame(1)
    policy = RULES_TEXT.replace(", baseline_score: old", "")
    report = rulecheck.evaluate(policy, data=frame)
    verdict = report.verdict("loss-gap")
    assert verdict.status is Status.ERROR
    assert "needs a baseline for max_increase" in verdict.message
    assert report.exit_code() == 2


def test_baseline_and_candidate_models_each_predict_once() -> None:
    frame = scored_frame(5, n=500)
    frame["x"] = frame["new"] * 3 + np.random.default_rng(0).normal(size=len(frame))
    calls = {"candidate": 0, "baseline": 0}

    class Counting(LogisticRegression):
        def __init__(self, name: str = "candidate", C: float = 1.0) -> None:
            super().__init__(C=C)
            self.name = name

        def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
            calls[self.name] += 1
            return super().predict_proba(X)

    candidate = Counting("candidate").fit(frame[["x"]], frame.y)
    baseline = Counting("baseline", C=0.01).fit(frame[["x"]], frame.y)
    policy = RULES_TEXT.replace(
        "target: {label: y, score: new, baseline_score: old}", "target: {label: y}"
    )
    report = rulecheck.evaluate(
        policy, data=frame, model=candidate, baseline=baseline, features=["x"]
    )
    assert calls == {"candidate": 1, "baseline": 1}
    assert all(v.status is not Status.ERROR for v in report.verdicts), [
        v.message for v in report.verdicts
    ]
    assert report.model["calls"] == 1
    assert report.model["baseline_calls"] == 1


# Selection rate a 0.9, b 0.3 (ratio 0.33, difference 0.6); TPR and FPR gaps as wide: every
# shorthand kind's default bound (min_ratio 0.8, max_difference 0.1) fails on these decisions.
UNFAIR = pd.DataFrame(
    {
        "g": ["a"] * 10 + ["b"] * 10,
        "y": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0] * 2,
        "p": [*([1] * 9), 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0],
    }
)
SHORTHAND_KINDS = ("disparate_impact", "demographic_parity", "equal_opportunity", "equalized_odds")


@pytest.mark.parametrize("kind", SHORTHAND_KINDS)
@pytest.mark.parametrize("change_bound", ["max_decrease", "max_increase", "max_relative_increase"])
def test_shorthand_with_only_a_change_bound_checks_just_the_change(
    kind: str, change_bound: str
) -> None:
    rule = f"{{id: r, kind: {kind}, by: g, min_group_size: 1, {change_bound}: 0.02}}"
    policy = f"version: 1\nname: t\ntarget: {{label: y, prediction: p}}\nrules:\n  - {rule}\n"
    report = rulecheck.evaluate(policy, data=UNFAIR, baseline_prediction="p")
    verdict = report.verdict("r")
    assert verdict.status is Status.PASS, verdict.message
    assert [c.bound for c in verdict.checks] == [change_bound]
    assert verdict.baseline is not None
    assert verdict.baseline.change == 0.0
    # Without the change bound, the same rule applies its default and fails.
    plain = rulecheck.evaluate(policy.replace(f", {change_bound}: 0.02", ""), data=UNFAIR)
    assert plain.verdict("r").status is Status.FAIL, plain.verdict("r").message


def test_disparate_impact_change_bound_compares_the_ratio() -> None:
    policy = (
        "version: 1\nname: t\ntarget: {label: y, prediction: p, baseline_prediction: fair}\n"
        "rules:\n  - {id: di, kind: disparate_impact, by: g, min_group_size: 1, max_decrease: 0.02}\n"
    )
    frame = UNFAIR.assign(fair=[1, 0] * 10)  # selection 0.5 in both groups: ratio 1
    verdict = rulecheck.evaluate(policy, data=frame).verdict("di")
    assert verdict.baseline is not None
    assert verdict.baseline.baseline == pytest.approx(1.0)
    assert verdict.baseline.candidate == pytest.approx(0.3 / 0.9)
    assert verdict.status is Status.FAIL
    # An explicit min_ratio is still checked next to the change bound.
    explicit = policy.replace("max_decrease: 0.02", "max_decrease: 1.0, min_ratio: 0.8")
    checked = rulecheck.evaluate(explicit, data=frame).verdict("di")
    assert [c.bound for c in checked.checks] == ["min_ratio", "max_decrease"]
    assert checked.bound == "min_ratio"
    assert checked.status is Status.FAIL


def test_max_decrease_shows_the_signed_change_in_text_and_json() -> None:
    """One sign convention: a change is candidate - baseline in the value, the JSON and the text;
    max_decrease d is the lower limit -d, and the message says in words what d allows."""
    policy = (
        "version: 1\nname: t\ntarget: {label: y, prediction: p, baseline_prediction: fair}\n"
        "rules:\n  - {id: sel, kind: performance, metric: selection_rate, max_decrease: 0.02}\n"
    )
    frame = UNFAIR.assign(fair=[1] * 14 + [0] * 6)  # selection 0.7 -> 0.6
    report = rulecheck.evaluate(policy, data=frame)
    verdict = report.verdict("sel")
    assert verdict.baseline is not None
    assert verdict.baseline.change == pytest.approx(-0.1)
    assert verdict.value == verdict.baseline.change
    assert verdict.threshold == -0.02
    assert verdict.status is Status.FAIL
    (check,) = verdict.checks
    assert (check.op, check.limit, check.setting) == (">=", -0.02, 0.02)
    assert verdict.message == (
        "change of selection_rate (candidate 0.6 - baseline 0.7) -0.1 < -0.02: "
        "max_decrease 0.02 allows a fall of at most 0.02."
    )
    data = json.loads(report.to_json())["verdicts"][0]
    assert data["value"] == data["baseline"]["change"] == pytest.approx(-0.1)
    assert data["threshold"] == -0.02
    assert data["checks"][0]["setting"] == 0.02
    (row,) = [line for line in render(report).splitlines() if line.startswith("FAIL ")]
    assert row.split() == ["FAIL", "sel", "Δ-0.1", "max_decrease", "0.02"]


class _CountingModel(LogisticRegression):
    """A logistic regression that counts the rows it is asked to score (per model name)."""

    rows: ClassVar[dict[str, int]] = {}

    def __init__(self, name: str = "candidate", C: float = 1.0) -> None:
        super().__init__(C=C)
        self.name = name

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        self.rows[self.name] = self.rows.get(self.name, 0) + len(X)
        return super().predict_proba(X)


SIDE_BY_SIDE = """\
version: 1
name: side-by-side
target: {{label: y, features: [x, z]{extra}}}
attribution: {{explainer: permutation, max_rows: 4, background_size: 5, seed: 0}}
rules:
  - {{id: x-share, kind: attribution, features: [x], max_share: 1.0}}
  - {{id: dp, kind: demographic_parity, by: g, min_group_size: 1, max_difference: 1.0}}
"""


@pytest.mark.parametrize("for_all", [False, True])
def test_baseline_is_measured_only_where_a_rule_compares(for_all: bool) -> None:
    frame = scored_frame(7, n=200)
    rng = np.random.default_rng(0)
    frame["x"] = frame["new"] * 3 + rng.normal(size=len(frame))
    frame["z"] = rng.normal(size=len(frame))
    _CountingModel.rows.clear()
    candidate = _CountingModel("candidate").fit(frame[["x", "z"]], frame.y)
    baseline = _CountingModel("baseline", C=0.01).fit(frame[["x", "z"]], frame.y)
    policy = SIDE_BY_SIDE.format(extra=", baseline_for_all: true" if for_all else "")
    report = rulecheck.evaluate(policy, data=frame, model=candidate, baseline=baseline)
    assert all(v.status is Status.PASS for v in report.verdicts), report.verdicts
    # The candidate predicted once for all rows, then explained 4 rows with the permutation
    # explainer, which scores many perturbed copies of them.
    assert _CountingModel.rows["candidate"] > 10 * len(frame)
    groups = report.verdict("dp").groups
    if for_all:
        # Side by side everywhere: the baseline is explained too, and groups show its figures.
        assert _CountingModel.rows["baseline"] > 10 * len(frame)
        assert all(g.baseline_value is not None for g in groups)
        assert report.verdict("x-share").baseline is not None
    else:
        # No rule has change bounds: the baseline is loaded but never asked for a prediction.
        assert "baseline" not in _CountingModel.rows
        assert report.model["baseline_calls"] == 0
        assert all(g.baseline_value is None for g in groups)
        assert all(v.baseline is None for v in report.verdicts)
    # The API argument overrides the policy.
    _CountingModel.rows.clear()
    other = rulecheck.evaluate(
        policy, data=frame, model=candidate, baseline=baseline, baseline_for_all=not for_all
    )
    assert ("baseline" in _CountingModel.rows) is (not for_all)
    assert (other.verdict("dp").baseline is not None) is (not for_all)


def test_duration_covers_the_rule_and_its_baseline_measurement() -> None:
    """duration_s is measured per rule, around measure and judge, the baseline's included."""
    pause = 0.2

    def slow_brier(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        time.sleep(pause)
        return (y_pred - y_true) ** 2

    registry = LossRegistry(entry_points=None)
    registry.register("slow_brier", slow_brier)
    policy = """\
version: 1
name: timed
target: {label: y, score: new, baseline_score: old}
rules:
  - {id: compared, kind: loss_disparity, loss: slow_brier, by: g, max_increase: 1.0}
  - {id: alone, kind: performance, metric: accuracy, min: 0.0}
  - {id: skipped, kind: performance, metric: accuracy, min: 0.0, skip: not today}
"""
    start = time.perf_counter()
    report = rulecheck.evaluate(policy, data=scored_frame(2), loss_registry=registry)
    elapsed = time.perf_counter() - start
    compared, alone, skipped = report.verdicts
    assert compared.duration_s >= 2 * pause  # the candidate's and the baseline's losses
    assert alone.duration_s < pause
    assert skipped.status is Status.SKIPPED
    assert 0 <= skipped.duration_s < pause
    assert sum(v.duration_s for v in report.verdicts) <= elapsed
    assert all(v.duration_s == round(v.duration_s, 4) for v in report.verdicts)
