"""Value objects that engines produce and rules consume.

They sit in the base layer so that rules and engines can share them without importing each other.
All are frozen; sequences are tuples in group order (groups sorted by their key).
"""

from __future__ import annotations

from dataclasses import dataclass

from rulecheck.verdict import Scalar

__all__ = ["GroupKey", "GroupTable"]

GroupKey = tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class GroupTable:
    """A metric per group, from one vectorized pass over the data.

    ``keys[i]`` holds the values of the ``by`` columns for group ``i``; ``values[i]`` is None when
    the metric is undefined for that group (zero denominator). ``overall`` is the metric on all
    rows. Only groups with at least one row appear.
    """

    metric: str
    by: tuple[str, ...]
    keys: tuple[GroupKey, ...]
    n: tuple[int, ...]
    values: tuple[float | None, ...]
    overall: float | None
    overall_n: int
