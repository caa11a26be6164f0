"""Slices (``where:`` on the target and on rules), missing group values and declared dtypes.

Each value is compared with the same metric computed by hand on the rows pandas selects; the
verdicts must say which rows they judged; a bad slice is an ERROR for its rule only (or a policy
error with file:line:col when the YAML itself is wrong).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import rulecheck
from rulecheck.errors import PolicyError


@pytest.fixture
def people() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 600
    sex = rng.choice(["Female", "Male"], n)
    age = rng.integers(18, 80, n)
    return pd.DataFrame(
        {
            "sex": sex,
            "age": age,
            "region": rng.choice(["north", "south", "east"], n),
            "member": rng.choice(["yes", "no"], n),
            "y": rng.integers(0, 2, n),
            "p": (rng.random(n) < np.where(sex == "Male", 0.6, 0.4) + (age > 50) * 0.2).astype(int),
        }
    )


def _selection_gap(frame: pd.DataFrame) -> float:
    rates = frame.groupby("sex")["p"].mean()
    return float(rates.max() - rates.min())


def _evaluate(policy: str, frame: pd.DataFrame, **kwargs: Any) -> rulecheck.Report:
    return rulecheck.evaluate(policy, frame, label="y", prediction="p", **kwargs)


HEADER = "version: 1\nname: slices\nrules:\n"


def test_rule_where_judges_only_its_rows_and_says_so(people: pd.DataFrame) -> None:
    policy = HEADER + (
        "  - {id: all, kind: demographic_parity, by: sex, max_difference: 1.0}\n"
        "  - id: older\n"
        "    kind: demographic_parity\n"
        "    by: sex\n"
        "    max_difference: 1.0\n"
        "    where: {age: {gte: 50}, region: [north, south], member: {not: 'no'}}\n"
    )
    report = _evaluate(policy, people)
    everyone, older = report.verdicts
    assert everyone.value == pytest.approx(_selection_gap(people), abs=1e-12)
    rows = people[
        (people.age >= 50) & people.region.isin(["north", "south"]) & (people.member != "no")
    ]
    assert older.value == pytest.approx(_selection_gap(rows), abs=1e-12)
    assert sum(g.n for g in older.groups) == len(rows)
    description = "age >= 50 and region in [north, south] and not (member = no)"
    assert f"Slice: {description} ({len(rows):,} of 600 rows)." in older.message
    assert dict(older.info)["where"] == description
    assert dict(older.info)["rows"] == len(rows)
    assert "Slice" not in everyone.message


def test_target_where_selects_the_audited_rows_before_anything_else(
    people: pd.DataFrame,
) -> None:
    policy = (
        "version: 1\nname: t\ntarget: {where: {sex: Female, age: {lt: 40}}}\nrules:\n"
        "  - {id: acc, kind: performance, metric: accuracy, min: 0.0}\n"
    )
    report = _evaluate(policy, people)
    rows = people[(people.sex == "Female") & (people.age < 40)]
    assert report.verdicts[0].value == pytest.approx((rows.y == rows.p).mean(), abs=1e-12)
    assert report.data["where"] == "sex = Female and age < 40"
    assert report.data["selected_rows"] == len(rows)
    assert report.data["rows"] == 600


def test_slices_reuse_the_model_predictions(people: pd.DataFrame) -> None:
    X = people[["age"]]
    model = LogisticRegression().fit(X, people["y"])
    policy = (
        "version: 1\nname: m\ntarget: {label: y, features: [age]}\nrules:\n"
        "  - {id: a, kind: demographic_parity, by: sex, max_difference: 1}\n"
        "  - {id: b, kind: demographic_parity, by: sex, max_difference: 1, where: {age: {gt: 30}}}\n"
        "  - {id: c, kind: performance, metric: roc_auc, min: 0, where: {region: north}}\n"
    )
    report = rulecheck.evaluate(policy, people, model=model)
    assert [v.status.value for v in report.verdicts] == ["pass"] * 3
    assert report.model["calls"] == 1
    north = people.region == "north"
    from sklearn.metrics import roc_auc_score

    expected = roc_auc_score(people.y[north], model.predict_proba(X[north])[:, 1])
    assert report.verdicts[2].value == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("{regoin: north}", "where column 'regoin' not found in the data; did you mean 'region'?"),
        ("{region: {gt: 3}}", "column 'region' is not numeric"),
        ("{age: {gt: 200}}", "where: age > 200 selects none of the 600 rows"),
    ],
)
def test_a_bad_slice_errors_its_rule_only(people: pd.DataFrame, where: str, message: str) -> None:
    policy = HEADER + (
        f"  - {{id: bad, kind: demographic_parity, by: sex, where: {where}}}\n"
        "  - {id: good, kind: demographic_parity, by: sex, max_difference: 1}\n"
    )
    bad, good = _evaluate(policy, people).verdicts
    assert bad.status.value == "error"
    assert message in bad.message
    assert good.status.value == "pass"


@pytest.mark.parametrize(
    ("where", "position", "text"),
    [
        ("{age: {gte: old}}", "8:24", "valid number"),
        ("{age: {}}", "8:18", "give at least one of gt, gte, lt, lte, not"),
        ("{age: {not: {}}}", "8:24", "give at least one of gt, gte, lt, lte"),
        (
            "{age: {between: [1, 2]}}",
            "8:19",
            "unknown field 'between'. Valid fields: gt, gte, lt, lte, not",
        ),
        ("{}", "8:12", "at least 1 item"),
    ],
)
def test_where_mistakes_are_policy_errors_with_positions(
    tmp_path: Path, where: str, position: str, text: str
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "version: 1\nname: x\nrules:\n  - id: r\n    kind: demographic_parity\n"
        f"    by: sex\n    max_difference: 0.1\n    where: {where}\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as caught:
        rulecheck.load_policy(path)
    rendered = caught.value.render()
    assert f"p.yaml:{position}:" in rendered
    assert text in rendered


def test_missing_group_values_error_group_or_drop(people: pd.DataFrame) -> None:
    frame = people.copy()
    frame["sex"] = frame["sex"].astype(object)
    frame.loc[[3, 10, 11], "sex"] = None
    policy = HEADER + (
        "  - {id: error, kind: demographic_parity, by: sex, max_difference: 1}\n"
        "  - {id: group, kind: demographic_parity, by: sex, max_difference: 1, missing: group,"
        " min_group_size: 1}\n"
        "  - {id: drop, kind: demographic_parity, by: sex, max_difference: 1, missing: drop}\n"
    )
    error, grouped, dropped = _evaluate(policy, frame).verdicts
    assert error.status.value == "error"
    assert "has 3 missing values (first at row 3)" in error.message
    assert "missing: group" in error.message
    groups = {g.group[0][1]: g for g in grouped.groups}
    assert set(groups) == {"Female", "Male", "(missing)"}
    assert groups["(missing)"].n == 3
    assert groups["(missing)"].value == pytest.approx(frame.loc[[3, 10, 11], "p"].mean())
    assert "Dropped 3 rows with a missing sex (missing: drop)." in dropped.message
    kept = frame.dropna(subset=["sex"])
    assert dropped.value == pytest.approx(_selection_gap(kept), abs=1e-12)
    assert sum(g.n for g in dropped.groups) == len(kept)


def test_declared_dtypes_make_csv_and_parquet_agree(tmp_path: Path, people: pd.DataFrame) -> None:
    frame = people.assign(
        grade=pd.Categorical(people["region"]),
        member=people["member"].map({"yes": True, "no": False}),
    )
    frame.to_parquet(tmp_path / "data.parquet")
    csv = frame.assign(member=frame["member"].map({True: "yes", False: "no"}))
    csv.to_csv(tmp_path / "data.csv", index=False)
    policy = (
        "version: 1\nname: d\n"
        "target: {{data: {data}, label: y, prediction: p, dtypes: {{grade: category, member: bool}}}}\n"
        "rules:\n"
        "  - {{id: g, kind: demographic_parity, by: [grade, member], max_difference: 1, min_group_size: 1}}\n"
        "  - {{id: m, kind: performance, metric: accuracy, min: 0, where: {{member: true}}}}\n"
    )
    results = []
    for data in ("data.parquet", "data.csv"):
        path = tmp_path / f"{data}.yaml"
        path.write_text(policy.format(data=data), encoding="utf-8")
        report = rulecheck.evaluate(path)
        results.append([(v.value, [g.to_dict() for g in v.groups]) for v in report.verdicts])
        assert all(v.status.value == "pass" for v in report.verdicts)
    assert results[0] == results[1]


@pytest.mark.parametrize(
    ("values", "dtype", "message"),
    [
        (["1", "2", "x"], "int", "cannot read column 'c' as int"),
        ([1.0, 2.5, 3.0], "int", "2.5 is not a whole number"),
        (["yes", "no", "maybe"], "bool", "'maybe' is not true/false, yes/no or 1/0"),
    ],
)
def test_a_column_that_does_not_fit_its_dtype_names_it(
    values: list[Any], dtype: str, message: str
) -> None:
    frame = pd.DataFrame({"c": values, "sex": ["a", "b", "a"], "y": [0, 1, 1], "p": [1, 1, 0]})
    policy = (
        f"version: 1\nname: d\ntarget: {{dtypes: {{c: {dtype}}}}}\nrules:\n"
        "  - {id: acc, kind: performance, metric: accuracy, min: 0}\n"
    )
    verdict = _evaluate(policy, frame).verdicts[0]
    assert verdict.status.value == "error"
    assert message in verdict.message


def test_proxy_rule_says_how_missing_feature_values_were_used() -> None:
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            "income": rng.normal(50, 10, n),
            "town": rng.choice(["a", "b", "c"], n).astype(object),
        }
    )
    frame.loc[:4, "income"] = np.nan
    frame.loc[:1, "town"] = None
    policy = HEADER + (
        "  - {id: px, kind: proxy, protected: sex, features: [income, town], max_association: 1}\n"
    )
    verdict = rulecheck.evaluate(policy, frame).verdicts[0]
    assert "Rows with missing values left out of the correlation ratio: income (5)." in (
        verdict.message
    )
    assert "Missing values counted as a category of their own: town (2)." in verdict.message


def test_time_budget_ends_a_slow_rule_as_error_and_the_others_still_run() -> None:
    rng = np.random.default_rng(0)
    columns = [f"x{i}" for i in range(9)]
    frame = pd.DataFrame(rng.normal(size=(300, 9)), columns=columns)
    frame["sex"] = rng.choice(["F", "M"], 300)
    frame["y"] = (frame["x0"] + rng.normal(size=300) > 0).astype(int)
    model = LogisticRegression().fit(frame[columns], frame["y"])
    policy = (
        "version: 1\nname: budget\ntime_budget_s: 0.001\n"
        f"target: {{label: y, features: [{', '.join(columns)}]}}\n"
        "attribution: {explainer: permutation, background_size: 5}\n"
        "rules:\n"
        "  - {id: slow, kind: attribution, features: [x0], min_share: 0.01, max_rows: 100}\n"
        "  - {id: fast, kind: demographic_parity, by: sex, max_difference: 1}\n"
    )
    slow, fast = rulecheck.evaluate(policy, frame, model=model).verdicts
    assert slow.status.value == "error"
    assert slow.message.startswith("over the policy's time_budget_s of 0.001 s: the model-agnostic")
    assert "after explaining 20 of 100 rows" in slow.message
    assert fast.status.value == "pass"
