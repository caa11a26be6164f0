"""The rule registry: every kind is registered once, in the Union, documented and has cases."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import get_args

import pytest

import rulecheck.rules as rules
from rulecheck.policy import Policy

SECTIONS = ("**What it checks**", "**Why it matters**", "**Example**", "**References**")
CASES_DIR = Path(__file__).parent / "cases"


def _modules() -> list[str]:
    return [m.name for m in pkgutil.iter_modules(rules.__path__) if not m.name.startswith("_")]


def test_every_module_is_registered() -> None:
    registered = {cls.__module__.rsplit(".", 1)[1] for cls in rules.ALL_RULES}
    assert registered == set(_modules())


def test_kinds_are_unique_and_named_after_their_module() -> None:
    kinds = [rules.kind_of(cls) for cls in rules.ALL_RULES]
    assert len(kinds) == len(set(kinds))
    for cls in rules.ALL_RULES:
        assert cls.__module__.rsplit(".", 1)[1] == rules.kind_of(cls)


def test_union_matches_registry() -> None:
    union = get_args(get_args(rules.Rule)[0])
    assert set(union) == set(rules.ALL_RULES)
    schema = Policy.model_json_schema()
    mapping = schema["properties"]["rules"]["items"]["discriminator"]["mapping"]
    assert set(mapping) == set(rules.KINDS)


@pytest.mark.parametrize("kind", sorted(rules.KINDS))
def test_kind_is_documented(kind: str) -> None:
    cls = rules.KINDS[kind]
    doc = importlib.import_module(cls.__module__).__doc__ or ""
    assert doc.startswith(f"{kind}: "), "the module docstring starts with '<kind>: <title>'"
    for section in SECTIONS:
        assert section in doc, f"{kind} docstring lacks {section}"
    assert "```yaml" in doc
    assert cls.summary, "summary is shown by `rulecheck list-rules`"
    for name, field in cls.model_fields.items():
        if name != "kind":
            assert field.description, f"{kind}.{name} has no attribute docstring"


@pytest.mark.parametrize("kind", sorted(rules.KINDS))
def test_kind_has_case_file(kind: str) -> None:
    assert (CASES_DIR / f"{kind}.yml").is_file()


def test_unknown_kind_lookup_lists_kinds() -> None:
    with pytest.raises(KeyError, match="valid kinds: "):
        rules.rule_class("nope")


def test_engine_computes_exactly_the_metrics_rules_accept() -> None:
    from rulecheck.engines.fairness import COUNT_METRICS, VALUE_METRICS
    from rulecheck.rules._base import MetricName

    assert set(COUNT_METRICS) | set(VALUE_METRICS) == set(get_args(MetricName))
