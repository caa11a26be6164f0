"""Coverage of the analytic and count-bootstrap 95 % intervals, by simulation, as a Markdown table.

Runs the simulation of ``tests/engines/coverage_sim.py`` (loaded by path, so the numbers are the
ones the coverage test asserts) for every scenario, including the small-and-rare corner that the
test only reports, and prints one row per method, quantity and scenario. Misses of the 93-97 %
band are marked.

Run: ``PYTHONPATH=. python benchmarks/coverage_table.py [--datasets 2000] [--replicates 1000]``
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

SIM_PATH = Path(__file__).resolve().parent.parent / "tests" / "engines" / "coverage_sim.py"


def load_simulation() -> ModuleType:
    """tests/engines/coverage_sim.py as the module ``coverage_sim``."""
    if "coverage_sim" in sys.modules:
        return sys.modules["coverage_sim"]
    spec = importlib.util.spec_from_file_location("coverage_sim", SIM_PATH)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {SIM_PATH}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["coverage_sim"] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    sim = load_simulation()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=sim.DATASETS)
    parser.add_argument("--replicates", type=int, default=sim.REPLICATES)
    parser.add_argument("--seed", type=int, default=sim.SEED)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = [
        row
        for scenario in sim.SCENARIOS
        for row in sim.simulate_coverage(scenario, args.datasets, args.replicates, args.seed)
    ]
    elapsed = time.perf_counter() - start
    print(sim.markdown_table(rows))
    print(
        f"\nseed {args.seed}, {args.datasets} datasets per scenario, B = {args.replicates} "
        f"bootstrap replicates, nominal {sim.CONFIDENCE:.0%}; {elapsed:.1f} s"
    )


if __name__ == "__main__":
    main()
