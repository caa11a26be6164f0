"""monotonic: the score must not fall (or rise) when a numeric feature increases.

**What it checks**
For every audited row, the model is called with ``feature`` set to each of ``steps`` evenly
spaced values within its observed range (one batched call per value), and the score must not
move against ``direction`` by more than ``tolerance`` between consecutive values.
``max_violation_rate`` (default 0) bounds the share of rows where it does. A hypothesis search
(``search: {examples: 500, seed: 0}``) looks for a row that breaks it and shrinks it; with
``max_violation_rate: 0`` a found row fails the rule.

**Why it matters**
Credit and insurance models are expected to move one way with some inputs: more income should
not lower a credit score, more claims should not lower a premium. Regulators and model-risk
reviewers ask for it, and gradient-boosted models only guarantee it with monotonic constraints.

**Example**

```yaml
- id: income-monotonic
  kind: monotonic
  feature: income
  direction: increasing
  steps: 10
```

**References**
- Gupta et al. (2016), "Monotonic Calibrated Interpolated Look-Up Tables" (JMLR).
- LightGBM ``monotone_constraints``; scikit-learn ``HistGradientBoostingClassifier(monotonic_cst=...)``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rulecheck._measures import PropertySpec
from rulecheck.rules._base import EvalContext, Measurement, RuleBase
from rulecheck.rules._properties import PropertyOptions, measure_property

__all__ = ["Monotonic"]


class Monotonic(PropertyOptions, RuleBase):
    """The score moves one way as a numeric feature increases."""

    summary = "score monotonic in a numeric feature over a grid: max_violation_rate; search"

    kind: Literal["monotonic"]
    feature: str = Field(min_length=1, description="The numeric feature.")
    direction: Literal["increasing", "decreasing"] = Field(
        default="increasing", description="How the score must move as the feature increases."
    )
    steps: int = Field(
        default=10, ge=2, le=1000, description="Grid points within the feature's observed range."
    )
    tolerance: float = Field(
        default=0.0, ge=0, description="A move against the direction up to this is allowed."
    )
    max_violation_rate: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Largest allowed share of audited rows where the score moves the wrong way.",
    )

    def spec(self) -> PropertySpec:
        return PropertySpec(
            kind="monotonic",
            output="score",
            feature=self.feature,
            direction=self.direction,
            steps=self.steps,
            tolerance=self.tolerance,
            search_examples=self.search.examples,
            seed=self.search.seed,
        )

    def measure(self, ctx: EvalContext) -> Measurement:
        word = "decreases" if self.direction == "increasing" else "increases"
        return measure_property(
            self,
            ctx,
            self.spec(),
            rate_bound="max_violation_rate",
            max_rate=self.max_violation_rate,
            what=f"share of rows whose score {word} as {self.feature} increases",
        )
