"""Text report: a table of rules (status, value, bound, worst groups) and the messages.

Coloured when ``color=True`` (the CLI turns it on for a TTY unless NO_COLOR is set).
"""

from __future__ import annotations

from rulecheck.report._shared import bound_cell, evidence, summary_line, value_cell, width
from rulecheck.verdict import Report, Status

__all__ = ["render"]

_COLORS = {
    Status.PASS: "32",
    Status.FAIL: "31",
    Status.WARN: "33",
    Status.INCONCLUSIVE: "36",
    Status.ERROR: "35",
    Status.SKIPPED: "90",
    Status.WAIVED: "34",
}


def _paint(text: str, status: Status, color: bool) -> str:
    return f"\033[{_COLORS[status]}m{text}\033[0m" if color else text


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
        took = [f"{v.duration_s:.3f}s"] if verbose else []
        rows.append(
            [v.status.value.upper(), v.rule_id, value_cell(v), bound_cell(v), *took, evidence(v)]
        )
    padded = len(columns) - 1  # every column but the last, EVIDENCE
    widths = [max(width(row[i]) for row in rows) for i in range(padded)]
    for index, row in enumerate(rows):
        cells = [row[i] + " " * (widths[i] - width(row[i])) for i in range(padded)]
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
        waived = f" ({v.waiver.describe()})" if v.waiver is not None else ""
        lines.append(
            f"{where}{v.rule_id} [{_paint(v.status.value, v.status, color)}] {v.message}{waived}"
        )
    for error in report.errors:
        lines.append(f"error: {error} (no rule was evaluated)")
    lines.append(summary_line(report))
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"
