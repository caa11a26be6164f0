"""Policies that YAML can express but rulecheck must not crash on: odd scalars, tags, aliases, size."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from rulecheck import cli
from rulecheck._source import MAX_ALIAS_NODES, MAX_DEPTH
from rulecheck.errors import PolicyError
from rulecheck.policy import policy_from_text

TEMPLATE = """\
version: 1
name: {name}
rules:
  - id: dp
    kind: demographic_parity
    by: {by}
    max_difference: {bound}
"""
LOCATION = re.compile(r"^\S+:\d+:\d+: ", re.MULTILINE)

# Every kind of scalar (and tagged node) YAML 1.1 can produce, written in a value position.
SCALARS = [
    "2026-13-45",
    "2026-11-30",
    "2026-11-30T10:00:00Z",
    "2026-11-30 10:00:00.5 +02:00",
    "!!timestamp 2026-02-30",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1, b: 2]",
    "!!pairs [a: 1, a: 2]",
    "{<<: {a: 1}, b: 2}",
    "{<<: [1, 2]}",
    ".nan",
    ".NaN",
    ".inf",
    "-.inf",
    "!!float 1e400",
    "1.0e+400",
    "1" * 400,
    "1" * 5000,
    "x" * 200_000,
    "!!python/object:os.system x",
    "!!python/name:os.system ''",
    "!foo bar",
    "!foo {a: 1}",
    "!!int abc",
    "!!bool maybe",
    "!!float x",
    "!!null x",
    "&a [*a]",
    "0x1F",
    "0o17",
    "1_000",
    "190:20:30",
    "yes",
    "~",
]


def _validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    code = cli.main(["validate", str(path)])
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("field", ["name", "by", "bound"])
@pytest.mark.parametrize("scalar", SCALARS, ids=lambda s: s[:24])
def test_any_scalar_anywhere_is_accepted_or_a_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, scalar: str
) -> None:
    values = {"name": "n", "by": "sex", "bound": "0.1", field: scalar}
    code, err = _validate(tmp_path, TEMPLATE.format(**values), capsys)
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        assert LOCATION.search(err), err
        assert len(err) < 5_000  # a 200 kB value is not echoed back whole


@pytest.mark.parametrize("text", ["2026-13-45", "2026-11-30", "2026-11-30T10:00:00Z"])
def test_timestamps_stay_as_written(text: str) -> None:
    policy = policy_from_text(TEMPLATE.format(name=text, by="sex", bound="0.1"), "p.yaml")
    assert policy.name == text


@pytest.mark.parametrize("bound", [".nan", ".inf", "-.inf", "!!float 1e400"])
def test_nan_and_inf_bounds_are_refused(bound: str) -> None:
    with pytest.raises(PolicyError) as caught:
        policy_from_text(TEMPLATE.format(name="n", by="sex", bound=bound), "p.yaml")
    (problem,) = caught.value.problems
    assert problem.type == "finite_number"
    assert (problem.span.line, problem.span.column) == (7, 21)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("!!binary aGVsbG8=", "yaml_tag"),
        ("!!set {a, b}", "yaml_tag"),
        ("!foo bar", "yaml_tag"),
        ("!!python/object:os.system x", "yaml_tag"),
        ("&a [*a]", "yaml_alias"),
        ("1" * 5000, "yaml_value"),
        ("!!bool maybe", "yaml_value"),
        ("!!int", "yaml_value"),  # an empty tagged int: PyYAML raised IndexError (fuzz found)
        ("!!float", "yaml_value"),
    ],
)
def test_unsupported_yaml_is_refused_at_its_position(value: str, kind: str) -> None:
    with pytest.raises(PolicyError) as caught:
        policy_from_text(TEMPLATE.format(name=value, by="sex", bound="0.1"), "p.yaml")
    (problem,) = caught.value.problems
    assert problem.type == kind
    assert (problem.span.line, problem.span.column) == (2, 7)


def test_merge_keys_work_and_explicit_keys_win() -> None:
    text = """\
version: 1
name: merge
rules:
  - &dp {id: a, kind: demographic_parity, by: sex, max_difference: 0.1}
  - {<<: *dp, id: b, max_difference: 0.2}
  - <<: [*dp]
    id: c
"""
    policy = policy_from_text(text, "p.yaml")
    assert [(r.id, r.max_difference) for r in policy.rules] == [
        ("a", 0.1),
        ("b", 0.2),
        ("c", 0.1),
    ]


def test_recursive_merge_is_refused() -> None:
    text = "version: 1\nname: &m {<<: *m}\nrules: []\n"
    with pytest.raises(PolicyError) as caught:
        policy_from_text(text, "p.yaml")
    assert caught.value.problems[0].type in ("yaml_alias", "yaml_syntax")


def _alias_bomb(levels: int = 12) -> str:
    lines = ["version: 1", "name: bomb", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    lines.append(f"rules: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_quickly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = _alias_bomb()
    assert len(text) < 1_000  # expands into 9**12 (about 2.8e11) strings
    _validate(tmp_path, "version: 1\n", capsys)  # imports and schemas are not the point
    start = time.process_time()  # CPU time: a busy CI machine does not make this flaky
    code, err = _validate(tmp_path, text, capsys)
    elapsed = time.process_time() - start
    assert code == 2
    assert f"expands YAML aliases into more than {MAX_ALIAS_NODES:,} nodes" in err
    assert LOCATION.search(err)
    assert elapsed < 1.0


def test_deep_nesting_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = "version: 1\nname: " + "[" * 10_000 + "]" * 10_000 + "\nrules: []\n"
    block = "version: 1\nname: x\nrules:\n" + "".join("  " * i + "-\n" for i in range(1, 10_000))
    for text in (flow, block + "  " * 10_000 + "- a\n"):
        code, err = _validate(tmp_path, text, capsys)
        assert code == 2, err
        assert f"nested more than {MAX_DEPTH} levels deep" in err or "YAML syntax" in err
        assert "Traceback" not in err


def test_fifty_megabyte_policy_is_handled_in_seconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = "  - {{id: r{i}, kind: demographic_parity, by: sex, max_difference: 0.1}}\n"
    head = "version: 1\nname: big\ndescription: " + "d" * 50_000_000 + "\nrules:\n"
    body = "".join(rule.format(i=i) for i in range(10_000))
    text = head + body
    assert len(text) > 50_000_000
    start = time.perf_counter()
    code, err = _validate(tmp_path, text, capsys)
    elapsed = time.perf_counter() - start
    assert code == 0, err[:2000]
    assert elapsed < 30  # about 2 s here


@pytest.mark.parametrize(
    "rule_id", ["公平-dp", "égalité", "e\u0301galite", "١٢٣", "dp_1.x", "x" * 100]
)
def test_rule_ids_in_any_script_are_accepted(rule_id: str) -> None:
    text = (
        f"version: 1\nname: n\nrules:\n  - {{id: '{rule_id}', kind: demographic_parity, by: s}}\n"
    )
    assert policy_from_text(text, "p.yaml").rules[0].id == rule_id


@pytest.mark.parametrize(
    "rule_id",
    [
        "-dp",
        "_dp",
        "dp sex",
        "a<b",
        "a>b",
        "a&b",
        'a\\"b',
        "a''b",
        "a\\tb",
        "a\\u0007b",
        "a\\u200bb",
        "a\\u00a0b",
        "a/b",
        "x" * 101,
    ],
)
def test_rule_ids_that_break_xml_or_sarif_are_refused(rule_id: str) -> None:
    text = (
        f'version: 1\nname: n\nrules:\n  - {{id: "{rule_id}", kind: demographic_parity, by: s}}\n'
    )
    with pytest.raises(PolicyError) as caught:
        policy_from_text(text, "p.yaml")
    (problem,) = caught.value.problems
    assert problem.type in ("string_pattern_mismatch", "string_too_long")
    assert (problem.span.line, problem.span.column) == (4, 10)


def test_huge_integers_do_not_crash_float_conversion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rulecheck._measures import same_value

    huge = 10**400
    assert not same_value(huge, "1")
    assert not same_value(huge, 1.0)
    assert same_value(huge, huge)
    frame = "sex,y,p\n" + "f,1,1\nm,0,1\nf,0,0\nm,1,0\n" * 5
    (tmp_path / "data.csv").write_text(frame, encoding="utf-8")
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "version: 1\nname: n\n"
        f"target: {{data: data.csv, label: y, prediction: p, positive_label: {'9' * 400}}}\n"
        "rules: [{id: eo, kind: equal_opportunity, by: sex, reference_group: " + "7" * 400 + "}]\n",
        encoding="utf-8",
    )
    code = cli.main(["check", str(policy)])
    out, err = capsys.readouterr()
    assert code == 2, out + err  # ERROR verdicts: the labels and group never occur
    assert "Traceback" not in err
    assert "never occurs" in out


def test_an_empty_tagged_key_is_a_located_error() -> None:
    """`? !!int` (an explicit key, tagged, empty): found by the policy fuzzer as exit 3."""
    with pytest.raises(PolicyError) as caught:
        policy_from_text("? !!int\nversion: 1\n", "p.yaml")
    (problem,) = caught.value.problems
    assert problem.type == "yaml_value"
    assert (problem.span.line, problem.span.column) == (1, 3)
