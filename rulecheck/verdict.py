"""Frozen results: :class:`Verdict` per rule and the :class:`Report` of a run.

These types hold data only. Renderers in :mod:`rulecheck.report` turn a Report into text or JSON;
nothing here computes a metric or formats colour.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, Literal

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "BaselineChange",
    "Check",
    "Example",
    "ExitCode",
    "FeatureValue",
    "GroupValue",
    "Interval",
    "Report",
    "ReportFormatError",
    "Scalar",
    "Severity",
    "SourceRef",
    "Status",
    "Verdict",
    "Waiver",
]

REPORT_SCHEMA_VERSION = 2

Scalar = str | int | float | bool
Severity = Literal["error", "warning"]


class Status(StrEnum):
    """Outcome of one rule.

    PASS: every bound holds. FAIL: a bound is broken and the rule's severity is ``error``.
    WARN: a bound is broken and the rule's severity is ``warning`` (does not fail the gate).
    INCONCLUSIVE: judged with intervals, the interval of a bound's value straddles its limit and
    no bound is broken outright; the rule's ``on_inconclusive`` says what that does to the gate.
    ERROR: the rule could not be computed (missing column, undefined value, model raised);
    fails the gate. SKIPPED: the policy marks the rule ``skip: <reason>``. WAIVED: the rule
    would FAIL, WARN or be INCONCLUSIVE, but a live waiver of the policy's ``exceptions`` covers
    it; it does not fail the gate, even under ``--strict``.
    """

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"
    SKIPPED = "skipped"
    WAIVED = "waived"


class ExitCode(int, Enum):
    """Process exit codes of ``rulecheck check`` (after pytest's ``ExitCode``)."""

    OK = 0
    VIOLATIONS = 1
    USAGE_ERROR = 2  # policy or input error, or any ERROR verdict
    INTERNAL_ERROR = 3
    INTERRUPTED = 130  # Ctrl-C (SIGINT), as shells report 128 + 2


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a rule is defined: policy file, 1-based line and column, and the rule's YAML text
    (with the comment lines just above it), so that reports can show it without the file."""

    file: str
    line: int
    column: int
    text: str | None = None

    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Interval:
    """A confidence interval of a measured value: ``low`` to ``high`` at ``confidence``.

    ``method`` names what computed it (bootstrap, wilson, newcombe, katz, delong); ``n`` counts
    the cases that decided the value (the metric's denominator in the groups involved: the
    negatives for a false positive rate), None where no count applies.
    """

    low: float
    high: float
    confidence: float
    method: str
    n: int | None = None

    def describe(self) -> str:
        """'95% CI 0.01 to 0.11'."""
        return f"{self.confidence * 100:.4g}% CI {_fmt(self.low)} to {_fmt(self.high)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "low": self.low,
            "high": self.high,
            "confidence": self.confidence,
            "method": self.method,
            "n": self.n,
        }


@dataclass(frozen=True, slots=True)
class GroupValue:
    """One group's figure: the group's key, its size and the measured value.

    ``value`` is None exactly when ``undefined`` is true (e.g. TPR of a group without positives).
    ``excluded`` groups (smaller than ``min_group_size``) are reported but not compared.
    ``baseline_value`` is the baseline model's figure when a baseline is compared; ``metric``
    names the metric when a rule reports several (equalized_odds). ``ratio`` is the group's
    value divided by the value the rule's ratio bounds compare with (its ``reference_group``,
    the overall value, or else the highest compared group): the impact ratio of a four-fifths
    or NYC Local Law 144 audit. It is set only by rules with a ratio bound, and None for groups
    that are excluded or undefined.
    """

    group: tuple[tuple[str, Scalar], ...]
    n: int
    value: float | None
    undefined: bool = False
    excluded: bool = False
    baseline_value: float | None = None
    metric: str | None = None
    weight: float | None = None  # total sample weight of the group, when weighted
    support: int | None = None  # rows in the metric's denominator (negatives for an FPR)
    interval: Interval | None = None
    ratio: float | None = None

    def label(self) -> str:
        return ", ".join(f"{name}={value}" for name, value in self.group) or "overall"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "group": dict(self.group),
            "n": self.n,
            "value": self.value,
            "undefined": self.undefined,
            "excluded": self.excluded,
        }
        if self.baseline_value is not None:
            out["baseline_value"] = self.baseline_value
        if self.metric is not None:
            out["metric"] = self.metric
        if self.weight is not None:
            out["weight"] = self.weight
        if self.support is not None:
            out["support"] = self.support
        if self.interval is not None:
            out["interval"] = self.interval.to_dict()
        if self.ratio is not None:
            out["ratio"] = self.ratio
        return out


@dataclass(frozen=True, slots=True)
class FeatureValue:
    """One input feature's figure in an attribution or proxy rule (share, score, rank)."""

    feature: str
    value: float
    rank: int
    detail: tuple[tuple[str, Scalar], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "value": self.value,
            "rank": self.rank,
            **dict(self.detail),
        }


@dataclass(frozen=True, slots=True)
class Example:
    """A row for which a property rule's property breaks, and what the model said.

    ``row`` holds the row's model inputs, ``changed`` the inputs the rule changed and their new
    values, ``before`` and ``after`` the compared output (the score, or 1/0 for a decision) of
    the row and of its changed copy. ``source`` is ``data`` (an audited row, ``row_index`` its
    position) or ``search`` (a row the hypothesis search generated and shrank, ``seed`` its
    seed: ``rulecheck check --replay`` re-runs it).
    """

    row: tuple[tuple[str, Scalar], ...]
    changed: tuple[tuple[str, Scalar], ...]
    before: float
    after: float
    source: Literal["data", "search"] = "data"
    row_index: int | None = None
    seed: int | None = None

    def describe(self) -> str:
        """'sex=Male -> Female: score 0.71 -> 0.42 (row 17)'."""
        original = dict(self.row)
        changes = ", ".join(
            f"{name}={_shown(original.get(name))} -> {_shown(value)}"
            for name, value in self.changed
        )
        where = f"row {self.row_index}" if self.source == "data" else f"search, seed {self.seed}"
        return f"{changes}: {_fmt(self.before)} -> {_fmt(self.after)} ({where})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "row_index": self.row_index,
            "seed": self.seed,
            "row": dict(self.row),
            "changed": dict(self.changed),
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True, slots=True)
class Check:
    """One bound of a rule applied to its measured quantity.

    ``bound`` is the policy key (``max_difference``, ``min_ratio`` ...), ``value`` the measured
    quantity it applies to (None when undefined), ``limit`` the threshold it is compared with.
    ``setting`` is the number written in the policy when ``limit`` is derived from it: only
    ``max_decrease: d``, which compares the change (candidate - baseline) with ``limit`` -d.
    Judged with intervals, ``interval`` holds the value's interval and ``outcome`` the decision
    from it (pass, fail or inconclusive); ``passed`` stays the point estimate's comparison.
    ``n`` counts the cases that decided the value and ``unit`` names them ("negatives").
    """

    bound: str
    value: float | None
    limit: float
    op: Literal["<=", ">=", ">"]  # the relation value must have to limit
    passed: bool
    subject: str  # what the value is, in words: "difference between groups"
    metric: str | None = None  # the metric compared, where the rule has one
    setting: float | None = None  # the policy's number when limit is -setting (max_decrease)
    n: int | None = None
    unit: str | None = None
    interval: Interval | None = None
    outcome: Literal["pass", "fail", "inconclusive"] | None = None

    @property
    def holds(self) -> bool:
        """Whether the bound holds: the interval's decision when judged with one, else the
        point estimate's comparison."""
        return self.passed if self.outcome is None else self.outcome == "pass"

    def cases(self) -> str:
        """'n=212 negatives' (empty when no count applies)."""
        if self.n is None:
            return ""
        return f"n={self.n}" + (f" {self.unit}" if self.unit else "")

    def describe(self) -> str:
        """'subject value op bound limit', with the op negated when violated.

        With a ``setting`` (max_decrease): 'subject value op limit: bound d allows a fall of at
        most d', so that the sign of the change and of the limit agree and the words say the rest.
        With an interval: 'subject value (95% CI low to high) op bound limit (n=...)', and for an
        inconclusive bound 'subject value (95% CI ...) may exceed bound limit: inconclusive'.
        """
        if self.interval is not None and self.outcome is not None:
            return self._describe_interval(self.interval, self.outcome)
        op = self.op if self.passed else _NEGATED[self.op]
        shown = "undefined" if self.value is None else _fmt(self.value)
        if self.setting is not None:
            d = _fmt(self.setting)
            return (
                f"{self.subject} {shown} {op} {_fmt(self.limit)}: "
                f"{self.bound} {d} allows a fall of at most {d}"
            )
        return f"{self.subject} {shown} {op} {self.bound} {_fmt(self.limit)}"

    def _describe_interval(self, interval: Interval, outcome: str) -> str:
        shown = "undefined" if self.value is None else _fmt(self.value)
        head = f"{self.subject} {shown} ({interval.describe()})"
        bound = f"{self.bound} {_fmt(self.limit if self.setting is None else self.setting)}"
        cases = self.cases()
        tail = f" ({cases})" if cases else ""
        if outcome == "inconclusive":
            verb = _MAY[self.op]
            if self.setting is not None:
                return f"{head} may fall below {_fmt(self.limit)} ({bound}): inconclusive{tail}"
            return f"{head} {verb} {bound}: inconclusive{tail}"
        op = self.op if outcome == "pass" else _NEGATED[self.op]
        if self.setting is not None:
            return f"{head} {op} {_fmt(self.limit)}: {bound} allows a fall of at most {_fmt(self.setting)}{tail}"
        return f"{head} {op} {bound}{tail}"

    def margin(self) -> float:
        """How far the value is inside its limit (negative when violated)."""
        if self.value is None:
            return float("-inf")
        return self.limit - self.value if self.op == "<=" else self.value - self.limit

    def to_dict(self) -> dict[str, Any]:
        return {
            "bound": self.bound,
            "value": self.value,
            "limit": self.limit,
            "op": self.op,
            "passed": self.passed,
            "subject": self.subject,
            "metric": self.metric,
            **({} if self.setting is None else {"setting": self.setting}),
            **({} if self.n is None else {"n": self.n, "unit": self.unit}),
            **({} if self.interval is None else {"interval": self.interval.to_dict()}),
            **({} if self.outcome is None else {"outcome": self.outcome}),
        }


def _shown(value: object) -> str:
    """A value in words: floats with 4 significant digits (34.31, not 34.30503702871855)."""
    if isinstance(value, float) and not value.is_integer():
        return _fmt(value)
    return str(value)


_NEGATED = {"<=": ">", ">=": "<", ">": "<="}
_MAY = {"<=": "may exceed", ">=": "may fall below", ">": "may not exceed"}


def _fmt(value: float) -> str:
    return f"{value:.4g}"


@dataclass(frozen=True, slots=True)
class BaselineChange:
    """A rule's value for the baseline and the candidate model, and the change between them."""

    subject: str
    baseline: float
    candidate: float
    change: float  # candidate - baseline
    relative_change: float | None  # change / |baseline|; None when the baseline value is 0
    interval: Interval | None = None  # of the change, resampled with the same rows for both

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "subject": self.subject,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "change": self.change,
            "relative_change": self.relative_change,
        }
        if self.interval is not None:
            out["interval"] = self.interval.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class Waiver:
    """An entry of the policy's ``exceptions``: the rule (and, for a grouped rule, the group)
    it waives, why, who owns and who approved it, and the last day it holds (YYYY-MM-DD)."""

    rule: str
    reason: str
    owner: str
    approved_by: str
    expires: str
    group: tuple[tuple[str, Scalar], ...] | None = None

    def group_label(self) -> str:
        """'race=Other', '' without a group."""
        return ", ".join(f"{name}={value}" for name, value in self.group or ())

    def describe(self) -> str:
        """'waived until 2026-12-31 by Jane Roe (reason); owner team-x', with 'for race=Other'
        after 'waived' when the waiver names a group."""
        group = f" for {self.group_label()}" if self.group else ""
        return (
            f"waived{group} until {self.expires} by {self.approved_by} ({self.reason}); "
            f"owner {self.owner}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "group": None if self.group is None else dict(self.group),
            "reason": self.reason,
            "owner": self.owner,
            "approved_by": self.approved_by,
            "expires": self.expires,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Waiver:
        group = data.get("group")
        return cls(
            rule=str(data["rule"]),
            reason=str(data["reason"]),
            owner=str(data["owner"]),
            approved_by=str(data["approved_by"]),
            expires=str(data["expires"]),
            group=None if group is None else tuple(group.items()),
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verdict of one rule.

    ``value`` and ``threshold`` are those of the deciding bound (the first violated bound, else
    the closest to its limit); ``checks`` lists every bound. ``message`` is one readable sentence.
    ``duration_s`` is the rule's wall time in seconds (measure and judge, the baseline's
    measurement included), rounded to 4 decimals; work shared between rules (predictions, SHAP
    values) is computed once, by the first rule that needs it, and counts in that rule's time.
    Judged with intervals, ``interval`` is the deciding bound's and ``on_inconclusive`` what an
    INCONCLUSIVE status does to the gate (warn, fail or pass); ``n`` counts the cases that
    decided the value. A WAIVED verdict keeps the value and message the rule would have had and
    carries the ``waiver`` that covers it.
    """

    rule_id: str
    kind: str
    status: Status
    severity: Severity
    message: str
    source: SourceRef | None
    value: float | None = None
    threshold: float | None = None
    bound: str | None = None
    checks: tuple[Check, ...] = ()
    groups: tuple[GroupValue, ...] = ()
    features: tuple[FeatureValue, ...] = ()
    notes: tuple[str, ...] = ()
    info: tuple[tuple[str, Scalar], ...] = ()
    baseline: BaselineChange | None = None
    duration_s: float = 0.0
    interval: Interval | None = None
    on_inconclusive: Literal["warn", "fail", "pass"] | None = None
    n: int | None = None
    examples: tuple[Example, ...] = ()  # property rules: rows where the property breaks
    waiver: Waiver | None = None  # the live waiver of a WAIVED verdict

    @property
    def failed(self) -> bool:
        """True when this verdict fails the gate under its default (not strict) judgement:
        FAIL, ERROR, or INCONCLUSIVE of an error-severity rule with ``on_inconclusive: fail``."""
        return self.fails_gate(strict=False)

    def fails_gate(self, strict: bool) -> bool:
        """Whether this verdict fails the gate; ``strict``: warnings fail it too.

        INCONCLUSIVE counts as ``on_inconclusive`` says: ``fail`` as a failed rule of this
        rule's severity (FAIL, or WARN for a warning rule), ``warn`` as a WARN, ``pass`` never.
        """
        status = self.status
        if status is Status.INCONCLUSIVE:
            effect = self.on_inconclusive or "warn"
            if effect == "pass":
                return False
            status = Status.FAIL if effect == "fail" and self.severity == "error" else Status.WARN
        if status in (Status.FAIL, Status.ERROR):
            return True
        return strict and status is Status.WARN

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.rule_id,
            "kind": self.kind,
            "status": self.status.value,
            "severity": self.severity,
            "value": self.value,
            "threshold": self.threshold,
            "bound": self.bound,
            "message": self.message,
            "source": None
            if self.source is None
            else {
                "file": self.source.file,
                "line": self.source.line,
                "column": self.source.column,
                **({} if self.source.text is None else {"text": self.source.text}),
            },
            "checks": [c.to_dict() for c in self.checks],
            "groups": [g.to_dict() for g in self.groups],
            "features": [f.to_dict() for f in self.features],
            "notes": list(self.notes),
            "info": dict(self.info),
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
            "duration_s": self.duration_s,
            **({} if self.n is None else {"n": self.n}),
            **({} if self.interval is None else {"interval": self.interval.to_dict()}),
            **({} if self.on_inconclusive is None else {"on_inconclusive": self.on_inconclusive}),
            **({"examples": [e.to_dict() for e in self.examples]} if self.examples else {}),
            **({} if self.waiver is None else {"waiver": self.waiver.to_dict()}),
        }


@dataclass(frozen=True)
class Report:
    """Everything one run decided, with enough provenance to reproduce it.

    ``errors`` holds input errors that are not tied to one rule (for example an unreadable data
    file); any error makes the exit code 2. ``strict`` is the gate the run was judged under
    (``--strict``: failed warning-severity rules fail the gate too); ``passed``, ``exit_code()``
    and every rendered output use it, so text, JSON and the process exit code agree.
    """

    policy_name: str
    policy_file: str | None
    policy_sha256: str
    verdicts: tuple[Verdict, ...]
    created: str
    versions: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Scalar] = field(default_factory=dict)
    model: Mapping[str, Scalar] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    strict: bool = False
    # Per rule kind in the report: its one-line ``summary`` and its documentation ``help``
    # (Markdown; what ``rulecheck explain KIND`` prints), for formats that describe rules (SARIF).
    kinds: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # The date waivers were judged against (YYYY-MM-DD; ``--today``), None when not recorded.
    today: str | None = None

    @property
    def passed(self) -> bool:
        """True when the gate passes: no ERROR, no FAIL (no WARN when strict), no run error."""
        return self.exit_code() == ExitCode.OK

    def exit_code(self, strict: bool | None = None) -> ExitCode:
        """2 for any ERROR verdict or input error, else 1 for any FAIL (or WARN when strict).

        ``strict`` defaults to the gate the report was judged under (:attr:`strict`).
        """
        if strict is None:
            strict = self.strict
        if self.errors or any(v.status is Status.ERROR for v in self.verdicts):
            return ExitCode.USAGE_ERROR
        if any(v.fails_gate(strict) for v in self.verdicts):
            return ExitCode.VIOLATIONS
        return ExitCode.OK

    def counts(self) -> dict[str, int]:
        """Verdicts per status; ``inconclusive`` appears only when a rule is judged with
        intervals and ``waived`` only when a rule is waived, so that reports of policies without
        them keep their keys."""
        optional = (Status.INCONCLUSIVE, Status.WAIVED)
        out = {status.value: 0 for status in Status if status not in optional}
        if any(v.on_inconclusive is not None for v in self.verdicts):
            out[Status.INCONCLUSIVE.value] = 0
        if any(v.status is Status.WAIVED for v in self.verdicts):
            out[Status.WAIVED.value] = 0
        for verdict in self.verdicts:
            out[verdict.status.value] += 1
        return out

    def verdict(self, rule_id: str) -> Verdict:
        """The verdict of the rule with this id (KeyError if there is none)."""
        for verdict in self.verdicts:
            if verdict.rule_id == rule_id:
                return verdict
        raise KeyError(rule_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "policy": {
                "name": self.policy_name,
                "file": self.policy_file,
                "sha256": self.policy_sha256,
            },
            "passed": self.passed,
            "exit_code": int(self.exit_code()),
            "gate": {"strict": self.strict},
            "counts": self.counts(),
            "created": self.created,
            **({} if self.today is None else {"today": self.today}),
            "versions": dict(self.versions),
            "data": dict(self.data),
            "model": dict(self.model),
            "errors": list(self.errors),
            "verdicts": [v.to_dict() for v in self.verdicts],
            "kinds": {kind: dict(doc) for kind, doc in self.kinds.items()},
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """The Report of a saved JSON report (``to_dict``'s output): re-rendering needs no data,
        model or engine. Raises :class:`ReportFormatError` for a report of another schema
        version or a malformed one."""
        version = data.get("schema_version") if isinstance(data, Mapping) else None
        if version != REPORT_SCHEMA_VERSION:
            raise ReportFormatError(
                f"schema_version {version!r} is not {REPORT_SCHEMA_VERSION}, the version this "
                "rulecheck reads; re-run `rulecheck check` with this version to produce it"
                if isinstance(version, int)
                else "not a rulecheck JSON report: no schema_version"
            )
        try:
            policy = data["policy"]
            return cls(
                policy_name=str(policy["name"]),
                policy_file=policy.get("file"),
                policy_sha256=str(policy.get("sha256", "")),
                verdicts=tuple(_verdict_from(v) for v in data["verdicts"]),
                created=str(data.get("created", "")),
                versions=dict(data.get("versions", {})),
                data=dict(data.get("data", {})),
                model=dict(data.get("model", {})),
                errors=tuple(str(e) for e in data.get("errors", [])),
                strict=bool(data.get("gate", {}).get("strict", False)),
                kinds={str(k): dict(v) for k, v in data.get("kinds", {}).items()},
                today=None if data.get("today") is None else str(data["today"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ReportFormatError(f"malformed rulecheck JSON report: {exc!r}") from None

    @classmethod
    def from_json(cls, text: str) -> Report:
        """:meth:`from_dict` of JSON text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ReportFormatError(f"not JSON: {exc}") from None
        return cls.from_dict(data)


class ReportFormatError(ValueError):
    """A saved report that this version of rulecheck cannot read."""


def _interval_from(data: Mapping[str, Any] | None) -> Interval | None:
    if data is None:
        return None
    return Interval(
        float(data["low"]),
        float(data["high"]),
        float(data["confidence"]),
        str(data["method"]),
        data.get("n"),
    )


def _group_from(data: Mapping[str, Any]) -> GroupValue:
    return GroupValue(
        group=tuple(data["group"].items()),
        n=int(data["n"]),
        value=data["value"],
        undefined=bool(data.get("undefined", False)),
        excluded=bool(data.get("excluded", False)),
        baseline_value=data.get("baseline_value"),
        metric=data.get("metric"),
        weight=data.get("weight"),
        support=data.get("support"),
        interval=_interval_from(data.get("interval")),
        ratio=data.get("ratio"),
    )


def _check_from(data: Mapping[str, Any]) -> Check:
    return Check(
        bound=str(data["bound"]),
        value=data["value"],
        limit=float(data["limit"]),
        op=data["op"],
        passed=bool(data["passed"]),
        subject=str(data["subject"]),
        metric=data.get("metric"),
        setting=data.get("setting"),
        n=data.get("n"),
        unit=data.get("unit"),
        interval=_interval_from(data.get("interval")),
        outcome=data.get("outcome"),
    )


def _feature_from(data: Mapping[str, Any]) -> FeatureValue:
    detail = tuple((k, v) for k, v in data.items() if k not in ("feature", "value", "rank"))
    return FeatureValue(str(data["feature"]), float(data["value"]), int(data["rank"]), detail)


def _verdict_from(data: Mapping[str, Any]) -> Verdict:
    source = data.get("source")
    baseline = data.get("baseline")
    return Verdict(
        rule_id=str(data["id"]),
        kind=str(data["kind"]),
        status=Status(data["status"]),
        severity=data["severity"],
        message=str(data["message"]),
        source=None
        if source is None
        else SourceRef(
            str(source["file"]), int(source["line"]), int(source["column"]), source.get("text")
        ),
        value=data.get("value"),
        threshold=data.get("threshold"),
        bound=data.get("bound"),
        checks=tuple(_check_from(c) for c in data.get("checks", [])),
        groups=tuple(_group_from(g) for g in data.get("groups", [])),
        features=tuple(_feature_from(f) for f in data.get("features", [])),
        notes=tuple(str(n) for n in data.get("notes", [])),
        info=tuple(data.get("info", {}).items()),
        baseline=None
        if baseline is None
        else BaselineChange(
            subject=str(baseline["subject"]),
            baseline=float(baseline["baseline"]),
            candidate=float(baseline["candidate"]),
            change=float(baseline["change"]),
            relative_change=baseline.get("relative_change"),
            interval=_interval_from(baseline.get("interval")),
        ),
        duration_s=float(data.get("duration_s", 0.0)),
        interval=_interval_from(data.get("interval")),
        on_inconclusive=data.get("on_inconclusive"),
        n=data.get("n"),
        examples=tuple(_example_from(e) for e in data.get("examples", [])),
        waiver=None if data.get("waiver") is None else Waiver.from_dict(data["waiver"]),
    )


def _example_from(data: Mapping[str, Any]) -> Example:
    return Example(
        row=tuple(data["row"].items()),
        changed=tuple(data["changed"].items()),
        before=float(data["before"]),
        after=float(data["after"]),
        source=data.get("source", "data"),
        row_index=data.get("row_index"),
        seed=data.get("seed"),
    )
