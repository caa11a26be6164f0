"""Baseline comparisons: change bounds on any rule, with both models' figures side by side."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

import rulecheck
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
