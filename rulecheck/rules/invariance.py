"""invariance: predictions stay put when inputs the policy declares irrelevant change.

**What it checks**
The model is called on copies of the audited data where declared features change: uniform
noise added to numeric ones (``perturb: {hours_per_week: {add: [-2, 2]}}``, one noisy copy,
seeded) or a category replaced by each listed value
(``replace: {native_country: [United-States, Mexico]}``, one copy per value). A row violates
when its score moves by more than ``tolerance`` (``output: score``, the default) or its decision
flips (``output: decision``); ``max_violation_rate`` (default 0) bounds the share of such rows.
A hypothesis search (``search``) looks for a row that breaks it and shrinks it; with
``max_violation_rate: 0`` a found row fails the rule.

**Why it matters**
A policy can say that some inputs must not matter (the applicant's country of birth, a few
hours more or less per week). Metamorphic tests of this kind catch models that lean on
irrelevant or spurious inputs, which also makes them brittle.

**Example**

```yaml
- id: country-irrelevant
  kind: invariance
  replace: {native_country: [United-States, Mexico, Germany]}
  tolerance: 0.01
```

**References**
- Ribeiro et al. (2020), "Beyond Accuracy: Behavioral Testing of NLP Models with CheckList".
- Giskard's metamorphic tests (invariance and directional expectation tests).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from rulecheck._measures import PropertySpec
from rulecheck.rules._base import EvalContext, Measurement, RuleBase
from rulecheck.rules._properties import Label, PropertyOptions, measure_property

__all__ = ["Invariance"]


class Noise(BaseModel):
    """Uniform noise added to a numeric feature: ``add: [low, high]``."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, allow_inf_nan=False)

    add: tuple[float, float] = Field(description="Low and high end of the uniform noise added.")

    @model_validator(mode="after")
    def _ordered(self) -> Noise:
        if self.add[0] > self.add[1]:
            raise PydanticCustomError("bad_range", "add: [low, high] needs low <= high")
        return self


class Invariance(PropertyOptions, RuleBase):
    """Predictions stay within a tolerance under declared irrelevant changes."""

    summary = "predictions unchanged by declared noise or replacements: max_violation_rate; search"

    kind: Literal["invariance"]
    perturb: dict[str, Noise] = Field(
        default_factory=dict,
        description="Numeric features and the noise added to them, e.g. {hours_per_week: {add: [-2, 2]}}.",
    )
    replace: dict[str, list[Label]] = Field(
        default_factory=dict,
        description="Categorical features and the values each row is tried with.",
    )
    output: Literal["score", "decision"] = Field(
        default="score", description="Compare scores (within tolerance) or decisions (no flip)."
    )
    tolerance: float = Field(
        default=0.0, ge=0, description="Largest allowed |score change| for output: score."
    )
    max_violation_rate: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Largest allowed share of audited rows whose output changes.",
    )

    @model_validator(mode="after")
    def _something_changes(self) -> Invariance:
        if not self.perturb and not self.replace:
            raise PydanticCustomError(
                "nothing_to_change", "give perturb (numeric noise) or replace (categories)"
            )
        return self

    def spec(self) -> PropertySpec:
        return PropertySpec(
            kind="invariance",
            output=self.output,
            tolerance=self.tolerance,
            perturb=tuple((f, n.add[0], n.add[1]) for f, n in self.perturb.items()),
            replace=tuple((f, tuple(values)) for f, values in self.replace.items()),
            search_examples=self.search.examples,
            seed=self.search.seed,
        )

    def measure(self, ctx: EvalContext) -> Measurement:
        changed = ", ".join([*self.perturb, *self.replace])
        what = "score change" if self.output == "score" else "decision flip"
        return measure_property(
            self,
            ctx,
            self.spec(),
            rate_bound="max_violation_rate",
            max_rate=self.max_violation_rate,
            what=f"share of rows with a {what} when {changed} change",
        )
