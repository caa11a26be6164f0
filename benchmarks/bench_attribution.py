"""SHAP attributions: rulecheck's ``explain()`` vs calling shap directly, and the model-agnostic cost.

Part 1 (tree models, the issue's target: "a 500-tree gradient boosting model on 10,000 rows runs at
least as fast as calling shap.TreeExplainer directly"). For each model, in one process, alternate
``explain(model, X)`` and the direct call ``shap.TreeExplainer(model).shap_values(X)`` (shap's
defaults, so its additivity check runs) and keep the best of ``--repeats`` runs of each. Also
timed: the direct call with ``check_additivity=False``, which is the work ``explain`` does for
scikit-learn models. Models: scikit-learn GradientBoostingClassifier (500 trees, depth 3),
LightGBM (500 trees, 15 leaves) and XGBoost (500 trees, depth 3), both with ``n_jobs=1`` (on
a shared 2-vCPU machine their OpenMP threads make identical calls vary twofold), on Adult-like
data, and a
Pipeline (one-hot + GradientBoosting): ``explain`` transforms the raw frame, explains the final
estimator and sums one-hot columns back to raw columns; the direct call is the transform plus
``shap.TreeExplainer`` on the final estimator (the hand summation for the diff is not timed).

Part 2 (model-agnostic): a Pipeline (one-hot + scaling + MLPClassifier) explained on its raw
columns with the permutation explainer (11 features, 100 background rows, 500 evaluations per
row) for ``max_rows`` = 100, 200, 400: the cost is linear in ``max_rows``. The first call in a
process also pays shap's numba compilation; it is timed separately.

Run: ``python benchmarks/bench_attribution.py [--rows 10000] [--trees 500] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import shap
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from rulecheck.engines.attribution import explain

CATEGORIES = {
    "workclass": ["private", "self_emp", "gov_local", "gov_state", "gov_federal", "unpaid", "none"],
    "marital": ["married", "never", "divorced", "separated", "widowed"],
    "occupation": [f"occ{i:02d}" for i in range(12)],
    "relationship": ["husband", "wife", "own_child", "unmarried", "other", "not_in_family"],
    "race": ["white", "black", "asian", "amer_indian", "other"],
    "sex": ["male", "female"],
    "region": ["north_america", "latin_america", "europe", "asia"],
}


def adult_like(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """11 columns shaped like UCI Adult: 4 numeric, 7 categorical (text), and a 0/1 label."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(17, 80, rows),
            "education_num": rng.integers(1, 17, rows),
            "capital_gain": np.where(rng.random(rows) < 0.9, 0.0, rng.lognormal(8, 1, rows)),
            "hours_per_week": np.clip(rng.normal(40, 12, rows), 1, 99).round(),
        }
    )
    for name, levels in CATEGORIES.items():
        frame[name] = pd.Series(rng.choice(levels, rows), dtype="str")
    score = (
        0.04 * (frame["age"] - 40)
        + 0.3 * (frame["education_num"] - 10)
        + 0.0002 * frame["capital_gain"]
        + 0.03 * (frame["hours_per_week"] - 40)
        + 0.8 * (frame["marital"] == "married")
        - 0.4 * (frame["sex"] == "female")
        + 0.2 * frame["occupation"].str[-1].astype(int) / 9
        + rng.normal(0, 1, rows)
    )
    return frame, (score > 0.8).to_numpy().astype(int)


def encoded(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as integer codes, so tree models can take the frame directly."""
    out = frame.copy()
    for name, levels in CATEGORIES.items():
        out[name] = pd.Categorical(frame[name], categories=levels).codes.astype(np.int64)
    return out


def best_of(repeats: int, functions: dict[str, Callable[[], Any]]) -> dict[str, tuple[float, Any]]:
    """Alternate the functions ``repeats`` times; best time and last result of each."""
    best: dict[str, tuple[float, Any]] = {name: (float("inf"), None) for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            result = function()
            elapsed = time.perf_counter() - start
            best[name] = (min(best[name][0], elapsed), result)
    return best


def direct_tree(model: Any, matrix: Any, check: bool = True) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LightGBM's output-format notice
        values = shap.TreeExplainer(model).shap_values(matrix, check_additivity=check)
    values = np.asarray(values)
    return values[:, :, 1] if values.ndim == 3 else values


def tree_models(trees: int) -> dict[str, Any]:
    models: dict[str, Any] = {
        f"sklearn GradientBoosting ({trees} trees, depth 3)": GradientBoostingClassifier(
            n_estimators=trees, max_depth=3, random_state=0
        )
    }
    try:
        import lightgbm

        models[f"LightGBM ({trees} trees, 15 leaves)"] = lightgbm.LGBMClassifier(
            n_estimators=trees, num_leaves=15, verbose=-1, random_state=0, n_jobs=1
        )
    except ImportError:
        pass
    try:
        import xgboost

        models[f"XGBoost ({trees} trees, depth 3)"] = xgboost.XGBClassifier(
            n_estimators=trees, max_depth=3, random_state=0, n_jobs=1
        )
    except ImportError:
        pass
    return models


def one_hot(scale: bool = False) -> ColumnTransformer:
    numeric = ["age", "education_num", "capital_gain", "hours_per_week"]
    return ColumnTransformer(
        [
            ("num", StandardScaler() if scale else "passthrough", numeric),
            ("cat", OneHotEncoder(sparse_output=False), list(CATEGORIES)),
        ]
    )


def part_one(rows: int, trees: int, repeats: int) -> list[str]:
    frame, y = adult_like(rows)
    X = encoded(frame)
    lines = [
        "| model | rows | explain() (s) | shap direct (s) | explain / direct | "
        "shap direct, no additivity check (s) | of which TreeExplainer() construction (s) | "
        "explain per 1,000 rows (s) | max abs diff |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    cases: list[tuple[str, Any, Callable[[], Any], Callable[[bool], np.ndarray], Any]] = []
    for name, model in tree_models(trees).items():
        model.fit(X, y)
        cases.append(
            (
                name,
                model,
                lambda m=model: explain(m, X),
                lambda c, m=model: direct_tree(m, X, c),
                None,
            )
        )
    pipe = Pipeline(
        [
            ("prep", one_hot()),
            ("model", GradientBoostingClassifier(n_estimators=trees, max_depth=3, random_state=0)),
        ]
    )
    pipe.fit(frame, y)
    matrix = pipe[:-1].transform(frame)
    owners = {
        name: [
            i
            for i, out in enumerate(pipe[:-1].get_feature_names_out())
            if out.split("__", 1)[1] == name or out.split("__", 1)[1].startswith(name + "_")
        ]
        for name in frame.columns
    }
    cases.append(
        (
            f"Pipeline: one-hot + GradientBoosting ({trees} trees), {matrix.shape[1]} internal columns",
            pipe,
            lambda: explain(pipe, frame),
            lambda c: direct_tree(pipe[-1], pipe[:-1].transform(frame), c),
            owners,
        )
    )
    for name, model, ours, theirs, owner_map in cases:
        final = model[-1] if isinstance(model, Pipeline) else model
        timings = best_of(
            repeats,
            {
                "explain": ours,
                "direct": lambda t=theirs: t(True),
                "unchecked": lambda t=theirs: t(False),
                "construct": lambda f=final: shap.TreeExplainer(f),
            },
        )
        ours_time, result = timings["explain"]
        direct_time, direct_values = timings["direct"]
        if owner_map is not None:  # sum the one-hot columns of the direct values by hand
            direct_values = np.column_stack(
                [direct_values[:, owner_map[c]].sum(axis=1) for c in frame.columns]
            )
        diff = float(np.abs(result.values - direct_values).max())
        lines.append(
            f"| {name} | {rows:,} | {ours_time:.3f} | {direct_time:.3f} | "
            f"{ours_time / direct_time:.2f} | {timings['unchecked'][0]:.3f} | "
            f"{timings['construct'][0]:.3f} | "
            f"{ours_time / rows * 1000:.4f} | {diff:.1e} |"
        )
        print(lines[-1], flush=True)
    return lines


def part_two(rows: int, repeats: int) -> list[str]:
    frame, y = adult_like(rows, seed=1)
    pipe = Pipeline(
        [
            ("prep", one_hot(scale=True)),
            ("model", MLPClassifier((32,), max_iter=50, random_state=0)),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        pipe.fit(frame, y)
    start = time.perf_counter()
    explain(pipe, frame, explainer="permutation", max_rows=1, background_size=100)
    first = time.perf_counter() - start
    lines = [
        f"First model-agnostic call in the process (max_rows=1, includes shap's numba "
        f"compilation): {first:.1f} s",
        "",
        "| model | explainer | max_rows | background rows | time (s) | per explained row (s) |",
        "|---|---|---|---|---|---|",
    ]
    for max_rows in (100, 200, 400):
        timings = best_of(
            1,  # one run each: these take long and the ratio between sizes is the point
            {"explain": lambda m=max_rows: explain(pipe, frame, max_rows=m, background_size=100)},
        )
        elapsed, result = timings["explain"]
        lines.append(
            f"| Pipeline: one-hot + MLP (32 hidden) | {result.explainer} | {max_rows} | "
            f"{result.background_rows} | {elapsed:.2f} | {elapsed / max_rows:.4f} |"
        )
        print(lines[-1], flush=True)
    return lines


def machine() -> list[str]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(
                line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    versions = [
        f"Python {platform.python_version()}",
        f"numpy {np.__version__}",
        f"pandas {pd.__version__}",
        f"scikit-learn {sklearn.__version__}",
        f"shap {shap.__version__}",
    ]
    for name in ("lightgbm", "xgboost", "numba"):
        with contextlib.suppress(ImportError):
            versions.append(f"{name} {__import__(name).__version__}")
    return [
        f"Machine: {os.cpu_count()} CPUs, {model}; load average {os.getloadavg()[0]:.1f} at start.",
        "Versions: " + ", ".join(versions) + ".",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--trees", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-agnostic", action="store_true")
    args = parser.parse_args()
    report = machine()
    print("\n".join(report), flush=True)
    report += ["", "## Tree models", "", *part_one(args.rows, args.trees, args.repeats)]
    if not args.skip_agnostic:
        report += ["", "## Model-agnostic", "", *part_two(args.rows, args.repeats)]
    report += ["", f"Load average at the end: {os.getloadavg()[0]:.1f}."]
    print("\n" + "\n".join(report))


if __name__ == "__main__":
    main()
