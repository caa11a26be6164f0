"""Orchestration: a Policy and its inputs in, a Report out.

Inputs are resolved once (policy ``target`` merged with arguments), the data and model are
loaded once, and every rule is measured against one shared :class:`DataContext`, so predictions
and scores are computed exactly once per run. A rule that cannot be computed gets an ERROR verdict
with the reason; the other rules still run.
"""

from __future__ import annotations

import functools
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck._intervals import IntervalSettings, decision_p_value, holm
from rulecheck._measures import Condition, same_value
from rulecheck.engines._torch import is_torch_module
from rulecheck.engines.aggregate import (
    DEFAULT_SAMPLE_ROWS,
    AggregateContext,
    LossKey,
    Plan,
    Setup,
    build_contexts,
    collect,
)
from rulecheck.engines.context import DataContext, TargetSpec
from rulecheck.engines.data import FRAME_FINGERPRINT, fingerprint_frame, read_data, sha256_file
from rulecheck.engines.losses import LossRegistry
from rulecheck.engines.model import (
    PREPROCESS_NOT_TORCH,
    ModelAdapter,
    ModelOutput,
    adapt,
    is_mlflow_uri,
    load_model,
)
from rulecheck.engines.slices import apply_dtypes, describe_where, where_mask
from rulecheck.errors import InputError
from rulecheck.policy import CsvOptions, Policy, Target, WaiverSpec, load_policy
from rulecheck.rules._base import (
    Judged,
    Measurement,
    conclude,
    error_verdict,
    prepare,
    skipped_verdict,
)
from rulecheck.rules._where import where_conditions
from rulecheck.verdict import Example, Report, Scalar, Status, Verdict, Waiver

__all__ = ["ENGINES", "Engine", "Replayed", "evaluate", "replay"]

Engine = Literal["auto", "memory", "stream", "dask"]
ENGINES: tuple[Engine, ...] = ("auto", "memory", "stream", "dask")
# What rules are measured against: the rows in memory, or the cells of one pass.
Context = DataContext | AggregateContext

_VERSIONED = (
    "rulecheck",
    "numpy",
    "pandas",
    "scikit-learn",
    "pydantic",
    "skops",
    "shap",
    "lightgbm",
    "xgboost",
    "xgboost-cpu",
)


def evaluate(
    policy: Policy | str | Path,
    data: pd.DataFrame | str | Path | None = None,
    *,
    model: Any = None,
    predictions: npt.ArrayLike | None = None,
    scores: npt.ArrayLike | None = None,
    label: str | None = None,
    prediction: str | None = None,
    score: str | None = None,
    features: list[str] | None = None,
    positive_label: Scalar | None = None,
    threshold: float | None = None,
    sample_weight: str | npt.ArrayLike | None = None,
    baseline: Any = None,
    baseline_predictions: npt.ArrayLike | None = None,
    baseline_scores: npt.ArrayLike | None = None,
    baseline_prediction: str | None = None,
    baseline_score: str | None = None,
    baseline_for_all: bool | None = None,
    trust_model: bool = False,
    loss_registry: LossRegistry | None = None,
    strict: bool = False,
    csv: CsvOptions | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    today: date | None = None,
    engine: Engine = "auto",
    sample_rows: int | None = None,
    batch_rows: int | None = None,
    scheduler: str | None = None,
    preprocess: Callable[[pd.DataFrame], Any] | None = None,
) -> Report:
    """Evaluate every rule of ``policy`` and return the :class:`Report`.

    Parameters
    ----------
    policy : Policy, or a path / YAML text for :func:`load_policy`.
    data : DataFrame or path to CSV/Parquet; default: the policy's ``target.data``.
    model : a fitted model object, a model file path or an MLflow model URI (``models:/name/1``,
        ``models:/name@alias``, ``runs:/RUN_ID/model``); default: ``target.model``.
    predictions, scores : arrays of decisions / positive-class scores, one per row (instead of
        a model or prediction column).
    label, prediction, score, features, positive_label, threshold : override ``target``.
    sample_weight : a column name (overrides ``target.sample_weight``) or an array of weights,
        one per data row (before ``target.where`` selects rows).
    baseline, baseline_predictions, baseline_scores, baseline_prediction, baseline_score : the
        baseline to compare with (a model object or file, arrays, or columns); default:
        ``target.baseline`` / ``target.baseline_prediction`` / ``target.baseline_score``.
    baseline_for_all : measure the baseline for every rule, not only for rules with change
        bounds, so that every verdict shows both models side by side; default:
        ``target.baseline_for_all`` (false).
    trust_model : allow pickle/joblib files, untrusted skops types, and MLflow models saved with
        pickle/cloudpickle or with only the python_function flavour.
    loss_registry : where loss names are looked up (default: the process-wide registry that
        :func:`rulecheck.register_loss` adds to).
    strict : judge under the strict gate (failed warning-severity rules fail it too); recorded
        as :attr:`Report.strict`, so ``report.passed`` and ``report.exit_code()`` use it.
    csv : how to read a CSV data file (delimiter, decimal, encoding); overrides ``target.csv``
        field by field.
    progress : called as ``progress(step, done, total)`` before each long step (reading the
        data, loading the models, each rule: "rule fpr-gap-race"), with the number of rules
        done and the number of rules; the CLI draws a progress bar with it.
    today : the date the policy's waivers (``exceptions``) are judged against, recorded as
        :attr:`Report.today`; default: ``datetime.date.today()``. Fix it for reproducible runs.
    engine : ``"memory"`` reads the data into one DataFrame; ``"stream"`` reads Parquet (a file,
        a directory or a glob) in batches of ``batch_rows`` and keeps per-group counts and sums
        (docs/scale.md); ``"dask"`` computes them on a Dask cluster from a
        ``dask.dataframe.DataFrame``. ``"auto"`` (default): ``"dask"`` for a Dask DataFrame,
        ``"stream"`` for a directory or a glob, and for one Parquet file when every rule is
        answered exactly from per-group counts and sums (no rule needs the rows themselves),
        else ``"memory"``.
    sample_rows : with ``"stream"`` and ``"dask"``, the size of the seeded sample that rules
        needing rows (roc_auc, attributions, proxies, property rules) use (default 100,000;
        1,000 when no rule needs rows).
    batch_rows : rows per batch with ``"stream"`` (default 262,144).
    scheduler : with ``"dask"``, the address of a Dask scheduler (``tcp://host:8786``); default:
        the current client or Dask's default scheduler.
    preprocess : with a ``torch.nn.Module`` as ``model`` (and ``baseline``, when it is one too),
        ``preprocess(features_frame) -> array or tensor`` builds the module's input from the
        feature columns; default: the features as float32, in order. Python API only (never in
        YAML); see docs/models.md for modules, plain callables and their explainers.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"sex": ["f", "m"] * 50, "y": [0, 1] * 50, "p": [1, 1, 0, 1] * 25})
    >>> report = evaluate('''
    ... version: 1
    ... name: demo
    ... rules:
    ...   - {id: dp-sex, kind: demographic_parity, by: sex, max_difference: 0.2}
    ... ''', data=frame, label="y", prediction="p")
    >>> report.verdicts[0].status.value, report.verdicts[0].value
    ('fail', 0.5)
    """
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    today = today or date.today()
    target = policy.target or Target()
    base = policy.base_dir
    spec = TargetSpec(
        label=_pick(label, target.label),
        prediction=_pick(prediction, target.prediction),
        score=_pick(score, target.score),
        features=tuple(features) if features is not None else _tuple(target.features),
        positive_label=positive_label if positive_label is not None else target.positive_label,
        labels=_tuple(target.labels),
        threshold=_pick(threshold, target.threshold),
        task=target.task,
        sample_weight=sample_weight if isinstance(sample_weight, str) else target.sample_weight,
    )
    weights = None if sample_weight is None or isinstance(sample_weight, str) else sample_weight
    # Explicit predictions or scores replace the policy's model.
    explicit = any(v is not None for v in (prediction, predictions, score, scores))
    baseline_explicit = any(
        v is not None
        for v in (baseline_prediction, baseline_predictions, baseline_score, baseline_scores)
    )
    data_info: dict[str, Scalar] = {}
    model_info: dict[str, Scalar] = {}
    baseline_info: dict[str, Scalar] = {}
    tell = progress or (lambda step, done, total: None)
    total = len(policy.rules)
    baseline_spec = replace(
        spec,
        prediction=_pick(baseline_prediction, target.baseline_prediction),
        score=_pick(baseline_score, target.baseline_score),
    )
    arrays = (predictions, scores, weights, baseline_predictions, baseline_scores)
    context: Context
    baseline_context: Context | None
    try:
        if preprocess is not None:  # a PyTorch module's input: adapt it once, for every engine
            model = _resolve_model(
                model, None, base, trust_model, model_info, target.model_output, preprocess
            )
            if is_torch_module(baseline):
                baseline = _resolve_model(
                    baseline,
                    None,
                    base,
                    trust_model,
                    baseline_info,
                    target.model_output,
                    preprocess,
                )
        chosen = _engine(engine, data, target.data, base)
        if chosen == "auto-parquet":
            # One Parquet file: streamed when that gives the in-memory engine's very results
            # (every rule answered from the cells, docs/scale.md), so that a large file needs
            # no more memory than a batch; else read into memory.
            exact = not _needs_rows(policy, spec) and all(a is None for a in arrays)
            chosen = "stream" if exact else "memory"
        if chosen != "memory":
            if any(a is not None for a in arrays):
                raise InputError(
                    f"the {chosen} engine reads predictions, scores and weights from columns: "
                    "arrays (predictions=, scores=, sample_weight=) need engine='memory'",
                    subject="engine",
                )
            tell("loading models", 0, total)
            adapter, baseline_adapter = _models(
                policy,
                model,
                baseline,
                explicit,
                baseline_explicit,
                trust_model,
                model_info,
                baseline_info,
            )
            tell("reading data", 0, total)
            context, baseline_context = _aggregate(
                policy,
                data,
                chosen,
                Setup(
                    plan=_plan(policy, _sample_size(policy, spec, sample_rows)),
                    spec=spec,
                    model=adapter,
                    baseline_spec=baseline_spec,
                    baseline_model=baseline_adapter,
                    losses=loss_registry,
                    dtypes=dict(target.dtypes or {}),
                    where=where_conditions(target.where),
                ),
                data_info,
                batch_rows,
                scheduler,
            )
        else:
            context, baseline_context, adapter, baseline_adapter = _in_memory(
                policy,
                data,
                arrays,
                spec,
                baseline_spec,
                model,
                baseline,
                explicit,
                baseline_explicit,
                trust_model,
                loss_registry,
                csv,
                data_info,
                model_info,
                baseline_info,
                tell,
            )
    except InputError as exc:
        return _report(
            policy,
            tuple(_all_errors(policy, str(exc))),
            data_info,
            model_info,
            (str(exc),),
            strict,
            today,
        )
    for_all = baseline_for_all if baseline_for_all is not None else target.baseline_for_all
    outcomes: list[Verdict | _Measured] = []
    for done, rule in enumerate(policy.rules):
        tell(f"rule {rule.id}", done, total)
        outcomes.append(
            _timed(
                rule,
                context,
                baseline_context,
                for_all,
                policy.time_budget_s,
                rule.interval_settings(policy.uncertainty),
            )
        )
    tell("done", total, total)
    holm_alpha = None
    if policy.uncertainty is not None and policy.uncertainty.correction == "holm":
        holm_alpha = 1.0 - policy.uncertainty.confidence
    verdicts = _conclude_all(outcomes, holm_alpha)

    def rejudge(rule: Any) -> Verdict:
        outcome = _timed(
            rule,
            context,
            baseline_context,
            for_all,
            policy.time_budget_s,
            rule.interval_settings(policy.uncertainty),
        )
        return outcome if isinstance(outcome, Verdict) else outcome.conclude()

    verdicts = _apply_waivers(policy, verdicts, today, rejudge)
    if adapter is not None:
        model_info["calls"] = context.model_calls
        if adapter.notes:  # e.g. a link applied to margins, unseen categories
            model_info["notes"] = " ".join(adapter.notes)
    if baseline_context is not None:
        if baseline_adapter is not None:
            baseline_info["calls"] = baseline_context.model_calls
        model_info.update({f"baseline_{k}": v for k, v in baseline_info.items()})
        for key, value in (
            ("baseline_prediction", baseline_spec.prediction),
            ("baseline_score", baseline_spec.score),
        ):
            if value is not None:
                model_info[key] = value
    return _report(policy, verdicts, data_info, model_info, (), strict, today)


def _in_memory(
    policy: Policy,
    data: Any,
    arrays: tuple[npt.ArrayLike | None, ...],
    spec: TargetSpec,
    baseline_spec: TargetSpec,
    model: Any,
    baseline: Any,
    explicit: bool,
    baseline_explicit: bool,
    trust_model: bool,
    loss_registry: LossRegistry | None,
    csv: CsvOptions | None,
    data_info: dict[str, Scalar],
    model_info: dict[str, Scalar],
    baseline_info: dict[str, Scalar],
    tell: Callable[[str, int, int], None],
) -> tuple[DataContext, DataContext | None, ModelAdapter | None, ModelAdapter | None]:
    """The in-memory engine's contexts: the data read into one frame, the models loaded."""
    target = policy.target or Target()
    base = policy.base_dir
    total = len(policy.rules)
    tell("reading data", 0, total)
    # A Parquet file is read with only the columns the audit needs, when they are known before
    # the models load: no model, or the features given.
    pending = (
        model,
        None if explicit else target.model,
        baseline,
        None if baseline_explicit else target.baseline,
    )
    known = spec.features is not None or all(m is None for m in pending)
    setup = Setup(plan=Plan(), spec=spec, baseline_spec=baseline_spec)
    frame = _resolve_data(
        data,
        target.data,
        base,
        data_info,
        _csv(csv, target.csv),
        (lambda available: _needed_columns(policy, setup, available)) if known else None,
    )
    frame, kept = _select_rows(frame, target, data_info)
    if kept is not None:
        arrays = tuple(None if a is None else np.asarray(a)[kept] for a in arrays)
    predictions, scores, weights, baseline_predictions, baseline_scores = arrays
    tell("loading models", 0, total)
    adapter, baseline_adapter = _models(
        policy,
        model,
        baseline,
        explicit,
        baseline_explicit,
        trust_model,
        model_info,
        baseline_info,
    )
    context = DataContext(
        frame,
        spec,
        model=adapter,
        predictions=predictions,
        scores=scores,
        sample_weight=weights,
        losses=loss_registry,
        attribution=policy.attribution,
        feature_groups=policy.feature_groups,
    )
    has_baseline = (
        baseline_adapter is not None
        or baseline_predictions is not None
        or baseline_scores is not None
        or baseline_spec.prediction is not None
        or baseline_spec.score is not None
    )
    baseline_context = (
        DataContext(
            frame,
            baseline_spec,
            model=baseline_adapter,
            predictions=baseline_predictions,
            scores=baseline_scores,
            sample_weight=weights,
            losses=loss_registry,
            attribution=policy.attribution,
            feature_groups=policy.feature_groups,
        )
        if has_baseline
        else None
    )
    if baseline_context is not None:
        context.pair_with(baseline_context)  # baseline changes resample the same rows
    return context, baseline_context, adapter, baseline_adapter


def _models(
    policy: Policy,
    model: Any,
    baseline: Any,
    explicit: bool,
    baseline_explicit: bool,
    trust_model: bool,
    model_info: dict[str, Scalar],
    baseline_info: dict[str, Scalar],
) -> tuple[ModelAdapter | None, ModelAdapter | None]:
    """The candidate's and the baseline's model adapters: the given objects or files, else the
    policy's (unless explicit predictions or scores replace them)."""
    target = policy.target or Target()
    adapter = _resolve_model(
        model,
        None if explicit else target.model,
        policy.base_dir,
        trust_model,
        model_info,
        target.model_output,
    )
    baseline_adapter = _resolve_model(
        baseline,
        None if baseline_explicit else target.baseline,
        policy.base_dir,
        trust_model,
        baseline_info,
        target.model_output,
    )
    return adapter, baseline_adapter


def _is_dask(data: object) -> bool:
    """A dask.dataframe DataFrame, recognised without importing dask."""
    return type(data).__module__.split(".")[0] in ("dask", "dask_expr")


def _engine(engine: Engine, data: Any, default: str | None, base: Path) -> str:
    """The engine that runs: ``engine``, or for ``auto`` the data's natural one."""
    from rulecheck.engines.batches import is_dataset

    if engine not in ENGINES:
        raise InputError(
            f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}", subject="engine"
        )
    dask_data = _is_dask(data)
    if engine == "auto":
        if dask_data:
            return "dask"
        where = data if isinstance(data, str | Path) else None
        if where is None and data is None and default is not None:
            where = base / default
        if where is None:
            return "memory"
        if is_dataset(where):
            return "stream"
        return "auto-parquet" if str(where).lower().endswith((".parquet", ".pq")) else "memory"
    if engine == "dask" and not dask_data and not isinstance(data, str | Path | None):
        raise InputError(
            "engine 'dask' needs a dask.dataframe.DataFrame or a Parquet path",
            subject="engine",
        )
    if engine != "dask" and dask_data:
        raise InputError(
            f"a Dask DataFrame runs on engine 'dask', not {engine!r}", subject="engine"
        )
    if engine == "stream" and isinstance(data, pd.DataFrame):
        raise InputError(
            "engine 'stream' reads Parquet files; this data is already a DataFrame in memory "
            "(use engine 'memory')",
            subject="engine",
        )
    return engine


# Rule kinds that read rows one by one (explanations, associations, model perturbations): a
# streamed audit answers them from its sample.
_ROW_KINDS = frozenset(
    {"attribution", "loss_attribution", "proxy", "counterfactual", "monotonic", "invariance"}
)


def _needs_rows(policy: Policy, spec: TargetSpec) -> bool:
    """Whether some rule needs the rows themselves, not only per-group counts and sums: a
    row-level kind or metric, or an interval that resamples rows (of a loss, or weighted)."""
    from rulecheck.engines.fairness import COUNT_METRICS

    for rule in policy.rules:
        if rule.skip is not None:
            continue
        if rule.kind in _ROW_KINDS:
            return True
        metric = getattr(rule, "metric", None)
        metrics = getattr(rule, "metrics", None) or ([metric] if isinstance(metric, str) else [])
        if any(m not in COUNT_METRICS for m in metrics):
            return True
        if rule.interval_settings(policy.uncertainty) is not None and (
            rule.kind == "loss_disparity" or spec.sample_weight is not None
        ):
            return True
    return False


# The sample a streamed or Dask audit keeps when no rule reads rows: enough for the checks made
# on it (the task, the features), small enough that partitions send back almost nothing.
_IDLE_SAMPLE_ROWS = 1_000


def _sample_size(policy: Policy, spec: TargetSpec, asked: int | None) -> int | None:
    """``sample_rows`` as asked; by default small when no rule needs rows."""
    if asked is None and not _needs_rows(policy, spec):
        return _IDLE_SAMPLE_ROWS
    return asked


def _plan(policy: Policy, sample_rows: int | None) -> Plan:
    """What one pass over the data must keep for this policy's rules."""
    keys: dict[str, None] = {}
    slices: dict[tuple[Condition, ...], None] = {}
    losses: dict[LossKey, None] = {}
    for rule in policy.rules:
        by, _ = rule.group_selection()
        keys.update(dict.fromkeys(by))
        keys.update(dict.fromkeys(getattr(rule, "by_columns", ())))
        conditions = rule.conditions()
        if conditions:
            slices[conditions] = None
        name = getattr(rule, "loss", None)
        if isinstance(name, str):
            params = getattr(rule, "params", None) or {}
            losses[(name, tuple(sorted((k, float(v)) for k, v in params.items())))] = None
    return Plan(
        keys=tuple(keys),
        slices=tuple(slices),
        losses=tuple(losses),
        sample_rows=DEFAULT_SAMPLE_ROWS if sample_rows is None else sample_rows,
    )


def _strings(value: Any) -> set[str]:
    """Every string in a policy's data, mapping keys included (the column names it uses)."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {s for k, v in value.items() for s in (*_strings(k), *_strings(v))}
    if isinstance(value, list | tuple | set | frozenset):
        return {s for v in value for s in _strings(v)}
    return set()


# Rule kinds judged on labels, decisions, scores and group columns alone: without a model they
# read no feature columns.
_FEATURELESS_KINDS = frozenset(
    {
        "group_metric",
        "demographic_parity",
        "disparate_impact",
        "equal_opportunity",
        "equalized_odds",
        "performance",
        "loss_disparity",
    }
)


def _uses_features(policy: Policy) -> bool:
    """True when a rule reads the model's input features (attributions, proxies, properties)."""
    return any(str(getattr(rule, "kind", "")) not in _FEATURELESS_KINDS for rule in policy.rules)


def _needed_columns(policy: Policy, setup: Setup, available: list[str]) -> list[str]:
    """The columns an audit reads: the target's, the model's inputs, and every column the
    policy names (group, slice, protected and proxy columns), in the data's order."""
    spec, baseline = setup.spec, setup.baseline_spec
    wanted = _strings(policy.model_dump(exclude={"description", "name"}))
    for s in (spec, baseline):
        if s is not None:
            wanted |= {c for c in (s.label, s.prediction, s.score, s.sample_weight) if c}
    for s, model in ((spec, setup.model), (baseline, setup.baseline_model)):
        if s is None:
            continue
        if s.features is not None:
            wanted |= set(s.features)
        elif model is not None and model.input_columns(available) is not None:
            wanted |= set(model.input_columns(available) or ())
        elif model is not None or (s is spec and _uses_features(policy)):
            # The default features of a model without named inputs (or of a proxy rule without
            # a model): every other column.
            wanted |= set(available)
    named = {c for s in (spec, baseline) if s is not None for c in _target_columns(s)}
    if not named <= set(available):
        # A target column the data lacks: read them all, so that the error lists the data's
        # columns and suggests the near miss, as when every column is read.
        return list(available)
    return [c for c in available if c in wanted]


def _target_columns(spec: TargetSpec) -> set[str]:
    named = (spec.label, spec.prediction, spec.score, spec.sample_weight)
    return {c for c in named if isinstance(c, str)}


def _aggregate(
    policy: Policy,
    data: Any,
    engine: str,
    setup: Setup,
    info: dict[str, Scalar],
    batch_rows: int | None,
    scheduler: str | None,
) -> tuple[AggregateContext, AggregateContext | None]:
    """Contexts of a streamed (Parquet batches) or Dask pass over the data."""
    target = policy.target or Target()
    if engine == "dask" and _is_dask(data):
        from rulecheck.engines.dask_engine import collect_dask

        available = [str(c) for c in data.columns]
        columns = _needed_columns(policy, setup, available)
        info.update({"source": "dask.dataframe", "partitions": int(data.npartitions)})
        cells, setup = collect_dask(data[columns], setup, scheduler)
    else:
        from rulecheck.engines.batches import DEFAULT_BATCH_ROWS, ParquetSource

        where = data if data is not None else target.data
        if where is None:
            raise InputError(
                "no data: give target.data in the policy, --data PATH, or data=", subject="data"
            )
        path = Path(where) if data is not None else policy.base_dir / str(where)
        source = ParquetSource.open(path)
        available = source.columns()
        columns = _needed_columns(policy, setup, available)
        info.update({"path": str(path), "sha256": source.sha256(), "files": len(source.paths)})
        if engine == "dask":
            from rulecheck.engines.dask_engine import collect_dask_parquet

            cells, setup = collect_dask_parquet(source, columns, setup, scheduler)
        else:
            batches = source.batches(columns, batch_rows or DEFAULT_BATCH_ROWS)
            cells, setup = collect(batches, setup)
    info.update(
        {
            "rows": cells.rows,
            "columns": len(available),
            "engine": engine,
            "read_columns": len(columns),
            "cells": len(cells.frame),
            "sample_rows": len(cells.sample),
        }
    )
    if setup.where:
        info.update({"where": describe_where(setup.where), "selected_rows": cells.selected})
    return build_contexts(
        cells, setup, attribution=policy.attribution, feature_groups=policy.feature_groups
    )


_WAIVABLE = (Status.FAIL, Status.WARN, Status.INCONCLUSIVE)


def _apply_waivers(
    policy: Policy,
    verdicts: tuple[Verdict, ...],
    today: date,
    rejudge: Callable[[Any], Verdict],
) -> tuple[Verdict, ...]:
    """The verdicts with the policy's waivers (``exceptions``) applied (docs/policy.md,
    "Waivers"): a FAIL, WARN or INCONCLUSIVE rule covered by a live waiver (``expires`` on or
    after ``today``) becomes WAIVED; an expired waiver makes it an ERROR; a passing rule gets a
    note. A group waiver covers the rule when the rule, judged again with that group left out
    of the comparison (``rejudge`` of a copy of the rule), passes."""
    if not policy.exceptions:
        return verdicts
    specs = {spec.rule: spec for spec in policy.exceptions}
    rules = {rule.id: rule for rule in policy.rules}
    return tuple(
        _waived(v, specs[v.rule_id], rules[v.rule_id], today, rejudge) if v.rule_id in specs else v
        for v in verdicts
    )


def _waived(
    verdict: Verdict,
    spec: WaiverSpec,
    rule: Any,
    today: date,
    rejudge: Callable[[Any], Verdict],
) -> Verdict:
    if verdict.status not in (*_WAIVABLE, Status.PASS):
        return verdict  # ERROR and SKIPPED are never waived
    waiver = spec.waiver(tuple(getattr(rule, "by_columns", ())))
    label = waiver.group_label()
    of = f"{verdict.rule_id}" + (f" ({label})" if label else "")
    if waiver.group is not None and verdict.groups and not _has_group(verdict, waiver):
        present = "; ".join(dict.fromkeys(g.label() for g in verdict.groups))
        return replace(
            verdict,
            status=Status.ERROR,
            message=f"the waiver of {verdict.rule_id} names group {label}, which does not occur "
            f"among the groups the rule compares ({present}): fix the waiver's group",
        )
    who = f"owner {waiver.owner}, approved by {waiver.approved_by}"
    expired = spec.expiry < today
    if verdict.status is Status.PASS:
        note = (
            f"The waiver for {of} expired on {waiver.expires} ({who}); it is no longer needed: "
            "remove it from exceptions."
            if expired
            else f"The waiver for {of} until {waiver.expires} is not used: the rule passes."
        )
        return replace(verdict, notes=(*verdict.notes, note))
    if expired:
        return replace(
            verdict,
            status=Status.ERROR,
            message=f"waiver for {of} expired on {waiver.expires} ({who}): renew it or fix the "
            f"model. Without it the rule is {verdict.status.value}: {verdict.message}",
        )
    if waiver.group is None:
        return _with_waiver(verdict, waiver, ())
    copy = rule.model_copy()
    copy._left_out = (spec.group,)
    without = rejudge(copy)
    if without.status is Status.PASS:
        note = f"Judged again without {label}, the rule passes: {without.message}"
        return _with_waiver(verdict, waiver, (note,))
    note = (
        f"The waiver for {of} until {waiver.expires} does not cover this verdict: judged again "
        f"without {label}, the rule is {without.status.value}: {without.message}"
    )
    return replace(verdict, notes=(*verdict.notes, note))


def _with_waiver(verdict: Verdict, waiver: Waiver, notes: tuple[str, ...]) -> Verdict:
    return replace(
        verdict,
        status=Status.WAIVED,
        waiver=waiver,
        notes=(*verdict.notes, f"Would be {verdict.status.value}; {waiver.describe()}.", *notes),
    )


def _has_group(verdict: Verdict, waiver: Waiver) -> bool:
    wanted = dict(waiver.group or ())
    return any(
        dict(g.group).keys() == wanted.keys()
        and all(same_value(value, wanted[column]) for column, value in g.group)
        for g in verdict.groups
    )


@dataclass(frozen=True)
class Replayed:
    """A property rule's counterexample re-run on the current model: ``example`` as saved,
    ``now`` the same row's outcome today (None when the property no longer breaks)."""

    rule_id: str
    example: Example
    now: Example | None

    @property
    def still_breaks(self) -> bool:
        return self.now is not None


def replay(
    policy: Policy | str | Path,
    saved: Report,
    rule_id: str,
    *,
    data: pd.DataFrame | str | Path | None = None,
    model: Any = None,
    trust_model: bool = False,
    csv: CsvOptions | None = None,
) -> Replayed:
    """Re-run the counterexample that ``saved`` recorded for the property rule ``rule_id``
    (the search's, else the worst audited row) with the policy's model: does it still break?

    The data is read for its schema (the row is rebuilt with the audit's column types); the
    model is called on the row and its changed copy only.
    """
    from rulecheck.engines.properties import replay as replay_row

    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    from rulecheck.rules import PROPERTY_RULES
    from rulecheck.rules._properties import example as property_example

    rules = {r.id: r for r in policy.rules if isinstance(r, PROPERTY_RULES)}
    if rule_id not in rules:
        ids = ", ".join(rules) or "none"
        raise InputError(f"no property rule {rule_id!r} in the policy (property rules: {ids})")
    try:
        verdict = saved.verdict(rule_id)
    except KeyError:
        raise InputError(f"the saved report has no verdict of rule {rule_id!r}") from None
    if not verdict.examples:
        raise InputError(f"the saved report has no counterexample of rule {rule_id!r} to replay")
    example = next((e for e in verdict.examples if e.source == "search"), verdict.examples[0])
    target = policy.target or Target()
    spec = TargetSpec(
        label=target.label,
        features=_tuple(target.features),
        positive_label=target.positive_label,
        labels=_tuple(target.labels),
        threshold=target.threshold,
        task=target.task,
    )
    frame = _resolve_data(data, target.data, policy.base_dir, {}, _csv(csv, target.csv))
    frame, _ = _select_rows(frame, target, {})
    adapter = _resolve_model(
        model, target.model, policy.base_dir, trust_model, {}, target.model_output
    )
    context = DataContext(frame, spec, model=adapter)
    rule = rules[rule_id]
    found = replay_row(
        rule.spec(), dict(example.row), context.targets.features(), context.targets.predict_frame
    )
    now = None
    if found is not None:  # the saved example's provenance, today's outputs
        now = replace(
            property_example(found, example.source, example.seed), row_index=example.row_index
        )
    return Replayed(rule_id, example, now)


T = TypeVar("T")


def _pick(explicit: T | None, default: T | None) -> T | None:
    return explicit if explicit is not None else default


def _tuple(values: list[T] | None) -> tuple[T, ...] | None:
    return tuple(values) if values else None


NEEDS_BASELINE = (
    "needs a baseline for {bounds}: give target.baseline (a model file), "
    "target.baseline_prediction or target.baseline_score (CLI: --baseline, "
    "--baseline-prediction, --baseline-score)"
)


@dataclass
class _Measured:
    """A rule measured and its bounds prepared, waiting for its decision (Holm's correction
    ranks the bounds of every rule first); ``finish`` adds what the rule's view says."""

    rule: Any
    measurement: Measurement
    judged: Judged
    finish: Callable[[Verdict], Verdict]
    seconds: float

    def conclude(
        self, levels: list[float] | None = None, decided: list[bool] | None = None
    ) -> Verdict:
        start = time.perf_counter()
        verdict = self.finish(conclude(self.rule, self.measurement, self.judged, levels, decided))
        took = self.seconds + time.perf_counter() - start
        return replace(verdict, duration_s=round(took, 4))


def _conclude_all(
    outcomes: list[Verdict | _Measured], holm_alpha: float | None
) -> tuple[Verdict, ...]:
    """Every rule's verdict; with Holm's correction (``holm_alpha``: 1 - the policy's
    confidence, the family-wise error rate) the bounds judged with intervals are ranked across
    all rules by the evidence against their limit first (see _intervals.holm)."""
    if holm_alpha is None:
        return tuple(o if isinstance(o, Verdict) else o.conclude() for o in outcomes)
    family: list[tuple[int, int]] = []  # (outcome index, check index) of bounds with intervals
    p_values: list[float] = []
    for i, outcome in enumerate(outcomes):
        if isinstance(outcome, Verdict) or outcome.judged.settings is None:
            continue
        for j, (check, estimate) in enumerate(
            zip(outcome.judged.checks, outcome.judged.estimates, strict=True)
        ):
            if estimate is not None:
                family.append((i, j))
                p_values.append(decision_p_value(estimate, check.op, check.limit))
    decided, levels = holm(p_values, holm_alpha)
    by_rule: dict[int, tuple[list[float], list[bool]]] = {}
    for (i, j), ok, level in zip(family, decided, levels, strict=True):
        outcome = outcomes[i]
        assert isinstance(outcome, _Measured)
        settings = outcome.judged.settings
        assert settings is not None
        count = len(outcome.judged.checks)
        rule_levels, rule_decided = by_rule.setdefault(
            i, ([settings.confidence] * count, [True] * count)
        )
        rule_levels[j], rule_decided[j] = level, ok
    verdicts: list[Verdict] = []
    for i, outcome in enumerate(outcomes):
        if isinstance(outcome, Verdict):
            verdicts.append(outcome)
        elif i in by_rule:
            rule_levels, rule_decided = by_rule[i]
            verdict = outcome.conclude(rule_levels, rule_decided)
            note = f"Holm's correction over {len(family)} bounds judged with intervals."
            verdicts.append(replace(verdict, notes=(*verdict.notes, note)))
        else:
            verdicts.append(outcome.conclude())
    return tuple(verdicts)


def _timed(
    rule: Any,
    context: Context,
    baseline: Context | None,
    baseline_for_all: bool,
    budget: float | None,
    settings: IntervalSettings | None = None,
) -> Verdict | _Measured:
    """The rule's verdict (or its prepared bounds) with its wall time: measure and judge,
    baseline included. Shared work (predictions, SHAP values, bootstrap draws) is cached, so
    the first rule that needs it carries its cost."""
    start = time.perf_counter()
    outcome = _rule_verdict(rule, context, baseline, baseline_for_all, budget, settings)
    took = time.perf_counter() - start
    if isinstance(outcome, Verdict):
        return replace(outcome, duration_s=round(took, 4))
    outcome.seconds = took
    return outcome


def _rule_verdict(
    rule: Any,
    context: Context,
    baseline: Context | None,
    baseline_for_all: bool,
    budget: float | None,
    settings: IntervalSettings | None,
) -> Verdict | _Measured:
    """The rule's verdict on the rows it selects (``where``, ``missing``), within its budget."""
    if rule.skip is not None:
        return skipped_verdict(rule)
    conditions = rule.conditions()
    by, missing = rule.group_selection()
    try:
        context, notes = context.view(conditions, by, missing)
        if baseline is not None:
            baseline, _ = baseline.view(conditions, by, missing)
    except InputError as exc:
        return error_verdict(rule, str(exc))
    for ctx in (context, baseline):
        if ctx is not None:
            ctx.start_budget(budget)
    rows = context.n_rows

    def finish(verdict: Verdict) -> Verdict:
        if conditions:
            info = (("where", describe_where(conditions)), ("rows", rows))
            verdict = replace(verdict, info=(*verdict.info, *info))
        if settings is not None and verdict.status is not Status.ERROR:
            uses = ("bootstrap_n", settings.replicates), ("bootstrap_seed", settings.seed)
            verdict = replace(verdict, info=(*verdict.info, *uses))
        if notes and verdict.status is not Status.ERROR:
            verdict = replace(
                verdict,
                message=f"{verdict.message} {' '.join(notes)}",
                notes=(*notes, *verdict.notes),
            )
        if sampled is not None and verdict.status is not Status.ERROR:
            verdict = replace(verdict, notes=(*verdict.notes, sampled))
        return verdict

    outcome = _verdict(rule, context, baseline, baseline_for_all, settings)
    # Read now: ``finish`` of a measured rule runs after every rule is measured, when the
    # context's record of what this rule read has been reset by the next rules.
    sampled = context.sample_note()
    if isinstance(outcome, Verdict):
        return finish(outcome)
    measurement, judged, extra = outcome
    if extra:
        judged = replace(judged, notes=(*judged.notes, extra))
    return _Measured(rule, measurement, judged, finish, 0.0)


def _verdict(
    rule: Any,
    context: Context,
    baseline: Context | None,
    baseline_for_all: bool,
    settings: IntervalSettings | None,
) -> Verdict | tuple[Measurement, Judged, str]:
    """An ERROR verdict, or the measurement with its prepared bounds (and a note)."""
    try:
        measurement = rule.measure(context)
    except InputError as exc:
        return error_verdict(rule, str(exc))
    if baseline is None and rule.has_change_bounds():
        bounds = ", ".join(
            b
            for b in ("max_increase", "max_decrease", "max_relative_increase")
            if getattr(rule, b) is not None
        )
        return error_verdict(rule, NEEDS_BASELINE.format(bounds=bounds))
    try:
        # The baseline costs as much as the candidate (predictions, SHAP): measure it only
        # where a rule compares, unless side-by-side figures are asked for everywhere.
        if baseline is None or not (rule.has_change_bounds() or baseline_for_all):
            return measurement, prepare(rule, measurement, None, settings), ""
        try:
            baseline_measurement = rule.measure(baseline)
            return measurement, prepare(rule, measurement, baseline_measurement, settings), ""
        except InputError as exc:
            if rule.has_change_bounds():
                return error_verdict(rule, f"baseline: {exc}")
            # Nothing to compare: judge the candidate alone and say why the baseline is missing.
            judged = prepare(rule, measurement, None, settings)
            return measurement, judged, f"Baseline not shown: {exc}"
    except InputError as exc:  # an interval that cannot be computed from these inputs
        return error_verdict(rule, str(exc))


def _all_errors(policy: Policy, message: str) -> list[Verdict]:
    return [
        skipped_verdict(r) if r.skip is not None else error_verdict(r, f"not evaluated: {message}")
        for r in policy.rules
    ]


def _csv(explicit: CsvOptions | None, policy: CsvOptions | None) -> CsvOptions:
    """The CSV reading options: explicit ones (CLI, ``csv=``) over the policy's, field by field."""
    merged = (policy or CsvOptions()).model_dump(exclude_none=True)
    merged.update((explicit or CsvOptions()).model_dump(exclude_none=True))
    return CsvOptions(**merged)


def _resolve_data(
    data: pd.DataFrame | str | Path | None,
    default: str | None,
    base: Path,
    info: dict[str, Scalar],
    csv: CsvOptions,
    columns: Callable[[list[str]], list[str]] | None = None,
) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        frame = data
        # No file to hash: a digest of the frame itself, named so nobody mistakes it for one.
        info.update(
            {
                "source": "DataFrame",
                "sha256": fingerprint_frame(frame),
                "sha256_of": FRAME_FINGERPRINT,
            }
        )
    else:
        if data is not None:
            path = Path(data)
        elif default is not None:
            path = base / default
        else:
            raise InputError(
                "no data: give target.data in the policy, --data PATH, or data=", subject="data"
            )
        info.update({"path": str(path)})
        pruned = _read_parquet_columns(path, columns) if columns is not None else None
        if pruned is not None:
            frame, available = pruned
            info["sha256"] = sha256_file(path)
            info.update({"rows": len(frame), "columns": available})
            info["read_columns"] = len(frame.columns)
            return frame
        frame = read_data(path, delimiter=csv.delimiter, decimal=csv.decimal, encoding=csv.encoding)
        info["sha256"] = sha256_file(path)
    info.update({"rows": len(frame), "columns": len(frame.columns)})
    return frame


def _read_parquet_columns(
    path: Path, columns: Callable[[list[str]], list[str]]
) -> tuple[pd.DataFrame, int] | None:
    """A Parquet file's needed ``columns`` (chosen from its schema) and its number of columns;
    None when it is not a readable, non-empty Parquet file (read_data then says why) or when
    every column is needed."""
    if path.suffix.lower() not in (".parquet", ".pq") or not path.is_file():
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        available = [str(name) for name in pq.read_schema(path).names]
    except (OSError, ValueError, pa.ArrowException):
        return None
    needed = columns(available)
    if len(needed) == len(available):
        return None
    frame = pd.read_parquet(path, columns=needed)
    return (frame, len(available)) if len(frame) else None


def _select_rows(
    frame: pd.DataFrame, target: Target, info: dict[str, Scalar]
) -> tuple[pd.DataFrame, npt.NDArray[np.intp] | None]:
    """Apply ``target.dtypes`` and ``target.where``: the audited frame and the kept positions."""
    if target.dtypes:
        frame = apply_dtypes(frame, target.dtypes)
    conditions = where_conditions(target.where)
    if not conditions:
        return frame, None
    kept = np.flatnonzero(where_mask(frame, conditions))
    info.update({"where": describe_where(conditions), "selected_rows": len(kept)})
    return frame.iloc[kept].reset_index(drop=True), kept


def _resolve_model(
    model: Any,
    default: str | None,
    base: Path,
    trust: bool,
    info: dict[str, Scalar],
    output: ModelOutput = "auto",
    preprocess: Callable[[pd.DataFrame], Any] | None = None,
) -> ModelAdapter | None:
    if preprocess is not None and (model is None or isinstance(model, str | Path)):
        shown = "no model object" if model is None else f"model file {str(model)!r}"
        raise InputError(PREPROCESS_NOT_TORCH.format(model=shown), subject="preprocess")
    if model is None and default is None:
        return None
    if model is None or isinstance(model, str | Path):
        given = model if model is not None else str(default)
        # An MLflow URI (models:/..., runs:/...) is not a path relative to the policy.
        where: str | Path = given if is_mlflow_uri(given) else Path(given)
        if model is None and isinstance(where, Path):
            where = base / where
        loaded = load_model(where, trust=trust, output=output)
        if loaded.details:
            info.update(loaded.details)
        else:
            info["path"] = loaded.path
        info.update({"sha256": loaded.sha256, "format": loaded.format, "type": loaded.adapter.name})
        return loaded.adapter
    adapter = adapt(model, output=output, preprocess=preprocess)
    info.update({"source": "object", "type": adapter.name})
    return adapter


def _kinds(policy: Policy) -> dict[str, dict[str, str]]:
    """Summary and documentation of each rule kind the policy uses, in policy order."""
    import importlib

    from rulecheck.rules import KINDS

    out: dict[str, dict[str, str]] = {}
    for rule in policy.rules:
        kind = str(rule.kind)
        if kind not in out and kind in KINDS:
            cls = KINDS[kind]
            doc = importlib.import_module(cls.__module__).__doc__ or ""
            out[kind] = {"summary": cls.summary, "help": doc.strip()}
    return out


@functools.cache
def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _report(
    policy: Policy,
    verdicts: tuple[Verdict, ...],
    data: dict[str, Scalar],
    model: dict[str, Scalar],
    errors: tuple[str, ...],
    strict: bool = False,
    today: date | None = None,
) -> Report:
    return Report(
        kinds=_kinds(policy),
        policy_name=policy.name,
        policy_file=policy.file,
        policy_sha256=policy.sha256,
        verdicts=verdicts,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        versions=dict(_versions()),
        data=data,
        model=model,
        errors=errors,
        strict=strict,
        today=None if today is None else today.isoformat(),
    )
