"""equal_opportunity: true positive rates must not differ much between groups.

**What it checks**
Shorthand for ``group_metric`` with ``metric: true_positive_rate``: among people whose label is
positive, the share the model selects, per group. Bound ``max_difference`` (default 0.1) and
optionally ``min_ratio``; group options as in group_metric. A group without positive labels has
an undefined TPR and is left out of the comparison (the verdict lists it).

**Why it matters**
Equal opportunity (Hardt et al., 2016) asks that qualified people have the same chance of a
positive decision whatever their group. It needs labels.

**Example**
Passing (TPR 0.81 and 0.77):

```yaml
- id: eo-race
  kind: equal_opportunity
  by: race
  max_difference: 0.1
```

Failing when one group's TPR is 0.72 and another's 0.52 (difference 0.20 > 0.1).

**References**
- Hardt, Price, Srebro (2016), "Equality of Opportunity in Supervised Learning".
- fairlearn ``true_positive_rate`` with ``MetricFrame.difference()``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rulecheck.rules._base import EvalContext, Measurement, RuleBase
from rulecheck.rules._groups import Bounds, GroupOptions, measure_metrics, shorthand_bounds

__all__ = ["EqualOpportunity"]

DEFAULT_MAX_DIFFERENCE = 0.1


class EqualOpportunity(GroupOptions, RuleBase):
    """True-positive-rate difference (and optionally ratio) between groups."""

    summary = "true positive rates per group: max_difference (default 0.1), optional min_ratio"

    kind: Literal["equal_opportunity"]
    max_difference: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Largest allowed TPR difference; 0.1 when neither bound is given.",
    )
    min_ratio: float | None = Field(
        default=None, gt=0, le=1, description="Smallest allowed TPR ratio."
    )

    def bounds(self) -> Bounds:
        return shorthand_bounds(
            self.max_difference, self.min_ratio, self.has_change_bounds(), DEFAULT_MAX_DIFFERENCE
        )

    def measure(self, ctx: EvalContext) -> Measurement:
        return measure_metrics(ctx, self, ("true_positive_rate",), self.bounds())
