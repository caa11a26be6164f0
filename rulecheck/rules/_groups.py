"""Group options shared by every rule with ``by``, and the comparison of groups against bounds.

Every grouped rule takes ``by``, ``groups``, ``min_group_size`` and, where it compares,
``reference_group`` / ``relative_to``. The comparison here is the single implementation of
difference and ratio semantics, so that all grouped rules agree:

- between groups (default): difference = highest - lowest; ``min_ratio`` applies to
  lowest / highest and ``max_ratio`` to highest / lowest (fairlearn's ``between_groups``);
- against ``reference_group``: difference = largest |group - reference|, ratios = group / reference
  (worst over groups, the reference itself excluded);
- ``relative_to: overall``: difference = largest |group - overall| (fairlearn's ``to_overall``),
  ratios = group / overall value.

Groups smaller than ``min_group_size`` and groups whose value is undefined are reported but take
no part in comparisons; the verdict says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from rulecheck._intervals import Estimator, GroupStatistic
from rulecheck._measures import GroupKey, GroupTable, same_value
from rulecheck._traps import not_found_hint
from rulecheck.errors import InputError
from rulecheck.rules._base import EvalContext, Measurement, MissingMode, at_least, at_most, fmt
from rulecheck.verdict import Check, GroupValue

__all__ = [
    "Bounds",
    "GroupOptions",
    "GroupSelector",
    "check_selector",
    "compare_groups",
    "group_label",
    "measure_metrics",
    "resolve_key",
    "shorthand_bounds",
]

GroupLabel = str | int | float | bool
GroupSelector = GroupLabel | dict[str, GroupLabel]


class GroupOptions(BaseModel):
    """Fields of every grouped rule (mixed into the rule models; carries no behaviour of its own)."""

    model_config = ConfigDict(defer_build=True, allow_inf_nan=False)

    by: str | list[str] = Field(
        min_length=1,
        description="Column (or list of columns, for intersectional groups) that defines the groups.",
    )
    groups: list[GroupSelector] | None = Field(
        default=None,
        min_length=1,
        description="Optional subset of groups to compare. With several ``by`` columns, each is a mapping.",
    )
    min_group_size: int = Field(
        default=30,
        ge=1,
        description="Groups with fewer rows are reported but excluded from comparisons.",
    )
    relative_to: Literal["groups", "overall"] = Field(
        default="groups",
        description="``groups``: compare groups with each other; ``overall``: with the value on all rows.",
    )
    reference_group: GroupSelector | None = Field(
        default=None,
        description="Compare every group with this one. With several ``by`` columns, a mapping.",
    )
    missing: MissingMode = Field(
        default="error",
        description="Rows whose group column is missing: error (the rule errors), group (a group named '(missing)') or drop (left out; the verdict says how many).",
    )
    min_group_weight: float | None = Field(
        default=None,
        gt=0,
        description="With target.sample_weight: groups whose total weight is below this are reported but excluded from comparisons.",
    )
    min_support: int = Field(
        default=0,
        ge=0,
        description="Groups with fewer cases in the metric's own denominator (positives for a true positive rate, negatives for a false positive rate, predicted positives for precision, rows otherwise) are reported but excluded from comparisons; 0 (default) turns it off. 30 is a sensible floor when judging with intervals.",
    )

    # Groups a group waiver leaves out of the comparison when the rule is judged again to see
    # whether the waiver covers its failure (set by evaluation on a copy of the rule; never
    # from the policy).
    _left_out: tuple[GroupSelector, ...] = PrivateAttr(default=())

    @field_validator("by")
    @classmethod
    def _unique_columns(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and len(set(value)) != len(value):
            raise PydanticCustomError("duplicate_column", "by lists a column more than once")
        return value

    @field_validator("groups")
    @classmethod
    def _groups_match_by(
        cls, value: list[GroupSelector] | None, info: ValidationInfo
    ) -> list[GroupSelector] | None:
        if value is not None:
            for item in value:
                check_selector(item, info.data.get("by"), "groups")
        return value

    @field_validator("reference_group")
    @classmethod
    def _reference_matches_by(
        cls, value: GroupSelector | None, info: ValidationInfo
    ) -> GroupSelector | None:
        if value is not None:
            check_selector(value, info.data.get("by"), "reference_group")
            if info.data.get("relative_to", "groups") == "overall":
                raise PydanticCustomError(
                    "conflicting_options", "give either reference_group or relative_to: overall"
                )
        return value

    @property
    def by_columns(self) -> tuple[str, ...]:
        return (self.by,) if isinstance(self.by, str) else tuple(self.by)

    def group_selection(self) -> tuple[tuple[str, ...], MissingMode]:
        return self.by_columns, self.missing


def check_selector(item: GroupSelector, by: Any, field: str) -> None:
    if by is None:  # `by` itself is invalid and already reported
        return
    columns = [by] if isinstance(by, str) else list(by)
    if isinstance(item, dict):
        if set(item) != set(columns):
            raise PydanticCustomError(
                "group_keys",
                "{field} entry must name exactly the by columns {columns}, got {got}",
                {"field": field, "columns": columns, "got": sorted(item)},
            )
    elif len(columns) > 1:
        raise PydanticCustomError(
            "group_mapping_required",
            "with several by columns, {field} must be a mapping such as {example}",
            {"field": field, "example": "{" + ", ".join(f"{c}: ..." for c in columns) + "}"},
        )


@dataclass(frozen=True, slots=True)
class Bounds:
    """The bounds a grouped comparison can apply; None means not set.

    Bounds named in ``unchecked`` are measured, as the rule's value that baseline change bounds
    compare, but not checked (their limit is ignored): ``disparate_impact`` with only
    ``max_decrease`` measures the ratio and checks just its change.
    """

    max_difference: float | None = None
    min_ratio: float | None = None
    max_ratio: float | None = None
    min: float | None = None
    max: float | None = None
    unchecked: frozenset[str] = frozenset()

    def any(self) -> bool:
        return any(
            v is not None
            for v in (self.max_difference, self.min_ratio, self.max_ratio, self.min, self.max)
        )


def shorthand_bounds(
    max_difference: float | None, min_ratio: float | None, has_change_bounds: bool, default: float
) -> Bounds:
    """Bounds of a shorthand kind: as given, or ``max_difference: default`` when none is given
    (a rule with only baseline change bounds checks just the change)."""
    if max_difference is None and min_ratio is None and not has_change_bounds:
        return Bounds(max_difference=default)
    return Bounds(max_difference=max_difference, min_ratio=min_ratio)


def group_label(by: Sequence[str], key: GroupKey) -> str:
    return ", ".join(f"{column}={value}" for column, value in zip(by, key, strict=True))


def resolve_key(
    by: Sequence[str], keys: Sequence[GroupKey], selector: GroupSelector, what: str
) -> int:
    """Index of the group named by ``selector`` among ``keys``; InputError if absent."""
    wanted: tuple[GroupLabel, ...]
    wanted = tuple(selector[column] for column in by) if isinstance(selector, dict) else (selector,)
    for index, key in enumerate(keys):
        if all(same_value(v, w) for v, w in zip(key, wanted, strict=True)):
            return index
    present = "; ".join(group_label(by, k) for k in keys[:20])
    more = f" and {len(keys) - 20} more" if len(keys) > 20 else ""
    named = group_label(by, wanted)
    hint = "".join(dict.fromkeys(not_found_hint(value) for value in wanted))
    raise InputError(
        f"{what} {named} does not occur in the data; groups present: {present}{more}{hint}"
    )


def compare_groups(table: GroupTable, options: GroupOptions, bounds: Bounds) -> Measurement:
    """Apply ``bounds`` to the groups of ``table`` as configured by ``options``.

    Without any bound (a rule with baseline change bounds only), the difference is measured as
    the rule's value, with no check of its own; a bound in ``bounds.unchecked`` is measured the
    same way. Groups a waiver leaves out (``options._left_out``) are reported, marked excluded,
    and not compared (InputError if such a group does not occur, or is the reference group).
    """
    if not bounds.any():
        bounds = replace(bounds, max_difference=math.inf, unchecked=frozenset({"max_difference"}))
    indices = list(range(len(table.keys)))
    if options.groups is not None:
        indices = [
            resolve_key(table.by, table.keys, selector, "group") for selector in options.groups
        ]
    ref_index: int | None = None
    if options.reference_group is not None:
        ref_index = resolve_key(table.by, table.keys, options.reference_group, "reference_group")
        if ref_index not in indices:
            indices.append(ref_index)
    left_out = {
        resolve_key(table.by, table.keys, selector, "waived group")
        for selector in options._left_out
    }
    if ref_index is not None and ref_index in left_out:
        raise InputError(
            f"waived group {group_label(table.by, table.keys[ref_index])} is the reference_group: "
            "a waiver cannot leave the reference out of the comparison"
        )

    metric = table.metric
    groups: list[GroupValue] = []
    eligible: list[tuple[int, float]] = []
    small: list[str] = []
    unsupported: list[str] = []
    undefined: list[str] = []
    waived: list[str] = []
    light = _light_groups(table, options)
    support = table.support
    for i in indices:
        value = table.values[i]
        label = group_label(table.by, table.keys[i])
        too_few = support is not None and support[i] < options.min_support
        excluded = table.n[i] < options.min_group_size or i in light or too_few or i in left_out
        groups.append(
            GroupValue(
                group=tuple(zip(table.by, table.keys[i], strict=True)),
                n=table.n[i],
                value=value,
                undefined=value is None,
                excluded=excluded,
                metric=metric,
                weight=None if table.weights is None else table.weights[i],
                support=None if support is None else support[i],
            )
        )
        if i in left_out:
            waived.append(label)
        elif table.n[i] < options.min_group_size or i in light:
            weight = "" if table.weights is None else f", weight {fmt(table.weights[i])}"
            small.append(f"{label} (n={table.n[i]}{weight})")
        elif too_few and support is not None:
            unsupported.append(f"{label} ({support[i]} {table.unit})")
        elif value is None:
            undefined.append(label)
        else:
            eligible.append((i, value))

    notes: list[str] = []
    if small:
        limit = f"min_group_size {options.min_group_size}"
        if options.min_group_weight is not None and table.weights is not None:
            limit += f" or min_group_weight {fmt(options.min_group_weight)}"
        notes.append(f"Excluded as smaller than {limit}: {', '.join(small)}.")
    if unsupported:
        notes.append(
            f"Excluded with fewer than min_support {options.min_support} {table.unit} "
            f"(the {metric} denominator): {', '.join(unsupported)}."
        )
    if undefined:
        notes.append(f"{metric} is undefined (zero denominator) for: {', '.join(undefined)}.")
    if waived:
        notes.append(f"Left out of the comparison by a waiver: {', '.join(waived)}.")

    label_of = {i: group_label(table.by, table.keys[i]) for i in indices}
    checks: list[Judgeable] = []
    context = ""
    if ref_index is not None:
        ref_label = label_of[ref_index]
        if table.n[ref_index] < options.min_group_size:
            raise InputError(
                f"reference_group {ref_label} has {table.n[ref_index]} rows, fewer than "
                f"min_group_size {options.min_group_size}"
            )
        if ref_index in light and table.weights is not None:
            raise InputError(
                f"reference_group {ref_label} has total weight {fmt(table.weights[ref_index])}, "
                f"less than min_group_weight {fmt(options.min_group_weight)}"
            )
        if support is not None and support[ref_index] < options.min_support:
            raise InputError(
                f"reference_group {ref_label} has {support[ref_index]} {table.unit}, fewer than "
                f"min_support {options.min_support}"
            )
        ref_value = table.values[ref_index]
        if ref_value is None:
            raise InputError(
                f"{metric} is undefined for reference_group {ref_label} (zero denominator)"
            )
        others = [(i, v) for i, v in eligible if i != ref_index]
        _need(others, 1, options, metric, " besides the reference group", groups)
        checks, context = _against(
            metric,
            others,
            ref_value,
            f"reference {ref_label}",
            label_of,
            bounds,
            ref_index=ref_index,
        )
    elif options.relative_to == "overall":
        if table.overall is None:
            raise InputError(f"{metric} is undefined on all rows (zero denominator)")
        _need(eligible, 1, options, metric, "", groups)
        checks, context = _against(
            metric, eligible, table.overall, "overall", label_of, bounds, ref_index=None
        )
    else:
        comparing = (
            bounds.max_difference is not None
            or bounds.min_ratio is not None
            or bounds.max_ratio is not None
        )
        _need(eligible, 2 if comparing else 1, options, metric, "", groups)
        checks, context = _between(metric, eligible, label_of, bounds)

    checks.extend(_absolute(metric, eligible, label_of, bounds))
    checks = [(_with_cases(check, stat, table), stat) for check, stat in checks]
    if bounds.min_ratio is not None or bounds.max_ratio is not None:
        groups = _with_ratios(groups, indices, eligible, table, ref_index, options)
    # The rule's value is the unchecked quantity where there is one, else the first bound's.
    first = next((c for c in checks if c[0].bound in bounds.unchecked), checks[0])
    kept = [c for c in checks if c[0].bound not in bounds.unchecked]
    return Measurement(
        checks=tuple(check for check, _ in kept),
        primary=first[0].value,
        subject=first[0].subject,
        context=context,
        groups=tuple(groups),
        notes=tuple(notes),
        estimators=tuple(_estimator(table, stat) for _, stat in kept),
        primary_estimator=_estimator(table, first[1]),
        group_estimators=tuple(
            _estimator(table, GroupStatistic("value", (i,), deciding=(i,))) for i in indices
        ),
    )


def _with_ratios(
    groups: list[GroupValue],
    indices: Sequence[int],
    eligible: Sequence[tuple[int, float]],
    table: GroupTable,
    ref_index: int | None,
    options: GroupOptions,
) -> list[GroupValue]:
    """Each compared group's ratio to what the ratio bounds compare with: the reference group,
    the overall value, or the highest compared group (an impact ratio). Excluded and undefined
    groups get none; nor does any group when that value is 0 (the bound raised already)."""
    if ref_index is not None:
        denominator = table.values[ref_index]
    elif options.relative_to == "overall":
        denominator = table.overall
    else:
        denominator = max(value for _, value in eligible)
    if not denominator:
        return groups
    compared = {i for i, _ in eligible} | ({ref_index} if ref_index is not None else set())
    return [
        replace(group, ratio=group.value / denominator)
        if i in compared and group.value is not None
        else group
        for i, group in zip(indices, groups, strict=True)
    ]


# A check and the formula of its value over the groups (for joint resampling).
Judgeable = tuple[Check, GroupStatistic]


def _estimator(table: GroupTable, statistic: GroupStatistic) -> Estimator | None:
    sampler = table.sampler
    if sampler is None:
        return None
    return lambda settings: sampler.estimate(statistic, settings)


def _with_cases(check: Check, statistic: GroupStatistic, table: GroupTable) -> Check:
    """The check with the number of cases that decided it: the support of the deciding
    groups (the reference group included)."""
    if table.support is None:
        return check
    deciding = set(statistic.deciding)
    if statistic.reference is not None:
        deciding.add(statistic.reference)
    n = sum(table.support[i] for i in deciding)
    return replace(check, n=n, unit=table.unit)


def _light_groups(table: GroupTable, options: GroupOptions) -> set[int]:
    """Groups whose total sample weight is below ``min_group_weight`` (none without weights)."""
    if options.min_group_weight is None or table.weights is None:
        return set()
    return {i for i, w in enumerate(table.weights) if w < options.min_group_weight}


def _need(
    eligible: Sequence[tuple[int, float]],
    count: int,
    options: GroupOptions,
    metric: str,
    extra: str,
    groups: Sequence[GroupValue],
) -> None:
    if len(eligible) < count:
        columns = ", ".join(options.by_columns)
        sizes = ", ".join(
            f"{g.label()} n={g.n}" + (" (undefined)" if g.undefined else "") for g in groups[:12]
        )
        more = f" and {len(groups) - 12} more" if len(groups) > 12 else ""
        plural = "s" if count > 1 else ""
        raise InputError(
            f"needs at least {count} group{plural} of {columns}{extra} with at least "
            f"{options.min_group_size} rows and a defined {metric}; found {len(eligible)} "
            f"({sizes}{more})"
        )


def _between(
    metric: str, eligible: Sequence[tuple[int, float]], label_of: dict[int, str], bounds: Bounds
) -> tuple[list[Judgeable], str]:
    if not (
        bounds.max_difference is not None
        or bounds.min_ratio is not None
        or bounds.max_ratio is not None
    ):
        return [], ""
    hi_i, hi = max(eligible, key=lambda item: item[1])
    lo_i, lo = min(eligible, key=lambda item: item[1])
    if hi == lo:
        context = f"every compared group {fmt(hi)}"
    else:
        context = f"highest {label_of[hi_i]} {fmt(hi)}, lowest {label_of[lo_i]} {fmt(lo)}"
    compared = tuple(i for i, _ in eligible)
    checks: list[Judgeable] = []
    if bounds.max_difference is not None:
        check = at_most(
            "max_difference",
            hi - lo,
            bounds.max_difference,
            f"{metric} difference between groups",
            metric=metric,
        )
        checks.append((check, GroupStatistic("range", compared, deciding=(hi_i, lo_i))))
    if bounds.min_ratio is not None:
        if hi == 0:
            raise InputError(f"{metric} ratio is undefined: every compared group has {metric} 0")
        check = at_least(
            "min_ratio", lo / hi, bounds.min_ratio, f"{metric} ratio lowest/highest group", metric
        )
        checks.append((check, GroupStatistic("min_over_max", compared, deciding=(lo_i, hi_i))))
    if bounds.max_ratio is not None:
        if lo == 0:
            raise InputError(
                f"{metric} ratio highest/lowest is undefined: {label_of[lo_i]} has {metric} 0"
            )
        check = at_most(
            "max_ratio", hi / lo, bounds.max_ratio, f"{metric} ratio highest/lowest group", metric
        )
        checks.append((check, GroupStatistic("max_over_min", compared, deciding=(hi_i, lo_i))))
    return checks, context


def _against(
    metric: str,
    eligible: Sequence[tuple[int, float]],
    reference: float,
    ref_label: str,
    label_of: dict[int, str],
    bounds: Bounds,
    *,
    ref_index: int | None,
) -> tuple[list[Judgeable], str]:
    """Bounds on each group against a reference (a group or the overall value).

    The subjects say "ratio to reference" and the context names each group once, with its value,
    then the reference: "race=African-American 0.5882 vs reference race=Caucasian 0.348".
    """
    ref_is_overall = ref_index is None
    compared = tuple(i for i, _ in eligible)
    checks: list[Judgeable] = []
    ref_word = "overall" if ref_is_overall else "reference"
    single = len(eligible) == 1  # then lowest = highest: no need to say which
    named: dict[int, list[str]] = {}  # group index -> its roles (lowest, highest), in order
    if bounds.max_difference is not None:
        far_i, far = max(eligible, key=lambda item: abs(item[1] - reference))
        check = at_most(
            "max_difference",
            abs(far - reference),
            bounds.max_difference,
            f"{metric} largest difference from {ref_word}",
            metric=metric,
        )
        stat = GroupStatistic("max_abs_from", compared, ref_index, deciding=(far_i,))
        checks.append((check, stat))
        named.setdefault(far_i, [])
    if bounds.min_ratio is not None or bounds.max_ratio is not None:
        if reference == 0:
            what = "the overall value" if ref_is_overall else ref_label
            raise InputError(f"{metric} ratios are undefined: {what} has {metric} 0")
        if bounds.min_ratio is not None:
            low_i, low = min(eligible, key=lambda item: item[1])
            check = at_least(
                "min_ratio",
                low / reference,
                bounds.min_ratio,
                f"{metric} {'' if single else 'lowest '}ratio to {ref_word}",
                metric=metric,
            )
            stat = GroupStatistic("min_ratio_to", compared, ref_index, deciding=(low_i,))
            checks.append((check, stat))
            named.setdefault(low_i, []).append("lowest")
        if bounds.max_ratio is not None:
            high_i, high = max(eligible, key=lambda item: item[1])
            check = at_most(
                "max_ratio",
                high / reference,
                bounds.max_ratio,
                f"{metric} {'' if single else 'highest '}ratio to {ref_word}",
                metric=metric,
            )
            stat = GroupStatistic("max_ratio_to", compared, ref_index, deciding=(high_i,))
            checks.append((check, stat))
            named.setdefault(high_i, []).append("highest")
    values = dict(eligible)
    shown = [
        ("" if len(named) == 1 else " and ".join(roles or ["farthest"]) + " ")
        + f"{label_of[i]} {fmt(values[i])}"
        for i, roles in named.items()
    ]
    reference_shown = (
        f"overall {fmt(reference)}" if ref_is_overall else f"{ref_label} {fmt(reference)}"
    )
    return checks, f"{', '.join(shown)} vs {reference_shown}"


def _absolute(
    metric: str, eligible: Sequence[tuple[int, float]], label_of: dict[int, str], bounds: Bounds
) -> list[Judgeable]:
    compared = tuple(i for i, _ in eligible)
    checks: list[Judgeable] = []
    if bounds.min is not None:
        low_i, low = min(eligible, key=lambda item: item[1])
        check = at_least(
            "min", low, bounds.min, f"lowest group {metric} ({label_of[low_i]})", metric
        )
        checks.append((check, GroupStatistic("min", compared, deciding=(low_i,))))
    if bounds.max is not None:
        high_i, high = max(eligible, key=lambda item: item[1])
        check = at_most(
            "max", high, bounds.max, f"highest group {metric} ({label_of[high_i]})", metric
        )
        checks.append((check, GroupStatistic("max", compared, deciding=(high_i,))))
    return checks


def measure_metrics(
    ctx: EvalContext, options: GroupOptions, metrics: Sequence[str], bounds: Bounds
) -> Measurement:
    """Compare groups on one or several metrics; with several, every bound applies to each."""
    parts = [
        compare_groups(ctx.group_metric(m, options.by_columns), options, bounds) for m in metrics
    ]
    if len(parts) == 1:
        return parts[0]
    checks = tuple(c for part in parts for c in part.checks)
    worst = max(parts, key=lambda part: -math.inf if part.primary is None else part.primary)
    estimators = tuple(
        e
        for part in parts
        for e in (*part.estimators, *([None] * (len(part.checks) - len(part.estimators))))
    )
    return Measurement(
        checks=checks,
        primary=worst.primary,
        subject="worst of " + " and ".join(part.subject for part in parts),
        context="; ".join(
            f"{m}: {part.context}" for m, part in zip(metrics, parts, strict=True) if part.context
        ),
        groups=tuple(g for part in parts for g in part.groups),
        notes=tuple(dict.fromkeys(n for part in parts for n in part.notes)),
        estimators=estimators,
        primary_estimator=worst.primary_estimator,
        group_estimators=tuple(e for part in parts for e in part.group_estimators),
    )
