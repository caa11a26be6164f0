"""The bank gate with native model files vs its scikit-learn-API equivalent saved with skops.

    taskset -c 0 python benchmarks/bench_gate.py [--repeat 2]

Issue 12's bar: the gate of ``examples/bank_gate`` (a native LightGBM ``.txt`` with a custom
objective, a native XGBoost ``.json``, categorical CSV data, sample weights, slices; 13 rules)
runs with every rule computed and TreeSHAP for every tree model, in the time its skops
equivalent takes. To compare formats and not models, one pair of models is trained through the
scikit-learn API (``LGBMClassifier`` with ``scale_pos_weight=3`` standing in for the
cost-sensitive objective, which skops cannot store as a Python function; ``XGBClassifier``) and
saved both ways: with ``skops.io`` and as native files (``booster_.save_model``,
``get_booster().save_model``). The gate runs on both pairs, and on the example's own models (the
custom objective), with ``rulecheck.evaluate``. Prints wall and CPU time, best of ``--repeat``,
and the explainer every attribution rule used.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GATE = ROOT / "examples" / "bank_gate"
sys.path.insert(0, str(GATE))


def equivalents(directory: Path) -> tuple[tuple[Path, Path], tuple[Path, Path]]:
    """The same two models saved with skops and natively: ((skops pair), (native pair))."""
    import lightgbm as lgb
    import skops.io as sio
    import xgboost as xgb
    from train import LABEL, MISS_COST, as_categories, load  # type: ignore[import-not-found]

    train, _ = load()
    X, y = as_categories(train), train[LABEL]
    candidate = lgb.LGBMClassifier(
        n_estimators=150,
        learning_rate=0.1,
        num_leaves=15,
        min_child_samples=50,
        scale_pos_weight=MISS_COST,
        random_state=0,
        deterministic=True,
        n_jobs=1,
        verbose=-1,
    ).fit(X, y)
    baseline = xgb.XGBClassifier(
        n_estimators=150,
        max_depth=4,
        learning_rate=0.1,
        random_state=0,
        n_jobs=1,
        enable_categorical=True,
        max_cat_to_onehot=1,
    ).fit(X, y)
    skops_paths = directory / "candidate.skops", directory / "baseline.skops"
    for model, path in zip((candidate, baseline), skops_paths, strict=True):
        sio.dump(model, path)
    native_paths = directory / "candidate.txt", directory / "baseline.json"
    candidate.booster_.save_model(native_paths[0])
    baseline.get_booster().save_model(native_paths[1])
    return skops_paths, native_paths


def run(repeat: int, **models: Path) -> tuple[float, float, object]:
    import rulecheck

    best_wall, best_cpu, report = float("inf"), float("inf"), None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        report = rulecheck.evaluate(GATE / "policy.yaml", **models)  # type: ignore[arg-type]
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu, report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if not (GATE / "candidate.txt").exists():
        subprocess.run([sys.executable, str(GATE / "train.py")], check=True)
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    print(f"cores available to this process: {affinity}; load average {os.getloadavg()[0]:.1f}")
    import rulecheck

    rulecheck.evaluate  # noqa: B018  (import outside the timings)
    with tempfile.TemporaryDirectory() as tmp:
        (sk_candidate, sk_baseline), (nat_candidate, nat_baseline) = equivalents(Path(tmp))
        rows = [
            ("same models, skops", run(args.repeat, model=sk_candidate, baseline=sk_baseline)),
            ("same models, native", run(args.repeat, model=nat_candidate, baseline=nat_baseline)),
            ("example (custom obj.)", run(args.repeat)),
        ]
    print(f"{'models':24} {'wall (s)':>9} {'CPU (s)':>9}  statuses / attribution explainers")
    for name, (wall, cpu, report) in rows:
        verdicts = report.verdicts  # type: ignore[attr-defined]
        statuses = "".join(v.status.value[0].upper() for v in verdicts)
        explainers = [
            f"{v.rule_id}={dict(v.info).get('explainer')}"
            for v in verdicts
            if "explainer" in dict(v.info)
        ]
        errors = [v.rule_id for v in verdicts if v.status.value == "error"]
        print(f"{name:24} {wall:9.2f} {cpu:9.2f}  {statuses} {' '.join(explainers)}")
        if errors:
            print(f"  ERROR verdicts: {errors}")
    skops, native = rows[0][1], rows[1][1]
    pairs = zip(skops[2].verdicts, native[2].verdicts, strict=True)  # type: ignore[attr-defined]
    diff = max(abs(a.value - b.value) for a, b in pairs if a.value is not None)
    print(
        f"same models, largest difference between the skops and native verdict values: {diff:.1e}"
    )
    print(
        f"same models, native / skops: wall {native[0] / skops[0]:.2f}, CPU {native[1] / skops[1]:.2f}"
    )


if __name__ == "__main__":
    main()
