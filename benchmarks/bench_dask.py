"""The Dask engine on a LocalCluster against the in-memory engine, on the same rows.

    python benchmarks/bench_dask.py [--rows 10000000] [--partitions 20] [--workers 2] [--repeat 3]

The rows (20 groups, a label, two models' decisions, a weight) are generated partition by
partition on the workers and persisted there, as data already on a cluster would be; the
in-memory engine gets the same partitions concatenated into one pandas DataFrame. Both run
``rulecheck.evaluate`` on a policy of count rules (8 count metrics per group, demographic
parity, equalized odds, disparate impact, accuracy, two slices). Prints the wall time of each
(best of ``--repeat``), the ratio, and whether every verdict is identical (values, groups,
messages). The cluster's start-up and the data's generation are not timed.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
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
    "negative_predictive_value",
    "accuracy",
)
GROUPS = [f"g{i:02d}" for i in range(20)]


def policy() -> str:
    rules = [
        f"id: {m}, kind: group_metric, metric: {m}, by: group, max_difference: 0.1" for m in METRICS
    ]
    rules += [
        "id: dp, kind: demographic_parity, by: group, max_difference: 0.1",
        "id: eod, kind: equalized_odds, by: group, max_difference: 0.1",
        "id: di, kind: disparate_impact, by: group, min_ratio: 0.8",
        "id: acc, kind: performance, metric: accuracy, min: 0.5",
        "id: dp-old, kind: demographic_parity, by: group, max_difference: 0.1, "
        "where: {age: {gte: 50}}",
        "id: dp-region, kind: demographic_parity, by: [group, region], max_difference: 0.2",
    ]
    body = "".join(f"  - {{{r}}}\n" for r in rules)
    return f"version: 1\nname: bench-dask\nrules:\n{body}"


def part(index: int, rows: int) -> pd.DataFrame:
    """Partition ``index``: ``rows`` rows drawn from a generator seeded by the index."""
    rng = np.random.default_rng(index)
    codes = rng.integers(0, len(GROUPS), rows)
    score = rng.random(rows) + codes / 100
    return pd.DataFrame(
        {
            "group": pd.Categorical.from_codes(codes, categories=GROUPS),
            "region": pd.Categorical.from_codes(rng.integers(0, 4, rows), ["n", "e", "s", "w"]),
            "age": rng.integers(18, 90, rows).astype(np.int16),
            "y": (rng.random(rows) < 0.4).astype(np.int8),
            "p": (score > 0.6).astype(np.int8),
        }
    )


def load() -> str:
    return Path("/proc/loadavg").read_text().strip()


def comparable(report: Any) -> list[dict[str, Any]]:
    out = []
    for verdict in report.verdicts:
        data = verdict.to_dict()
        data.pop("duration_s")
        data["groups"] = sorted(data["groups"], key=lambda g: (repr(g["group"]), g.get("metric")))
        out.append(data)
    return out


def best(repeat: int, run: Any) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--partitions", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import dask.dataframe as dd
    import distributed

    import rulecheck

    text = policy()
    sizes = [args.rows // args.partitions] * args.partitions
    sizes[-1] += args.rows - sum(sizes)
    print(f"load average before: {load()}  (nproc {os.cpu_count()})")
    with (
        distributed.LocalCluster(
            n_workers=args.workers,
            processes=True,
            threads_per_worker=1,
            dashboard_address=None,
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        ddf = dd.from_map(part, range(args.partitions), sizes).persist()
        distributed.wait(ddf)
        frame = pd.concat([part(i, n) for i, n in enumerate(sizes)], ignore_index=True)

        def in_memory() -> Any:
            return rulecheck.evaluate(text, data=frame, label="y", prediction="p", engine="memory")

        def on_dask() -> Any:
            return rulecheck.evaluate(text, data=ddf, label="y", prediction="p")

        memory_s, memory = best(args.repeat, in_memory)
        dask_s, dasked = best(args.repeat, on_dask)
        workers = len(client.scheduler_info()["workers"])
    same = comparable(memory) == comparable(dasked)
    statuses = sorted({v.status.value for v in memory.verdicts})
    print(
        f"rows {args.rows:,}, partitions {args.partitions}, workers {workers} (1 thread each), "
        f"{len(memory.verdicts)} rules ({', '.join(statuses)})"
    )
    print(f"in-memory engine (pandas frame): {memory_s:.3f} s  (best of {args.repeat})")
    print(f"dask engine (persisted on the cluster): {dask_s:.3f} s  (best of {args.repeat})")
    print(f"dask / in-memory: {dask_s / memory_s:.2f}")
    print(f"identical verdicts (values, groups, messages): {same}")
    print(f"cells: {dasked.data['cells']}")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
