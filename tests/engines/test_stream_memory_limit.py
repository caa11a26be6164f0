"""A Parquet dataset twice the size of a memory limit is audited by streaming, with exact counts.

The audit runs in a subprocess under ``resource.setrlimit(RLIMIT_AS, baseline + budget)``.
Address space, not resident memory, is what RLIMIT_AS caps, and numpy, pandas and pyarrow map
far more of it than they touch (about 1.7 GB here, mostly thread stacks and allocator arenas).
So the child first imports everything and runs the same audit on a tiny file with the same
engine (every lazy import done, pyarrow's thread pool started), reads its ``VmSize`` as the
baseline, and only then sets the limit to baseline + budget: the budget is what the audit itself
may add. The columns the policy reads take twice the budget in memory (three int64 columns),
so the in-memory engine cannot hold them: the test shows that it fails under the same limit
(numpy's ``MemoryError``), so that the streamed run proves something. The reference counts are
computed independently, in this process, by reading the file in pieces with pyarrow and summing
with numpy.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ROWS = 4_000_000
COLUMNS = ("g", "y", "p")  # int64 each: 8 bytes per row per column in memory
DATA_BYTES = ROWS * 8 * len(COLUMNS)  # 96 MB
BUDGET = DATA_BYTES // 2  # the data is twice the limit
GROUPS = 5

POLICY = """\
version: 1
name: limit
target: {label: y, prediction: p}
rules:
  - {id: dp, kind: demographic_parity, by: g}
  - {id: tpr, kind: group_metric, metric: true_positive_rate, by: g, max_difference: 0.1}
"""

CHILD = textwrap.dedent(
    """
    import json, resource, sys

    import rulecheck

    def address_space():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmSize")

    path, warm, engine, budget, policy = sys.argv[1:6]
    rulecheck.evaluate(policy, data=warm, engine=engine, batch_rows=1_000)
    base = address_space()
    resource.setrlimit(resource.RLIMIT_AS, (base + int(budget), resource.RLIM_INFINITY))
    report = rulecheck.evaluate(policy, data=path, engine=engine, batch_rows=50_000)
    groups = {
        v.rule_id: [[dict(g.group)["g"], g.n, g.value] for g in v.groups] for v in report.verdicts
    }
    print(json.dumps({"base": base, "groups": groups, "data": report.data}))
    """
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("limit")
    rng = np.random.default_rng(0)
    g = rng.integers(0, GROUPS, ROWS)
    y = (rng.random(ROWS) < 0.3 + 0.1 * g).astype(np.int64)
    p = (rng.random(ROWS) < 0.2 + 0.05 * g + 0.3 * y).astype(np.int64)
    table = pa.table({"g": g, "y": y, "p": p})
    path, warm = where / "big.parquet", where / "warm.parquet"
    pq.write_table(table, path, row_group_size=250_000)
    pq.write_table(table.slice(0, 5_000), warm)
    return path, warm


def run(path: Path, warm: Path, engine: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(warm), engine, str(BUDGET), POLICY],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def reference_counts(path: Path) -> dict[str, list[list[float]]]:
    """Per-group selection rate and TPR, from the file read in pieces and summed with numpy."""
    n = np.zeros(GROUPS, dtype=np.int64)
    selected = np.zeros(GROUPS, dtype=np.int64)
    positives = np.zeros(GROUPS, dtype=np.int64)
    hits = np.zeros(GROUPS, dtype=np.int64)
    for batch in pq.ParquetFile(path).iter_batches(batch_size=300_000):
        g, y, p = (batch.column(c).to_numpy() for c in COLUMNS)
        n += np.bincount(g, minlength=GROUPS)
        selected += np.bincount(g, weights=p, minlength=GROUPS).astype(np.int64)
        positives += np.bincount(g, weights=y, minlength=GROUPS).astype(np.int64)
        hits += np.bincount(g, weights=y * p, minlength=GROUPS).astype(np.int64)
    keys = range(GROUPS)
    return {
        "dp": [[k, int(n[k]), selected[k] / n[k]] for k in keys],
        "tpr": [[k, int(n[k]), hits[k] / positives[k]] for k in keys],
    }


def test_streaming_twice_the_memory_limit_gives_exact_counts(dataset: tuple[Path, Path]) -> None:
    path, warm = dataset
    streamed = run(path, warm, "stream")
    assert streamed.returncode == 0, streamed.stderr[-2000:]
    result = json.loads(streamed.stdout)
    assert result["data"]["rows"] == ROWS
    assert result["data"]["engine"] == "stream"
    assert result["groups"] == reference_counts(path)  # exact: == on every value


def test_the_in_memory_engine_fails_under_the_same_limit(dataset: tuple[Path, Path]) -> None:
    path, warm = dataset
    loaded = run(path, warm, "memory")
    assert loaded.returncode != 0
    assert "MemoryError" in loaded.stderr, loaded.stderr[-2000:]
