"""Properties of every grouped rule kind in the registry (after scikit-learn's test_common.py).

For each kind in ``rulecheck.rules.ALL_RULES`` that takes ``by``, a few representative rule
variants are evaluated on generated data:

- the verdict (status, value, per-group breakdown) is invariant to permuting the rows;
- it is invariant to relabelling group values ('a' -> 'z', ...), which also reverses their order;
- loosening a bound never turns PASS into FAIL (nor changes whether the rule can be computed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rulecheck
from rulecheck import Policy, Report, Verdict
from rulecheck.rules import ALL_RULES, kind_of

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Variant:
    """One rule of a kind: fixed options plus the one bound that the tests tighten or loosen."""

    kind: str
    options: Mapping[str, Any]
    bound: str
    by: str | tuple[str, ...] = "g"

    def rule(self, rule_id: str, limit: float, min_group_size: int) -> dict[str, Any]:
        by = self.by if isinstance(self.by, str) else list(self.by)
        return {
            "id": rule_id,
            "kind": self.kind,
            "by": by,
            "min_group_size": min_group_size,
            **self.options,
            self.bound: limit,
        }


VARIANTS: tuple[Variant, ...] = (
    Variant("group_metric", {"metric": "selection_rate"}, "max_difference"),
    Variant("group_metric", {"metric": "true_positive_rate"}, "min_ratio"),
    Variant("group_metric", {"metric": "accuracy"}, "min"),
    Variant("group_metric", {"metric": "f1"}, "max"),
    Variant("group_metric", {"metric": "precision"}, "max_ratio"),
    Variant(
        "group_metric",
        {"metric": "false_positive_rate", "relative_to": "overall"},
        "max_difference",
    ),
    Variant("group_metric", {"metric": "mean_prediction", "reference_group": "a"}, "min_ratio"),
    Variant("group_metric", {"metric": "r2"}, "max_difference"),
    Variant("demographic_parity", {}, "max_difference"),
    Variant("demographic_parity", {}, "min_ratio", by=("g", "h")),
    Variant("equal_opportunity", {}, "max_difference"),
    Variant("equal_opportunity", {}, "min_ratio"),
    Variant("equalized_odds", {}, "max_difference"),
    Variant("equalized_odds", {}, "max_difference", by=("g", "h")),
    Variant("disparate_impact", {}, "min_ratio"),
    Variant("disparate_impact", {"reference_group": "a", "min_ratio": 0.5}, "max_ratio"),
    Variant("loss_disparity", {"loss": "zero_one"}, "max_difference"),
    Variant("loss_disparity", {"loss": "zero_one"}, "max"),
)


# Kinds that need a fitted model to explain or to call on changed inputs; they are tested with
# models in tests/rules/test_attribution_rules.py, test_loss_attribution.py and
# test_property_rules.py (and tests/engines/test_property_engine.py).
NEEDS_A_MODEL = {"attribution", "loss_attribution", "counterfactual", "monotonic", "invariance"}


def test_variants_cover_every_grouped_kind() -> None:
    grouped = {
        kind_of(cls)
        for cls in ALL_RULES
        if "by" in cls.model_fields and kind_of(cls) not in NEEDS_A_MODEL
    }
    assert grouped == {v.kind for v in VARIANTS}


# -- bounds ----------------------------------------------------------------------------------------
def tight_limit(bound: str, u: float) -> float:
    """A limit for ``bound`` from u in [0, 1], spread over the bound's valid range."""
    if bound == "min_ratio":
        return 0.01 + 0.99 * u
    if bound == "max_ratio":
        return 1 + 4 * u
    return u  # max_difference, min, max


def loosen(bound: str, limit: float, slack: float) -> float:
    """A looser limit: larger for max_* bounds, smaller for min_* bounds (staying valid)."""
    if bound == "max_ratio":
        return limit + 4 * slack
    if bound.startswith("max"):
        return limit + (1 - limit) * slack
    if bound == "min_ratio":
        return 0.001 + (limit - 0.001) * (1 - slack)
    return limit * (1 - slack)  # min


def policy(
    limits: list[float], min_group_size: int, rename: Mapping[str, str] | None = None
) -> Policy:
    """One policy with every variant. Built from a mapping, not YAML: parsing YAML would cost
    more than evaluating the rules, and the policy loader has tests of its own."""
    rules = [
        v.rule(f"r{i}", limit, min_group_size)
        for i, (v, limit) in enumerate(zip(VARIANTS, limits, strict=True))
    ]
    for rule in rules:
        if rename and "reference_group" in rule:
            rule["reference_group"] = rename[rule["reference_group"]]
    return Policy.model_validate({"version": 1, "name": "properties", "rules": rules})


def evaluate(rules: Policy, frame: pd.DataFrame) -> Report:
    return rulecheck.evaluate(rules, data=frame, label="y", prediction="p")


# -- data ------------------------------------------------------------------------------------------
@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 60))
    groups = ("a", "b", "c", "d")[: draw(st.integers(1, 4))]
    bits = st.lists(st.integers(0, 1), min_size=n, max_size=n)
    return pd.DataFrame(
        {
            "g": draw(st.lists(st.sampled_from(groups), min_size=n, max_size=n)),
            "h": draw(st.lists(st.sampled_from(("x", "y")), min_size=n, max_size=n)),
            "y": draw(bits),
            "p": draw(bits),
        }
    )


unit = st.floats(0, 1, allow_nan=False)
limits = st.lists(unit, min_size=len(VARIANTS), max_size=len(VARIANTS))
group_sizes = st.sampled_from([1, 2, 5])


def _limits(us: list[float]) -> list[float]:
    return [tight_limit(v.bound, u) for v, u in zip(VARIANTS, us, strict=True)]


# -- comparison ------------------------------------------------------------------------------------
def _same_number(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def _groups(verdict: Verdict, rename: Mapping[str, str]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {
        (tuple((c, rename.get(str(v), v)) for c, v in g.group), g.metric): (
            g.n,
            g.value,
            g.undefined,
            g.excluded,
        )
        for g in verdict.groups
    }


def assert_same_verdicts(
    first: Report, second: Report, rename: Mapping[str, str] | None = None
) -> None:
    rename = rename or {}
    for a, b in zip(first.verdicts, second.verdicts, strict=True):
        where = f"{a.rule_id}: {a.message} | {b.message}"
        assert a.status == b.status, where
        assert a.bound == b.bound, where
        assert _same_number(a.value, b.value), where
        groups_a, groups_b = _groups(a, rename), _groups(b, {})
        assert groups_a.keys() == groups_b.keys(), where
        for key, (n, value, undefined, excluded) in groups_a.items():
            n_b, value_b, undefined_b, excluded_b = groups_b[key]
            assert (n, undefined, excluded) == (n_b, undefined_b, excluded_b), where
            assert _same_number(value, value_b), where


# -- properties ------------------------------------------------------------------------------------
@given(frame=frames(), us=limits, min_group_size=group_sizes, data=st.data())
@SETTINGS
def test_invariant_to_row_permutation(
    frame: pd.DataFrame, us: list[float], min_group_size: int, data: st.DataObject
) -> None:
    order = data.draw(st.permutations(range(len(frame))))
    shuffled = frame.iloc[list(order)].reset_index(drop=True)
    rules = policy(_limits(us), min_group_size)
    assert_same_verdicts(evaluate(rules, frame), evaluate(rules, shuffled))


RENAME = {"a": "z", "b": "y", "c": "x", "d": "w"}  # reverses the sort order too
RENAME_H = {"x": "q", "y": "p"}


@given(frame=frames(), us=limits, min_group_size=group_sizes)
@SETTINGS
def test_invariant_to_relabelling_groups(
    frame: pd.DataFrame, us: list[float], min_group_size: int
) -> None:
    relabelled = frame.assign(g=frame["g"].map(RENAME), h=frame["h"].map(RENAME_H))
    first = evaluate(policy(_limits(us), min_group_size), frame)
    second = evaluate(policy(_limits(us), min_group_size, rename=RENAME), relabelled)
    # Group labels in the verdicts are compared through the renaming; columns g and h do not
    # share values, so one mapping serves both.
    assert_same_verdicts(first, second, rename={**RENAME, **RENAME_H})


@given(
    frame=frames(),
    us=limits,
    slack=st.lists(unit, min_size=len(VARIANTS), max_size=len(VARIANTS)),
    min_group_size=group_sizes,
)
@SETTINGS
def test_loosening_a_bound_never_turns_pass_into_fail(
    frame: pd.DataFrame, us: list[float], slack: list[float], min_group_size: int
) -> None:
    tight = _limits(us)
    loose = [loosen(v.bound, t, s) for v, t, s in zip(VARIANTS, tight, slack, strict=True)]
    tight_report = evaluate(policy(tight, min_group_size), frame)
    loose_report = evaluate(policy(loose, min_group_size), frame)
    for a, b in zip(tight_report.verdicts, loose_report.verdicts, strict=True):
        where = f"{a.rule_id}: {a.message} | {b.message}"
        assert (a.status.value == "error") == (b.status.value == "error"), where
        if a.status.value == "pass":
            assert b.status.value == "pass", where
