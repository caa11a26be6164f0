"""Several outputs in one run, re-rendering a saved report, CI detection, --quiet, progress."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rulecheck import cli
from rulecheck.verdict import Report

POLICY = """\
version: 1
name: outputs
target: {data: data.csv, label: y, prediction: p}
rules:
  - {id: dp-sex, kind: demographic_parity, by: sex, max_difference: 0.1}
  - {id: accuracy, kind: performance, metric: accuracy, min: 0.1}
"""


@pytest.fixture
def policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "CI"):
        monkeypatch.delenv(name, raising=False)
    rng = np.random.default_rng(1)
    sex = rng.choice(["F", "M"], 400)
    frame = pd.DataFrame(
        {
            "sex": sex,
            "y": rng.integers(0, 2, 400),
            "p": (rng.random(400) < np.where(sex == "M", 0.7, 0.3)).astype(int),
        }
    )
    frame.to_csv(tmp_path / "data.csv", index=False)
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_several_outputs_take_their_format_from_the_extension(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = policy.parent / "out"
    code, stdout, _ = run(
        capsys, "check", str(policy), "-o", str(out / "r.json"), "-o", str(out / "r.txt")
    )
    assert code == 1  # dp-sex fails
    saved = json.loads((out / "r.json").read_text(encoding="utf-8"))
    assert saved["exit_code"] == 1
    assert (out / "r.txt").read_text(encoding="utf-8").startswith("rulecheck: outputs")
    assert stdout.startswith("rulecheck: outputs")  # text still on standard output
    assert f"report written to {out / 'r.json'}" in stdout
    assert f"report written to {out / 'r.txt'}" in stdout


def test_the_same_output_twice_is_refused(policy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = str(policy.parent / "r.json")
    code, _, err = run(capsys, "check", str(policy), "-o", target, "-o", target)
    assert code == 2
    assert "given twice" in err


def test_an_unwritable_output_is_exit_2_naming_it_and_the_others_are_written(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = policy.parent / "blocker"
    blocker.write_text("a file, not a directory", encoding="utf-8")
    bad = blocker / "r.json"
    good = policy.parent / "r.txt"
    code, _, err = run(capsys, "check", str(policy), "-o", str(bad), "-o", str(good))
    assert code == 2
    assert f"cannot write {bad}" in err
    assert good.is_file()
    assert not list(policy.parent.glob(".*.tmp"))  # no temporary file left behind


def test_quiet_prints_nothing_but_writes_the_files(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = policy.parent / "r.json"
    code, stdout, stderr = run(capsys, "check", str(policy), "-q", "-o", str(target))
    assert (code, stdout, stderr) == (1, "", "")
    assert target.is_file()


def test_quiet_still_prints_errors(policy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, stderr = run(capsys, "check", str(policy), "-q", "--data", "missing.csv")
    assert code == 2
    assert stdout == ""
    assert "missing.csv" in stderr


def test_report_rerenders_a_saved_report_with_its_exit_code(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = policy.parent / "r.json"
    run(capsys, "check", str(policy), "-o", str(saved))
    code, stdout, _ = run(capsys, "check", str(policy))
    again, text, _ = run(capsys, "report", str(saved))
    assert (again, text) == (code, stdout)
    again, as_json, _ = run(capsys, "report", str(saved), "--format", "json")
    assert json.loads(as_json) == json.loads(saved.read_text(encoding="utf-8"))


def test_report_refuses_an_unknown_schema_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "old.json"
    saved.write_text(json.dumps({"schema_version": 99, "verdicts": []}), encoding="utf-8")
    code, _, err = run(capsys, "report", str(saved))
    assert code == 2
    assert "schema_version 99 is not 2" in err
    saved.write_text("not json", encoding="utf-8")
    code, _, err = run(capsys, "report", str(saved))
    assert code == 2
    assert "not JSON" in err


def test_report_never_overwrites_its_input(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = policy.parent / "r.json"
    run(capsys, "check", str(policy), "-o", str(saved))
    before = saved.read_bytes()
    code, _, err = run(capsys, "report", str(saved), "-o", str(saved))
    assert code == 2
    assert "over an input file" in err
    assert saved.read_bytes() == before


def test_report_imports_no_numpy_pandas_or_shap_and_is_fast(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = policy.parent / "r.json"
    run(capsys, "check", str(policy), "-o", str(saved))
    script = (
        "import sys, time; start = time.perf_counter()\n"
        "from rulecheck.cli import main\n"
        f"code = main(['report', {str(saved)!r}, '--format', 'json', '-q'])\n"
        "took = time.perf_counter() - start\n"
        "heavy = sorted(m for m in ('numpy', 'pandas', 'shap', 'sklearn') if m in sys.modules)\n"
        "print(code, took, heavy)\n"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=os.environ
    )
    wall = time.perf_counter() - start
    code, took, heavy = done.stdout.split(" ", 2)
    assert code == "1"
    assert heavy.strip() == "[]"
    assert float(took) < 0.5, f"rendering took {took} s in-process ({wall:.2f} s with startup)"


def test_saved_report_reads_back_identically(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = policy.parent / "r.json"
    run(capsys, "check", str(policy), "-o", str(saved))
    text = saved.read_text(encoding="utf-8")
    assert Report.from_json(text).to_json() + "\n" == text


def test_progress_is_silent_off_a_terminal_and_when_quiet() -> None:
    with cli._progress(quiet=False) as progress:  # pytest's stderr is no terminal
        assert isinstance(progress, cli._NoProgress)
    with cli._progress(quiet=True) as progress:
        assert isinstance(progress, cli._NoProgress)


def test_progress_is_called_for_every_rule(policy: Path) -> None:
    import rulecheck

    steps: list[tuple[str, int, int]] = []
    rulecheck.evaluate(policy, progress=lambda step, done, total: steps.append((step, done, total)))
    assert steps == [
        ("reading data", 0, 2),
        ("loading models", 0, 2),
        ("rule dp-sex", 0, 2),
        ("rule accuracy", 1, 2),
        ("done", 2, 2),
    ]


def test_under_ci_the_text_is_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("CI", raising=False)
    assert cli._interactive()
    monkeypatch.setenv("CI", "true")
    assert not cli._interactive()


def test_under_github_actions_auto_gives_workflow_commands_and_a_job_summary(
    policy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = policy.parent / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, stdout, _ = run(capsys, "check", str(policy))
    assert code == 1
    assert stdout.startswith(f"::error file={policy},line=5,col=5,title=dp-sex::")
    written = summary.read_text(encoding="utf-8")
    assert written.startswith("earlier step\n")  # appended, as GitHub expects
    assert "| `dp-sex` |" in written


def test_the_done_when_command_writes_valid_files_in_one_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rulecheck check examples/german_credit/policy.yaml -o out.html -o junit.xml -o
    out.sarif -o out.md` (the HTML page in a browser: tests/report/test_html.py)."""
    import jsonschema
    from lxml import etree

    monkeypatch.chdir(Path(__file__).parent.parent)
    schemas = Path("tests/schemas")
    junit, sarif, md = tmp_path / "junit.xml", tmp_path / "out.sarif", tmp_path / "out.md"
    html = tmp_path / "out.html"
    code, _, _ = run(
        capsys,
        "check",
        "examples/german_credit/policy.yaml",
        *("-o", str(html), "-o", str(junit), "-o", str(sarif), "-o", str(md)),
    )
    assert code == 1
    xsd = etree.XMLSchema(etree.parse(str(schemas / "junit-10.xsd")))
    xsd.assertValid(etree.parse(str(junit)))
    schema = json.loads((schemas / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(json.loads(sarif.read_text(encoding="utf-8")))
    assert md.read_text(encoding="utf-8").startswith("#")
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") == 8  # every rule of the example has a plot
    assert 'id="rule-sex-proxies"' in page


def test_html_without_matplotlib_is_exit_2_naming_the_file_and_the_extra(
    policy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.delitem(sys.modules, "rulecheck.report.html", raising=False)
    page, data = policy.parent / "r.html", policy.parent / "r.json"
    code, _, err = run(capsys, "check", str(policy), "-o", str(page), "-o", str(data))
    assert code == 2
    assert f"{page}: --format html needs matplotlib: pip install 'rulecheck[html]'" in err
    assert data.is_file()
    assert not page.exists()
