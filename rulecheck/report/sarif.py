"""SARIF 2.1.0 report: for GitHub code scanning (``github/codeql-action/upload-sarif``) and other
static-analysis dashboards.

One run of the tool ``rulecheck``. Its ``rules`` are the rule *kinds* the report uses (each
described by the kind's summary and documentation from :attr:`Report.kinds`); each policy rule
that is FAIL, ERROR (level ``error``), WARN or INCONCLUSIVE (level ``warning``) is one result
with ``ruleId`` the kind, located at the rule in the policy file. The rule id is the result's
``partialFingerprints`` (so an alert follows its rule when lines move) and, with the value, the
threshold, the bound and the interval, its ``properties``. A WAIVED verdict is a result at
its severity's level with ``suppressions: [{kind: external, justification: reason}]`` and the waiver in its properties. PASS and SKIPPED verdicts give no result. Run-level errors are the invocation's ``toolExecutionNotifications``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from rulecheck.verdict import Report, Status, Verdict

__all__ = ["SARIF_SCHEMA", "render", "to_dict"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

_LEVEL = {
    Status.FAIL: "error",
    Status.ERROR: "error",
    Status.WARN: "warning",
    Status.INCONCLUSIVE: "warning",
}
_FINGERPRINT = "rulecheckRuleId/v1"


def _kinds(report: Report) -> list[str]:
    """The rule kinds of the report, in the order they first appear."""
    return list(dict.fromkeys(v.kind for v in report.verdicts))


def _descriptor(kind: str, doc: dict[str, str]) -> dict[str, Any]:
    """A ``reportingDescriptor``: the kind's id and name, its summary (shortDescription), its
    documentation's first paragraph (fullDescription) and its whole documentation (help)."""
    descriptor: dict[str, Any] = {"id": kind, "name": kind}
    if doc.get("summary"):
        descriptor["shortDescription"] = {"text": doc["summary"]}
    if doc.get("help"):
        # The documentation's first paragraph defines the kind; help holds all of it.
        first = doc["help"].strip().split("\n\n")[0]
        descriptor["fullDescription"] = {"text": first, "markdown": first}
        descriptor["help"] = {"text": doc["help"], "markdown": doc["help"]}
    return descriptor


def _location(verdict: Verdict) -> list[dict[str, Any]]:
    """The rule's place in the policy file (none for rules built in Python)."""
    if verdict.source is None:
        return []
    uri = quote(verdict.source.file.replace("\\", "/"))
    region = {"startLine": verdict.source.line, "startColumn": verdict.source.column}
    return [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}]


def _properties(verdict: Verdict) -> dict[str, Any]:
    props: dict[str, Any] = {
        "ruleId": verdict.rule_id,
        "status": verdict.status.value,
        "severity": verdict.severity,
        "value": verdict.value,
        "threshold": verdict.threshold,
        "bound": verdict.bound,
    }
    if verdict.n is not None:
        props["n"] = verdict.n
    if verdict.interval is not None:
        props["interval"] = verdict.interval.to_dict()
    if verdict.on_inconclusive is not None:
        props["onInconclusive"] = verdict.on_inconclusive
    if verdict.waiver is not None:
        props["waiver"] = verdict.waiver.to_dict()
    return props


def _level(verdict: Verdict) -> str | None:
    if verdict.status is Status.WAIVED:
        return "error" if verdict.severity == "error" else "warning"
    return _LEVEL.get(verdict.status)


def _result(verdict: Verdict, level: str, rule_index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": verdict.kind,
        "ruleIndex": rule_index,
        "level": level,
        "message": {"text": f"{verdict.rule_id}: {verdict.status.value}: {verdict.message}"},
    }
    locations = _location(verdict)
    if locations:
        result["locations"] = locations
    result["partialFingerprints"] = {_FINGERPRINT: verdict.rule_id}
    if verdict.waiver is not None:
        result["suppressions"] = [{"kind": "external", "justification": verdict.waiver.reason}]
    result["properties"] = _properties(verdict)
    return result


def _driver(report: Report) -> dict[str, Any]:
    kinds = _kinds(report)
    driver: dict[str, Any] = {"name": "rulecheck"}
    if "rulecheck" in report.versions:
        driver["version"] = report.versions["rulecheck"]
    driver["rules"] = [_descriptor(kind, dict(report.kinds.get(kind, {}))) for kind in kinds]
    return driver


def _invocation(report: Report) -> dict[str, Any]:
    code = int(report.exit_code())
    invocation: dict[str, Any] = {"executionSuccessful": code != 3, "exitCode": code}
    if report.errors:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": f"{error} (no rule was evaluated)"}}
            for error in report.errors
        ]
    return invocation


def _results(report: Report) -> list[dict[str, Any]]:
    index = {kind: i for i, kind in enumerate(_kinds(report))}
    return [
        _result(v, level, index[v.kind])
        for v in report.verdicts
        if (level := _level(v)) is not None
    ]


def to_dict(report: Report) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict."""
    run: dict[str, Any] = {
        "tool": {"driver": _driver(report)},
        "invocations": [_invocation(report)],
        "columnKind": "unicodeCodePoints",
        "results": _results(report),
        "properties": {
            "policy": {
                "name": report.policy_name,
                "file": report.policy_file,
                "sha256": report.policy_sha256,
            },
            "gate": {"strict": report.strict},
            "data": dict(report.data),
            "model": dict(report.model),
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(report: Report) -> str:
    """The SARIF log as JSON text."""
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
