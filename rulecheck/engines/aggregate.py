"""Audits of data that is never in memory at once: one pass into cells, then the rules.

Every count-based metric (selection rate, TPR, FPR, accuracy ...) is a formula of per-group
confusion counts, and every loss rule a ratio of per-group sums. Rows that agree on the group
columns, the slice conditions, the label and the decisions are interchangeable for them. So one
pass over the data (Parquet batches read by pyarrow, or Dask partitions on a cluster) reduces
each batch to **cells**: one row per distinct combination of

- the ``by`` columns of every rule (missing values kept: ``missing: group`` and ``drop`` work),
- one boolean per distinct ``where:`` of the rules (the row is in that slice),
- ``__y`` (the binary label), ``__p`` (the candidate's decision), ``__pb`` (the baseline's),

with their row count ``__n``, their total sample weight ``__w`` and, per loss the policy names,
the sum of the per-row loss (and of weight x loss). Cells of all batches are summed by key, so
the memory is bounded by the batch and the number of cells, not by the rows. The batch
computation is :func:`batch_cells`, the same function for every source; batches run it where
the data is (a Dask worker), and only cells travel.

:class:`AggregateContext` answers rules from the cells: per-group counts are sums of ``__n``, so
count-based rules and their count-bootstrap intervals equal the in-memory engine's exactly, and
loss means equal them to float rounding (the sums are added in another order). Whatever needs
the rows themselves (roc_auc and log_loss, regression metrics, attributions, proxies, property
rules, weighted and loss intervals) is answered by a :class:`DataContext` over a **seeded
sample** of the rows (``sample_rows``, default 100,000; every row when there are fewer): each
row draws a priority from a hash of (seed, its position), and the rows with the smallest
priorities are kept, so the sample does not depend on the batch size. A verdict computed on the
sample says so in a note.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck._intervals import Estimator, GroupStatistic
from rulecheck._measures import (
    AttributionTable,
    Condition,
    GroupTable,
    PropertyResult,
    PropertySpec,
    ProxyScore,
)
from rulecheck._settings import AttributionSettings
from rulecheck.engines._cache import Cache
from rulecheck.engines.context import (
    NEEDS_BINARY_LABELS,
    DataContext,
    group_table,
    naming_metric,
    with_sampler,
)
from rulecheck.engines.fairness import COUNT_METRICS
from rulecheck.engines.groupstats import Confusion, Grouping, MissingMode, factorize, ratio
from rulecheck.engines.losses import LossRegistry
from rulecheck.engines.model import ModelAdapter
from rulecheck.engines.slices import apply_dtypes, describe_where, where_mask
from rulecheck.engines.targets import NEEDS_LABEL, POSITIVE_ABSENT, Targets, TargetSpec
from rulecheck.errors import InputError

if TYPE_CHECKING:
    from rulecheck.engines.sampling import TableSampler

__all__ = [
    "DEFAULT_SAMPLE_ROWS",
    "AggregateContext",
    "Cells",
    "LossKey",
    "Partial",
    "Plan",
    "Setup",
    "batch_cells",
    "build_contexts",
    "collect",
    "combine",
    "finish",
    "merge",
    "with_task",
]

T = TypeVar("T")
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
LossKey = tuple[str, tuple[tuple[str, float], ...]]  # a loss name and its sorted params

DEFAULT_SAMPLE_ROWS = 100_000

# Columns of the cells frame besides the group columns.
N, W, Y, P, PB = "__n", "__w", "__y", "__p", "__pb"
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _slice_column(index: int) -> str:
    return f"__where{index}"


def _loss_column(index: int, role: int, weighted: bool) -> str:
    return f"__{'b' if role else ''}{'w' if weighted else ''}loss{index}"


@dataclass(frozen=True)
class Plan:
    """What the pass must keep, read from the policy: the group columns of every rule, every
    rule's slice (``where``), every loss a rule names, and the sample size and seed."""

    keys: tuple[str, ...] = ()
    slices: tuple[tuple[Condition, ...], ...] = ()
    losses: tuple[LossKey, ...] = ()
    sample_rows: int = DEFAULT_SAMPLE_ROWS
    seed: int = 0


@dataclass(frozen=True)
class Setup:
    """Everything a batch needs (pickled once to each Dask worker): the plan, the target specs
    of the candidate and the baseline, their models, the loss registry, and the policy's
    ``target.dtypes`` and ``target.where``."""

    plan: Plan
    spec: TargetSpec
    model: ModelAdapter | None = None
    baseline_spec: TargetSpec | None = None
    baseline_model: ModelAdapter | None = None
    losses: LossRegistry | None = None
    dtypes: Mapping[str, str] = field(default_factory=dict)
    where: tuple[Condition, ...] = ()

    @property
    def has_baseline(self) -> bool:
        b = self.baseline_spec
        return b is not None and (
            self.baseline_model is not None or b.prediction is not None or b.score is not None
        )


@dataclass
class Partial:
    """One batch reduced: its cells, its sample candidates and what went wrong where.

    ``errors`` maps a cells column (``__y``, ``__p``, a loss column ...) to the message of the
    InputError that computing it raised: rules that need it get that message, the others run.
    """

    cells: pd.DataFrame
    sample: pd.DataFrame  # candidate rows with their priority (column __priority)
    rows: int  # rows read
    selected: int  # rows kept by target.where
    errors: dict[str, str] = field(default_factory=dict)
    model_calls: int = 0


@dataclass
class Cells:
    """The merged pass: cells, the seeded sample (sorted by row position), counts and errors."""

    frame: pd.DataFrame
    sample: pd.DataFrame
    rows: int
    selected: int
    errors: dict[str, str]
    model_calls: int = 0

    @property
    def sampled(self) -> bool:
        """True when the sample holds fewer rows than were audited."""
        return len(self.sample) < self.selected


def _priorities(seed: int, positions: IntArray) -> npt.NDArray[np.uint64]:
    """splitmix64 of (seed, row position): a uniform priority per row, the same whatever the
    batch boundaries."""
    with np.errstate(over="ignore"):
        z = positions.astype(np.uint64) + np.uint64(seed & 0xFFFFFFFF) * np.uint64(
            0x9E3779B97F4A7C15
        )
        z = (z + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        return np.asarray(z ^ (z >> np.uint64(31)), dtype=np.uint64)


def _where_note(error: InputError, start: int, rows: int, absent: Collection[str]) -> str:
    """The batch's error, saying which rows it is about; a column of the target that the data
    lacks (``absent``) is absent from every row, so its message stays the in-memory engine's."""
    if error.subject in absent:
        return str(error)
    return f"{error} (in rows {start:,} to {start + rows - 1:,} of the data)"


def _label(targets: Targets, spec: TargetSpec) -> npt.NDArray[np.bool_]:
    """The binary label of a batch, without the whole-data check that the positive label
    occurs (a batch may hold none: :func:`merge` checks the total)."""
    name = spec.label
    if name is None:
        raise InputError(NEEDS_LABEL, subject="needs")
    return targets.binary(targets.column(name, "label column"), "label column", name)


def _weights(targets: Targets, spec: TargetSpec, rows: int) -> FloatArray | None:
    """Sample weights of a batch; a batch whose weights are all 0 is fine (the total is
    checked once merged)."""
    if spec.sample_weight is None:
        return None
    series = targets.column(spec.sample_weight, "sample_weight column")
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=np.float64)
        if rows and np.isfinite(values).all() and (values == 0).all():
            return values
    return targets.weights()


def batch_cells(batch: pd.DataFrame, setup: Setup, start: int) -> Partial:
    """Reduce one batch of rows (at position ``start`` of the data) to cells and sample
    candidates. Runs wherever the batch is: in this process, or on a Dask worker."""
    rows = len(batch)
    plan = setup.plan
    frame = apply_dtypes(batch, setup.dtypes) if setup.dtypes else batch
    # Columns below are joined by position: a batch's own index (a Dask partition's rows 5000 to
    # 9999) would misalign the group columns with the label and decision arrays.
    frame = frame.reset_index(drop=True)
    positions = np.arange(start, start + rows, dtype=np.int64)
    if setup.where:
        keep = where_mask(frame, setup.where, require_any=False)  # a batch may hold none
        frame = frame.iloc[np.flatnonzero(keep)].reset_index(drop=True)
        positions = positions[keep]
    errors: dict[str, str] = {}
    columns: dict[str, Any] = {}
    for key in plan.keys:
        if key in frame.columns:
            columns[key] = frame[key]
        else:
            errors[key] = f"group column {key!r} not found in the data"
    for i, conditions in enumerate(plan.slices):
        try:
            columns[_slice_column(i)] = where_mask(frame, conditions, require_any=False)
        except InputError as exc:
            errors[_slice_column(i)] = str(exc)
    sums: dict[str, FloatArray] = {N: np.ones(len(frame))}
    calls = 0
    models = [(setup.spec, setup.model, 0)]
    if setup.has_baseline and setup.baseline_spec is not None:
        models.append((setup.baseline_spec, setup.baseline_model, 1))
    weights: FloatArray | None = None
    for spec, model, role in models:
        context = DataContext(frame, spec, model=model, losses=setup.losses)
        named = (spec.label, spec.prediction, spec.score, spec.sample_weight)
        absent = {c for c in named if isinstance(c, str) and c not in frame.columns}
        targets = context.targets
        if role == 0 and spec.label is not None:
            # Without a label column there is no __y: rules that need one say so by name
            # (AggregateContext._labels), the others run.
            try:
                columns[Y] = _label(targets, spec)
            except InputError as exc:
                errors[Y] = _where_note(exc, start, rows, absent)
            try:
                weights = _weights(targets, spec, len(frame))
                if weights is not None:
                    sums[W] = weights
            except InputError as exc:
                errors[W] = _where_note(exc, start, rows, absent)
        decision = PB if role else P
        try:
            columns[decision] = targets.y_pred()
        except InputError as exc:
            errors[decision] = _where_note(exc, start, rows, absent)
        for i, (name, params) in enumerate(plan.losses):
            plain, weighted = _loss_column(i, role, False), _loss_column(i, role, True)
            try:
                per_row = context.loss_per_row(name, dict(params))
            except InputError as exc:
                errors[plain] = errors[weighted] = _where_note(exc, start, rows, absent)
                continue
            sums[plain] = per_row
            if weights is not None:
                sums[weighted] = per_row * weights
        calls += context.model_calls
    keys = pd.DataFrame(columns)
    values = pd.DataFrame(sums)
    cells = _sum_cells(pd.concat([keys, values], axis=1), list(keys.columns))
    sample = _candidates(frame, positions, plan)
    return Partial(cells, sample, rows, len(frame), errors, calls)


def _sum_cells(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if not keys:
        return frame.sum().to_frame().T
    grouped = frame.groupby(keys, dropna=False, sort=False, observed=True).sum()
    return grouped.reset_index()


def _candidates(frame: pd.DataFrame, positions: IntArray, plan: Plan) -> pd.DataFrame:
    """The batch's rows that may be in the sample: its ``sample_rows`` smallest priorities."""
    priority = _priorities(plan.seed, positions)
    if len(frame) > plan.sample_rows:
        chosen = np.argpartition(priority, plan.sample_rows - 1)[: plan.sample_rows]
        chosen.sort()
        frame, priority, positions = frame.iloc[chosen], priority[chosen], positions[chosen]
    out = frame.reset_index(drop=True).copy()
    out["__priority"] = priority
    out["__row"] = positions
    return out


def combine(first: Partial, second: Partial, plan: Plan) -> Partial:
    """Two partials as one: cells summed by key, the sample's smallest priorities kept. Any
    order or grouping of combines gives the same result (counts exactly, loss sums to float
    rounding), so batches can be folded one by one or tree-reduced on a cluster."""
    errors = dict(first.errors)
    for column, message in second.errors.items():
        errors.setdefault(column, message)
    # A column that failed in some batch is unusable everywhere.
    frames = [
        f.drop(columns=[c for c in f.columns if c in errors])
        for f in (first.cells, second.cells)
        if len(f)
    ]
    if frames:
        combined = pd.concat(frames, ignore_index=True)
        keys = [
            c
            for c in combined.columns
            if c in plan.keys or c.startswith("__where") or c in (Y, P, PB)
        ]
        cells = _sum_cells(combined, keys)
    else:
        cells = first.cells.iloc[:0]
    sample = pd.concat([first.sample, second.sample], ignore_index=True)
    if len(sample) > plan.sample_rows:
        sample = sample.nsmallest(plan.sample_rows, "__priority")
    return Partial(
        cells,
        sample.reset_index(drop=True),
        first.rows + second.rows,
        first.selected + second.selected,
        errors,
        first.model_calls + second.model_calls,
    )


def merge(partials: Iterable[Partial], setup: Setup) -> Cells:
    """Fold every batch's partial into the audit's cells and sample (folded as they come, so
    that at most two batches' partials are held at once)."""
    total: Partial | None = None
    for part in partials:
        total = part if total is None else combine(total, part, setup.plan)
    return finish(total, setup)


def finish(total: Partial | None, setup: Setup) -> Cells:
    """The audit's cells from the combined partial of every batch, checked as a whole."""
    if total is None or total.rows == 0:
        raise InputError("the data has no rows", subject="data")
    if total.selected == 0:
        raise InputError(
            f"target.where: {describe_where(setup.where)} selects none of the {total.rows:,} rows",
            subject="where",
        )
    errors = dict(total.errors)
    _check_totals(total.cells, errors, setup)
    sample = total.sample.sort_values("__row").reset_index(drop=True)
    return Cells(
        total.cells,
        sample.drop(columns=["__priority", "__row"]),
        total.rows,
        total.selected,
        errors,
        total.model_calls,
    )


def with_task(setup: Setup, first: pd.DataFrame) -> Setup:
    """``setup`` with the task (classification or regression) fixed from the first batch, so
    that every batch reads the label the same way."""
    if setup.spec.task is not None:
        return setup
    task = Targets(first, setup.spec, model=setup.model).task
    baseline = setup.baseline_spec
    return replace(
        setup,
        spec=replace(setup.spec, task=task),
        baseline_spec=None if baseline is None else replace(baseline, task=task),
    )


def collect(batches: Iterable[tuple[int, pd.DataFrame]], setup: Setup) -> tuple[Cells, Setup]:
    """One pass over ``batches`` ((first row position, rows) pairs) in this process."""

    def partials() -> Iterator[Partial]:
        nonlocal setup
        for index, (start, frame) in enumerate(batches):
            if index == 0:
                setup = with_task(setup, frame)
            yield batch_cells(frame, setup, start)

    cells = merge(partials(), setup)
    return cells, setup


def _check_totals(cells: pd.DataFrame, errors: dict[str, str], setup: Setup) -> None:
    """The whole-data checks a batch cannot make: the positive label occurs, weights are not
    all 0."""
    spec = setup.spec
    given = spec.positive_label is not None and spec.labels is None
    if given and Y in cells.columns and not (cells[Y].astype(bool) & (cells[N] > 0)).any():
        errors[Y] = POSITIVE_ABSENT.format(
            positive=spec.positive_label,
            what="label column",
            column=spec.label,
            values="none equal to it",
        )
    if W in cells.columns and not (cells[W] > 0).any():
        errors[W] = f"sample_weight column {spec.sample_weight!r} is 0 on every row"


class AggregateContext:
    """The EvalContext of a pass: count metrics and losses from the cells, everything else
    from the seeded sample (a :class:`DataContext`)."""

    def __init__(
        self,
        cells: Cells,
        plan: Plan,
        sample: DataContext,
        *,
        role: int = 0,
        weighted: bool = False,
    ) -> None:
        self.cells = cells
        self.plan = plan
        self.sample = sample
        self.role = role
        self.weighted = weighted
        self.frame = cells.frame  # the cells of this view
        self.missing: MissingMode = "error"
        self._cache = Cache()
        self._views: dict[object, tuple[AggregateContext, tuple[str, ...]]] = {}
        self._partner: AggregateContext | None = None
        self.used_sample = False  # set when the rule being measured read the sample

    # -- what evaluation asks ------------------------------------------------------------------
    @property
    def n_rows(self) -> int:
        return int(self.frame[N].sum()) if len(self.frame) else 0

    @property
    def model_calls(self) -> int:
        return self.cells.model_calls + self.sample.model_calls

    @property
    def deadline(self) -> float | None:
        return self.sample.deadline

    def start_budget(self, seconds: float | None) -> None:
        self.used_sample = False
        self.sample.start_budget(seconds)

    def pair_with(self, baseline: AggregateContext) -> None:
        self._partner, baseline._partner = baseline, self
        self.sample.pair_with(baseline.sample)

    def sample_note(self) -> str | None:
        """Said on a verdict that read the sample (None when the sample is every row)."""
        if not self.used_sample or not self.cells.sampled:
            return None
        return (
            f"Computed on a seeded sample of {len(self.sample.frame):,} of the "
            f"{self.n_rows:,} rows (sample_rows {self.plan.sample_rows:,}, seed "
            f"{self.plan.seed}); count-based values use every row."
        )

    def view(
        self,
        where: Sequence[Condition] = (),
        by: Sequence[str] = (),
        missing: MissingMode = "error",
    ) -> tuple[AggregateContext, tuple[str, ...]]:
        key = (tuple(where), tuple(by) if missing == "drop" else (), missing)
        if key == ((), (), "error"):
            return self, ()
        if key not in self._views:
            self._views[key] = made = self._make_view(tuple(where), tuple(by), missing)
            # Paired after the view is stored: the partner's view asks for this one back, and
            # must find it (pairing inside _make_view recursed without end).
            if self._partner is not None:
                partner, _ = self._partner.view(where, by, missing)
                made[0]._partner, partner._partner = partner, made[0]
        return self._views[key]

    def _make_view(
        self, where: tuple[Condition, ...], by: tuple[str, ...], missing: MissingMode
    ) -> tuple[AggregateContext, tuple[str, ...]]:
        frame = self.frame
        counts = frame[N].to_numpy()
        total = int(counts.sum())
        keep = np.ones(len(frame), dtype=bool)
        notes: list[str] = []
        if where:
            column = _slice_column(self.plan.slices.index(where))
            if column in self.cells.errors:
                raise InputError(self.cells.errors[column])
            keep &= frame[column].to_numpy(dtype=bool)
            kept = int(counts[keep].sum())
            if kept == 0:
                raise InputError(
                    f"where: {describe_where(where)} selects none of the {total} rows",
                    subject="where",
                )
            notes.append(f"Slice: {describe_where(where)} ({kept:,} of {total:,} rows).")
        if missing == "drop" and by:
            for column in by:
                self._require(column)
            absent = frame[list(by)].isna().any(axis=1).to_numpy() & keep
            if absent.any():
                notes.append(
                    f"Dropped {int(counts[absent].sum()):,} rows with a missing "
                    f"{' or '.join(by)} (missing: drop)."
                )
                keep &= ~absent
            if not keep.any():
                raise InputError(f"no rows left after dropping missing {', '.join(by)}")
        sample, _ = (
            self._sample().view(where, by, missing)
            if len(self.sample.frame)
            else (
                self.sample,
                (),
            )
        )
        child = AggregateContext(
            self.cells, self.plan, sample, role=self.role, weighted=self.weighted
        )
        child.frame = frame.loc[keep].reset_index(drop=True)
        child.missing = missing
        return child, tuple(notes)

    # -- cells ---------------------------------------------------------------------------------
    def _require(self, column: str) -> None:
        if column in self.cells.errors:
            raise InputError(self.cells.errors[column], subject=column)
        if column not in self.frame.columns:
            raise InputError(f"group column {column!r} not found in the data", subject=column)

    def grouping(self, by: Sequence[str]) -> Grouping:
        for column in by:
            self._require(column)
            if self.missing == "error":
                absent = self.frame[column].isna().to_numpy()
                if absent.any():
                    count = int(self.frame[N].to_numpy()[absent].sum())
                    raise InputError(
                        f"group column {column!r} has {count} missing value"
                        f"{'s' if count > 1 else ''}; fill or drop them first, or set missing: "
                        "group (a group of their own) or missing: drop on the rule",
                        subject=column,
                    )
        key = ("grouping", tuple(by))
        return self._cache.once(key, lambda: factorize(self.frame, tuple(by), self.missing))

    def _decisions(self) -> npt.NDArray[np.int64]:
        column = PB if self.role else P
        self._require(column)
        return self.frame[column].to_numpy(dtype=np.int64)

    def _labels(self, needed: bool) -> npt.NDArray[np.int64]:
        if not needed:
            return np.zeros(len(self.frame), dtype=np.int64)
        if Y in self.cells.errors:
            raise InputError(self.cells.errors[Y], subject="label")
        if Y not in self.frame.columns:
            raise InputError(NEEDS_LABEL, subject="needs")
        return self.frame[Y].to_numpy(dtype=np.int64)

    def _weights(self) -> FloatArray | None:
        if not self.weighted:
            return None
        if W in self.cells.errors:
            raise InputError(self.cells.errors[W], subject="sample_weight")
        return self.frame[W].to_numpy(dtype=np.float64)

    def _confusion(self, grouping: Grouping, needs_label: bool, weighted: bool) -> Confusion:
        k = grouping.n_groups
        cell = grouping.codes * 4 + self._labels(needs_label) * 2 + self._decisions()
        weights = self._weights() if weighted else None
        amount = weights if weights is not None else self.frame[N].to_numpy(dtype=np.float64)
        counts = _bincount(cell, amount, 4 * k).reshape(k, 4)
        return Confusion(tp=counts[:, 3], fp=counts[:, 1], tn=counts[:, 0], fn=counts[:, 2])

    def _sizes(self, grouping: Grouping) -> FloatArray:
        return _bincount(grouping.codes, self.frame[N].to_numpy(np.float64), grouping.n_groups)

    def _table(
        self, metric: str, grouping: Grouping, values: FloatArray, overall: float
    ) -> GroupTable:
        weights = self._weights()
        weight_sums = (
            None if weights is None else _bincount(grouping.codes, weights, grouping.n_groups)
        )
        return group_table(
            metric,
            grouping,
            values,
            overall,
            self._sizes(grouping),
            self.n_rows,
            weight_sums,
            weights,
        )

    def _count_values(self, metric: str, grouping: Grouping) -> FloatArray:
        needs_label = metric != "selection_rate"
        if needs_label and self.sample.targets.task == "regression":
            raise InputError(NEEDS_BINARY_LABELS.format(metric=metric), subject="task")
        counts = self._confusion(grouping, needs_label, weighted=True)
        return COUNT_METRICS[metric](counts)

    def group_metric(self, metric: str, by: tuple[str, ...]) -> GroupTable:
        if metric not in COUNT_METRICS:
            return self._sampled(lambda: self.sample.group_metric(metric, by))

        def compute() -> GroupTable:
            grouping = self.grouping(by)
            values = self._count_values(metric, grouping)
            overall = float(self._count_values(metric, Grouping.overall(len(self.frame)))[0])
            table = self._table(metric, grouping, values, overall)
            return with_sampler(table, self._count_sampler(metric, grouping, values, overall))

        return naming_metric(
            metric, lambda: self._cache.once(("group_metric", metric, by), compute)
        )

    def _count_sampler(
        self, metric: str, grouping: Grouping, values: FloatArray, overall: float
    ) -> TableSampler:
        from rulecheck.engines.sampling import TableSampler, support_counts

        counts = self._confusion(grouping, metric != "selection_rate" and self._has_label(), False)
        weighted = self.weighted

        def replicates(b: int, seed: int) -> tuple[FloatArray, FloatArray]:
            if weighted:
                raise InputError(
                    "intervals of weighted metrics resample rows, which a streamed or Dask "
                    "audit does not keep: drop the interval keys, or audit in memory "
                    "(--engine memory)",
                    subject="interval",
                )
            conf = self._cache.once(
                ("confusion_replicates", grouping.by, b, seed),
                lambda: self._confusion_replicates(grouping, b, seed),
            )
            formula = COUNT_METRICS[metric]
            total = Confusion(*(a.sum(axis=1) for a in (conf.tp, conf.fp, conf.tn, conf.fn)))
            return formula(conf), formula(total)

        return TableSampler(
            metric=metric,
            values=values,
            overall=overall,
            support=support_counts(metric, counts),
            replicates=replicates,
            pairing=("counts", id(self.cells)) if self._partner is not None else None,
            counts=None if weighted else counts,
            why_not_analytic="sample weights",
        )

    def _has_label(self) -> bool:
        return Y in self.frame.columns and Y not in self.cells.errors

    def _confusion_replicates(self, grouping: Grouping, replicates: int, seed: int) -> Confusion:
        """The in-memory engine's multinomial resamples of each group's confusion cells (or of
        the 8 joint cells with a baseline), from the same counts: the same draws."""
        from rulecheck.engines._resample import confusion_replicates

        theirs = None
        if self._partner is not None:
            try:
                theirs = self._partner._decisions()
            except InputError:
                theirs = None
        return confusion_replicates(
            grouping.codes,
            grouping.n_groups,
            self._labels(self._has_label()),
            self._decisions(),
            theirs,
            self.role,
            replicates,
            seed,
            rows=self.frame[N].to_numpy(dtype=np.float64),
        )

    def overall_metric(self, metric: str) -> float | None:
        if metric not in COUNT_METRICS:
            return self._sampled(lambda: self.sample.overall_metric(metric))

        def compute() -> float | None:
            value = float(self._count_values(metric, Grouping.overall(len(self.frame)))[0])
            return None if np.isnan(value) else value

        return naming_metric(metric, lambda: self._cache.once(("overall", metric), compute))

    def overall_estimator(self, metric: str) -> Estimator | None:
        if metric not in COUNT_METRICS:
            return self._sampled(lambda: self.sample.overall_estimator(metric))
        grouping = Grouping.overall(len(self.frame))
        value = self.overall_metric(metric)
        values = np.array([np.nan if value is None else value])
        sampler = self._count_sampler(metric, grouping, values, float(values[0]))
        statistic = GroupStatistic("value", (0,), deciding=(0,))
        return lambda settings: sampler.estimate(statistic, settings)

    # -- losses ---------------------------------------------------------------------------------
    def group_loss(self, name: str, params: Mapping[str, float], by: tuple[str, ...]) -> GroupTable:
        loss: LossKey = (name, tuple(sorted((k, float(v)) for k, v in params.items())))
        if loss not in self.plan.losses:  # not planned (a rule added after the pass)
            return self._sampled(lambda: self.sample.group_loss(name, params, by))

        def compute() -> GroupTable:
            index = self.plan.losses.index(loss)
            grouping = self.grouping(by)
            weights = self._weights()
            column = _loss_column(index, self.role, weights is not None)
            if column in self.cells.errors:
                raise InputError(self.cells.errors[column], subject="loss")
            sums = self.frame[column].to_numpy(dtype=np.float64)
            amount = weights if weights is not None else self.frame[N].to_numpy(np.float64)
            k = grouping.n_groups
            means = ratio(_bincount(grouping.codes, sums, k), _bincount(grouping.codes, amount, k))
            overall = float(ratio(np.array([sums.sum()]), np.array([amount.sum()]))[0])
            table = self._table(f"mean {name}", grouping, means, overall)
            sampler = self._rescaled_loss_sampler(name, params, by, table, means, overall)
            return replace(
                table,
                support=table.n,
                overall_support=table.overall_n,
                unit="rows",
                sampler=sampler,
            )

        return self._cache.once(("group_loss", loss, by), compute)

    def _rescaled_loss_sampler(
        self,
        name: str,
        params: Mapping[str, float],
        by: tuple[str, ...],
        table: GroupTable,
        means: FloatArray,
        overall: float,
    ) -> TableSampler:
        """Intervals of loss means: the sample's row bootstrap, recentred on the full data's
        means and rescaled by sqrt(m / n) (as the in-memory engine does above 20,000 rows)."""
        from rulecheck.engines.sampling import TableSampler

        def replicates(b: int, seed: int) -> tuple[FloatArray, FloatArray]:
            self.used_sample = True
            small = self.sample.group_loss(name, params, by)
            if small.sampler is None:
                raise InputError("no interval for this loss on the sample", subject="interval")
            reps, overall_reps = small.sampler.replicates(b, seed)  # type: ignore[attr-defined]
            position = {key: i for i, key in enumerate(small.keys)}
            scale = np.sqrt(max(small.overall_n, 1) / max(table.overall_n, 1))
            out = np.full((b, len(table.keys)), np.nan)
            for j, key in enumerate(table.keys):
                i = position.get(key)
                if i is not None and small.values[i] is not None:
                    out[:, j] = means[j] + scale * (reps[:, i] - small.values[i])
            centre = small.overall if small.overall is not None else np.nan
            return out, overall + scale * (np.asarray(overall_reps) - centre)

        return TableSampler(
            metric=table.metric,
            values=means,
            overall=overall,
            support=np.asarray(table.n, dtype=np.float64),
            replicates=replicates,
            pairing=None,
            why_not_analytic=f"{table.metric} is a mean, not a proportion",
        )

    # -- the sample ------------------------------------------------------------------------------
    def _sample(self) -> DataContext:
        if len(self.sample.frame) == 0:
            raise InputError("the sample of the data is empty", subject="data")
        return self.sample

    def _sampled(self, compute: Callable[[], T]) -> T:
        self.used_sample = True
        self._sample()
        return compute()

    def property_result(self, spec: PropertySpec, by: tuple[str, ...]) -> PropertyResult:
        return self._sampled(lambda: self.sample.property_result(spec, by))

    def proxy_estimator(
        self, protected: str, candidates: Sequence[str] | None, measure: str
    ) -> Estimator | None:
        return self._sampled(lambda: self.sample.proxy_estimator(protected, candidates, measure))

    def attribution(self, by: tuple[str, ...], max_rows: int | None = None) -> AttributionTable:
        return self._sampled(lambda: self.sample.attribution(by, max_rows))

    def loss_attribution(
        self,
        name: str,
        params: Mapping[str, float],
        by: tuple[str, ...],
        max_rows: int | None = None,
    ) -> AttributionTable:
        return self._sampled(lambda: self.sample.loss_attribution(name, params, by, max_rows))

    def resolve_features(self, selectors: Sequence[str]) -> tuple[str, ...]:
        return self.sample.resolve_features(selectors)

    def proxy_scores(
        self, protected: str, candidates: Sequence[str] | None, measure: str
    ) -> tuple[ProxyScore, ...]:
        return self._sampled(lambda: self.sample.proxy_scores(protected, candidates, measure))

    def protected_auc(self, protected: str, candidates: Sequence[str] | None) -> float:
        return self._sampled(lambda: self.sample.protected_auc(protected, candidates))


def _bincount(codes: IntArray, weights: FloatArray, length: int) -> FloatArray:
    return np.asarray(np.bincount(codes, weights=weights, minlength=length), dtype=np.float64)


def build_contexts(
    cells: Cells,
    setup: Setup,
    *,
    attribution: AttributionSettings | None = None,
    feature_groups: Mapping[str, Sequence[str]] | None = None,
) -> tuple[AggregateContext, AggregateContext | None]:
    """The candidate's context (and the baseline's, paired) over merged cells."""
    weighted = W in cells.frame.columns or W in cells.errors

    def sample_context(spec: TargetSpec, model: ModelAdapter | None) -> DataContext:
        return DataContext(
            cells.sample,
            spec,
            model=model,
            losses=setup.losses,
            attribution=attribution,
            feature_groups=feature_groups,
        )

    candidate = AggregateContext(
        cells, setup.plan, sample_context(setup.spec, setup.model), weighted=weighted
    )
    if not setup.has_baseline or setup.baseline_spec is None:
        return candidate, None
    baseline = AggregateContext(
        cells,
        setup.plan,
        sample_context(setup.baseline_spec, setup.baseline_model),
        role=1,
        weighted=weighted,
    )
    candidate.pair_with(baseline)
    return candidate, baseline
