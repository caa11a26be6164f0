"""examples/german_credit, compas and adult: each policy gives its designed verdicts.

The policies are evaluated with the committed models and data, so a retrained model, a changed
policy or a change in rulecheck that moves a verdict (or a number quoted in a policy comment or
an example's README) fails here instead of silently drifting. examples/custom_loss has its own
test (test_custom_loss_example.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import rulecheck
from rulecheck.verdict import Report, Verdict
from tests.conftest import EvaluateOnce

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# The documented values are rounded to 4 decimals.
TOLERANCE = 1e-4

# rule id -> (status, value shown in the report), in policy order; the values are quoted in the
# policy comments and the READMEs.
EXPECTED: dict[str, dict[str, tuple[str, float]]] = {
    "german_credit": {
        "disparate-impact-sex": ("pass", 0.8466),  # approval female 0.6871 / male 0.8116
        "equal-opportunity-age": ("fail", 0.1569),  # TPR >=25 0.9183 vs <25 0.7614
        "fpr-gap-sex": ("warn", 0.1775),  # FPR male 0.5445 vs female 0.3670, severity warning
        "accuracy-floor": ("pass", 0.7850),
        "roc-auc-floor": ("pass", 0.8333),
        "protected-attribution": ("fail", 0.0620),  # personal_status_sex's share > 0.05
        "checking-account-drives-credit": ("pass", 0.1642),  # status's share >= 0.10
        "sex-proxies": ("fail", 0.7366),  # NMI of personal_status_sex with sex > 0.5
    },
    "compas": {
        "fpr-gap-race": ("fail", 0.2139),  # 0.4485 vs 0.2345
        "fnr-gap-race": ("fail", 0.1974),  # 0.4772 vs 0.2799
        "disparate-impact-race": ("fail", 1.6902),  # 0.5882 / 0.3480 > 1.25
        "predictive-parity-race": ("pass", 0.0384),  # 0.6297 vs 0.5913
        "fpr-gap-race-ci": ("fail", 0.2139),  # the whole 95% interval is above 0.05
        "fpr-gap-race-women-45-plus": ("inconclusive", 0.1045),  # 198 cases: CI spans 0.05
    },
    "adult": {
        "accuracy-floor": ("pass", 0.8775),
        "demographic-parity-sex": ("fail", 0.1817),  # Male 0.2602 vs Female 0.0786
        "equal-opportunity-sex": ("pass", 0.0872),  # TPR Male 0.6751 vs Female 0.5879
        "demographic-parity-race": ("warn", 0.1720),  # Asian-Pac-Islander 0.2409 vs Other 0.0690
        "disparate-impact-race-sex": ("fail", 0.1240),  # Black Female 0.0399 / A-P-I Male 0.3214
        "protected-attribution": ("pass", 0.0356),  # sex's share <= 0.05 (race 0.0082)
        "family-status-not-top-driver": ("fail", 1.0),  # marital_status is rank 1, max_rank 3
        "sex-proxies": ("fail", 0.2551),  # NMI of relationship with sex > 0.2
        "sex-counterfactual": ("fail", 0.0335),  # 1,635 of 48,842 decisions flip with sex
        "education-monotonic": ("fail", 0.2139),  # 10,446 rows lose score as education rises
        "hours-invariance": ("pass", 0.0011),  # +-1 hour flips 52 of 48,842 decisions
    },
}


def _evaluate(name: str, evaluate_once: EvaluateOnce) -> Report:
    """As the README runs it: from the repository root (the run is shared with its README test)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(EXAMPLES.parent)
        return evaluate_once(Path("examples") / name / "policy.yaml")


@pytest.fixture(scope="module")
def german_credit(evaluate_once: EvaluateOnce) -> Report:
    return _evaluate("german_credit", evaluate_once)


@pytest.fixture(scope="module")
def compas(evaluate_once: EvaluateOnce) -> Report:
    return _evaluate("compas", evaluate_once)


@pytest.fixture(scope="module")
def adult(evaluate_once: EvaluateOnce) -> Report:
    return _evaluate("adult", evaluate_once)


def _by_id(report: Report) -> dict[str, Verdict]:
    return {v.rule_id: v for v in report.verdicts}


def _check(verdict: Verdict, bound: str) -> float:
    (value,) = [c.value for c in verdict.checks if c.bound == bound]
    assert value is not None, (verdict.rule_id, bound)
    return value


def _shares(verdict: Verdict) -> dict[str, float]:
    """Feature -> value: the attribution share, or for a proxy rule the association score."""
    return {f.feature: f.value for f in verdict.features}


def _assert_designed_verdicts(name: str, report: Report) -> None:
    expected = EXPECTED[name]
    got = {v.rule_id: (v.status.value, v.value) for v in report.verdicts}
    assert list(got) == list(expected)
    for rule_id, (status, value) in expected.items():
        assert got[rule_id][0] == status, (rule_id, report.verdicts)
        assert got[rule_id][1] == pytest.approx(value, abs=TOLERANCE), rule_id
    # Every example fails at least one error-severity rule on purpose.
    assert report.exit_code() == rulecheck.ExitCode.VIOLATIONS


def test_german_credit_verdicts(german_credit: Report) -> None:
    _assert_designed_verdicts("german_credit", german_credit)


def test_german_credit_attribution_is_exact_linear_shap(german_credit: Report) -> None:
    verdicts = _by_id(german_credit)
    protected = verdicts["protected-attribution"]
    info = dict(protected.info)
    assert (info["explainer"], info["output"], info["rows"]) == ("linear", "log_odds", 1000)
    shares = _shares(protected)
    assert shares["personal_status_sex"] == pytest.approx(0.0620, abs=TOLERANCE)
    assert shares["age"] == pytest.approx(0.0308, abs=TOLERANCE)
    assert "personal_status_sex" in protected.message
    ranks = {f.feature: f.rank for f in protected.features}
    assert (ranks["status"], ranks["personal_status_sex"], ranks["age"]) == (1, 7, 15)


def test_german_credit_sex_proxy_is_personal_status_sex(german_credit: Report) -> None:
    proxy = _by_id(german_credit)["sex-proxies"]
    assert proxy.features[0].feature == "personal_status_sex"
    assert "personal_status_sex" in proxy.message
    scores = _shares(proxy)
    assert scores["age"] == pytest.approx(0.1617, abs=TOLERANCE)
    assert scores["credit_amount"] == pytest.approx(0.0935, abs=TOLERANCE)
    assert "sex" not in scores


def test_compas_verdicts(compas: Report) -> None:
    _assert_designed_verdicts("compas", compas)


def test_adult_verdicts(adult: Report) -> None:
    _assert_designed_verdicts("adult", adult)


def test_adult_attribution_is_treeshap_on_a_sample(adult: Report) -> None:
    verdicts = _by_id(adult)
    protected = verdicts["protected-attribution"]
    info = dict(protected.info)
    assert (info["explainer"], info["output"], info["rows"]) == ("tree", "log_odds", 10000)
    shares = _shares(protected)
    assert shares["race"] == pytest.approx(0.0082, abs=TOLERANCE)
    assert shares["marital_status"] == pytest.approx(0.2759, abs=TOLERANCE)
    family = verdicts["family-status-not-top-driver"]
    assert family.features[0].feature == "marital_status"
    assert "marital_status" in family.message


def test_adult_sex_proxy_is_relationship(adult: Report) -> None:
    proxy = _by_id(adult)["sex-proxies"]
    assert [f.feature for f in proxy.features[:3]] == [
        "relationship",
        "hours_per_week",
        "marital_status",
    ]
    assert "relationship" in proxy.message
    scores = _shares(proxy)
    assert scores["hours_per_week"] == pytest.approx(0.2286, abs=TOLERANCE)
    assert scores["marital_status"] == pytest.approx(0.1176, abs=TOLERANCE)
    assert "sex" not in scores  # the attribute itself is not a candidate
    assert _check(proxy, "max_auc") == pytest.approx(0.9360, abs=TOLERANCE)


def test_adult_property_rules_equal_a_hand_computation(adult: Report) -> None:
    """The counterfactual flip rate and the monotonic violation rate, recomputed with the
    committed model and plain pandas (the property engine is not used)."""
    import numpy as np
    import pandas as pd
    import skops.io as sio

    root = Path(__file__).resolve().parents[2] / "examples" / "adult"
    frame = pd.read_csv(root / "adult.csv.gz")
    model = sio.load(
        root / "model.skops", trusted=sio.get_untrusted_types(file=root / "model.skops")
    )
    features = list(model.feature_names_in_)
    X = frame[features]
    before = model.predict_proba(X)[:, 1]
    swapped = X.assign(
        sex=X["sex"].map({"Male": "Female", "Female": "Male"}),
        relationship=X["relationship"].replace({"Husband": "Wife", "Wife": "Husband"}),
    )
    after = model.predict_proba(swapped)[:, 1]
    flips = float(((before >= 0.5) != (after >= 0.5)).mean())
    verdicts = _by_id(adult)
    assert verdicts["sex-counterfactual"].value == pytest.approx(flips, abs=1e-12)
    grid = np.unique(np.round(np.linspace(X["education_num"].min(), X["education_num"].max(), 10)))
    scores = np.column_stack([model.predict_proba(X.assign(education_num=g))[:, 1] for g in grid])
    falls = np.diff(scores, axis=1) < 0
    assert verdicts["education-monotonic"].value == pytest.approx(
        float(falls.any(axis=1).mean()), abs=1e-12
    )
