"""GitHub Actions report: workflow commands that annotate the policy file in the run and the PR.

One line per rule that is not PASS or SKIPPED: ``::error`` for FAIL and ERROR, ``::warning`` for
WARN and INCONCLUSIVE, ``::notice`` for WAIVED (with the waiver), at the rule's file, line and column, titled with the rule id. Run-level
errors (unreadable data, refused model) are one ``::error title=rulecheck::`` each, without a
file; the ERROR verdicts they cause are not repeated. The last line is the text report's summary.
:func:`job_summary` is the Markdown report, for ``$GITHUB_STEP_SUMMARY``.

Values are escaped as the Actions runner unescapes them (``toolkit/packages/core/src/command.ts``):
in the message ``%``, CR and LF become ``%25``, ``%0D``, ``%0A``; in properties also ``:`` and
``,`` become ``%3A`` and ``%2C``.
"""

from __future__ import annotations

from rulecheck.report import markdown
from rulecheck.report._shared import summary_line
from rulecheck.verdict import Report, Status, Verdict

__all__ = ["annotation", "escape_data", "escape_property", "job_summary", "render"]

_LEVEL = {
    Status.FAIL: "error",
    Status.ERROR: "error",
    Status.WARN: "warning",
    Status.INCONCLUSIVE: "warning",
    Status.WAIVED: "notice",
}


def escape_data(text: str) -> str:
    """A command's message: ``%``, CR and LF percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A command property's value: as :func:`escape_data`, and ``:`` and ``,`` too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, properties: list[tuple[str, str]], message: str) -> str:
    props = ",".join(f"{name}={escape_property(value)}" for name, value in properties)
    head = f"::{level} {props}" if props else f"::{level}"
    return f"{head}::{escape_data(message)}"


def annotation(verdict: Verdict) -> str | None:
    """The workflow command of one verdict; None for PASS and SKIPPED."""
    level = _LEVEL.get(verdict.status)
    if level is None:
        return None
    properties: list[tuple[str, str]] = []
    if verdict.source is not None:
        properties += [
            ("file", verdict.source.file),
            ("line", str(verdict.source.line)),
            ("col", str(verdict.source.column)),
        ]
    properties.append(("title", verdict.rule_id))
    message = f"{verdict.status.value.upper()}: {verdict.message}"
    if verdict.waiver is not None:
        message += f" ({verdict.waiver.describe()})"
    return _command(level, properties, message)


def render(report: Report) -> str:
    """The workflow commands, one a line, then the summary line."""
    lines = [_command("error", [("title", "rulecheck")], error) for error in report.errors]
    for verdict in report.verdicts:
        if report.errors and verdict.status is Status.ERROR:
            continue  # a run-level error stopped every rule: annotated once above
        line = annotation(verdict)
        if line is not None:
            lines.append(line)
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def job_summary(report: Report) -> str:
    """The Markdown job summary: append it to the file named by ``$GITHUB_STEP_SUMMARY``."""
    return markdown.render(report)
