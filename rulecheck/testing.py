"""pytest support: assert a policy in a test, one test per rule, or collect policy files.

Three ways, from the most to the least code (docs/pytest.md has examples)::

    report = assert_policy("policy.yaml", data=frame, model=model)  # one assertion, every rule

    @parametrize_rules("policy.yaml")                               # one test per rule
    def test_rule(rule, credit_data, credit_model):
        rule.check(data=credit_data, model=credit_model)

    pytest --rulecheck            # or ini `rulecheck_policies = policies/*.yaml`: one item per
                                  # rule of each policy whose target names its data and model

This module is a ``pytest11`` plugin (entry point ``rulecheck.testing``; without the installed
entry point: ``pytest -p rulecheck.testing``). Loading it imports neither numpy, pandas nor shap:
:mod:`rulecheck.evaluation` is imported by the first evaluation, so collection stays fast and a
test run that collects no policy pays nothing.

PYTEST_DONT_REWRITE: the plugin raises its own AssertionErrors, and the marker keeps pytest from
warning that a plugin given with ``-p`` after its import cannot be rewritten.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from rulecheck.errors import PolicyError
from rulecheck.verdict import Report, Status, Verdict

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr

    from rulecheck.policy import Policy

__all__ = [
    "PolicyFile",
    "PolicyRule",
    "PolicyViolation",
    "RuleFailure",
    "RuleItem",
    "RuleWarning",
    "assert_policy",
    "assert_rule",
    "parametrize_rules",
]


class PolicyViolation(AssertionError):
    """Rules of a policy fail the gate; ``report`` is the whole report, ``failed`` the verdicts
    that fail it. The message lists each failed rule with its status, message, value, threshold,
    ``file:line`` and YAML."""

    def __init__(
        self, report: Report, failed: Sequence[Verdict], strict: bool, *, one_rule: bool = False
    ) -> None:
        self.report = report
        self.failed = tuple(failed)
        self.strict = strict
        super().__init__(_violation_message(report, self.failed, strict, one_rule))


class RuleWarning(UserWarning):
    """A rule that does not fail the gate but is not a pass either (WARN, or INCONCLUSIVE
    counted as a warning or a pass): shown in pytest's warnings summary."""


# --------------------------------------------------------------------------------------------
# 1. assert_policy


def assert_policy(
    policy: Policy | str | os.PathLike[str],
    data: Any = None,
    *,
    model: Any = None,
    strict: bool = False,
    **kwargs: Any,
) -> Report:
    """Evaluate ``policy`` and return its :class:`~rulecheck.Report` when the gate passes.

    Raises :class:`PolicyViolation` (an ``AssertionError``) listing every rule whose verdict
    fails the gate (:meth:`Verdict.fails_gate`): FAIL and ERROR, WARN when ``strict``, and
    INCONCLUSIVE as the rule's ``on_inconclusive`` says. ``data``, ``model`` and ``kwargs`` are
    :func:`rulecheck.evaluate`'s (``label=``, ``prediction=``, ``predictions=`` ...); the policy
    is evaluated on every call (:func:`parametrize_rules` caches).
    """
    __tracebackhide__ = True
    from rulecheck import evaluation

    if not isinstance(policy, str | Path):
        policy = _load(policy)
    report = evaluation.evaluate(policy, data, model=model, strict=strict, **kwargs)
    failed = [v for v in report.verdicts if v.fails_gate(strict)]
    if failed or report.errors:
        raise PolicyViolation(report, failed, strict)
    return report


# --------------------------------------------------------------------------------------------
# 2. parametrize_rules and PolicyRule


@dataclass(frozen=True)
class PolicyRule:
    """One rule of a policy, the parameter of a :func:`parametrize_rules` test.

    ``id`` is the rule's id, ``policy`` the policy file (or Policy) it comes from, ``line`` its
    line in the file; ``defaults`` are the evaluation arguments given to
    :func:`parametrize_rules`, which :meth:`check`'s arguments override.
    """

    id: str
    policy: Policy | str | os.PathLike[str]
    line: int | None = None
    defaults: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def verdict(self, data: Any = None, *, model: Any = None, **kwargs: Any) -> Verdict:
        """This rule's verdict, from the policy's report on these inputs (evaluated once per
        policy and inputs: see :func:`parametrize_rules`)."""
        return _cached_report(self.policy, self._inputs(data, model, kwargs)).verdict(self.id)

    def check(
        self, data: Any = None, *, model: Any = None, strict: bool = False, **kwargs: Any
    ) -> Verdict:
        """Assert that this rule's verdict does not fail the gate and return it.

        Raises :class:`PolicyViolation` (an ``AssertionError``) with the rule's status,
        message, value, threshold, ``file:line`` and YAML. A SKIPPED rule skips the test; a WARN
        (not ``strict``) passes with a :class:`RuleWarning`.
        """
        __tracebackhide__ = True
        report = _cached_report(self.policy, self._inputs(data, model, kwargs))
        verdict = report.verdict(self.id)
        if verdict.fails_gate(strict):
            raise PolicyViolation(report, [verdict], strict, one_rule=True)
        _skip_or_warn(verdict)
        return verdict

    def _inputs(self, data: Any, model: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        given = {**self.defaults, **kwargs}
        if data is not None:
            given["data"] = data
        if model is not None:
            given["model"] = model
        return given

    def __str__(self) -> str:
        return self.id


def assert_rule(
    rule: PolicyRule, data: Any = None, *, model: Any = None, strict: bool = False, **kwargs: Any
) -> Verdict:
    """``rule.check(data, model=model, strict=strict, **kwargs)``."""
    __tracebackhide__ = True
    return rule.check(data, model=model, strict=strict, **kwargs)


def parametrize_rules(
    policy: Policy | str | os.PathLike[str],
    *,
    data: Any = None,
    model: Any = None,
    ids: Sequence[str] | Callable[[Any], str | None] | None = None,
    argname: str = "rule",
    **kwargs: Any,
) -> pytest.MarkDecorator:
    """``pytest.mark.parametrize(argname, [PolicyRule, ...], ids=[rule ids])``: one test per
    rule of ``policy``, each with the test's own fixtures.

    A relative policy path is looked up next to the calling test module first, then in the
    working directory. Loading the policy (to know its rule ids) is cheap: no data, no model.

    ``data``, ``model`` and ``kwargs`` are default :func:`rulecheck.evaluate` arguments for
    :meth:`PolicyRule.check`. The policy is evaluated once per policy file (path and sha256)
    and inputs: reports are cached in a module-level dict keyed by the policy's path and sha256
    and by the ``id()`` of each input object (the value of a str, number or None). The cache
    holds the inputs, so an id cannot be reused while its report is cached; it is cleared when
    pytest ends. A function-scoped data fixture gives a new frame per test and hence one
    evaluation per test: scope data and model fixtures to the module or session.
    """
    caller = sys._getframe(1).f_globals.get("__file__") or ""
    path_or_policy = _resolve_policy_arg(policy, caller)
    loaded = _load(path_or_policy)
    defaults = dict(kwargs)
    if data is not None:
        defaults["data"] = data
    if model is not None:
        defaults["model"] = model
    rules = [
        PolicyRule(
            rule.id,
            path_or_policy,
            None if rule.source is None else rule.source.line,
            defaults,
        )
        for rule in loaded.rules
    ]
    return pytest.mark.parametrize(
        argname, rules, ids=[r.id for r in rules] if ids is None else ids
    )


# Reports of PolicyRule.check, keyed by policy and inputs; values keep the inputs alive.
_REPORTS: dict[tuple[Any, ...], tuple[tuple[Any, ...], Report]] = {}
_POLICIES: dict[tuple[str, str], Policy] = {}


def _resolve_policy_arg(
    policy: Policy | str | os.PathLike[str], caller: str
) -> Policy | str | os.PathLike[str]:
    """A relative path that exists next to ``caller`` (the test module) becomes that path;
    YAML text, Policy objects and other paths are kept."""
    if isinstance(policy, str) and ("\n" in policy or policy.lstrip().startswith("version:")):
        return policy
    if isinstance(policy, str | os.PathLike):
        path = Path(policy)
        beside = Path(caller).parent / path
        if not path.is_absolute() and not path.exists() and beside.exists():
            return _shown(beside)
    return policy


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when inside it, else absolute."""
    absolute = path.resolve()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def _policy_key(policy: Policy | str | os.PathLike[str]) -> tuple[str, str]:
    """(path, sha256 of the file) of a policy file; ('<string>', sha256) of YAML text; ('<id>',
    id) of a Policy object."""
    if isinstance(policy, str) and ("\n" in policy or policy.lstrip().startswith("version:")):
        return "<string>", hashlib.sha256(policy.encode("utf-8")).hexdigest()
    if isinstance(policy, str | os.PathLike):
        path = Path(policy)
        return str(path.resolve()), hashlib.sha256(path.read_bytes()).hexdigest()
    return "<object>", str(id(policy))


def _load(policy: Policy | str | os.PathLike[str]) -> Policy:
    from rulecheck.policy import Policy, load_policy

    if isinstance(policy, Policy):
        return policy
    key = _policy_key(policy)
    if key not in _POLICIES:
        _POLICIES[key] = load_policy(os.fspath(policy))
    return _POLICIES[key]


def _input_key(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | Path):
        return ("=", value)
    return ("id", id(value))


def _cached_report(policy: Policy | str | os.PathLike[str], given: dict[str, Any]) -> Report:
    from rulecheck import evaluation

    names = sorted(given)
    key = (
        *_policy_key(policy),
        id(policy) if not isinstance(policy, str | os.PathLike) else None,
        tuple((name, _input_key(given[name])) for name in names),
    )
    if key not in _REPORTS:
        loaded = _load(policy)
        data = given.pop("data", None)
        report = evaluation.evaluate(loaded, data, **given)
        _REPORTS[key] = ((policy, data, *given.values()), report)
    return _REPORTS[key][1]


# --------------------------------------------------------------------------------------------
# 3. Collecting policy files: pytest --rulecheck / ini rulecheck_policies


class RuleFailure(Exception):
    """A rule of a collected policy file fails the gate; ``verdict`` says how."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        super().__init__(verdict.message)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rulecheck", "rulecheck policies")
    group.addoption(
        "--rulecheck",
        action="store_true",
        default=False,
        help="collect policy YAML files whose target names data and a model or a prediction "
        "column (or those matching rulecheck_policies): one test per rule",
    )
    group.addoption(
        "--rulecheck-strict",
        action="store_true",
        default=False,
        help="collected policies: failed warning-severity rules fail their test too",
    )
    parser.addini(
        "rulecheck_policies",
        type="args",
        default=[],
        help="glob patterns of policy files to collect, one test per rule (e.g. policies/*.yaml)",
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    _REPORTS.clear()
    _POLICIES.clear()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> PolicyFile | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    config = parent.config
    patterns: list[str] = config.getini("rulecheck_policies")
    if patterns:
        if not _matches(file_path, config.rootpath, patterns):
            return None
    elif not config.getoption("rulecheck") or not _names_its_inputs(file_path):
        return None
    return PolicyFile.from_parent(parent, path=file_path)


def _matches(path: Path, root: Path, patterns: Sequence[str]) -> bool:
    """Whether ``path`` (relative to the rootdir) matches a pattern; a pattern without ``/``
    matches the file name."""
    try:
        relative = path.relative_to(root).as_posix()
    except ValueError:
        relative = path.as_posix()
    return any(
        fnmatch.fnmatch(relative if "/" in pattern else path.name, pattern) for pattern in patterns
    )


def _names_its_inputs(path: Path) -> bool:
    """Whether ``path`` looks like a policy (version and rules) whose target names data and a
    model, a prediction column or a score column; any YAML that is not one is not collected."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception:  # PyYAML raises IndexError etc. on odd input (`? !!int`)
        return False  # not readable as YAML: not a policy to collect
    if not isinstance(data, dict) or "version" not in data or "rules" not in data:
        return False
    target = data.get("target")
    return (
        isinstance(target, dict)
        and bool(target.get("data"))
        and any(target.get(k) for k in ("model", "prediction", "score"))
    )


class PolicyFile(pytest.File):
    """A policy file: one :class:`RuleItem` per rule; evaluated once, by its first item."""

    _report: Report | None = None
    _error: BaseException | None = None

    def collect(self) -> Iterator[RuleItem]:
        from rulecheck.policy import load_policy

        try:
            policy = load_policy(_shown(self.path))
        except PolicyError as exc:
            raise self.CollectError(exc.render()) from None
        self.policy = policy
        for rule in policy.rules:
            line = None if rule.source is None else rule.source.line
            yield RuleItem.from_parent(self, name=rule.id, rule_id=rule.id, line=line)

    def report(self) -> Report:
        """The policy's report on its target's inputs, evaluated by the first call."""
        if self._error is not None:
            raise self._error
        if self._report is None:
            from rulecheck import evaluation

            try:
                self._report = evaluation.evaluate(
                    self.policy, strict=bool(self.config.getoption("rulecheck_strict"))
                )
            except Exception as exc:
                self._error = exc
                raise
        return self._report


class RuleItem(pytest.Item):
    """One rule of a collected policy: fails when its verdict fails the gate."""

    def __init__(self, *, rule_id: str, line: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule_id = rule_id
        self.line = line

    def runtest(self) -> None:
        assert isinstance(self.parent, PolicyFile)
        report = self.parent.report()
        verdict = report.verdict(self.rule_id)
        if verdict.fails_gate(report.strict):
            raise RuleFailure(verdict)
        _skip_or_warn(verdict)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, RuleFailure):
            return _describe(excinfo.value.verdict)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None if self.line is None else self.line - 1, f"rule {self.rule_id}"


# --------------------------------------------------------------------------------------------
# Messages


def _skip_or_warn(verdict: Verdict) -> None:
    __tracebackhide__ = True
    if verdict.status is Status.SKIPPED:
        pytest.skip(f"rule {verdict.rule_id}: {verdict.message}")
    if verdict.status in (Status.WARN, Status.INCONCLUSIVE):
        # Shown at the rule in the policy, where the warning is to be fixed.
        text = f"{verdict.rule_id} [{verdict.status.value}] {verdict.message}"
        if verdict.source is None:
            warnings.warn(text, RuleWarning, stacklevel=3)
        else:
            warnings.warn_explicit(text, RuleWarning, verdict.source.file, verdict.source.line)


def _headline(verdict: Verdict) -> str:
    """'policy.yaml:7: dp-sex [fail] message'."""
    where = f"{verdict.source.where()}: " if verdict.source else ""
    return f"{where}{verdict.rule_id} [{verdict.status.value}] {verdict.message}"


def _describe(verdict: Verdict) -> str:
    """The headline, the value and threshold, and the rule's YAML."""
    lines = [_headline(verdict)]
    if verdict.value is not None or verdict.threshold is not None:
        value = "undefined" if verdict.value is None else f"{verdict.value:.4g}"
        bound = f" ({verdict.bound})" if verdict.bound else ""
        limit = "" if verdict.threshold is None else f", threshold {verdict.threshold:.4g}{bound}"
        lines.append(f"  value {value}{limit}")
    if verdict.source is not None and verdict.source.text:
        lines.extend("  | " + line for line in verdict.source.text.splitlines())
    return "\n".join(lines)


def _violation_message(
    report: Report, failed: Sequence[Verdict], strict: bool, one_rule: bool
) -> str:
    name = f"policy {report.policy_name!r}"
    if report.policy_file:
        name += f" ({report.policy_file})"
    gate = "strict gate" if strict else "gate"
    total = len(report.verdicts)
    if one_rule:
        head = f"rule {failed[0].rule_id!r} of {name} fails the {gate}:"
    else:
        head = (
            f"{len(failed)} of {total} rule{'s' if total != 1 else ''} of {name} fail the {gate}:"
        )
    blocks = [head]
    blocks.extend(f"error: {error} (no rule was evaluated)" for error in report.errors)
    blocks.extend(_describe(v) for v in failed)
    return "\n".join(blocks)
