"""ONNX models through rulecheck vs onnxruntime and shap alone (issue 19).

    python benchmarks/bench_onnx.py [--rows 100000] [--explain-rows 1000] [--repeat 3]

Pins itself to CPU 0 (``taskset -c 0``, through ``os.sched_setaffinity``) and prints:

1. Prediction plus group metrics for ``--rows`` rows (German credit resampled with a seed) through
   a scikit-learn pipeline exported by skl2onnx (one named input per column, no ZipMap):
   ``rulecheck.evaluate`` with three rules (true positive rate and selection rate by sex, and
   ROC AUC) against onnxruntime alone (``InferenceSession`` + ``session.run`` + numpy group
   metrics + scikit-learn's ``roc_auc_score``), both from the file; the values must agree to
   1e-9. rulecheck's overhead is the ratio of the two.
2. Attribution cost per 1,000 rows: rulecheck's ``explain`` of an MLP (12 numeric features, one
   tensor input) exported to ONNX (the model-agnostic permutation explainer, 500 evaluations
   per row, 100 background rows) against ``shap.PermutationExplainer`` called directly on the
   onnxruntime session with the same rows, background, seed and evaluations.

Times are best of ``--repeat`` (attributions: one run each); "cpu" is ``time.process_time()``,
"wall" ``time.perf_counter()``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pandas as pd
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import rulecheck
from rulecheck.engines.attribution import _sample, explain
from rulecheck.engines.model import load_model

ROOT = Path(__file__).resolve().parents[1]
CATEGORICAL = ["status", "credit_history", "purpose", "savings", "employment", "housing", "sex"]
NUMERIC = ["duration", "credit_amount", "installment_rate", "age", "existing_credits"]
COLUMNS = CATEGORICAL + NUMERIC
POLICY = """\
version: 1
name: bench-onnx
rules:
  - {id: tpr, kind: group_metric, metric: true_positive_rate, by: sex, max_difference: 1}
  - {id: dp, kind: demographic_parity, by: sex, max_difference: 1}
  - {id: auc, kind: performance, metric: roc_auc, min: 0}
"""


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu, result


def pipeline_file(folder: Path, rows: int) -> tuple[Path, pd.DataFrame]:
    german = pd.read_csv(ROOT / "examples" / "german_credit" / "german_credit.csv")
    encode = ColumnTransformer(
        [
            ("onehot", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ("scale", StandardScaler(), NUMERIC),
        ]
    )
    model = Pipeline([("encode", encode), ("lr", LogisticRegression(max_iter=1000))])
    model.fit(german[COLUMNS], german["good_credit"])
    types: list[tuple[str, Any]] = [(c, StringTensorType([None, 1])) for c in CATEGORICAL]
    types += [(c, Int64TensorType([None, 1])) for c in NUMERIC]
    graph = to_onnx(
        model, initial_types=types, target_opset=17, options={id(model): {"zipmap": False}}
    )
    path = folder / "pipeline.onnx"
    path.write_bytes(graph.SerializeToString())
    rng = np.random.default_rng(0)
    frame = german.iloc[rng.integers(0, len(german), rows)].reset_index(drop=True)
    return path, frame


def onnxruntime_alone(path: Path, frame: pd.DataFrame) -> dict[str, float]:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {c: frame[c].astype(str).to_numpy(dtype=object).reshape(-1, 1) for c in CATEGORICAL}
    feed |= {c: frame[c].to_numpy(dtype=np.int64).reshape(-1, 1) for c in NUMERIC}
    p = session.run(["probabilities"], feed)[0][:, 1].astype(np.float64)
    decided = p >= 0.5
    y = frame["good_credit"].to_numpy() == 1
    codes, _ = pd.factorize(frame["sex"])
    count = np.bincount(codes)
    selection = np.bincount(codes, weights=decided) / count
    tpr = np.bincount(codes, weights=decided & y) / np.bincount(codes, weights=y)
    return {
        "tpr": float(tpr.max() - tpr.min()),
        "dp": float(selection.max() - selection.min()),
        "auc": float(roc_auc_score(y, p)),
    }


def through_rulecheck(path: Path, frame: pd.DataFrame) -> dict[str, float]:
    report = rulecheck.evaluate(
        POLICY, data=frame, model=str(path), label="good_credit", features=COLUMNS
    )
    return {v.rule_id: float(v.value) for v in report.verdicts if v.value is not None}


def mlp_file(folder: Path) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(5000, 12)), columns=[f"f{i}" for i in range(12)])
    y = (X.f0 + X.f1 * X.f2 - X.f3 + rng.normal(size=len(X)) > 0).astype(int)
    model = MLPClassifier((32, 16), max_iter=300, random_state=0).fit(X, y)
    graph = to_onnx(
        model,
        initial_types=[("x", FloatTensorType([None, 12]))],
        target_opset=17,
        options={id(model): {"zipmap": False}},
    )
    path = folder / "mlp.onnx"
    path.write_bytes(graph.SerializeToString())
    return path, X


def shap_alone(path: Path, X: pd.DataFrame, rows: int, seed: int) -> np.ndarray:
    import shap

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def f(matrix: np.ndarray) -> np.ndarray:
        out = session.run(["probabilities"], {"x": matrix.astype(np.float32)})[0]
        return np.asarray(out[:, 1], dtype=np.float64)

    row_seq, background_seq = np.random.SeedSequence(seed).spawn(2)
    chosen = _sample(len(X), rows, np.random.default_rng(row_seq))
    background = _sample(len(X), 100, np.random.default_rng(background_seq))
    matrix = X.to_numpy()
    bg = matrix if background is None else matrix[background]
    explained = matrix if chosen is None else matrix[chosen]
    masker = shap.maskers.Independent(bg, max_samples=len(bg))
    explainer = shap.PermutationExplainer(f, masker, seed=seed)
    return np.asarray(explainer(explained, max_evals=500, silent=True).values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--explain-rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})  # taskset -c 0
    print(f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "n/a"
    print(f"cpus: {affinity}; onnxruntime {onnxruntime.__version__}")
    folder = Path(tempfile.mkdtemp())

    path, frame = pipeline_file(folder, args.rows)
    through_rulecheck(path, frame.iloc[:100])  # warm imports
    alone_wall, alone_cpu, alone = timed(lambda: onnxruntime_alone(path, frame), args.repeat)
    rc_wall, rc_cpu, ours = timed(lambda: through_rulecheck(path, frame), args.repeat)
    diff = max(abs(ours[k] - alone[k]) for k in alone)
    print(f"\n1. prediction + group metrics, {args.rows:,} rows, skl2onnx pipeline")
    print("| | wall (s) | cpu (s) |")
    print("|---|---|---|")
    print(f"| onnxruntime alone + numpy | {alone_wall:.3f} | {alone_cpu:.3f} |")
    print(f"| rulecheck.evaluate | {rc_wall:.3f} | {rc_cpu:.3f} |")
    print(
        f"| ratio | {rc_wall / alone_wall:.2f}x | {rc_cpu / alone_cpu:.2f}x |  max value diff {diff:.1e}"
    )

    mlp, X = mlp_file(folder)
    adapter = load_model(mlp).adapter
    rows = args.explain_rows
    explain(adapter, X, max_rows=2, seed=0)  # warm: imports shap
    w0, c0 = time.perf_counter(), time.process_time()
    result = explain(adapter, X, max_rows=rows, seed=0)
    rc_wall, rc_cpu = time.perf_counter() - w0, time.process_time() - c0
    w0, c0 = time.perf_counter(), time.process_time()
    direct = shap_alone(mlp, X, rows, seed=0)
    sh_wall, sh_cpu = time.perf_counter() - w0, time.process_time() - c0
    per = 1000 / result.rows
    print(f"\n2. attribution, MLP (12 features), {result.explainer} explainer, {result.rows} rows")
    print("| | wall per 1,000 rows (s) | cpu per 1,000 rows (s) |")
    print("|---|---|---|")
    print(f"| shap.PermutationExplainer alone | {sh_wall * per:.1f} | {sh_cpu * per:.1f} |")
    print(f"| rulecheck explain | {rc_wall * per:.1f} | {rc_cpu * per:.1f} |")
    print(
        f"| ratio | {rc_wall / sh_wall:.2f}x | {rc_cpu / sh_cpu:.2f}x |  "
        f"max SHAP value diff {np.abs(result.values - direct).max():.1e}"
    )


if __name__ == "__main__":
    main()
