"""Judging with confidence intervals: policy validation, statuses, gate, reports, pairing,
reproducibility, min_support and Holm's correction (behaviour; numbers are checked against
independent oracles in test_uncertainty_oracles.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

import rulecheck
from rulecheck import cli
from rulecheck._intervals import holm
from rulecheck.errors import PolicyError
from rulecheck.policy import load_policy
from rulecheck.report.text import render
from rulecheck.verdict import ExitCode, Status

Cells = tuple[int, int, int, int]  # tp, fp, tn, fn


def confusion_frame(cells: dict[str, Cells], seed: int = 0) -> pd.DataFrame:
    """Rows with exactly the given confusion cells per group g (label y, decision p)."""
    rows: list[tuple[str, int, int]] = []
    for group, (tp, fp, tn, fn) in cells.items():
        rows += [(group, 1, 1)] * tp + [(group, 0, 1)] * fp
        rows += [(group, 0, 0)] * tn + [(group, 1, 0)] * fn
    frame = pd.DataFrame(rows, columns=["g", "y", "p"])
    order = np.random.default_rng(seed).permutation(len(frame))
    return frame.iloc[order].reset_index(drop=True)


def policy(rules: str, uncertainty: str | None = "uncertainty: {}", target: str = "") -> str:
    head = f"version: 1\nname: unc\ntarget: {{label: y, prediction: p{target}}}\n"
    if uncertainty:
        head += uncertainty + "\n"
    return head + "rules:\n" + rules


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of a JSON document, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


# Small groups, FPR 12/30 vs 8/30: the gap 0.133 sits near the bound 0.1, with a wide interval.
SMALL = {"a": (20, 12, 18, 10), "b": (20, 8, 22, 10)}
# Big groups (2000 rows each), FPR 0.40 vs 0.20: a gap of 0.2 far above 0.1.
BIG_GAP = {"a": (500, 400, 600, 500), "b": (500, 200, 800, 500)}
# Big groups, FPR 0.30 vs 0.29: a gap of 0.01 far below 0.1.
BIG_SAME = {"a": (500, 300, 700, 500), "b": (500, 290, 710, 500)}

FPR_GAP = (
    "  - {id: fpr, kind: group_metric, metric: false_positive_rate, by: g, max_difference: 0.1}\n"
)


# -- 1. policy validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uncertainty", "rule_keys", "field", "where"),
    [
        ("uncertainty: {confidence: 1.5}", "", "uncertainty.confidence", "<string>:4:"),
        ("uncertainty: {method: magic}", "", "uncertainty.method", "<string>:4:"),
        ("uncertainty: {on_inconclusive: maybe}", "", "uncertainty.on_inconclusive", "<string>:4:"),
        ("uncertainty: {bootstrap: {n: 5}}", "", "uncertainty.bootstrap.n", "<string>:4:"),
        ("", "confidence: 1.5", "(id: r).confidence", "<string>:5:"),
        ("", "method: magic", "(id: r).method", "<string>:5:"),
        ("", "on_inconclusive: maybe", "(id: r).on_inconclusive", "<string>:5:"),
        ("", "bootstrap: {n: 5}", "(id: r).bootstrap.n", "<string>:5:"),
        ("uncertainty: {colour: red}", "", "uncertainty.colour", "<string>:4:"),
        ("uncertainty: {correction: bonferroni}", "", "uncertainty.correction", "<string>:4:"),
    ],
)
def test_bad_uncertainty_settings_are_policy_errors_naming_field_and_position(
    uncertainty: str, rule_keys: str, field: str, where: str
) -> None:
    extra = f", {rule_keys}" if rule_keys else ""
    rules = f"  - {{id: r, kind: demographic_parity, by: g, max_difference: 0.1{extra}}}\n"
    with pytest.raises(PolicyError) as caught:
        load_policy(policy(rules, uncertainty))
    message = str(caught.value)
    assert field in message
    assert where in message  # file:line:col of the offending key


def test_valid_uncertainty_settings_load() -> None:
    text = policy(
        "  - {id: r, kind: demographic_parity, by: g, max_difference: 0.1, confidence: 0.9,"
        " method: analytic, on_inconclusive: fail, bootstrap: {n: 200, seed: 3}}\n",
        "uncertainty: {confidence: 0.99, method: bootstrap, bootstrap: {n: 100, seed: 1},"
        " on_inconclusive: pass, correction: holm}",
    )
    loaded = load_policy(text)
    assert loaded.uncertainty is not None
    assert loaded.uncertainty.correction == "holm"
    settings = loaded.rules[0].interval_settings(loaded.uncertainty)
    assert settings is not None
    assert (settings.confidence, settings.method, settings.replicates, settings.seed) == (
        0.9,
        "analytic",
        200,
        3,
    )
    assert settings.on_inconclusive == "fail"


# -- 2. no uncertainty keys: reports unchanged --------------------------------------------


def test_without_uncertainty_keys_json_has_no_interval_fields() -> None:
    frame = confusion_frame(SMALL)
    plain = json.loads(rulecheck.evaluate(policy(FPR_GAP, None), data=frame).to_json())
    keys = {key for key, _ in walk(plain)}
    assert not keys & {"interval", "outcome", "on_inconclusive", "bootstrap_n"}
    assert "inconclusive" not in plain["counts"]
    assert plain["verdicts"][0]["status"] == "fail"  # the point estimate 0.133 > 0.1


def test_with_uncertainty_block_json_has_interval_fields() -> None:
    frame = confusion_frame(SMALL)
    judged = json.loads(rulecheck.evaluate(policy(FPR_GAP), data=frame).to_json())
    keys = {key for key, _ in walk(judged)}
    assert {"interval", "outcome", "on_inconclusive"} <= keys
    assert "inconclusive" in judged["counts"]
    check = judged["verdicts"][0]["checks"][0]
    assert set(check["interval"]) == {"low", "high", "confidence", "method", "n"}


def test_one_rule_key_turns_intervals_on_for_that_rule_only() -> None:
    rules = FPR_GAP + (
        "  - {id: own, kind: group_metric, metric: false_positive_rate, by: g,"
        " max_difference: 0.1, confidence: 0.9}\n"
    )
    report = rulecheck.evaluate(policy(rules, None), data=confusion_frame(SMALL))
    plain, own = report.verdicts
    assert plain.interval is None
    assert plain.on_inconclusive is None
    assert own.interval is not None
    assert own.interval.confidence == 0.9
    assert own.on_inconclusive == "warn"
    assert "inconclusive" in report.counts()


# -- 3. statuses ----------------------------------------------------------------------------


def test_big_gap_is_a_clear_fail() -> None:
    verdict = rulecheck.evaluate(policy(FPR_GAP), data=confusion_frame(BIG_GAP)).verdicts[0]
    assert verdict.status is Status.FAIL
    assert verdict.checks[0].outcome == "fail"
    assert verdict.interval is not None
    assert verdict.interval.low > 0.1


def test_tiny_gap_under_loose_bound_is_a_clear_pass() -> None:
    verdict = rulecheck.evaluate(policy(FPR_GAP), data=confusion_frame(BIG_SAME)).verdicts[0]
    assert verdict.status is Status.PASS
    assert verdict.checks[0].outcome == "pass"
    assert verdict.interval is not None
    assert verdict.interval.high <= 0.1


def test_small_groups_near_the_bound_are_inconclusive_with_a_message_saying_so() -> None:
    verdict = rulecheck.evaluate(policy(FPR_GAP), data=confusion_frame(SMALL)).verdicts[0]
    assert verdict.status is Status.INCONCLUSIVE
    check = verdict.checks[0]
    assert check.passed is False  # the point estimate alone would fail
    assert check.outcome == "inconclusive"
    assert check.interval is not None
    assert check.interval.low < 0.1 < check.interval.high
    assert "(95% CI " in verdict.message
    assert "may exceed max_difference" in verdict.message
    assert ": inconclusive (n=60 negatives)" in verdict.message  # 30 + 30 negatives
    assert check.n == 60
    assert check.unit == "negatives"
    assert verdict.n == 60


def test_inconclusive_min_bound_may_fall_below() -> None:
    rules = "  - {id: mn, kind: group_metric, metric: false_positive_rate, by: g, min: 0.3}\n"
    verdict = rulecheck.evaluate(policy(rules), data=confusion_frame(SMALL)).verdicts[0]
    assert verdict.status is Status.INCONCLUSIVE
    assert "may fall below min 0.3: inconclusive (n=30 negatives)" in verdict.message


def test_a_failed_bound_outranks_an_inconclusive_one() -> None:
    rules = (
        "  - {id: two, kind: group_metric, metric: false_positive_rate, by: g,"
        " max_difference: 0.1, max: 0.1}\n"
    )
    verdict = rulecheck.evaluate(policy(rules), data=confusion_frame(SMALL)).verdicts[0]
    outcomes = {c.bound: c.outcome for c in verdict.checks}
    assert outcomes == {"max_difference": "inconclusive", "max": "fail"}
    assert verdict.status is Status.FAIL
    assert verdict.bound == "max"


# -- 4. the gate ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on_inconclusive", "severity", "strict", "expected"),
    [
        ("warn", "error", False, ExitCode.OK),
        ("warn", "error", True, ExitCode.VIOLATIONS),
        ("fail", "error", False, ExitCode.VIOLATIONS),
        ("fail", "error", True, ExitCode.VIOLATIONS),
        ("pass", "error", False, ExitCode.OK),
        ("pass", "error", True, ExitCode.OK),
        ("fail", "warning", False, ExitCode.OK),
        ("fail", "warning", True, ExitCode.VIOLATIONS),
    ],
)
def test_gate_follows_on_inconclusive(
    on_inconclusive: str, severity: str, strict: bool, expected: ExitCode
) -> None:
    rules = (
        "  - {id: fpr, kind: group_metric, metric: false_positive_rate, by: g,"
        f" max_difference: 0.1, severity: {severity}}}\n"
    )
    text = policy(rules, f"uncertainty: {{on_inconclusive: {on_inconclusive}}}")
    report = rulecheck.evaluate(text, data=confusion_frame(SMALL), strict=strict)
    assert report.verdicts[0].status is Status.INCONCLUSIVE
    assert report.verdicts[0].on_inconclusive == on_inconclusive
    assert report.exit_code() == expected
    assert report.passed is (expected == ExitCode.OK)


def test_rule_on_inconclusive_overrides_policy() -> None:
    rules = (
        "  - {id: fpr, kind: group_metric, metric: false_positive_rate, by: g,"
        " max_difference: 0.1, on_inconclusive: fail}\n"
    )
    text = policy(rules, "uncertainty: {on_inconclusive: pass}")
    report = rulecheck.evaluate(text, data=confusion_frame(SMALL))
    assert report.verdicts[0].on_inconclusive == "fail"
    assert report.exit_code() == ExitCode.VIOLATIONS


def test_cli_strict_fails_on_inconclusive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    confusion_frame(SMALL).to_csv(tmp_path / "data.csv", index=False)
    text = policy(FPR_GAP).replace("{label: y", "{data: data.csv, label: y")
    (tmp_path / "policy.yaml").write_text(text)
    assert cli.main(["check", str(tmp_path / "policy.yaml")]) == 0
    assert cli.main(["check", str(tmp_path / "policy.yaml"), "--strict"]) == 1
    out = capsys.readouterr().out
    assert "INCONCLUSIVE" in out


# -- 14. text output ----------------------------------------------------------------------


def test_text_report_shows_inconclusive_status_and_count() -> None:
    rules = FPR_GAP + (
        "  - {id: big, kind: group_metric, metric: false_positive_rate, by: g, max: 0.9}\n"
    )
    text = render(rulecheck.evaluate(policy(rules), data=confusion_frame(SMALL)))
    table = [line for line in text.splitlines() if line.startswith("INCONCLUSIVE")]
    assert len(table) == 1
    assert " fpr " in table[0]
    assert "2 rules: 1 pass, 1 inconclusive." in text


# -- 7. analytic fallbacks --------------------------------------------------------------------


def _big_three_groups() -> pd.DataFrame:
    return confusion_frame({**BIG_SAME, "c": (500, 310, 690, 500)})


@pytest.mark.parametrize(
    ("rule", "weighted"),
    [
        # three groups: no closed form for a range
        ("{id: r, kind: demographic_parity, by: g, max_difference: 0.3}", False),
        # a group against the overall value shares its rows with it
        (
            "{id: r, kind: demographic_parity, by: g, relative_to: overall, max_difference: 0.3}",
            False,
        ),
        # sample weights: no closed form
        ("{id: r, kind: demographic_parity, by: g, groups: [a, b], max_difference: 0.3}", True),
    ],
)
def test_analytic_falls_back_to_bootstrap_with_a_note(rule: str, weighted: bool) -> None:
    frame = _big_three_groups()
    target = ""
    if weighted:
        frame["w"] = 1.0
        target = ", sample_weight: w"
    text = policy(f"  - {rule}\n", "uncertainty: {method: analytic}", target)
    verdict = rulecheck.evaluate(text, data=frame).verdicts[0]
    assert verdict.status is Status.PASS
    assert verdict.interval is not None
    assert verdict.interval.method == "bootstrap"
    assert "bootstrap used" in verdict.message
    assert any("Analytic interval not available" in note for note in verdict.notes)


def test_analytic_on_two_groups_needs_no_fallback() -> None:
    rules = "  - {id: r, kind: demographic_parity, by: g, max_difference: 0.3}\n"
    text = policy(rules, "uncertainty: {method: analytic}")
    verdict = rulecheck.evaluate(text, data=confusion_frame(BIG_SAME)).verdicts[0]
    assert verdict.interval is not None
    assert verdict.interval.method == "newcombe"
    assert "bootstrap used" not in verdict.message


# -- 8. paired baseline changes -----------------------------------------------------------


def _with_baseline(frame: pd.DataFrame, flips: int, seed: int = 0) -> pd.DataFrame:
    frame = frame.copy()
    frame["q"] = frame["p"]
    frame["s"] = np.clip(frame["p"] * 0.6 + 0.2 + 0.1 * frame["y"], 0.01, 0.99)
    if flips:
        rows = np.random.default_rng(seed).choice(len(frame), flips, replace=False)
        frame.loc[rows, "q"] = 1 - frame.loc[rows, "q"]
    return frame


def test_identical_baseline_gives_a_zero_change_interval_and_passes() -> None:
    frame = _with_baseline(confusion_frame(SMALL), flips=0)
    rules = (
        "  - {id: dp, kind: demographic_parity, by: g, max_increase: 0.0}\n"
        "  - {id: loss, kind: loss_disparity, loss: log_loss, by: g, max_increase: 0.0}\n"
    )
    target = ", score: s, baseline_prediction: q, baseline_score: s"
    report = rulecheck.evaluate(policy(rules, target=target), data=frame)
    for verdict in report.verdicts:
        assert verdict.status is Status.PASS, verdict.message
        assert verdict.baseline is not None
        assert verdict.baseline.interval is not None
        assert (verdict.baseline.interval.low, verdict.baseline.interval.high) == (0.0, 0.0)
        (change,) = [c for c in verdict.checks if c.bound == "max_increase"]
        assert change.outcome == "pass"
        assert change.interval is not None
        assert (change.interval.low, change.interval.high) == (0.0, 0.0)


def test_paired_change_interval_is_narrower_than_the_value_interval() -> None:
    cells = {"a": (100, 60, 140, 100), "b": (100, 40, 160, 100)}
    frame = _with_baseline(confusion_frame(cells), flips=8)
    rules = (
        "  - {id: dp, kind: demographic_parity, by: g, max_difference: 1.0, max_increase: 0.5}\n"
    )
    verdict = rulecheck.evaluate(
        policy(rules, target=", baseline_prediction: q"), data=frame
    ).verdicts[0]
    by_bound = {c.bound: c for c in verdict.checks}
    value, change = by_bound["max_difference"].interval, by_bound["max_increase"].interval
    assert value is not None
    assert change is not None
    assert change.low <= verdict.baseline.change <= change.high  # type: ignore[union-attr]
    # Independent intervals of the two models would give a change width of about
    # sqrt(2) times the value's width; pairing (8 rows differ out of 800) gives far less.
    assert change.high - change.low < 0.5 * (value.high - value.low)


def test_change_bounds_under_analytic_are_paired_bootstrap() -> None:
    frame = _with_baseline(confusion_frame(BIG_SAME), flips=10)
    rules = (
        "  - {id: dp, kind: demographic_parity, by: g, max_difference: 0.5, max_increase: 0.2}\n"
    )
    text = policy(rules, "uncertainty: {method: analytic}", ", baseline_prediction: q")
    verdict = rulecheck.evaluate(text, data=frame).verdicts[0]
    assert verdict.status is Status.PASS
    assert "Change intervals: paired bootstrap." in verdict.message
    assert verdict.baseline is not None
    assert verdict.baseline.interval is not None
    assert verdict.baseline.interval.method == "bootstrap"


# -- 9. reproducibility -------------------------------------------------------------------


def _intervals(report: rulecheck.Report) -> list[tuple[float, float]]:
    out = []
    for verdict in report.verdicts:
        for check in verdict.checks:
            assert check.interval is not None
            out.append((check.interval.low, check.interval.high))
        for group in verdict.groups:
            if group.interval is not None:
                out.append((group.interval.low, group.interval.high))
    return out


def test_same_seed_same_intervals_other_seed_other_intervals() -> None:
    frame = confusion_frame({**SMALL, "c": (15, 9, 21, 15)})
    frame["s"] = np.random.default_rng(5).uniform(0.05, 0.95, len(frame))
    rules = FPR_GAP + (
        "  - {id: loss, kind: loss_disparity, loss: log_loss, by: g, max_difference: 0.5}\n"
    )
    target = ", score: s"
    first = rulecheck.evaluate(
        policy(rules, "uncertainty: {bootstrap: {seed: 7}}", target), data=frame
    )
    again = rulecheck.evaluate(
        policy(rules, "uncertainty: {bootstrap: {seed: 7}}", target), data=frame
    )
    other = rulecheck.evaluate(
        policy(rules, "uncertainty: {bootstrap: {seed: 8}}", target), data=frame
    )
    assert _intervals(first) == _intervals(again)  # bit for bit
    assert _intervals(first) != _intervals(other)
    for verdict in first.verdicts:
        assert dict(verdict.info)["bootstrap_n"] == 1000
        assert dict(verdict.info)["bootstrap_seed"] == 7


def test_rule_bootstrap_settings_override_policy_in_info() -> None:
    rules = (
        "  - {id: fpr, kind: group_metric, metric: false_positive_rate, by: g,"
        " max_difference: 0.1, bootstrap: {n: 200, seed: 4}}\n"
    )
    verdict = rulecheck.evaluate(policy(rules), data=confusion_frame(SMALL)).verdicts[0]
    assert dict(verdict.info)["bootstrap_n"] == 200
    assert dict(verdict.info)["bootstrap_seed"] == 4


# -- 10. min_support --------------------------------------------------------------------------


def _support_frame() -> pd.DataFrame:
    # c has only 5 positives (but 100 rows): too few for a true positive rate.
    return confusion_frame({"a": (40, 10, 40, 10), "b": (35, 10, 40, 15), "c": (3, 10, 85, 2)})


def test_group_below_min_support_is_excluded_with_a_note() -> None:
    rules = "  - {id: eo, kind: equal_opportunity, by: g, max_difference: 0.5, min_support: 30}\n"
    report = rulecheck.evaluate(policy(rules), data=_support_frame())
    verdict = report.verdicts[0]
    note = "Excluded with fewer than min_support 30 positives (the true_positive_rate denominator): g=c (5 positives)."
    assert note in verdict.notes
    groups = {dict(g.group)["g"]: g for g in verdict.groups}
    assert groups["c"].excluded
    assert not groups["a"].excluded
    assert not groups["b"].excluded
    frame = _support_frame()
    positives = frame[frame["y"] == 1].groupby("g").size().to_dict()
    document = json.loads(report.to_json())["verdicts"][0]
    assert {g["group"]["g"]: g["support"] for g in document["groups"]} == positives
    # The decision is between a (0.8) and b (0.7) only: 50 + 50 positives.
    assert verdict.value == pytest.approx(0.8 - 0.7)
    assert verdict.n == 100
    assert document["checks"][0]["unit"] == "positives"


def test_without_min_support_the_small_group_decides() -> None:
    rules = "  - {id: eo, kind: equal_opportunity, by: g, max_difference: 0.5}\n"
    verdict = rulecheck.evaluate(policy(rules), data=_support_frame()).verdicts[0]
    assert not any(g.excluded for g in verdict.groups)
    assert verdict.value == pytest.approx(0.8 - 0.6)


def test_reference_group_below_min_support_is_an_error() -> None:
    rules = (
        "  - {id: eo, kind: equal_opportunity, by: g, max_difference: 0.5, min_support: 30,"
        " reference_group: c}\n"
    )
    report = rulecheck.evaluate(policy(rules), data=_support_frame())
    verdict = report.verdicts[0]
    assert verdict.status is Status.ERROR
    assert "reference_group g=c has 5 positives, fewer than min_support 30" in verdict.message
    assert report.exit_code() == ExitCode.USAGE_ERROR


# -- 11. Holm's correction ------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_holm_decisions_equal_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 30))
    p = rng.uniform(0, 0.2, m) ** rng.uniform(0.5, 3)
    alpha = float(rng.choice([0.01, 0.05, 0.1]))
    decided, levels = holm(p.tolist(), alpha)
    assert decided == multipletests(p, alpha=alpha, method="holm")[0].tolist()
    order = np.argsort(p, kind="stable")
    for rank, index in enumerate(order):
        assert levels[index] == pytest.approx(1 - alpha / (m - rank))


def test_holm_docstring_example() -> None:
    assert holm([0.01, 0.04, 0.03], 0.05) == (
        [True, False, False],
        [1 - 0.05 / 3, 0.95, 1 - 0.05 / 2],
    )


HOLM_FRAME = confusion_frame({"a": (120, 40, 120, 120)})  # accuracy 240/400 = 0.6


def _accuracy_rules(count: int) -> str:
    # Wilson 95% of 240/400 is [0.5513, 0.6468]; min 0.55 passes at 95% but not at 99.5%.
    return "".join(
        f"  - {{id: acc{i}, kind: performance, metric: accuracy, min: 0.55}}\n"
        for i in range(count)
    )


def test_without_correction_borderline_bounds_are_decided() -> None:
    text = policy(_accuracy_rules(10), "uncertainty: {method: analytic}")
    report = rulecheck.evaluate(text, data=HOLM_FRAME)
    assert all(v.status is Status.PASS for v in report.verdicts)
    assert all(v.interval is not None and v.interval.confidence == 0.95 for v in report.verdicts)


def test_holm_correction_makes_borderline_bounds_inconclusive() -> None:
    text = policy(_accuracy_rules(10), "uncertainty: {method: analytic, correction: holm}")
    report = rulecheck.evaluate(text, data=HOLM_FRAME)
    assert all(v.status is Status.INCONCLUSIVE for v in report.verdicts)
    levels = sorted(v.interval.confidence for v in report.verdicts if v.interval is not None)
    assert levels[-1] == pytest.approx(1 - 0.05 / 10)  # the top-ranked bound
    assert levels[0] == pytest.approx(0.95)
    for verdict in report.verdicts:
        assert "Holm's correction over 10 bounds" in " ".join(verdict.notes)


def test_holm_keeps_strong_evidence_decided() -> None:
    rules = _accuracy_rules(9) + (
        "  - {id: clear, kind: performance, metric: accuracy, min: 0.3}\n"
    )
    text = policy(rules, "uncertainty: {method: analytic, correction: holm}")
    report = rulecheck.evaluate(text, data=HOLM_FRAME)
    clear = report.verdict("clear")
    assert clear.status is Status.PASS
    assert clear.interval is not None
    assert clear.interval.confidence == pytest.approx(0.995)
    assert report.verdict("acc0").status is Status.INCONCLUSIVE


def test_holm_family_error_rate_is_the_policy_confidence() -> None:
    """A rule's own confidence does not change the family's error rate: 1 - the policy's."""
    rules = _accuracy_rules(1) + (
        "  - {id: own, kind: performance, metric: accuracy, min: 0.3, confidence: 0.8}\n"
    )
    text = policy(rules, "uncertainty: {method: analytic, correction: holm, confidence: 0.9}")
    report = rulecheck.evaluate(text, data=HOLM_FRAME)
    levels = sorted(v.interval.confidence for v in report.verdicts if v.interval is not None)
    assert levels == pytest.approx([0.9, 1 - 0.1 / 2])


@pytest.mark.parametrize("weighted", [False, True])
def test_identical_baseline_pairs_every_path_to_a_zero_change(weighted: bool) -> None:
    """Counts (multinomial cells), weighted counts and row-level values (Poisson weights),
    sliced rules, AUC and relative changes: all resample both models with the same rows."""
    frame = _with_baseline(confusion_frame({"a": (100, 60, 140, 100), "b": (100, 40, 160, 100)}), 0)
    frame["w"] = np.random.default_rng(0).uniform(0.5, 2, len(frame))
    frame["h"] = np.where(np.arange(len(frame)) % 3 == 0, "x", "z")
    rules = (
        "  - {id: dp, kind: demographic_parity, by: g, max_increase: 0.0}\n"
        "  - {id: sliced, kind: demographic_parity, by: g, max_increase: 0.0, where: {h: x}}\n"
        "  - {id: auc, kind: performance, metric: roc_auc, max_decrease: 0.0}\n"
        "  - {id: acc, kind: performance, metric: accuracy, max_decrease: 0.0}\n"
        "  - {id: brier, kind: loss_disparity, loss: brier, by: g, max_relative_increase: 0.0}\n"
    )
    target = ", score: s, baseline_prediction: q, baseline_score: s"
    if weighted:
        target += ", sample_weight: w"
    report = rulecheck.evaluate(policy(rules, target=target), data=frame)
    for verdict in report.verdicts:
        assert verdict.status is Status.PASS, verdict.message
        assert verdict.baseline is not None
        assert verdict.baseline.interval is not None
        assert (verdict.baseline.interval.low, verdict.baseline.interval.high) == (0.0, 0.0)
        assert all(c.outcome == "pass" for c in verdict.checks)
