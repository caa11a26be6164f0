"""The pre-commit hook of .pre-commit-hooks.yaml: its file pattern, and (slow) a real
``pre-commit try-repo`` of this repository on a valid and a broken policy."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BROKEN = "version: 1\nname: broken\nrules:\n  - {id: x, kind: no_such_kind, by: sex}\n"


def hook() -> dict[str, object]:
    (found,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert isinstance(found, dict)
    return found


def test_hook_runs_rulecheck_validate_on_policy_files() -> None:
    declared = hook()
    assert declared["id"] == "rulecheck-validate"
    assert (declared["entry"], declared["language"]) == ("rulecheck validate", "python")
    files = re.compile(str(declared["files"]))
    policies = [
        "policy.yaml",
        "examples/german_credit/policy.yaml",
        "policy-prod.yml",
        "policies.yaml",
        "credit.policy.yaml",
        "policies/credit.yaml",
        "org/policies/team/credit.yml",
    ]
    others = [
        "config.yaml",
        ".github/workflows/ci.yml",
        ".pre-commit-config.yaml",
        "mypolicy.yaml",
        "policy.yaml.bak",
        "policy.py",
    ]
    assert [f for f in policies if not files.search(f)] == []
    assert [f for f in others if files.search(f)] == []


def test_every_example_policy_matches() -> None:
    files = re.compile(str(hook()["files"]))
    examples = [p.relative_to(ROOT).as_posix() for p in ROOT.glob("examples/*/policy.yaml")]
    assert examples
    assert [p for p in examples if not files.search(p)] == []


@pytest.mark.slow
def test_try_repo_passes_a_valid_policy_and_fails_a_broken_one(tmp_path: Path) -> None:
    """Installs rulecheck into pre-commit's hook environment: minutes on the first run."""
    if shutil.which("pre-commit") is None:
        pytest.skip("pre-commit is not installed (pip install pre-commit; in the dev extra)")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("pre-commit try-repo needs git and this repository's git checkout")
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "examples" / "compas" / "policy.yaml", project / "policy.yaml")
    (project / "broken.policy.yaml").write_text(BROKEN, encoding="utf-8")
    (project / "README.md").write_text("not a policy\n", encoding="utf-8")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    for argv in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", *argv], cwd=project, check=True, env=env)

    # One call: try-repo installs the hook environment per repository state (a dirty checkout
    # is a new shadow commit each time), which takes a minute or two.
    files = ["policy.yaml", "broken.policy.yaml", "README.md"]
    run = subprocess.run(
        ["pre-commit", "try-repo", str(ROOT), "rulecheck-validate", "--files", *files],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    shown = run.stdout + run.stderr
    assert run.returncode == 1, shown
    assert "- exit code: 2" in shown  # rulecheck validate's exit code for a broken policy
    assert "policy.yaml: ok" in shown  # the valid policy passes
    assert "broken.policy.yaml:4:" in shown  # the broken one is reported at its line
    assert "no_such_kind" in shown
    assert "README.md" not in shown  # not a policy file: not passed to the hook
