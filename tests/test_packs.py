"""The built-in packs: each loads with its required params, documents every param, and passes
its unit tests in tests/packs/<name>.verify.yaml (the same files `rulecheck verify` runs)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
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


def ll144_by_hand(
    data: pd.DataFrame, columns: list[str], min_size: int
) -> dict[tuple[str, ...], tuple[int, float, float | None]]:
    """6 RCNY § 5-301 by hand: per category its count, selection rate and impact ratio (its rate
    / the most selected category's), categories under ``min_size`` left out of the ratios."""
    known = data.dropna(subset=columns)
    figures = {}
    rates = known.groupby(columns)["selected"].agg(["size", "mean"])
    top = rates.loc[rates["size"] >= min_size, "mean"].max()
    for key, row in rates.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        ratio = row["mean"] / top if row["size"] >= min_size else None
        figures[tuple(str(k) for k in key)] = (int(row["size"]), float(row["mean"]), ratio)
    return figures


def test_nyc_ll144_publishes_every_required_figure_as_computed_by_hand() -> None:
    # Every figure § 5-301 asks a bias audit to publish, per category of sex, of race/ethnicity
    # and of their intersection: the number of candidates, the selection rate and the impact
    # ratio; categories under 2% reported without a ratio; candidates of unknown category counted.
    rng = np.random.default_rng(7)
    n = 5000
    race = rng.choice(
        ["White", "Black", "Hispanic", "Asian", "Native American"],
        size=n,
        p=[0.5, 0.2, 0.19, 0.1, 0.01],
    ).astype(object)
    race[rng.random(n) < 0.03] = None  # unknown category
    sex = rng.choice(["Female", "Male"], size=n)
    rate = {"White": 0.5, "Black": 0.35, "Hispanic": 0.4, "Asian": 0.55, "Native American": 0.3}
    p = np.array([rate.get(r, 0.45) for r in race]) * np.where(sex == "Female", 0.9, 1.0)
    data = pd.DataFrame({"sex": sex, "race": race, "selected": (rng.random(n) < p).astype(int)})
    min_size = int(0.02 * n)
    policy = f"""\
version: 1
name: audit
extends: [builtin:nyc-ll144]
params: {{sex_column: sex, race_column: race, min_category_size: {min_size}}}
"""
    report = rulecheck.evaluate(policy, data, prediction="selected")
    unknown = int(data["race"].isna().sum())
    for rule_id, columns in (
        ("ll144-impact-ratio-sex", ["sex"]),
        ("ll144-impact-ratio-race", ["race"]),
        ("ll144-impact-ratio-intersectional", ["sex", "race"]),
    ):
        verdict = next(v for v in report.verdicts if v.rule_id == rule_id)
        expected = ll144_by_hand(data, columns, min_size)
        got = {tuple(str(v) for _, v in g.group): g for g in verdict.groups}
        assert set(got) == set(expected), rule_id
        for key, (count, selection_rate, ratio) in expected.items():
            group = got[key]
            assert group.n == count
            assert group.value == pytest.approx(selection_rate, abs=1e-12)
            assert group.excluded == (ratio is None)
            if ratio is None:
                assert group.ratio is None
            else:
                assert group.ratio == pytest.approx(ratio, abs=1e-12)
        ratios = [r for _, _, r in expected.values() if r is not None]
        assert verdict.value == pytest.approx(min(ratios), abs=1e-12)
        if "race" in columns:
            assert any(f"{unknown} rows" in note for note in verdict.notes), verdict.notes
        # The JSON a reviewer publishes from carries the same figures.
        dumped = {
            tuple(str(v) for v in g["group"].values()): g for g in verdict.to_dict()["groups"]
        }
        assert all(
            ("ratio" in dumped[key]) == (r is not None) for key, (_, _, r) in expected.items()
        )


@pytest.mark.slow
def test_the_wheel_ships_every_pack(tmp_path: Path) -> None:
    # The packs live in policies/ in the repository; the wheel carries them in rulecheck/packs/,
    # where an installed rulecheck finds them.
    import subprocess
    import sys
    import zipfile

    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(root),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("rulecheck-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for pack in pack_names():
        shipped = f"rulecheck/packs/{pack}.yaml"
        assert shipped in names, shipped
        assert (
            zipfile.ZipFile(wheel).read(shipped)
            == (root / "policies" / f"{pack}.yaml").read_bytes()
        )
