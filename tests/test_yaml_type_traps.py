"""YAML type traps: `positive_label: yes` is the boolean true; validate warns, check still runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rulecheck import cli
from rulecheck.errors import PolicyError
from rulecheck.policy import policy_from_text

TRAPS = """\
version: 1
name: traps
target:
  label: y
  positive_label: yes
  labels: [yes, no]
  where: {region: on, age: {gt: 1.0}}
rules:
  - id: dp
    kind: demographic_parity
    by: sex
    reference_group: 01
    groups: [true, off, 1.0, 0.5, 2, "on"]
"""


def test_words_and_numbers_yaml_retyped_are_warned_at_their_position() -> None:
    policy = policy_from_text(TRAPS, "p.yaml")
    found = [(w.span.line, w.span.column, w.location) for w in policy.warnings]
    assert found == [
        (5, 19, "target.positive_label"),
        (6, 12, "target.labels[0]"),
        (6, 17, "target.labels[1]"),
        (7, 19, "target.where.region"),
        (12, 22, "rules[0] (id: dp).reference_group"),
        (13, 20, "rules[0] (id: dp).groups[1]"),
        (13, 25, "rules[0] (id: dp).groups[2]"),
    ]
    first = policy.warnings[0]
    assert first.type == "yaml_type_trap"
    assert "boolean true" in first.message
    assert 'quote it: positive_label: "yes"' in first.message
    assert first.warning().startswith("p.yaml:5:19: warning: target.positive_label: ")


def test_canonical_spellings_are_not_warned() -> None:
    text = TRAPS.replace("positive_label: yes", "positive_label: true")
    text = text.replace("labels: [yes, no]", "labels: [1, 0]").replace("region: on", "region: 'on'")
    text = text.replace("reference_group: 01", "reference_group: 1")
    text = text.replace('[true, off, 1.0, 0.5, 2, "on"]', "[true, false, 0.5, 2]")
    assert policy_from_text(text, "p.yaml").warnings == ()


def test_unquoted_word_where_a_string_is_required_says_how_yaml_read_it() -> None:
    text = "version: 1\nname: n\nrules:\n  - {id: a, kind: demographic_parity, by: yes}\n"
    with pytest.raises(PolicyError) as caught:
        policy_from_text(text, "p.yaml")
    assert "YAML reads yes as the boolean true: quote it" in str(caught.value)


@pytest.fixture
def yes_no_data(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m"], n),
            "y": rng.choice(["yes", "no"], n),
            "p": rng.choice(["yes", "no"], n),
            "sw": rng.choice(["on", "off"], n),
        }
    )
    frame.to_csv(tmp_path / "data.csv", index=False)
    return tmp_path


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_prints_warnings_and_exits_0(
    yes_no_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = yes_no_data / "p.yaml"
    path.write_text(TRAPS, encoding="utf-8")
    code, out, err = _run(["validate", str(path)], capsys)
    assert code == 0
    assert "ok (1 rule)" in out
    lines = err.splitlines()
    assert len(lines) == 7
    assert lines[0].startswith(f"{path}:5:19: warning: target.positive_label: yes is read by YAML")


def test_check_with_unquoted_yes_matches_yes_in_the_data(
    yes_no_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = yes_no_data / "p.yaml"
    path.write_text(
        "version: 1\nname: t\n"
        "target: {data: data.csv, label: y, prediction: p, positive_label: yes}\n"
        "rules:\n  - {id: eo, kind: equal_opportunity, by: sex, max_difference: 0.99}\n",
        encoding="utf-8",
    )
    code, out, err = _run(["check", str(path)], capsys)
    assert code == 0, out + err  # True matches "yes" in the data
    assert "warning: target.positive_label" in err


def test_check_names_the_yaml_boolean_when_the_data_holds_on(
    yes_no_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = yes_no_data / "p.yaml"
    path.write_text(
        "version: 1\nname: t\n"
        "target: {data: data.csv, label: sw, prediction: p, positive_label: on}\n"
        "rules:\n"
        "  - {id: dp, kind: demographic_parity, by: sw, reference_group: on, max_difference: 1}\n"
        "  - {id: eo, kind: equal_opportunity, by: sex, max_difference: 1}\n",
        encoding="utf-8",
    )
    code, out, _ = _run(["check", str(path)], capsys)
    assert code == 2
    hint = "which is what YAML makes of an unquoted yes, on or true"
    assert "reference_group sw=True does not occur in the data" in out
    assert "positive_label True never occurs" in out
    assert out.count(hint) == 2


@pytest.mark.parametrize(
    ("line", "column"),
    [
        ("max_difference: yes", 21),
        ("min_group_size: on", 21),
        ("max_increase: off", 19),
        ("where: {age: {gt: true}}", 23),
    ],
)
def test_a_boolean_where_a_number_is_expected_is_refused(line: str, column: int) -> None:
    text = f"version: 1\nname: n\nrules:\n  - id: a\n    kind: demographic_parity\n    by: s\n    {line}\n"
    with pytest.raises(PolicyError) as caught:
        policy_from_text(text, "p.yaml")
    (problem,) = caught.value.problems
    assert problem.type == "bool_as_number"
    assert (problem.span.line, problem.span.column) == (7, column)
    assert "YAML reads unquoted yes/no/on/off/true/false as booleans" in problem.message


def test_booleans_in_boolean_fields_are_fine() -> None:
    text = "version: 1\nname: n\ntarget: {baseline_for_all: yes}\nrules:\n  - {id: a, kind: demographic_parity, by: s}\n"
    assert policy_from_text(text, "p.yaml").target is not None
