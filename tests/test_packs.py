"""The built-in packs: each loads with its required params, documents every param, and passes
its unit tests in tests/packs/<name>.verify.yaml (the same files `rulecheck verify` runs)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
import yaml

import rulecheck
from rulecheck._extends import pack_names, pack_path
from rulecheck.policy import load_policy
from rulecheck.verify import run

PACK_TESTS = Path(__file__).parent / "packs"
REQUIRED = {"str": "g", "int": 2, "float": 0.5, "bool": True, "list": ["g"]}


@pytest.mark.parametrize("name", pack_names())
def test_pack_has_a_verify_file_that_passes(name: str) -> None:
    path = PACK_TESTS / f"{name}.verify.yaml"
    assert path.is_file(), f"every pack needs tests/packs/{name}.verify.yaml"
    out = io.StringIO()
    err = io.StringIO()
    assert run([str(path)], out, err) == 0, out.getvalue() + err.getvalue()
    assert " failed" in out.getvalue()
    assert "0 failed" in out.getvalue()


@pytest.mark.parametrize("name", pack_names())
def test_pack_loads_with_its_required_params_and_documents_them(name: str) -> None:
    path = pack_path(name)
    assert path is not None
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert text.startswith("#"), "a pack starts with comments citing its source"
    assert data["description"].strip()
    required = {}
    for param, spec in data["params"].items():
        assert spec.get("description", "").strip(), f"params.{param} needs a description"
        if "default" not in spec:
            required[param] = REQUIRED[spec["type"]]
    policy = load_policy(
        f"version: 1\nname: t\nextends: [builtin:{name}]\nparams: {yaml.safe_dump(required, default_flow_style=True).strip()}\n"
    )
    assert policy.rules
    assert all("${" not in str(rule.model_dump()) for rule in policy.rules)


def test_nyc_ll144_reports_small_categories_but_excludes_them() -> None:
    policy = """\
version: 1
name: audit
extends: [builtin:nyc-ll144]
params: {sex_column: sex, race_column: race, min_category_size: 2}
"""
    data = pd.DataFrame(
        {
            "sex": ["f", "f", "m", "m", "f"],
            "race": ["A", "B", "A", "B", "C"],
            "p": [1, 1, 1, 0, 0],
        }
    )
    report = rulecheck.evaluate(policy, data, prediction="p")
    verdict = next(v for v in report.verdicts if v.rule_id == "ll144-impact-ratio-race")
    assert verdict.status.value == "warn"  # B 0/2 vs A 2/2: ratio 0, never a failure
    assert verdict.severity == "warning"
    groups = {g.group[0][1]: g for g in verdict.groups}
    assert set(groups) == {"A", "B", "C"}  # the published table lists every category
    assert groups["C"].excluded
    assert not groups["A"].excluded
