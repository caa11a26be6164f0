"""Hand-computed cases for the group comparison shared by every grouped rule (rules/_groups.py).

One tiny dataset, four groups (selection rate / true positive rate):

====  ===  ================  =================  ==========================
g     n    y                 p                  selection rate, TPR
====  ===  ================  =================  ==========================
a     4    1 1 0 0           1 1 1 0            0.75, 1.0
b     4    1 1 0 0           1 0 0 0            0.25, 0.5
c     2    0 0               1 1                1.0,  undefined (no positives)
r     4    1 0 1 0           1 1 0 0            0.5,  0.5
====  ===  ================  =================  ==========================
"""

from __future__ import annotations

import importlib

import pandas as pd
import pytest

import rulecheck
from rulecheck import Report, Verdict

GROUPS = {  # group: (y, p)
    "a": ([1, 1, 0, 0], [1, 1, 1, 0]),
    "b": ([1, 1, 0, 0], [1, 0, 0, 0]),
    "c": ([0, 0], [1, 1]),
    "r": ([1, 0, 1, 0], [1, 1, 0, 0]),
}
FRAME = pd.DataFrame(
    [(g, y, p) for g, (ys, ps) in GROUPS.items() for y, p in zip(ys, ps, strict=True)],
    columns=["g", "y", "p"],
)


def run(*rules: str, frame: pd.DataFrame = FRAME) -> Report:
    policy = "version: 1\nname: semantics\nrules:\n" + "".join(f"  - {{{r}}}\n" for r in rules)
    return rulecheck.evaluate(policy, data=frame, label="y", prediction="p")


def one(rule: str, frame: pd.DataFrame = FRAME) -> Verdict:
    (verdict,) = run(rule, frame=frame).verdicts
    return verdict


def by_label(verdict: Verdict) -> dict[str, rulecheck.GroupValue]:
    return {group.label(): group for group in verdict.groups}


# -- reference_group -------------------------------------------------------------------------------
def test_reference_group_value_is_the_worst_ratio() -> None:
    # ratios to r (0.5): a 1.5, b 0.5, c 2.0 -> worst (lowest) 0.5
    verdict = one("id: di, kind: disparate_impact, by: g, reference_group: r, min_group_size: 1")
    assert verdict.status.value == "fail"
    assert verdict.bound == "min_ratio"
    assert verdict.value == pytest.approx(0.5)
    assert verdict.threshold == 0.8


def test_reference_group_is_excluded_from_its_own_min_ratio() -> None:
    # Only a (1.5) besides the reference; r / r = 1.0 must not count as the lowest ratio.
    verdict = one(
        "id: di, kind: disparate_impact, by: g, groups: [a], reference_group: r, min_group_size: 1"
    )
    assert verdict.status.value == "pass"
    assert verdict.value == pytest.approx(1.5)
    assert {"g=a", "g=r"} == set(by_label(verdict))  # the reference is reported, not compared


def test_reference_group_is_excluded_from_its_own_max_ratio() -> None:
    # Only b (0.25 / 0.5 = 0.5) besides the reference; r / r = 1.0 must not be the highest.
    verdict = one(
        "id: sr, kind: group_metric, metric: selection_rate, by: g, groups: [b], "
        "reference_group: r, max_ratio: 2, min_group_size: 1"
    )
    assert verdict.status.value == "pass"
    assert verdict.value == pytest.approx(0.5)


def test_reference_group_difference_is_the_largest_absolute_gap() -> None:
    # |a - r| = 0.25, |b - r| = 0.25, |c - r| = 0.5
    verdict = one(
        "id: dp, kind: demographic_parity, by: g, reference_group: r, max_difference: 0.4, "
        "min_group_size: 1"
    )
    assert verdict.status.value == "fail"
    assert verdict.value == pytest.approx(0.5)
    assert verdict.threshold == 0.4


def test_reference_group_too_small_is_an_error() -> None:
    verdict = one("id: di, kind: disparate_impact, by: g, reference_group: c, min_group_size: 3")
    assert verdict.status.value == "error"
    assert "reference_group g=c" in verdict.message
    assert "min_group_size 3" in verdict.message
    assert verdict.value is None


def test_unknown_reference_group_is_an_error_naming_it() -> None:
    verdict = one("id: di, kind: disparate_impact, by: g, reference_group: zz, min_group_size: 1")
    assert verdict.status.value == "error"
    assert "g=zz" in verdict.message


# -- absolute bounds -------------------------------------------------------------------------------
def test_min_bound_applies_to_the_lowest_group() -> None:
    verdict = one(
        "id: sr, kind: group_metric, metric: selection_rate, by: g, min: 0.3, min_group_size: 1"
    )
    assert verdict.status.value == "fail"
    assert (verdict.bound, verdict.value, verdict.threshold) == ("min", 0.25, 0.3)
    assert "g=b" in verdict.message


def test_max_bound_applies_to_the_highest_group() -> None:
    verdict = one(
        "id: sr, kind: group_metric, metric: selection_rate, by: g, max: 0.9, min_group_size: 1"
    )
    assert verdict.status.value == "fail"
    assert (verdict.bound, verdict.value, verdict.threshold) == ("max", 1.0, 0.9)
    passing = one(
        "id: sr, kind: group_metric, metric: selection_rate, by: g, max: 0.9, min_group_size: 3"
    )
    assert passing.status.value == "pass"
    assert (passing.bound, passing.value) == ("max", 0.75)


# -- exclusions ------------------------------------------------------------------------------------
def test_min_group_size_excludes_small_groups_and_says_so() -> None:
    # c (n=2, selection rate 1.0) is excluded: difference a - b = 0.5, not c - b = 0.75.
    verdict = one("id: dp, kind: demographic_parity, by: g, max_difference: 0.6, min_group_size: 3")
    assert verdict.status.value == "pass"
    assert verdict.value == pytest.approx(0.5)
    assert "min_group_size 3" in verdict.message
    assert "g=c (n=2)" in verdict.message
    groups = by_label(verdict)
    assert groups["g=c"].excluded
    assert groups["g=c"].n == 2
    assert groups["g=c"].value == 1.0  # reported all the same
    assert not any(groups[g].excluded for g in ("g=a", "g=b", "g=r"))


def test_undefined_groups_are_reported_and_not_compared() -> None:
    # TPR: a 1.0, b 0.5, c undefined (no positive labels), r 0.5
    verdict = one("id: eo, kind: equal_opportunity, by: g, max_difference: 0.4, min_group_size: 1")
    assert verdict.status.value == "fail"
    assert verdict.value == pytest.approx(0.5)
    groups = by_label(verdict)
    assert groups["g=c"].undefined
    assert groups["g=c"].value is None
    assert not groups["g=c"].excluded
    assert not any(groups[g].undefined for g in ("g=a", "g=b", "g=r"))
    assert "undefined" in verdict.message
    assert "g=c" in verdict.message


def test_undefined_group_is_never_the_lowest() -> None:
    # Were the undefined TPR of c read as 0 (as scikit-learn does), the ratio would be 0.
    verdict = one("id: eo, kind: equal_opportunity, by: g, min_ratio: 0.4, min_group_size: 1")
    assert verdict.status.value == "pass"
    assert verdict.value == pytest.approx(0.5)


# -- several bounds --------------------------------------------------------------------------------
SEVERAL = (
    "id: sr, kind: group_metric, metric: selection_rate, by: g, groups: [a, b, r], "
    "min_group_size: 1, max_difference: 0.6, min_ratio: {ratio}, min: {low}"
)


def test_several_bounds_fail_if_any_fails() -> None:
    # difference 0.5 <= 0.6, ratio 0.25 / 0.75 = 1/3 >= 0.2, lowest 0.25 < 0.3
    verdict = one(SEVERAL.format(ratio=0.2, low=0.3))
    assert verdict.status.value == "fail"
    assert (verdict.bound, verdict.value, verdict.threshold) == ("min", 0.25, 0.3)
    assert len(verdict.checks) == 3
    for bound in ("max_difference 0.6", "min_ratio 0.2", "min 0.3"):
        assert bound in verdict.message


def test_several_bounds_passing_report_the_closest() -> None:
    # margins: difference 0.6 - 0.5 = 0.1, ratio 1/3 - 0.3 = 0.033, min 0.25 - 0.2 = 0.05
    verdict = one(SEVERAL.format(ratio=0.3, low=0.2))
    assert verdict.status.value == "pass"
    assert verdict.bound == "min_ratio"
    assert verdict.value == pytest.approx(1 / 3)
    assert verdict.threshold == 0.3
    for bound in ("max_difference 0.6", "min_ratio 0.3", "min 0.2"):
        assert bound in verdict.message


def test_several_failing_bounds_are_all_named() -> None:
    verdict = one(SEVERAL.format(ratio=0.5, low=0.3))
    assert verdict.status.value == "fail"
    assert verdict.bound in {"min_ratio", "min"}
    assert [c.passed for c in verdict.checks] == [True, False, False]
    assert "min_ratio 0.5" in verdict.message
    assert "min 0.3" in verdict.message


# -- groups subset ---------------------------------------------------------------------------------
def test_groups_selects_the_compared_subset() -> None:
    verdict = one(
        "id: dp, kind: demographic_parity, by: g, groups: [a, r], max_difference: 0.2, "
        "min_group_size: 1"
    )
    assert verdict.status.value == "fail"
    assert verdict.value == pytest.approx(0.25)
    assert set(by_label(verdict)) == {"g=a", "g=r"}


def test_unknown_group_is_an_error_naming_it() -> None:
    verdict = one(
        "id: dp, kind: demographic_parity, by: g, groups: [a, zz], max_difference: 0.2, "
        "min_group_size: 1"
    )
    assert verdict.status.value == "error"
    assert "g=zz" in verdict.message
    assert verdict.value is None


def test_intersectional_groups_and_reference_are_mappings() -> None:
    frame = FRAME.assign(h=["x", "y"] * 7)
    # selection rates: (a,x) 1.0, (a,y) 0.5, (b,x) 0.5, (b,y) 0.0, (c,x) 1.0, ... (r,x) 0.5
    verdict = one(
        "id: di, kind: disparate_impact, by: [g, h], min_group_size: 1, "
        "groups: [{g: a, h: y}, {g: b, h: x}], reference_group: {g: a, h: x}",
        frame=frame,
    )
    assert verdict.status.value == "fail"
    assert verdict.value == pytest.approx(0.5)
    assert set(by_label(verdict)) == {"g=a, h=y", "g=b, h=x", "g=a, h=x"}


# -- degenerate data -------------------------------------------------------------------------------
def test_all_groups_zero_selection_rate_with_min_ratio_is_an_error() -> None:
    verdict = one("id: di, kind: disparate_impact, by: g, min_group_size: 1", FRAME.assign(p=0))
    assert verdict.status.value == "error"
    assert "selection_rate" in verdict.message
    assert verdict.value is None


def test_fewer_than_two_comparable_groups_is_an_error() -> None:
    verdict = one("id: dp, kind: demographic_parity, by: g, min_group_size: 5")
    assert verdict.status.value == "error"
    assert "at least 5 rows" in verdict.message


# -- the public entry point ------------------------------------------------------------------------
def test_evaluate_stays_callable_after_its_module_is_imported() -> None:
    # Regression: the implementing module was once named rulecheck/evaluate.py, so importing it
    # replaced the package attribute `rulecheck.evaluate` (the function) with the module.
    for name in ("rulecheck.evaluation", "rulecheck.evaluate"):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    assert callable(rulecheck.evaluate)
    for _ in range(2):
        assert run("id: dp, kind: demographic_parity, by: g, min_group_size: 1").verdicts


def ratios(verdict: Verdict) -> dict[str, float | None]:
    return {str(g.group[0][1]): g.ratio for g in verdict.groups}


def test_each_group_ratio_is_to_the_reference_group() -> None:
    (v,) = run(
        "id: x, kind: disparate_impact, by: g, reference_group: r, min_group_size: 1"
    ).verdicts
    # selection rates a 0.75, b 0.25, c 1.0, r 0.5 (reference)
    assert ratios(v) == {"a": 1.5, "b": 0.5, "c": 2.0, "r": 1.0}
    assert v.value == 0.5  # the worst ratio, the reference itself excluded


def test_each_group_ratio_is_to_the_highest_group_without_a_reference() -> None:
    (v,) = run("id: x, kind: disparate_impact, by: g, min_group_size: 3").verdicts
    # c (n=2) is excluded: the highest compared group is a (0.75)
    assert ratios(v) == {"a": 1.0, "b": 0.25 / 0.75, "c": None, "r": 0.5 / 0.75}


def test_each_group_ratio_is_to_the_overall_value_with_relative_to_overall() -> None:
    (v,) = run(
        "id: x, kind: group_metric, metric: selection_rate, by: g, relative_to: overall, min_ratio: 0.1,"
        " min_group_size: 1"
    ).verdicts
    overall = 8 / 14
    assert ratios(v) == pytest.approx(
        {"a": 0.75 / overall, "b": 0.25 / overall, "c": 1.0 / overall, "r": 0.5 / overall}
    )


def test_undefined_groups_and_rules_without_ratio_bounds_have_no_ratio() -> None:
    (v,) = run(
        "id: x, kind: group_metric, metric: true_positive_rate, by: g, min_ratio: 0.1, min_group_size: 1"
    ).verdicts
    assert ratios(v)["c"] is None  # TPR undefined: no positives
    (d,) = run(
        "id: d, kind: demographic_parity, by: g, max_difference: 1, min_group_size: 1"
    ).verdicts
    assert set(ratios(d).values()) == {None}
