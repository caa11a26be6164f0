"""equalized_odds: true and false positive rates must both be similar across groups.

**What it checks**
Shorthand for two ``group_metric`` comparisons, on ``true_positive_rate`` and on
``false_positive_rate``; the rule's value is the worse of the two differences (fairlearn's
``equalized_odds_difference``). Bound ``max_difference`` (default 0.1) and optionally
``min_ratio`` (applied to both rates); group options as in group_metric.

**Why it matters**
Equalized odds (Hardt et al., 2016) asks that errors fall equally on every group: qualified
people are selected at the same rate, and unqualified people wrongly selected at the same rate.
ProPublica's COMPAS analysis is an equalized-odds finding (false positive rates 0.45 vs 0.23).

**Example**
Passing (TPR difference 0.04, FPR difference 0.03):

```yaml
- id: eodds-race
  kind: equalized_odds
  by: race
  groups: [African-American, Caucasian]
  max_difference: 0.1
```

Failing on COMPAS: the FPR difference 0.214 exceeds 0.1.

**References**
- Hardt, Price, Srebro (2016), "Equality of Opportunity in Supervised Learning".
- fairlearn ``equalized_odds_difference``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rulecheck.rules._base import EvalContext, Measurement, RuleBase
from rulecheck.rules._groups import Bounds, GroupOptions, measure_metrics, shorthand_bounds

__all__ = ["EqualizedOdds"]

DEFAULT_MAX_DIFFERENCE = 0.1


class EqualizedOdds(GroupOptions, RuleBase):
    """The worse of the TPR and FPR differences (or ratios) between groups."""

    summary = "worst of TPR and FPR differences per group: max_difference (default 0.1)"

    kind: Literal["equalized_odds"]
    max_difference: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Largest allowed difference of TPR and of FPR; 0.1 when neither bound is given.",
    )
    min_ratio: float | None = Field(
        default=None, gt=0, le=1, description="Smallest allowed ratio of TPR and of FPR."
    )

    def bounds(self) -> Bounds:
        return shorthand_bounds(
            self.max_difference, self.min_ratio, self.has_change_bounds(), DEFAULT_MAX_DIFFERENCE
        )

    def measure(self, ctx: EvalContext) -> Measurement:
        return measure_metrics(
            ctx, self, ("true_positive_rate", "false_positive_rate"), self.bounds()
        )
