"""Golden tests for the catalogue of broken policies: every problem, with file:line:col and caret."""

from __future__ import annotations

from pathlib import Path

import pytest

from rulecheck.errors import PolicyError
from rulecheck.policy import policy_from_text
from tests.golden import GOLDEN, check_golden

CASES = sorted((GOLDEN / "policy_errors").glob("*.yaml"))


def test_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_broken_policy_message(case: Path, update_goldens: bool) -> None:
    with pytest.raises(PolicyError) as caught:
        policy_from_text(case.read_text(encoding="utf-8"), case.name)
    rendered = caught.value.render() + "\n"
    check_golden(case.with_suffix(".txt"), rendered, update_goldens)
    # Every problem points at a real line of the file, with a caret.
    lines = case.read_text(encoding="utf-8").splitlines()
    for problem in caught.value.problems:
        assert problem.span.file == case.name
        assert 1 <= problem.span.line <= max(len(lines), 1)
        assert problem.span.column >= 1


def test_all_problems_reported_at_once() -> None:
    text = (GOLDEN / "policy_errors" / "31_many_problems.yaml").read_text(encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        policy_from_text(text, "many.yaml")
    locations = [p.location for p in caught.value.problems]
    assert locations == [
        "rules[0] (id: fpr-gap-race).max_difference",
        "rules[1] (id: eo).min_group_size",
        "rules[2] (id: auc).min",
    ]
    assert [p.span.line for p in caught.value.problems] == [8, 12, 16]


def test_unknown_kind_lists_valid_kinds() -> None:
    text = (GOLDEN / "policy_errors" / "09_unknown_kind.yaml").read_text(encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        policy_from_text(text, "p.yaml")
    (problem,) = caught.value.problems
    assert problem.type == "union_tag_invalid"
    assert "valid kinds: group_metric, demographic_parity" in problem.message
    assert "Did you mean 'demographic_parity'?" in problem.message
    assert (problem.span.line, problem.span.column) == (5, 11)
