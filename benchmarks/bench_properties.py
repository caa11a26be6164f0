"""Property rules: the exhaustive pass and the hypothesis search against the model's own predict.

    taskset -c 0 python benchmarks/bench_properties.py [--rows 100000] [--examples 500]

The Adult example's model (a scikit-learn Pipeline: one-hot encoding and a
HistGradientBoostingClassifier) on its data, repeated to ``--rows`` rows. Timed, in CPU seconds
of this process and wall seconds:

- one ``predict_proba`` of the frame (the unit of cost);
- the exhaustive pass of a counterfactual rule (sex swapped, relationship with it): one
  batched predict of the original and one of the changed frame, plus building the changed copy;
- the exhaustive pass of a monotonic rule on education_num (10 grid steps: 10 predicts);
- the hypothesis search alone with ``--examples`` examples (each example is one small predict);

and the ratios to one predict. Run pinned to one core on a shared machine.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    import skops.io as sio

    from rulecheck._measures import PropertySpec
    from rulecheck.engines.model import adapt
    from rulecheck.engines.properties import check_property, search
    from rulecheck.engines.targets import Targets, TargetSpec

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--examples", type=int, default=500)
    args = parser.parse_args()

    path = ROOT / "examples" / "adult" / "model.skops"
    model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    data = pd.read_csv(ROOT / "examples" / "adult" / "adult.csv.gz")
    repeat = int(np.ceil(args.rows / len(data)))
    frame = pd.concat([data] * repeat, ignore_index=True).head(args.rows)
    features = [str(c) for c in model.feature_names_in_]
    spec = TargetSpec(label="income_over_50k", features=tuple(features), positive_label=1)
    targets = Targets(frame, spec, model=adapt(model))
    X = targets.features()

    model.predict_proba(X.head(100))  # first-call costs out of the timings
    wall_p, cpu_p, _ = timed(lambda: model.predict_proba(X))
    counterfactual = PropertySpec(
        kind="counterfactual",
        attribute="sex",
        swap=(("Male", "Female"), ("Female", "Male")),
        also_change=(("relationship", (("Husband", "Wife"), ("Wife", "Husband"))),),
    )
    wall_c, cpu_c, result = timed(lambda: check_property(counterfactual, X, targets.predict_frame))
    monotonic = PropertySpec(kind="monotonic", output="score", feature="education_num", steps=10)
    wall_m, cpu_m, mono = timed(lambda: check_property(monotonic, X, targets.predict_frame))
    searched = PropertySpec(
        kind="counterfactual",
        attribute="sex",
        swap=counterfactual.swap,
        also_change=counterfactual.also_change,
        output="score",
        tolerance=0.5,  # a change this large does not occur: the search runs every example
        search_examples=args.examples,
    )
    wall_s, cpu_s, (found, tried) = timed(lambda: search(searched, X, targets.predict_frame))
    _, small_cpu, _ = timed(lambda: model.predict_proba(X.head(2)))

    print(f"## Property rules, Adult model, {len(X):,} rows, one core\n")
    print("| step | wall (s) | CPU (s) | CPU / one predict |\n|---|---|---|---|")
    print(f"| one predict_proba of the frame | {wall_p:.3f} | {cpu_p:.3f} | 1.00 |")
    print(
        f"| counterfactual, exhaustive (flip rate {result.rate:.4f}) | {wall_c:.3f} | "
        f"{cpu_c:.3f} | {cpu_c / cpu_p:.2f} |"
    )
    print(
        f"| monotonic, 10 grid steps (violation rate {mono.rate:.4f}) | {wall_m:.3f} | "
        f"{cpu_m:.3f} | {cpu_m / cpu_p:.2f} |"
    )
    print(
        f"| search, {tried} examples ({'found' if found else 'none found'}) | {wall_s:.3f} | "
        f"{cpu_s:.3f} | {cpu_s / cpu_p:.2f} |"
    )
    print(
        f"\nOne predict of 2 rows takes {small_cpu * 1000:.1f} ms CPU: the search's "
        f"{cpu_s / max(tried, 1) * 1000:.1f} ms per example is that fixed cost of a model call "
        "plus building the example's frames."
    )


if __name__ == "__main__":
    main()
