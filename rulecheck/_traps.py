"""YAML type traps: unquoted words and numbers that YAML reads as something else than was meant.

YAML 1.1 reads ``positive_label: yes`` as the boolean true, ``on``/``off`` as booleans and ``01`` or
``1.0`` as numbers. Where a policy names a label, a group or a column, the user almost always meant
the text. :func:`type_traps` finds such values from the source text that :mod:`rulecheck._source`
kept for every unquoted bool or number, and yields one warning message each, with its path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rulecheck._source import Path, SourceMap

__all__ = [
    "NAMING_FIELDS",
    "TRAP_TYPE",
    "canonical",
    "not_found_hint",
    "type_traps",
    "yaml_reading",
]

# Fields whose values name a label, a group or a column (not a quantity).
NAMING_FIELDS = frozenset(
    {
        "positive_label",
        "labels",
        "reference_group",
        "groups",
        "by",
        "label",
        "prediction",
        "score",
        "sample_weight",
        "features",
        "baseline_prediction",
        "baseline_score",
    }
)
# Inside `where:`, these take numbers on purpose.
_BOUNDS = frozenset({"gt", "gte", "lt", "lte"})

TRAP_TYPE = "yaml_type_trap"


def canonical(value: object) -> str:
    """How YAML itself would write ``value``: the form a user who meant the value would type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def yaml_reading(value: object) -> str:
    """``the boolean true``, ``the number 1``: what YAML made of a value, for messages."""
    if isinstance(value, bool):
        return f"the boolean {canonical(value)}"
    if isinstance(value, int | float):
        return f"the number {canonical(value)}"
    return repr(value)


def _names_something(path: Path) -> str | None:
    """The field at ``path`` if it names a label, group or column, else None."""
    names = [segment for segment in path if isinstance(segment, str)]
    if "where" in names:
        return None if names[-1] in _BOUNDS else "where"
    field = names[-1] if names else None
    if field in NAMING_FIELDS:
        return field
    # groups / reference_group may be {column: value} mappings for intersectional groups.
    for name in ("groups", "reference_group"):
        if name in names[:-1]:
            return name
    return None


def _value_at(data: Any, path: Path) -> Any:
    for segment in path:
        data = data[segment]
    return data


def type_traps(data: Any, spans: SourceMap) -> Iterator[tuple[Path, str]]:
    """The path and a message for each label, group or column name YAML read as a bool or number."""
    for path, text in spans.typed.items():
        field = _names_something(path)
        if field is None:
            continue
        try:
            value = _value_at(data, path)
        except (KeyError, IndexError, TypeError):  # pragma: no cover - spans follow the data
            continue
        if text == canonical(value):
            continue
        key = path[-1] if isinstance(path[-1], str) else None
        written = f"{key}: " if key is not None else ""
        message = (
            f"{text} is read by YAML as {yaml_reading(value)}, not the text {text!r}; "
            f'if you mean the text, quote it: {written}"{text}"'
        )
        yield path, message


def not_found_hint(value: object) -> str:
    """For a policy value missing from the data: how YAML may have turned the user's text into it.

    Only booleans: an unquoted ``on`` or ``off`` does not match "on"/"off" in the data, while
    numbers match numerically. Run-time messages only see the value; the exact source text is in
    the warning that ``rulecheck validate`` and ``rulecheck check`` print for the same field.
    """
    if isinstance(value, bool):
        words = "yes, on or true" if value else "no, off or false"
        return (
            f"; the policy gives {yaml_reading(value)}, which is what YAML makes of an unquoted "
            f"{words}: if the data holds that text, quote it in the policy"
        )
    # Numbers need no hint: they match numerically ("01" and "1.0" in the data match 1).
    return ""
