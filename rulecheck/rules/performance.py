"""performance: an overall bound on a model metric.

**What it checks**
Computes ``metric`` on all rows and checks ``min`` and/or ``max``. Metrics: every group_metric
metric (selection_rate ... f1, mean_prediction ... r2) plus ``roc_auc`` and ``log_loss``, which
need scores (a model with ``predict_proba`` or a ``score`` column).

**Why it matters**
A fairness gate is meaningless on a model that no longer works: a degenerate model that selects
nobody has perfect demographic parity. Pair every fairness policy with a performance floor.

**Example**
Passing (accuracy 0.76):

```yaml
- id: accuracy-floor
  kind: performance
  metric: accuracy
  min: 0.7
```

Failing when the model's ROC AUC is 0.68:

```yaml
- id: auc-floor
  kind: performance
  metric: roc_auc
  min: 0.75
```

**References**
- scikit-learn ``accuracy_score``, ``roc_auc_score``, ``log_loss``, ``r2_score``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from rulecheck.errors import InputError
from rulecheck.rules._base import EvalContext, Measurement, MetricName, RuleBase, at_least, at_most
from rulecheck.rules.group_metric import check_rate_bound

__all__ = ["Performance"]

PerformanceMetric = Literal[MetricName, "roc_auc", "log_loss"]


class Performance(RuleBase):
    """An overall bound (min and/or max) on one metric."""

    summary = "an overall metric (incl. roc_auc, log_loss) bounded by min and/or max"

    kind: Literal["performance"]
    metric: PerformanceMetric = Field(description="The metric computed on all rows.")
    min: float | None = Field(default=None, description="The metric must be at least this.")
    max: float | None = Field(default=None, description="The metric must be at most this.")

    _rate_bounds = field_validator("min", "max")(check_rate_bound)

    @model_validator(mode="after")
    def _needs_a_bound(self) -> Performance:
        if self.min is None and self.max is None and not self.has_change_bounds():
            raise PydanticCustomError(
                "missing_bound",
                "give at least one bound: min, max, max_increase, max_decrease, max_relative_increase",
            )
        return self

    def measure(self, ctx: EvalContext) -> Measurement:
        value = ctx.overall_metric(self.metric)
        if value is None:
            raise InputError(f"{self.metric} is undefined on these data (zero denominator)")
        checks = []
        if self.min is not None:
            checks.append(at_least("min", value, self.min, self.metric))
        if self.max is not None:
            checks.append(at_most("max", value, self.max, self.metric))
        estimator = ctx.overall_estimator(self.metric)
        return Measurement(
            checks=tuple(checks),
            primary=value,
            subject=self.metric,
            estimators=(estimator,) * len(checks),
            primary_estimator=estimator,
        )
