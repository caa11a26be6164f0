"""examples/bank_gate: the gate of issue 12, on native model files, checked against the libraries.

Every figure checked here is recomputed without rulecheck: LightGBM's raw margins through a
hand-written sigmoid, XGBoost's own probabilities, pandas for the weighted group rates and
scikit-learn for the weighted AUC and log loss. The README's report block is checked by
tests/examples/test_readme_outputs.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from rulecheck.verdict import Report, Verdict
from tests.conftest import EvaluateOnce

lgb = pytest.importorskip("lightgbm")
xgb = pytest.importorskip("xgboost")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bank_gate"
TOL = 1e-9

EXPECTED = {
    "four-fifths-race": "fail",
    "four-fifths-sex": "fail",
    "four-fifths-sex-no-worse": "pass",
    "equal-opportunity-sex": "fail",
    "equalized-odds-race": "warn",
    "miss-rate-intersectional": "fail",
    "prime-age-full-time-parity": "fail",
    "auc": "pass",
    "loss-gap-sex-no-wider": "fail",
    "no-protected-attribution": "pass",
    "family-status-share-by-sex": "pass",
    "sex-proxies": "pass",
    "loss-drivers": "pass",
}


@pytest.fixture(scope="module")
def report(evaluate_once: EvaluateOnce) -> Report:
    """The gate as the README runs it: from the repository root, with a relative path (the run
    is shared with the README's output test, tests/examples/test_readme_outputs.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(EXAMPLE.parents[1])
        return evaluate_once(Path("examples/bank_gate/policy.yaml"))


@pytest.fixture(scope="module")
def oracle() -> pd.DataFrame:
    """The audited rows with both models' probabilities, computed by the libraries directly."""
    frame = pd.read_csv(EXAMPLE / "applicants.csv.gz")
    frame = frame[(frame["age"] >= 18) & (frame["age"] < 75)].reset_index(drop=True)
    candidate = lgb.Booster(model_file=str(EXAMPLE / "candidate.txt"))
    names = candidate.feature_name()
    X = frame.rename(columns=lambda c: c.replace(" ", "_"))[names].copy()
    categorical = [n for n in names if X[n].dtype == object or pd.api.types.is_string_dtype(X[n])]
    for column, categories in zip(categorical, candidate.pandas_categorical, strict=True):
        X[column] = pd.Categorical(X[column], categories=categories)
    margin = candidate.predict(X, raw_score=True)
    baseline = xgb.Booster()
    baseline.load_model(EXAMPLE / "baseline.json")
    # Both models were trained on the same category columns: same category lists, and XGBoost
    # keeps the data's column names ("capital gain") where LightGBM rewrote them.
    spaced = {n: n.replace("_", " ") for n in names if n.replace("_", " ") in frame.columns}
    X_base = X.rename(columns=spaced)[baseline.feature_names]
    matrix = xgb.DMatrix(X_base, enable_categorical=True)
    return frame.assign(
        p=1.0 / (1.0 + np.exp(-margin)),
        p_base=baseline.predict(matrix),
        w=frame["fnlwgt"].astype(float),
        y=frame["income_over_50k"],
    )


def _by_id(report: Report) -> dict[str, Verdict]:
    return {v.rule_id: v for v in report.verdicts}


def _weighted_rate(frame: pd.DataFrame, score: str, by: str) -> pd.Series:
    selected = (frame[score] >= 0.5).astype(float) * frame["w"]
    return selected.groupby(frame[by]).sum() / frame["w"].groupby(frame[by]).sum()


def test_every_rule_is_computed_with_its_designed_status(report: Report) -> None:
    assert {v.rule_id: v.status.value for v in report.verdicts} == EXPECTED
    assert report.data["selected_rows"] == 15922
    assert "custom objective" in str(report.model["notes"])
    assert report.model["calls"] == 1
    assert report.model["baseline_calls"] == 1


def test_weighted_four_fifths_matches_the_libraries(report: Report, oracle: pd.DataFrame) -> None:
    verdicts = _by_id(report)
    rates = _weighted_rate(oracle, "p", "sex")
    assert verdicts["four-fifths-sex"].value == pytest.approx(
        rates["Female"] / rates["Male"], abs=TOL
    )
    base = _weighted_rate(oracle, "p_base", "sex")
    change = rates["Female"] / rates["Male"] - base["Female"] / base["Male"]
    assert verdicts["four-fifths-sex-no-worse"].value == pytest.approx(change, abs=1e-6)
    race = _weighted_rate(oracle, "p", "race")
    ratios = {g: r / race["White"] for g, r in race.items() if g != "White"}
    assert verdicts["four-fifths-race"].value == pytest.approx(min(ratios.values()), abs=TOL)


def test_weighted_auc_and_loss_gap_match_scikit_learn(report: Report, oracle: pd.DataFrame) -> None:
    verdicts = _by_id(report)
    auc = roc_auc_score(oracle["y"], oracle["p"], sample_weight=oracle["w"])
    assert verdicts["auc"].value == pytest.approx(auc, abs=TOL)

    def gap(score: str) -> float:
        losses = {
            sex: log_loss(rows["y"], rows[score], sample_weight=rows["w"], labels=[0, 1])
            for sex, rows in oracle.groupby("sex")
        }
        return max(losses.values()) - min(losses.values())

    assert verdicts["loss-gap-sex-no-wider"].value == pytest.approx(
        gap("p") - gap("p_base"), abs=1e-6
    )


def test_slice_rule_judges_prime_age_full_time_rows(report: Report, oracle: pd.DataFrame) -> None:
    verdict = _by_id(report)["prime-age-full-time-parity"]
    rows = oracle[(oracle["age"] >= 25) & (oracle["age"] < 55) & (oracle["hours per week"] >= 35)]
    rates = _weighted_rate(rows, "p", "sex")
    assert verdict.value == pytest.approx(rates.max() - rates.min(), abs=TOL)
    assert dict(verdict.info)["rows"] == len(rows)


def test_tree_models_get_treeshap_and_the_loss_fallback_is_noted(report: Report) -> None:
    verdicts = _by_id(report)
    for rule in ("no-protected-attribution", "family-status-share-by-sex"):
        assert dict(verdicts[rule].info)["explainer"] == "tree"
    drivers = verdicts["loss-drivers"]
    assert dict(drivers.info)["explainer"] == "permutation"
    assert dict(drivers.info)["rows"] == 100
    assert any("TreeSHAP cannot explain the log loss" in note for note in drivers.notes)
