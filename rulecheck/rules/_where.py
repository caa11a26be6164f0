"""``where:``, the declarative row filter of a target or a rule.

A mapping from column to what its value must be, every entry required (AND)::

    where:
      age: {gte: 25, lt: 65}         # numeric bounds: gt, gte, lt, lte
      sex: Female                    # one value
      race: [White, Black]           # any of these values
      native_country: {not: United-States}   # not: a value, a list or bounds
      hours_per_week: {not: {gt: 60}}

Values match as labels do (``1``, ``1.0`` and ``"1"`` are the same value; ``true``/``"yes"`` a
bool). Missing values match no condition. There are no expressions: a policy is data.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from rulecheck._measures import Condition

__all__ = [
    "WHERE_DESCRIPTION",
    "WHERE_TAGS",
    "Where",
    "WhereBounds",
    "WhereOps",
    "where_conditions",
]

WhereScalar = str | int | float | bool
_BOUNDS = ("gt", "gte", "lt", "lte")
# Tags of the where unions: chosen by the YAML node's shape (so a mistake in a mapping reports
# one error, not one per union member), and dropped from error locations by the policy loader.
WHERE_TAGS = frozenset({"where-value", "where-values", "where-ops"})


def _shape(value: object) -> str:
    if isinstance(value, dict | BaseModel):
        return "where-ops"
    return "where-values" if isinstance(value, list) else "where-value"


_Values = Annotated[list[WhereScalar], Field(min_length=1)]


class WhereBounds(BaseModel):
    """Numeric bounds on a column (all given ones must hold)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, allow_inf_nan=False)

    gt: float | None = Field(default=None, description="Keep rows whose value is > this.")
    gte: float | None = Field(default=None, description="Keep rows whose value is >= this.")
    lt: float | None = Field(default=None, description="Keep rows whose value is < this.")
    lte: float | None = Field(default=None, description="Keep rows whose value is <= this.")

    def has_bounds(self) -> bool:
        return any(getattr(self, b) is not None for b in _BOUNDS)

    @model_validator(mode="after")
    def _needs_a_key(self) -> WhereBounds:
        if not self.has_bounds() and not isinstance(self, WhereOps):
            raise PydanticCustomError("empty_condition", "give at least one of gt, gte, lt, lte")
        return self


class WhereOps(WhereBounds):
    """Bounds and/or a negated condition on a column."""

    not_: (
        Annotated[
            Annotated[WhereScalar, Tag("where-value")]
            | Annotated[_Values, Tag("where-values")]
            | Annotated[WhereBounds, Tag("where-ops")],
            Discriminator(_shape),
        ]
        | None
    ) = Field(
        default=None,
        alias="not",
        description="Keep rows that do NOT match this value, list of values or bounds.",
    )

    @model_validator(mode="after")
    def _needs_an_op(self) -> WhereOps:
        if not self.has_bounds() and self.not_ is None:
            raise PydanticCustomError(
                "empty_condition", "give at least one of gt, gte, lt, lte, not"
            )
        return self


WhereValue = Annotated[
    Annotated[WhereScalar, Tag("where-value")]
    | Annotated[_Values, Tag("where-values")]
    | Annotated[WhereOps, Tag("where-ops")],
    Discriminator(_shape),
]
Where = Annotated[dict[str, WhereValue], Field(min_length=1)]
WHERE_DESCRIPTION = (
    "Only the rows that match: {column: value | [values] | {gt/gte/lt/lte: number} | "
    "{not: ...}}; every entry must hold. The verdict states the slice and its row count."
)


def _bounds(column: str, bounds: WhereBounds, negate: bool) -> Condition:
    return Condition(
        column, gt=bounds.gt, gte=bounds.gte, lt=bounds.lt, lte=bounds.lte, negate=negate
    )


def _terms(column: str, value: object, negate: bool) -> list[Condition]:
    if isinstance(value, WhereOps):
        terms = [_bounds(column, value, negate)] if value.has_bounds() else []
        if value.not_ is not None:
            terms.extend(_terms(column, value.not_, not negate))
        return terms
    if isinstance(value, WhereBounds):
        return [_bounds(column, value, negate)]
    values = tuple(value) if isinstance(value, list) else (value,)
    return [Condition(column, values=values, negate=negate)]


def where_conditions(where: dict[str, WhereValue] | None) -> tuple[Condition, ...]:
    """The filter as a conjunction of :class:`Condition` terms (empty: every row)."""
    if not where:
        return ()
    return tuple(term for column, value in where.items() for term in _terms(column, value, False))
