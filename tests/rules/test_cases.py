"""Per-kind case files (tests/rules/cases/<kind>.yml): tiny datasets with hand-computed values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.tree import DecisionTreeClassifier

import rulecheck

CASES_DIR = Path(__file__).parent / "cases"
_ESTIMATORS = {
    "LinearRegression": LinearRegression,
    "LogisticRegression": LogisticRegression,
    "DecisionTreeClassifier": DecisionTreeClassifier,
}


def _cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            params.append(pytest.param(path.stem, case, id=f"{path.stem}:{case['name']}"))
    return params


@pytest.mark.parametrize(("kind", "case"), _cases())
def test_case(kind: str, case: dict[str, Any]) -> None:
    rule = {"id": case["name"], **case["rule"]}
    assert rule["kind"] == kind, "a case file holds cases of its own kind only"
    policy = yaml.safe_dump({"version": 1, "name": "case", "rules": [rule]})
    data = pd.DataFrame(case["data"])
    columns = {"label": "y"}
    if "p" in data:
        columns["prediction"] = "p"
    if "s" in data:
        columns["score"] = "s"
    model = None
    if "fit" in case:
        fit = case["fit"]
        estimator = _ESTIMATORS[fit["estimator"]]()
        model = estimator.fit(data[fit["features"]], data[fit["label"]])
        columns = {"label": fit["label"], "features": fit["features"]}  # type: ignore[dict-item]
    report = rulecheck.evaluate(policy, data=data, model=model, **columns)
    (verdict,) = report.verdicts
    expect = case["expect"]
    assert verdict.status.value == expect["status"], verdict.message
    assert verdict.value == pytest.approx(expect["value"], abs=1e-12), verdict.message
    if "threshold" in expect:
        assert verdict.threshold == expect["threshold"]
    if "bound" in expect:
        assert verdict.bound == expect["bound"]
    for flag in ("undefined", "excluded"):
        if flag in expect:
            flagged = sorted(str(g.group[0][1]) for g in verdict.groups if getattr(g, flag))
            assert flagged == expect[flag]
