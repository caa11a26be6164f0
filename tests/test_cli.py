"""The command line: exit codes, formats, atomic output, and no tracebacks for user errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rulecheck import cli

POLICY = """\
version: 1
name: cli-test
target:
  data: data.csv
  label: y
  prediction: p
rules:
  - id: dp-sex
    kind: demographic_parity
    by: sex
    max_difference: {dp}
  - id: accuracy
    kind: performance
    metric: accuracy
    min: 0.1
    severity: {severity}
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    n = 400
    sex = rng.choice(["F", "M"], n)
    frame = pd.DataFrame(
        {
            "sex": sex,
            "y": rng.integers(0, 2, n),
            # men are selected far more often: demographic parity difference ~0.4
            "p": (rng.random(n) < np.where(sex == "M", 0.7, 0.3)).astype(int),
        }
    )
    frame.to_csv(tmp_path / "data.csv", index=False)
    return tmp_path


def write_policy(directory: Path, dp: float = 0.9, severity: str = "error") -> Path:
    path = directory / "policy.yaml"
    path.write_text(POLICY.format(dp=dp, severity=severity), encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_passes_with_exit_0(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", str(write_policy(workdir)))
    assert code == 0
    assert "PASS    dp-sex" in out
    assert "2 rules: 2 pass. Exit code 0." in out
    assert err == ""


def test_check_fails_with_exit_1(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", str(write_policy(workdir, dp=0.1)))
    assert code == 1
    assert "FAIL    dp-sex" in out
    assert "> max_difference 0.1" in out


def test_failed_warning_does_not_fail_gate_unless_strict(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = workdir / "warn.yaml"
    policy.write_text(
        POLICY.format(dp=0.9, severity="warning").replace("min: 0.1", "min: 0.99"), encoding="utf-8"
    )
    code, out, _ = run(capsys, "check", str(policy))
    assert code == 0
    assert "WARN    accuracy" in out
    code, _, _ = run(capsys, "check", str(policy), "--strict")
    assert code == 1


def test_input_error_exits_2_without_traceback(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "check", str(write_policy(workdir)), "--label", "outcome")
    assert code == 2
    assert "Traceback" not in err
    assert "policy.yaml:12: rule accuracy: error: label column 'outcome' not found" in err
    assert "PASS    dp-sex" in out  # the rule that needs no label still ran


def test_policy_error_exits_2_with_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nname: x\nrules:\n  - {id: a, kind: nope}\n", encoding="utf-8")
    code, out, err = run(capsys, "check", str(path))
    assert code == 2
    assert f"{path}:4:19: rules[0] (id: a).kind: unknown rule kind 'nope'" in err
    assert "Traceback" not in err
    assert out == ""


def test_missing_policy_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "does not exist" in err


def test_json_report_is_complete(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", str(write_policy(workdir, dp=0.1)), "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["schema_version"] == 2
    assert report["exit_code"] == 1
    assert report["policy"]["name"] == "cli-test"
    assert len(report["policy"]["sha256"]) == 64
    assert len(report["data"]["sha256"]) == 64
    assert report["data"]["rows"] == 400
    assert {"python", "numpy", "pandas", "rulecheck"} <= set(report["versions"])
    dp = report["verdicts"][0]
    assert dp["id"] == "dp-sex"
    assert dp["status"] == "fail"
    assert dp["bound"] == "max_difference"
    assert dp["threshold"] == 0.1
    assert dp["source"]["line"] == 8
    assert {g["group"]["sex"] for g in dp["groups"]} == {"F", "M"}
    assert all({"n", "value", "undefined", "excluded"} <= set(g) for g in dp["groups"])


def test_output_written_atomically_and_text_summary_printed(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = workdir / "out" / "report.json"
    code, out, _ = run(
        capsys, "check", str(write_policy(workdir)), "--format", "json", "-o", str(target)
    )
    assert code == 0
    assert json.loads(target.read_text(encoding="utf-8"))["passed"] is True
    assert "report written to" in out
    assert not list(target.parent.glob(".*.tmp"))


def test_output_never_overwrites_an_input(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(workdir)
    before = (workdir / "data.csv").read_bytes()
    code, _, err = run(capsys, "check", str(policy), "-o", str(workdir / "data.csv"))
    assert code == 2
    assert "refusing to write the report over an input file" in err
    assert (workdir / "data.csv").read_bytes() == before


def test_run_level_error_goes_to_stderr_and_report(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = workdir / "report.json"
    code, _, err = run(
        capsys,
        "check",
        str(write_policy(workdir)),
        "--data",
        "missing.csv",
        "--format",
        "json",
        "-o",
        str(target),
    )
    assert code == 2
    assert "data file 'missing.csv' does not exist" in err
    assert (
        "data file 'missing.csv' does not exist"
        in json.loads(target.read_text(encoding="utf-8"))["errors"][0]
    )


def test_internal_error_exits_3(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import rulecheck.evaluation

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(rulecheck.evaluation, "evaluate", boom)
    code, _, err = run(capsys, "check", str(write_policy(workdir)))
    assert code == 3
    assert "internal error" in err


def test_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_policy(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nrules: []\n", encoding="utf-8")
    code, out, _ = run(capsys, "validate", str(good))
    assert (code, out) == (0, f"{good}: ok (2 rules)\n")
    code, out, err = run(capsys, "validate", str(good), str(bad))
    assert code == 2
    assert f"{bad}:3:8: rules: List should have at least 1 item" in err


def test_validate_imports_nothing_heavy(tmp_path: Path) -> None:
    policy = write_policy(tmp_path)
    code = (
        "import sys\nfrom rulecheck.cli import main\nrc = main(['validate', sys.argv[1]])\n"
        "heavy = sorted(m for m in ('numpy', 'pandas', 'sklearn', 'shap', 'fairlearn') if m in sys.modules)\n"
        "assert rc == 0 and not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code, str(policy)], check=True, capture_output=True)


def test_help_and_list_rules_import_nothing_heavy() -> None:
    # Issue 18: --help and list-rules stay fast: no YAML, pydantic, rule models, numpy or pandas.
    code = (
        "import sys\nfrom rulecheck.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert main(['list-rules']) == 0\n"
        "heavy = ('yaml', 'pydantic', 'numpy', 'pandas', 'rulecheck.policy', 'rulecheck.rules', "
        "'rulecheck.engines')\n"
        "loaded = sorted(m for m in heavy if m in sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_list_rules_summaries_equal_the_registry() -> None:
    from rulecheck.rules import KINDS

    assert {kind: cls.summary for kind, cls in KINDS.items()} == cli.KIND_SUMMARIES


def test_list_rules_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list-rules")
    assert code == 0
    assert out.splitlines()[0].startswith("group_metric")
    code, out, _ = run(capsys, "explain", "disparate_impact")
    assert code == 0
    assert "\nWhat it checks\n" in out  # plain text: no **bold** markup on a terminal
    assert "- min_ratio (default 0.8)" in out
    code, _, err = run(capsys, "explain", "nope")
    assert code == 2
    assert "valid kinds" in err


def test_schema_is_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["properties"]["version"]["const"] == 1
    kinds = schema["properties"]["rules"]["items"]["discriminator"]["mapping"]
    assert "group_metric" in kinds


def test_console_script_runs(workdir: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rulecheck.cli",
            "check",
            str(write_policy(workdir)),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["passed"] is True


def test_every_verdict_has_its_wall_time(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write_policy(workdir, dp=0.1)
    code, out, _ = run(capsys, "check", str(policy), "--format", "json")
    assert code == 1
    durations = [v["duration_s"] for v in json.loads(out)["verdicts"]]
    assert len(durations) == 2
    assert all(isinstance(d, float) and 0 <= d < 60 and d == round(d, 4) for d in durations)
    # Plain text has no time column (its output stays reproducible); --verbose adds one.
    _, plain, _ = run(capsys, "check", str(policy))
    assert "TIME" not in plain
    code, verbose, _ = run(capsys, "check", str(policy), "-v")
    assert code == 1
    header, dp, accuracy = verbose.splitlines()[3:6]
    assert header.split() == ["STATUS", "RULE", "VALUE", "BOUND", "TIME", "EVIDENCE"]
    assert re.fullmatch(r"FAIL +dp-sex +0\.\d+ +max_difference 0\.1 +\d+\.\d{3}s +sex=.*", dp)
    assert re.fullmatch(r"PASS +accuracy +0\.\d+ +min 0\.1 +\d+\.\d{3}s", accuracy)


def test_sample_weight_flag_weights_the_figures(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pd.read_csv(workdir / "data.csv")
    frame["w"] = np.where(frame["sex"] == "M", 3.0, 1.0) * (1 + frame["p"])
    frame.to_csv(workdir / "data.csv", index=False)
    policy = str(write_policy(workdir, dp=0.9))
    code, out, _ = run(capsys, "check", policy, "--format", "json", "--sample-weight", "w")
    assert code == 0
    groups = {g["group"]["sex"]: g for g in json.loads(out)["verdicts"][0]["groups"]}
    for sex, group in groups.items():
        rows = frame[frame["sex"] == sex]
        assert group["weight"] == pytest.approx(rows["w"].sum())
        assert group["value"] == pytest.approx((rows["w"] * rows["p"]).sum() / rows["w"].sum())
    code, _, err = run(capsys, "check", policy, "--sample-weight", "weight")
    assert code == 2
    assert "sample_weight column 'weight' not found in the data (columns: sex, y, p, w)" in err


def test_engine_stream_prints_the_same_report_as_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The CI example's gate, streamed in batches of 64 rows, reads exactly as in memory.
    args = [
        "check",
        "examples/ci/policy.yaml",
        "--data",
        "examples/ci/data/holdout.parquet",
        "--model",
        "examples/ci/model.skops",
        "--no-color",
    ]
    outputs = {}
    for engine in ("memory", "stream"):
        code = cli.main([*args, "--engine", engine, "--batch-rows", "64"])
        assert code == 1
        outputs[engine] = capsys.readouterr().out
    assert outputs["memory"] == outputs["stream"]


@pytest.mark.parametrize("flag", ["--sample-rows", "--batch-rows"])
def test_row_counts_must_be_positive(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["check", "examples/ci/policy.yaml", flag, "0"])
    assert exited.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err
