"""YAML merge keys (<<: *anchor) reuse rule fragments; every value keeps the position that set it."""

from __future__ import annotations

import time

import pytest

import rulecheck
from rulecheck._source import MAX_ALIAS_NODES, parse_yaml
from rulecheck.errors import PolicyError

HEAD = "version: 1\nname: merge\nrules:\n"
FRAGMENT = "  - &dp {id: a, kind: demographic_parity, by: sex, max_difference: 0.1}\n"


def _problems(text: str) -> list[tuple[str, str, int, int]]:
    with pytest.raises(PolicyError) as caught:
        rulecheck.load_policy(text)
    return [(p.type, p.location, p.span.line, p.span.column) for p in caught.value.problems]


def test_fragment_reused_by_three_rules() -> None:
    text = (
        HEAD
        + FRAGMENT
        + "  - {<<: *dp, id: b, by: race}\n"
        + "  - {<<: *dp, id: c, by: age, max_difference: 0.2}\n"
        + "  - <<: *dp\n"
        + "    id: d\n"
    )
    policy = rulecheck.load_policy(text)
    got = [(r.id, r.kind, r.by, r.max_difference) for r in policy.rules]
    assert got == [
        ("a", "demographic_parity", "sex", 0.1),
        ("b", "demographic_parity", "race", 0.1),
        ("c", "demographic_parity", "age", 0.2),
        ("d", "demographic_parity", "sex", 0.1),
    ]


@pytest.mark.parametrize(
    "rule",
    [
        "  - {<<: *dp, id: b, max_difference: 0.3}\n",
        "  - {id: b, max_difference: 0.3, <<: *dp}\n",
        "  - id: b\n    max_difference: 0.3\n    <<: *dp\n",
        "  - <<: *dp\n    id: b\n    max_difference: 0.3\n",
    ],
    ids=["flow-after", "flow-before", "block-before", "block-after"],
)
def test_explicit_keys_override_merged_ones_before_or_after_the_merge(rule: str) -> None:
    policy = rulecheck.load_policy(HEAD + FRAGMENT + rule)
    assert [(r.id, r.by, r.max_difference) for r in policy.rules] == [
        ("a", "sex", 0.1),
        ("b", "sex", 0.3),
    ]


def test_list_merge_earlier_mappings_win() -> None:
    text = """\
version: 1
name: merge
defaults:
  strict: &strict {max_difference: 0.05, min_group_size: 50}
  loose: &loose {max_difference: 0.2, min_group_size: 10, by: sex}
rules:
  - {<<: [*strict, *loose], id: a, kind: demographic_parity}
  - {<<: [*loose, *strict], id: b, kind: demographic_parity}
  - {<<: [*strict, *loose], id: c, kind: demographic_parity, min_group_size: 5}
"""
    data, spans = parse_yaml(text, "p.yaml")
    rules = data["rules"]
    assert rules[0] == {
        "max_difference": 0.05,
        "min_group_size": 50,
        "by": "sex",
        "id": "a",
        "kind": "demographic_parity",
    }
    assert (rules[1]["max_difference"], rules[1]["min_group_size"]) == (0.2, 10)
    assert (rules[2]["max_difference"], rules[2]["min_group_size"]) == (0.05, 5)
    # Each value's span is where it was written: the winning anchor, or the override.
    assert spans.value(("rules", 0, "max_difference")).line == 4
    assert spans.value(("rules", 0, "by")).line == 5
    assert spans.value(("rules", 1, "max_difference")).line == 5
    assert spans.key(("rules", 1, "min_group_size")).line == 5
    assert spans.value(("rules", 2, "max_difference")).line == 4
    assert spans.value(("rules", 2, "min_group_size")).line == 9
    assert spans.value(("rules", 2)).line == 9


def test_nested_merge() -> None:
    text = """\
version: 1
name: merge
rules:
  - &base {id: a, kind: demographic_parity, by: sex, max_difference: 0.1}
  - &race {<<: *base, id: b, by: race}
  - {<<: *race, id: c, max_difference: 0.2}
  - <<: [*race, *base]
    id: d
"""
    policy = rulecheck.load_policy(text)
    assert [(r.id, r.by, r.max_difference) for r in policy.rules] == [
        ("a", "sex", 0.1),
        ("b", "race", 0.1),
        ("c", "race", 0.2),
        ("d", "race", 0.1),
    ]
    _, spans = parse_yaml(text, "p.yaml")
    assert spans.value(("rules", 2, "by")).line == 5  # via *race, which set it
    assert spans.value(("rules", 2, "kind")).line == 4  # via *race, which merged it from *base


def test_bad_value_in_the_anchor_is_reported_at_the_anchor_for_every_rule() -> None:
    text = (
        HEAD
        + "  - &dp {id: a, kind: demographic_parity, by: sex, max_difference: 2}\n"
        + "  - {<<: *dp, id: b, by: race}\n"
        + "  - <<: *dp\n"
        + "    id: c\n"
        + "  - id: d\n"
        + "    max_difference: 3\n"
        + "    <<: *dp\n"
    )
    assert _problems(text) == [
        ("less_than_equal", "rules[0] (id: a).max_difference", 4, 68),
        ("less_than_equal", "rules[1] (id: b).max_difference", 4, 68),
        ("less_than_equal", "rules[2] (id: c).max_difference", 4, 68),
        ("less_than_equal", "rules[3] (id: d).max_difference", 9, 21),
    ]
    with pytest.raises(PolicyError) as caught:
        rulecheck.load_policy(text)
    rendered = caught.value.render().splitlines()
    # The caret stands under the offending value, also past column 60 of a short line.
    shown = rendered.index("  4 | " + text.splitlines()[3])
    assert rendered[shown + 1].index("^") == rendered[shown].index("2}")


def test_bad_override_is_reported_at_its_own_line() -> None:
    text = HEAD + FRAGMENT + "  - <<: *dp\n    id: b\n    max_difference: -1\n"
    assert _problems(text) == [
        ("greater_than_equal", "rules[1] (id: b).max_difference", 7, 21),
    ]


def test_override_keeps_its_own_yaml_type_trap_record() -> None:
    # The anchor's `by: yes` is a YAML boolean; a rule overriding it with a string must not be
    # warned about (nor reported with the anchor's position).
    text = (
        HEAD
        + "  - &dp {id: a, kind: demographic_parity, by: yes, max_difference: 0.1}\n"
        + "  - {<<: *dp, id: b, by: race}\n"
    )
    _, spans = parse_yaml(text, "p.yaml")
    assert spans.typed[("rules", 0, "by")] == "yes"
    assert ("rules", 1, "by") not in spans.typed
    assert spans.value(("rules", 1, "by")).line == 5
    assert spans.key(("rules", 1, "by")).column == 22


@pytest.mark.parametrize(
    ("merge", "column", "shown"),
    [
        ("5", 6, "the value '5'"),
        ("[*dp, 5]", 16, "the value '5'"),
        ("[[*dp]]", 11, "a list"),
        ("not-a-map", 6, "the value 'not-a-map'"),
    ],
)
def test_merge_value_that_is_not_a_mapping_is_an_error_at_its_position(
    merge: str, column: int, shown: str
) -> None:
    text = HEAD + FRAGMENT + f"  - {{<<: {merge}, id: b}}\n"
    with pytest.raises(PolicyError) as caught:
        rulecheck.load_policy(text)
    (problem,) = caught.value.problems
    assert problem.type == "yaml_merge"
    assert (problem.span.line, problem.span.column) == (5, column)
    assert problem.message.startswith(
        "<< must be a mapping or a list of mappings (an alias such as *defaults)"
    )
    assert shown in problem.message


def test_duplicate_explicit_keys_are_still_an_error() -> None:
    text = HEAD + FRAGMENT + "  - <<: *dp\n    id: b\n    by: race\n    by: age\n"
    assert _problems(text) == [("duplicate_key", "", 8, 5)]
    # Two merge keys in one mapping are a duplicate key too (use one list instead).
    text = HEAD + FRAGMENT + "  - <<: *dp\n    id: b\n    <<: *dp\n"
    ((kind, _, line, column),) = _problems(text)
    assert (kind, line, column) == ("duplicate_key", 7, 5)


def test_quoted_merge_key_is_a_normal_key() -> None:
    data, spans = parse_yaml('a: &a {x: 1}\nb: {"<<": *a, y: 2}\n', "p.yaml")
    assert data["b"] == {"<<": {"x": 1}, "y": 2}
    assert spans.key(("b", "<<")).line == 2
    problems = _problems(
        HEAD + FRAGMENT + "  - {'<<': *dp, id: b, kind: demographic_parity, by: x}\n"
    )
    assert [(kind, line) for kind, _, line, _ in problems] == [("extra_forbidden", 5)]


def test_recursive_merge_is_refused() -> None:
    assert [kind for kind, *_ in _problems("version: 1\nname: &m {<<: *m}\nrules: []\n")] == [
        "yaml_alias"
    ]


def test_alias_bomb_through_merges_is_capped() -> None:
    # Each level merges the previous one nine times: the result stays small, the work does not.
    lines = ["version: 1", "name: bomb", "a0: &a0 {k: [lol, lol, lol, lol, lol, lol, lol, lol]}"]
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} {{<<: [" + ", ".join([f"*a{i - 1}"] * 9) + "]}")
    lines.append("rules:\n  - {<<: *a11, id: x, kind: demographic_parity, by: sex}")
    text = "\n".join(lines) + "\n"
    assert len(text) < 1_000
    start = time.process_time()
    problems = _problems(text)
    assert time.process_time() - start < 1.0
    ((kind, _, line, _),) = problems
    assert kind == "yaml_alias"
    assert 4 <= line <= len(lines) + 1
    with pytest.raises(PolicyError) as caught:
        rulecheck.load_policy(text)
    assert f"more than {MAX_ALIAS_NODES:,} nodes" in caught.value.problems[0].message
