"""The rule kinds: an explicit registry and the discriminated union used by the policy schema.

Adding a kind is one file in this package plus one line in ``ALL_RULES`` and one in ``Rule``;
``tests/rules/test_registry.py`` checks that the two agree and that every kind is documented.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from rulecheck.rules._base import EvalContext, Measurement, RuleBase
from rulecheck.rules.attribution import Attribution
from rulecheck.rules.counterfactual import Counterfactual
from rulecheck.rules.demographic_parity import DemographicParity
from rulecheck.rules.disparate_impact import DisparateImpact
from rulecheck.rules.equal_opportunity import EqualOpportunity
from rulecheck.rules.equalized_odds import EqualizedOdds
from rulecheck.rules.group_metric import GroupMetric
from rulecheck.rules.invariance import Invariance
from rulecheck.rules.loss_attribution import LossAttribution
from rulecheck.rules.loss_disparity import LossDisparity
from rulecheck.rules.monotonic import Monotonic
from rulecheck.rules.performance import Performance
from rulecheck.rules.proxy import Proxy

__all__ = [
    "ALL_RULES",
    "PROPERTY_RULES",
    "EvalContext",
    "Measurement",
    "Rule",
    "RuleBase",
    "rule_class",
]

ALL_RULES: tuple[type[RuleBase], ...] = (
    GroupMetric,
    DemographicParity,
    EqualOpportunity,
    EqualizedOdds,
    DisparateImpact,
    Performance,
    LossDisparity,
    Attribution,
    Proxy,
    LossAttribution,
    Counterfactual,
    Monotonic,
    Invariance,
)

# The rule kinds that call the model on changed inputs (they need a model, not predictions).
PROPERTY_RULES: tuple[type[Counterfactual | Monotonic | Invariance], ...] = (
    Counterfactual,
    Monotonic,
    Invariance,
)

Rule = Annotated[
    GroupMetric
    | DemographicParity
    | EqualOpportunity
    | EqualizedOdds
    | DisparateImpact
    | Performance
    | LossDisparity
    | Attribution
    | Proxy
    | LossAttribution
    | Counterfactual
    | Monotonic
    | Invariance,
    Field(discriminator="kind"),
]


def kind_of(cls: type[RuleBase]) -> str:
    """The ``kind`` tag of a rule class."""
    annotation = cls.model_fields["kind"].annotation
    return str(annotation.__args__[0])  # type: ignore[union-attr]  # Literal["x"].__args__ == ("x",)


KINDS: dict[str, type[RuleBase]] = {kind_of(cls): cls for cls in ALL_RULES}


def rule_class(kind: str) -> type[RuleBase]:
    """The class of rule kind ``kind``; KeyError listing the valid kinds if unknown."""
    try:
        return KINDS[kind]
    except KeyError:
        raise KeyError(
            f"no such rule kind: {kind!r}; valid kinds: {', '.join(sorted(KINDS))}"
        ) from None
