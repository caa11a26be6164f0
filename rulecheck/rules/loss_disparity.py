"""loss_disparity: mean loss per group and the gap between the worst and the best group.

**What it checks**
Computes a per-row loss (lower is better) for the model's predictions, averages it per group of
``by``, and bounds the gap: ``max_difference`` (worst-group minus best-group mean loss, or
largest distance from ``reference_group`` / the overall mean), ``max_ratio`` (worst / best), and
``max`` (every group's mean loss). With a baseline model, ``max_increase: 0.0`` fails when the
candidate widens the gap. Built-in losses: ``log_loss``, ``brier`` (probabilities), ``zero_one``
(decisions), ``hinge`` (decision_function margins), ``squared_error``, ``absolute_error``,
``pinball`` (``params: {quantile: 0.9}``) and ``poisson`` (regression values). A custom loss is a
Python function registered by name with ``rulecheck.register_loss`` or shipped under the
``rulecheck.losses`` entry point; the policy only names it (``loss: focal``,
``params: {gamma: 2.0}``) and never contains code.

**Why it matters**
A custom loss (reweighted, focal, cost-sensitive, fairness-penalized) changes who the model
serves well. Group metrics on thresholded decisions can miss it; the per-group loss shows where
the model's probabilities got worse, before any threshold is chosen.

**Example**
Passing (mean log loss 0.412 for women and 0.398 for men, gap 0.014):

```yaml
- id: loss-gap-sex
  kind: loss_disparity
  loss: log_loss
  by: sex
  max_difference: 0.02
```

Failing when a new model widens the gap from 0.014 to 0.031:

```yaml
- id: loss-gap-not-wider
  kind: loss_disparity
  loss: log_loss
  by: sex
  max_increase: 0.0
```

**References**
- scikit-learn ``log_loss``, ``brier_score_loss``, ``mean_pinball_loss``, ``mean_poisson_deviance``.
- Lin et al. (2017), "Focal Loss for Dense Object Detection" (a common custom loss).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from rulecheck.rules._base import EvalContext, Measurement, RuleBase
from rulecheck.rules._groups import Bounds, GroupOptions, compare_groups

__all__ = ["LossDisparity"]

LossName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class LossDisparity(GroupOptions, RuleBase):
    """Per-group mean loss: gap, ratio and ceiling."""

    summary = "mean loss per group (built-in or registered loss): max_difference, max_ratio, max"

    kind: Literal["loss_disparity"]
    loss: LossName = Field(
        description="Built-in loss name or a name registered with rulecheck.register_loss."
    )
    params: dict[str, float] = Field(
        default_factory=dict,
        description="Keyword parameters of the loss, e.g. {quantile: 0.9} for pinball.",
    )
    max_difference: float | None = Field(
        default=None,
        ge=0,
        description="Largest allowed gap: worst-group minus best-group mean loss (or from the reference).",
    )
    max_ratio: float | None = Field(
        default=None,
        ge=1,
        description="Largest allowed ratio of the worst to the best group's mean loss.",
    )
    max: float | None = Field(
        default=None, description="Every compared group's mean loss must be at most this."
    )

    @model_validator(mode="after")
    def _needs_a_bound(self) -> LossDisparity:
        if not self.bounds().any() and not self.has_change_bounds():
            raise PydanticCustomError(
                "missing_bound",
                "give at least one bound: max_difference, max_ratio, max, max_increase, "
                "max_decrease, max_relative_increase",
            )
        return self

    def bounds(self) -> Bounds:
        return Bounds(max_difference=self.max_difference, max_ratio=self.max_ratio, max=self.max)

    def measure(self, ctx: EvalContext) -> Measurement:
        table = ctx.group_loss(self.loss, self.params, self.by_columns)
        return compare_groups(table, self, self.bounds())
