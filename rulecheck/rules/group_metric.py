"""group_metric: a metric per group, bounded by differences, ratios or absolute limits.

**What it checks**
Computes ``metric`` for every group of the ``by`` column(s) and applies any combination of
bounds: ``max_difference``, ``min_ratio`` and ``max_ratio`` (between groups by default, against
``reference_group``, or against the overall value with ``relative_to: overall``), and ``min`` /
``max`` that every group's value must meet. The rule fails if any bound fails.

Classification metrics (computed from per-group confusion counts of the binary decisions):
selection_rate, true_positive_rate, false_positive_rate, true_negative_rate, false_negative_rate,
precision, negative_predictive_value, false_discovery_rate, false_omission_rate, accuracy,
balanced_accuracy, f1. Regression metrics: mean_prediction, mean_absolute_error,
mean_squared_error, r2. A metric whose denominator is zero for a group (TPR of a group without
positives) is reported as undefined and left out of comparisons, never silently 0.

**Why it matters**
Group metrics are the common language of fairness audits: demographic parity compares selection
rates, equal opportunity compares true positive rates, the four-fifths rule bounds the ratio of
selection rates. A single rule kind with explicit bounds keeps every such audit readable.

**Example**
Passing (the FPR gap between the two groups is 0.03):

```yaml
- id: fpr-gap-race
  kind: group_metric
  metric: false_positive_rate
  by: race
  groups: [African-American, Caucasian]
  max_difference: 0.05
```

Failing on COMPAS (African-American 0.4485 vs Caucasian 0.2345, difference 0.214 > 0.05), and
an intersectional bound against a reference group:

```yaml
- id: selection-ratio-race-sex
  kind: group_metric
  metric: selection_rate
  by: [race, sex]
  reference_group: {race: Caucasian, sex: Male}
  min_ratio: 0.8
```

**References**
- fairlearn MetricFrame, ``difference()`` and ``ratio()`` (methods between_groups, to_overall).
- EEOC Uniform Guidelines on Employee Selection Procedures, 29 CFR 1607.4(D) (four-fifths rule).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from rulecheck.rules._base import RATE_METRICS, EvalContext, Measurement, MetricName, RuleBase
from rulecheck.rules._groups import Bounds, GroupOptions, compare_groups

__all__ = ["GroupMetric", "MetricName"]


BOUND_NAMES = ("max_difference", "min_ratio", "max_ratio", "min", "max")
CHANGE_BOUNDS = ("max_increase", "max_decrease", "max_relative_increase")


def check_rate_bound(value: float | None, info: ValidationInfo) -> float | None:
    """Bounds on a rate metric (a fraction) must lie in [0, 1]."""
    metric = info.data.get("metric")
    if value is not None and metric in RATE_METRICS and value > 1:
        raise PydanticCustomError(
            "less_than_equal",
            "Input should be less than or equal to 1 ({metric} is a fraction)",
            {"metric": metric},
        )
    return value


class GroupMetric(GroupOptions, RuleBase):
    """A metric per group with difference, ratio and absolute bounds."""

    summary = "a metric per group, bounded by max_difference, min_ratio, max_ratio, min or max"

    kind: Literal["group_metric"]
    metric: MetricName = Field(description="The metric computed per group.")
    max_difference: float | None = Field(
        default=None,
        ge=0,
        description="Largest allowed difference (highest - lowest, or from the reference / overall value).",
    )
    min_ratio: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Smallest allowed ratio (lowest/highest, or group / reference or overall value).",
    )
    max_ratio: float | None = Field(
        default=None,
        ge=1,
        description="Largest allowed ratio (highest/lowest, or group / reference or overall value).",
    )
    min: float | None = Field(
        default=None, description="Every compared group's value must be at least this."
    )
    max: float | None = Field(
        default=None, description="Every compared group's value must be at most this."
    )

    _rate_bounds = field_validator("max_difference", "min", "max")(check_rate_bound)

    @model_validator(mode="after")
    def _needs_a_bound(self) -> GroupMetric:
        if not self.bounds().any() and not self.has_change_bounds():
            raise PydanticCustomError(
                "missing_bound",
                "give at least one bound: " + ", ".join((*BOUND_NAMES, *CHANGE_BOUNDS)),
            )
        return self

    def bounds(self) -> Bounds:
        return Bounds(self.max_difference, self.min_ratio, self.max_ratio, self.min, self.max)

    def measure(self, ctx: EvalContext) -> Measurement:
        table = ctx.group_metric(self.metric, self.by_columns)
        return compare_groups(table, self, self.bounds())
