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

from rulecheck._intervals import (
    Estimate,
    Estimator,
    IntervalSettings,
    Outcome,
    decide,
)
from rulecheck._measures import (
    AttributionTable,
    Condition,
    GroupTable,
    PropertyResult,
    PropertySpec,
    ProxyScore,
)
from rulecheck._settings import (
    BootstrapSettings,
    IntervalMethod,
    OnInconclusive,
    UncertaintySettings,
)
from rulecheck.errors import InputError
from rulecheck.rules._where import WHERE_DESCRIPTION, Where, where_conditions
from rulecheck.verdict import (
    BaselineChange,
    Check,
    Example,
    FeatureValue,
    GroupValue,
    Interval,
    Scalar,
    Severity,
    SourceRef,
    Status,
    Verdict,
)

__all__ = [
    "CLASSIFICATION_METRICS",
    "EvalContext",
    "Judged",
    "Measurement",
    "MetricName",
    "MissingMode",
    "RuleBase",
    "RuleId",
    "above",
    "at_least",
    "at_most",
    "conclude",
    "fmt",
    "judge",
    "prepare",
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

    def overall_estimator(self, metric: str) -> Estimator | None:
        """The interval source of :meth:`overall_metric` (None where the engine has none)."""
        ...

    def property_result(self, spec: PropertySpec, by: tuple[str, ...]) -> PropertyResult:
        """Test a property of the model (counterfactual, monotonic, invariance) on the audited
        rows (one batched model call per perturbation) and, if asked, by a search."""
        ...

    def proxy_estimator(
        self, protected: str, candidates: Sequence[str] | None, measure: str
    ) -> Estimator | None:
        """The interval source of the largest association of the candidates with ``protected``
        (as :meth:`proxy_scores` measures them), resampled jointly."""
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
    confidence: float | None = Field(
        default=None,
        ge=0.5,
        le=0.9999,
        description="Judge with intervals at this two-sided confidence (overrides the policy's uncertainty.confidence).",
    )
    method: IntervalMethod | None = Field(
        default=None,
        description="Interval method for this rule: bootstrap or analytic (overrides uncertainty.method).",
    )
    bootstrap: BootstrapSettings | None = Field(
        default=None, description="Bootstrap replicates and seed for this rule."
    )
    on_inconclusive: OnInconclusive | None = Field(
        default=None,
        description="What an inconclusive verdict of this rule does to the gate: warn, fail or pass.",
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

    def interval_settings(self, policy: UncertaintySettings | None) -> IntervalSettings | None:
        """How this rule is judged with intervals: its own keys over the policy's
        ``uncertainty:`` block; None (point estimates) when neither asks for intervals."""
        own = (self.confidence, self.method, self.bootstrap, self.on_inconclusive)
        if policy is None and all(value is None for value in own):
            return None
        base = policy or UncertaintySettings()
        boot = self.bootstrap or base.bootstrap
        return IntervalSettings(
            confidence=self.confidence if self.confidence is not None else base.confidence,
            method=self.method or base.method,
            replicates=boot.n,
            seed=boot.seed,
            on_inconclusive=self.on_inconclusive or base.on_inconclusive,
        )

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
    # Interval sources: one per check (None where a bound has none, e.g. a rank), one for the
    # primary value (baseline changes resample it with the baseline's), one per group.
    estimators: tuple[Estimator | None, ...] = ()
    primary_estimator: Estimator | None = None
    group_estimators: tuple[Estimator | None, ...] = ()
    examples: tuple[Example, ...] = ()  # property rules: rows where the property breaks


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


@dataclass(frozen=True, slots=True)
class Judged:
    """A rule's bounds ready to be decided: every check (the change bounds included), the
    interval source of each (None where a bound has none or intervals are off), and the
    evidence. :func:`conclude` turns it into a verdict; evaluation ranks the estimates of all
    rules first when the policy asks for Holm's correction."""

    checks: tuple[Check, ...]
    estimates: tuple[Estimate | None, ...]
    groups: tuple[GroupValue, ...]
    change: BaselineChange | None
    notes: tuple[str, ...]
    settings: IntervalSettings | None


def prepare(
    rule: RuleBase,
    measurement: Measurement,
    baseline: Measurement | None = None,
    settings: IntervalSettings | None = None,
) -> Judged:
    """Collect the checks of a measurement (and the change bounds against ``baseline``) and,
    with ``settings``, compute the interval source of each: the expensive part (bootstrap)."""
    checks = list(measurement.checks)
    change: BaselineChange | None = None
    groups = measurement.groups
    notes: list[str] = []
    estimates: list[Estimate | None] = [None] * len(checks)
    if settings is not None:
        estimates = [
            None if e is None else e(settings) for e in _padded(measurement.estimators, len(checks))
        ]
        groups = _group_intervals(groups, measurement.group_estimators, settings)
        unavailable = sorted({c.bound for c, e in zip(checks, estimates, strict=True) if e is None})
        if unavailable:
            notes.append(
                f"{', '.join(unavailable)} judged on the point estimate (no interval applies)."
            )
    if baseline is not None:
        change = _change(measurement, baseline)
        change_checks = _change_checks(rule, change)
        # The change is decided by the same cases as the value it changes.
        source = next((c for c in measurement.checks if c.value == measurement.primary), None)
        if source is not None and source.n is not None:
            change_checks = [replace(c, n=source.n, unit=source.unit) for c in change_checks]
        checks.extend(change_checks)
        groups = _side_by_side(groups, baseline.groups)
        if settings is not None:
            absolute, relative, note = _change_estimates(measurement, baseline, settings)
            if note:
                notes.append(note)
            for check in change_checks:
                estimates.append(relative if check.bound == "max_relative_increase" else absolute)
            if absolute is not None:
                low, high = absolute.interval(settings.confidence)
                change = replace(
                    change,
                    interval=Interval(low, high, settings.confidence, absolute.method, absolute.n),
                )
        else:
            estimates.extend([None] * len(change_checks))
    if not checks:
        raise ValueError(f"rule {rule.id!r} measured no bound")  # a bug in the rule, not user input
    for estimate in estimates:
        if estimate is not None:
            notes.extend(n for n in estimate.notes if n not in notes)
    return Judged(tuple(checks), tuple(estimates), groups, change, tuple(notes), settings)


def conclude(
    rule: RuleBase,
    measurement: Measurement,
    judged: Judged,
    levels: Sequence[float] | None = None,
    decided: Sequence[bool] | None = None,
) -> Verdict:
    """Decide every bound and build the verdict.

    Without intervals a bound holds when its point estimate does. With intervals a bound is
    decided by its interval (at ``levels[i]``, the rule's confidence unless Holm's correction
    set another): pass, fail or inconclusive; ``decided[i]`` False (Holm's step-down stopped
    before bound i) makes it inconclusive. The rule fails if any bound fails, is inconclusive
    if none fails and one is inconclusive, else passes.
    """
    settings = judged.settings
    checks: list[Check] = []
    for index, (check, estimate) in enumerate(zip(judged.checks, judged.estimates, strict=True)):
        if settings is None:
            checks.append(check)
            continue
        if estimate is None:
            checks.append(replace(check, outcome="pass" if check.passed else "fail"))
            continue
        level = settings.confidence if levels is None else levels[index]
        low, high = estimate.interval(level)
        outcome: Outcome = decide((low, high), check.op, check.limit)
        if decided is not None and not decided[index]:
            outcome = "inconclusive"
        n = check.n if check.n is not None else estimate.n
        checks.append(
            replace(
                check,
                n=n,
                interval=Interval(low, high, level, estimate.method, n),
                outcome=outcome,
            )
        )
    failed = [c for c in checks if _outcome(c) == "fail"]
    open_ = [c for c in checks if _outcome(c) == "inconclusive"]
    if failed:
        # The first violated bound decides; where one bound is checked on several quantities
        # (equalized_odds: TPR and FPR differences), the worst of them.
        deciding = min((c for c in failed if c.bound == failed[0].bound), key=Check.margin)
        status = Status.FAIL if rule.severity == "error" else Status.WARN
    elif open_:
        deciding = min(open_, key=Check.margin)
        status = Status.INCONCLUSIVE
    else:
        deciding = min(checks, key=Check.margin)
        status = Status.PASS
    others = [c for c in checks if c is not deciding]
    message = deciding.describe()
    if measurement.context:
        message += f" ({measurement.context})"
    if others:
        message += "; also " + "; ".join(c.describe() for c in others)
    message += "."
    notes = (*measurement.notes, *judged.notes)
    for note in notes:
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
        groups=judged.groups,
        features=measurement.features,
        notes=notes,
        info=measurement.info,
        baseline=judged.change,
        interval=deciding.interval,
        on_inconclusive=None if settings is None else settings.on_inconclusive,
        n=deciding.n,
        examples=measurement.examples,
    )


def judge(
    rule: RuleBase,
    measurement: Measurement,
    baseline: Measurement | None = None,
    settings: IntervalSettings | None = None,
) -> Verdict:
    """Turn a measurement into a verdict. The only place where bounds decide a status.

    The rule fails if any bound fails; ``value``/``threshold`` are those of the deciding bound
    (the first failed one, else the one closest to its limit) and the message names every bound.
    Bounds are inclusive: a value equal to its limit passes. With a ``baseline`` measurement the
    change bounds (max_increase, max_decrease, max_relative_increase) apply to the change of the
    rule's primary value, candidate - baseline, whose checks name both values; every group shows
    both models' values. With ``settings`` every bound is decided by its interval (see
    :func:`conclude`).
    """
    return conclude(rule, measurement, prepare(rule, measurement, baseline, settings))


def _outcome(check: Check) -> Outcome:
    if check.outcome is not None:
        return check.outcome
    return "pass" if check.passed else "fail"


def _padded(items: tuple[Estimator | None, ...], length: int) -> list[Estimator | None]:
    return [*items, *([None] * (length - len(items)))][:length]


def _group_intervals(
    groups: tuple[GroupValue, ...],
    estimators: tuple[Estimator | None, ...],
    settings: IntervalSettings,
) -> tuple[GroupValue, ...]:
    out: list[GroupValue] = []
    for group, estimator in zip(groups, _padded(estimators, len(groups)), strict=True):
        if estimator is None or group.value is None:
            out.append(group)
            continue
        estimate = estimator(settings)
        low, high = estimate.interval(settings.confidence)
        interval = Interval(low, high, settings.confidence, estimate.method, estimate.n)
        out.append(replace(group, interval=interval))
    return tuple(out)


def _change_estimates(
    candidate: Measurement, baseline: Measurement, settings: IntervalSettings
) -> tuple[Estimate | None, Estimate | None, str]:
    """Paired interval sources of the change and the relative change (the bootstrap: the same
    resampled rows for both models), and a note when they cannot be paired."""
    if candidate.primary_estimator is None or baseline.primary_estimator is None:
        return None, None, "Baseline change bounds judged on the point estimate (no interval)."
    paired = settings.with_method("bootstrap")
    mine = candidate.primary_estimator(paired)
    theirs = baseline.primary_estimator(paired)
    absolute = mine.change_from(theirs, relative=False)
    relative = mine.change_from(theirs, relative=True)
    if absolute is None:
        return None, None, "Baseline change bounds judged on the point estimate (not paired)."
    note = "" if settings.method == "bootstrap" else "Change intervals: paired bootstrap."
    return absolute, relative, note


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
