"""loss_attribution: which inputs drive the loss of the worst-served group.

**What it checks**
Explains each row's loss (not the prediction) with SHAP: for tree models, SHAP's loss explanation
(``shap.TreeExplainer(model_output="log_loss")`` with the labels, interventional against a
background sample); for other models, or other losses that take probabilities, the
model-agnostic explainer applied to ``loss(y, model(x))`` (rows are explained separately per
label, so the explained function is a function of the inputs alone). Contributions are summed
back to raw input columns as for ``attribution``. The rule finds the **worst group** of ``by``
(highest mean loss among groups with at least ``min_group_size`` rows) and bounds the
``max_share`` of the listed ``features`` (names, globs, feature groups: a protected attribute or
its proxies) in that group's mean |loss attribution|; ``combined: true`` bounds their sum. The
verdict lists the features that drive the worst group's loss, with their shares, and every
group's share.

Limits: the loss attribution explains the loss relative to the background's expected loss; a
share says how much a feature moves the group's per-row losses, not whether it causes the group's
excess. As with ``attribution``, correlated features share credit. Explaining losses needs
labels and costs more than explaining predictions: use ``attribution.max_rows`` on large data.

**Why it matters**
When a custom loss (focal, reweighted, fairness-penalized) changes who the model serves well,
this is the rule that says *why*: if the worst group's loss is driven by a protected attribute or
its proxies, the disparity is encoded in the model, not in noise.

**Example**
Passing (sex holds 3% of the worst group's loss attribution):

```yaml
- id: loss-drivers-sex
  kind: loss_attribution
  loss: log_loss
  by: race
  features: [sex, relationship]
  combined: true
  max_share: 0.10
```

Failing when ``relationship`` holds 24% of the worst group's loss attribution (> 0.10).

**References**
- Lundberg et al. (2020), "From local explanations to global understanding with explainable AI
  for trees" (explaining the loss of tree models, model monitoring).
- shap ``TreeExplainer(model_output="log_loss")``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from rulecheck.errors import InputError
from rulecheck.rules._base import EvalContext, Measurement, RuleBase, at_most, fmt
from rulecheck.rules._groups import GroupOptions, group_label, resolve_key
from rulecheck.rules._shares import selected_share, share_estimator, top_features
from rulecheck.rules.loss_disparity import LossName
from rulecheck.verdict import Check, GroupValue, Scalar

__all__ = ["LossAttribution"]


class LossAttribution(GroupOptions, RuleBase):
    """Share of listed features in the worst group's SHAP loss attribution."""

    summary = "share of listed features in explaining the worst group's loss: max_share"

    kind: Literal["loss_attribution"]
    loss: LossName = Field(
        default="log_loss",
        description="Loss to explain (log_loss for the exact tree path; any probability loss otherwise).",
    )
    params: dict[str, float] = Field(
        default_factory=dict, description="Keyword parameters of the loss."
    )
    features: list[str] = Field(
        min_length=1,
        description="Protected features or their proxies: names, globs or the policy's feature_groups.",
    )
    combined: bool = Field(
        default=False,
        description="Bound the summed share of the listed features instead of each one separately.",
    )
    max_share: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Largest allowed share of the worst group's mean |loss attribution|.",
    )
    top: int = Field(
        default=10,
        ge=1,
        le=100,
        description="How many of the features driving the worst group's loss the verdict lists.",
    )
    max_rows: int | None = Field(
        default=None,
        ge=1,
        description="Explain at most this many rows for this rule (default: the policy's attribution.max_rows).",
    )

    @model_validator(mode="after")
    def _needs_a_bound(self) -> LossAttribution:
        if self.max_share is None and not self.has_change_bounds():
            raise PydanticCustomError(
                "missing_bound",
                "give at least one bound: max_share, max_increase, max_decrease, "
                "max_relative_increase",
            )
        if self.reference_group is not None or self.relative_to != "groups":
            raise PydanticCustomError(
                "unsupported_option",
                "loss_attribution explains the worst group; reference_group and relative_to "
                "do not apply",
            )
        return self

    def measure(self, ctx: EvalContext) -> Measurement:
        by = self.by_columns
        losses = ctx.group_loss(self.loss, self.params, by)
        table = ctx.loss_attribution(self.loss, self.params, by, self.max_rows)
        selected = ctx.resolve_features(self.features)
        wanted = None
        if self.groups is not None:
            wanted = {
                losses.keys[resolve_key(losses.by, losses.keys, s, "group")] for s in self.groups
            }
        # Worst group: highest mean loss among groups large enough to judge.
        candidates = [
            (value, key)
            for key, n, value in zip(losses.keys, losses.n, losses.values, strict=True)
            if value is not None and n >= self.min_group_size and (wanted is None or key in wanted)
        ]
        if not candidates:
            raise InputError(f"no group of {', '.join(by)} has at least {self.min_group_size} rows")
        worst_loss, worst_key = max(candidates)
        row_of = {key: i for i, key in enumerate(table.group_keys)}
        if worst_key not in row_of:
            raise InputError(
                f"the worst group {group_label(by, worst_key)} has no explained rows; raise "
                "attribution.max_rows"
            )
        label = group_label(by, worst_key)
        groups: list[GroupValue] = []
        for key, n, mean_abs in zip(
            table.group_keys, table.group_n, table.group_mean_abs, strict=True
        ):
            if wanted is not None and key not in wanted:
                continue
            groups.append(
                GroupValue(
                    group=tuple(zip(by, key, strict=True)),
                    n=n,
                    value=selected_share(table.features, mean_abs, selected, self.combined),
                    excluded=n < self.min_group_size,
                    metric="loss attribution share",
                )
            )
        worst = table.group_mean_abs[row_of[worst_key]]
        share = selected_share(table.features, worst, selected, self.combined)
        what = ", ".join(selected)
        subject = (
            f"{'combined ' if self.combined else ''}share of {what} in the {self.loss} "
            f"attribution of the worst group {label}"
        )
        checks: tuple[Check, ...] = ()
        if self.max_share is not None:
            checks = (at_most("max_share", share, self.max_share, subject),)
        estimator = share_estimator(
            table, selected, combined=self.combined, groups=(row_of[worst_key],)
        )
        features = top_features(table.features, worst, selected, self.top)
        info: tuple[tuple[str, Scalar], ...] = (
            ("explainer", table.explainer),
            ("output", table.output),
            ("rows", table.rows),
            ("seed", table.seed),
            ("worst_group", label),
            ("worst_group_mean_loss", worst_loss),
        )
        context = f"mean {self.loss} {fmt(worst_loss)}; drivers: " + ", ".join(
            f"{f.feature} {fmt(f.value)}" for f in features[:3]
        )
        return Measurement(
            checks=checks,
            primary=share,
            subject=subject,
            context=context,
            groups=tuple(groups),
            features=features,
            info=info,
            notes=table.notes,
            estimators=(estimator,) * len(checks),
            primary_estimator=estimator,
        )
