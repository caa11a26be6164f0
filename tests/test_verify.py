"""rulecheck verify: policy unit tests, and explain builtin:NAME / validate --show-merged."""

from __future__ import annotations

from pathlib import Path

import pytest

from rulecheck.cli import main
from rulecheck.policy import load_policy

FOUR_FIFTHS = Path(__file__).parent.parent / "policies" / "four-fifths.yaml"

PASSING = f"""\
policy: {FOUR_FIFTHS}
params: {{group_column: g, min_group_size: 1}}
cases:
  - name: equal-rates
    data: {{g: [a, a, b, b], p: [1, 0, 1, 0]}}
    target: {{prediction: p}}
    expect: {{four-fifths-g: pass}}
"""

FAILING = f"""\
policy: {FOUR_FIFTHS}
params: {{group_column: g, min_group_size: 1}}
cases:
  - name: wrong-expectation
    data: {{g: [a, a, b, b], p: [1, 1, 1, 0]}}
    target: {{prediction: p}}
    expect: {{four-fifths-g: pass}}
"""

INLINE = """\
policy_text: |
  version: 1
  name: inline
  rules:
    - {id: dp, kind: demographic_parity, by: g, max_difference: 0.2, min_group_size: 1}
cases:
  - name: gap
    csv: data.csv
    target: {prediction: p}
    expect: {dp: fail}
"""


def write(tmp_path: Path, text: str, name: str = "t.verify.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_passing_file_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", write(tmp_path, PASSING)]) == 0
    out = capsys.readouterr().out
    assert "::equal-rates ok" in out
    assert "1 passed, 0 failed" in out


def test_failing_case_exits_1_with_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", write(tmp_path, FAILING)]) == 1
    out = capsys.readouterr().out
    assert "::wrong-expectation FAILED: rule four-fifths-g expected pass, got fail: " in out
    assert "0 passed, 1 failed" in out


def test_inline_policy_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data.csv").write_text("g,p\na,1\na,1\nb,0\nb,1\n", encoding="utf-8")
    assert main(["verify", write(tmp_path, INLINE)]) == 0, capsys.readouterr()


def test_params_wrapper_extends_builtin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = PASSING.replace(str(FOUR_FIFTHS), "builtin:four-fifths")
    text = text.replace("group_column: g", "group_column: h").replace("g:", "h:")
    text = text.replace("four-fifths-g", "four-fifths-h")
    assert main(["verify", write(tmp_path, text)]) == 0, capsys.readouterr()


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("cases: []\npolicy: x.yaml\n", ":1:8:", "at least 1 item"),
        (PASSING.replace("expect:", "expekt:"), ":7:5:", "unknown field 'expekt'"),
        (PASSING.replace("four-fifths-g: pass", "four-fifths-g: passed"), ":7:29:", "pass"),
        (PASSING.replace("four-fifths-g:", "no-such-rule:"), ":7:14:", "no rule 'no-such-rule'"),
        (PASSING.replace("params: {", "params: {{"), ":3:1:", "YAML"),
        (PASSING.replace("group_column: g", "group_column: 3"), "", "must be a str"),
    ],
)
def test_malformed_file_exits_2_with_position(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    where: str,
    message: str,
) -> None:
    path = write(tmp_path, text)
    assert main(["verify", path]) == 2
    err = capsys.readouterr().err
    assert message in err
    if where:
        assert f"{path}{where}" in err


def test_explain_builtin_pack(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "builtin:nyc-ll144"]) == 0
    out = capsys.readouterr().out
    assert "6 RCNY" in out  # the header comments cite the source
    assert "- min_category_size (int, required): " in out
    assert "- flag_below (float, default 0.8): " in out
    assert "  - id: ll144-impact-ratio-sex" in out
    assert main(["explain", "builtin:nope"]) == 2


def test_validate_show_merged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write(
        tmp_path,
        "version: 1\nname: m\nextends: [builtin:four-fifths]\nparams: {group_column: race}\n"
        "rules:\n  - {id: eo, kind: equal_opportunity, by: race}\n",
        "policy.yaml",
    )
    assert main(["validate", "--show-merged", policy]) == 0
    out = capsys.readouterr().out
    assert "  # from builtin:four-fifths:" in out
    assert f"  # from {policy}:6" in out
    assert "  - id: four-fifths-race\n    kind: disparate_impact\n" in out
    assert "name: m" in out
    merged = write(tmp_path, out, "merged.yaml")  # the output is a policy of its own
    assert [r.id for r in load_policy(merged).rules] == ["four-fifths-race", "eo"]
