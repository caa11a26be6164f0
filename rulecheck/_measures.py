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


@dataclass(frozen=True, slots=True)
class AttributionTable:
    """Mean |contribution| per input feature, overall and per group, from one explanation.

    ``features`` are the model's raw input columns; ``mean_abs[j]`` is feature j's mean absolute
    contribution over the explained rows. With groups, ``group_mean_abs[g][j]`` is the same over
    the explained rows of group g (``group_n[g]`` of them). The provenance fields say which
    explainer ran, on which output, on how many rows, with which seed.
    """

    features: tuple[str, ...]
    mean_abs: tuple[float, ...]
    explainer: str
    output: str
    rows: int
    seed: int
    background_rows: int | None
    by: tuple[str, ...] = ()
    group_keys: tuple[GroupKey, ...] = ()
    group_n: tuple[int, ...] = ()
    group_mean_abs: tuple[tuple[float, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class ProxyScore:
    """How strongly one input feature is associated with a protected attribute."""

    feature: str
    score: float
    measure: str
