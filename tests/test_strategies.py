"""rulecheck.strategies: exact datasets, policies that always load and evaluate, rows like a frame.

Every property test here is derandomized, as docs/strategies.md recommends for CI.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, assume, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import rulecheck
from rulecheck import strategies as rs
from rulecheck.verdict import Status

ROOT = Path(__file__).resolve().parents[1]

CI = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# find() without the explain phase, which re-runs the strategy on many variants of the result.
FIND = settings(database=None, derandomize=True, phases=[Phase.generate, Phase.shrink])


def test_import_rulecheck_does_not_import_hypothesis() -> None:
    code = (
        "import sys, rulecheck; "
        "assert 'hypothesis' not in sys.modules, 'hypothesis'; "
        "assert 'rulecheck.strategies' not in sys.modules, 'strategies'"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


# --- datasets -----------------------------------------------------------------------------------


def _per_group(df: pd.DataFrame) -> pd.DataFrame:
    return (
        df.assign(right=(df["y"] == df["p"]).astype(int))
        .groupby("group", sort=False)[["y", "right"]]
        .agg(size=("y", "size"), positives=("y", "sum"), right=("right", "sum"))
    )


@settings(CI, max_examples=60)
@given(data=st.data())
def test_datasets_have_exact_sizes_positives_and_accuracies(data: st.DataObject) -> None:
    n_groups = data.draw(st.integers(1, 4), label="n_groups")
    sizes = data.draw(st.lists(st.integers(1, 60), min_size=n_groups, max_size=n_groups))
    rates = data.draw(st.lists(st.floats(0, 1), min_size=n_groups, max_size=n_groups))
    accuracies = data.draw(st.lists(st.floats(0, 1), min_size=n_groups, max_size=n_groups))
    df = data.draw(rs.datasets(n_groups, sizes, rates, accuracies=accuracies), label="frame")

    assert list(df.columns) == ["group", "y", "p", "s"]
    assert isinstance(df.index, pd.RangeIndex)
    assert [str(t) for t in df.dtypes] == ["str", "int64", "int64", "float64"]
    table = _per_group(df)
    assert list(table.index) == [f"g{g}" for g in range(n_groups)]
    assert list(table["size"]) == sizes
    assert list(table["positives"]) == [round(r * n) for r, n in zip(rates, sizes, strict=True)]
    assert list(table["right"]) == [round(a * n) for a, n in zip(accuracies, sizes, strict=True)]
    assert set(df["y"]) <= {0, 1}
    assert set(df["p"]) <= {0, 1}
    assert df["s"].between(0, 1).all()
    assert ((df["s"] >= 0.5) == (df["p"] == 1)).all()


@settings(CI, max_examples=40)
@given(
    df=rs.datasets(
        n_groups=st.integers(2, 5),
        sizes=st.integers(5, 40),
        base_rates=st.sampled_from([0.0, 0.25, 1.0]),
        min_size=5,
    )
)
def test_datasets_draw_strategies_once_per_group(df: pd.DataFrame) -> None:
    table = _per_group(df)
    assert 2 <= len(table) <= 5
    assert table["size"].between(5, 40).all()
    for size, positives in zip(table["size"], table["positives"], strict=True):
        assert positives in {0, round(0.25 * size), size}


@settings(CI, max_examples=30)
@given(df=rs.datasets(sizes=[7, 9], min_size=3, max_size=3))
def test_fixed_sizes_ignore_min_and_max_size(df: pd.DataFrame) -> None:
    assert list(_per_group(df)["size"]) == [7, 9]


@settings(CI, max_examples=30)
@given(df=rs.datasets(3, label="outcome", prediction=None, score="proba", group_column="sex"))
def test_datasets_column_names_and_left_out_columns(df: pd.DataFrame) -> None:
    assert list(df.columns) == ["sex", "outcome", "proba"]
    assert df["proba"].between(0, 1).all()
    assert set(df["sex"]) <= {"g0", "g1", "g2"}


def test_datasets_shrink_to_the_simplest_frame() -> None:
    simplest = find(rs.datasets(), lambda df: True, settings=FIND)
    assert simplest[["group", "y", "p"]].to_dict("list") == {
        "group": ["g0", "g1"],
        "y": [0, 0],
        "p": [0, 0],
    }
    assert (simplest["s"] < 0.5).all()
    # A failing property shrinks to a small witness: here, one wrong decision in a small group.
    witness = find(
        rs.datasets(sizes=st.integers(1, 100)), lambda df: (df["y"] != df["p"]).any(), settings=FIND
    )
    assert len(witness) == 2
    assert int((witness["y"] != witness["p"]).sum()) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_groups": 2, "sizes": [1, 2, 3]}, "sizes has 3 entries but n_groups=2"),
        ({"n_groups": 3, "base_rates": [0.5]}, "base_rates has 1 entries but n_groups=3"),
        ({"n_groups": 0}, "n_groups must be an int of at least 1"),
        ({"min_size": 0}, "min_size must be an int of at least 1"),
        ({"min_size": 5, "max_size": 4}, "max_size must be an int of at least 5"),
        ({"label": "group"}, "column names must differ"),
    ],
)
def test_datasets_refuse_bad_arguments_at_once(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        rs.datasets(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_rates": 1.5}, r"a base rate must be a number in \[0, 1\], got 1.5"),
        ({"accuracies": st.just(-0.1)}, r"an accuracy must be a number in \[0, 1\], got -0.1"),
        ({"sizes": st.just(0)}, "a group size must be an int of at least 1, got 0"),
        ({"n_groups": st.just(2), "sizes": [1]}, "sizes has 1 entries but there are 2 groups"),
    ],
)
def test_datasets_refuse_bad_drawn_values(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        find(rs.datasets(**kwargs), lambda df: True, settings=FIND)


# --- policies -----------------------------------------------------------------------------------


@settings(CI, max_examples=200)
@given(text=rs.policies())
def test_policies_always_load(text: str) -> None:
    policy = rulecheck.load_policy(text)
    assert policy.warnings == ()
    assert 1 <= len(policy.rules) <= 5
    for rule in policy.rules:
        assert rule.kind in rs.GROUP_KINDS  # type: ignore[attr-defined]
        if getattr(rule, "reference_group", None) is not None:
            assert rule.reference_group in {"g0", "g1"}  # type: ignore[attr-defined]


@settings(CI, max_examples=100)
@given(
    text=rs.policies(
        kinds=["group_metric", "disparate_impact"],
        columns={"sex": ["F", "M", "X"], "race": None, "age_band": [1, 2]},
        metrics=["f1", "r2", "roc_auc"],
        min_group_size=5,
        uncertainty=False,
        min_rules=2,
        max_rules=3,
    )
)
def test_policies_follow_their_arguments(text: str) -> None:
    policy = rulecheck.load_policy(text)
    assert policy.uncertainty is None
    assert 2 <= len(policy.rules) <= 3
    for rule in policy.rules:
        fields: Mapping[str, Any] = rule.model_dump(exclude_unset=True)
        assert fields["kind"] in {"group_metric", "disparate_impact"}
        assert fields["min_group_size"] == 5
        by = [fields["by"]] if isinstance(fields["by"], str) else fields["by"]
        assert set(by) <= {"sex", "race", "age_band"}
        if fields["kind"] == "group_metric":
            assert fields["metric"] in {"f1", "r2"}  # roc_auc is performance's only
        if "reference_group" in fields:
            assert fields["by"] != "race"
            assert fields["reference_group"] in {"F", "M", "X", 1, 2}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kinds": ["proxy"]}, "kinds must be a non-empty subset"),
        ({"kinds": []}, "kinds must be a non-empty subset"),
        ({"columns": []}, "grouped kinds need at least one column"),
        ({"columns": "group"}, "columns must be a list of names"),
        ({"columns": {"group": []}}, "must be a non-empty list or None"),
        ({"metrics": ["nope"]}, r"unknown metrics \['nope'\]"),
        ({"kinds": ["group_metric"], "metrics": ["roc_auc"]}, "fits kind group_metric"),
        ({"min_group_size": 0}, "min_group_size must be an int of at least 1"),
        ({"min_rules": 3, "max_rules": 2}, "max_rules must be an int of at least 3"),
    ],
)
def test_policies_refuse_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        rs.policies(**kwargs)


def test_performance_policies_need_no_columns() -> None:
    text = find(rs.policies(kinds=["performance"], columns=[]), lambda t: True, settings=FIND)
    assert rulecheck.load_policy(text).rules[0].kind == "performance"


def test_policies_shrink_to_one_demographic_parity_rule() -> None:
    text = find(rs.policies(), lambda t: True, settings=FIND)
    assert text == (
        "version: 1\nname: a\nrules:\n- id: demographic_parity-1\n"
        "  kind: demographic_parity\n  by: group\n"
    )


def _every_cell_filled(df: pd.DataFrame) -> bool:
    """Each group has true and false positives and negatives, so every metric is defined."""
    cells = df.groupby(["group", "y", "p"]).size()
    return len(cells) == 4 * df["group"].nunique()


@st.composite
def policy_and_data(draw: st.DrawFn) -> tuple[str, pd.DataFrame]:
    df = draw(
        rs.datasets(
            n_groups=st.integers(2, 3),
            sizes=st.integers(20, 120),
            base_rates=st.floats(0.2, 0.8),
            accuracies=st.floats(0.5, 0.95),
        )
    )
    smallest = int(df.groupby("group").size().min())
    return draw(rs.policies(min_group_size=st.integers(1, smallest))), df


@settings(CI, max_examples=100)
@given(case=policy_and_data())
def test_policies_evaluate_without_errors(case: tuple[str, pd.DataFrame]) -> None:
    text, df = case
    assume(_every_cell_filled(df))
    report = rulecheck.evaluate(text, data=df, label="y", prediction="p", score="s")
    errors = [f"{v.rule_id}: {v.message}" for v in report.verdicts if v.status is Status.ERROR]
    assert errors == [], text


# --- the documented example (docs/strategies.md shows the same test) ---------------------------

EO_POLICY = """\
version: 1
name: eo
rules:
  - {id: eo, kind: equal_opportunity, by: group, min_group_size: 1, max_difference: 0}
"""


@settings(CI, max_examples=50)
@given(
    df=st.floats(0.05, 1).flatmap(
        lambda rate: rs.datasets(sizes=st.integers(20, 200), base_rates=rate, accuracies=1)
    )
)
def test_equal_opportunity_passes_for_perfect_predictions(df: pd.DataFrame) -> None:
    report = rulecheck.evaluate(EO_POLICY, data=df, label="y", prediction="p", score="s")
    assert report.verdicts[0].status is Status.PASS, report.verdicts[0].message


# --- rows and frames like a frame ---------------------------------------------------------------

FRAME = pd.DataFrame(
    {
        "age": [18, 40, 90],
        "income": [1.5, 20.0, 7.25],
        "sex": pd.Series(["F", "M", "F"], dtype="category"),
        "city": pd.Series(["Oslo", "Rome", "Lima"], dtype="str"),
        "member": [True, False, True],
    }
)


def _rowspace() -> None:
    pytest.importorskip("rulecheck.engines._rowspace")


@settings(CI, max_examples=50)
@given(data=st.data())
def test_rows_like_stay_within_the_observed_schema(data: st.DataObject) -> None:
    _rowspace()
    row = data.draw(rs.rows_like(FRAME))
    assert set(row) == set(FRAME.columns)
    assert 18 <= row["age"] <= 90
    assert float(row["age"]).is_integer()
    assert 1.5 <= row["income"] <= 20.0
    assert row["sex"] in {"F", "M"}
    assert row["city"] in {"Oslo", "Rome", "Lima"}
    assert row["member"] in {True, False}


@settings(CI, max_examples=50)
@given(data=st.data())
def test_rows_like_follow_constraints(data: st.DataObject) -> None:
    _rowspace()
    constraints = {"age": {"min": 30, "max": 50}, "sex": {"values": ["M"]}}
    row = data.draw(rs.rows_like(FRAME, constraints))
    assert 30 <= row["age"] <= 50
    assert row["sex"] == "M"


@settings(CI, max_examples=30)
@given(data=st.data())
def test_frames_like_keep_columns_and_dtypes(data: st.DataObject) -> None:
    _rowspace()
    frame = data.draw(rs.frames_like(FRAME, min_rows=2, max_rows=10))
    assert 2 <= len(frame) <= 10
    assert list(frame.columns) == list(FRAME.columns)
    assert frame.dtypes.to_dict() == FRAME.dtypes.to_dict()
    assert frame["age"].between(18, 90).all()


@settings(CI, max_examples=20)
@given(data=st.data())
def test_frames_like_follow_constraints(data: st.DataObject) -> None:
    _rowspace()
    constraints = {"sex": {"values": ["X"]}, "income": {"min": 5, "max": 10}}
    frame = data.draw(rs.frames_like(FRAME, max_rows=5, constraints=constraints))
    assert set(frame["sex"]) == {"X"}
    assert set(frame["sex"].cat.categories) >= {"F", "M", "X"}
    assert frame["income"].between(5, 10).all()


def test_frames_like_refuses_bad_row_counts() -> None:
    with pytest.raises(InvalidArgument, match="max_rows must be an int of at least 5"):
        rs.frames_like(FRAME, min_rows=5, max_rows=4)


# --- determinism ---------------------------------------------------------------------------------


def test_derandomized_runs_draw_the_same_examples() -> None:
    def run() -> list[tuple[str, int]]:
        drawn: list[tuple[str, int]] = []

        @settings(CI, max_examples=20)
        @given(text=rs.policies(), df=rs.datasets())
        def collect(text: str, df: pd.DataFrame) -> None:
            drawn.append((text, int(np.asarray(df["y"]).sum())))

        collect()
        return drawn

    assert run() == run()
