"""A saved JSON report reads back into the same Report: re-rendering needs no data or model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rulecheck.verdict import Report, ReportFormatError
from tests.conftest import EvaluateOnce

EXAMPLES = ("compas", "german_credit", "adult")


@pytest.mark.parametrize("example", EXAMPLES)
def test_json_report_round_trips(example: str, evaluate_once: EvaluateOnce) -> None:
    report = evaluate_once(Path(f"examples/{example}/policy.yaml"))
    saved = report.to_json()
    again = Report.from_json(saved)
    assert again.to_json() == saved
    assert again == report  # every field, intervals and features included


def test_another_schema_version_is_refused() -> None:
    with pytest.raises(ReportFormatError, match="schema_version 1 is not 2"):
        Report.from_dict({"schema_version": 1, "verdicts": []})
    with pytest.raises(ReportFormatError, match="no schema_version"):
        Report.from_dict({"verdicts": []})


def test_malformed_reports_are_refused_with_the_reason() -> None:
    with pytest.raises(ReportFormatError, match="not JSON"):
        Report.from_json("{")
    with pytest.raises(ReportFormatError, match=r"malformed.*'policy'"):
        Report.from_dict({"schema_version": 2, "verdicts": []})
    broken = json.loads(Report("p", None, "", (), "now").to_json())
    broken["verdicts"] = [{"id": "x"}]
    with pytest.raises(ReportFormatError, match="malformed"):
        Report.from_dict(broken)
