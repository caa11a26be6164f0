"""disparate_impact: the four-fifths rule on selection rates.

**What it checks**
Shorthand for ``group_metric`` with ``metric: selection_rate`` and ``min_ratio: 0.8`` by
default: every group's selection rate divided by the highest group's (or by
``reference_group``'s) must be at least 0.8. ``max_ratio`` may be added (e.g. 1.25) to bound the
other direction. The value is the worst ratio, the reference group itself excluded; every
group's own ratio is reported beside its selection rate (``ratio`` in the groups table). A rule with
only baseline change bounds (``max_decrease: 0.02``, no ``min_ratio``) checks just the change of
that ratio, not the four-fifths default.

**Why it matters**
The EEOC's four-fifths rule of thumb treats a selection rate below 80% of the most-selected
group's rate as evidence of adverse impact; NYC Local Law 144 bias audits report the same impact
ratios.

**Example**
Passing (selection rates 0.30 and 0.27, ratio 0.9):

```yaml
- id: four-fifths-sex
  kind: disparate_impact
  by: sex
  reference_group: Male
```

Failing when the reference group is selected at 0.40 and another group at 0.28 (ratio 0.70).

**References**
- EEOC Uniform Guidelines on Employee Selection Procedures, 29 CFR 1607.4(D).
- fairlearn ``demographic_parity_ratio``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rulecheck.rules._base import EvalContext, Measurement, RuleBase
from rulecheck.rules._groups import Bounds, GroupOptions, measure_metrics

__all__ = ["DisparateImpact"]

DEFAULT_MIN_RATIO = 0.8


class DisparateImpact(GroupOptions, RuleBase):
    """Selection-rate ratios: lowest/highest group, or each group / reference_group."""

    summary = "selection-rate ratio per group (four-fifths rule): min_ratio (default 0.8)"

    kind: Literal["disparate_impact"]
    min_ratio: float = Field(
        default=DEFAULT_MIN_RATIO,
        gt=0,
        le=1,
        description=(
            "Smallest allowed selection-rate ratio (default 0.8, the four-fifths rule; not "
            "applied when the rule gives only baseline change bounds)."
        ),
    )
    max_ratio: float | None = Field(
        default=None,
        ge=1,
        description="Optional largest allowed ratio, to bound the other direction.",
    )

    def bounds(self) -> Bounds:
        if "min_ratio" not in self.model_fields_set and self.has_change_bounds():
            # min_ratio left unset next to change bounds: they compare the lowest ratio, and the
            # four-fifths default (kept as the field's default for the schema and `rulecheck
            # explain`) does not apply. A max_ratio given with them is still checked.
            return Bounds(
                min_ratio=self.min_ratio,
                max_ratio=self.max_ratio,
                unchecked=frozenset({"min_ratio"}),
            )
        return Bounds(min_ratio=self.min_ratio, max_ratio=self.max_ratio)

    def measure(self, ctx: EvalContext) -> Measurement:
        return measure_metrics(ctx, self, ("selection_rate",), self.bounds())
