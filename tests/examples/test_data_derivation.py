"""The example datasets shipped in examples/ match what examples/data/derive.py documents.

Plain pandas only (no rulecheck): these tests vouch for the data, not for the library.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

GERMAN_COLUMNS = [
    "status",
    "duration",
    "credit_history",
    "purpose",
    "credit_amount",
    "savings",
    "employment",
    "installment_rate",
    "personal_status_sex",
    "other_debtors",
    "residence_since",
    "property",
    "age",
    "other_installment_plans",
    "housing",
    "existing_credits",
    "job",
    "people_liable",
    "telephone",
    "foreign_worker",
    "credit_risk",
    "sex",
    "age_group",
    "good_credit",
]
COMPAS_COLUMNS = [
    "id",
    "sex",
    "age",
    "age_cat",
    "race",
    "juv_fel_count",
    "juv_misd_count",
    "juv_other_count",
    "priors_count",
    "c_charge_degree",
    "decile_score",
    "score_text",
    "days_b_screening_arrest",
    "is_recid",
    "two_year_recid",
    "compas_high",
    "propublica_filter",
]
ADULT_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "split",
    "income_over_50k",
]

# ProPublica, "How We Analyzed the COMPAS Recidivism Algorithm" (2016), in percent.
PROPUBLICA_RATES = {
    ("African-American", "false_positive_rate"): 44.85,
    ("Caucasian", "false_positive_rate"): 23.45,
    ("African-American", "false_negative_rate"): 27.99,
    ("Caucasian", "false_negative_rate"): 47.72,
}


@pytest.fixture(scope="module")
def german() -> pd.DataFrame:
    return pd.read_csv(EXAMPLES / "german_credit" / "german_credit.csv")


@pytest.fixture(scope="module")
def compas() -> pd.DataFrame:
    return pd.read_csv(EXAMPLES / "compas" / "compas.csv")


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return pd.read_csv(EXAMPLES / "adult" / "adult.csv.gz")


def test_shipped_files_match_sha256sums() -> None:
    lines = (EXAMPLES / "data" / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == 3
    for line in lines:
        digest, rel = line.split(maxsplit=1)
        assert hashlib.sha256((EXAMPLES / rel).read_bytes()).hexdigest() == digest, rel


def test_german_credit(german: pd.DataFrame) -> None:
    assert list(german.columns) == GERMAN_COLUMNS
    assert len(german) == 1000
    assert german["good_credit"].value_counts().to_dict() == {1: 700, 0: 300}
    assert (german["good_credit"] == (german["credit_risk"] == "good")).all()
    assert german["sex"].value_counts().to_dict() == {"male": 690, "female": 310}
    assert (german["sex"] == german["personal_status_sex"].str.split(" : ").str[0]).all()
    assert german["age_group"].value_counts().to_dict() == {">=25": 851, "<25": 149}
    assert ((german["age"] >= 25) == (german["age_group"] == ">=25")).all()
    assert not german.isna().any().any()
    assert not german.map(lambda v: isinstance(v, str) and v.startswith("A")).any().any()


def test_compas(compas: pd.DataFrame) -> None:
    assert list(compas.columns) == COMPAS_COLUMNS
    assert len(compas) == 7214
    assert compas["id"].is_unique
    assert set(compas["two_year_recid"]) == {0, 1}
    assert (compas["compas_high"] == (compas["decile_score"] >= 5)).all()
    assert (compas["compas_high"] == compas["score_text"].isin(["Medium", "High"])).all()
    assert compas["propublica_filter"].sum() == 6172


@pytest.mark.parametrize(("race", "metric"), list(PROPUBLICA_RATES))
def test_compas_reproduces_propublica(compas: pd.DataFrame, race: str, metric: str) -> None:
    # All 7,214 rows, not the 6,172 of ProPublica's days_b_screening_arrest filter.
    group = compas[compas["race"] == race]
    if metric == "false_positive_rate":
        rate = group.loc[group["two_year_recid"] == 0, "compas_high"].mean()
    else:
        rate = 1 - group.loc[group["two_year_recid"] == 1, "compas_high"].mean()
    assert round(rate, 4) == round(PROPUBLICA_RATES[race, metric] / 100, 4)


def test_compas_group_sizes(compas: pd.DataFrame) -> None:
    sizes = compas["race"].value_counts()
    assert sizes["African-American"] == 3696
    assert sizes["Caucasian"] == 2454


def test_adult(adult: pd.DataFrame) -> None:
    assert list(adult.columns) == ADULT_COLUMNS
    assert len(adult) == 48842
    assert adult["split"].value_counts().to_dict() == {"train": 32561, "test": 16281}
    assert set(adult["income_over_50k"]) == {0, 1}
    assert adult["income_over_50k"].sum() == 11687
    assert not adult.isna().any().any()
    assert not (adult == "?").any().any()
    # adult.names: 45,222 rows once rows with unknown values are removed.
    assert (~(adult == "Unknown").any(axis=1)).sum() == 45222
