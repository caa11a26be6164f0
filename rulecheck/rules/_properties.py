"""What the property rules share: the search settings, group options, and the measurement of a
:class:`~rulecheck._measures.PropertyResult` against a bound on its violation rate.

A property rule changes the model's inputs (a protected attribute, a feature's value, noise)
and compares the model's outputs before and after, over every audited row (one batched model
call per change) and, with ``search``, over rows a hypothesis search generates within the
data's observed schema, shrunk to a minimal counterexample.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from rulecheck._measures import Counterexample, PropertySpec
from rulecheck.rules._base import EvalContext, Measurement, MissingMode, at_most, fmt
from rulecheck.rules._groups import group_label
from rulecheck.verdict import Check, Example, GroupValue, Scalar

__all__ = ["PropertyOptions", "SearchSettings", "measure_property"]

Label = str | int | float | bool


class SearchSettings(BaseModel):
    """The hypothesis search for a counterexample: how many rows to try, with which seed."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    examples: int = Field(
        default=500,
        ge=0,
        le=100_000,
        description="Rows the search generates within the data's observed schema (0: no search).",
    )
    seed: int = Field(
        default=0, ge=0, description="Seed of the search: the same seed, the same rows."
    )


class PropertyOptions(BaseModel):
    """Fields of every property rule (mixed into the rule models)."""

    model_config = ConfigDict(defer_build=True, allow_inf_nan=False)

    search: SearchSettings = Field(
        default_factory=SearchSettings,
        description="Hypothesis search for a minimal counterexample: {examples: 500, seed: 0}; examples: 0 turns it off.",
    )
    by: str | list[str] | None = Field(
        default=None,
        min_length=1,
        description="Also compute the violation rate per group of this column (or columns); every group must pass.",
    )
    missing: MissingMode = Field(
        default="error",
        description="Rows whose by column is missing: error, group (a group named '(missing)') or drop.",
    )

    @property
    def by_columns(self) -> tuple[str, ...]:
        if self.by is None:
            return ()
        return (self.by,) if isinstance(self.by, str) else tuple(self.by)

    def group_selection(self) -> tuple[tuple[str, ...], MissingMode]:
        return self.by_columns, self.missing


def example(found: Counterexample, source: str, seed: int | None = None) -> Example:
    return Example(
        row=found.row,
        changed=found.changed,
        before=found.before,
        after=found.after,
        source="search" if source == "search" else "data",
        row_index=found.row_index,
        seed=seed,
    )


def measure_property(
    options: PropertyOptions,
    ctx: EvalContext,
    spec: PropertySpec,
    *,
    rate_bound: str,
    max_rate: float | None,
    what: str,
    largest_bound: str | None = None,
    max_largest: float | None = None,
    largest_what: str = "",
) -> Measurement:
    """Check a property's violation rate (overall, and per group with ``by``) and, optionally,
    its largest breach. A zero rate bound that every audited row meets is still broken by a
    search counterexample: a row within the data's schema where the property breaks."""
    by = options.by_columns
    result = ctx.property_result(spec, by)
    checks: list[Check] = []
    groups: list[GroupValue] = []
    if max_rate is not None:
        checks.append(at_most(rate_bound, result.rate, max_rate, f"{what} ({result.rows} rows)"))
    for key, n, rate in result.group_rates:
        groups.append(
            GroupValue(group=tuple(zip(by, key, strict=True)), n=n, value=rate, metric=what)
        )
        if max_rate is not None:
            label = group_label(by, key)
            checks.append(at_most(rate_bound, rate, max_rate, f"{what} in {label} ({n} rows)"))
    largest = result.largest
    if result.found is not None:
        largest = max(largest, abs(result.found.change))
    if largest_bound is not None and max_largest is not None:
        where = " (audited and searched rows)" if result.examples else ""
        checks.append(at_most(largest_bound, largest, max_largest, f"{largest_what}{where}"))
    searched = result.examples > 0
    if searched and max_rate == 0 and result.found is not None and result.violations == 0:
        # No audited row breaks the property, but a row within the data's schema does.
        checks.append(
            at_most(
                rate_bound,
                1.0,
                0.0,
                f"counterexamples found by the search (within {result.examples} generated rows)",
            )
        )
    examples = [example(c, "data") for c in result.worst]
    notes: list[str] = []
    if result.worst:
        notes.append(f"Worst audited row: {examples[0].describe()}.")
    if searched:
        if result.found is None:
            notes.append(
                f"The search found no counterexample in {result.examples} generated rows "
                f"(seed {result.seed})."
            )
        else:
            found = example(result.found, "search", result.seed)
            examples.insert(0, found)
            notes.append(
                f"Search counterexample (shrunk, seed {result.seed}): {found.describe()}; row "
                + ", ".join(f"{k}={v}" for k, v in found.row)
                + "."
            )
    info: tuple[tuple[str, Scalar], ...] = (
        ("rows", result.rows),
        ("violations", result.violations),
        ("predictions", result.predictions),
        ("search_examples", result.examples),
        ("search_seed", result.seed),
    )
    context = f"{result.violations} of {result.rows} rows; largest change {fmt(result.largest)}"
    primary = checks[0] if checks else None
    return Measurement(
        checks=tuple(checks),
        primary=result.rate if primary is None else primary.value,
        subject=what if primary is None else primary.subject,
        context=context,
        groups=tuple(groups),
        notes=tuple(notes),
        info=info,
        examples=tuple(examples),
    )


def mapping(pairs: dict[Label, Label]) -> tuple[tuple[Scalar, Scalar], ...]:
    return tuple(pairs.items())
