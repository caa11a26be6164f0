"""Text report: a table of rules (status, value, bound, worst groups) and the messages.

Coloured when ``color=True`` (the CLI turns it on for a TTY unless NO_COLOR is set).
"""

from __future__ import annotations

import unicodedata

from rulecheck.verdict import Check, GroupValue, Report, Status, Verdict

__all__ = ["render"]

_COLORS = {
    Status.PASS: "32",
    Status.FAIL: "31",
    Status.WARN: "33",
    Status.INCONCLUSIVE: "36",
    Status.ERROR: "35",
    Status.SKIPPED: "90",
}


_CHANGE_BOUNDS = ("max_increase", "max_decrease", "max_relative_increase")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _paint(text: str, status: Status, color: bool) -> str:
    return f"\033[{_COLORS[status]}m{text}\033[0m" if color else text


def _deciding(verdict: Verdict) -> Check | None:
    return next(
        (c for c in verdict.checks if c.bound == verdict.bound and c.value == verdict.value), None
    )


def _setting(verdict: Verdict) -> float | None:
    """The deciding bound as the policy writes it (max_decrease 0.02, not its limit -0.02)."""
    deciding = _deciding(verdict)
    if deciding is not None and deciding.setting is not None:
        return deciding.setting
    return verdict.threshold


def _worst_groups(verdict: Verdict) -> str:
    """The highest and lowest compared groups, or the top features, as shown evidence."""
    if verdict.features:
        # The features the rule checks, else the most important ones.
        selected = [f for f in verdict.features if ("selected", True) in f.detail]
        listed = (selected or list(verdict.features))[:3]
        return "; ".join(f"{f.feature} {_num(f.value)} (rank {f.rank})" for f in listed)
    deciding = _deciding(verdict)
    metric = deciding.metric if deciding is not None else None
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
        f"{group.label()} {_num(group.value)}"
        + (f" (baseline {_num(group.baseline_value)})" if group.baseline_value is not None else "")
        + f" (n={group.n})"
        for group in shown
    ]
    return "; ".join(parts)


def render(report: Report, color: bool = False, verbose: bool = False) -> str:
    """The text report; ``verbose`` adds a TIME column with each rule's wall time."""
    header = f"rulecheck: {report.policy_name}"
    if report.policy_file:
        header += f" ({report.policy_file})"
    lines = [header]
    if report.data:
        where = report.data.get("path", report.data.get("source", ""))
        line = f"data: {where}"
        if "rows" in report.data:  # absent when the file could not be read
            line += f" ({report.data['rows']} rows)"
        if "where" in report.data:
            line += f"; audited where {report.data['where']}: {report.data['selected_rows']} rows"
        lines.append(line)
    if report.model:
        where = report.model.get("path", report.model.get("source", ""))
        lines.append(f"model: {where} ({report.model.get('type', '?')})")
        if "notes" in report.model:
            lines.append(f"model notes: {report.model['notes']}")
    lines.append("")
    columns = ["STATUS", "RULE", "VALUE", "BOUND", *(["TIME"] if verbose else []), "EVIDENCE"]
    rows = [columns]
    for v in report.verdicts:
        bound = f"{v.bound} {_num(_setting(v))}" if v.bound else ""
        value = _num(v.value)
        if v.bound in _CHANGE_BOUNDS and v.value is not None:
            value = f"Δ{v.value:+.4g}"  # candidate - baseline, not the value itself
        took = [f"{v.duration_s:.3f}s"] if verbose else []
        rows.append([v.status.value.upper(), v.rule_id, value, bound, *took, _worst_groups(v)])
    padded = len(columns) - 1  # every column but the last, EVIDENCE
    widths = [max(_width(row[i]) for row in rows) for i in range(padded)]
    for index, row in enumerate(rows):
        cells = [row[i] + " " * (widths[i] - _width(row[i])) for i in range(padded)]
        if index > 0:
            cells[0] = _paint(cells[0], report.verdicts[index - 1].status, color)
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    lines.append("")
    for v in report.verdicts:
        if v.status is Status.PASS:
            continue
        if report.errors and v.status is Status.ERROR:
            continue  # a run-level error stopped every rule: said once below, not once per rule
        where = f"{v.source.where()}: " if v.source else ""
        lines.append(f"{where}{v.rule_id} [{_paint(v.status.value, v.status, color)}] {v.message}")
    for error in report.errors:
        lines.append(f"error: {error} (no rule was evaluated)")
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
    lines.append(
        f"{len(report.verdicts)} {rules}: {summary}. Exit code {int(report.exit_code())}{gate}."
    )
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


def _width(text: str) -> int:
    """Terminal columns of ``text``: East Asian wide and full-width characters take two, so a
    rule id such as 公平-dp keeps the table aligned."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
