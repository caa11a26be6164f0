"""proxy: inputs that stand in for a protected attribute, even when it is not an input itself.

**What it checks**
For a protected attribute column (``protected``, which need not be a model input), measures how
much the model's inputs reveal it:

- ``max_association``: the association of each input with the attribute, a score in [0, 1].
  ``association: auto`` uses normalized mutual information (NMI, arithmetic mean) for categorical
  inputs and the correlation ratio η for numeric ones; ``nmi``, ``cramers_v`` (Cramér's V without
  bias correction) and ``correlation_ratio`` force one measure (field ``association``). A numeric input with at most 10
  distinct values counts as categorical;
- ``max_auc``: how well the attribute can be predicted from all inputs together: the 5-fold
  cross-validated ROC AUC of a gradient-boosted classifier (one-vs-rest macro average for more
  than two groups). 0.5 means the inputs reveal nothing, 1.0 that they determine it;
- ``max_share``: the summed SHAP attribution share of the inputs whose association exceeds
  ``association_threshold`` (default 0.3), i.e. how much the model relies on the proxies.

``features`` restricts the candidates (names, globs, feature groups; default: every model input
except the attribute). The verdict names the worst proxies with their scores.

Limits: association is not causation, and a proxy can be legitimate (an income that differs by
sex can still be a valid credit factor); the rule surfaces it for review. NMI and Cramér's V
depend on how finely a feature is binned; the AUC depends on the classifier's capacity and is a
lower bound on what an adversary could learn. Thresholds: NMI above 0.3 or η above 0.5 is a
strong association; an AUC above 0.7 says the inputs encode the attribute. NMI understates
an input with many categories that determines the attribute (personal_status_sex has four codes
and determines sex, yet NMI is 0.74): use ``association: cramers_v`` (1.0 there) for such inputs.

**Why it matters**
Dropping a protected attribute from the inputs does not make a model blind to it: postcodes
encode ethnicity, "husband"/"wife" encodes sex. Regulators judge outcomes, and a model that
relies on a proxy discriminates as surely as one that uses the attribute.

**Example**
Passing (no input has NMI above 0.2 with race):

```yaml
- id: race-proxies
  kind: proxy
  protected: race
  max_association: 0.3
```

Failing on the German credit data, where personal_status_sex determines sex (NMI 0.74;
Cramér's V 1.0), and on Adult, where the inputs predict sex with a cross-validated AUC of 0.94:

```yaml
- id: sex-proxies
  kind: proxy
  protected: sex
  max_association: 0.5
  max_auc: 0.8
  max_share: 0.05
```

**References**
- Feldman et al. (2015), "Certifying and Removing Disparate Impact" (predictability of the
  protected attribute as the test for disparate impact).
- Datta et al. (2017), "Use Privacy in Data-Driven Systems" (proxy use).
- scikit-learn ``normalized_mutual_info_score``; ``scipy.stats.contingency.association``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from rulecheck._intervals import Estimator
from rulecheck._measures import ProxyScore
from rulecheck.rules._base import EvalContext, Measurement, RuleBase, at_most, fmt
from rulecheck.rules._shares import share_estimator, shares
from rulecheck.verdict import Check, FeatureValue

__all__ = ["Proxy"]


class Proxy(RuleBase):
    """Association of inputs with a protected attribute, its predictability, and proxy reliance."""

    summary = "inputs that reveal a protected attribute: max_association, max_auc, max_share"

    kind: Literal["proxy"]
    protected: str = Field(
        min_length=1, description="Column with the protected attribute (need not be a model input)."
    )
    features: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Candidate proxies: names, globs or feature groups (default: every model input).",
    )
    association: Literal["auto", "nmi", "cramers_v", "correlation_ratio"] = Field(
        default="auto",
        description="Association measure; auto: NMI for categorical inputs, correlation ratio for numeric.",
    )
    max_association: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Largest allowed association of any candidate with the protected attribute.",
    )
    max_auc: float | None = Field(
        default=None,
        ge=0.5,
        le=1,
        description="Largest allowed cross-validated ROC AUC of predicting the attribute from the candidates.",
    )
    max_share: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Largest allowed summed attribution share of the candidates above association_threshold.",
    )
    association_threshold: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="Candidates with a higher association count as proxies for max_share.",
    )
    top: int = Field(default=10, ge=1, le=100, description="How many candidates the verdict lists.")

    @model_validator(mode="after")
    def _needs_a_bound(self) -> Proxy:
        bounds = (self.max_association, self.max_auc, self.max_share)
        if all(b is None for b in bounds) and not self.has_change_bounds():
            raise PydanticCustomError(
                "missing_bound",
                "give at least one bound: max_association, max_auc, max_share, max_increase, "
                "max_decrease, max_relative_increase",
            )
        return self

    def measure(self, ctx: EvalContext) -> Measurement:
        scores = sorted(
            ctx.proxy_scores(self.protected, self.features, self.association),
            key=lambda s: -s.score,
        )
        checks: list[Check] = []
        estimators: list[Estimator | None] = []
        share_of: dict[str, float] = {}
        if self.max_association is not None:
            worst = scores[0]
            subject = f"association of {worst.feature} with {self.protected} ({worst.measure})"
            checks.append(at_most("max_association", worst.score, self.max_association, subject))
            estimators.append(ctx.proxy_estimator(self.protected, self.features, self.association))
        if self.max_auc is not None:
            auc = ctx.protected_auc(self.protected, self.features)
            source = "the inputs" if self.features is None else ", ".join(self.features)
            subject = f"ROC AUC of predicting {self.protected} from {source}"
            checks.append(at_most("max_auc", auc, self.max_auc, subject))
            estimators.append(None)  # cross-validated: no interval
        if self.max_share is not None:
            table = ctx.attribution(())
            share_of = shares(table.features, table.mean_abs)
            proxies = [s.feature for s in scores if s.score > self.association_threshold]
            share = sum(share_of.get(f, 0.0) for f in proxies)
            named = ", ".join(proxies) if proxies else "none"
            subject = (
                f"attribution share of proxies of {self.protected} "
                f"(association > {fmt(self.association_threshold)}: {named})"
            )
            checks.append(at_most("max_share", share, self.max_share, subject))
            estimators.append(share_estimator(table, proxies, combined=True) if proxies else None)
        features = tuple(
            FeatureValue(
                feature=s.feature,
                value=s.score,
                rank=rank,
                detail=(("measure", s.measure),)
                + ((("attribution_share", share_of.get(s.feature, 0.0)),) if share_of else ()),
            )
            for rank, s in enumerate(scores[: self.top], start=1)
        )
        context = "strongest: " + ", ".join(
            f"{s.feature} {fmt(s.score)} ({s.measure})" for s in scores[:3]
        )
        primary = checks[0] if checks else None
        return Measurement(
            checks=tuple(checks),
            primary=primary.value if primary else scores[0].score,
            subject=primary.subject if primary else f"strongest association with {self.protected}",
            context=context,
            features=features,
            notes=_missing_notes(scores),
            estimators=tuple(estimators),
            primary_estimator=estimators[0]
            if estimators
            else ctx.proxy_estimator(self.protected, self.features, self.association),
        )


def _missing_notes(scores: list[ProxyScore]) -> tuple[str, ...]:
    """Say how missing feature values entered each association."""
    left_out = [
        f"{s.feature} ({s.missing:,})"
        for s in scores
        if s.missing and s.measure == "correlation_ratio"
    ]
    as_category = [
        f"{s.feature} ({s.missing:,})"
        for s in scores
        if s.missing and s.measure != "correlation_ratio"
    ]
    notes = []
    if left_out:
        notes.append(
            f"Rows with missing values left out of the correlation ratio: {', '.join(left_out)}."
        )
    if as_category:
        notes.append(
            f"Missing values counted as a category of their own: {', '.join(as_category)}."
        )
    return tuple(notes)
