"""The pytest plugin rulecheck.testing: assert_policy, parametrize_rules and `pytest --rulecheck`.

Plugin behaviour is tested with pytester, in process (so the runs import this worktree's
rulecheck) with ``-p rulecheck.testing``; the data are a 100-row CSV with a prediction column,
so no model is trained or loaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rulecheck.testing import PolicyViolation, assert_policy

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]

# Selection rates: f 0.5, m 1.0, so a demographic parity difference of 0.5.
ROWS = list(zip(["f", "m"] * 50, [0, 1] * 50, [1, 1, 0, 1] * 25, strict=True))
CSV = "sex,y,p\n" + "".join(f"{s},{y},{p}\n" for s, y, p in ROWS)

POLICY = """\
version: 1
name: demo
target:
  data: data.csv
  label: y
  prediction: p
rules:
  - id: dp-loose
    kind: demographic_parity
    by: sex
    max_difference: 0.6
  # fails: 0.5 > 0.2
  - id: dp-tight
    kind: demographic_parity
    by: sex
    max_difference: 0.2
  - id: dp-warn
    kind: demographic_parity
    by: sex
    max_difference: 0.3
    severity: warning
  - id: dp-skipped
    kind: demographic_parity
    by: sex
    skip: waiting for the 2025 data
"""
RULE_IDS = ["dp-loose", "dp-tight", "dp-warn", "dp-skipped"]


def line_of(rule_id: str, text: str = POLICY) -> int:
    """1-based line of ``- id: rule_id`` in the policy text."""
    return text.splitlines().index(f"  - id: {rule_id}") + 1


def frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["sex", "y", "p"])


# The plugin under test, without hypothesis' plugin (its terminal summary takes a second).
PLUGIN = ("-p", "rulecheck.testing", "-p", "no:hypothesispytest")


@pytest.fixture
def policy_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "data.csv").write_text(CSV)
    (tmp_path / "policy.yaml").write_text(POLICY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ------------------------------------------------------------------------------------------
# assert_policy


def test_assert_policy_returns_the_report_when_the_gate_passes(policy_dir: Path) -> None:
    passing = POLICY.split("  # fails")[0]  # dp-loose only
    (policy_dir / "ok.yaml").write_text(passing)
    report = assert_policy("ok.yaml")
    assert report.passed
    assert [v.rule_id for v in report.verdicts] == ["dp-loose"]


def test_assert_policy_with_a_frame_and_columns_as_arguments() -> None:
    text = "version: 1\nname: t\nrules:\n  - {id: dp, kind: demographic_parity, by: sex, max_difference: 0.6}\n"
    report = assert_policy(text, frame(), label="y", prediction="p")
    assert report.verdict("dp").value == pytest.approx(0.5)


def test_assert_policy_lists_every_failed_rule(policy_dir: Path) -> None:
    with pytest.raises(PolicyViolation) as caught:
        assert_policy("policy.yaml")
    assert isinstance(caught.value, AssertionError)
    message = str(caught.value)
    assert message.startswith("1 of 4 rules of policy 'demo' (policy.yaml) fail the gate:")
    assert f"policy.yaml:{line_of('dp-tight')}: dp-tight [fail] " in message
    assert "value 0.5, threshold 0.2 (max_difference)" in message
    assert "  |   - id: dp-tight\n" in message  # the rule's YAML
    assert "  |     max_difference: 0.2" in message
    assert "  |   # fails: 0.5 > 0.2" in message  # with the comment above it
    assert "dp-loose" not in message
    assert "dp-warn" not in message  # a warning does not fail the default gate
    assert [v.rule_id for v in caught.value.failed] == ["dp-tight"]


def test_assert_policy_strict_fails_warnings_too(policy_dir: Path) -> None:
    with pytest.raises(PolicyViolation) as caught:
        assert_policy("policy.yaml", strict=True)
    message = str(caught.value)
    assert "2 of 4 rules" in message
    assert "fail the strict gate" in message
    assert f"policy.yaml:{line_of('dp-warn')}: dp-warn [warn] " in message


def test_assert_policy_reports_a_run_error(policy_dir: Path) -> None:
    with pytest.raises(PolicyViolation, match=r"error: .*missing\.csv"):
        assert_policy("policy.yaml", data="missing.csv")


# ------------------------------------------------------------------------------------------
# parametrize_rules

COUNTING_CONFTEST = """
import pytest
import rulecheck.evaluation as evaluation

CALLS = []
PATCH = pytest.MonkeyPatch()


def pytest_configure(config):
    original = evaluation.evaluate

    def counting(*args, **kwargs):
        CALLS.append(args[0])
        return original(*args, **kwargs)

    PATCH.setattr(evaluation, "evaluate", counting)


def pytest_unconfigure(config):
    PATCH.undo()


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"evaluations: {len(CALLS)}")
"""

PARAMETRIZED_TEST = """
import pandas as pd
import pytest

from rulecheck.testing import assert_rule, parametrize_rules


@pytest.fixture(scope="module")
def credit_data():
    return pd.read_csv("data.csv")


@parametrize_rules("policy.yaml")
def test_rule(rule, credit_data):
    verdict = rule.check(data=credit_data)
    assert verdict.rule_id == rule.id


@parametrize_rules("policy.yaml", prediction="p")
def test_rule_again(rule, credit_data):
    assert_rule(rule, credit_data)
"""


@pytest.fixture
def policy_files(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".csv", data=CSV)
    pytester.makefile(".yaml", policy=POLICY)
    return pytester


def test_parametrize_rules_one_test_per_rule_with_rule_ids(policy_files: pytest.Pytester) -> None:
    policy_files.makepyfile(test_rules=PARAMETRIZED_TEST)
    result = policy_files.runpytest(*PLUGIN, "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [f"test_rules.py::test_rule[{rule_id}]" for rule_id in RULE_IDS], consecutive=True
    )
    assert result.ret == 0


def test_parametrize_rules_fails_only_the_failing_rule_and_evaluates_once(
    policy_files: pytest.Pytester,
) -> None:
    policy_files.makeconftest(COUNTING_CONFTEST)
    policy_files.makepyfile(test_rules=PARAMETRIZED_TEST)
    result = policy_files.runpytest(*PLUGIN, "-v", "-rs")
    result.assert_outcomes(passed=4, failed=2, skipped=2, warnings=2)
    result.stdout.fnmatch_lines(
        [
            "test_rules.py::test_rule[[]dp-loose[]] PASSED*",
            "test_rules.py::test_rule[[]dp-tight[]] FAILED*",
            "test_rules.py::test_rule[[]dp-warn[]] PASSED*",
            "test_rules.py::test_rule[[]dp-skipped[]] SKIPPED*",
        ]
    )
    line = line_of("dp-tight")
    result.stdout.fnmatch_lines(
        [
            "*_ test_rule[[]dp-tight[]] _*",
            "*rule.check(data=credit_data)",
            "E   *rulecheck.testing.PolicyViolation: rule 'dp-tight' of policy 'demo' (policy.yaml) fails the gate:",
            f"E   *policy.yaml:{line}: dp-tight [[]fail[]] *0.5 > max_difference 0.2*",
            "E   *  value 0.5, threshold 0.2 (max_difference)",
            "E   *  |   - id: dp-tight",
        ]
    )
    result.stdout.fnmatch_lines(
        [f"*policy.yaml:{line_of('dp-warn')}: RuleWarning: dp-warn [[]warn[]] selection_rate *"]
    )
    result.stdout.fnmatch_lines(["SKIPPED*rule dp-skipped: skipped: waiting for the 2025 data"])
    # One evaluation per (policy, inputs): test_rule (data=frame) and test_rule_again
    # (data=frame, prediction="p") differ in their inputs, and their 4 rules share one each.
    result.stdout.fnmatch_lines(["evaluations: 2"])


def test_parametrize_rules_finds_the_policy_beside_the_test_module(
    pytester: pytest.Pytester,
) -> None:
    tests = pytester.mkdir("tests")
    (tests / "data.csv").write_text(CSV)
    (tests / "policy.yaml").write_text(POLICY.replace("data: data.csv", "data: data.csv"))
    (tests / "test_beside.py").write_text(
        "from rulecheck.testing import parametrize_rules\n\n\n"
        "@parametrize_rules('policy.yaml')\n"
        "def test_rule(rule):\n"
        "    rule.check()\n"
    )
    result = pytester.runpytest(*PLUGIN, "tests")
    # The policy's data path is relative to the policy file, wherever pytest runs.
    result.assert_outcomes(passed=2, failed=1, skipped=1, warnings=1)
    result.stdout.fnmatch_lines(
        [f"E   *tests/policy.yaml:{line_of('dp-tight')}: dp-tight [[]fail[]]*"]
    )


# ------------------------------------------------------------------------------------------
# pytest --rulecheck: policy files as tests


def test_rulecheck_collects_one_item_per_rule(policy_files: pytest.Pytester) -> None:
    result = policy_files.runpytest(*PLUGIN, "--rulecheck", "-v", "-rs")
    result.assert_outcomes(passed=2, failed=1, skipped=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "policy.yaml::dp-loose PASSED*",
            "policy.yaml::dp-tight FAILED*",
            "policy.yaml::dp-warn PASSED*",
            "policy.yaml::dp-skipped SKIPPED*",
        ]
    )
    line = line_of("dp-tight")
    # The failure is the verdict, without a traceback, under the rule's name.
    result.stdout.fnmatch_lines(
        [
            "*_ rule dp-tight _*",
            f"policy.yaml:{line}: dp-tight [[]fail[]] selection_rate difference between groups 0.5 > max_difference 0.2*",
            "  value 0.5, threshold 0.2 (max_difference)",
            "  |   # fails: 0.5 > 0.2",
            "  |   - id: dp-tight",
            "  |     kind: demographic_parity",
            "  |     by: sex",
            "  |     max_difference: 0.2",
            "*short test summary info*",
        ],
        consecutive=False,
    )
    assert "Traceback" not in result.stdout.str()
    assert "def runtest" not in result.stdout.str()
    assert "RuleFailure" not in result.stdout.str()


def test_rulecheck_items_point_at_the_rule_line(policy_files: pytest.Pytester) -> None:
    recorded = policy_files.inline_run(*PLUGIN, "--rulecheck")
    reports = [r for r in recorded.getreports("pytest_runtest_logreport") if r.when == "call"]
    locations = {r.location[2]: r.location for r in reports}
    assert locations["rule dp-tight"] == ("policy.yaml", line_of("dp-tight") - 1, "rule dp-tight")
    assert locations["rule dp-loose"] == ("policy.yaml", line_of("dp-loose") - 1, "rule dp-loose")


def test_rulecheck_evaluates_each_policy_file_once(policy_files: pytest.Pytester) -> None:
    policy_files.makeconftest(COUNTING_CONFTEST)
    result = policy_files.runpytest(*PLUGIN, "--rulecheck")
    result.stdout.fnmatch_lines(["evaluations: 1"])


def test_nothing_is_collected_without_the_flag_or_the_ini_option(
    policy_files: pytest.Pytester,
) -> None:
    result = policy_files.runpytest(*PLUGIN)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_rulecheck_skips_yaml_that_names_no_inputs(pytester: pytest.Pytester) -> None:
    # A policy without data and predictions in its target, a YAML config and a broken YAML file:
    # none is a policy to run on its own, so none is collected (nor reported as an error).
    pytester.makefile(
        ".yaml",
        no_target=POLICY.split("target:")[0]
        + "rules:\n  - {id: a, kind: demographic_parity, by: sex}\n",
    )
    pytester.makefile(".yml", config="steps: [build, test]\n")
    pytester.makefile(".yaml", broken="key: [unclosed\n")
    # PyYAML itself raises IndexError on an empty tagged key (found when a stray file like this
    # sat in the rootdir of a CI run): still not a policy, still no error.
    pytester.makefile(".yaml", odd="? !!int\nversion: 1\n")
    result = pytester.runpytest(*PLUGIN, "--rulecheck")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_ini_option_collects_matching_files_only(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nrulecheck_policies = policies/*.yaml\n")
    policies = pytester.mkdir("policies")
    (policies / "data.csv").write_text(CSV)
    (policies / "credit.yaml").write_text(POLICY)
    (pytester.path / "data.csv").write_text(CSV)
    (pytester.path / "other.yaml").write_text(POLICY)  # a full policy, but not matched
    result = pytester.runpytest(*PLUGIN, "-v")
    result.assert_outcomes(passed=2, failed=1, skipped=1, warnings=1)
    result.stdout.fnmatch_lines(["policies/credit.yaml::dp-loose PASSED*"])
    assert "other.yaml" not in result.stdout.str()


def test_rulecheck_strict_fails_warnings(policy_files: pytest.Pytester) -> None:
    result = policy_files.runpytest(*PLUGIN, "--rulecheck", "--rulecheck-strict")
    result.assert_outcomes(passed=1, failed=2, skipped=1)
    result.stdout.fnmatch_lines([f"policy.yaml:{line_of('dp-warn')}: dp-warn [[]warn[]] *"])


def test_a_broken_policy_is_a_collection_error_with_its_position(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".csv", data=CSV)
    broken = POLICY.replace("max_difference: 0.2", "max_diference: 0.2")
    pytester.makefile(".yaml", policy=broken)
    result = pytester.runpytest(*PLUGIN, "--rulecheck")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    line = line_of("dp-tight") + 3
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting policy.yaml*",
            f"policy.yaml:{line}:5: rules[[]1[]] (id: dp-tight).max_diference: unknown field *",
            f"*{line} |     max_diference: 0.2",
            "*^*",
            "1 problem found.",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_a_missing_data_file_fails_every_rule_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", policy=POLICY)  # no data.csv
    result = pytester.runpytest(*PLUGIN, "--rulecheck")
    result.assert_outcomes(failed=3, skipped=1)
    result.stdout.fnmatch_lines(["policy.yaml:*: dp-loose [[]error[]] *data.csv*"])


# ------------------------------------------------------------------------------------------
# Loading the plugin is light


def _run(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    return done.stdout.strip()


HEAVY = "('numpy', 'pandas', 'shap', 'sklearn', 'scipy')"


def test_importing_the_plugin_imports_no_numpy_pandas_or_shap() -> None:
    code = f"import rulecheck.testing, sys; print(sorted(m for m in {HEAVY} if m in sys.modules))"
    assert _run(code) == "[]"


def test_collecting_policy_files_imports_no_numpy_pandas_or_shap(
    policy_files: pytest.Pytester,
) -> None:
    # --collect-only loads every policy (pydantic) but evaluates none.
    policy_files.makeconftest(
        "import sys\n\n\n"
        "def pytest_collection_finish(session):\n"
        f"    print('heavy:', sorted(m for m in {HEAVY} if m in sys.modules))\n"
    )
    code = (
        "import sys, pytest; "
        f"sys.exit(pytest.main(['-p', 'rulecheck.testing', '--rulecheck', '--collect-only', '-s', {str(policy_files.path)!r}]))"
    )
    out = _run(code)
    assert "heavy: []" in out
    assert "<RuleItem dp-tight>" in out


def test_importing_the_plugin_imports_nothing_heavy() -> None:
    # pytest loads the plugin (entry point pytest11) in every test run of every project where
    # rulecheck is installed: it must not import pydantic, numpy, pandas or the engines.
    code = (
        "import sys, rulecheck.testing\n"
        "heavy = ('pydantic', 'numpy', 'pandas', 'sklearn', 'shap', 'rulecheck.policy')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
