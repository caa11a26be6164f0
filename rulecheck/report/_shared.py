"""Formatting shared by the renderers: numbers, the deciding bound, evidence and figure tables.

Everything here reads a :class:`~rulecheck.verdict.Report` and returns strings; nothing computes a
metric. The text, JUnit, GitHub and Markdown renderers use the same words for the same facts.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from rulecheck.verdict import Check, FeatureValue, GroupValue, Report, Status, Verdict

__all__ = [
    "CHANGE_BOUNDS",
    "bound_cell",
    "deciding",
    "evidence",
    "feature_table",
    "group_table",
    "num",
    "setting",
    "summary_line",
    "value_cell",
    "width",
]

CHANGE_BOUNDS = ("max_increase", "max_decrease", "max_relative_increase")


def num(value: float | None) -> str:
    """A number as every renderer shows it: 4 significant digits, '-' for None."""
    return "-" if value is None else f"{value:.4g}"


def deciding(verdict: Verdict) -> Check | None:
    """The check that decided the verdict (its bound and value), if any."""
    return next(
        (c for c in verdict.checks if c.bound == verdict.bound and c.value == verdict.value), None
    )


def setting(verdict: Verdict) -> float | None:
    """The deciding bound as the policy writes it (max_decrease 0.02, not its limit -0.02)."""
    check = deciding(verdict)
    if check is not None and check.setting is not None:
        return check.setting
    return verdict.threshold


def value_cell(verdict: Verdict) -> str:
    """The verdict's value; a change bound's value is shown as the change 'Δ+0.01'."""
    if verdict.bound in CHANGE_BOUNDS and verdict.value is not None:
        return f"Δ{verdict.value:+.4g}"  # candidate - baseline, not the value itself
    return num(verdict.value)


def bound_cell(verdict: Verdict) -> str:
    """'max_difference 0.05', or '' for a verdict without a deciding bound."""
    return f"{verdict.bound} {num(setting(verdict))}" if verdict.bound else ""


def evidence(verdict: Verdict) -> str:
    """The highest and lowest compared groups, or the top features, as shown evidence."""
    if verdict.features:
        # The features the rule checks, else the most important ones.
        selected = [f for f in verdict.features if ("selected", True) in f.detail]
        listed = (selected or list(verdict.features))[:3]
        return "; ".join(f"{f.feature} {num(f.value)} (rank {f.rank})" for f in listed)
    if verdict.examples and not verdict.groups:
        # Property rules: the first counterexample (the search's, else the worst audited row).
        return verdict.examples[0].describe()
    check = deciding(verdict)
    metric = check.metric if check is not None else None
    compared = [
        g
        for g in verdict.groups
        if not g.excluded and g.value is not None and (metric is None or g.metric in (None, metric))
    ]
    if not compared:
        return ""
    ordered = sorted(compared, key=lambda g: g.value if g.value is not None else 0.0)
    shown: list[GroupValue] = [ordered[-1]] if len(ordered) == 1 else [ordered[-1], ordered[0]]
    parts = [
        f"{group.label()} {num(group.value)}"
        + (f" (baseline {num(group.baseline_value)})" if group.baseline_value is not None else "")
        + f" (n={group.n})"
        for group in shown
    ]
    return "; ".join(parts)


def summary_line(report: Report) -> str:
    """'6 rules: 1 pass, 4 fail, 1 inconclusive. Exit code 1.' with the gate where it matters."""
    counts = report.counts()
    summary = ", ".join(
        f"{count} {status}" for status, count in counts.items() if count or status == "pass"
    )
    rules = "rule" if len(report.verdicts) == 1 else "rules"
    # The gate the exit code was judged under, where it matters: strict, or warnings present.
    if report.strict:
        gate = " (strict: warnings fail)"
    elif counts[Status.WARN.value]:
        gate = " (not strict: warnings pass)"
    else:
        gate = ""
    return f"{len(report.verdicts)} {rules}: {summary}. Exit code {int(report.exit_code())}{gate}."


def _group_note(group: GroupValue) -> str:
    """'excluded', 'undefined', both or ''."""
    flags = (("excluded", group.excluded), ("undefined", group.undefined))
    return ", ".join(word for word, flag in flags if flag)


def group_table(groups: tuple[GroupValue, ...]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-group figures; optional columns (metric, support, ratio,
    interval, baseline, excluded/undefined) appear only when some group has them."""
    metrics = {g.metric for g in groups if g.metric is not None}
    columns: list[tuple[str, bool]] = [
        ("group", True),
        ("metric", len(metrics) > 1),
        ("n", True),
        ("support", any(g.support is not None for g in groups)),
        ("value", True),
        ("ratio", any(g.ratio is not None for g in groups)),
        ("interval", any(g.interval is not None for g in groups)),
        ("baseline", any(g.baseline_value is not None for g in groups)),
        ("note", any(g.excluded or g.undefined for g in groups)),
    ]
    shown = [name for name, present in columns if present]
    rows = [[_group_cell(g, name) for name in shown] for g in groups]
    return shown, rows


def _group_cell(group: GroupValue, column: str) -> str:
    cells: dict[str, Callable[[], str]] = {
        "group": group.label,
        "metric": lambda: group.metric or "",
        "n": lambda: str(group.n),
        "support": lambda: "" if group.support is None else str(group.support),
        "value": lambda: "undefined" if group.undefined else num(group.value),
        "ratio": lambda: "" if group.ratio is None else num(group.ratio),
        "interval": lambda: "" if group.interval is None else group.interval.describe(),
        "baseline": lambda: num(group.baseline_value) if group.baseline_value is not None else "",
        "note": lambda: _group_note(group),
    }
    return cells[column]()


def feature_table(features: tuple[FeatureValue, ...]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of an attribution or proxy rule's features: feature, value, rank and the
    kind-specific details as 'key=value'."""
    rows = [
        [
            f.feature,
            num(f.value),
            str(f.rank),
            ", ".join(f"{k}={num(v) if isinstance(v, float) else v}" for k, v in f.detail),
        ]
        for f in features
    ]
    if not any(row[-1] for row in rows):
        return ["feature", "value", "rank"], [row[:-1] for row in rows]
    return ["feature", "value", "rank", "detail"], rows


def width(text: str) -> int:
    """Terminal columns of ``text``: East Asian wide and full-width characters take two, so a
    rule id such as 公平-dp keeps the table aligned."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
