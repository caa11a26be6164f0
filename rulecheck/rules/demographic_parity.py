"""demographic_parity: selection rates must not differ much between groups.

**What it checks**
Shorthand for ``group_metric`` with ``metric: selection_rate``: the share of positive decisions
per group. Bound ``max_difference`` (default 0.1 when no bound is given) and optionally
``min_ratio``; group options as in group_metric.

**Why it matters**
Demographic (statistical) parity asks that a model select members of every group at similar
rates, regardless of the label. It is the criterion behind adverse-impact analysis in hiring and
lending, and it needs no ground truth, so it also works on predictions alone.

**Example**
Passing (selection rates 0.31 and 0.27):

```yaml
- id: dp-sex
  kind: demographic_parity
  by: sex
  max_difference: 0.1
```

Failing when one group is selected at 0.45 and another at 0.20 (difference 0.25 > 0.1).

**References**
- fairlearn ``demographic_parity_difference`` / ``demographic_parity_ratio``.
- Dwork et al. (2012), "Fairness through awareness".
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rulecheck.rules._base import EvalContext, Measurement, RuleBase
from rulecheck.rules._groups import Bounds, GroupOptions, measure_metrics, shorthand_bounds

__all__ = ["DemographicParity"]

DEFAULT_MAX_DIFFERENCE = 0.1


class DemographicParity(GroupOptions, RuleBase):
    """Selection-rate difference (and optionally ratio) between groups."""

    summary = "selection rates per group: max_difference (default 0.1), optional min_ratio"

    kind: Literal["demographic_parity"]
    max_difference: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Largest allowed selection-rate difference; 0.1 when neither bound is given.",
    )
    min_ratio: float | None = Field(
        default=None, gt=0, le=1, description="Smallest allowed selection-rate ratio."
    )

    def bounds(self) -> Bounds:
        return shorthand_bounds(
            self.max_difference, self.min_ratio, self.has_change_bounds(), DEFAULT_MAX_DIFFERENCE
        )

    def measure(self, ctx: EvalContext) -> Measurement:
        return measure_metrics(ctx, self, ("selection_rate",), self.bounds())
