"""Nominal 95 % intervals cover the truth 93-97 % of the time, by simulation with a fixed seed.

The simulation (``coverage_sim.py`` next to this file, loaded by path) draws 2,000 datasets of
two independent binomial groups per scenario and checks the analytic intervals (Wilson, Newcombe,
Katz) and the count bootstrap (B = 1,000, percentile) for a rate, a difference and a ratio. With
2,000 datasets the Monte Carlo standard error of a 95 % coverage is 0.005, so the 93-97 % band is
four standard errors wide on each side: a correct method passes, a method off by 3 points fails.
The small-and-rare corner is not asserted (both methods miss there; see docs/uncertainty.md and
``benchmarks/coverage_table.py``), only that the simulation runs and reports it.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _load_simulation() -> ModuleType:
    """coverage_sim.py as the module ``coverage_sim`` (the benchmark script loads it the same way)."""
    if "coverage_sim" in sys.modules:
        return sys.modules["coverage_sim"]
    path = Path(__file__).with_name("coverage_sim.py")
    spec = importlib.util.spec_from_file_location("coverage_sim", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["coverage_sim"] = module
    spec.loader.exec_module(module)
    return module


sim = _load_simulation()
ASSERTED = [s for s in sim.SCENARIOS if s.asserted]
REPORTED = [s for s in sim.SCENARIOS if not s.asserted]


@functools.cache
def _coverage(scenario: Any) -> dict[tuple[str, str], Any]:
    """The simulation's rows for ``scenario`` by (method, quantity), computed once per session."""
    return {(row.method, row.quantity): row for row in sim.simulate_coverage(scenario)}


@pytest.mark.parametrize("quantity", sim.QUANTITIES)
@pytest.mark.parametrize("method", sim.METHODS)
@pytest.mark.parametrize("scenario", ASSERTED, ids=[s.name for s in ASSERTED])
def test_coverage_is_near_nominal(scenario: Any, method: str, quantity: str) -> None:
    row = _coverage(scenario)[method, quantity]
    assert row.datasets >= 1_000
    assert row.undefined == 0.0
    assert 0.93 <= row.coverage <= 0.97, (
        f"{method} {quantity} in {scenario.label()}: coverage {row.coverage:.3f}"
    )


@pytest.mark.parametrize("scenario", REPORTED, ids=[s.name for s in REPORTED])
def test_reported_corner_runs(scenario: Any) -> None:
    rows = _coverage(scenario)
    assert len(rows) == len(sim.METHODS) * len(sim.QUANTITIES)
    for row in rows.values():
        assert 0.0 <= row.coverage <= 1.0
        assert 0.0 <= row.undefined <= 1.0 - row.coverage  # an undefined interval never covers


def test_the_simulation_is_reproducible() -> None:
    scenario = ASSERTED[0]
    first = sim.simulate_coverage(scenario, datasets=200, replicates=100)
    again = sim.simulate_coverage(scenario, datasets=200, replicates=100)
    assert first == again
    other = sim.simulate_coverage(scenario, datasets=200, replicates=100, seed=sim.SEED + 1)
    assert first != other
