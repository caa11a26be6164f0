"""Coverage of rulecheck's confidence intervals for rates, by simulation (shared by test and script).

Each scenario is two independent binomial groups with known rates ``p1`` and ``p2``. For every
simulated dataset (the counts ``k1 ~ Bin(n1, p1)`` and ``k2 ~ Bin(n2, p2)``) both methods give a
nominal ``CONFIDENCE`` interval for three quantities: the rate ``p1``, the difference ``p1 - p2``
and the ratio ``p1 / p2``.

* ``analytic``: Wilson for the rate, Newcombe's hybrid score interval for the difference, Katz's
  log interval for the ratio (``rulecheck.engines._analytic``).
* ``bootstrap``: ``REPLICATES`` count-bootstrap replicates per dataset
  (``multinomial_replicates``; the datasets' groups are stacked as the groups of one count table,
  so every dataset is resampled in one call) and the equal-tailed percentile interval
  (``percentile_intervals``), ignoring replicates where the quantity is undefined.

Coverage is the share of datasets whose interval contains the true value. A dataset where the
interval is undefined (NaN: Katz with a zero count, or a ratio whose denominator count is 0 in
every replicate) counts as NOT covered; ``undefined`` is the share of such datasets. Everything
is drawn from one generator seeded with ``SEED``, so the numbers are reproducible.

Used by ``tests/engines/test_interval_coverage.py`` and ``benchmarks/coverage_table.py``, both of
which load this file by path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rulecheck.engines._analytic import katz, newcombe, wilson
from rulecheck.engines._resample import multinomial_replicates, percentile_intervals

FloatArray = npt.NDArray[np.float64]

SEED = 20_261_130
DATASETS = 2_000
REPLICATES = 1_000
CONFIDENCE = 0.95
METHODS = ("analytic", "bootstrap")
QUANTITIES = ("rate", "difference", "ratio")


@dataclass(frozen=True)
class Scenario:
    """Two independent groups of sizes ``n1`` and ``n2`` with true rates ``p1`` and ``p2``."""

    name: str
    n1: int
    n2: int
    p1: float
    p2: float
    asserted: bool  # the coverage test asserts 93-97 % here; the others are only reported

    def label(self) -> str:
        return f"{self.name} (n={self.n1}/{self.n2}, p={self.p1}/{self.p2})"

    def truth(self) -> dict[str, float]:
        return {"rate": self.p1, "difference": self.p1 - self.p2, "ratio": self.p1 / self.p2}


SCENARIOS = (
    Scenario("a: small groups", 30, 30, 0.5, 0.3, asserted=True),
    Scenario("b: rare outcomes", 500, 500, 0.05, 0.08, asserted=True),
    Scenario("c: balanced large", 2000, 2000, 0.2, 0.25, asserted=True),
    Scenario("corner: small and rare", 30, 30, 0.05, 0.08, asserted=False),
)


@dataclass(frozen=True)
class Coverage:
    """How often one method's interval for one quantity covered the truth in one scenario."""

    method: str
    quantity: str
    scenario: Scenario
    datasets: int
    coverage: float
    undefined: float


def _quantities(
    k1: npt.NDArray[np.int64], n1: int, k2: npt.NDArray[np.int64], n2: int
) -> dict[str, FloatArray]:
    """The rate, difference and ratio for counts of any shape; the ratio is NaN where k2 is 0."""
    p1, p2 = k1 / n1, k2 / n2
    ratio = np.divide(p1, p2, out=np.full(p1.shape, np.nan), where=k2 > 0)
    return {"rate": p1, "difference": p1 - p2, "ratio": ratio}


def simulate_coverage(
    scenario: Scenario,
    datasets: int = DATASETS,
    replicates: int = REPLICATES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> list[Coverage]:
    """The coverage of every (method, quantity) pair in ``scenario``, in METHODS x QUANTITIES order."""
    rng = np.random.default_rng(seed)
    n1, n2 = scenario.n1, scenario.n2
    k1 = rng.binomial(n1, scenario.p1, datasets).astype(np.int64)
    k2 = rng.binomial(n2, scenario.p2, datasets).astype(np.int64)

    intervals: dict[tuple[str, str], tuple[FloatArray, FloatArray]] = {
        ("analytic", "rate"): wilson(k1, n1, confidence),
        ("analytic", "difference"): newcombe(k1, n1, k2, n2, confidence),
        ("analytic", "ratio"): katz(k1, n1, k2, n2, confidence),
    }
    # Dataset d's groups are rows 2d and 2d + 1 of one (2 * datasets, 2) table of [hits, misses].
    cells = np.stack([k1, n1 - k1, k2, n2 - k2], axis=1).reshape(2 * datasets, 2)
    draws = multinomial_replicates(cells, replicates, rng)  # (B, 2 * datasets, 2)
    values = _quantities(draws[:, 0::2, 0], n1, draws[:, 1::2, 0], n2)  # each (B, datasets)
    for quantity, replicate_values in values.items():
        intervals["bootstrap", quantity] = percentile_intervals(replicate_values, confidence)

    truth = scenario.truth()
    results = []
    for method in METHODS:
        for quantity in QUANTITIES:
            low, high = intervals[method, quantity]
            covered = (low <= truth[quantity]) & (truth[quantity] <= high)  # NaN: not covered
            undefined = np.isnan(low) | np.isnan(high)
            results.append(
                Coverage(
                    method=method,
                    quantity=quantity,
                    scenario=scenario,
                    datasets=datasets,
                    coverage=float(covered.mean()),
                    undefined=float(undefined.mean()),
                )
            )
    return results


def markdown_table(rows: list[Coverage]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| method | quantity | scenario (n, rates) | datasets | coverage | undefined share |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in rows:
        mark = "" if 0.93 <= row.coverage <= 0.97 else " **(miss)**"
        lines.append(
            f"| {row.method} | {row.quantity} | {row.scenario.label()} | {row.datasets} "
            f"| {row.coverage:.3f}{mark} | {row.undefined:.3f} |"
        )
    return "\n".join(lines)
