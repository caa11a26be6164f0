"""counterfactual: change only a protected attribute and bound how much the model's output moves.

**What it checks**
For every audited row whose ``attribute`` has one of the values named, the model is called on
a copy of the data where only that attribute changes (``swap: {Male: Female, Female: Male}``,
or ``values: [A, B, C]``: every other value), and, optionally, its declared proxies change with
it (``also_change: {relationship: {Husband: Wife, Wife: Husband}}``). One batched model call per
changed copy, never one per row. ``max_flip_rate`` bounds the share of rows whose decision
flips; ``max_score_change`` the largest |score change| on any row, audited or searched. With
``by``, the flip rate of every group must pass too. A hypothesis search
(``search: {examples: 500, seed: 0}``) generates rows within the data's observed schema and
shrinks the first one whose output changes to a minimal counterexample: the verdict shows it, its counterfactual and
both outputs, and ``rulecheck check --replay report.json --rule ID`` re-runs it. With
``max_flip_rate: 0`` the search's counterexample fails the rule even if no audited row flips.

**Why it matters**
Group metrics can pass while the model still treats two otherwise identical people
differently. Counterfactual fairness asks that changing only a protected attribute leave the
decision alone; a model can use the attribute directly or through a proxy, so declare the
proxies that would change with it.

**Example**
Passing when the model never reads sex; failing when 3% of decisions flip with it:

```yaml
- id: sex-flip
  kind: counterfactual
  attribute: sex
  swap: {Male: Female, Female: Male}
  max_flip_rate: 0.01
  max_score_change: 0.05
```

**References**
- Kusner et al. (2017), "Counterfactual Fairness".
- Garg et al. (2019), "Counterfactual Fairness in Text Classification through Robustness".
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from rulecheck._measures import PropertySpec
from rulecheck.rules._base import EvalContext, Measurement, RuleBase
from rulecheck.rules._properties import Label, PropertyOptions, mapping, measure_property

__all__ = ["Counterfactual"]


class Counterfactual(PropertyOptions, RuleBase):
    """Decision flips and score changes when only a protected attribute changes."""

    summary = "change only a protected attribute: max_flip_rate, max_score_change; search"

    kind: Literal["counterfactual"]
    attribute: str = Field(min_length=1, description="The protected attribute to change.")
    swap: dict[Label, Label] | None = Field(
        default=None,
        min_length=1,
        description="Value -> value it becomes, e.g. {Male: Female, Female: Male}; rows with other values are not audited.",
    )
    values: list[Label] | None = Field(
        default=None,
        min_length=2,
        description="Instead of swap: each row with one of these values is tried with every other one.",
    )
    also_change: dict[str, dict[Label, Label]] = Field(
        default_factory=dict,
        description="Declared proxies that change with the attribute: column -> {value: value}.",
    )
    max_flip_rate: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Largest allowed share of audited rows whose decision changes.",
    )
    max_score_change: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Largest allowed |score change| on any row (audited or found by the search).",
    )

    @model_validator(mode="after")
    def _check(self) -> Counterfactual:
        if (self.swap is None) == (self.values is None):
            raise PydanticCustomError(
                "swap_or_values", "give either swap (value -> value) or values (a list)"
            )
        if (
            self.max_flip_rate is None
            and self.max_score_change is None
            and not self.has_change_bounds()
        ):
            raise PydanticCustomError(
                "missing_bound",
                "give at least one bound: max_flip_rate, max_score_change, max_increase, "
                "max_decrease, max_relative_increase",
            )
        return self

    def spec(self) -> PropertySpec:
        score_only = self.max_flip_rate is None and self.max_score_change is not None
        return PropertySpec(
            kind="counterfactual",
            output="score" if score_only else "decision",
            tolerance=self.max_score_change if score_only and self.max_score_change else 0.0,
            attribute=self.attribute,
            swap=() if self.swap is None else mapping(self.swap),
            values=tuple(self.values or ()),
            also_change=tuple(
                (column, mapping(pairs)) for column, pairs in self.also_change.items()
            ),
            search_examples=self.search.examples,
            seed=self.search.seed,
        )

    def measure(self, ctx: EvalContext) -> Measurement:
        spec = self.spec()
        what = "flip rate" if spec.output == "decision" else "share of rows changing score"
        return measure_property(
            self,
            ctx,
            spec,
            rate_bound="max_flip_rate",
            max_rate=self.max_flip_rate,
            what=f"{what} when {self.attribute} changes",
            largest_bound="max_score_change",
            max_largest=self.max_score_change,
            largest_what=f"largest |score change| when {self.attribute} changes",
        )
