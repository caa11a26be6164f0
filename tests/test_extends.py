"""extends and params: policies built on other policies and on built-in packs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import rulecheck
from rulecheck.errors import PolicyError
from rulecheck.policy import load_policy

BASE = """\
version: 1
name: org-base
params:
  group_column: {type: str, default: sex}
  gap: {type: float, default: 0.1}
rules:
  - id: dp
    kind: demographic_parity
    by: ${params.group_column}
    max_difference: ${params.gap}
    description: parity by ${params.group_column}
  - id: acc
    kind: performance
    metric: accuracy
    min: 0.5
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def org(tmp_path: Path) -> Path:
    (tmp_path / "org").mkdir()
    write(tmp_path / "org", "base.yaml", BASE)
    return tmp_path


def child(org: Path, body: str) -> Path:
    return write(org, "model.yaml", "version: 1\nname: model-a\nextends: [org/base.yaml]\n" + body)


def test_rules_are_inherited_in_order_with_params_substituted(org: Path) -> None:
    policy = load_policy(
        child(
            org,
            "params: {group_column: race}\nrules:\n  - {id: eo, kind: equal_opportunity, by: race}\n",
        )
    )
    assert [r.id for r in policy.rules] == ["dp", "acc", "eo"]
    dp = policy.rules[0]
    assert dp.by == "race"  # type: ignore[union-attr]
    assert dp.max_difference == 0.1  # type: ignore[union-attr]  # a whole placeholder keeps its type
    assert dp.description == "parity by race"
    assert policy.extends == ["org/base.yaml"]
    assert policy.params == {"group_column": "race", "gap": 0.1}
    # Each rule remembers where it was written.
    assert dp.source is not None
    assert dp.source.file.endswith("org/base.yaml")
    assert dp.source.line == 7
    assert dp.source.text is not None
    assert "kind: demographic_parity" in dp.source.text
    assert policy.rules[2].source is not None
    assert policy.rules[2].source.file.endswith("model.yaml")


def test_an_inherited_id_needs_override(org: Path) -> None:
    path = child(
        org, "rules:\n  - {id: dp, kind: demographic_parity, by: sex, max_difference: 0.2}\n"
    )
    with pytest.raises(
        PolicyError,
        match=r"model.yaml:5:\d+: .*rule id 'dp' is inherited from .*base.yaml:7; set override: true",
    ):
        load_policy(path)
    path = child(
        org,
        "rules:\n  - {id: dp, override: true, kind: demographic_parity, by: sex, max_difference: 0.2}\n",
    )
    policy = load_policy(path)
    assert [r.id for r in policy.rules] == ["dp", "acc"]  # replaced in place
    assert policy.rules[0].max_difference == 0.2  # type: ignore[union-attr]


def test_override_of_nothing_is_an_error(org: Path) -> None:
    path = child(org, "rules:\n  - {id: new, override: true, kind: equal_opportunity, by: sex}\n")
    with pytest.raises(
        PolicyError, match="override: true, but no extended policy has a rule 'new'"
    ):
        load_policy(path)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            "{colour: red}",
            "unknown parameter 'colour'; the extended policies declare: gap, group_column",
        ),
        ("{gap: wide}", "parameter 'gap' must be a float, got 'wide'"),
    ],
)
def test_bad_params_are_errors_at_their_position(org: Path, params: str, message: str) -> None:
    path = child(org, f"params: {params}\nrules: []\n")
    with pytest.raises(PolicyError, match=message) as info:
        load_policy(path)
    assert "model.yaml:4:" in str(info.value)


def test_a_required_param_that_is_not_set(org: Path) -> None:
    write(org / "org", "strict.yaml", BASE.replace("{type: str, default: sex}", "{type: str}"))
    path = write(org, "model.yaml", "version: 1\nname: m\nextends: [org/strict.yaml]\nrules: []\n")
    with pytest.raises(PolicyError, match="parameter 'group_column' has no default") as info:
        load_policy(path)
    assert "strict.yaml:4:" in str(info.value)


def test_an_error_in_an_inherited_rule_points_at_its_file_with_a_snippet(org: Path) -> None:
    write(org / "org", "base.yaml", BASE.replace("min: 0.5", "min: 5"))
    with pytest.raises(PolicyError) as info:
        load_policy(child(org, "rules: []\n"))
    rendered = info.value.render()
    assert "org/base.yaml:15:10: rules[1] (id: acc).min" in rendered
    assert "15 |     min: 5" in rendered  # the snippet is the pack's line, not the child's


def test_missing_files_cycles_and_unknown_packs(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", "version: 1\nname: a\nextends: [nope.yaml]\nrules: []\n")
    with pytest.raises(
        PolicyError, match=r"a.yaml:3:11: extends: extended policy 'nope.yaml' not found"
    ):
        load_policy(path)
    write(tmp_path, "b.yaml", "version: 1\nname: b\nextends: [c.yaml]\nrules: []\n")
    write(tmp_path, "c.yaml", "version: 1\nname: c\nextends: [b.yaml]\nrules: []\n")
    with pytest.raises(PolicyError, match=r"extends cycle: b.yaml -> c.yaml -> b.yaml"):
        load_policy(tmp_path / "b.yaml")
    path = write(tmp_path, "d.yaml", "version: 1\nname: d\nextends: [builtin:nope]\nrules: []\n")
    with pytest.raises(
        PolicyError,
        match="no built-in pack 'nope'; packs: builtin:equal-opportunity, builtin:four-fifths",
    ):
        load_policy(path)


def test_the_four_fifths_pack_gates_a_model(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "race": ["a"] * 100 + ["b"] * 100,
            "y": [1, 0] * 100,
            "p": [1] * 60 + [0] * 40 + [1] * 40 + [0] * 60,  # selection 0.6 vs 0.4: ratio 0.667
        }
    )
    text = (
        "version: 1\nname: hiring\nextends: [builtin:four-fifths]\n"
        "params: {group_column: race}\nrules: []\n"
    )
    report = rulecheck.evaluate(text, data=frame, label="y", prediction="p")
    (verdict,) = report.verdicts
    assert verdict.rule_id == "four-fifths-race"
    assert verdict.status.value == "fail"
    assert verdict.value == pytest.approx(0.4 / 0.6)
    assert verdict.source is not None
    assert verdict.source.file == "builtin:four-fifths"


def test_list_packs_names_each_pack_and_its_params(capsys: pytest.CaptureFixture[str]) -> None:
    from rulecheck import cli

    assert cli.main(["list-packs"]) == 0
    out = capsys.readouterr().out
    assert "\nbuiltin:four-fifths  EEOC four-fifths rule (29 CFR 1607.4(D))" in out
    assert "params.group_column (str, required)" in out
    assert "params.min_group_size (int, default 30)" in out


def test_a_rule_whose_id_comes_from_a_parameter_can_be_overridden() -> None:
    policy = load_policy(
        "version: 1\nname: m\nextends: [builtin:four-fifths]\nparams: {group_column: sex}\n"
        "rules:\n  - {id: four-fifths-sex, override: true, kind: disparate_impact, by: sex,"
        " min_ratio: 0.9}\n"
    )
    (rule,) = policy.rules
    assert rule.min_ratio == 0.9  # type: ignore[union-attr]
    assert rule.source is not None
    assert rule.source.file == "<string>"
