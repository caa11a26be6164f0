"""Fuzzing `rulecheck validate` with mutated valid policies: exit 0 or 2, never 3, never a traceback.

Each example takes a valid policy (the examples/ policies and a few small ones below) and applies
one to four mutations: a scalar replaced by any kind of YAML scalar, a line deleted, duplicated or
re-indented, an anchor, alias or tag inserted. ``rulecheck.cli.main(["validate", path])`` then runs
in-process under a time limit.

The default run takes ``RULECHECK_FUZZ_EXAMPLES`` examples (300 when unset, a few seconds);
CI runs 10,000 as its own step (``.ci/run``).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulecheck import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("RULECHECK_FUZZ_EXAMPLES", "300"))
SECONDS_PER_EXAMPLE = 10
LOCATION = re.compile(r"^\S.*:\d+:\d+: ", re.MULTILINE)

SMALL = [
    """\
version: 1
name: small
target: {label: y, prediction: p, positive_label: 1, labels: [0, 1]}
rules:
  - id: dp
    kind: demographic_parity
    by: sex
    max_difference: 0.1
    reference_group: f
    groups: [f, m]
""",
    """\
version: 1
name: anchors
description: merge keys and aliases
target:
  label: y
  prediction: p
  where: {age: {gte: 18}, region: [north, south]}
rules:
  - &base {id: a, kind: demographic_parity, by: [sex, race], max_difference: 0.2}
  - <<: *base
    id: b
    min_ratio: 0.8
  - id: c
    kind: performance
    metric: accuracy
    min: 0.5
    severity: warning
""",
]
# The example policies, mutated in a temporary directory: those that extend a file beside them
# (examples/ci extends org/base.yaml) go with a copy of it, as the mutants' parents.
EXAMPLE_POLICIES = sorted(ROOT.glob("examples/*/policy.yaml"))
SEEDS = [p.read_text(encoding="utf-8") for p in EXAMPLE_POLICIES]
SEEDS += SMALL
PARENTS = {
    path.relative_to(policy.parent).as_posix(): path.read_text(encoding="utf-8")
    for policy in EXAMPLE_POLICIES
    for path in sorted(policy.parent.glob("org/*.yaml"))
}


def write_parents(directory: Path) -> None:
    """The files the seeds extend, beside the policy being validated."""
    for name, text in PARENTS.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


# Every kind of scalar YAML 1.1 produces, plus tags, anchors, aliases and flow collections.
YAML_SCALARS = [
    "2026-13-45",
    "2026-11-30",
    "2026-11-30T10:00:00Z",
    "!!timestamp 2026-02-30",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!pairs [a: 1, a: 2]",
    "{<<: {kind: x}}",
    "{<<: [1]}",
    "<<",
    ".nan",
    ".inf",
    "-.inf",
    "1.0e+400",
    "1" * 400,
    "1" * 4400,
    "x" * 5000,
    "!!python/object:os.system x",
    "!!python/name:os.system ''",
    "!foo bar",
    "!foo {a: 1}",
    "!!int abc",
    "!!bool maybe",
    "!!float x",
    "!!str 12",
    "!!null ''",
    "&a [*a]",
    "*undefined",
    "~",
    "null",
    "''",
    "yes",
    "No",
    "ON",
    "off",
    "01",
    "1.0",
    "0x1F",
    "0o17",
    "190:20:30",
    "1_000",
    "-0",
    "[]",
    "{}",
    "[1, [2, [3]]]",
    "{a: 1}",
    "公平-dp",
    "égalité",
    '"\\u0000"',
    '"a\\tb"',
    "|\n  block",
    "?",
    "-",
    "0.1",
    "2",
    "true",
]
PIECES = ["&x ", "*x", "!!str ", "!!int ", "!!map ", "!!seq ", "!bad ", "<<: *x", "&x", "? "]

_SCALAR_AT = re.compile(r"(:\s+|-\s+|\[|,\s*|\{)([^\s,\[\]{}:#][^,\[\]{}#\n]*)")


@st.composite
def mutated_policies(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(SEEDS)).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        operation = draw(
            st.sampled_from(
                ["scalar", "scalar", "scalar", "delete", "duplicate", "indent", "piece"]
            )
        )
        if operation == "scalar":
            spots = list(_SCALAR_AT.finditer(line))
            if spots:
                spot = draw(st.sampled_from(spots))
                new = draw(st.sampled_from(YAML_SCALARS) | st.text(max_size=12))
                lines[index] = line[: spot.start(2)] + new + line[spot.end(2) :]
        elif operation == "delete":
            del lines[index]
        elif operation == "duplicate":
            lines.insert(index, line)
        elif operation == "indent":
            lines[index] = " " * draw(st.integers(0, 8)) + line.lstrip()
        else:
            column = draw(st.integers(0, len(line)))
            lines[index] = line[:column] + draw(st.sampled_from(PIECES)) + line[column:]
    return "\n".join(lines) + "\n"


class ExampleTimeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise ExampleTimeout(f"validate took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def validate(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with (
        time_limit(SECONDS_PER_EXAMPLE),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = cli.main(["validate", str(path)])
    return code, out.getvalue(), err.getvalue()


def assert_clean(code: int, out: str, err: str, text: str) -> None:
    context = f"\n--- policy ---\n{text[:3000]}\n--- stderr ---\n{err[:3000]}"
    assert code in (0, 2), f"exit {code}{context}"
    assert "Traceback" not in err, context
    if code == 2:
        assert LOCATION.search(err), f"no file:line:col{context}"
    else:
        assert ": ok (" in out, context


def test_seeds_are_valid(tmp_path: Path) -> None:
    write_parents(tmp_path)
    for number, text in enumerate(SEEDS):
        path = tmp_path / f"seed{number}.yaml"
        path.write_text(text, encoding="utf-8")
        code, _, err = validate(path)
        assert code == 0, err


@pytest.fixture(scope="module")
def fuzz_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("fuzz")
    write_parents(directory)
    return directory / "policy.yaml"


@settings(
    max_examples=EXAMPLES,
    deadline=None,  # the alarm above bounds each example; a deadline would be flaky on CI
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=mutated_policies())
def test_mutated_policies_validate_cleanly(fuzz_file: Path, text: str) -> None:
    fuzz_file.write_text(text, encoding="utf-8")
    assert_clean(*validate(fuzz_file), text)


def _alias_bomb() -> str:
    rows = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    rows += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 12)]
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nname: 2026-13-45\nrules: [{id: a, kind: demographic_parity, by: s}]\n", 0),
        (
            "version: 1\nname: x\n"
            "rules: [{id: a, kind: demographic_parity, by: s, max_difference: .nan}]\n",
            2,
        ),
        (_alias_bomb(), 2),
    ],
    ids=["bad-date", "nan-bound", "alias-bomb"],
)
def test_as_a_subprocess(tmp_path: Path, text: str, expected: int) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "rulecheck.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == expected, done.stderr
    assert "Traceback" not in done.stderr
    if expected == 2:
        assert LOCATION.search(done.stderr), done.stderr
