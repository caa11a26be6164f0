"""Per-group mean log loss and Brier score: rulecheck's loss engine vs fairlearn's MetricFrame.

Predictions only (no model calls): a 0/1 label, two positive-class probability columns
(``baseline`` and ``candidate``) and a sensitive feature with 20 groups. Both sides compute the
per-group means for both models in the same process; rulecheck's time includes factorizing the
group column once. Prints the machine, the versions, best-of-N times, the speed-up and the largest
per-group difference between the two.

Run: ``python benchmarks/bench_losses.py [--rows 1000000] [--groups 20] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import fairlearn
import numpy as np
import pandas as pd
import sklearn
from fairlearn.metrics import MetricFrame
from sklearn.metrics import brier_score_loss, log_loss

from rulecheck.engines.losses import get_loss, group_mean_loss, per_row_loss

MODELS = ("baseline", "candidate")


def make_data(rows: int, groups: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, groups, rows)
    signal = rng.normal(0, 1.5, rows) + 0.05 * group  # groups differ a little
    label = (rng.random(rows) < 1 / (1 + np.exp(-signal))).astype(np.int64)
    noise_base, noise_cand = rng.normal(0, 1.0, rows), rng.normal(0, 0.6, rows)
    return pd.DataFrame(
        {
            "label": label,
            "baseline": 1 / (1 + np.exp(-(signal + noise_base))),
            "candidate": 1 / (1 + np.exp(-(signal + noise_cand))),
            "group": pd.Categorical([f"g{k:02d}" for k in group]),
        }
    )


def rulecheck_losses(frame: pd.DataFrame, metrics: tuple[str, ...]) -> dict[tuple[str, str], Any]:
    codes, uniques = pd.factorize(frame["group"], sort=True)
    y = frame["label"].to_numpy()
    out: dict[tuple[str, str], Any] = {}
    for model in MODELS:
        p = frame[model].to_numpy()
        for metric in metrics:
            per_row = per_row_loss(get_loss(metric), y, p)
            out[model, metric] = group_mean_loss(per_row, codes.astype(np.int64), len(uniques))[0]
    return out


def log_loss_01(y_true: Any, y_proba: Any) -> float:
    """Log loss with both labels declared, so that a single-class group does not fail."""
    return float(log_loss(y_true, y_proba, labels=[0, 1]))


SKLEARN: dict[str, Callable[..., float]] = {
    "log_loss": log_loss_01,
    "brier": brier_score_loss,
}


def fairlearn_losses(frame: pd.DataFrame, metrics: tuple[str, ...]) -> dict[tuple[str, str], Any]:
    out: dict[tuple[str, str], Any] = {}
    for model in MODELS:
        mf = MetricFrame(
            metrics={metric: SKLEARN[metric] for metric in metrics},
            y_true=frame["label"],
            y_pred=frame[model],
            sensitive_features=frame["group"],
        )
        by_group = mf.by_group.sort_index()
        for metric in metrics:
            out[model, metric] = by_group[metric].to_numpy(dtype=float)
    return out


def best_of(repeats: int, fn: Callable[[], Any], budget: float = float("inf")) -> tuple[float, Any]:
    """Best time of ``repeats`` runs; stops early once a run took longer than ``budget`` s."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        if times[-1] > budget:
            break
    return min(times), result


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--fairlearn-budget",
        type=float,
        default=10.0,
        help="run fairlearn once only if one run takes longer than this many seconds",
    )
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} CPUs (nproc), {cpu_model()}, load {os.getloadavg()}")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"scikit-learn {sklearn.__version__}, fairlearn {fairlearn.__version__}"
    )
    frame = make_data(args.rows, args.groups)
    print(f"data: {args.rows:,} rows, {args.groups} groups, models {', '.join(MODELS)}\n")
    print("| metrics | rulecheck (s) | fairlearn MetricFrame (s) | speed-up | max abs diff |")
    print("|---|---|---|---|---|")
    for metrics in (("log_loss",), ("log_loss", "brier")):
        ours_time, ours = best_of(args.repeats, functools.partial(rulecheck_losses, frame, metrics))
        fl_time, theirs = best_of(
            args.repeats, functools.partial(fairlearn_losses, frame, metrics), args.fairlearn_budget
        )
        diff = max(float(np.max(np.abs(ours[key] - theirs[key]))) for key in ours)
        print(
            f"| {' + '.join(metrics)} (x2 models) | {ours_time:.3f} | {fl_time:.3f} "
            f"| {fl_time / ours_time:.1f}x | {diff:.2e} |"
        )


if __name__ == "__main__":
    main()
