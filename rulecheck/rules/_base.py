"""What every rule shares: the frozen base model, the measurement it returns, the one place where
bounds are compared, and the :class:`EvalContext` protocol through which rules ask for numbers.

Rules never import an engine: they call ``ctx.group_metric(...)`` and the engine that implements
the protocol does the computing. This keeps ``rulecheck validate`` free of numpy, pandas and shap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, ClassVar, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from rulecheck._measures import AttributionTable, Condition, GroupTable, ProxyScore
from rulecheck.errors import InputError
from rulecheck.rules._where import WHERE_DESCRIPTION, Where, where_conditions
from rulecheck.verdict import (
    BaselineChange,
    Check,
    FeatureValue,
    GroupValue,
    Scalar,
    Severity,
    SourceRef,
    Status,
    Verdict,
)

__all__ = [
    "CLASSIFICATION_METRICS",
    "EvalContext",
    "Measurement",
    "MetricName",
    "MissingMode",
    "RuleBase",
    "RuleId",
    "above",
    "at_least",
    "at_most",
    "fmt",
    "judge",
]

RuleId = Annotated[
    str,
    Field(
        # Letters and digits of any script (公平-dp, égalité); no whitespace, control characters
        # or <>&"' so that ids go into JUnit XML, SARIF and pytest node ids unescaped.
        pattern=r"^[\p{L}\p{N}][\p{L}\p{M}\p{N}_.\-]*$",
        max_length=100,
        description=(
            "Stable, unique identifier of at most 100 characters: letters and digits of any "
            "script, '_', '.', '-', starting with a letter or digit."
        ),
    ),
]

# What a grouped rule does with rows whose group column is missing.
MissingMode = Literal["error", "group", "drop"]

# Metrics over binary decisions, computed from per-group confusion counts.
ClassificationMetric = Literal[
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "true_negative_rate",
    "false_negative_rate",
    "precision",
    "negative_predictive_value",
    "false_discovery_rate",
    "false_omission_rate",
    "accuracy",
    "balanced_accuracy",
    "f1",
]
# Metrics over numeric predictions.
RegressionMetric = Literal["mean_prediction", "mean_absolute_error", "mean_squared_error", "r2"]
# Every metric a group_metric rule computes per group.
MetricName = Literal[ClassificationMetric, RegressionMetric]
CLASSIFICATION_METRICS: tuple[str, ...] = get_args(ClassificationMetric)
# Metrics that are fractions in [0, 1], so that differences and bounds above 1 are mistakes.
RATE_METRICS: frozenset[str] = frozenset(CLASSIFICATION_METRICS) | {"roc_auc"}


class EvalContext(Protocol):
    """What a rule may ask of the data and the model. Engines implement it.

    Every method raises :class:`rulecheck.errors.InputError` with a precise message when the
    inputs do not allow the computation (missing column, NaN, no scores ...).
    """

    def group_metric(self, metric: str, by: tuple[str, ...]) -> GroupTable:
        """``metric`` for every group of the ``by`` columns (and overall)."""
        ...

    def overall_metric(self, metric: str) -> float | None:
        """``metric`` on all rows; None when undefined (zero denominator)."""
        ...

    def group_loss(self, name: str, params: Mapping[str, float], by: tuple[str, ...]) -> GroupTable:
        """Mean of the per-row loss ``name`` (built-in or registered) per group and overall."""
        ...

    def attribution(self, by: tuple[str, ...], max_rows: int | None = None) -> AttributionTable:
        """Mean |SHAP| per model input, overall and per group of ``by`` (may be empty).

        ``max_rows`` (a rule's own) overrides the policy's ``attribution.max_rows``.
        """
        ...

    def loss_attribution(
        self,
        name: str,
        params: Mapping[str, float],
        by: tuple[str, ...],
        max_rows: int | None = None,
    ) -> AttributionTable:
        """Mean |SHAP| of each input in explaining the per-row loss ``name``, per group."""
        ...

    def resolve_features(self, selectors: Sequence[str]) -> tuple[str, ...]:
        """Feature names for names, globs and the policy's named feature groups."""
        ...

    def proxy_scores(
        self, protected: str, candidates: Sequence[str] | None, measure: str
    ) -> tuple[ProxyScore, ...]:
        """Association of each candidate feature (default: every model input) with ``protected``."""
        ...

    def protected_auc(self, protected: str, candidates: Sequence[str] | None) -> float:
        """Cross-validated ROC AUC of predicting ``protected`` from the candidate features."""
        ...


class RuleBase(BaseModel):
    """Fields shared by every rule kind."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, allow_inf_nan=False)

    summary: ClassVar[str] = ""

    id: RuleId = Field(
        description="Stable, unique identifier of the rule; used in reports and as pytest test id."
    )
    description: str | None = Field(
        default=None, description="Free text shown in reports: why the rule exists, who owns it."
    )
    severity: Severity = Field(
        default="error",
        description="``error`` fails the gate when the rule fails; ``warning`` reports WARN and does not.",
    )
    skip: str | None = Field(
        default=None,
        min_length=1,
        description="Reason for skipping this rule; the verdict is SKIPPED and the reason is reported.",
    )
    where: Where | None = Field(default=None, description=WHERE_DESCRIPTION)
    max_increase: float | None = Field(
        default=None,
        ge=0,
        description="Baseline comparison: the rule's value may exceed the baseline model's by at most this.",
    )
    max_decrease: float | None = Field(
        default=None,
        ge=0,
        description="Baseline comparison: the rule's value may fall below the baseline's by at most this.",
    )
    max_relative_increase: float | None = Field(
        default=None,
        ge=0,
        description="Baseline comparison: (candidate - baseline) / |baseline| may be at most this.",
    )

    _source: SourceRef | None = PrivateAttr(default=None)

    @property
    def source(self) -> SourceRef | None:
        """Where the rule is defined in its policy file (None for rules built in Python)."""
        return self._source

    def conditions(self) -> tuple[Condition, ...]:
        """The rule's ``where`` filter as conditions (empty: the target's rows)."""
        return where_conditions(self.where)

    def group_selection(self) -> tuple[tuple[str, ...], MissingMode]:
        """The rule's group columns and what to do with missing values in them."""
        return (), "error"

    def has_change_bounds(self) -> bool:
        """True when the rule compares the candidate with a baseline model."""
        return (
            self.max_increase is not None
            or self.max_decrease is not None
            or self.max_relative_increase is not None
        )


@dataclass(frozen=True, slots=True)
class Measurement:
    """What a rule measured: its bound checks plus the evidence shown in the verdict.

    ``primary`` is the rule's headline value (the quantity of its first bound, which baseline
    comparisons apply to) and ``subject`` says what it is; ``context`` is a short phrase naming
    the extremes, e.g. "highest race=African-American 0.4485, lowest ...".
    """

    checks: tuple[Check, ...]
    primary: float | None
    subject: str = ""
    context: str = ""
    groups: tuple[GroupValue, ...] = ()
    features: tuple[FeatureValue, ...] = ()
    notes: tuple[str, ...] = ()
    info: tuple[tuple[str, Scalar], ...] = ()


def fmt(value: float | None) -> str:
    """Numbers in messages: four significant digits."""
    return "undefined" if value is None else f"{value:.4g}"


def at_most(
    bound: str, value: float, limit: float, subject: str, metric: str | None = None
) -> Check:
    """A ``max_*`` bound: passes when ``value <= limit`` (bounds are inclusive)."""
    return Check(bound, value, limit, "<=", value <= limit, subject, metric)


def at_least(
    bound: str, value: float, limit: float, subject: str, metric: str | None = None
) -> Check:
    """A ``min_*`` bound: passes when ``value >= limit`` (bounds are inclusive)."""
    return Check(bound, value, limit, ">=", value >= limit, subject, metric)


def above(bound: str, value: float, limit: float, subject: str) -> Check:
    """A strict lower bound: passes when ``value > limit`` (e.g. a rank outside the top k)."""
    return Check(bound, value, limit, ">", value > limit, subject)


def judge(rule: RuleBase, measurement: Measurement, baseline: Measurement | None = None) -> Verdict:
    """Turn a measurement into a verdict. The only place where bounds decide a status.

    The rule fails if any bound fails; ``value``/``threshold`` are those of the deciding bound
    (the first failed one, else the one closest to its limit) and the message names every bound.
    Bounds are inclusive: a value equal to its limit passes. With a ``baseline`` measurement the
    change bounds (max_increase, max_decrease, max_relative_increase) apply to the change of the
    rule's primary value, candidate - baseline, whose checks name both values; every group shows
    both models' values.
    """
    checks = list(measurement.checks)
    change: BaselineChange | None = None
    groups = measurement.groups
    if baseline is not None:
        change = _change(measurement, baseline)
        checks.extend(_change_checks(rule, change))
        groups = _side_by_side(measurement.groups, baseline.groups)
    if not checks:
        raise ValueError(f"rule {rule.id!r} measured no bound")  # a bug in the rule, not user input
    failed = [c for c in checks if not c.passed]
    if failed:
        # The first violated bound decides; where one bound is checked on several quantities
        # (equalized_odds: TPR and FPR differences), the worst of them.
        deciding = min((c for c in failed if c.bound == failed[0].bound), key=Check.margin)
    else:
        deciding = min(checks, key=Check.margin)
    status = Status.PASS if not failed else Status.FAIL if rule.severity == "error" else Status.WARN
    others = [c for c in checks if c is not deciding]
    message = deciding.describe()
    if measurement.context:
        message += f" ({measurement.context})"
    if others:
        message += "; also " + "; ".join(c.describe() for c in others)
    message += "."
    for note in measurement.notes:
        message += f" {note}"
    return Verdict(
        rule_id=rule.id,
        kind=_kind(rule),
        status=status,
        severity=rule.severity,
        message=message,
        source=rule.source,
        value=deciding.value,
        threshold=deciding.limit,
        bound=deciding.bound,
        checks=tuple(checks),
        groups=groups,
        features=measurement.features,
        notes=measurement.notes,
        info=measurement.info,
        baseline=change,
    )


def _change(candidate: Measurement, baseline: Measurement) -> BaselineChange:
    if candidate.primary is None or baseline.primary is None:
        which = "candidate" if candidate.primary is None else "baseline"
        raise InputError(f"the rule's value is undefined for the {which} model; cannot compare")
    delta = candidate.primary - baseline.primary
    if delta == 0:
        relative: float | None = 0.0  # no change is no relative change, even from 0
    else:
        relative = None if baseline.primary == 0 else delta / abs(baseline.primary)
    return BaselineChange(candidate.subject, baseline.primary, candidate.primary, delta, relative)


def _change_checks(rule: RuleBase, change: BaselineChange) -> list[Check]:
    """Every change bound compares the signed change, candidate - baseline (one convention in
    text and JSON); max_decrease d is the lower bound change >= -d."""
    subject = change.subject or "value"
    figures = f"candidate {fmt(change.candidate)} - baseline {fmt(change.baseline)}"
    checks: list[Check] = []
    if rule.max_increase is not None:
        checks.append(
            at_most(
                "max_increase", change.change, rule.max_increase, f"change of {subject} ({figures})"
            )
        )
    if rule.max_decrease is not None:
        limit = -rule.max_decrease
        checks.append(
            Check(
                "max_decrease",
                change.change,
                limit,
                ">=",
                change.change >= limit,
                f"change of {subject} ({figures})",
                setting=rule.max_decrease,
            )
        )
    if rule.max_relative_increase is not None:
        if change.relative_change is None:
            raise InputError(
                f"max_relative_increase is undefined: the baseline's {subject} is 0; use max_increase"
            )
        checks.append(
            at_most(
                "max_relative_increase",
                change.relative_change,
                rule.max_relative_increase,
                f"relative change of {subject} (({figures}) / |baseline|)",
            )
        )
    return checks


def _side_by_side(
    candidate: tuple[GroupValue, ...], baseline: tuple[GroupValue, ...]
) -> tuple[GroupValue, ...]:
    base = {(g.metric, g.group): g.value for g in baseline}
    return tuple(replace(g, baseline_value=base.get((g.metric, g.group))) for g in candidate)


def _kind(rule: RuleBase) -> str:
    kind = getattr(rule, "kind", "")
    return str(kind)


def error_verdict(rule: RuleBase, message: str) -> Verdict:
    """ERROR: the rule could not be computed. The message says why, in terms of the inputs."""
    return Verdict(
        rule_id=rule.id,
        kind=_kind(rule),
        status=Status.ERROR,
        severity=rule.severity,
        message=message,
        source=rule.source,
    )


def skipped_verdict(rule: RuleBase) -> Verdict:
    return Verdict(
        rule_id=rule.id,
        kind=_kind(rule),
        status=Status.SKIPPED,
        severity=rule.severity,
        message=f"skipped: {rule.skip}",
        source=rule.source,
    )
