"""The policy document: :class:`Policy`, its :class:`Target`, and :func:`load_policy`.

Loading is three steps (STYLE.md C4): parse YAML with positions (:mod:`rulecheck._source`),
validate with pydantic, then map every validation error back to the line and column it concerns.
All problems are reported at once, sorted by position, as ``file:line:col: location: message``.
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from rulecheck._settings import AttributionSettings, UncertaintySettings
from rulecheck._source import Path, SourceMap, YamlSyntaxError, parse_yaml
from rulecheck._traps import TRAP_TYPE, canonical, type_traps, yaml_reading
from rulecheck.errors import PolicyError, PolicyProblem
from rulecheck.rules import KINDS, Rule
from rulecheck.rules._groups import GroupSelector, check_selector
from rulecheck.rules._where import WHERE_DESCRIPTION, WHERE_TAGS, Where, WhereBounds, WhereOps
from rulecheck.verdict import SourceRef, Waiver

__all__ = [
    "AttributionSettings",
    "CsvOptions",
    "Policy",
    "Target",
    "UncertaintySettings",
    "load_policy",
    "policy_from_text",
]

Label = str | int | float | bool
ParamValue = str | int | float | bool | list[str | int | float | bool]


class CsvOptions(BaseModel):
    """How to read a CSV data file; unset fields keep pandas' defaults (',' '.' utf-8)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    delimiter: str | None = Field(
        default=None,
        min_length=1,
        max_length=1,
        description="Field delimiter, one character (default ','; e.g. ';' or a tab).",
    )
    decimal: str | None = Field(
        default=None,
        min_length=1,
        max_length=1,
        description="Decimal mark, one character (default '.'; ',' for many European exports).",
    )
    encoding: str | None = Field(
        default=None,
        min_length=1,
        description="Text encoding (default utf-8; a UTF-8 byte-order mark is always accepted), e.g. latin-1, cp1252, utf-16.",
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise PydanticCustomError(
                    "unknown_encoding",
                    "unknown encoding '{encoding}' (e.g. utf-8, latin-1, cp1252, utf-16)",
                    {"encoding": value},
                ) from None
        return value


class Target(BaseModel):
    """What to audit: data, label, predictions or model. Paths are relative to the policy file.

    CLI flags and :func:`rulecheck.evaluate` arguments override these values.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, allow_inf_nan=False)

    data: str | None = Field(
        default=None, description="Data file: CSV (optionally .gz) or Parquet."
    )
    label: str | None = Field(default=None, description="Column with the true labels (outcomes).")
    prediction: str | None = Field(
        default=None,
        description="Column of precomputed decisions/predictions (predictions-only audit, no model).",
    )
    score: str | None = Field(
        default=None,
        description="Column of precomputed scores (probability of the positive label) for roc_auc/log_loss.",
    )
    model: str | None = Field(
        default=None,
        description="Model file: .skops, LightGBM .txt/.lgb, XGBoost .json/.ubj; .pkl/.joblib need --trust-model.",
    )
    features: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Model input columns (default: every column except label, prediction and score).",
    )
    baseline: str | None = Field(
        default=None,
        description="Baseline model file to compare with (rules with max_increase / max_decrease ...).",
    )
    baseline_prediction: str | None = Field(
        default=None,
        description="Column of the baseline's decisions (predictions-only comparison).",
    )
    baseline_score: str | None = Field(default=None, description="Column of the baseline's scores.")
    baseline_for_all: bool = Field(
        default=False,
        description=(
            "Measure the baseline for every rule, to show both models' figures side by side; by "
            "default only rules with change bounds (max_increase ...) measure it, since it doubles "
            "a rule's work (attribution included)."
        ),
    )
    positive_label: Label | None = Field(
        default=None,
        description="The label value that counts as positive (default 1). Other values are negative.",
    )
    labels: list[Label] | None = Field(
        default=None,
        min_length=2,
        description="All admissible label values; any other value in the label column is an input error.",
    )
    threshold: float | None = Field(
        default=None,
        description="Scores at or above this are positive decisions (default 0.5), when decisions come from scores.",
    )
    task: Literal["classification", "regression"] | None = Field(
        default=None,
        description="Default: regression when a regression metric is used and labels are not binary.",
    )
    sample_weight: str | None = Field(
        default=None,
        description="Column of sample weights (e.g. survey weights): counts, rates, losses, performance metrics and mean attributions are weighted; min_group_size still counts rows.",
    )
    dtypes: dict[str, Literal["category", "int", "float", "str", "bool"]] | None = Field(
        default=None,
        min_length=1,
        description="Column types to apply after reading the data, so CSV and Parquet give identical results (e.g. {zip: str, grade: category}).",
    )
    where: Where | None = Field(default=None, description=WHERE_DESCRIPTION)
    csv: CsvOptions | None = Field(
        default=None,
        description="How to read a CSV data file: {delimiter: ';', decimal: ',', encoding: latin-1}.",
    )
    model_output: str = Field(
        default="auto",
        min_length=1,
        pattern=r"\S",
        description="What the model's predictions are: auto (as the model says; a LightGBM custom objective gives margins; an ONNX model's probability output), margin (log-odds, e.g. an XGBoost custom obj=: sigmoid/softmax applied) or probability; for an ONNX model, any other value names the output to read (docs/models.md).",
    )

    @field_validator("model")
    @classmethod
    def _one_prediction_source(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("prediction") is not None:
            raise PydanticCustomError(
                "conflicting_options",
                "give either prediction (a column) or model (a file), not both",
            )
        return value


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NonEmpty = Annotated[str, Field(min_length=1, pattern=r"\S")]


class WaiverSpec(BaseModel):
    """An entry of ``exceptions``: a waiver of one rule (or of one group of a grouped rule)
    until a date. See docs/policy.md, "Waivers"."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, allow_inf_nan=False)

    rule: str = Field(min_length=1, description="Id of the rule waived.")
    group: GroupSelector | None = Field(
        default=None,
        description="Only this group of the rule's by column(s) (a value, or a mapping for several by columns): the rule is waived when it passes with the group left out of the comparison.",
    )
    reason: NonEmpty = Field(description="Why the rule is waived.")
    owner: NonEmpty = Field(description="Who answers for fixing it.")
    approved_by: NonEmpty = Field(description="Who approved the waiver.")
    expires: str = Field(
        description="Last day the waiver holds, YYYY-MM-DD; from the next day the rule is an ERROR if it still fails."
    )

    @field_validator("expires", mode="before")
    @classmethod
    def _a_date(cls, value: Any) -> Any:
        if isinstance(value, dt.date):  # YAML loaders other than ours
            return value.isoformat()
        if not isinstance(value, str):
            return value  # str validation reports the type
        if not _DATE.match(value):
            raise PydanticCustomError(
                "date_format", "expires must be a date YYYY-MM-DD, got '{value}'", {"value": value}
            )
        try:
            dt.date.fromisoformat(value)
        except ValueError as exc:
            raise PydanticCustomError(
                "date_invalid",
                "expires {value} is not a date of the calendar ({error})",
                {"value": value, "error": str(exc)},
            ) from None
        return value

    @property
    def expiry(self) -> dt.date:
        return dt.date.fromisoformat(self.expires)

    def waiver(self, by: tuple[str, ...]) -> Waiver:
        """The report's record of this waiver; ``by``: the rule's group columns."""
        group = None
        if self.group is not None:
            values = self.group if isinstance(self.group, dict) else {by[0]: self.group}
            group = tuple((column, values[column]) for column in by)
        return Waiver(
            rule=self.rule,
            reason=self.reason,
            owner=self.owner,
            approved_by=self.approved_by,
            expires=self.expires,
            group=group,
        )


FeatureGroupName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$")]


class Policy(BaseModel):
    """A versioned set of rules about one model (or one column of predictions)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, allow_inf_nan=False)

    version: Literal[1] = Field(description="Policy format version; this is version 1.")
    name: str = Field(min_length=1, description="Name of the policy, shown in reports.")
    extends: list[str] | None = Field(
        default=None,
        description="Policies this one builds on, merged in order before its own rules: file paths relative to this file, or builtin:NAME packs (rulecheck list-packs). An inherited rule id may be reused only with override: true.",
    )
    params: dict[str, ParamValue] | None = Field(
        default=None,
        description="Parameters of the extended policies: here, their values (e.g. race_column: ethnicity); in a pack, their declarations ({type: str, default: race}), used as ${params.NAME} in string values.",
    )
    description: str | None = Field(
        default=None, description="What the policy is for, who owns it."
    )
    target: Target | None = Field(
        default=None,
        description="Default data, label, predictions or model for ``rulecheck check``.",
    )
    attribution: AttributionSettings | None = Field(
        default=None, description="Explainer settings for attribution rules."
    )
    feature_groups: dict[FeatureGroupName, Annotated[list[str], Field(min_length=1)]] | None = (
        Field(
            default=None,
            description="Named lists of features (names or globs) that attribution and proxy rules can refer to.",
        )
    )
    uncertainty: UncertaintySettings | None = Field(
        default=None,
        description="Judge every rule with confidence intervals: pass or fail only when the whole interval says so, else inconclusive. Rules can set confidence, method, bootstrap and on_inconclusive themselves.",
    )
    time_budget_s: float | None = Field(
        default=None,
        gt=0,
        description="Seconds each rule may take; a rule still computing then (e.g. a model-agnostic explainer) ends as ERROR saying so.",
    )
    rules: list[Rule] = Field(
        min_length=1, description="The rules; each needs a unique ``id`` and a ``kind``."
    )
    exceptions: list[WaiverSpec] | None = Field(
        default=None,
        description="Waivers: a rule (or one group of it) that may fail, warn or be inconclusive until a date without failing the gate (status waived). Each needs rule, reason, owner, approved_by and expires (YYYY-MM-DD).",
    )

    _file: str | None = PrivateAttr(default=None)
    _sha256: str = PrivateAttr(default="")

    _warnings: tuple[PolicyProblem, ...] = PrivateAttr(default=())

    @property
    def warnings(self) -> tuple[PolicyProblem, ...]:
        """Problems that do not stop the policy, e.g. ``positive_label: yes`` read as a boolean."""
        return self._warnings

    @property
    def file(self) -> str | None:
        """Path of the policy file (None when loaded from a string)."""
        return self._file

    @property
    def sha256(self) -> str:
        """sha256 of the policy text as loaded."""
        return self._sha256

    @property
    def base_dir(self) -> FsPath:
        """Directory that relative target paths are resolved against."""
        return FsPath(self._file).parent if self._file else FsPath.cwd()


def load_policy(source: str | FsPath) -> Policy:
    """Load and validate a policy from a file path or from YAML text.

    A string containing a newline, or starting with ``version:``, is taken as YAML text; anything
    else as a path. Raises :class:`PolicyError` listing every problem, or ``FileNotFoundError``.

    Examples
    --------
    >>> policy = load_policy('''
    ... version: 1
    ... name: demo
    ... rules:
    ...   - {id: dp, kind: demographic_parity, by: sex}
    ... ''')
    >>> policy.rules[0].id
    'dp'
    """
    if isinstance(source, str) and ("\n" in source or source.lstrip().startswith("version:")):
        return policy_from_text(source, "<string>")
    path = FsPath(source)
    text = path.read_text(encoding="utf-8")
    return policy_from_text(text, str(path))


def policy_from_text(text: str, file: str) -> Policy:
    """Validate YAML ``text``; ``file`` names it in messages and anchors relative paths."""
    try:
        data, spans = parse_yaml(text, file)
    except YamlSyntaxError as exc:
        raise PolicyError([PolicyProblem(exc.span, "", exc.message, exc.kind)], text) from None
    if not isinstance(data, dict):
        span = spans.value(())
        raise PolicyError(
            [
                PolicyProblem(
                    span,
                    "",
                    "a policy must be a mapping with version, name and rules",
                    "not_mapping",
                )
            ],
            text,
        )
    texts = {file: text}
    origins: list[str] | None = None
    composed = None
    if "extends" in data or "params" in data:
        from rulecheck._extends import compose

        composed = compose(data, spans, file, text)
        data, spans, texts, origins = (
            composed.data,
            composed.spans,
            composed.texts,
            composed.origins,
        )
    problems = _duplicate_ids(data, spans)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems.extend(
            _with_yaml_hint(_problem(error, data, spans), error, data, spans)
            for error in exc.errors()
        )
        raise PolicyError(problems, text, sources=texts) from None
    problems.extend(_booleans_as_numbers(policy, data, spans))
    problems.extend(_waiver_problems(policy, data, spans))
    if problems:
        raise PolicyError(problems, text, sources=texts)

    policy._file = None if file == "<string>" else file
    policy._sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    warnings = [
        PolicyProblem(spans.value(path), _location(path, data), message, TRAP_TYPE)
        for path, message in type_traps(data, spans)
    ]
    policy._warnings = tuple(sorted(warnings, key=lambda p: (p.span.line, p.span.column)))
    starts = [spans.value(("rules", index)) for index in range(len(policy.rules))]
    lines_of = {name: body.splitlines() for name, body in texts.items()}
    for index, rule in enumerate(policy.rules):
        span = starts[index]
        lines = lines_of.get(span.file, [])
        # The rule ends before the next rule of the same file (rules of other files interleave).
        later = [s.line for s in starts[index + 1 :] if s.file == span.file and s.line > span.line]
        end = min(later) - 1 if later else len(lines)
        origin = span.file if origins is None else origins[index]
        rule._source = SourceRef(
            origin if span.file != file else file,
            span.line,
            span.column,
            _rule_text(lines, span.line, end, span.column) if lines else None,
        )
    return policy


def _rule_text(lines: list[str], first: int, last: int, column: int) -> str:
    """The YAML of one rule: its lines from ``first`` up to ``last`` (1-based, the line before
    the next rule or the end of the file) that are still inside the rule (indented under its
    ``-``), without trailing blank and comment lines, and with the comment lines just above it.
    """
    indent = max(column - 3, 0)  # the column of the "- " that starts the list item
    body: list[str] = []
    for number in range(first, last + 1):
        line = lines[number - 1]
        stripped = line.strip()
        inside = len(line) - len(line.lstrip()) > indent
        if number > first and stripped and not stripped.startswith("#") and not inside:
            break  # back at the rule list's indentation or above: the rules ended
        body.append(line)
    while body and (not body[-1].strip() or body[-1].strip().startswith("#")):
        body.pop()
    above: list[str] = []
    number = first - 1
    while number >= 1 and lines[number - 1].strip().startswith("#"):
        above.insert(0, lines[number - 1])
        number -= 1
    return "\n".join(above + body)


def _waiver_problems(policy: Policy, data: Any, spans: SourceMap) -> list[PolicyProblem]:
    """Waivers must name a rule of the policy (once), and a group only of a rule with ``by``,
    with the rule's by columns."""
    rules = {rule.id: rule for rule in policy.rules}
    problems: list[PolicyProblem] = []
    first: dict[str, int] = {}
    for index, waiver in enumerate(policy.exceptions or []):
        path: Path = ("exceptions", index)

        def problem(field: str, message: str, kind: str, path: Path = path) -> None:
            at = (*path, field)
            problems.append(PolicyProblem(spans.value(at), _location(at, data), message, kind))

        rule = rules.get(waiver.rule)
        if rule is None:
            close = difflib.get_close_matches(waiver.rule, list(rules), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problem("rule", f"no rule {waiver.rule!r} in the policy to waive{hint}", "unknown_rule")
            continue
        if waiver.rule in first:
            earlier = spans.value(("exceptions", first[waiver.rule])).line
            problem(
                "rule",
                f"rule {waiver.rule!r} already has a waiver (at line {earlier}); give one "
                "waiver per rule",
                "duplicate_waiver",
            )
            continue
        first[waiver.rule] = index
        if waiver.group is None:
            continue
        by = getattr(rule, "by_columns", None)
        if not by:
            problem(
                "group",
                f"rule {waiver.rule!r} ({rule.kind}) has no by column: a waiver of it cannot "
                "name a group; waive the whole rule (leave out group)",
                "group_without_by",
            )
            continue
        try:
            check_selector(waiver.group, list(by), "group")
        except PydanticCustomError as exc:
            problem("group", f"{exc.message()} (rule {waiver.rule!r})", exc.type)
    return problems


def _duplicate_ids(data: Mapping[str, Any], spans: SourceMap) -> list[PolicyProblem]:
    rules = data.get("rules")
    if not isinstance(rules, list):
        return []
    first: dict[str, int] = {}
    problems: list[PolicyProblem] = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict) or not isinstance(rule.get("id"), str):
            continue
        rule_id = rule["id"]
        if rule_id in first:
            earlier = spans.value(("rules", first[rule_id])).line
            problems.append(
                PolicyProblem(
                    spans.value(("rules", index, "id")),
                    f"rules[{index}] (id: {rule_id}).id",
                    f"duplicate rule id {rule_id!r} (first used by the rule at line {earlier})",
                    "duplicate_id",
                )
            )
        else:
            first[rule_id] = index
    return problems


_UNION_MEMBERS = frozenset({"str", "int", "float", "bool"})


def _data_path(loc: Sequence[str | int], data: Any) -> Path:
    """Map a pydantic ``loc`` onto the document, dropping discriminator tags (e.g. 'group_metric')."""
    path: list[str | int] = []
    node = data
    for segment in loc:
        if isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node):  # noqa: SIM114  (separate branches keep type narrowing)
            node = node[segment]
            path.append(segment)
        elif isinstance(node, dict) and segment in node:
            node = node[segment]
            path.append(segment)
        elif isinstance(node, dict) and node.get("kind") == segment:
            continue  # the union's tag: not part of the document
        elif isinstance(segment, str) and (
            segment.endswith("]") or segment in _UNION_MEMBERS or segment in WHERE_TAGS
        ):
            continue  # union member names such as 'list[str]' or 'int', where-filter tags
        else:
            path.append(segment)
            node = None
    return tuple(path)


def _location(path: Path, data: Any) -> str:
    out = ""
    node = data
    for segment in path:
        if isinstance(segment, int):
            out += f"[{segment}]"
            node = node[segment] if isinstance(node, list) and segment < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                out += f" (id: {node['id']})"
        else:
            out += f".{segment}" if out else segment
            node = node.get(segment) if isinstance(node, dict) else None
    return out


def _model_for(path: Path, data: Any) -> type[BaseModel] | None:
    """The pydantic model whose fields are valid at ``path`` (for 'did you mean')."""
    if not path:
        return Policy
    if "where" in path[:-1]:  # inside a where filter: {column: {gt: ..., not: ...}}
        after = path[path.index("where") + 1 :]
        if len(after) == 1:
            return WhereOps
        if len(after) == 2 and after[1] == "not":
            return WhereBounds
    if path[0] == "target" and len(path) == 1:
        return Target
    if path[0] == "rules" and len(path) == 2 and isinstance(data, dict):
        rules = data.get("rules")
        if isinstance(rules, list) and isinstance(path[1], int) and path[1] < len(rules):
            rule = rules[path[1]]
            if isinstance(rule, dict) and rule.get("kind") in KINDS:
                return KINDS[rule["kind"]]
    return None


def _problem(error: Mapping[str, Any], data: Any, spans: SourceMap) -> PolicyProblem:
    kind = str(error["type"])
    path = _data_path(error["loc"], data)
    message = str(error["msg"])
    location = _location(path, data)
    if kind == "missing":
        span = spans.value(path[:-1])
        message = f"missing required field {path[-1]!r}"
        if path[-1] == "kind":
            message += "; valid kinds: " + ", ".join(KINDS)
    elif kind == "extra_forbidden":
        span = spans.key(path)
        model = _model_for(path[:-1], data)
        message = f"unknown field {path[-1]!r}"
        if model is not None:
            fields = [i.alias or f for f, i in model.model_fields.items() if f != "kind"]
            close = difflib.get_close_matches(str(path[-1]), fields, n=1)
            message += f"; did you mean {close[0]!r}?" if close else "."
            message += " Valid fields: " + ", ".join(fields)
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        kind_path = (*path, "kind")
        span = spans.value(kind_path)
        location = _location(kind_path, data)
        tag = error.get("ctx", {}).get("tag")
        valid = "valid kinds: " + ", ".join(KINDS)
        if kind == "union_tag_invalid":
            message = f"unknown rule kind {tag!r}; {valid}"
            close = difflib.get_close_matches(str(tag), list(KINDS), n=1)
            if close:
                message += f". Did you mean {close[0]!r}?"
        else:
            message = f"missing required field 'kind'; {valid}"
            span = spans.value(path)
    elif kind == "literal_error":
        span = spans.value(path)
        given = error.get("input")
        expected = error.get("ctx", {}).get("expected", "")
        options = [o.strip().strip("'") for o in str(expected).replace(" or ", ", ").split(",")]
        close = (
            difflib.get_close_matches(str(given), options, n=1) if isinstance(given, str) else []
        )
        message = f"{given!r} is not one of {expected}"
        if close:
            message += f"; did you mean {close[0]!r}?"
    elif kind == "string_pattern_mismatch" and path and path[-1] == "id":
        span = spans.value(path)
        message = (
            f"rule id {_clip(error.get('input'))} is not valid: use letters and digits (any "
            "script), '_', '.' and '-', starting with a letter or digit"
        )
    elif kind in ("model_type", "dict_type") and "input" in error:
        span = spans.value(path)
        message = f"expected a mapping, got {_type_name(error['input'])}"
    else:
        span = spans.value(path)
        if kind.endswith(("_type", "_parsing")):
            message = (
                f"{message} (got {_type_name(error.get('input'))} {_clip(error.get('input'))})"
            )
    return PolicyProblem(span, location, message, kind)


def _clip(value: Any, limit: int = 60) -> str:
    """``repr(value)``, shortened: a policy value may be a 10 MB string or a 4000-digit number."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**limit else "a huge number"
    return text if len(text) <= limit else text[: limit - 4] + "...'"[: 4 if text[0] == "'" else 3]


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


# Errors about a value's type, where quoting a value YAML retyped (by: yes) may be the fix.
_TYPE_ERRORS = frozenset({"string_type", "list_type", "literal_error", "dict_type", "model_type"})


def _with_yaml_hint(
    problem: PolicyProblem, error: Mapping[str, Any], data: Any, spans: SourceMap
) -> PolicyProblem:
    """Say how YAML read a value that fails validation because it was not quoted (``by: yes``)."""
    text = spans.typed.get(_data_path(error["loc"], data))
    value = error.get("input")
    if text is None or value is None or error["type"] not in _TYPE_ERRORS:
        return problem
    if error["type"] != "string_type" and text == canonical(value):
        return problem  # `version: 2` or `by: 2`'s list_type: quoting would not help
    hint = f"; YAML reads {text} as {yaml_reading(error['input'])}: quote it"
    return PolicyProblem(problem.span, problem.location, problem.message + hint, problem.type)


def _booleans_as_numbers(policy: Policy, data: Any, spans: SourceMap) -> list[PolicyProblem]:
    """``max_difference: yes`` validates as 1.0 (pydantic takes a bool for a number): refuse it."""
    problems: list[PolicyProblem] = []
    for path, text in spans.typed.items():
        written = _walk(data, path)
        if not isinstance(written, bool):
            continue
        validated = _walk(policy, path)
        if isinstance(validated, int | float) and not isinstance(validated, bool):
            problems.append(
                PolicyProblem(
                    spans.value(path),
                    _location(path, data),
                    f"expected a number, got {text} (YAML reads unquoted yes/no/on/off/true/false "
                    "as booleans)",
                    "bool_as_number",
                )
            )
    return problems


def _walk(node: Any, path: Path) -> Any:
    """The value at ``path`` in plain data or in validated models; None where there is none."""
    for segment in path:
        if isinstance(segment, int):
            ok = isinstance(node, list | tuple) and 0 <= segment < len(node)
            node = node[segment] if ok else None
        elif isinstance(node, dict):
            node = node.get(segment)
        elif isinstance(node, BaseModel):
            node = getattr(node, segment, None)
        else:
            return None
    return node
