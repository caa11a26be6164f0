"""Waivers (the policy's ``exceptions``): validation, judging, expiry, ``--today`` and every
renderer."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from lxml import etree

from rulecheck import cli, evaluate
from rulecheck.errors import PolicyError
from rulecheck.policy import load_policy
from rulecheck.report import github, html, junit, markdown, sarif, text
from rulecheck.verdict import ExitCode, Report, Status

SCHEMAS = Path(__file__).parent / "schemas"

# race=b selects everyone, a half, c 45%: the rule fails because of b only.
FRAME = pd.DataFrame(
    {
        "race": ["a"] * 40 + ["b"] * 40 + ["c"] * 40,
        "y": [0, 1] * 60,
        "p": [1, 0] * 20 + [1, 1] * 20 + [0, 0] * 2 + [1, 0] * 18,
    }
)
RULES = """version: 1
name: demo
rules:
  - {id: dp-race, kind: demographic_parity, by: race, max_difference: 0.2}
  - {id: dp-loose, kind: demographic_parity, by: race, max_difference: 0.9}
  - {id: dp-warn, kind: demographic_parity, by: race, max_difference: 0.2, severity: warning}
exceptions:
"""
WAIVER = "  - {{rule: {rule}, {extra}reason: known gap, owner: team-x, approved_by: Jane Roe, expires: {expires}}}\n"


def policy(rule: str = "dp-race", extra: str = "", expires: str = "2026-12-31") -> str:
    return RULES + WAIVER.format(rule=rule, extra=extra, expires=expires)


def run(text: str, today: dt.date, strict: bool = False) -> Report:
    return evaluate(text, data=FRAME, label="y", prediction="p", today=today, strict=strict)


LIVE = dt.date(2026, 12, 31)  # the last day of the waiver
EXPIRED = dt.date(2027, 1, 1)


# Policy errors


def problems(text: str) -> str:
    with pytest.raises(PolicyError) as info:
        load_policy(text)
    return str(info.value)


def test_an_impossible_date_is_a_policy_error_at_its_position() -> None:
    message = problems(policy(expires="2026-13-45"))
    assert "<string>:8:" in message
    assert "exceptions[0].expires: expires 2026-13-45 is not a date of the calendar" in message


def test_a_date_in_another_format_is_a_policy_error() -> None:
    assert "expires must be a date YYYY-MM-DD, got '31.12.2026'" in problems(
        policy(expires="'31.12.2026'")
    )


def test_an_unknown_rule_is_a_policy_error_with_did_you_mean() -> None:
    message = problems(policy(rule="dp-rac"))
    assert "<string>:8:12: exceptions[0].rule: no rule 'dp-rac' in the policy to waive" in message
    assert "did you mean 'dp-race'?" in message


def test_a_group_on_a_rule_without_by_is_a_policy_error() -> None:
    text = policy(rule="acc", extra="group: a, ").replace(
        "rules:\n", "rules:\n  - {id: acc, kind: performance, metric: accuracy, min: 0.5}\n"
    )
    assert "has no by column: a waiver of it cannot name a group" in problems(text)


def test_a_group_with_other_columns_is_a_policy_error() -> None:
    message = problems(policy(extra="group: {sex: f}, "))
    assert "exceptions[0].group: group entry must name exactly the by columns" in message


def test_required_fields_and_one_waiver_per_rule() -> None:
    assert "missing required field 'approved_by'" in problems(
        RULES + "  - {rule: dp-race, reason: r, owner: o, expires: 2026-12-31}\n"
    )
    assert "reason" in problems(policy().replace("reason: known gap", "reason: ''"))
    assert "already has a waiver" in problems(
        policy() + WAIVER.format(rule="dp-race", extra="", expires="2027-01-01")
    )


# Judging


def test_a_live_waiver_makes_a_failing_rule_waived_and_the_gate_pass() -> None:
    for strict in (False, True):
        report = run(policy(), LIVE, strict=strict)
        verdict = report.verdict("dp-race")
        assert verdict.status is Status.WAIVED
        assert verdict.value == pytest.approx(0.55)
        assert verdict.message.startswith("selection_rate difference between groups 0.55 >")
        assert verdict.waiver is not None
        assert verdict.waiver.owner == "team-x"
        # dp-warn fails the strict gate; dp-race, waived, fails no gate.
        assert report.exit_code() is (ExitCode.VIOLATIONS if strict else ExitCode.OK)
        assert not verdict.fails_gate(strict=True)
        assert report.counts()["waived"] == 1
        assert report.today == "2026-12-31"


def test_a_warning_rule_is_waived_under_strict() -> None:
    report = run(
        policy(rule="dp-warn").replace(
            "  - {id: dp-race, kind: demographic_parity, by: race, max_difference: 0.2}\n", ""
        ),
        LIVE,
        strict=True,
    )
    assert report.verdict("dp-warn").status is Status.WAIVED
    assert report.exit_code() is ExitCode.OK


def test_an_expired_waiver_makes_a_failing_rule_an_error() -> None:
    report = run(policy(), EXPIRED)
    verdict = report.verdict("dp-race")
    assert verdict.status is Status.ERROR
    assert verdict.message.startswith(
        "waiver for dp-race expired on 2026-12-31 (owner team-x, approved by Jane Roe): "
        "renew it or fix the model"
    )
    assert report.exit_code() is ExitCode.USAGE_ERROR


def test_an_expired_waiver_of_a_passing_rule_is_a_note() -> None:
    verdict = run(policy(rule="dp-loose"), EXPIRED).verdict("dp-loose")
    assert verdict.status is Status.PASS
    assert any("expired on 2026-12-31" in n and "no longer needed" in n for n in verdict.notes)


def test_no_waiver_keys_in_counts_without_waived_rules() -> None:
    assert "waived" not in run(policy(rule="dp-loose"), LIVE).counts()


def test_today_makes_the_run_reproducible(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(policy(), encoding="utf-8")
    FRAME.to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "r.json"
    base = ["check", str(tmp_path / "p.yaml"), "--data", str(tmp_path / "d.csv"), "--label", "y"]
    base += ["--prediction", "p", "-q", "-o", str(out), "--today"]
    assert cli.main([*base, "2026-12-31"]) == 0
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["today"] == "2026-12-31"
    assert saved["verdicts"][0]["status"] == "waived"
    assert cli.main([*base, "2027-01-01"]) == 2
    assert json.loads(out.read_text(encoding="utf-8"))["verdicts"][0]["status"] == "error"


# Group waivers: the rule is judged again without the group


def test_a_group_waiver_covers_a_failure_caused_by_that_group() -> None:
    verdict = run(policy(extra="group: b, "), LIVE).verdict("dp-race")
    assert verdict.status is Status.WAIVED
    assert verdict.waiver is not None
    assert verdict.waiver.group == (("race", "b"),)
    assert any("Judged again without race=b, the rule passes" in n for n in verdict.notes)


def test_a_group_waiver_does_not_cover_another_groups_failure() -> None:
    verdict = run(policy(extra="group: c, "), LIVE).verdict("dp-race")
    assert verdict.status is Status.FAIL
    assert verdict.waiver is None
    assert any("does not cover this verdict" in n for n in verdict.notes)


def test_a_group_absent_from_the_data_is_an_error_naming_it() -> None:
    verdict = run(policy(extra="group: zz, "), LIVE).verdict("dp-race")
    assert verdict.status is Status.ERROR
    assert "names group race=zz, which does not occur" in verdict.message


def test_a_group_waiver_with_a_mapping() -> None:
    verdict = run(policy(extra="group: {race: b}, "), LIVE).verdict("dp-race")
    assert verdict.status is Status.WAIVED


# Reports


@pytest.fixture(scope="module")
def waived() -> Report:
    return run(policy(extra="group: b, "), LIVE)


def test_json_round_trip(waived: Report) -> None:
    again = Report.from_json(waived.to_json())
    assert again == waived
    assert again.verdict("dp-race").waiver == waived.verdict("dp-race").waiver
    data = waived.to_dict()
    assert data["verdicts"][0]["waiver"] == {
        "rule": "dp-race",
        "group": {"race": "b"},
        "reason": "known gap",
        "owner": "team-x",
        "approved_by": "Jane Roe",
        "expires": "2026-12-31",
    }


def test_text_shows_waived(waived: Report) -> None:
    out = text.render(waived)
    assert "WAIVED  dp-race" in out
    assert "waived for race=b until 2026-12-31 by Jane Roe (known gap); owner team-x" in out
    assert "1 waived" in out


def test_junit_is_a_passing_case_saying_waived(waived: Report) -> None:
    xml = junit.render(waived).encode("utf-8")
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "junit-10.xsd")))
    root = etree.fromstring(xml)
    schema.assertValid(root)
    case = root.find("testsuite/testcase[@name='dp-race']")
    assert case is not None
    assert case.find("failure") is None
    body = case.findtext("system-out") or ""
    assert body.startswith("WAIVED: ")
    assert "waiver expires: 2026-12-31" in body


def test_github_is_a_notice(waived: Report) -> None:
    out = github.render(waived)
    assert "::notice file=<string>" in out or "::notice title=dp-race" in out
    assert "WAIVED: " in out
    assert "waived for race=b until 2026-12-31" in out


def test_sarif_suppression_validates(waived: Report) -> None:
    log = sarif.to_dict(waived)
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(log)
    (result,) = [
        r
        for r in log["runs"][0]["results"]
        if r["partialFingerprints"]["rulecheckRuleId/v1"] == "dp-race"
    ]
    assert result["suppressions"] == [{"kind": "external", "justification": "known gap"}]
    assert result["properties"]["waiver"]["owner"] == "team-x"


def test_markdown_and_html_show_the_waiver(waived: Report) -> None:
    md = markdown.render(waived)
    assert "🏳️ WAIVED" in md
    assert "- approved by: Jane Roe" in md
    assert "- expires: 2026-12-31" in md
    pytest.importorskip("matplotlib")
    page = html.render(waived)
    assert '<span class="badge status-waived">WAIVED</span>' in page
    assert "<dt>Waiver owner</dt><dd>team-x</dd>" in page
    assert "<dt>Waived until</dt><dd>2026-12-31</dd>" in page
