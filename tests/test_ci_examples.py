"""examples/ci: the GitHub Actions workflow and the GitLab CI job parse as YAML, have the
structure their README describes, and every `rulecheck` command in them parses with the CLI's
own parser (not run: they name the user's policy, data and model)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from rulecheck import cli

CI = Path(__file__).resolve().parents[1] / "examples" / "ci"


def load(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((CI / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def commands(script: str) -> list[list[str]]:
    """The argv (without 'rulecheck') of every rulecheck command in a shell script."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        for part in line.split("&&"):
            argv = shlex.split(part, comments=True)
            if argv[:1] == ["rulecheck"]:
                found.append(argv[1:])
    return found


def github() -> dict[str, Any]:
    return load("github-actions.yml")


def gitlab() -> dict[str, Any]:
    return load("gitlab-ci.yml")


def github_commands() -> list[list[str]]:
    steps = github()["jobs"]["rulecheck"]["steps"]
    return [argv for step in steps for argv in commands(step.get("run", ""))]


def gitlab_commands() -> list[list[str]]:
    return [argv for line in gitlab()["fairness-gate"]["script"] for argv in commands(line)]


ALL = [("github-actions.yml", argv) for argv in github_commands()] + [
    ("gitlab-ci.yml", argv) for argv in gitlab_commands()
]


@pytest.mark.parametrize(("where", "argv"), ALL, ids=[f"{w}: {shlex.join(a)}" for w, a in ALL])
def test_every_command_parses(where: str, argv: list[str]) -> None:
    cli._parser().parse_args(argv)  # argparse exits (SystemExit) on an unknown option


def test_both_run_the_gate_with_report_files() -> None:
    for argvs, formats in (
        (github_commands(), {"json", "html", "junit", "sarif"}),
        (gitlab_commands(), {"json", "html", "junit"}),
    ):
        (check,) = [cli._parser().parse_args(a) for a in argvs if a[0] == "check"]
        assert check.format == "auto"  # github annotations under Actions, text elsewhere
        assert {f for _, f in cli._outputs(check.format, check.output)} == formats
        assert any(a[0] == "validate" for a in argvs)


def test_github_workflow_uploads_reports_always() -> None:
    workflow = github()
    assert workflow["permissions"]["security-events"] == "write"
    steps = workflow["jobs"]["rulecheck"]["steps"]
    uses = {step["uses"].split("@")[0]: step for step in steps if "uses" in step}
    assert {"actions/checkout", "actions/setup-python"} <= set(uses)
    artifact = uses["actions/upload-artifact"]
    assert artifact["if"] == "always()"
    assert {"report.html", "junit.xml"} <= set(artifact["with"]["path"].split())
    sarif = uses["github/codeql-action/upload-sarif"]
    assert sarif["if"].startswith("always()")
    assert sarif["with"]["sarif_file"] == "report.sarif"
    # The gate is the check step's exit code: nothing may swallow it.
    gate = next(s for s in steps if "rulecheck check" in s.get("run", ""))
    assert "continue-on-error" not in gate
    assert "|| true" not in gate["run"]


def test_gitlab_job_reports_junit_and_keeps_html() -> None:
    job = gitlab()["fairness-gate"]
    artifacts = job["artifacts"]
    assert artifacts["reports"]["junit"] == "junit.xml"
    assert "report.html" in artifacts["paths"]
    assert artifacts["when"] == "always"
    assert "allow_failure" not in job
