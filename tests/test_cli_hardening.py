"""Issue 13, the command line: Ctrl-C, the report format from the file name, report file modes,
the strict gate recorded in every output, and messages (plurals, plain-text explain, ratios)."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

import rulecheck
from rulecheck import cli
from rulecheck.engines.losses import register_loss

ROOT = Path(__file__).resolve().parents[1]

POLICY = """\
version: 1
name: hardening
target:
  data: data.csv
  label: y
  prediction: p
rules:
  - id: dp-sex
    kind: demographic_parity
    by: sex
    max_difference: 0.9
  - id: accuracy
    kind: performance
    metric: accuracy
    min: 0.99
    severity: warning
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            "x": rng.normal(size=n),
            "y": rng.integers(0, 2, n),
            "p": rng.integers(0, 2, n),
        }
    )
    frame.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def leftovers(directory: Path) -> list[str]:
    """Report or temporary files the atomic writer may have left."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith((".report", "report")))


# -- 1. Ctrl-C ---------------------------------------------------------------------------------


def _interrupt(y_true: npt.NDArray[np.float64], y_pred: npt.NDArray[np.float64]) -> None:
    raise KeyboardInterrupt


@pytest.fixture
def interrupting_loss() -> str:
    # overwrite: re-registering the same test loss in one process is harmless
    register_loss("test_ctrl_c", _interrupt, input="decision", overwrite=True)
    return "test_ctrl_c"


def test_interrupt_inside_evaluation_exits_130_without_report(
    workdir: Path, interrupting_loss: str, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = workdir / "policy.yaml"
    policy.write_text(
        POLICY
        + f"  - {{id: gap, kind: loss_disparity, loss: {interrupting_loss}, by: sex,"
        + " max_difference: 0.5}\n",
        encoding="utf-8",
    )
    code, out, err = run(capsys, "check", str(policy), "-o", str(workdir / "report.json"))
    assert code == 130
    assert err == "rulecheck: interrupted\n"
    assert "Traceback" not in out + err
    assert leftovers(workdir) == []


def test_interrupt_while_writing_leaves_no_file(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_fdopen = os.fdopen

    def fdopen(fd: int, *args: object, **kwargs: object) -> object:
        handle = real_fdopen(fd, *args, **kwargs)  # type: ignore[call-overload]  # pass-through

        class Interrupted:
            def __enter__(self) -> Interrupted:
                handle.__enter__()
                return self

            def __exit__(self, *exc: object) -> None:
                handle.__exit__(*exc)

            def write(self, text: str) -> int:
                handle.write(text[:10])
                raise KeyboardInterrupt

        return Interrupted()

    monkeypatch.setattr(cli.os, "fdopen", fdopen)
    code, _, err = run(
        capsys, "check", str(workdir / "policy.yaml"), "-o", str(workdir / "report.json")
    )
    assert code == 130
    assert err == "rulecheck: interrupted\n"
    assert leftovers(workdir) == []


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_sigint_to_a_slow_check_exits_130(workdir: Path) -> None:
    # k-NN is neither a tree nor a linear model: attribution runs the slow model-agnostic explainer
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(8)})
    frame["sex"] = rng.integers(0, 2, n)
    frame["y"] = (frame["x0"] + rng.normal(size=n) > 0).astype(int)
    features = [c for c in frame.columns if c != "y"]
    model = KNeighborsClassifier(n_neighbors=50).fit(frame[features], frame["y"])
    frame.to_csv(workdir / "slow.csv", index=False)
    with (workdir / "model.pkl").open("wb") as handle:
        pickle.dump(model, handle)
    policy = workdir / "slow.yaml"
    policy.write_text(
        "version: 1\nname: slow\n"
        "target: {data: slow.csv, label: y, model: model.pkl}\n"
        "attribution: {explainer: permutation, max_rows: 2000}\n"
        "rules:\n  - {id: attr, kind: attribution, features: [sex], max_share: 0.5}\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [
            *(sys.executable, "-m", "rulecheck.cli", "check", str(policy), "--trust-model"),
            *("-o", str(workdir / "report.json")),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    time.sleep(6)  # past the imports, inside the explainer
    assert child.poll() is None, child.communicate()
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert err == "rulecheck: interrupted\n"
    assert out == ""
    assert leftovers(workdir) == []


# -- 2. The report format from the output file's extension -------------------------------------


def test_json_output_file_gets_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = workdir / "report.json"
    code, _, _ = run(capsys, "check", str(workdir / "policy.yaml"), "-o", str(out_file))
    assert code == 0
    assert json.loads(out_file.read_text(encoding="utf-8"))["policy"]["name"] == "hardening"


@pytest.mark.parametrize("name", ["report.txt", "report.log", "report"])
def test_other_output_files_get_text(
    workdir: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(capsys, "check", str(workdir / "policy.yaml"), "-o", str(workdir / name))
    assert code == 0
    assert (workdir / name).read_text(encoding="utf-8").startswith("rulecheck: hardening")


def test_explicit_format_wins_for_unknown_extension(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = workdir / "report.out"
    code, _, _ = run(
        capsys, "check", str(workdir / "policy.yaml"), "--format", "json", "-o", str(out_file)
    )
    assert code == 0
    json.loads(out_file.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("given", "name"), [("text", "report.json"), ("json", "report.txt")])
def test_format_contradicting_the_extension_is_refused(
    workdir: Path, given: str, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "check", str(workdir / "policy.yaml"), "--format", given, "-o", str(workdir / name)
    )
    assert code == 2
    assert f"--format {given} does not match the output file" in err
    assert "Traceback" not in err
    assert out == ""
    assert leftovers(workdir) == []


# -- 3. Report file permissions ----------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_report_file_mode_follows_the_umask(
    workdir: Path, umask: int, mode: int, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = workdir / "report.json"
    old = os.umask(umask)
    try:
        code, _, _ = run(capsys, "check", str(workdir / "policy.yaml"), "-o", str(out_file))
    finally:
        os.umask(old)
    assert code == 0
    assert out_file.stat().st_mode & 0o777 == mode


# -- 4. The strict gate, recorded ---------------------------------------------------------------


def test_strict_gate_agrees_in_text_json_and_exit_code(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = str(workdir / "policy.yaml")
    code, out, _ = run(capsys, "check", policy, "--strict")
    assert code == 1
    assert out.rstrip().endswith("2 rules: 1 pass, 1 warn. Exit code 1 (strict: warnings fail).")
    code, out, _ = run(capsys, "check", policy, "--strict", "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert (report["passed"], report["exit_code"], report["gate"]) == (False, 1, {"strict": True})
    code, out, _ = run(capsys, "check", policy)
    assert code == 0
    assert out.rstrip().endswith(
        "2 rules: 1 pass, 1 warn. Exit code 0 (not strict: warnings pass)."
    )
    code, out, _ = run(capsys, "check", policy, "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert (report["passed"], report["exit_code"], report["gate"]) == (True, 0, {"strict": False})


def test_evaluate_records_the_gate(workdir: Path) -> None:
    lenient = rulecheck.evaluate(workdir / "policy.yaml")
    strict = rulecheck.evaluate(workdir / "policy.yaml", strict=True)
    assert (lenient.strict, lenient.passed, int(lenient.exit_code())) == (False, True, 0)
    assert (strict.strict, strict.passed, int(strict.exit_code())) == (True, False, 1)
    assert int(strict.exit_code(strict=False)) == 0  # an explicit gate still answers


# -- 5. Messages ---------------------------------------------------------------------------------


def test_one_rule_is_singular(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = workdir / "one.yaml"
    policy.write_text(POLICY.split("  - id: accuracy")[0], encoding="utf-8")
    code, out, _ = run(capsys, "check", str(policy))
    assert code == 0
    assert "1 rule: 1 pass. Exit code 0." in out


def test_explain_prints_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    from rulecheck.rules import KINDS

    for kind in KINDS:
        code, out, _ = run(capsys, "explain", kind)
        assert code == 0
        prose = [line for line in out.splitlines() if not line.startswith("    ")]
        assert not [line for line in prose if "``" in line or "**" in line], kind
    _, out, _ = run(capsys, "explain", "attribution")
    assert "What it checks" in out
    assert "``features`` lists" not in out
    assert "features lists names" in out
    assert "(rank 1 = largest share; passes when its rank is greater than max_rank" in out


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("``a_b`` and ``c``", "a_b and c"),
        ("**What it checks**", "What it checks"),
        (":func:`rulecheck.evaluate`", "rulecheck.evaluate"),
        ("`x` in Markdown", "x in Markdown"),
        ("2 ** 3 stays", "2 ** 3 stays"),
    ],
)
def test_plain_text(text: str, plain: str) -> None:
    assert cli.plain_text(text) == plain


def test_plain_text_unfences_code_blocks() -> None:
    assert cli.plain_text("Passing:\n\n```yaml\n- id: a\n  by: ``x``\n```\nend") == (
        "Passing:\n\n    - id: a\n      by: ``x``\nend"
    )
