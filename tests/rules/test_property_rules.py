"""The property rule kinds end to end: validation, a model is required, planted models through
rulecheck.evaluate, baseline comparison, per-group rates, and --replay of a counterexample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

import rulecheck
from rulecheck import cli
from rulecheck.errors import PolicyError
from rulecheck.verdict import Status


def people(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """sex, its proxy relationship, income, hours; y depends on income and strongly on sex."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["Male", "Female"], n)
    relationship = np.where(
        rng.random(n) < 0.9, np.where(sex == "Male", "Husband", "Wife"), "Unmarried"
    )
    income = rng.normal(50, 15, n).round(1)
    hours = rng.integers(20, 60, n)
    logit = 0.08 * (income - 50) + 2.0 * (sex == "Male") - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {"sex": sex, "relationship": relationship, "income": income, "hours": hours, "y": y}
    )


def pipeline(categorical: list[str], numeric: list[str]) -> Pipeline:
    columns = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
            ("num", "passthrough", numeric),
        ],
        remainder="drop",
    )
    return Pipeline([("columns", columns), ("model", LogisticRegression(max_iter=1000))])


FEATURES = ["sex", "relationship", "income", "hours"]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return people()


@pytest.fixture(scope="module")
def biased(data: pd.DataFrame) -> Pipeline:
    return pipeline(["sex", "relationship"], ["income", "hours"]).fit(data[FEATURES], data["y"])


@pytest.fixture(scope="module")
def blind(data: pd.DataFrame) -> Pipeline:
    """Trained without sex and without its proxy: they are dropped before the model."""
    return pipeline([], ["income", "hours"]).fit(data[FEATURES], data["y"])


def policy(rules: str) -> str:
    return (
        "version: 1\nname: properties\n"
        f"target: {{label: y, features: [{', '.join(FEATURES)}]}}\nrules:\n{rules}"
    )


SEX_FLIP = (
    "  - id: sex-flip\n    kind: counterfactual\n    attribute: sex\n"
    "    swap: {Male: Female, Female: Male}\n"
    "    also_change: {relationship: {Husband: Wife, Wife: Husband}}\n"
    "    max_flip_rate: 0.0\n    search: {examples: 200, seed: 3}\n"
)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            "{id: r, kind: counterfactual, attribute: sex, max_flip_rate: 0}",
            "give either swap",
        ),
        (
            "{id: r, kind: counterfactual, attribute: sex, swap: {a: b}, values: [a, b], max_flip_rate: 0}",
            "give either swap",
        ),
        ("{id: r, kind: counterfactual, attribute: sex, swap: {a: b}}", "give at least one bound"),
        ("{id: r, kind: invariance}", "give perturb"),
        ("{id: r, kind: invariance, perturb: {x: {add: [2, 1]}}}", "low <= high"),
        ("{id: r, kind: monotonic, feature: x, steps: 1}", "greater than or equal to 2"),
    ],
)
def test_invalid_property_rules_are_policy_errors(rule: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        rulecheck.load_policy(f"version: 1\nname: p\nrules:\n  - {rule}\n")


def test_a_predictions_only_audit_is_an_error_that_asks_for_a_model(data: pd.DataFrame) -> None:
    frame = data.assign(p=data["y"])
    text = "version: 1\nname: p\nrules:\n" + SEX_FLIP
    (verdict,) = rulecheck.evaluate(text, data=frame, label="y", prediction="p").verdicts
    assert verdict.status is Status.ERROR
    assert verdict.message.startswith("counterfactual needs a model to call on changed inputs")


def test_a_model_using_sex_fails_with_a_shrunk_counterexample(
    data: pd.DataFrame, biased: Pipeline
) -> None:
    (verdict,) = rulecheck.evaluate(policy(SEX_FLIP), data=data, model=biased).verdicts
    assert verdict.status is Status.FAIL
    assert verdict.value is not None
    assert verdict.value > 0.1
    found = next(e for e in verdict.examples if e.source == "search")
    assert found.seed == 3
    assert set(dict(found.changed)) <= {"sex", "relationship"}
    assert "sex" in dict(found.changed)
    assert found.before != found.after
    assert "Search counterexample (shrunk, seed 3)" in verdict.message
    saved = json.loads(rulecheck.evaluate(policy(SEX_FLIP), data=data, model=biased).to_json())
    assert saved["verdicts"][0]["examples"][0]["source"] == "search"


def test_a_model_blind_to_sex_and_its_proxy_passes_with_rate_zero(
    data: pd.DataFrame, blind: Pipeline
) -> None:
    (verdict,) = rulecheck.evaluate(policy(SEX_FLIP), data=data, model=blind).verdicts
    assert verdict.status is Status.PASS
    assert verdict.value == 0.0
    assert not verdict.examples
    assert "no counterexample in 200 generated rows (seed 3)" in verdict.message


def test_flip_rate_per_group(data: pd.DataFrame, biased: Pipeline) -> None:
    rule = SEX_FLIP.replace("max_flip_rate: 0.0", "max_flip_rate: 1.0\n    by: relationship")
    rule = rule.replace("examples: 200", "examples: 0")
    (verdict,) = rulecheck.evaluate(policy(rule), data=data, model=biased).verdicts
    rates = {g.group[0][1]: g.value for g in verdict.groups}
    assert set(rates) == {"Husband", "Wife", "Unmarried"}
    assert all(r is not None and 0 <= r <= 1 for r in rates.values())


def test_baseline_max_increase_on_the_flip_rate(
    data: pd.DataFrame, biased: Pipeline, blind: Pipeline
) -> None:
    rule = SEX_FLIP.replace("max_flip_rate: 0.0", "max_increase: 0.0").replace(
        "examples: 200", "examples: 0"
    )
    (verdict,) = rulecheck.evaluate(policy(rule), data=data, model=biased, baseline=blind).verdicts
    assert verdict.status is Status.FAIL
    assert verdict.baseline is not None
    assert verdict.baseline.baseline == 0.0
    assert verdict.baseline.change > 0.1


def test_replay_reruns_the_saved_counterexample(
    tmp_path: Path,
    data: pd.DataFrame,
    biased: Pipeline,
    blind: Pipeline,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data.to_csv(tmp_path / "people.csv", index=False)
    sio.dump(biased, tmp_path / "biased.skops")
    sio.dump(blind, tmp_path / "blind.skops")
    text = policy(SEX_FLIP).replace("target: {", "target: {data: people.csv, model: biased.skops, ")
    (tmp_path / "policy.yaml").write_text(text, encoding="utf-8")
    saved = tmp_path / "report.json"
    assert cli.main(["check", str(tmp_path / "policy.yaml"), "-q", "-o", str(saved)]) == 1
    capsys.readouterr()
    code = cli.main(
        ["check", str(tmp_path / "policy.yaml"), "--replay", str(saved), "--rule", "sex-flip"]
    )
    out = capsys.readouterr().out
    assert code == 1, out
    assert "sex-flip: still breaks" in out
    code = cli.main(
        [
            "check",
            str(tmp_path / "policy.yaml"),
            "--model",
            str(tmp_path / "blind.skops"),
            "--replay",
            str(saved),
            "--rule",
            "sex-flip",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "the property holds for this row now" in out
