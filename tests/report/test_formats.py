"""The CI formats (JUnit XML, GitHub Actions, SARIF, Markdown): valid against their published
schemas, faithful to the Report, escaped, and stable (golden files of the examples)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from junitparser import Error, Failure, JUnitXml, Skipped
from lxml import etree

from rulecheck.report import github, junit, markdown, sarif, text
from rulecheck.verdict import (
    Check,
    FeatureValue,
    GroupValue,
    Interval,
    Report,
    SourceRef,
    Status,
    Verdict,
)
from tests.conftest import EvaluateOnce
from tests.golden import GOLDEN, check_golden

SCHEMAS = Path(__file__).parent.parent / "schemas"
EXAMPLES = ("compas", "german_credit")
RENDERERS: dict[str, Callable[[Report], str]] = {
    "junit.xml": junit.render,
    "github.txt": github.render,
    "sarif.json": sarif.render,
    "md": markdown.render,
    "txt": text.render,
}
POLICY = "policies/fair, v1.yaml"
UNSAFE = "gap <b>&\"' 100% bad\nsecond line\x07 end"


def _verdict(rule_id: str, status: Status, line: int, **kwargs: object) -> Verdict:
    fields: dict[str, object] = {
        "kind": "group_metric",
        "severity": "warning" if status is Status.WARN else "error",
        "message": f"{rule_id} is {status.value}.",
        "source": SourceRef(POLICY, line, 5, f"  - id: {rule_id}\n    kind: group_metric"),
    }
    fields.update(kwargs)
    return Verdict(rule_id=rule_id, status=status, **fields)  # type: ignore[arg-type]


HAND = Report(
    policy_name="hand-built",
    policy_file=POLICY,
    policy_sha256="0" * 64,
    created="2026-01-01T00:00:00+00:00",
    versions={"rulecheck": "0.1.0"},
    data={"path": "data.csv", "sha256": "a" * 64, "rows": 10},
    kinds={"group_metric": {"summary": "a metric per group", "help": "**group_metric** help"}},
    verdicts=(
        _verdict(
            "公平-dp",
            Status.FAIL,
            3,
            message=UNSAFE,
            value=0.3,
            threshold=0.1,
            bound="max_difference",
            checks=(
                Check("max_difference", 0.3, 0.1, "<=", False, "difference", "selection_rate"),
            ),
            groups=(
                GroupValue((("sex", "a|b"),), 5, 0.6, metric="selection_rate"),
                GroupValue((("sex", "c"),), 4, 0.3, metric="selection_rate"),
                GroupValue((("sex", "d"),), 1, None, undefined=True, excluded=True),
            ),
            source=SourceRef(POLICY, 3, 5, "  - id: 公平-dp\n    note: ```ticks```"),
        ),
        _verdict("missing-column", Status.ERROR, 9, message="column 'age' is not in the data"),
        _verdict("later", Status.SKIPPED, 14, message="skipped: next release"),
        _verdict(
            "gap:a,b",
            Status.WARN,
            18,
            message="100% over,\r\nby: 0.02",
            value=0.12,
            threshold=0.1,
            bound="max_difference",
        ),
        _verdict(
            "attr-share",
            Status.INCONCLUSIVE,
            22,
            kind="attribution",
            value=0.06,
            threshold=0.05,
            bound="max_share",
            interval=Interval(0.04, 0.08, 0.95, "bootstrap", 100),
            on_inconclusive="warn",
            features=(FeatureValue("age", 0.06, 1, (("selected", True),)),),
        ),
        _verdict("fine", Status.PASS, 26, value=0.01, threshold=0.1, bound="max_difference"),
    ),
)
RUN_ERROR = dataclasses.replace(
    HAND,
    errors=("data file data.csv: not found",),
    verdicts=tuple(
        dataclasses.replace(v, status=Status.ERROR, message="not evaluated: data file")
        for v in HAND.verdicts
    ),
)


@pytest.fixture(scope="module")
def examples(evaluate_once: EvaluateOnce) -> dict[str, Report]:
    return {name: evaluate_once(Path(f"examples/{name}/policy.yaml")) for name in EXAMPLES}


def _all_reports(examples: dict[str, Report]) -> list[Report]:
    return [*examples.values(), HAND, RUN_ERROR]


def _stable(report: Report) -> Report:
    """The report with what changes between runs and machines fixed: time, versions, hashes."""

    def fixed(facts: object) -> dict[str, object]:
        assert isinstance(facts, dict)
        return {k: "0" * 64 if k.endswith("sha256") else v for k, v in facts.items()}

    return dataclasses.replace(
        report,
        created="2026-01-01T00:00:00+00:00",
        versions={"rulecheck": "0.1.0"},
        data=fixed(dict(report.data)),
        model=fixed(dict(report.model)),
        verdicts=tuple(dataclasses.replace(v, duration_s=0.0) for v in report.verdicts),
    )


# JUnit XML


def _validate_junit(text: str) -> None:
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "junit-10.xsd")))
    document = etree.fromstring(text.encode("utf-8"))
    schema.assertValid(document)


def test_junit_validates_and_counts(examples: dict[str, Report]) -> None:
    for report in _all_reports(examples):
        text = junit.render(report)
        _validate_junit(text)
        suites = list(JUnitXml.fromstring(text.encode("utf-8")))
        assert len(suites) == 1
        suite = suites[0]
        counts = report.counts()
        assert suite.name == report.policy_name
        assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (
            len(report.verdicts),
            counts["fail"],
            counts["error"],
            counts["skipped"],
        )
        cases = {case.name: case for case in suite}
        assert list(cases) == [v.rule_id for v in report.verdicts]
        expected = {Status.FAIL: Failure, Status.ERROR: Error, Status.SKIPPED: Skipped}
        for verdict in report.verdicts:
            results = cases[verdict.rule_id].result
            if verdict.status in expected:
                assert [type(r) for r in results] == [expected[verdict.status]]
            else:
                assert results == []
                out = cases[verdict.rule_id].system_out
                assert out.startswith(f"{verdict.status.value.upper()}: ")


def test_junit_escapes_and_keeps_unicode() -> None:
    text = junit.render(HAND)
    root = etree.fromstring(text.encode("utf-8"))
    case = root.find(".//testcase[@name='公平-dp']")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "bound"
    # Quotes, <, & and the line break survive; the bell character (forbidden in XML 1.0) is shown.
    assert failure.get("message") == UNSAFE.replace("\x07", "\\x07")
    assert "source: policies/fair, v1.yaml:3" in (failure.text or "")
    assert "sex=a|b" in (failure.text or "")
    assert "excluded, undefined" in (failure.text or "")
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["exit_code"] == "2"
    assert properties["gate.strict"] == "false"
    assert properties["policy.sha256"] == "0" * 64
    assert properties["data.sha256"] == "a" * 64
    warn = root.find(".//testcase[@name='attr-share']/system-out")
    assert warn is not None
    assert "gate: passes (on_inconclusive: warn)" in (warn.text or "")


def test_junit_run_error_is_suite_system_err() -> None:
    root = etree.fromstring(junit.render(RUN_ERROR).encode("utf-8"))
    err = root.find("testsuite/system-err")
    assert err is not None
    assert "data file data.csv: not found" in (err.text or "")


# SARIF


@pytest.fixture(scope="module")
def sarif_validators() -> list[jsonschema.protocols.Validator]:
    seven = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    four = json.loads((SCHEMAS / "sarif-schema-2.1.0-errata01.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(seven)
    jsonschema.Draft4Validator.check_schema(four)
    return [jsonschema.Draft7Validator(seven), jsonschema.Draft4Validator(four)]


def test_sarif_validates_and_points_at_rules(
    examples: dict[str, Report], sarif_validators: list[jsonschema.protocols.Validator]
) -> None:
    for report in _all_reports(examples):
        log = json.loads(sarif.render(report))
        for validator in sarif_validators:
            validator.validate(log)
        (run,) = log["runs"]
        reported = [v for v in report.verdicts if v.status not in (Status.PASS, Status.SKIPPED)]
        assert len(run["results"]) == len(reported)
        rules = run["tool"]["driver"]["rules"]
        for verdict, result in zip(reported, run["results"], strict=True):
            assert result["ruleId"] == verdict.kind == rules[result["ruleIndex"]]["id"]
            assert result["properties"]["ruleId"] == verdict.rule_id
            assert result["level"] == (
                "error" if verdict.status in (Status.FAIL, Status.ERROR) else "warning"
            )
            assert verdict.source is not None
            location = result["locations"][0]["physicalLocation"]
            assert location["region"] == {
                "startLine": verdict.source.line,
                "startColumn": verdict.source.column,
            }
        assert run["invocations"][0]["exitCode"] == int(report.exit_code())


def test_sarif_rules_describe_kinds(examples: dict[str, Report]) -> None:
    report = examples["german_credit"]
    driver = json.loads(sarif.render(report))["runs"][0]["tool"]["driver"]
    assert driver["version"] == report.versions["rulecheck"]
    assert [r["id"] for r in driver["rules"]] == list(
        dict.fromkeys(v.kind for v in report.verdicts)
    )
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] == report.kinds[rule["id"]]["summary"]
        assert rule["help"]["markdown"] == report.kinds[rule["id"]]["help"]


def test_sarif_keeps_unicode_and_the_uri_is_encoded() -> None:
    log = json.loads(sarif.render(HAND))
    first = log["runs"][0]["results"][0]
    assert first["partialFingerprints"] == {"rulecheckRuleId/v1": "公平-dp"}
    assert first["message"]["text"].endswith(UNSAFE)
    uri = first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "policies/fair%2C%20v1.yaml"
    notes = json.loads(sarif.render(RUN_ERROR))["runs"][0]["invocations"][0]
    assert notes["toolExecutionNotifications"][0]["level"] == "error"


# GitHub Actions


def test_github_hand_built_lines() -> None:
    f = "file=policies/fair%2C v1.yaml"
    assert github.render(HAND).splitlines() == [
        f"::error {f},line=3,col=5,title=公平-dp::FAIL: gap <b>&\"' 100%25 bad%0Asecond line\x07 end",
        f"::error {f},line=9,col=5,title=missing-column::ERROR: column 'age' is not in the data",
        f"::warning {f},line=18,col=5,title=gap%3Aa%2Cb::WARN: 100%25 over,%0D%0Aby: 0.02",
        f"::warning {f},line=22,col=5,title=attr-share::INCONCLUSIVE: attr-share is inconclusive.",
        "6 rules: 1 pass, 1 fail, 1 warn, 1 error, 1 skipped, 1 inconclusive. Exit code 2 (not strict: warnings pass).",
    ]


def test_github_run_error_is_said_once() -> None:
    assert github.render(RUN_ERROR).splitlines()[:-1] == [
        "::error title=rulecheck::data file data.csv: not found"
    ]


def test_github_one_line_per_non_pass_verdict(examples: dict[str, Report]) -> None:
    report = examples["compas"]
    lines = github.render(report).splitlines()
    shown = [v for v in report.verdicts if v.status not in (Status.PASS, Status.SKIPPED)]
    assert len(lines) == len(shown) + 1
    for verdict, line in zip(shown, lines[:-1], strict=True):
        assert verdict.source is not None
        level = "error" if verdict.status is Status.FAIL else "warning"
        assert line.startswith(f"::{level} file={verdict.source.file},line={verdict.source.line},")
        assert f",title={verdict.rule_id}::" in line
    assert lines[-1].endswith("Exit code 1.")
    assert github.job_summary(report) == markdown.render(report)


# Markdown


def _outside_fences(text: str) -> str:
    return re.sub(r"^(`{3,})[^\n]*\n.*?^\1$", "", text, flags=re.MULTILINE | re.DOTALL)


def _cells(row: str) -> list[str]:
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


def test_markdown_tables_fences_and_no_html(examples: dict[str, Report]) -> None:
    for report in _all_reports(examples):
        text = markdown.render(report)
        prose = _outside_fences(text)
        assert not re.search(r"<[A-Za-z/!?]", prose)
        rows = [line for line in prose.splitlines() if line.startswith("| ")]
        columns = len(_cells(rows[0]))  # the summary table's header
        summary = rows[2 : 2 + len(report.verdicts)]
        for verdict, row in zip(report.verdicts, summary, strict=True):
            assert len(_cells(row)) == columns, row
            assert _cells(row)[0].strip().endswith(verdict.status.value.upper())
        for verdict in report.verdicts:
            detailed = verdict.status in (Status.FAIL, Status.WARN, Status.INCONCLUSIVE)
            if detailed and verdict.source is not None and verdict.source.text:
                assert "yaml\n" + verdict.source.text.split("\n")[0] + "\n" in text


def test_markdown_escapes_the_hand_built_report() -> None:
    text = markdown.render(HAND)
    assert text.startswith("## ❌ rulecheck: hand-built: FAIL\n\nGate: exit code 2, not strict")
    assert "sha256 `aaaaaaaaaaaa`" in text
    assert "sex=a\\|b 0.6 (n=5)" in text  # the evidence cell
    assert "| sex=a\\|b | 5 | 0.6 |  |" in text  # the group table
    assert "| sex=d | 1 | undefined | excluded, undefined |" in text
    assert "gap &lt;b>&amp;\"' 100% bad second line\ufffd end" in text
    assert "````yaml\n  - id: 公平-dp\n    note: ```ticks```\n````" in text
    assert "| age | 0.06 | 1 | selected=True |" in text
    with_errors = markdown.render(RUN_ERROR)
    assert "- data file data.csv: not found (no rule was evaluated)" in with_errors
    assert "### ⛔ Errors" in with_errors
    assert "### ⛔ missing-column" not in with_errors  # said once, as the run-level error


def test_markdown_rows_per_rule(examples: dict[str, Report]) -> None:
    report = examples["german_credit"]
    text = markdown.render(report)
    for verdict in report.verdicts:
        assert f"| `{verdict.rule_id}` | `{verdict.kind}` |" in text


# Golden files


@pytest.mark.parametrize("example", EXAMPLES)
@pytest.mark.parametrize("suffix", RENDERERS)
def test_golden(
    example: str, suffix: str, examples: dict[str, Report], update_goldens: bool
) -> None:
    rendered = RENDERERS[suffix](_stable(examples[example]))
    check_golden(GOLDEN / "formats" / f"{example}.{suffix}", rendered, update_goldens)
