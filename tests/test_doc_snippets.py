"""Every YAML, Python, TOML and JSON snippet in the docs is tested as it is shown.

- ```yaml: a full policy (a line ``version:``) must load with ``rulecheck.load_policy``; a
  fragment is wrapped into a minimal policy by its top level (a list is a list of rules, a
  ``where:`` block goes under ``target``, policy keys stay at the top, a minimal rule is added
  when it has no ``rules``) and must load too.
- ```python: runs as shown, from the repository root, with a fresh loss registry, and any
  ``report`` it makes has no ERROR verdict.
- ```toml: parses, and an entry point is in rulecheck's group and names ``module:function``.
- ```json in docs/report.md: its fields equal the real report of the COMPAS example.
- ```bash / ```console: every `rulecheck ...` command parses with the CLI's own parser, an
  `explain` names a registered kind and a `check` of an example names an existing policy.
  .ci/run runs the README's test command verbatim.

A snippet that is deliberately not one of these is marked by the line before its fence:
``<!-- snippet: not-a-policy -->`` (not tested) or ``<!-- snippet: invalid -->`` (a policy that
must fail to load). Keep such markers rare.
"""

from __future__ import annotations

import json
import re
import shlex
import textwrap
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import rulecheck
from rulecheck import cli
from rulecheck.engines import losses
from rulecheck.engines.losses import ENTRY_POINT_GROUP, LossRegistry
from rulecheck.errors import PolicyError
from rulecheck.policy import Policy
from rulecheck.rules import KINDS
from rulecheck.verdict import Status
from tests.conftest import EvaluateOnce

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
YAML_DOCS = [*DOCS, *sorted((ROOT / "examples").glob("*/README.md"))]

FENCE = re.compile(
    r"^(?:<!-- snippet: (?P<marker>[a-z-]+) -->\n)?```(?P<lang>\w+)\n(?P<text>.*?)^```$",
    re.M | re.S,
)
# not-a-policy: CI configuration the project cannot check; invalid: a policy that must fail;
# verify-test: a `rulecheck verify` test file, parsed by rulecheck.verify's own model.
MARKERS = {"not-a-policy", "invalid", "verify-test"}
MINIMAL = "version: 1\nname: snippet\n"
MINIMAL_RULES = "rules:\n  - {id: snippet-rule, kind: demographic_parity, by: sex}\n"
POLICY_KEYS = set(Policy.model_fields)


@dataclass(frozen=True)
class Snippet:
    doc: Path
    line: int
    lang: str
    text: str
    marker: str | None

    @property
    def id(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def _snippets(docs: list[Path], lang: str) -> list[Snippet]:
    found = []
    for doc in docs:
        text = doc.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            if m["lang"] == lang:
                line = text.count("\n", 0, m.start("text"))  # the fence's line, 1-based
                found.append(Snippet(doc, line, lang, m["text"], m["marker"]))
    return found


def _ids(snippet: Snippet) -> str:
    return snippet.id


YAML = _snippets(YAML_DOCS, "yaml")
PYTHON = _snippets(DOCS, "python")
TOML = _snippets(DOCS, "toml")


def as_policy(snippet: str) -> str:
    """The snippet as a whole policy: as shown, or wrapped by its top level."""
    if re.search(r"^version:", snippet, re.M):
        return snippet
    top = yaml.safe_load(snippet)
    if isinstance(top, list):
        return MINIMAL + "rules:\n" + textwrap.indent(textwrap.dedent(snippet), "  ")
    assert isinstance(top, dict), f"not a policy fragment: {top!r}"
    if set(top) == {"where"}:
        return MINIMAL + "target:\n" + textwrap.indent(snippet, "  ") + MINIMAL_RULES
    unknown = set(top) - POLICY_KEYS
    assert not unknown, f"top-level keys {sorted(unknown)}: wrap them here or mark the snippet"
    return MINIMAL + snippet + ("" if "rules" in top else MINIMAL_RULES)


def test_markers_are_known_and_rare() -> None:
    everything = [s for lang in ("yaml", "python", "toml", "json") for s in _snippets(DOCS, lang)]
    markers = [s.marker for s in everything if s.marker]
    assert set(markers) <= MARKERS
    assert len([m for m in markers if m != "verify-test"]) <= 3


def test_docs_have_snippets() -> None:
    assert len(YAML) >= 8
    assert PYTHON
    assert TOML


def test_a_fragment_is_wrapped_by_its_top_level() -> None:
    rules = as_policy("- {id: a, kind: demographic_parity, by: sex}\n")
    assert rulecheck.load_policy(rules).rules[0].id == "a"
    where = rulecheck.load_policy(as_policy("where:\n  age: {gte: 25}\n"))
    assert where.target is not None
    assert where.target.where is not None
    with pytest.raises(AssertionError, match="top-level keys"):
        as_policy("metric: accuracy\n")
    with pytest.raises(PolicyError):
        rulecheck.load_policy(as_policy("rules:\n  - {id: a, kind: no_such_kind}\n"))


@pytest.mark.parametrize("snippet", YAML, ids=_ids)
def test_yaml_snippet_is_a_valid_policy(snippet: Snippet) -> None:
    if snippet.marker == "not-a-policy":
        return
    if snippet.marker == "verify-test":
        from rulecheck.verify import _parse

        spec, _ = _parse(snippet.text, snippet.id)
        assert spec.cases, "a verify test file shown in the docs has cases"
        return
    if snippet.marker == "invalid":
        with pytest.raises((PolicyError, yaml.YAMLError)):
            rulecheck.load_policy(as_policy(snippet.text))
        return
    rulecheck.load_policy(as_policy(snippet.text))


@pytest.mark.parametrize("snippet", PYTHON, ids=_ids)
def test_python_snippet_runs_as_shown(snippet: Snippet, monkeypatch: pytest.MonkeyPatch) -> None:
    if snippet.marker == "not-a-policy":
        return
    monkeypatch.chdir(ROOT)
    # A snippet may register losses: never in the process-wide registry other tests use.
    monkeypatch.setattr(losses, "_DEFAULT_REGISTRY", LossRegistry(entry_points=None))
    namespace: dict[str, Any] = {"__name__": "snippet"}
    exec(compile(snippet.text, snippet.id, "exec"), namespace)
    report = namespace.get("report")
    if report is not None:
        assert [v.rule_id for v in report.verdicts if v.status is Status.ERROR] == []


@pytest.mark.parametrize("snippet", TOML, ids=_ids)
def test_toml_entry_points_name_a_function_in_rulecheck_group(snippet: Snippet) -> None:
    entry_points = tomllib.loads(snippet.text)["project"]["entry-points"]
    assert list(entry_points) == [ENTRY_POINT_GROUP]
    for name, target in entry_points[ENTRY_POINT_GROUP].items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name)
        assert re.fullmatch(r"[\w.]+:\w+", target)


def test_report_json_example_is_the_compas_report(
    evaluate_once: EvaluateOnce, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/report.md's example: every shown field equals the COMPAS example's real report."""
    (shown_block,) = _snippets([ROOT / "docs" / "report.md"], "json")
    shown = json.loads(shown_block.text)
    monkeypatch.chdir(ROOT)
    real = json.loads(evaluate_once(Path("examples/compas/policy.yaml")).to_json())
    _assert_shown_fields_match(shown, real, "")


# Fields whose values change from run to run or machine to machine: only their presence is checked.
VOLATILE = {"created", "today", "versions", "sha256", "duration_s"}


def _assert_shown_fields_match(shown: Any, real: Any, where: str) -> None:
    if isinstance(shown, dict):
        assert isinstance(real, dict), where
        assert set(shown) == set(real) or "…" in shown, (where, set(shown) ^ set(real))
        for key, value in shown.items():
            if key == "…":
                continue
            assert key in real, f"{where}.{key}"
            if key not in VOLATILE and value != "…":
                _assert_shown_fields_match(value, real[key], f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(real, list), where
        # The example shows the first verdict only; any other list is shown whole.
        if where != ".verdicts":
            assert len(shown) == len(real), where
        for i, item in enumerate(shown):
            _assert_shown_fields_match(item, real[i], f"{where}[{i}]")
    elif isinstance(shown, float) and isinstance(real, float):
        # Shown with the digits the docs print: full precision, or rounded to 4 decimals.
        assert shown == real or shown == round(real, 4), (where, shown, real)
    else:
        assert shown == real, (where, shown, real)


def test_ci_runs_the_readme_commands_verbatim() -> None:
    """.ci/run runs the README's test command as shown, and the README's first command."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    (command,) = re.findall(r"^TEST_COMMAND='(.+)'$", ci, re.M)
    (quickstart,) = _snippets([ROOT / "README.md"], "bash")[:1]
    lines = quickstart.text.splitlines()
    assert command in lines
    assert "python -m venv .venv && . .venv/bin/activate" in lines
    assert "pip install -e . && rulecheck check examples/german_credit/policy.yaml" in lines
    assert "\nrulecheck check examples/german_credit/policy.yaml > /dev/null\n" in ci


def _shown_commands() -> list[tuple[str, list[str]]]:
    """Every `rulecheck ...` command in a bash or console block: (where, argv without 'rulecheck')."""
    found = []
    for snippet in _snippets(YAML_DOCS, "bash") + _snippets(YAML_DOCS, "console"):
        for line in snippet.text.splitlines():
            for part in line.removeprefix("$ ").split("&&"):
                argv = shlex.split(part.split(">")[0], comments=True)
                if argv[:1] == ["rulecheck"]:
                    found.append((f"{snippet.id}: {shlex.join(argv)}", argv[1:]))
    return found


COMMANDS = _shown_commands()


def test_docs_show_commands() -> None:
    assert {argv[0] for _, argv in COMMANDS} >= {"check", "validate", "explain", "list-rules"}


@pytest.mark.parametrize(("where", "argv"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_shown_command_parses(where: str, argv: list[str]) -> None:
    """Every shown command has valid options, an existing example and a registered kind."""
    args = cli._parser().parse_args(argv)
    if args.command == "explain":
        assert args.kind in KINDS
    if args.command == "check" and args.policy.startswith("examples/"):
        assert (ROOT / args.policy).is_file()
