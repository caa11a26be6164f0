"""examples/ci: the GitHub Actions workflow and the GitLab CI job, run as their runners would.

Each is parsed, and every `rulecheck` command in it must parse with the CLI's own parser. Then
the job runs on a copy of examples/ci (the "checkout": the example's policy, the organization's
base policy and its tests, data/holdout.parquet and model.skops): every `run:` step or `script:`
line through bash in that directory, in order, with the runner's environment variables and its
rule for what runs after a failed step (GitHub: only `if: always()` steps; GitLab: nothing, but
`artifacts: when: always` still collects). The steps that need GitHub's or GitLab's servers are
played by the test: checkout copies the files, setup-python checks the version, upload-artifact
collects the files it names, upload-sarif validates the SARIF file against the SARIF schema, and
the GitLab JUnit report is read with junitparser. The install step is checked (it installs
rulecheck with the html extra) and not run: this test runs the rulecheck being tested.

The example's gate fails (equal-opportunity-age, exit 1): the tests check that the job fails at
that step, that the annotations and the step summary are written, and that every report is
uploaded all the same.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from rulecheck import cli

ROOT = Path(__file__).resolve().parents[1]
CI = ROOT / "examples" / "ci"
SCHEMAS = Path(__file__).parent / "schemas"


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
        assert [a[0] for a in argvs] == ["validate", "verify", "check"]


def test_the_example_model_is_the_german_credit_model() -> None:
    # The CI example gates the main example's model: the copy must not drift from it.
    assert (CI / "model.skops").read_bytes() == (
        ROOT / "examples" / "german_credit" / "model.skops"
    ).read_bytes()


# -- running the jobs ------------------------------------------------------------------------------
@dataclass
class Step:
    name: str
    returncode: int
    stdout: str = ""
    stderr: str = ""


@dataclass
class Job:
    workdir: Path
    steps: list[Step] = field(default_factory=list)
    artifacts: dict[str, Path] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(step.returncode != 0 for step in self.steps)

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)


def checkout(tmp_path: Path) -> Path:
    """The model repository as a runner checks it out: the files of examples/ci."""
    repo = tmp_path / "repo"
    shutil.copytree(CI, repo)
    return repo


def rulecheck_on_path(tmp_path: Path) -> dict[str, str]:
    """An environment whose `rulecheck` is this checkout's, run by this interpreter (so the
    steps run the code under test even where the console script points elsewhere)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "rulecheck"
    script.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m rulecheck.cli "$@"\n', encoding="utf-8"
    )
    script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("NO_COLOR", None)
    return env


def bash(command: str, cwd: Path, env: dict[str, str], name: str) -> Step:
    done = subprocess.run(
        ["bash", "-e", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Step(name, done.returncode, done.stdout, done.stderr)


def is_install(command: str) -> bool:
    argv = shlex.split(command)
    return argv[:2] == ["pip", "install"] and argv[2:] == ["rulecheck[html]"]


def hash_files(workdir: Path, pattern: str) -> str:
    found = sorted(workdir.glob(pattern))
    return "".join(p.read_bytes().hex()[:8] for p in found)


def github_if(condition: str | None, failed: bool, workdir: Path) -> bool:
    """The step conditions the example uses: none (run unless a step failed), `always()`, and
    `always() && hashFiles('FILE') != ''`. Anything else fails the test: add it here first."""
    if condition is None:
        return not failed
    if condition == "always()":
        return True
    match = re.fullmatch(r"always\(\) && hashFiles\('([^']+)'\) != ''", condition)
    assert match is not None, f"condition not understood by this test: {condition}"
    return hash_files(workdir, match[1]) != ""


def run_github(tmp_path: Path) -> Job:
    workflow = github()
    (name,) = workflow["jobs"]
    steps = workflow["jobs"][name]["steps"]
    env = rulecheck_on_path(tmp_path)
    summary = tmp_path / "step_summary.md"
    summary.touch()
    job = Job(tmp_path / "repo")
    env.update(
        GITHUB_ACTIONS="true",
        CI="true",
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_WORKSPACE=str(job.workdir),
    )
    for index, step in enumerate(steps):
        label = step.get("name") or step.get("uses") or f"step {index}"
        if not github_if(step.get("if"), job.failed, job.workdir if job.steps else tmp_path):
            job.skipped.append(label)
            continue
        action = step.get("uses", "").split("@")[0]
        if action == "actions/checkout":
            checkout(tmp_path)
            job.steps.append(Step(label, 0))
        elif action == "actions/setup-python":
            version = tuple(int(p) for p in str(step["with"]["python-version"]).split("."))
            assert version >= (3, 11), "rulecheck needs Python 3.11 or later"
            job.steps.append(Step(label, 0))
        elif action == "actions/upload-artifact":
            for pattern in step["with"]["path"].split():
                for path in sorted(job.workdir.glob(pattern)):
                    job.artifacts[f"{step['with']['name']}/{path.name}"] = path
            job.steps.append(Step(label, 0))
        elif action == "github/codeql-action/upload-sarif":
            sarif = job.workdir / step["with"]["sarif_file"]
            validate_sarif(sarif)
            job.artifacts[f"code-scanning/{sarif.name}"] = sarif
            job.steps.append(Step(label, 0))
        elif "run" in step:
            if is_install(step["run"]):
                job.steps.append(Step(label, 0))
                continue
            job.steps.append(bash(step["run"], job.workdir, env, label))
        else:
            pytest.fail(f"step this test cannot play: {step}")
    job.artifacts["step-summary"] = summary
    return job


def run_gitlab(tmp_path: Path) -> Job:
    spec = gitlab()["fairness-gate"]
    job = Job(checkout(tmp_path))
    env = rulecheck_on_path(tmp_path)
    env.update(GITLAB_CI="true", CI="true")
    for line in spec["script"]:
        if job.failed:
            job.skipped.append(line)
        elif is_install(line):
            job.steps.append(Step(line, 0))
        else:
            job.steps.append(bash(line, job.workdir, env, line))
    artifacts = spec["artifacts"]
    if artifacts["when"] == "always" or not job.failed:
        for pattern in [*artifacts["paths"], *artifacts["reports"].values()]:
            for path in sorted(job.workdir.glob(pattern)):
                job.artifacts[path.name] = path
    return job


def validate_sarif(path: Path) -> None:
    import jsonschema

    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), schema)


@pytest.fixture(scope="module")
def github_job(tmp_path_factory: pytest.TempPathFactory) -> Job:
    return run_github(tmp_path_factory.mktemp("github"))


@pytest.fixture(scope="module")
def gitlab_job(tmp_path_factory: pytest.TempPathFactory) -> Job:
    return run_gitlab(tmp_path_factory.mktemp("gitlab"))


def gate(job: Job) -> Step:
    return next(s for s in job.steps if "rulecheck check" in s.name or s.name == "Fairness gate")


def test_github_job_validates_tests_the_policy_then_fails_at_the_gate(github_job: Job) -> None:
    names = [s.name for s in github_job.steps]
    assert names.index("Validate the policy") < names.index("Fairness gate")
    assert github_job.step("Validate the policy").returncode == 0
    verify = github_job.step("Test the organization's policy")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "4 passed, 0 failed" in verify.stdout
    step = github_job.step("Fairness gate")
    assert step.returncode == 1, step.stdout + step.stderr  # a rule failed: not 2 or 3
    assert github_job.failed
    # Under Actions standard output is the github format: an annotation on the line of the
    # policy that declared each failed rule, in the file that declared it.
    assert re.search(
        r"^::error file=org/base\.yaml,line=\d+.*equal-opportunity-age", step.stdout, re.M
    )
    assert re.search(r"^::warning file=policy\.yaml,line=\d+.*fpr-gap-sex", step.stdout, re.M)
    summary = github_job.artifacts["step-summary"].read_text(encoding="utf-8")
    assert "equal-opportunity-age" in summary
    assert "Exit code 1 (not strict: warnings pass)." in summary


def test_github_job_uploads_every_report_although_the_gate_failed(github_job: Job) -> None:
    import junitparser

    assert not github_job.skipped  # the uploads are `if: always()`: nothing was skipped
    uploaded = {name.split("/", 1)[1] for name in github_job.artifacts if "/" in name}
    assert {"report.html", "junit.xml", "report.json", "report.sarif"} <= uploaded
    report = json.loads(github_job.artifacts["rulecheck-report/report.json"].read_text())
    statuses = {v["id"]: v["status"] for v in report["verdicts"]}
    assert statuses == {
        "four-fifths-sex": "pass",
        "equal-opportunity-age": "fail",
        "accuracy-floor": "pass",
        "fpr-gap-sex": "warn",
    }
    suite = junitparser.JUnitXml.fromfile(str(github_job.artifacts["rulecheck-report/junit.xml"]))
    cases = {case.name: case for s in suite for case in s}
    assert set(cases) == set(statuses)
    assert not cases["equal-opportunity-age"].is_passed
    page = github_job.artifacts["rulecheck-report/report.html"].read_text(encoding="utf-8")
    assert "Gate FAILED" in page
    sarif = json.loads(github_job.artifacts["code-scanning/report.sarif"].read_text())
    results = sarif["runs"][0]["results"]
    assert {r["properties"]["ruleId"] for r in results} == {"equal-opportunity-age", "fpr-gap-sex"}


def test_gitlab_job_fails_at_the_gate_and_keeps_its_reports(gitlab_job: Job) -> None:
    import junitparser

    assert [s.returncode for s in gitlab_job.steps] == [0, 0, 0, 1]
    assert not gitlab_job.skipped
    step = gate(gitlab_job)
    # Not under GitHub Actions: the job log shows the text report.
    assert "4 rules: 2 pass, 1 fail, 1 warn. Exit code 1" in step.stdout
    assert {"report.html", "report.json", "junit.xml"} <= set(gitlab_job.artifacts)
    suite = junitparser.JUnitXml.fromfile(str(gitlab_job.artifacts["junit.xml"]))
    failed = [case.name for s in suite for case in s if not case.is_passed]
    assert "equal-opportunity-age" in failed


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


def test_readme_shows_the_real_annotations(monkeypatch: pytest.MonkeyPatch) -> None:
    # The README's `github output` block: the gate's standard output under GitHub Actions.
    import contextlib
    import io

    readme = (CI / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^<!-- github output: (.+?) -->\n```\n(.*?)^```$", readme, re.M | re.S)
    assert match is not None
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", os.devnull)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(shlex.split(match[1])[1:])
    assert code == 1
    assert out.getvalue() == match[2]
