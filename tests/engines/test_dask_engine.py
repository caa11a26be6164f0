"""The Dask engine against a real LocalCluster (two worker processes): count-based verdicts
equal the in-memory engine's exactly, losses to 1e-12, the model goes to each worker once.

The cluster is shared by the module; every evaluation runs on it through the default client,
except where a test passes the scheduler's address or runs without a client on purpose.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import rulecheck
from rulecheck import Report

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

N_ROWS = 6_000
PARTITIONS = 6


def make_frame(n: int = N_ROWS, seed: int = 0) -> pd.DataFrame:
    """Five groups of unequal size (categorical), a region with missing values, a label, two
    models' decisions, a score, non-integer weights and two features."""
    rng = np.random.default_rng(seed)
    groups = rng.choice(["a", "b", "c", "d", "e"], n, p=[0.4, 0.25, 0.2, 0.1, 0.05])
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    score = 1 / (1 + np.exp(-(x1 + 0.5 * (groups == "a") - 0.3 * (groups == "d"))))
    y = (rng.random(n) < score).astype(np.int64)
    region = rng.choice(np.array(["north", "south", None], dtype=object), n, p=[0.5, 0.4, 0.1])
    return pd.DataFrame(
        {
            "g": pd.Categorical(groups, categories=["a", "b", "c", "d", "e"]),
            "region": region,
            "age": rng.integers(18, 80, n),
            "x1": x1,
            "x2": x2,
            "s": score,
            "y": y,
            "p": (score > 0.5).astype(np.int64),
            "p0": (rng.random(n) < 0.5).astype(np.int64),
            "w": rng.uniform(0.5, 2.0, n),
        }
    )


FRAME = make_frame()
# Sorted by group, so that each partition holds one or two of the five groups only.
SORTED = FRAME.sort_values("g", kind="stable").reset_index(drop=True)


def policy(*rules: str, extra: str = "") -> str:
    body = "".join(f"  - {{{rule}}}\n" for rule in rules)
    return f"version: 1\nname: dask\n{extra}rules:\n{body}"


COUNT_RULES = policy(
    "id: gm-rates, kind: group_metric, metric: selection_rate, by: g, max_difference: 0.3",
    "id: gm-tpr, kind: group_metric, metric: true_positive_rate, by: g, max_difference: 0.3",
    "id: gm-fpr, kind: group_metric, metric: false_positive_rate, by: g, max_ratio: 3",
    "id: gm-prec, kind: group_metric, metric: precision, by: [g, region], missing: group, "
    "max_difference: 0.5",
    "id: dp, kind: demographic_parity, by: g, max_difference: 0.2",
    "id: di, kind: disparate_impact, by: g, reference_group: a, min_ratio: 0.8",
    "id: eop, kind: equal_opportunity, by: g, max_difference: 0.2",
    "id: eod, kind: equalized_odds, by: g, max_difference: 0.2",
    "id: acc, kind: performance, metric: accuracy, min: 0.6",
    "id: dp-old, kind: demographic_parity, by: g, max_difference: 0.2, where: {age: {gte: 40}}",
    "id: eod-north, kind: equalized_odds, by: g, max_difference: 0.3, where: {region: north}",
    "id: dp-region-drop, kind: demographic_parity, by: region, missing: drop, max_difference: 0.2",
    "id: dp-region-group, kind: demographic_parity, by: region, missing: group, "
    "max_difference: 0.2",
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address=None,
        silence_logs=40,  # logging.ERROR
    ) as local:
        yield local


@pytest.fixture(scope="module")
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster) as connected:
        yield connected


def both(
    text: str, frame: pd.DataFrame = SORTED, partitions: int = PARTITIONS, **kwargs: Any
) -> tuple[Report, Report]:
    """The in-memory report on ``frame`` and the Dask report on it split into partitions."""
    kwargs = {"label": "y", "prediction": "p", **kwargs}
    memory = rulecheck.evaluate(text, data=frame, engine="memory", **kwargs)
    ddf = dd.from_pandas(frame, npartitions=partitions, sort=False)
    on_dask = rulecheck.evaluate(text, data=ddf, **kwargs)
    assert on_dask.data["engine"] == "dask"
    return memory, on_dask


def comparable(report: Report) -> list[dict[str, Any]]:
    """Verdicts as dicts without timings, groups in label order (a categorical column and the
    same values merged across partitions may list groups in another order)."""
    out = []
    for verdict in report.verdicts:
        data = verdict.to_dict()
        data.pop("duration_s")
        data["groups"] = sorted(data["groups"], key=lambda g: (repr(g["group"]), g.get("metric")))
        out.append(data)
    return out


def assert_close(actual: Any, expected: Any, tolerance: float, where: str = "") -> None:
    if isinstance(expected, float) and isinstance(actual, float):
        assert math.isclose(actual, expected, rel_tol=tolerance, abs_tol=tolerance), where
    elif isinstance(expected, dict) and isinstance(actual, dict):
        assert actual.keys() == expected.keys(), where
        for key in expected:
            assert_close(actual[key], expected[key], tolerance, f"{where}.{key}")
    elif isinstance(expected, list) and isinstance(actual, list):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_close(a, e, tolerance, f"{where}[{i}]")
    elif isinstance(expected, str) and tolerance:
        pass  # messages print values rounded: compared through the values
    else:
        assert actual == expected, where


def assert_same(memory: Report, on_dask: Report, tolerance: float = 0.0) -> None:
    assert [v.status for v in on_dask.verdicts] == [v.status for v in memory.verdicts]
    if tolerance == 0.0:
        assert comparable(on_dask) == comparable(memory)
    else:
        assert_close(comparable(on_dask), comparable(memory), tolerance)


# -- exact equality with the in-memory engine ------------------------------------------------------
def test_count_rules_equal_the_in_memory_engine_exactly(client: Any) -> None:
    memory, on_dask = both(COUNT_RULES)
    assert {v.status.value for v in memory.verdicts} >= {"pass", "fail"}
    assert all(v.status.value != "error" for v in memory.verdicts), memory.verdicts
    assert_same(memory, on_dask)
    assert on_dask.data["partitions"] == PARTITIONS
    assert on_dask.data["rows"] == N_ROWS


def test_categories_missing_from_some_partitions(client: Any) -> None:
    # 12 partitions of the sorted frame: most hold a single group, some none of "a".
    ddf = dd.from_pandas(SORTED, npartitions=12, sort=False)
    lacking = [
        set(part["g"].unique()) for part in (ddf.get_partition(i).compute() for i in range(12))
    ]
    assert any(len(groups) == 1 for groups in lacking)
    memory, on_dask = both(COUNT_RULES, partitions=12)
    assert_same(memory, on_dask)


def test_weighted_rules_equal_the_in_memory_engine(client: Any) -> None:
    # Weights are floats summed in another order: equal to float rounding.
    memory, on_dask = both(COUNT_RULES, sample_weight="w")
    assert memory.verdicts[0].groups[0].weight is not None
    assert_same(memory, on_dask, tolerance=1e-12)


def test_loss_rules_equal_the_in_memory_engine(client: Any) -> None:
    text = policy(
        "id: brier, kind: loss_disparity, loss: brier, by: g, max_difference: 0.1",
        "id: logloss, kind: loss_disparity, loss: log_loss, by: [g, region], missing: group, "
        "max_ratio: 2",
        "id: zero-one-old, kind: loss_disparity, loss: zero_one, by: g, max_difference: 0.2, "
        "where: {age: {gte: 40}}",
    )
    memory, on_dask = both(text, score="s")
    assert all(v.status.value != "error" for v in memory.verdicts), memory.verdicts
    assert_same(memory, on_dask, tolerance=1e-12)
    memory, on_dask = both(text, score="s", sample_weight="w")
    assert_same(memory, on_dask, tolerance=1e-12)


def test_baseline_change_bounds_equal_the_in_memory_engine(client: Any) -> None:
    text = policy(
        "id: dp-change, kind: demographic_parity, by: g, max_difference: 0.5, max_increase: 0.0",
        "id: eod-change, kind: equalized_odds, by: g, max_difference: 0.5, max_increase: 0.01",
        "id: loss-change, kind: loss_disparity, loss: zero_one, by: g, max_difference: 0.5, "
        "max_increase: 0.0",
    )
    memory, on_dask = both(text, baseline_prediction="p0")
    assert all(v.baseline is not None for v in memory.verdicts)
    assert {v.status.value for v in memory.verdicts} >= {"fail"}
    assert_same(memory, on_dask, tolerance=1e-12)
    count_rules = slice(0, 2)
    assert comparable(on_dask)[count_rules] == comparable(memory)[count_rules]


def test_intervals_equal_the_in_memory_engine(client: Any) -> None:
    text = policy(
        "id: dp-ci, kind: demographic_parity, by: g, max_difference: 0.1, confidence: 0.95, "
        "bootstrap: {n: 200, seed: 3}",
        "id: fpr-ci, kind: group_metric, metric: false_positive_rate, by: g, max_difference: 0.1, "
        "confidence: 0.95, method: analytic",
        "id: acc-ci, kind: performance, metric: accuracy, min: 0.7, confidence: 0.95",
    )
    memory, on_dask = both(text)
    assert all(v.interval is not None for v in memory.verdicts)
    assert_same(memory, on_dask)


# -- the model goes to the workers -----------------------------------------------------------------
class CountingModel(LogisticRegression):
    """A logistic regression that records, in a file, every time it is unpickled."""

    log: str = ""

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if self.log:
            with open(self.log, "a") as handle:
                handle.write(f"{os.getpid()}\n")


def test_a_fitted_model_is_shipped_to_each_worker_once(client: Any, tmp_path: Path) -> None:
    model = CountingModel(max_iter=200).fit(SORTED[["x1", "x2"]], SORTED["y"])
    model.log = str(tmp_path / "unpickled.txt")
    partitions = 8
    memory, on_dask = both(COUNT_RULES, model=model, prediction=None, partitions=partitions)
    assert_same(memory, on_dask)
    assert on_dask.model["calls"] == partitions  # one predict per partition
    loads = Path(model.log).read_text().split()
    workers = {str(pid) for pid in client.run(os.getpid).values()}
    # Eight partitions, two workers: unpickled once per worker at most, never per partition.
    assert 1 <= len(loads) <= len(workers) == 2, loads
    assert len(set(loads)) == len(loads)
    assert set(loads) <= workers


# -- the sample ------------------------------------------------------------------------------------
def test_row_level_rules_run_on_the_seeded_sample(client: Any) -> None:
    # The count rules before and after it use every row (the note is said of auc only).
    text = policy(
        "id: dp, kind: demographic_parity, by: g, max_difference: 0.2",
        "id: auc, kind: performance, metric: roc_auc, min: 0.6",
        "id: eod, kind: equalized_odds, by: g, max_difference: 0.2",
    )
    ddf = dd.from_pandas(SORTED, npartitions=PARTITIONS, sort=False)
    runs = [
        rulecheck.evaluate(text, data=ddf, label="y", prediction="p", score="s", sample_rows=700)
        for _ in range(2)
    ]
    dp, auc, eod = runs[0].verdicts
    assert auc.status.value == "pass"
    assert any(
        note.startswith("Computed on a seeded sample of 700 of the 6,000 rows")
        for note in auc.notes
    )
    assert not any("seeded sample" in note for v in (dp, eod) for note in v.notes)
    assert runs[0].data["sample_rows"] == 700
    assert runs[1].verdicts[1].value == auc.value  # seeded: the same sample every run
    # With every row in the sample, the value is the in-memory one, without the note.
    memory, on_dask = both(text, score="s")
    assert on_dask.verdicts[1].value == pytest.approx(memory.verdicts[1].value, abs=1e-12)
    assert not any("seeded sample" in note for note in on_dask.verdicts[1].notes)


# -- other sources and schedulers ------------------------------------------------------------------
def test_a_glob_of_parquet_files_with_their_own_categories(client: Any, tmp_path: Path) -> None:
    # One file per group: each file's categorical column holds only its own category.
    for group, part in SORTED.groupby("g", observed=True):
        part = part.assign(g=part["g"].cat.remove_unused_categories())
        part.to_parquet(tmp_path / f"part-{group}.parquet", index=False)
    memory = rulecheck.evaluate(
        COUNT_RULES, data=SORTED, engine="memory", label="y", prediction="p"
    )
    on_dask = rulecheck.evaluate(
        COUNT_RULES, data=str(tmp_path / "*.parquet"), engine="dask", label="y", prediction="p"
    )
    assert on_dask.data["engine"] == "dask"
    assert on_dask.data["files"] == 5
    assert_same(memory, on_dask)


def test_a_scheduler_address(cluster: Any) -> None:
    ddf = dd.from_pandas(SORTED, npartitions=PARTITIONS, sort=False)
    text = policy("id: dp, kind: demographic_parity, by: g, max_difference: 0.2")
    memory = rulecheck.evaluate(text, data=SORTED, engine="memory", label="y", prediction="p")
    on_dask = rulecheck.evaluate(
        text, data=ddf, label="y", prediction="p", scheduler=cluster.scheduler_address
    )
    assert_same(memory, on_dask)


def test_without_a_client_dask_default_scheduler_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from rulecheck.engines import dask_engine

    monkeypatch.setattr(dask_engine, "_default_client", lambda: None)
    memory, on_dask = both(COUNT_RULES)
    assert_same(memory, on_dask)


# -- errors ----------------------------------------------------------------------------------------
def test_a_dask_frame_on_the_memory_engine_is_an_error() -> None:
    ddf = dd.from_pandas(SORTED, npartitions=2)
    report = rulecheck.evaluate(COUNT_RULES, data=ddf, engine="memory", label="y", prediction="p")
    assert {v.status.value for v in report.verdicts} == {"error"}
    assert "a Dask DataFrame runs on engine 'dask', not 'memory'" in report.verdicts[0].message


def test_an_unreachable_scheduler_is_an_error() -> None:
    ddf = dd.from_pandas(SORTED, npartitions=2)
    text = policy("id: dp, kind: demographic_parity, by: g, max_difference: 0.2")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        report = rulecheck.evaluate(
            text, data=ddf, label="y", prediction="p", scheduler="tcp://127.0.0.1:1"
        )
    (verdict,) = report.verdicts
    assert verdict.status.value == "error"
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:1'" in verdict.message


def test_without_dask_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    from rulecheck.engines import dask_engine
    from rulecheck.errors import InputError

    monkeypatch.setitem(sys.modules, "dask", None)  # import dask raises ImportError
    with pytest.raises(InputError, match=r"pip install 'rulecheck\[dask\]'"):
        dask_engine.collect_dask(object(), None)  # type: ignore[arg-type]  # fails before use


def test_import_rulecheck_does_not_import_dask() -> None:
    code = "import sys, rulecheck, rulecheck.evaluation; assert 'dask' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_parquet_file_lacking_a_column_is_named_before_any_worker_reads(
    client: Any, tmp_path: Path
) -> None:
    # The same message as the stream engine's, not pyarrow's from a worker.
    SORTED.iloc[:100].to_parquet(tmp_path / "a.parquet", index=False)
    SORTED.iloc[100:200].drop(columns=["p"]).to_parquet(tmp_path / "b.parquet", index=False)
    messages = []
    for engine in ("dask", "stream"):
        report = rulecheck.evaluate(
            COUNT_RULES, data=str(tmp_path / "*.parquet"), engine=engine, label="y", prediction="p"
        )
        assert report.exit_code() == 2
        messages.append(report.errors)
    assert messages[0] == messages[1]
    assert "b.parquet" in messages[0][0]
    assert "'p'" in messages[0][0]
