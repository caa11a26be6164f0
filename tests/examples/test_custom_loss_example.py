"""examples/custom_loss: the focal loss plugin and the audit's designed verdicts.

The policy is evaluated with the committed models and data, so a retrained model, a changed
policy or a change in rulecheck that moves a verdict (or a number quoted in the example's README)
fails here instead of silently drifting.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

import rulecheck
from rulecheck.engines.losses import LossRegistry

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_loss"

# rule id -> (status, value shown in the report); the values are quoted in the policy comments
# and the README, as baseline -> candidate changes or the candidate's gap.
EXPECTED = {
    "log-loss-gap-sex": ("pass", -0.05423),  # gap 0.1987 -> 0.1444
    "focal-gap-race": ("pass", 0.05002),  # gap 0.1415 -> 0.0500, max_difference 0.08
    "tpr-gap-sex-no-wider": ("pass", 0.00108),  # gap 0.0622 -> 0.0633
    "roc-auc-no-worse": ("pass", -0.00030),  # 0.9055 -> 0.9052, change = candidate - baseline
    "log-loss-no-worse": ("fail", 0.08685),  # 0.3178 -> 0.4047
}


@pytest.fixture(scope="module")
def rulecheck_focal() -> Iterator[ModuleType]:
    """The example's package, imported from its folder as run.py does (no install)."""
    sys.path.insert(0, str(EXAMPLE))
    try:
        import rulecheck_focal

        yield rulecheck_focal
    finally:
        sys.path.remove(str(EXAMPLE))


@pytest.fixture(scope="module")
def registry(rulecheck_focal: ModuleType) -> LossRegistry:
    # No entry-point discovery: the test must not depend on whether the plugin is installed.
    fresh = LossRegistry(entry_points=None)
    rulecheck_focal.register(registry=fresh)
    return fresh


def test_focal_with_gamma_zero_is_log_loss_per_row(rulecheck_focal: ModuleType) -> None:
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.integers(0, 2, 200), [1, 0, 1, 0, 1, 0]])
    # Random probabilities plus the clipped extremes: certain and wrong, certain and right.
    p = np.concatenate([rng.random(200), [0.0, 1.0, 1e-20, 1 - 1e-17, 1.0, 0.0]])
    expected = np.array([log_loss([t], [q], labels=[0, 1]) for t, q in zip(y, p, strict=True)])
    np.testing.assert_allclose(rulecheck_focal.focal(y, p, gamma=0.0), expected, rtol=0, atol=1e-12)


def test_focal_down_weights_easy_rows(rulecheck_focal: ModuleType) -> None:
    y = np.array([1, 0, 1])
    p = np.array([0.9, 0.2, 0.5])
    p_t = np.array([0.9, 0.8, 0.5])
    expected = -((1 - p_t) ** 2) * np.log(p_t)
    np.testing.assert_allclose(rulecheck_focal.focal(y, p), expected, rtol=1e-15)
    np.testing.assert_allclose(rulecheck_focal.focal(y, p, gamma=1.0), -(1 - p_t) * np.log(p_t))


def test_register_adds_focal_with_its_param(registry: LossRegistry) -> None:
    spec = registry.get("focal")
    assert (spec.input, spec.params) == ("probability", ("gamma",))


def test_entry_point_names_the_focal_function(rulecheck_focal: ModuleType) -> None:
    pyproject = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))
    entry_points = pyproject["project"]["entry-points"]["rulecheck.losses"]
    assert entry_points == {"focal": "rulecheck_focal:focal"}
    module, _, attribute = entry_points["focal"].partition(":")
    assert getattr(sys.modules[module], attribute) is rulecheck_focal.focal


def test_audit_data_is_the_adult_test_split() -> None:
    adult = pd.read_csv(EXAMPLE.parent / "adult" / "adult.csv.gz")
    expected = adult[adult["split"] == "test"].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.read_csv(EXAMPLE / "adult_test.csv.gz"), expected)


def test_policy_gives_the_designed_verdicts(registry: LossRegistry) -> None:
    report = rulecheck.evaluate(EXAMPLE / "policy.yaml", loss_registry=registry)
    got = {v.rule_id: (v.status.value, v.value) for v in report.verdicts}
    assert list(got) == list(EXPECTED)
    for rule_id, (status, value) in EXPECTED.items():
        assert got[rule_id][0] == status, (rule_id, report.verdicts)
        assert got[rule_id][1] == pytest.approx(value, abs=1e-5), rule_id
    assert report.exit_code() == rulecheck.ExitCode.VIOLATIONS
