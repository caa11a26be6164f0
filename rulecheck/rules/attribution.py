"""attribution: bounds on a feature's share of the model's total mean |SHAP| attribution.

**What it checks**
Explains the model with SHAP (exact TreeSHAP for tree models, exact linear SHAP for linear
models, a seeded model-agnostic explainer otherwise; see the policy's ``attribution`` block),
attributes every contribution to the user's raw input columns (one-hot columns of a pipeline are
summed back to their source column), and computes each input's **share**: its mean absolute
contribution divided by the sum over all inputs. ``features`` lists names, globs (``"zip_*"``)
or named ``feature_groups`` of the policy. Bounds, each applied to every listed feature
separately, or to their summed share with ``combined: true``:

- ``max_share``: the share must not exceed this (e.g. 0.05 for protected attributes);
- ``min_share``: the share must be at least this (a documented risk driver must matter);
- ``max_mean_abs``: the mean |contribution| in the model output's units;
- ``max_rank``: the feature must **not** be among the ``max_rank`` most important inputs
  (rank 1 = largest share; passes when its rank is greater than ``max_rank``, so unlike the
  other bounds it is strict: ``max_rank: 3`` fails for ranks 1, 2 and 3).

With ``by``, shares are computed within each group and every group (with at least
``min_group_size`` explained rows) must pass. A listed column that the data has but the model
does not read has share 0. The verdict lists the top features with their shares, and says which
explainer ran, on which output, on how many rows and with which seed.

Limits: SHAP attributions are not causal. Correlated features share credit, so a protected
attribute's influence can hide in its proxies (pair this rule with ``proxy``). TreeSHAP's
path-dependent attributions and interventional ones differ for correlated inputs. Choose
thresholds from the distribution of shares of harmless features: with 20 inputs, an average input
holds 5%.

**Why it matters**
A fairness metric says who is hurt; attribution says what drives the decision. Many
organizations forbid protected attributes from driving a model, and regulators ask which factors
a decision relied on. No peer tool can gate a deployment on that.

**Example**
Passing (on the Adult example, sex and race hold 3.6% and 0.8% of the attribution):

```yaml
- id: no-protected-attribution
  kind: attribution
  features: [sex, race]
  max_share: 0.05
```

Failing on the German credit example, where ``personal_status_sex`` holds 6.2% (> 5%), or when
a required driver does not matter:

```yaml
- id: income-drives-credit
  kind: attribution
  features: [income]
  min_share: 0.10
```

**References**
- Lundberg & Lee (2017), "A Unified Approach to Interpreting Model Predictions" (SHAP).
- Lundberg et al. (2020), "From local explanations to global understanding with explainable AI
  for trees" (TreeSHAP).
- Janzing, Minorics, Blöbaum (2020), "Feature relevance quantification in explainable AI: A
  causal problem" (interventional vs observational attributions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from rulecheck._intervals import Estimator
from rulecheck._measures import AttributionTable
from rulecheck.errors import InputError
from rulecheck.rules._base import (
    EvalContext,
    Measurement,
    MissingMode,
    RuleBase,
    above,
    at_least,
    at_most,
    fmt,
)
from rulecheck.rules._groups import GroupSelector, check_selector, group_label, resolve_key
from rulecheck.rules._shares import (
    ranks,
    selected_share,
    share_estimator,
    shares,
    top_features,
)
from rulecheck.verdict import Check, GroupValue, Scalar

__all__ = ["Attribution"]


class Attribution(RuleBase):
    """A listed feature's share of the total mean |SHAP| attribution."""

    summary = "share of SHAP attribution of listed features: max_share, min_share, max_rank"

    kind: Literal["attribution"]
    features: list[str] = Field(
        min_length=1,
        description="Feature names, globs ('zip_*') or names of the policy's feature_groups.",
    )
    combined: bool = Field(
        default=False,
        description="Bound the summed share of the listed features instead of each one separately.",
    )
    max_share: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Largest allowed share of the total mean |SHAP| attribution.",
    )
    min_share: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Smallest required share (for features that must matter).",
    )
    max_mean_abs: float | None = Field(
        default=None,
        ge=0,
        description="Largest allowed mean |contribution|, in the units of the explained output.",
    )
    max_rank: int | None = Field(
        default=None,
        ge=1,
        description="The feature must not be among this many most important inputs (rank 1 = largest).",
    )
    by: str | list[str] | None = Field(
        default=None,
        min_length=1,
        description="Compute shares within each group of this column (or columns); every group must pass.",
    )
    groups: list[GroupSelector] | None = Field(
        default=None, min_length=1, description="Optional subset of groups (with by)."
    )
    min_group_size: int = Field(
        default=30,
        ge=1,
        description="Groups with fewer explained rows are reported but not checked.",
    )
    missing: MissingMode = Field(
        default="error",
        description="Rows whose by column is missing: error, group (a group named '(missing)') or drop (left out; the verdict says how many).",
    )
    top: int = Field(
        default=10,
        ge=1,
        le=100,
        description="How many of the most important features the verdict lists.",
    )
    max_rows: int | None = Field(
        default=None,
        ge=1,
        description="Explain at most this many rows for this rule (default: the policy's attribution.max_rows).",
    )

    @field_validator("groups")
    @classmethod
    def _groups_match_by(
        cls, value: list[GroupSelector] | None, info: ValidationInfo
    ) -> list[GroupSelector] | None:
        if value is not None:
            if info.data.get("by") is None and "by" in info.data:
                raise PydanticCustomError("groups_without_by", "groups needs by")
            for item in value:
                check_selector(item, info.data.get("by"), "groups")
        return value

    @model_validator(mode="after")
    def _needs_a_bound(self) -> Attribution:
        bounds = (self.max_share, self.min_share, self.max_mean_abs, self.max_rank)
        if all(b is None for b in bounds) and not self.has_change_bounds():
            raise PydanticCustomError(
                "missing_bound",
                "give at least one bound: max_share, min_share, max_mean_abs, max_rank, "
                "max_increase, max_decrease, max_relative_increase",
            )
        return self

    @property
    def by_columns(self) -> tuple[str, ...]:
        if self.by is None:
            return ()
        return (self.by,) if isinstance(self.by, str) else tuple(self.by)

    def group_selection(self) -> tuple[tuple[str, ...], MissingMode]:
        return self.by_columns, self.missing

    def measure(self, ctx: EvalContext) -> Measurement:
        table = ctx.attribution(self.by_columns, self.max_rows)
        selected = ctx.resolve_features(self.features)
        scopes: list[tuple[str, Sequence[float]]] = []
        scope_groups: list[int] = []  # the table's group index of each scope (with by)
        groups: list[GroupValue] = []
        notes: list[str] = list(table.notes)
        if self.by_columns:
            indices = list(range(len(table.group_keys)))
            if self.groups is not None:
                indices = [resolve_key(table.by, table.group_keys, s, "group") for s in self.groups]
            small = []
            for i in indices:
                label = group_label(table.by, table.group_keys[i])
                excluded = table.group_n[i] < self.min_group_size
                value = selected_share(
                    table.features, table.group_mean_abs[i], selected, self.combined
                )
                groups.append(
                    GroupValue(
                        group=tuple(zip(table.by, table.group_keys[i], strict=True)),
                        n=table.group_n[i],
                        value=value,
                        excluded=excluded,
                        metric="attribution share",
                    )
                )
                if excluded:
                    small.append(f"{label} (n={table.group_n[i]})")
                else:
                    scopes.append((f" in {label}", table.group_mean_abs[i]))
                    scope_groups.append(i)
            if small:
                notes.append(
                    f"Not checked, fewer than min_group_size {self.min_group_size} explained "
                    f"rows: {', '.join(small)}."
                )
            if not scopes:
                raise_no_groups(self.min_group_size, self.by_columns)
        else:
            scopes.append(("", table.mean_abs))
        absent = [f for f in selected if f not in table.features]
        if absent:
            notes.append(f"Not model inputs (share 0): {', '.join(absent)}.")
        checks = self._checks(table.features, scopes, selected)
        estimators = self._estimators(table, selected, scope_groups if self.by_columns else None)
        features = top_features(table.features, table.mean_abs, selected, self.top)
        context = "top: " + ", ".join(f"{f.feature} {fmt(f.value)}" for f in features[:3])
        info: tuple[tuple[str, Scalar], ...] = (
            ("explainer", table.explainer),
            ("output", table.output),
            ("rows", table.rows),
            ("seed", table.seed),
            ("background_rows", -1 if table.background_rows is None else table.background_rows),
        )
        return Measurement(
            checks=tuple(checks),
            primary=checks[0].value
            if checks
            else selected_share(table.features, table.mean_abs, selected, self.combined),
            subject=checks[0].subject if checks else f"attribution share of {', '.join(selected)}",
            context=context,
            groups=tuple(groups),
            features=features,
            notes=tuple(notes),
            info=info,
            estimators=tuple(estimators.get(c.bound) for c in checks),
            primary_estimator=estimators.get(checks[0].bound) if checks else None,
        )

    def _estimators(
        self, table: AttributionTable, selected: Sequence[str], groups: Sequence[int] | None
    ) -> dict[str, Estimator | None]:
        """Interval sources per bound: the worst share (or mean |contribution|) over the
        selected features and groups, resampled jointly; ranks have none."""
        combined = self.combined
        return {
            "max_share": share_estimator(table, selected, combined=combined, groups=groups),
            "min_share": share_estimator(
                table, selected, combined=combined, reduce="min", groups=groups
            ),
            "max_mean_abs": share_estimator(
                table, selected, combined=combined, kind="mean_abs", groups=groups
            ),
        }

    def _checks(
        self,
        names: Sequence[str],
        scopes: Sequence[tuple[str, Sequence[float]]],
        selected: Sequence[str],
    ) -> list[Check]:
        # Each bound becomes one check on its worst case over features (or their sum) and groups.
        items: list[tuple[str, float, float, int]] = []  # (what, share, mean_abs, rank)
        for where, mean_abs in scopes:
            share_of = shares(names, mean_abs)
            rank_of = ranks(names, mean_abs)
            magnitude = dict(zip(names, mean_abs, strict=True))
            if self.combined:
                what = f"combined attribution share of {', '.join(selected)}{where}"
                items.append(
                    (
                        what,
                        sum(share_of.get(f, 0.0) for f in selected),
                        sum(magnitude.get(f, 0.0) for f in selected),
                        min(rank_of.get(f, len(names) + 1) for f in selected),
                    )
                )
            else:
                for f in selected:
                    items.append(
                        (
                            f"attribution share of {f}{where}",
                            share_of.get(f, 0.0),
                            magnitude.get(f, 0.0),
                            rank_of.get(f, len(names) + 1),
                        )
                    )
        checks: list[Check] = []
        if self.max_share is not None:
            what, share, _, _ = max(items, key=lambda item: item[1])
            checks.append(at_most("max_share", share, self.max_share, what))
        if self.min_share is not None:
            what, share, _, _ = min(items, key=lambda item: item[1])
            checks.append(at_least("min_share", share, self.min_share, what))
        if self.max_mean_abs is not None:
            what, _, magnitude_value, _ = max(items, key=lambda item: item[2])
            subject = what.replace("attribution share", "mean |contribution|")
            checks.append(at_most("max_mean_abs", magnitude_value, self.max_mean_abs, subject))
        if self.max_rank is not None:
            what, _, _, rank = min(items, key=lambda item: item[3])
            subject = what.replace("attribution share", "importance rank")
            checks.append(above("max_rank", float(rank), float(self.max_rank), subject))
        return checks


def raise_no_groups(min_group_size: int, by: Sequence[str]) -> None:
    raise InputError(
        f"no group of {', '.join(by)} has at least {min_group_size} explained rows; lower "
        "min_group_size or explain more rows (attribution.max_rows)"
    )
