"""The streaming engine (``engine="stream"``) against the in-memory engine on the same data.

Data is written as Parquet in several files of several row groups and read back in tiny batches
(97 rows), so every rule is computed from cells merged over dozens of batches. Count-based rules
must give exactly (``==``) the in-memory verdicts, intervals included; loss means agree to float
rounding (the per-row losses are summed in another order); rules that need rows run on the
seeded sample and say so when the sample is smaller than the data.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

import rulecheck
from rulecheck.cli import main
from rulecheck.engines.aggregate import Plan, Setup, collect
from rulecheck.engines.batches import ParquetSource
from rulecheck.engines.targets import TargetSpec
from rulecheck.verdict import Report, Status, Verdict

ROWS = 2_400
BATCH = 97  # a prime: batches straddle row groups and files
SAMPLE_NOTE = "Computed on a seeded sample"


def make_frame(n: int = ROWS, seed: int = 7) -> pd.DataFrame:
    """Labels, decisions, scores, a baseline, weights and group columns with missing values."""
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.25, 0.05]).astype(object)
    g[rng.random(n) < 0.03] = None  # missing group values, for missing: group / drop
    h = rng.integers(0, 3, n)
    age = rng.uniform(18, 80, n).round(1)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    logit = 0.8 * x1 - 0.5 * x2 + (h - 1) * 0.3
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    s = np.clip(1 / (1 + np.exp(-(logit + rng.normal(scale=0.7, size=n)))), 0.01, 0.99)
    bs = np.clip(1 / (1 + np.exp(-(0.6 * logit + rng.normal(scale=1.0, size=n)))), 0.01, 0.99)
    # 'rare' has a group without positive labels: TPR and friends are undefined for it.
    rare = np.where(rng.random(n) < 0.5, "u", "v").astype(object)
    rare[(y == 1) & (rare == "v")] = "u"
    return pd.DataFrame(
        {
            "g": g,
            "h": h,
            "age": age,
            "rare": rare,
            "x1": x1,
            "x2": x2,
            "y": y,
            "ys": np.where(y == 1, "yes", "no"),
            "p": (s >= 0.5).astype(np.int64),
            "ps": np.where(s >= 0.5, "yes", "no"),
            "s": s,
            "pb": (bs >= 0.5).astype(np.int64),
            "bs": bs,
            # Weights in eighths: their sums are exact in floating point whatever the order, so
            # weighted counts can be compared with ==; "wf" has weights whose sums round.
            "w": rng.integers(1, 25, n) / 8,
            "wf": rng.uniform(0.2, 3.0, n).round(3),
        }
    )


def write_dataset(frame: pd.DataFrame, where: Path, files: int = 3, row_group: int = 300) -> Path:
    """``frame`` as ``files`` Parquet files of ``row_group``-row groups, in row order."""
    where.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(np.array_split(np.arange(len(frame)), files)):
        table = pa.Table.from_pandas(frame.iloc[part], preserve_index=False)
        pq.write_table(table, where / f"part-{i:02d}.parquet", row_group_size=row_group)
    return where


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, frame: pd.DataFrame) -> Path:
    return write_dataset(frame, tmp_path_factory.mktemp("stream") / "lake")


@pytest.fixture(scope="module")
def loaded(lake: Path) -> pd.DataFrame:
    """The dataset as the in-memory engine sees it: read back from the same files."""
    parts = [pq.read_table(p).to_pandas() for p in sorted(lake.glob("*.parquet"))]
    return pd.concat(parts, ignore_index=True)


# The one legitimate difference in count-based verdicts: cells do not keep row positions, so a
# "missing values" error cannot say at which row the first one is.
FIRST_AT = re.compile(r" \(first at row [0-9,]+\)")


def verdict_dict(verdict: Verdict) -> dict[str, Any]:
    out = verdict.to_dict()
    out.pop("duration_s", None)
    out["message"] = FIRST_AT.sub("", out["message"])
    return out


def both(policy: str, lake: Path, loaded: pd.DataFrame, **kwargs: Any) -> tuple[Report, Report]:
    memory = rulecheck.evaluate(policy, data=loaded, engine="memory", **kwargs)
    stream = rulecheck.evaluate(policy, data=lake, engine="stream", batch_rows=BATCH, **kwargs)
    return memory, stream


def assert_identical(memory: Report, stream: Report) -> None:
    assert [v.rule_id for v in memory.verdicts] == [v.rule_id for v in stream.verdicts]
    for a, b in zip(memory.verdicts, stream.verdicts, strict=True):
        assert verdict_dict(b) == verdict_dict(a), a.rule_id


def policy(rules: str, target: str = "{label: y, prediction: p}", extra: str = "") -> str:
    return f"version: 1\nname: stream\ntarget: {target}\n{extra}rules:\n{rules}"


# --- count-based rules: identical ----------------------------------------------------------------

COUNT_METRICS = (
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "true_negative_rate",
    "false_negative_rate",
    "precision",
    "negative_predictive_value",
    "false_discovery_rate",
    "false_omission_rate",
    "accuracy",
    "balanced_accuracy",
    "f1",
)

GROUP_METRICS = "\n".join(
    f"  - {{id: gm-{m}, kind: group_metric, metric: {m}, by: h, max_difference: 0.05, "
    "min_ratio: 0.5}"
    for m in COUNT_METRICS
)

KINDS = """\
  - {id: dp, kind: demographic_parity, by: h}
  - {id: di, kind: disparate_impact, by: h}
  - {id: di-ref, kind: disparate_impact, by: h, reference_group: 0, min_ratio: 0.9}
  - {id: eo, kind: equal_opportunity, by: h, max_difference: 0.2}
  - {id: eodds, kind: equalized_odds, by: h, min_ratio: 0.5}
  - {id: perf-acc, kind: performance, metric: accuracy, min: 0.6}
  - {id: perf-f1, kind: performance, metric: f1, min: 0.99}
  - {id: perf-bacc, kind: performance, metric: balanced_accuracy, min: 0.5}
  - {id: inter, kind: demographic_parity, by: [h, rare], max_difference: 0.3}
  - {id: inter-groups, kind: equal_opportunity, by: [h, rare], groups: [{h: 0, rare: u}, {h: 1, rare: u}]}
  - {id: slice-value, kind: demographic_parity, by: h, where: {rare: u}}
  - {id: slice-bounds, kind: equal_opportunity, by: h, where: {age: {gte: 30, lt: 60}}}
  - {id: slice-not, kind: group_metric, metric: precision, by: h, where: {age: {not: {gt: 70}}}, max_difference: 0.2}
  - {id: miss-group, kind: demographic_parity, by: g, missing: group}
  - {id: miss-drop, kind: equal_opportunity, by: g, missing: drop, min_ratio: 0.7}
  - {id: miss-error, kind: demographic_parity, by: g}
  - {id: undefined, kind: group_metric, metric: true_positive_rate, by: rare, min_group_size: 1, max_difference: 0.1}
  - {id: small, kind: demographic_parity, by: g, missing: group, min_group_size: 150}
  - {id: rel-overall, kind: group_metric, metric: accuracy, by: h, relative_to: overall, max_difference: 0.02}
  - {id: support, kind: equal_opportunity, by: g, missing: drop, min_support: 60}
"""


def test_every_count_metric_is_identical(lake: Path, loaded: pd.DataFrame) -> None:
    memory, stream = both(policy(GROUP_METRICS), lake, loaded)
    assert_identical(memory, stream)
    assert {v.status for v in stream.verdicts} >= {Status.PASS, Status.FAIL}


def test_every_count_kind_is_identical(lake: Path, loaded: pd.DataFrame) -> None:
    memory, stream = both(policy(KINDS), lake, loaded)
    assert_identical(memory, stream)
    statuses = {v.rule_id: v.status for v in stream.verdicts}
    assert statuses["miss-error"] is Status.ERROR  # missing values in g, missing: error
    assert all(SAMPLE_NOTE not in " ".join(v.notes) for v in stream.verdicts)


def test_weighted_counts_are_identical(lake: Path, loaded: pd.DataFrame) -> None:
    rules = GROUP_METRICS + "\n" + KINDS
    memory, stream = both(
        policy(rules, "{label: y, prediction: p, sample_weight: w}"), lake, loaded
    )
    assert_identical(memory, stream)
    assert all(g.weight is not None for g in stream.verdicts[0].groups)


def test_weights_whose_sums_round_agree_to_rounding(lake: Path, loaded: pd.DataFrame) -> None:
    # Weighted counts are sums of float weights, added in another order than in memory.
    rules = GROUP_METRICS + "\n" + KINDS
    memory, stream = both(
        policy(rules, "{label: y, prediction: p, sample_weight: wf}"), lake, loaded
    )
    for a, b in zip(memory.verdicts, stream.verdicts, strict=True):
        assert close(verdict_dict(a), verdict_dict(b)), a.rule_id
        assert a.status is b.status


def test_string_label_with_positive_label(lake: Path, loaded: pd.DataFrame) -> None:
    target = "{label: ys, prediction: ps, positive_label: 'yes'}"
    memory, stream = both(policy(GROUP_METRICS + "\n" + KINDS, target), lake, loaded)
    assert_identical(memory, stream)
    by_label = rulecheck.evaluate(policy(GROUP_METRICS, target), data=lake, batch_rows=BATCH)
    plain = rulecheck.evaluate(policy(GROUP_METRICS), data=lake, batch_rows=BATCH)
    assert [verdict_dict(v) for v in by_label.verdicts] == [verdict_dict(v) for v in plain.verdicts]


def test_target_where_and_dtypes(lake: Path, loaded: pd.DataFrame) -> None:
    target = "{label: y, prediction: p, where: {age: {gte: 25}, g: {not: d}}, dtypes: {h: str}}"
    rules = KINDS.replace("reference_group: 0", "reference_group: '0'")
    rules = rules.replace(
        "{h: 0, rare: u}, {h: 1, rare: u}", "{h: '0', rare: u}, {h: '1', rare: u}"
    )
    memory, stream = both(policy(rules, target), lake, loaded)
    assert_identical(memory, stream)
    assert stream.data["selected_rows"] == memory.data["selected_rows"]


BASELINE = """\
  - {id: dp-change, kind: demographic_parity, by: h, max_increase: 0.0}
  - {id: eo-change, kind: equal_opportunity, by: g, missing: group, max_decrease: 0.01, max_relative_increase: 0.5}
  - {id: acc-change, kind: performance, metric: accuracy, max_decrease: 0.0}
  - {id: prec-change, kind: group_metric, metric: precision, by: [h, rare], min_group_size: 1, max_difference: 0.3, max_increase: 0.05}
"""


def test_baseline_prediction_column(lake: Path, loaded: pd.DataFrame) -> None:
    target = "{label: y, prediction: p, baseline_prediction: pb}"
    memory, stream = both(policy(BASELINE, target), lake, loaded)
    assert_identical(memory, stream)
    assert all(v.baseline is not None for v in stream.verdicts)


@pytest.fixture(scope="module")
def model(loaded: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(loaded[["x1", "x2"]], loaded["y"])


def test_baseline_model(lake: Path, loaded: pd.DataFrame, model: LogisticRegression) -> None:
    memory, stream = both(
        policy(BASELINE, "{label: y, features: [x1, x2], baseline_prediction: pb}"),
        lake,
        loaded,
        model=model,
    )
    assert_identical(memory, stream)
    memory, stream = both(
        policy(BASELINE, "{label: y, features: [x1, x2]}"),
        lake,
        loaded,
        model=model,
        baseline=LogisticRegression(C=0.001).fit(loaded[["x1", "x2"]], loaded["y"]),
    )
    assert_identical(memory, stream)


INTERVALS = """\
  - {id: dp-ci, kind: demographic_parity, by: h, max_difference: 0.05}
  - {id: eo-ci, kind: equal_opportunity, by: g, missing: group, max_difference: 0.2}
  - {id: eodds-ci, kind: equalized_odds, by: [h, rare], min_group_size: 1}
  - {id: di-ci, kind: disparate_impact, by: h, reference_group: 1}
  - {id: acc-ci, kind: performance, metric: accuracy, min: 0.7}
  - {id: prec-ci, kind: group_metric, metric: precision, by: h, min_ratio: 0.9}
"""


@pytest.mark.parametrize("method", ["bootstrap", "analytic"])
def test_intervals_on_count_rules(lake: Path, loaded: pd.DataFrame, method: str) -> None:
    extra = f"uncertainty: {{confidence: 0.95, method: {method}, bootstrap: {{n: 200, seed: 3}}}}\n"
    memory, stream = both(policy(INTERVALS, extra=extra), lake, loaded)
    assert_identical(memory, stream)
    assert all(v.interval is not None for v in stream.verdicts if v.status is not Status.ERROR)


def test_intervals_with_a_baseline(lake: Path, loaded: pd.DataFrame) -> None:
    extra = "uncertainty: {confidence: 0.95, bootstrap: {n: 200, seed: 3}}\n"
    target = "{label: y, prediction: p, baseline_prediction: pb}"
    memory, stream = both(policy(BASELINE, target, extra), lake, loaded)
    assert_identical(memory, stream)


def test_weighted_intervals_are_refused(lake: Path) -> None:
    extra = "uncertainty: {confidence: 0.95}\n"
    target = "{label: y, prediction: p, sample_weight: w}"
    report = rulecheck.evaluate(policy(INTERVALS, target, extra), data=lake, batch_rows=BATCH)
    for verdict in report.verdicts:
        assert verdict.status is Status.ERROR, verdict.rule_id
        assert "weighted" in verdict.message


# --- losses: equal to float rounding --------------------------------------------------------------

LOSSES = """\
  - {id: ll, kind: loss_disparity, loss: log_loss, by: h, max_difference: 0.1}
  - {id: brier, kind: loss_disparity, loss: brier, by: [h, rare], min_group_size: 1, max_ratio: 1.5}
  - {id: ll-slice, kind: loss_disparity, loss: log_loss, by: g, missing: group, where: {age: {lt: 50}}, max: 0.6}
"""


def close(a: Any, b: Any) -> bool:
    """Equal, with floats equal to 1e-12 (relative): loss sums added in another order."""
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-12, abs=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.mark.parametrize("weights", [False, True])
def test_losses_agree_to_rounding(lake: Path, loaded: pd.DataFrame, weights: bool) -> None:
    target = "{label: y, score: s, baseline_score: bs" + (", sample_weight: w}" if weights else "}")
    rules = (
        LOSSES
        + "  - {id: ll-change, kind: loss_disparity, loss: log_loss, by: h, max_increase: 0.0}\n"
    )
    memory, stream = both(policy(rules, target), lake, loaded)
    for a, b in zip(memory.verdicts, stream.verdicts, strict=True):
        da, db = verdict_dict(a), verdict_dict(b)
        # Messages print values rounded, so they agree unless a value sits on a rounding edge.
        assert close(da, db), (a.rule_id, da, db)
        assert a.status is b.status


# --- row-level rules: on the seeded sample ----------------------------------------------------------

ROW_RULES = """\
  - {id: auc, kind: performance, metric: roc_auc, min: 0.6}
  - {id: ll, kind: performance, metric: log_loss, max: 0.6}
  - {id: mean-score, kind: group_metric, metric: mean_prediction, by: h, max_difference: 0.5}
  - {id: attr, kind: attribution, features: [x2], max_share: 0.5}
  - {id: proxy, kind: proxy, protected: rare, features: [x1, x2], max_association: 0.3}
  - {id: dp, kind: demographic_parity, by: h}
"""


def test_row_level_rules_equal_memory_when_the_sample_holds_every_row(
    lake: Path, loaded: pd.DataFrame, model: LogisticRegression
) -> None:
    target = "{label: y, features: [x1, x2]}"
    memory, stream = both(policy(ROW_RULES, target), lake, loaded, model=model, sample_rows=ROWS)
    assert_identical(memory, stream)
    assert all(SAMPLE_NOTE not in " ".join(v.notes) for v in stream.verdicts)


def test_row_level_rules_run_on_a_sample_and_say_so(
    lake: Path, loaded: pd.DataFrame, model: LogisticRegression
) -> None:
    target = "{label: y, features: [x1, x2]}"
    reports = [
        rulecheck.evaluate(
            policy(ROW_RULES, target),
            data=lake,
            engine="stream",
            model=model,
            sample_rows=1_000,
            batch_rows=batch,
        )
        for batch in (BATCH, 1_000, 10_000)
    ]
    first = reports[0]
    for verdict in first.verdicts:
        sampled = SAMPLE_NOTE in " ".join(verdict.notes)
        assert sampled is (verdict.rule_id != "dp"), verdict.rule_id
        assert verdict.status is not Status.ERROR, verdict.message
    assert "1,000 of the 2,400 rows" in " ".join(first.verdicts[0].notes)
    # The sample is drawn by row position: the same rows whatever the batch size.
    for other in reports[1:]:
        assert [verdict_dict(v) for v in other.verdicts] == [
            verdict_dict(v) for v in first.verdicts
        ]
    # ... and it is a sample: the values differ from the full data's.
    full = rulecheck.evaluate(policy(ROW_RULES, target), data=loaded, model=model)
    assert first.verdicts[0].value != full.verdicts[0].value
    assert first.verdicts[-1].value == full.verdicts[-1].value


def test_sample_is_independent_of_batch_size(lake: Path) -> None:
    setup = Setup(plan=Plan(keys=("h",), sample_rows=500, seed=0), spec=TargetSpec(label="y"))
    source = ParquetSource.open(lake)
    samples = []
    for batch in (BATCH, 256, 5_000):
        cells, _ = collect(source.batches(["h", "x1", "y", "p"], batch), setup)
        samples.append(cells.sample)
        assert len(cells.sample) == 500
    for other in samples[1:]:
        pd.testing.assert_frame_equal(other, samples[0])


# --- errors ---------------------------------------------------------------------------------------


def test_missing_label_errors_only_rules_that_need_it(tmp_path: Path, frame: pd.DataFrame) -> None:
    lake = write_dataset(frame.drop(columns=["y"]), tmp_path / "nolabel")
    rules = """\
  - {id: dp, kind: demographic_parity, by: h}
  - {id: eo, kind: equal_opportunity, by: h}
  - {id: acc, kind: performance, metric: accuracy, min: 0.5}
"""
    report = rulecheck.evaluate(policy(rules, "{prediction: p}"), data=lake, batch_rows=BATCH)
    status = {v.rule_id: v for v in report.verdicts}
    assert status["dp"].status is not Status.ERROR
    for rule in ("eo", "acc"):
        assert status[rule].status is Status.ERROR
        assert "label" in status[rule].message
    memory = rulecheck.evaluate(policy(rules, "{prediction: p}"), data=frame.drop(columns=["y"]))
    assert [v.message for v in memory.verdicts] == [v.message for v in report.verdicts]
    # A label column the policy names but the data lacks: the same, naming the column.
    named = policy(rules, "{label: y, prediction: p}")
    report = rulecheck.evaluate(named, data=lake, batch_rows=BATCH)
    memory = rulecheck.evaluate(named, data=frame.drop(columns=["y"]))
    assert [v.status for v in report.verdicts] == [v.status for v in memory.verdicts]
    assert report.verdicts[0].status is not Status.ERROR
    assert [v.message for v in memory.verdicts] == [v.message for v in report.verdicts]


def test_group_column_absent_from_the_data(lake: Path) -> None:
    rules = """\
  - {id: dp-nope, kind: demographic_parity, by: nope}
  - {id: dp, kind: demographic_parity, by: h}
"""
    report = rulecheck.evaluate(policy(rules), data=lake, batch_rows=BATCH)
    nope, ok = report.verdicts
    assert nope.status is Status.ERROR
    assert "'nope'" in nope.message
    assert ok.status is not Status.ERROR


def test_bad_paths_are_input_errors(tmp_path: Path, frame: pd.DataFrame) -> None:
    rules = "  - {id: dp, kind: demographic_parity, by: h}\n"
    (tmp_path / "empty").mkdir()
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    cases = {
        str(tmp_path / "nothing-*.parquet"): "matches no file",
        str(tmp_path / "empty"): "holds no .parquet files",
        str(csv): "streamed data must be Parquet files",
    }
    for where, expected in cases.items():
        report = rulecheck.evaluate(policy(rules), data=where, engine="stream")
        assert report.verdicts[0].status is Status.ERROR
        assert expected in report.verdicts[0].message, report.verdicts[0].message


def test_cli_streams_a_directory(
    tmp_path: Path, lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(policy("  - {id: dp, kind: demographic_parity, by: h, max_difference: 0.5}\n"))
    assert main(["check", str(path), "--data", str(lake)]) == 0
    (tmp_path / "empty").mkdir()
    assert main(["check", str(path), "--data", str(tmp_path / "empty")]) == 2
    assert "holds no .parquet files" in capsys.readouterr().out
    assert main(["check", str(path), "--data", str(tmp_path / "none-*.parquet")]) == 2


# --- property: any split into batches gives the in-memory counts --------------------------------

PROPERTY_RULES = policy(
    """\
  - {id: sel, kind: group_metric, metric: selection_rate, by: [g, h], missing: group, min_group_size: 1, max_difference: 1}
  - {id: tpr, kind: group_metric, metric: true_positive_rate, by: g, missing: drop, min_group_size: 1, max_difference: 1}
  - {id: acc, kind: performance, metric: accuracy, min: 0}
"""
)


@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", None]),
            st.integers(0, 2),
            st.integers(0, 1),
            st.integers(0, 1),
        ),
        min_size=1,
        max_size=60,
    ),
    batch=st.integers(1, 70),
    groups=st.integers(1, 20),
)
def test_any_batching_gives_the_in_memory_counts(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str | None, int, int, int]],
    batch: int,
    groups: int,
) -> None:
    frame = pd.DataFrame(rows, columns=["g", "h", "y", "p"])
    path = tmp_path_factory.mktemp("prop") / "data.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=groups)
    loaded = pq.read_table(path).to_pandas()
    memory = rulecheck.evaluate(PROPERTY_RULES, data=loaded, engine="memory")
    stream = rulecheck.evaluate(PROPERTY_RULES, data=path, engine="stream", batch_rows=batch)
    assert_identical(memory, stream)


# --- the in-memory engine reads only the needed columns of a Parquet file --------------------------


def test_in_memory_engine_reads_only_the_needed_columns(
    tmp_path: Path, loaded: pd.DataFrame
) -> None:
    path = tmp_path / "data.parquet"
    loaded.to_parquet(path)
    rules = policy(GROUP_METRICS + "\n" + KINDS)
    pruned = rulecheck.evaluate(rules, data=path, engine="memory")
    assert pruned.data["read_columns"] == 6  # y, p, the groups g, h, rare and the slice age
    assert pruned.data["columns"] == len(loaded.columns)
    whole = rulecheck.evaluate(rules, data=loaded)
    assert_identical(whole, pruned)
    # A proxy rule without a model reads every column (its candidates are every other column).
    proxy = policy("  - {id: proxy, kind: proxy, protected: rare, max_association: 0.9}\n")
    assert "read_columns" not in rulecheck.evaluate(proxy, data=path, engine="memory").data
    # A target column the data lacks: every column is read, so the error lists them all.
    typo = rulecheck.evaluate(
        policy(KINDS, "{label: yss, prediction: p}"), data=path, engine="memory"
    )
    assert "read_columns" not in typo.data
    assert "did you mean 'ys'?" in typo.verdict("eo").message


def test_in_memory_engine_with_a_model_reads_its_features(
    tmp_path: Path, loaded: pd.DataFrame, model: LogisticRegression
) -> None:
    path = tmp_path / "data.parquet"
    loaded.to_parquet(path)
    rules = policy(ROW_RULES, "{label: y, features: [x1, x2]}")
    pruned = rulecheck.evaluate(rules, data=path, model=model)
    assert pruned.data["read_columns"] == 5  # y, the features, h and rare
    assert_identical(rulecheck.evaluate(rules, data=loaded, model=model), pruned)
    # Without features, the model's inputs are known only once it is loaded: every column.
    unnamed = rulecheck.evaluate(policy(ROW_RULES, "{label: y}"), data=path, model=model)
    assert "read_columns" not in unnamed.data


def test_auto_streams_one_parquet_file_when_the_results_are_exact(
    tmp_path: Path, loaded: pd.DataFrame, model: LogisticRegression
) -> None:
    # Count-based rules only: streamed (the cells give the in-memory results exactly).
    path = tmp_path / "data.parquet"
    loaded.to_parquet(path)
    rules = policy(GROUP_METRICS + "\n" + KINDS)
    auto = rulecheck.evaluate(rules, data=path)
    assert auto.data["engine"] == "stream"
    assert_identical(rulecheck.evaluate(rules, data=loaded), auto)
    # A rule that needs rows (attribution, roc_auc ...): read into memory, never sampled.
    rows = rulecheck.evaluate(
        policy(ROW_RULES, "{label: y, features: [x1, x2]}"), data=path, model=model
    )
    assert "engine" not in rows.data
    # So are loss intervals (they resample rows).
    interval = policy(
        "  - {id: loss, kind: loss_disparity, loss: log_loss, by: g, max_ratio: 5, confidence: 0.9}\n",
        "{label: y, score: s}",
    )
    assert "engine" not in rulecheck.evaluate(interval, data=path).data
