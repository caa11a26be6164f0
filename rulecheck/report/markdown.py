"""Markdown report (GitHub-flavoured, no HTML): for pull-request comments and the Actions job
summary (``$GITHUB_STEP_SUMMARY``).

A heading with the policy and the gate, the fingerprints of the data and the model, a table of
every rule, then one section per rule that is not PASS or SKIPPED: its message, where it is
defined, its YAML and its per-group or per-feature figures. Statuses are marked with one emoji
each (:data:`MARKERS`). Text from the report is escaped so that it renders as written and no HTML
can start: ``&`` and ``<`` become entities, ``|`` and Markdown's markup characters are
backslash-escaped, line breaks become spaces; rule YAML goes in a fence longer than any backtick
run inside it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from rulecheck.report._shared import (
    bound_cell,
    evidence,
    feature_table,
    group_table,
    summary_line,
    value_cell,
)
from rulecheck.verdict import Report, Scalar, Status, Verdict

__all__ = ["MARKERS", "render"]

MARKERS = {
    Status.PASS: "✅",
    Status.FAIL: "❌",
    Status.WARN: "⚠️",
    Status.INCONCLUSIVE: "❔",
    Status.ERROR: "⛔",
    Status.SKIPPED: "⏭️",
    Status.WAIVED: "🏳️",
}
_DETAILED = (Status.FAIL, Status.ERROR, Status.WARN, Status.INCONCLUSIVE, Status.WAIVED)

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_MARKUP = re.compile(r"([\\`*\[\]|#~])")


def _plain(text: str) -> str:
    """One line of text: control characters become U+FFFD, line breaks spaces."""
    return _CONTROL.sub("\ufffd", text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))


def _escape(text: str) -> str:
    """``text`` as literal Markdown on one line: ``&`` and ``<`` as entities (no HTML can start),
    other markup characters backslash-escaped."""
    text = _plain(text).replace("&", "&amp;").replace("<", "&lt;")
    return _MARKUP.sub(r"\\\1", text)


def _code(text: str) -> str:
    """An inline code span that holds ``text`` whatever backticks it contains; ``|`` escaped,
    as GitHub's tables require even inside code."""
    text = _plain(text).replace("|", "\\|")
    if not text:
        return ""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A GitHub table; cells must already be escaped."""
    return [_row(header), _row(["---"] * len(header)), *(_row(row) for row in rows)]


def _fence(text: str, language: str) -> list[str]:
    """A fenced code block longer than any backtick run inside ``text``."""
    longest = max((len(run) for run in re.findall("`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    return [f"{fence}{language}", _CONTROL.sub("\ufffd", text.rstrip("\n")), fence]


def _gate(report: Report) -> str:
    """'Gate: exit code 1, not strict (warnings pass).'"""
    gate = "strict (warnings fail)" if report.strict else "not strict (warnings pass)"
    return f"Gate: exit code {int(report.exit_code())}, {gate}."


def _fingerprint(label: str, facts: Mapping[str, Scalar]) -> str | None:
    """'data `path`, 7214 rows, sha256 `bbfd9b33b195`' (None without facts)."""
    if not facts:
        return None
    where = facts.get("path", facts.get("source", ""))
    parts = [f"{label} {_code(str(where))}" if where else label]
    if "type" in facts:
        parts.append(_escape(str(facts["type"])))
    if "rows" in facts:
        parts.append(f"{facts['rows']} rows")
    if "sha256" in facts:
        parts.append(f"sha256 {_code(str(facts['sha256'])[:12])}")
    return ", ".join(parts)


def _header(report: Report) -> list[str]:
    result = Status.PASS if report.passed else Status.FAIL
    title = f"{MARKERS[result]} rulecheck: {_escape(report.policy_name)}: {result.value.upper()}"
    lines = [f"## {title}", "", _gate(report), ""]
    policy = {"path": report.policy_file or "", "sha256": report.policy_sha256}
    facts = [
        _fingerprint("policy", {k: v for k, v in policy.items() if v}),
        _fingerprint("data", report.data),
        _fingerprint("model", report.model),
    ]
    shown = [fact for fact in facts if fact is not None]
    if shown:
        lines.extend(["; ".join(shown), ""])
    return lines


def _summary(report: Report) -> list[str]:
    with_interval = any(v.interval is not None for v in report.verdicts)
    header = ["status", "rule", "kind", "value", "bound"]
    header += ["interval"] if with_interval else []
    header += ["evidence"]
    rows = []
    for v in report.verdicts:
        row = [
            f"{MARKERS[v.status]} {v.status.value.upper()}",
            _code(v.rule_id),
            _code(v.kind),
            _escape(value_cell(v)),
            _escape(bound_cell(v)),
        ]
        if with_interval:
            row.append("" if v.interval is None else _escape(v.interval.describe()))
        rows.append([*row, _escape(evidence(v))])
    return _table(header, rows)


def _figures(verdict: Verdict) -> list[str]:
    if verdict.groups:
        header, rows = group_table(verdict.groups)
    elif verdict.features:
        header, rows = feature_table(verdict.features)
    else:
        return []
    return ["", *_table(header, [[_escape(cell) for cell in row] for row in rows])]


def _section(verdict: Verdict) -> list[str]:
    lines = [
        "",
        f"### {MARKERS[verdict.status]} {_escape(verdict.rule_id)}: {verdict.status.value}",
        "",
        _escape(verdict.message),
    ]
    if verdict.waiver is not None:
        w = verdict.waiver
        facts = [
            ("group", w.group_label()),
            ("reason", w.reason),
            ("owner", w.owner),
            ("approved by", w.approved_by),
            ("expires", w.expires),
        ]
        lines.extend(["", f"Waived until {_escape(w.expires)}:", ""])
        lines.extend(f"- {name}: {_escape(value)}" for name, value in facts if value)
    if verdict.source is not None:
        lines.extend(["", f"Source: {_code(verdict.source.where())}"])
    if verdict.source is not None and verdict.source.text:
        lines.extend(["", *_fence(verdict.source.text, "yaml")])
    lines.extend(_figures(verdict))
    if verdict.notes:
        lines.append("")
        lines.extend(f"- {_escape(note)}" for note in verdict.notes)
    return lines


def render(report: Report) -> str:
    """The Markdown report; the same report always gives the same text."""
    lines = _header(report)
    lines.extend(_summary(report))
    if report.errors:
        lines.extend(["", "### ⛔ Errors", ""])
        lines.extend(f"- {_escape(error)} (no rule was evaluated)" for error in report.errors)
    for verdict in report.verdicts:
        if verdict.status not in _DETAILED:
            continue
        if report.errors and verdict.status is Status.ERROR:
            continue  # a run-level error stopped every rule: said once above
        lines.extend(_section(verdict))
    lines.extend(["", _escape(summary_line(report))])
    return "\n".join(lines) + "\n"
