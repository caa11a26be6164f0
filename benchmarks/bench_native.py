"""Native LightGBM/XGBoost model files vs their scikit-learn wrappers: explain() time and values.

For each library, one binary model (``--trees`` trees, ``n_jobs=1``) is trained on ``--rows``
rows of 12 numeric features through the scikit-learn API and saved in the native format
(``booster_.save_model`` / ``get_booster().save_model``). In one process, alternating, the best
of ``--repeats`` runs of ``explain(wrapper, X)`` and ``explain(load_model(file).adapter, X)``
are timed, with the largest difference between their SHAP values. Also timed once: what a
native file got before the model adapter gave it TreeSHAP, the model-agnostic permutation
explainer on 200 rows (``explainer="permutation"``), with its largest share difference.

Run: ``python benchmarks/bench_native.py [--rows 5000] [--trees 200] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import xgboost as xgb

from rulecheck.engines.attribution import Attribution, explain
from rulecheck.engines.model import load_model


def best(run: Any, repeats: int) -> tuple[float, Attribution]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    assert result is not None
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(args.rows, 12)), columns=[f"f{i}" for i in range(12)])
    y = (X.f0 + X.f1 * X.f2 + rng.normal(size=args.rows) > 0).astype(int)
    folder = Path(tempfile.mkdtemp())
    lgb_model = lgb.LGBMClassifier(n_estimators=args.trees, num_leaves=31, n_jobs=1, verbose=-1)
    xgb_model = xgb.XGBClassifier(n_estimators=args.trees, max_depth=5, n_jobs=1)
    lgb_model.fit(X, y).booster_.save_model(folder / "model.txt")
    xgb_model.fit(X, y).get_booster().save_model(folder / "model.json")
    print(f"load average {os.getloadavg()[0]:.1f}; {args.rows} rows, {args.trees} trees")
    print(
        "| model | wrapper (s) | native file (s) | ratio | max abs diff | before: permutation, 200 rows (s) | share diff |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, wrapper, path in (
        ("LightGBM", lgb_model, "model.txt"),
        ("XGBoost", xgb_model, "model.json"),
    ):
        native = load_model(folder / path).adapter
        wrapper_time, expected = best(lambda w=wrapper: explain(w, X), args.repeats)
        native_time, result = best(lambda a=native: explain(a, X), args.repeats)
        assert (result.explainer, result.output) == (expected.explainer, expected.output)
        diff = float(np.abs(result.values - expected.values).max())
        before_time, before = best(
            lambda a=native: explain(a, X, explainer="permutation", output="raw"), 1
        )
        share_diff = float(np.abs(before.shares() - expected.shares()).max())
        print(
            f"| {name} | {wrapper_time:.2f} | {native_time:.2f} | "
            f"{native_time / wrapper_time:.2f} | {diff:.1e} | {before_time:.1f} | {share_diff:.3f} |"
        )


if __name__ == "__main__":
    main()
