"""JUnit XML report: one test suite for the policy, one test case per rule.

CI servers (Jenkins' junit and xunit plugins, GitLab's ``artifacts:reports:junit``, Azure
Pipelines, CircleCI) read this format and list failed rules as failed tests. A FAIL verdict is a
``<failure type="bound">``, an ERROR an ``<error>``, a SKIPPED a ``<skipped>``; PASS, WARN,
INCONCLUSIVE and WAIVED are passing test cases whose ``<system-out>`` says the status and the figures. The
gate (``exit_code``) and the fingerprints of the policy and the data are suite ``<properties>``.

The output validates against the JUnit schema of Jenkins' xunit plugin (``junit-10.xsd``, vendored
in ``tests/schemas/``). That schema allows no ``file`` or ``line`` on a test case, so the rule's
location is the first line of each case's body. Text is made valid XML 1.0: characters it forbids
(most control characters, lone surrogates) are written as ``\\xNN`` / ``\\uNNNN``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from rulecheck.report._shared import feature_table, group_table, num, setting, width
from rulecheck.verdict import Report, Status, Verdict

__all__ = ["render"]

# Characters XML 1.0 forbids (its Char production is #x9 | #xA | #xD | [#x20-#xD7FF] |
# [#xE000-#xFFFD] | [#x10000-#x10FFFF]); surrogates cannot be encoded as UTF-8 either.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_ELEMENT = {Status.FAIL: "failure", Status.ERROR: "error", Status.SKIPPED: "skipped"}


def _xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 forbids written as visible escapes."""
    return _FORBIDDEN.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )


def _seconds(value: float) -> str:
    """A duration as the schema's SUREFIRE_TIME allows: at most 3 decimals."""
    return f"{max(value, 0.0):.3f}"


def _plain_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A table aligned with spaces, indented by two."""
    widths = [max(width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  "
        + "  ".join(cell + " " * (widths[i] - width(cell)) for i, cell in enumerate(row)).rstrip()
        for row in [header, *rows]
    ]


def _gate(verdict: Verdict, strict: bool) -> str | None:
    """What a WARN or INCONCLUSIVE verdict, a passing test case, does to the gate."""
    effect = "fails" if verdict.fails_gate(strict) else "passes"
    if verdict.status is Status.WARN:
        return f"gate: {effect} (" + ("strict: warnings fail)" if strict else "not strict)")
    if verdict.status is Status.INCONCLUSIVE:
        return f"gate: {effect} (on_inconclusive: {verdict.on_inconclusive or 'warn'})"
    if verdict.status is Status.WAIVED:
        return "gate: passes (waived)"
    return None


def _details(verdict: Verdict, strict: bool) -> str:
    """The body of a test case: status and message, location, what a passing case that is not a
    PASS does to the gate, the deciding figures, the interval, notes, and the per-group or
    per-feature table."""
    lines = [f"{verdict.status.value.upper()}: {verdict.message}"]
    if verdict.source is not None:
        lines.append(f"source: {verdict.source.where()}")
    lines.append(f"kind: {verdict.kind}, severity: {verdict.severity}")
    gate = _gate(verdict, strict)
    if gate is not None:
        lines.append(gate)
    if verdict.waiver is not None:
        w = verdict.waiver
        lines.append(f"waiver: {w.describe()}")
        if w.group:
            lines.append(f"waiver group: {w.group_label()}")
        lines += [f"waiver reason: {w.reason}", f"waiver owner: {w.owner}"]
        lines += [f"waiver approved_by: {w.approved_by}", f"waiver expires: {w.expires}"]
    if verdict.value is not None:
        lines.append(f"value: {num(verdict.value)}")
    if verdict.bound is not None:
        lines.append(f"bound: {verdict.bound} {num(setting(verdict))}")
    if verdict.threshold is not None:
        lines.append(f"threshold: {num(verdict.threshold)}")
    if verdict.interval is not None:
        method = f"{verdict.interval.method}" + (
            f", n={verdict.interval.n}" if verdict.interval.n is not None else ""
        )
        lines.append(f"interval: {verdict.interval.describe()} ({method})")
    lines.extend(f"note: {note}" for note in verdict.notes)
    if verdict.groups:
        lines.append("groups:")
        lines.extend(_plain_table(*group_table(verdict.groups)))
    if verdict.features:
        lines.append("features:")
        lines.extend(_plain_table(*feature_table(verdict.features)))
    return _xml_text("\n".join(lines) + "\n")


def _testcase(report: Report, verdict: Verdict) -> ET.Element:
    case = ET.Element(
        "testcase",
        {
            "classname": _xml_text(report.policy_name),
            "name": _xml_text(verdict.rule_id),
            "time": _seconds(verdict.duration_s),
        },
    )
    element = _ELEMENT.get(verdict.status)
    if element is None:  # PASS, WARN, INCONCLUSIVE: a passing test case that says its status
        ET.SubElement(case, "system-out").text = _details(verdict, report.strict)
        return case
    attributes = {"message": _xml_text(verdict.message)}
    if verdict.status is Status.FAIL:
        attributes["type"] = "bound"
    ET.SubElement(case, element, attributes).text = _details(verdict, report.strict)
    return case


def _properties(report: Report) -> ET.Element:
    values: list[tuple[str, object]] = [
        ("exit_code", int(report.exit_code())),
        ("gate.strict", "true" if report.strict else "false"),
        ("policy.file", report.policy_file),
        ("policy.sha256", report.policy_sha256),
        ("data.path", report.data.get("path")),
        ("data.sha256", report.data.get("sha256")),
        ("data.rows", report.data.get("rows")),
        ("model.path", report.model.get("path")),
        ("model.sha256", report.model.get("sha256")),
        ("rulecheck.version", report.versions.get("rulecheck")),
    ]
    properties = ET.Element("properties")
    for name, value in values:
        if value is not None and value != "":
            ET.SubElement(properties, "property", {"name": name, "value": _xml_text(str(value))})
    return properties


def render(report: Report) -> str:
    """The JUnit XML document (UTF-8, with its XML declaration)."""
    counts = report.counts()
    total = _seconds(sum(v.duration_s for v in report.verdicts))
    tests, failures, errors = (
        str(len(report.verdicts)),
        str(counts[Status.FAIL.value]),
        str(counts[Status.ERROR.value]),
    )
    root = ET.Element(
        "testsuites",
        {
            "name": "rulecheck",
            "tests": tests,
            "failures": failures,
            "errors": errors,
            "time": total,
        },
    )
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": _xml_text(report.policy_name),
            "tests": tests,
            "failures": failures,
            "errors": errors,
            "skipped": str(counts[Status.SKIPPED.value]),
            "time": total,
            "timestamp": _xml_text(report.created),
        },
    )
    suite.append(_properties(report))
    suite.extend(_testcase(report, v) for v in report.verdicts)
    if report.errors:
        lines = [f"error: {error} (no rule was evaluated)" for error in report.errors]
        ET.SubElement(suite, "system-err").text = _xml_text("\n".join(lines) + "\n")
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
