"""Golden tests for bad run-time inputs: each gives an ERROR verdict on the affected rules only,
with a message that names the column, value or model call; unaffected rules still run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import rulecheck
from rulecheck.verdict import Report, Status
from tests.golden import GOLDEN, check_golden

POLICY = """\
version: 1
name: inputs
rules:
  - id: dp-sex
    kind: demographic_parity
    by: sex
    max_difference: 0.5
  - id: eo-race
    kind: equal_opportunity
    by: race
    max_difference: 0.5
  - id: accuracy
    kind: performance
    metric: accuracy
    min: 0.1
"""


def frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "sex": rng.choice(["Female", "Male"], n),
            "race": rng.choice(["A", "B", "C"], n),
            "y": rng.integers(0, 2, n),
            "p": rng.integers(0, 2, n),
            "x": rng.normal(size=n),
        }
    )


class RaisingModel:
    classes_ = np.array([0, 1])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        raise ValueError("Input contains NaN")

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        raise ValueError("Input contains NaN")


class ShortModel:
    classes_ = np.array([0, 1])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.zeros(len(X) - 1)


def _with(column: str, values: Callable[[pd.DataFrame], Any]) -> pd.DataFrame:
    data = frame()
    data[column] = values(data)
    return data


def _nan_at(column: str, rows: list[int]) -> pd.DataFrame:
    data = frame()
    data[column] = data[column].astype(object)
    data.loc[rows, column] = None
    return data


CASES: dict[str, Callable[[], Report]] = {
    "missing_label_column": lambda: rulecheck.evaluate(
        POLICY, data=frame(), label="outcome", prediction="p"
    ),
    "missing_group_column": lambda: rulecheck.evaluate(
        POLICY, data=frame().rename(columns={"race": "Race"}), label="y", prediction="p"
    ),
    "nan_in_group_column": lambda: rulecheck.evaluate(
        POLICY, data=_nan_at("sex", [3, 7]), label="y", prediction="p"
    ),
    "nan_in_label": lambda: rulecheck.evaluate(
        POLICY, data=_nan_at("y", [5]), label="y", prediction="p"
    ),
    "label_not_binary": lambda: rulecheck.evaluate(
        POLICY,
        data=_with("y", lambda d: np.where(d["y"] == 1, "good", "bad")),
        label="y",
        prediction="p",
    ),
    "label_outside_declared": lambda: rulecheck.evaluate(
        POLICY.replace("rules:", "target:\n  positive_label: good\n  labels: [good, bad]\nrules:"),
        data=frame().assign(
            y=lambda d: np.where(
                d["y"] == 1, "good", np.where(d.index % 50 == 0, "unknown", "bad")
            ),
            p=lambda d: np.where(d["p"] == 1, "good", "bad"),
        ),
        label="y",
        prediction="p",
    ),
    "prediction_is_probability": lambda: rulecheck.evaluate(
        POLICY, data=_with("p", lambda d: d["x"].abs() / 4), label="y", prediction="p"
    ),
    "model_raises": lambda: rulecheck.evaluate(
        POLICY, data=frame(), label="y", model=RaisingModel(), features=["x"]
    ),
    "model_wrong_length": lambda: rulecheck.evaluate(
        POLICY, data=frame(), label="y", model=ShortModel(), features=["x"]
    ),
    "predictions_wrong_shape": lambda: rulecheck.evaluate(
        POLICY, data=frame(), label="y", predictions=np.zeros((10, 2))
    ),
    "no_predictions": lambda: rulecheck.evaluate(POLICY, data=frame(), label="y"),
    "missing_model_features": lambda: rulecheck.evaluate(
        POLICY, data=frame(), label="y", model=RaisingModel(), features=["x", "income"]
    ),
    "groups_too_small": lambda: rulecheck.evaluate(
        POLICY.replace("by: sex", "by: sex\n    min_group_size: 500"),
        data=frame(),
        label="y",
        prediction="p",
    ),
    "unknown_group_named": lambda: rulecheck.evaluate(
        POLICY.replace("by: race", "by: race\n    groups: [A, Z]"),
        data=frame(),
        label="y",
        prediction="p",
    ),
    "unknown_reference_group": lambda: rulecheck.evaluate(
        POLICY.replace(
            "by: sex\n    max_difference: 0.5",
            "by: sex\n    reference_group: female\n    max_difference: 0.5",
        ),
        data=frame(),
        label="y",
        prediction="p",
    ),
    "roc_auc_without_scores": lambda: rulecheck.evaluate(
        POLICY.replace("metric: accuracy\n    min: 0.1", "metric: roc_auc\n    min: 0.5"),
        data=frame(),
        label="y",
        prediction="p",
    ),
    "data_file_missing": lambda: rulecheck.evaluate(
        POLICY, data="does/not/exist.csv", label="y", prediction="p"
    ),
    "pickle_without_trust": lambda: rulecheck.evaluate(
        POLICY, data=frame(), label="y", model=str(GOLDEN / "input_errors" / "model.pkl")
    ),
    "positive_label_absent": lambda: rulecheck.evaluate(
        POLICY, data=frame(), label="y", prediction="p", positive_label=7
    ),
}


def _render(report: Report) -> str:
    lines = [f"{v.rule_id}: {v.status.value}: {v.message}" for v in report.verdicts]
    lines += [f"run error: {e}" for e in report.errors]
    lines.append(f"exit code: {int(report.exit_code())}")
    return "\n".join(lines).replace(str(GOLDEN), "<golden>") + "\n"


@pytest.mark.parametrize("name", sorted(CASES))
def test_input_error_message(name: str, update_goldens: bool) -> None:
    report = CASES[name]()
    check_golden(GOLDEN / "input_errors" / f"{name}.txt", _render(report), update_goldens)
    assert any(v.status is Status.ERROR for v in report.verdicts)
    assert report.exit_code() == 2


def test_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize(
    ("name", "unaffected"),
    [
        ("missing_label_column", {"dp-sex"}),  # selection rate needs no label
        ("nan_in_group_column", {"eo-race", "accuracy"}),
        ("nan_in_label", {"dp-sex"}),
        ("missing_group_column", {"dp-sex", "accuracy"}),
        ("unknown_group_named", {"dp-sex", "accuracy"}),
        ("roc_auc_without_scores", {"dp-sex", "eo-race"}),
    ],
)
def test_other_rules_still_run(name: str, unaffected: set[str]) -> None:
    report = CASES[name]()
    for verdict in report.verdicts:
        if verdict.rule_id in unaffected:
            assert verdict.status in (Status.PASS, Status.FAIL), verdict.message
        else:
            assert verdict.status is Status.ERROR


def test_model_called_once_even_when_it_raises() -> None:
    calls: list[int] = []

    class Counting(RaisingModel):
        def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
            calls.append(1)
            raise ValueError("boom")

    report = rulecheck.evaluate(POLICY, data=frame(), label="y", model=Counting(), features=["x"])
    assert len(calls) == 1
    assert all(v.status is Status.ERROR for v in report.verdicts)
    assert all("model.predict_proba raised ValueError: boom" in v.message for v in report.verdicts)


def test_error_verdicts_carry_rule_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    report = rulecheck.evaluate(policy, data=frame(), label="outcome", prediction="p")
    eo = report.verdict("eo-race")
    assert eo.source is not None
    assert (eo.source.file, eo.source.line) == (str(policy), 8)
