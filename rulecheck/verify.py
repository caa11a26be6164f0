"""``rulecheck verify``: unit tests for policies (in the manner of ``conftest verify``).

A test file names a policy and lists cases, each a tiny dataset and the status every named
rule must reach on it::

    policy: ../../policies/four-fifths.yaml   # or builtin:four-fifths, or policy_text: |
    params: {group_column: g}                        # optional: extends the policy with these
    cases:
      - name: ratio-below-0.8-fails
        data: {g: [a, a, b, b], y: [1, 0, 1, 0], p: [1, 1, 1, 0]}   # or csv: file.csv
        target: {label: y, prediction: p}             # merged over the policy's target
        expect: {four-fifths-g: fail}

A case may also ``fit`` a small scikit-learn model on its data, for rules that need one
(attribution): ``fit: {estimator: DecisionTreeClassifier, features: [x, sex]}`` (the label is the
target's). Paths (``policy``, ``csv``, ``target.model``) are relative to the test file.

The test file goes through the same YAML loader as policies and is validated with pydantic, so
a malformed file is reported as ``file:line:col`` problems (exit code 2), and so is an ``expect``
naming a rule the policy does not have. A case passes when every expected rule has its status.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from rulecheck._source import SourceMap, YamlSyntaxError, parse_yaml
from rulecheck.errors import InputError, PolicyError, PolicyProblem
from rulecheck.policy import Policy, Target, load_policy, policy_from_text
from rulecheck.verdict import ExitCode, Status

__all__ = ["CaseResult", "VerifyFile", "run", "verify_file"]

Scalar = str | int | float | bool
StatusName = Literal["pass", "fail", "warn", "error", "skipped", "inconclusive", "waived"]
MISMATCH = "rule {rule} expected {expected}, got {got}: {message}"


class FitSpec(BaseModel):
    """A small scikit-learn model fitted on the case's data (seeded, for rules needing a model)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    estimator: Literal["DecisionTreeClassifier", "LogisticRegression", "LinearRegression"] = Field(
        description="The scikit-learn estimator, fitted with its defaults (random_state=0)."
    )
    features: list[str] = Field(min_length=1, description="The columns the model reads.")


class VerifyCase(BaseModel):
    """One case: data, optional target overrides and model, and the expected statuses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, description="Shown in the output.")
    data: dict[str, list[Scalar]] | None = Field(
        default=None, description="Inline columns: name -> values (all of one length)."
    )
    csv: str | None = Field(default=None, description="A CSV file, relative to the test file.")
    target: dict[str, Any] | None = Field(
        default=None, description="Merged over the policy's target (label, prediction, ...)."
    )
    fit: FitSpec | None = Field(default=None, description="Fit a small model on the data.")
    expect: dict[str, StatusName] = Field(min_length=1, description="Rule id -> expected status.")

    @model_validator(mode="after")
    def _one_data_source(self) -> VerifyCase:
        if (self.data is None) == (self.csv is None):
            raise PydanticCustomError("data_source", "give either data (inline columns) or csv")
        if self.data is not None and len({len(v) for v in self.data.values()}) > 1:
            raise PydanticCustomError("data_length", "every data column must have the same length")
        return self


class VerifyFile(BaseModel):
    """A test file: the policy under test and its cases."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy: str | None = Field(
        default=None, description="Policy file (relative to the test file) or builtin:NAME."
    )
    policy_text: str | None = Field(default=None, description="The policy's YAML text inline.")
    params: dict[str, Scalar | list[Scalar]] | None = Field(
        default=None, description="Parameters: the policy is extended with these values."
    )
    cases: list[VerifyCase] = Field(min_length=1, description="The cases.")

    @model_validator(mode="after")
    def _one_policy(self) -> VerifyFile:
        if (self.policy is None) == (self.policy_text is None):
            raise PydanticCustomError("policy_source", "give either policy or policy_text")
        if self.params is not None and self.policy is None:
            raise PydanticCustomError(
                "params_need_policy", "params extend a policy file: use policy, not policy_text"
            )
        return self


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case: its mismatches (empty when it passed)."""

    name: str
    mismatches: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.mismatches


@dataclass
class FileResult:
    file: str
    cases: list[CaseResult] = field(default_factory=list)


def run(paths: Sequence[str], out: TextIO, err: TextIO) -> int:
    """Verify every test file: one line per case and a summary on ``out``; problems on ``err``.

    Exit code 0 when every case passed, 1 when a case failed, 2 when a test file (or its
    policy) is malformed.
    """
    code = ExitCode.OK
    passed = failed = 0
    for name in paths:
        try:
            result = verify_file(FsPath(name))
        except PolicyError as exc:
            print(exc.render(), file=err)
            code = ExitCode.USAGE_ERROR
            continue
        except (InputError, OSError, UnicodeDecodeError) as exc:
            print(f"rulecheck: error: {name}: {exc}", file=err)
            code = ExitCode.USAGE_ERROR
            continue
        for case in result.cases:
            if case.passed:
                passed += 1
                print(f"{name}::{case.name} ok", file=out)
            else:
                failed += 1
                print(f"{name}::{case.name} FAILED: " + "; ".join(case.mismatches), file=out)
                if code is ExitCode.OK:
                    code = ExitCode.VIOLATIONS
    print(f"{passed} passed, {failed} failed", file=out)
    return int(code)


def verify_file(path: FsPath) -> FileResult:
    """Run the cases of one test file. PolicyError for a malformed file or policy."""
    text = path.read_text(encoding="utf-8")
    spec, spans = _parse(text, str(path))
    policy = _policy(spec, path)
    _check_expectations(spec, spans, policy, text, str(path))
    result = FileResult(str(path))
    for case in spec.cases:
        result.cases.append(_run_case(case, policy, path.parent))
    return result


def _parse(text: str, file: str) -> tuple[VerifyFile, SourceMap]:
    try:
        data, spans = parse_yaml(text, file)
    except YamlSyntaxError as exc:
        raise PolicyError([PolicyProblem(exc.span, "", exc.message, exc.kind)], text) from None
    try:
        return VerifyFile.model_validate(data), spans
    except ValidationError as exc:
        problems = [_problem(error, spans) for error in exc.errors()]
        raise PolicyError(problems, text) from None


def _problem(error: Any, spans: SourceMap) -> PolicyProblem:
    # Pydantic adds the union member or validator name to some locations; keep the data's path.
    path = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
    location = ".".join(str(p) for p in path)
    message = str(error["msg"])
    if error["type"] == "missing":
        return PolicyProblem(
            spans.value(path[:-1]), location, f"missing required field {path[-1]!r}", "missing"
        )
    if error["type"] == "extra_forbidden":
        return PolicyProblem(spans.key(path), location, f"unknown field {path[-1]!r}", "extra")
    return PolicyProblem(spans.value(path), location, message, str(error["type"]))


def _policy(spec: VerifyFile, path: FsPath) -> Policy:
    if spec.policy_text is not None:
        return policy_from_text(spec.policy_text, f"{path}#policy_text")
    assert spec.policy is not None
    builtin = spec.policy.startswith("builtin:")
    if spec.params is None and not builtin:
        return load_policy(path.parent / spec.policy)
    # A small wrapper that extends the policy with the given params; named after the test file
    # so that relative paths (its extends entry, the target's files) resolve next to it. JSON is
    # YAML, and quotes every value safely.
    lines = [
        "version: 1",
        f"name: {json.dumps('verify-' + path.stem)}",
        f"extends: [{json.dumps(spec.policy)}]",
    ]
    if spec.params:
        lines.append(f"params: {json.dumps(spec.params)}")
    return policy_from_text("\n".join(lines) + "\n", str(path.parent / f"{path.name}#params"))


def _check_expectations(
    spec: VerifyFile, spans: SourceMap, policy: Policy, text: str, file: str
) -> None:
    ids = [rule.id for rule in policy.rules]
    problems: list[PolicyProblem] = []
    for index, case in enumerate(spec.cases):
        for rule_id in case.expect:
            if rule_id not in ids:
                problems.append(
                    PolicyProblem(
                        spans.key(("cases", index, "expect", rule_id)),
                        f"cases[{index}] ({case.name}).expect",
                        f"the policy has no rule {rule_id!r}; its rules: {', '.join(ids)}",
                        "unknown_rule",
                    )
                )
        if case.target is not None:
            merged = _merged_target(policy, case.target)
            try:
                Target.model_validate(merged)
            except ValidationError as exc:
                for error in exc.errors():
                    path = ("cases", index, "target", *error["loc"])
                    problems.append(
                        PolicyProblem(
                            spans.value(path),
                            f"cases[{index}] ({case.name}).target",
                            str(error["msg"]),
                            str(error["type"]),
                        )
                    )
    if problems:
        raise PolicyError(problems, text, sources={file: text})


def _merged_target(policy: Policy, overrides: dict[str, Any]) -> dict[str, Any]:
    base = policy.target.model_dump(exclude_unset=True) if policy.target is not None else {}
    return {**base, **overrides}


def _run_case(case: VerifyCase, policy: Policy, here: FsPath) -> CaseResult:
    import pandas as pd

    from rulecheck.evaluation import evaluate

    target = _merged_target(policy, case.target or {})
    if "model" in target and case.target and "model" in case.target:
        target["model"] = str((here / case.target["model"]).resolve())
    target.pop("data", None)  # the case's data replaces the policy's
    model: Any = None
    frame = pd.read_csv(here / case.csv) if case.csv is not None else pd.DataFrame(case.data)
    if case.fit is not None:
        label = target.get("label")
        if label is None:
            return CaseResult(case.name, ("fit needs target.label",))
        model = _fit(case.fit, frame, str(label))
        target["features"] = list(case.fit.features)
        target.pop("prediction", None)
    audited = policy.model_copy(update={"target": Target.model_validate(target)})
    try:
        report = evaluate(audited, frame, model=model)
    except InputError as exc:
        return CaseResult(case.name, (f"the case could not run: {exc}",))
    verdicts = {v.rule_id: v for v in report.verdicts}
    mismatches: list[str] = []
    for rule_id, expected in case.expect.items():
        verdict = verdicts.get(rule_id)
        got = verdict.status.value if verdict is not None else "missing"
        if got != expected:
            message = verdict.message if verdict is not None else "no verdict"
            if verdict is not None and verdict.status is Status.ERROR and report.errors:
                message = "; ".join(str(e) for e in report.errors)
            mismatches.append(
                MISMATCH.format(rule=rule_id, expected=expected, got=got, message=message)
            )
    return CaseResult(case.name, tuple(mismatches))


def _fit(spec: FitSpec, frame: Any, label: str) -> Any:
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    estimator: Any
    if spec.estimator == "DecisionTreeClassifier":
        estimator = DecisionTreeClassifier(random_state=0)
    elif spec.estimator == "LogisticRegression":
        estimator = LogisticRegression()
    else:
        estimator = LinearRegression()
    return estimator.fit(frame[spec.features], frame[label])
