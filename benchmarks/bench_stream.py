"""Peak memory and time of ``rulecheck check`` on a large Parquet file: in memory vs streamed.

    python benchmarks/bench_stream.py [--rows 10000000]

Writes a ``--rows`` x 10-column Parquet file (two group columns, a label, a decision, a score and
five float columns the policy does not use), then runs ``rulecheck check`` on it twice, each in
its own process under ``/usr/bin/time -v``: with ``--data FILE --engine memory`` (the in-memory
engine), with ``--data FILE`` (engine auto, which streams one Parquet file when every rule is
answered from counts, as here) and with ``--data DIR`` (a directory holding the file, which
selects the streaming engine), in batches of 262,144 rows: the CLI's default.
A third run on a 1,000-row file gives the
process's floor (interpreter, imports). Prints each run's peak resident memory (``Maximum resident set size``), wall and CPU time, the
size in memory of the columns the policy uses and of the whole frame, the ratios, and whether
the two reports' verdicts agree (values, statuses and messages).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

POLICY = """\
version: 1
name: bench-stream
target: {label: y, prediction: p}
rules:
  - {id: dp-region, kind: demographic_parity, by: region, max_difference: 0.1}
  - {id: di-band, kind: disparate_impact, by: band}
  - {id: eo-region, kind: equal_opportunity, by: region}
  - {id: eodds-both, kind: equalized_odds, by: [region, band], min_group_size: 100}
  - {id: prec-band, kind: group_metric, metric: precision, by: band, max_difference: 0.05}
  - {id: accuracy, kind: performance, metric: accuracy, min: 0.6}
"""
USED = ("region", "band", "y", "p")


def write_data(path: Path, rows: int) -> None:
    """10 columns, written in row groups of 1e6 rows so that writing needs little memory."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    regions = np.array([f"region-{i:02d}" for i in range(20)])
    writer = None
    for start in range(0, rows, 1_000_000):
        n = min(1_000_000, rows - start)
        band = rng.integers(0, 8, n)
        y = (rng.random(n) < 0.3 + 0.04 * band).astype(np.int64)
        score = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1)
        columns = {
            "region": pa.array(regions[rng.integers(0, 20, n)]).dictionary_encode(),
            "band": band,
            "y": y,
            "p": (score >= 0.5).astype(np.int64),
            "score": score,
            **{f"f{i}": rng.normal(size=n) for i in range(5)},
        }
        table = pa.table(columns)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def frame_sizes(path: Path) -> tuple[int, int]:
    """Bytes in pandas of the columns the policy uses, and of the whole frame."""
    import pandas as pd

    used = pd.read_parquet(path, columns=list(USED)).memory_usage(deep=True, index=False).sum()
    whole = pd.read_parquet(path).memory_usage(deep=True, index=False).sum()
    return int(used), int(whole)


def run(
    policy: Path,
    data: Path,
    report: Path,
    ok: tuple[int, ...] = (0, 1),
    engine: str = "auto",
) -> dict[str, float]:
    """One ``rulecheck check`` in its own process, measured by GNU time."""
    code = (
        "import sys; from rulecheck.cli import main; "
        f"sys.exit(main(['check', {str(policy)!r}, '--data', {str(data)!r}, '--engine', "
        f"{engine!r}, '--format', 'json', '--output', {str(report)!r}]))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode not in ok:
        raise SystemExit(f"rulecheck check failed ({done.returncode}):\n{done.stderr[-3000:]}")

    def field(name: str) -> str:
        match = re.search(rf"{re.escape(name)}: (.+)", done.stderr)
        assert match is not None, name
        return match.group(1).strip()

    clock = [
        float(part) for part in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")
    ]
    wall = sum(part * 60**i for i, part in enumerate(reversed(clock)))
    return {
        "peak_mb": int(field("Maximum resident set size (kbytes)")) / 1024,
        "wall_s": wall,
        "cpu_s": float(field("User time (seconds)")) + float(field("System time (seconds)")),
    }


def verdicts(path: Path) -> list[tuple[object, ...]]:
    data = json.loads(path.read_text())
    return [(v["id"], v["status"], v["value"], v["message"]) for v in data["verdicts"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    with open("/proc/loadavg") as load:
        print(f"load average before: {load.read().strip()}")
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        lake = where / "lake"
        lake.mkdir()
        data = lake / "data.parquet"
        write_data(data, args.rows)
        policy = where / "policy.yaml"
        policy.write_text(POLICY)
        used, whole = frame_sizes(data)
        print(
            f"rows {args.rows:,}; file {data.stat().st_size / 2**20:,.0f} MB; in pandas: used "
            f"columns {used / 2**20:,.0f} MB, whole frame {whole / 2**20:,.0f} MB"
        )
        tiny = where / "tiny.parquet"
        write_data(tiny, 1_000)
        # Exit code 2 allowed: on 1,000 rows, the intersectional groups are too small.
        floor = run(policy, tiny, where / "tiny.json", ok=(0, 1, 2))
        memory = run(policy, data, where / "memory.json", engine="memory")
        auto = run(policy, data, where / "auto.json")  # one file, count rules: streamed
        stream = run(policy, lake, where / "stream.json")
        same = verdicts(where / "memory.json") == verdicts(where / "stream.json")
        same = same and verdicts(where / "memory.json") == verdicts(where / "auto.json")
    print(
        "| engine | peak RSS (MB) | above the 1,000-row run (MB) | peak / used columns | "
        "(peak - 1,000-row run) / used columns | wall (s) | CPU (s) |"
    )
    print("|---|---|---|---|---|---|---|")
    runs = (
        ("1,000 rows (imports)", floor),
        ("memory (--data FILE --engine memory)", memory),
        ("auto (--data FILE: streamed, count rules only)", auto),
        ("stream (--data DIR)", stream),
    )
    for name, result in runs:
        above = result["peak_mb"] - floor["peak_mb"]
        print(
            f"| {name} | {result['peak_mb']:,.0f} | {above:,.0f} | "
            f"{result['peak_mb'] * 2**20 / used:.2f}x | {above * 2**20 / used:.2f}x | "
            f"{result['wall_s']:.2f} | {result['cpu_s']:.2f} |"
        )
    print(
        f"stream / memory: peak {stream['peak_mb'] / memory['peak_mb']:.2f}, wall "
        f"{stream['wall_s'] / memory['wall_s']:.2f}, CPU {stream['cpu_s'] / memory['cpu_s']:.2f}; "
        f"identical verdicts: {same}"
    )
    with open("/proc/loadavg") as load:
        print(f"load average after: {load.read().strip()}")


if __name__ == "__main__":
    main()
