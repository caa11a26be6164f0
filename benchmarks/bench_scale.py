"""Issue 18, faster on one machine: rulecheck.evaluate end to end against its peers, same run.

    python benchmarks/bench_scale.py [--rows 1000000] [--big-rows 10000000] [--groups 20]
                                     [--fairlearn-rows N] [--repeat 3]

Pins itself to CPU 0 (``taskset -c 0``, through ``os.sched_setaffinity``) and prints, in one run:

1. ``rulecheck.evaluate(policy, data=frame)`` with 8 ``group_metric`` rules (the 8 count metrics
   of ``bench_fairness.py``) on ``--rows`` rows and ``--groups`` groups, the group column
   (a) categorical, (b) integer, (c) plain strings (the factorization of that column is also
   timed alone), each against fairlearn's ``MetricFrame`` on the same data, with the largest
   difference over every per-group value. fairlearn takes about 60 s per 1e6 rows: with
   ``--fairlearn-rows N`` it runs on the first N and the first N/2 rows, its time is extrapolated
   linearly to ``--rows`` (the output says so, with the per-row cost at both sizes as a
   linearity check), and the values are compared on those N rows.
2. ``--big-rows`` rows (categorical groups): ``rulecheck.evaluate`` against a bare ``numpy.sum``
   over one float64 column of the same length (the memory-bandwidth floor).
3. ``rulecheck --help`` and ``rulecheck check examples/german_credit/policy.yaml`` (best of 5,
   subprocesses, against ``python -c pass``).

Times are best of ``--repeat``; "cpu" is ``time.process_time()``, "wall" ``time.perf_counter()``.
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
from typing import Any

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
POLICY = "version: 1\nname: bench-scale\ntarget:\n  label: y\n  prediction: p\nrules:\n" + "".join(
    f"  - {{id: {m}, kind: group_metric, metric: {m}, by: g, max_difference: 1.0}}\n"
    for m in METRICS
)
TARGETS = {"categorical": 1000.0, "integer": 1000.0, "string": 500.0}


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, float, Any]:
    """(best wall seconds, best CPU seconds, last result)."""
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu, result


def make_frame(rows: int, groups: int, kind: str, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, groups, rows)
    names = np.array([f"group_{i:02d}" for i in range(groups)])
    column: object
    if kind == "categorical":
        column = pd.Categorical.from_codes(codes, names)
    elif kind == "integer":
        column = codes
    else:
        column = names[codes]
    return pd.DataFrame({"g": column, "y": rng.integers(0, 2, rows), "p": rng.integers(0, 2, rows)})


def rulecheck_values(policy: Any, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    import rulecheck

    report = rulecheck.evaluate(policy, data=frame)
    values: dict[str, np.ndarray] = {}
    for verdict in report.verdicts:
        by_key = sorted((g.group[0][1], g.value) for g in verdict.groups)
        values[verdict.rule_id] = np.array(
            [np.nan if v is None else v for _, v in by_key], dtype=float
        )
    return values


def fairlearn_values(frame: pd.DataFrame) -> dict[str, np.ndarray]:
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
    mf = MetricFrame(
        metrics=metrics, y_true=frame["y"], y_pred=frame["p"], sensitive_features=frame["g"]
    )
    by_group = mf.by_group.sort_index()
    return {m: by_group[m].to_numpy(dtype=float) for m in METRICS}


def max_diff(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> float:
    return max(float(np.nanmax(np.abs(ours[m] - theirs[m]))) for m in METRICS)


def command_time(args: list[str], repeat: int = 5) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, check=False, capture_output=True, cwd=ROOT, env=env)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--fairlearn-rows",
        type=int,
        default=None,
        help="time fairlearn on this many rows (and half as many) and extrapolate linearly",
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})  # taskset -c 0; subprocesses inherit it

    import fairlearn
    import sklearn

    import rulecheck

    print(f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "n/a"
    print(
        f"machine: {os.cpu_count()} CPUs, pinned to {affinity}, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(
        f"numpy {np.__version__}, pandas {pd.__version__}, scikit-learn {sklearn.__version__}, "
        f"fairlearn {fairlearn.__version__}"
    )
    print()

    policy = rulecheck.load_policy(POLICY)
    rulecheck.evaluate(policy, data=make_frame(1000, args.groups, "integer"))  # warm imports
    fl_rows = args.fairlearn_rows or args.rows
    extrapolated = fl_rows != args.rows
    print(
        f"1. {args.rows:,} rows, {args.groups} groups, {len(METRICS)} count metrics "
        "(8 group_metric rules), rulecheck.evaluate end to end vs fairlearn MetricFrame"
    )
    if extrapolated:
        print(
            f"   fairlearn timed on {fl_rows // 2:,} and {fl_rows:,} rows and extrapolated "
            f"linearly to {args.rows:,}; values compared on the first {fl_rows:,} rows"
        )
    print()
    print(
        "| group column | rulecheck cpu (s) | rulecheck wall (s) | fairlearn cpu (s) | "
        "speed-up (cpu) | target | max abs diff |"
    )
    print("|---|---|---|---|---|---|---|")
    notes: list[str] = []
    for kind in ("categorical", "integer", "string"):
        frame = make_frame(args.rows, args.groups, kind)
        wall, cpu, ours = best_of(args.repeat, lambda f=frame: rulecheck_values(policy, f))
        if extrapolated:
            small = frame.iloc[:fl_rows].reset_index(drop=True)
            half = frame.iloc[: fl_rows // 2].reset_index(drop=True)
            _, half_cpu, _ = best_of(1, lambda h=half: fairlearn_values(h))
            _, small_cpu, theirs = best_of(1, lambda s=small: fairlearn_values(s))
            fl_cpu = small_cpu * args.rows / fl_rows
            per_row = (half_cpu / (fl_rows // 2) * 1e6, small_cpu / fl_rows * 1e6)
            notes.append(
                f"   fairlearn {kind}: {half_cpu:.2f} s on {fl_rows // 2:,} rows, "
                f"{small_cpu:.2f} s on {fl_rows:,} rows ({per_row[0]:.1f} and {per_row[1]:.1f} "
                f"s per 1e6 rows: linear within {abs(per_row[1] / per_row[0] - 1):.0%})"
            )
            diff = max_diff(rulecheck_values(policy, small), theirs)
        else:
            _, fl_cpu, theirs = best_of(1, lambda f=frame: fairlearn_values(f))
            diff = max_diff(ours, theirs)
        speedup = fl_cpu / cpu
        met = "met" if speedup >= TARGETS[kind] else "MISSED"
        print(
            f"| {kind} | {cpu:.4f} | {wall:.4f} | {fl_cpu:.2f}{' (extrap.)' if extrapolated else ''}"
            f" | {speedup:.0f}x | >= {TARGETS[kind]:.0f}x: {met} | {diff:.1e} |"
        )
        if kind == "string":
            column = frame["g"]
            _, fact_cpu, _ = best_of(
                args.repeat, lambda c=column: pd.factorize(c, sort=True, use_na_sentinel=True)
            )
            notes.append(
                f"   string column: pd.factorize alone takes {fact_cpu:.4f} s cpu of the "
                f"{cpu:.4f} s (without it: {fl_cpu / (cpu - fact_cpu):.0f}x)"
            )
        del frame
    print()
    print("\n".join(notes))
    print()

    big = make_frame(args.big_rows, args.groups, "categorical", seed=1)
    column = np.random.default_rng(2).random(args.big_rows)
    wall, cpu, _ = best_of(args.repeat, lambda b=big: rulecheck.evaluate(policy, data=b))
    sum_wall, sum_cpu, _ = best_of(max(args.repeat, 5), lambda c=column: float(np.sum(c)))
    ratio = wall / sum_wall
    print(f"2. {args.big_rows:,} rows, categorical groups: rulecheck.evaluate vs numpy.sum")
    print()
    print("| | cpu (s) | wall (s) |")
    print("|---|---|---|")
    print(f"| rulecheck.evaluate (8 rules) | {cpu:.3f} | {wall:.3f} |")
    print(f"| numpy.sum over one float64 column | {sum_cpu:.4f} | {sum_wall:.4f} |")
    print(f"| ratio (wall) | | {ratio:.1f}x (target <= 5x: {'met' if ratio <= 5 else 'MISSED'}) |")
    print()

    python = sys.executable
    cli = [python, "-m", "rulecheck.cli"]
    bare = command_time([python, "-c", "pass"])
    help_time = command_time([*cli, "--help"])
    check_time = command_time([*cli, "check", "examples/german_credit/policy.yaml"])
    print("3. commands (wall, best of 5, subprocess)")
    print()
    print("| command | wall (s) | target |")
    print("|---|---|---|")
    print(f"| python -c pass (interpreter start) | {bare:.3f} | |")
    met = "met" if help_time < 0.1 else "MISSED"
    print(f"| rulecheck --help | {help_time:.3f} | < 0.1: {met} |")
    met = "met" if check_time < 1.0 else "MISSED"
    print(f"| rulecheck check examples/german_credit/policy.yaml | {check_time:.3f} | < 1: {met} |")


if __name__ == "__main__":
    main()
