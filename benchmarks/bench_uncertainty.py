"""Intervals: rulecheck's count bootstrap vs fairlearn MetricFrame(n_boot=...), and the cost of
attribution-share intervals against the SHAP values they resample.

    taskset -c 0 python benchmarks/bench_uncertainty.py [--rows 1000000] [--groups 20]
        [--fairlearn-boot 2] [--compare-rows 20000] [--compare-boot 200] [--skip-attribution]

Part 1, speed: ``rulecheck.evaluate`` of a policy with 8 count metrics (one group_metric rule
each, 20 groups, 1e6 rows) with ``uncertainty: {bootstrap: {n: 1000}}`` against the same policy
without intervals: the difference is the bootstrap's cost. fairlearn's bootstrap resamples rows
and recomputes the MetricFrame per replicate; it runs with ``--fairlearn-boot`` replicates on the
same data, its time per replicate is (time(n_boot) - time(no bootstrap)) / n_boot, and 1000
replicates are extrapolated linearly from that.

Part 2, agreement: on ``--compare-rows`` rows both bootstraps estimate the same intervals
(fairlearn resamples all rows, rulecheck each group's confusion cells: the group sizes differ
by a few percent between the two, which matters little for rates). Printed: the largest
difference of the interval ends over every group and metric, and of the max-min difference.

Part 3: a 500-tree LightGBM on 10,000 rows, an attribution rule without and with intervals;
the interval resamples the per-row |SHAP| values instead of recomputing SHAP.

Times are CPU seconds of this process (``time.process_time``) and wall seconds: pin it to one
core with ``taskset -c 0`` on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

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


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall s, CPU s, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def make_frame(rows: int, groups: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, rows)
    base = 0.3 + 0.2 * (g / max(groups - 1, 1))
    y = rng.random(rows) < base
    p = np.where(rng.random(rows) < 0.8, y, ~y)
    labels = pd.Categorical([f"g{i:02d}" for i in range(groups)])
    return pd.DataFrame({"g": labels[g], "y": y.astype(np.int8), "p": p.astype(np.int8)})


def policy(boot: int | None, seed: int = 0) -> str:
    rules = "\n".join(
        f"  - {{id: {m.replace('_', '-')}, kind: group_metric, metric: {m}, by: g, "
        "max_difference: 0.5, min_group_size: 1}"
        for m in METRICS
    )
    block = "" if boot is None else f"uncertainty: {{bootstrap: {{n: {boot}, seed: {seed}}}}}\n"
    return f"version: 1\nname: bench\n{block}rules:\n{rules}\n"


def rulecheck_run(frame: pd.DataFrame, boot: int | None, seed: int = 0) -> Any:
    import rulecheck

    return rulecheck.evaluate(
        policy(boot, seed), data=frame, label="y", prediction="p", positive_label=1
    )


def ends(report: Any) -> tuple[dict[tuple[str, str], tuple[float, float]], dict[str, Any]]:
    """Per (metric, group) interval ends and per metric the max-min difference's ends."""
    groups: dict[tuple[str, str], tuple[float, float]] = {}
    diffs: dict[str, tuple[float, float]] = {}
    for verdict in report.verdicts:
        metric = verdict.checks[0].metric
        for group in verdict.groups:
            if group.interval is not None:
                key = (metric, str(group.group[0][1]))
                groups[key] = (group.interval.low, group.interval.high)
        diffs[metric] = (verdict.interval.low, verdict.interval.high)
    return groups, diffs


def largest(a: dict[Any, tuple[float, float]], b: dict[Any, tuple[float, float]]) -> float:
    return max(abs(x - y) for key in a for x, y in zip(a[key], b[key], strict=True))


def fairlearn_frame(frame: pd.DataFrame, n_boot: int | None, seed: int = 0) -> Any:
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
        "precision": lambda y, p: precision_score(y, p, zero_division=np.nan),
        "accuracy": accuracy_score,
        "balanced_accuracy": balanced_accuracy_score,
    }
    kwargs: dict[str, Any] = {}
    if n_boot:
        kwargs = {"n_boot": n_boot, "ci_quantiles": [0.025, 0.975], "random_state": seed}
    return MetricFrame(
        metrics=metrics,
        y_true=frame["y"].to_numpy(),
        y_pred=frame["p"].to_numpy(),
        sensitive_features=frame["g"].astype(str).to_numpy(),
        **kwargs,
    )


def part1(rows: int, groups: int, fairlearn_boot: int) -> None:
    frame = make_frame(rows, groups)
    rulecheck_run(frame.head(1000), 100)  # imports and first-call costs out of the timings
    wall0, cpu0, _ = timed(lambda: rulecheck_run(frame, None))
    wall1, cpu1, report = timed(lambda: rulecheck_run(frame, 1000))
    boot_cpu = cpu1 - cpu0
    print(f"## Part 1: {rows:,} rows, {groups} groups, {len(METRICS)} count metrics\n")
    print("| run | wall (s) | CPU (s) |\n|---|---|---|")
    print(f"| rulecheck.evaluate, point estimates | {wall0:.3f} | {cpu0:.3f} |")
    print(f"| rulecheck.evaluate, bootstrap n=1000 | {wall1:.3f} | {cpu1:.3f} |")
    print(f"| rulecheck bootstrap alone (difference) | {wall1 - wall0:.3f} | {boot_cpu:.3f} |")
    statuses = report.counts()
    assert all(v.interval is not None for v in report.verdicts), "every rule has an interval"
    fw0, fc0, _ = timed(lambda: fairlearn_frame(frame, None))
    fw1, fc1, _ = timed(lambda: fairlearn_frame(frame, fairlearn_boot))
    per_replicate = (fc1 - fc0) / fairlearn_boot
    extrapolated = per_replicate * 1000
    print(f"| fairlearn MetricFrame, no bootstrap | {fw0:.3f} | {fc0:.3f} |")
    print(f"| fairlearn MetricFrame, n_boot={fairlearn_boot} | {fw1:.3f} | {fc1:.3f} |")
    print(
        f"\nfairlearn: {per_replicate:.2f} CPU s per replicate, 1000 replicates extrapolated "
        f"{extrapolated:,.0f} CPU s. Bootstrap of 1000: rulecheck {boot_cpu:.3f} CPU s, "
        f"ratio {extrapolated / max(boot_cpu, 1e-9):,.0f}x; whole evaluate with intervals "
        f"{cpu1:.3f} CPU s vs fairlearn {fc0 + extrapolated:,.0f} ({statuses})."
    )


def part2(rows: int, groups: int, boot: int) -> None:
    frame = make_frame(rows, groups, seed=1)
    ours, ours_diff = ends(rulecheck_run(frame, max(boot, 100)))
    again, again_diff = ends(rulecheck_run(frame, max(boot, 100), seed=1))
    mf = fairlearn_frame(frame, boot, seed=1)
    low, high = mf.by_group_ci  # DataFrames: groups x metrics
    diff_low, diff_high = mf.difference_ci()
    theirs = {(m, g): (low.loc[g, m], high.loc[g, m]) for m, g in ours}
    theirs_diff = {m: (diff_low[m], diff_high[m]) for m in ours_diff}
    print(
        f"\n## Part 2: the same intervals? {rows:,} rows, {groups} groups, "
        f"n_boot={boot} for fairlearn, {max(boot, 100)} for rulecheck\n"
    )
    print(
        "| largest difference of 95% interval ends | per group (both ends) "
        "| max-min difference, upper end | lower end |"
    )
    print("|---|---|---|---|")
    rows_shown = (
        ("rulecheck vs fairlearn", theirs, theirs_diff),
        ("rulecheck seed 0 vs seed 1 (Monte Carlo noise)", again, again_diff),
    )
    for name, groups_b, diff_b in rows_shown:
        upper = max(abs(ours_diff[m][1] - diff_b[m][1]) for m in ours_diff)
        lower = max(abs(ours_diff[m][0] - diff_b[m][0]) for m in ours_diff)
        print(f"| {name} | {largest(ours, groups_b):.4f} | {upper:.4f} | {lower:.4f} |")
    print(
        "\nThe upper end of the max-min difference is the percentile of the joint replicates in "
        "both tools; rulecheck's lower end is a one-sided max-t bound by design "
        "(docs/uncertainty.md), where fairlearn's percentile is biased upward."
    )


def part3() -> None:
    import lightgbm as lgb

    import rulecheck

    rng = np.random.default_rng(0)
    n = 10_000
    X = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(10)})
    X["sex"] = rng.integers(0, 2, n)
    y = (X["x0"] + 0.5 * X["x1"] + 0.2 * X["sex"] + rng.normal(size=n) > 0).astype(int)
    model = lgb.LGBMClassifier(n_estimators=500, num_leaves=15, verbose=-1).fit(X, y)
    frame = X.assign(y=y)
    rule = "  - {id: sex-share, kind: attribution, features: [sex], max_share: 0.05}\n"

    def run(boot: int | None) -> Any:
        block = "" if boot is None else f"uncertainty: {{bootstrap: {{n: {boot}}}}}\n"
        text = f"version: 1\nname: bench\n{block}rules:\n{rule}"
        return rulecheck.evaluate(text, data=frame, model=model, label="y", positive_label=1)

    wall0, cpu0, point = timed(lambda: run(None))
    wall1, cpu1, with_ci = timed(lambda: run(1000))
    extra = cpu1 - cpu0
    print("\n## Part 3: attribution-share interval, 500-tree LightGBM, 10,000 rows\n")
    print("| run | wall (s) | CPU (s) |\n|---|---|---|")
    print(f"| point estimate (TreeSHAP of 10,000 rows) | {wall0:.3f} | {cpu0:.3f} |")
    print(f"| with a bootstrap interval, n=1000 | {wall1:.3f} | {cpu1:.3f} |")
    interval = with_ci.verdicts[0].interval
    print(
        f"\nThe interval costs {extra:.3f} CPU s, {extra / cpu0:.2f}x the point estimate; "
        f"share {point.verdicts[0].value:.4f}, 95% CI {interval.low:.4f} to {interval.high:.4f}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--fairlearn-boot", type=int, default=2)
    parser.add_argument("--compare-rows", type=int, default=20_000)
    parser.add_argument("--compare-boot", type=int, default=200)
    parser.add_argument("--skip-attribution", action="store_true")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"python {platform.python_version()}, cores available to this process: {cores}\n")
    part1(args.rows, args.groups, args.fairlearn_boot)
    part2(args.compare_rows, args.groups, args.compare_boot)
    if not args.skip_attribution:
        part3()


if __name__ == "__main__":
    main()
