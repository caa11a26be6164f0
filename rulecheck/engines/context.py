"""The evaluation context: what rules ask for, computed once and shared.

:class:`DataContext` implements the :class:`rulecheck.rules.EvalContext` protocol by composing
three parts: :class:`~rulecheck.engines.targets.Targets` (label, decisions, scores, weights),
a :class:`~rulecheck.engines.groupstats.GroupStats` backend (per-group counts and sums) and the
model adapter (through the attribution engine). Every result is cached, failures included.

A rule with ``where:`` or ``missing: drop`` runs on a :meth:`DataContext.view` of the rows it
selects: the view indexes the parent's model outputs, so the model runs once per audit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck._intervals import Estimate, Estimator, GroupStatistic, IntervalSettings
from rulecheck._measures import (
    AttributionTable,
    Condition,
    GroupTable,
    PropertyResult,
    PropertySpec,
    ProxyScore,
)
from rulecheck._settings import AttributionSettings
from rulecheck.engines._auc import roc_auc
from rulecheck.engines._cache import Cache
from rulecheck.engines._features import attribution_table, resolve_features
from rulecheck.engines.fairness import COUNT_METRICS, VALUE_METRICS, value_metric
from rulecheck.engines.groupstats import (
    Confusion,
    Grouping,
    GroupStats,
    MissingMode,
    NumpyGroupStats,
    factorize,
)
from rulecheck.engines.losses import LossRegistry, get_loss, per_row_loss
from rulecheck.engines.model import ModelAdapter
from rulecheck.engines.slices import select_rows
from rulecheck.engines.targets import Targets, TargetSpec
from rulecheck.errors import InputError, TimeBudgetExceeded

if TYPE_CHECKING:
    from rulecheck.engines._rowboot import PoissonWeights
    from rulecheck.engines.sampling import TableSampler

if TYPE_CHECKING:
    from rulecheck.engines.attribution import Attribution

__all__ = ["DataContext", "TargetSpec"]

T = TypeVar("T")
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

NEEDS_BINARY_LABELS = (
    "{metric} needs binary labels, but the task is regression; set target.positive_label to "
    "audit one class, or use a regression metric"
)
NEEDS_MODEL = (
    "needs a model to explain: give target.model (CLI: --model); a predictions-only audit "
    "has no attributions"
)


class _Clock:
    deadline: float | None = None
    budget: float | None = None


class DataContext:
    """Data plus a source of predictions, with lazily computed, cached inputs for rules."""

    def __init__(
        self,
        frame: pd.DataFrame,
        spec: TargetSpec,
        *,
        model: ModelAdapter | None = None,
        predictions: npt.ArrayLike | None = None,
        scores: npt.ArrayLike | None = None,
        sample_weight: npt.ArrayLike | None = None,
        losses: LossRegistry | None = None,
        attribution: AttributionSettings | None = None,
        feature_groups: Mapping[str, Sequence[str]] | None = None,
        stats: GroupStats | None = None,
    ) -> None:
        self.frame = frame
        self.spec = spec
        self.model = model
        self.targets = Targets(
            frame,
            spec,
            model=model,
            predictions=predictions,
            scores=scores,
            sample_weight=sample_weight,
        )
        self.losses = losses
        self.attribution_settings = attribution or AttributionSettings()
        self.feature_groups = dict(feature_groups or {})
        self.stats: GroupStats = stats or NumpyGroupStats()
        self.missing: MissingMode = "error"
        self._clock = _Clock()  # shared with every view: the rule being measured sets it
        self._same_rows: DataContext | None = None  # a view of every row shares its explanation
        self._cache = Cache()
        self._views: dict[object, tuple[DataContext, tuple[str, ...]]] = {}
        # Pairing with the other model's context (candidate and baseline), for paired intervals:
        # the partner's view of the same rows, and this context's role (0 candidate, 1 baseline).
        self._partner: DataContext | None = None
        self._partner_parent: DataContext | None = None
        self._role = 0
        self._view_key: tuple[tuple[Condition, ...], tuple[str, ...], MissingMode] | None = None

    def pair_with(self, baseline: DataContext) -> None:
        """Resample this (candidate) context and ``baseline`` with the same rows, so that
        interval of baseline changes are paired (the same data, two models)."""
        self._partner, baseline._partner = baseline, self
        self._role, baseline._role = 0, 1

    def _partner_view(self) -> DataContext | None:
        """The partner's context of the same rows as this one (None when unpaired)."""
        if self._partner is None and self._partner_parent is not None and self._view_key:
            self._partner = self._partner_parent.view(*self._view_key)[0]
        return self._partner

    @property
    def deadline(self) -> float | None:
        """``time.monotonic()`` instant by which the rule being measured must finish, or None."""
        return self._clock.deadline

    @deadline.setter
    def deadline(self, value: float | None) -> None:
        self._clock.deadline = value
        self._clock.budget = None

    def start_budget(self, seconds: float | None) -> None:
        """Give the rule about to be measured ``seconds`` (None: no limit), here and in views."""
        self._clock.deadline = None if seconds is None else time.monotonic() + seconds
        self._clock.budget = seconds

    @property
    def n_rows(self) -> int:
        """Rows of this context (of the slice, for a view)."""
        return len(self.frame)

    def sample_note(self) -> str | None:
        """What a verdict says about the rows it was computed on: None, every row is here (an
        :class:`~rulecheck.engines.aggregate.AggregateContext` may answer from a sample)."""
        return None

    @property
    def model_calls(self) -> int:
        """How often the model was called (over this context and all its views)."""
        return self.targets._root.model_calls

    # -- views -------------------------------------------------------------------------------
    def view(
        self,
        where: Sequence[Condition] = (),
        by: Sequence[str] = (),
        missing: MissingMode = "error",
    ) -> tuple[DataContext, tuple[str, ...]]:
        """The context of the rows a rule selects, and notes that say which rows those are.

        ``where`` keeps the rows that satisfy every condition; ``missing="drop"`` also drops
        rows with a missing value in a ``by`` column and ``missing="group"`` groups them as
        ``(missing)``. Views are cached, so rules with the same selection share their work.
        """
        key = (tuple(where), tuple(by) if missing == "drop" else (), missing)
        if key == ((), (), "error"):
            return self, ()
        if key not in self._views:
            self._views[key] = self._make_view(tuple(where), tuple(by), missing)
        return self._views[key]

    def _make_view(
        self, where: tuple[Condition, ...], by: tuple[str, ...], missing: MissingMode
    ) -> tuple[DataContext, tuple[str, ...]]:
        keep, notes = select_rows(self.frame, where, by if missing == "drop" else ())
        child = DataContext.__new__(DataContext)
        child.__dict__.update(self.__dict__)
        child.missing = missing
        child._cache = Cache()
        child._views = {}
        child._view_key = (where, by, missing)
        child._partner_parent = self._partner  # resolved on first use (see _partner_view)
        child._partner = None
        if keep.all():
            child._same_rows = self._same_rows or self
        else:
            rows = np.flatnonzero(keep)
            child.frame = self.frame.iloc[rows].reset_index(drop=True)
            child.targets = self.targets.subset(rows, child.frame)
            child._same_rows = None
        return child, notes

    # -- groups and metrics (EvalContext) --------------------------------------------------
    def grouping(self, by: Sequence[str]) -> Grouping:
        key = ("grouping", tuple(by))
        return self._cache.once(key, lambda: factorize(self.frame, tuple(by), self.missing))

    def _metric_arrays(self, metric: str, grouping: Grouping, overall: bool = False) -> FloatArray:
        """Per-group values with NaN for undefined; with ``overall``, the one value over every
        row of ``grouping`` (as a length-1 array)."""
        targets = self.targets
        weights = targets.weights()
        if metric in COUNT_METRICS:
            needs_label = metric != "selection_rate"
            if needs_label and targets.task == "regression":
                raise InputError(NEEDS_BINARY_LABELS.format(metric=metric), subject="task")
            # Unweighted, selection rates from the labelled counts are exact (integer sums), so
            # all eight count metrics share one pass over the rows.
            labelled = needs_label or (weights is None and self._has_labels())
            weighted = weights is not None
            if overall and weighted:  # a sum of weights over the rows, rounded as before
                grouping = Grouping.overall(len(self.frame))
            counts = self._confusion(grouping, labelled, weighted)
            if overall and not weighted:
                # Integer counts in float64: the column sums are the overall counts exactly,
                # without another pass over the rows.
                cells = (counts.tp, counts.fp, counts.tn, counts.fn)
                counts = Confusion(*(a.sum(keepdims=True) for a in cells))
            return COUNT_METRICS[metric](counts)
        if overall:
            grouping = Grouping.overall(len(self.frame))
        if metric in VALUE_METRICS:
            p = targets.predictions_numeric()
            y = targets.y_numeric() if metric != "mean_prediction" else np.zeros(len(p))
            return value_metric(metric, self.stats, grouping, y, p, weights)
        raise InputError(f"{metric} is not available per group", subject=metric)

    def _confusion(self, grouping: Grouping, labelled: bool, weighted: bool) -> Confusion:
        """Confusion counts per group, computed once per (grouping, labels, weights) and shared by
        every count metric, its overall value and its sampler: one pass over the rows, not three
        per rule. Unlabelled counts (selection rates without a label) have all-negative labels.
        """
        key = ("confusion", grouping.by, labelled, weighted)

        def compute() -> Confusion:
            targets = self.targets
            y_pred = targets.y_pred()
            y_true = targets.y_true() if labelled else np.zeros(len(y_pred), dtype=bool)
            weights = targets.weights() if weighted else None
            return self.stats.confusion(grouping, y_true, y_pred, weights)

        return self._cache.once(key, compute)

    def _table(
        self, metric: str, grouping: Grouping, values: FloatArray, overall: float
    ) -> GroupTable:
        weights = self.targets.weights()
        weight_sums = None
        if weights is not None:
            # Once per grouping, shared by every weighted rule on it (as the row counts are).
            weight_sums = self._cache.once(
                ("weight_sums", grouping.by), lambda: self.stats.sums(grouping, weights)
            )
        sizes = self._cache.once(("n", grouping.by), lambda: self.stats.counts(grouping))
        return group_table(
            metric, grouping, values, overall, sizes, len(self.frame), weight_sums, weights
        )

    def group_metric(self, metric: str, by: tuple[str, ...]) -> GroupTable:
        def compute() -> GroupTable:
            grouping = self.grouping(by)
            values = self._metric_arrays(metric, grouping)
            overall = float(self._metric_arrays(metric, grouping, overall=True)[0])
            table = self._table(metric, grouping, values, overall)
            sampler = self._table_sampler(metric, grouping, values, overall)
            return table if sampler is None else with_sampler(table, sampler)

        return naming_metric(
            metric, lambda: self._cache.once(("group_metric", metric, by), compute)
        )

    # -- intervals ------------------------------------------------------------------------
    def _pairing(self, kind: str) -> object:
        """A token equal in the candidate's and the baseline's context of the same rows."""
        return (kind, self._view_key) if self._partner_view() is not None else None

    def _labels_for_counts(self) -> BoolArray:
        if self._has_labels():
            return self.targets.y_true()
        return np.zeros(len(self.frame), dtype=bool)

    def _has_labels(self) -> bool:
        try:
            self.targets.y_true()
        except InputError:  # selection rates need no label
            return False
        return True

    def _table_sampler(
        self, metric: str, grouping: Grouping, values: FloatArray, overall: float
    ) -> TableSampler | None:
        from rulecheck.engines.sampling import TableSampler, support_counts

        weights = self.targets.weights()
        if metric in COUNT_METRICS:
            counts = self._confusion(grouping, self._has_labels(), False)
            return TableSampler(
                metric=metric,
                values=values,
                overall=overall,
                support=support_counts(metric, counts),
                replicates=lambda b, seed: self._count_replicates(metric, grouping, b, seed),
                pairing=self._pairing("counts" if weights is None else "rows"),
                counts=counts if weights is None else None,
                why_not_analytic="sample weights",
            )
        if metric in VALUE_METRICS and metric != "r2":
            targets = self.targets
            p = targets.predictions_numeric()
            if metric == "mean_prediction":
                per_row = p
            else:
                y = targets.y_numeric()
                per_row = np.abs(y - p) if metric == "mean_absolute_error" else (y - p) ** 2
            return self._mean_sampler(metric, grouping, per_row, values, overall)
        return None

    def _mean_sampler(
        self,
        metric: str,
        grouping: Grouping,
        per_row: FloatArray,
        values: FloatArray,
        overall: float,
    ) -> TableSampler:
        from rulecheck.engines.sampling import TableSampler

        weights = self.targets.weights()

        def replicates(b: int, seed: int) -> tuple[FloatArray, FloatArray]:
            from rulecheck.engines._rowboot import group_means

            pw = self._poisson(b, seed)
            per_group = group_means(pw, grouping.codes, grouping.n_groups, per_row, weights)
            zeros = np.zeros(len(per_row), dtype=np.int64)
            return per_group, group_means(pw, zeros, 1, per_row, weights)[:, 0]

        return TableSampler(
            metric=metric,
            values=values,
            overall=overall,
            support=np.asarray(self.stats.counts(grouping), dtype=np.float64),
            replicates=replicates,
            pairing=self._pairing("rows"),
            why_not_analytic=f"{metric} is a mean, not a proportion",
        )

    def _poisson(self, replicates: int, seed: int) -> PoissonWeights:
        from rulecheck.engines._rowboot import PoissonWeights

        return self._cache.once(
            ("poisson", replicates, seed),
            lambda: PoissonWeights(max(len(self.frame), 1), replicates, seed),
        )

    def _count_replicates(
        self, metric: str, grouping: Grouping, replicates: int, seed: int
    ) -> tuple[FloatArray, FloatArray]:
        """Per-group (B, G) and overall (B,) replicates of a count metric."""
        formula = COUNT_METRICS[metric]
        weights = self.targets.weights()
        if weights is not None:
            return self._weighted_count_replicates(metric, grouping, replicates, seed, weights)
        key = ("confusion_replicates", grouping.by, replicates, seed)
        conf = self._cache.once(key, lambda: self._confusion_replicates(grouping, replicates, seed))
        overall = Confusion(*(a.sum(axis=1) for a in (conf.tp, conf.fp, conf.tn, conf.fn)))
        return formula(conf), formula(overall)

    def _confusion_replicates(self, grouping: Grouping, replicates: int, seed: int) -> Confusion:
        """Multinomial resamples of each group's confusion cells; with a partner model, of the
        8 joint cells (label, candidate's decision, baseline's decision), so that both models'
        replicates come from the same resampled rows."""
        from rulecheck.engines._resample import confusion_replicates

        mine = self.targets.y_pred().astype(np.int64)
        partner = self._partner_view()
        theirs: npt.NDArray[np.int64] | None = None
        if partner is not None:
            try:
                theirs = partner.targets.y_pred().astype(np.int64)
            except InputError:
                theirs = None
        labels = self._labels_for_counts().astype(np.int64)
        return confusion_replicates(
            grouping.codes, grouping.n_groups, labels, mine, theirs, self._role, replicates, seed
        )

    def _weighted_count_replicates(
        self,
        metric: str,
        grouping: Grouping,
        replicates: int,
        seed: int,
        weights: FloatArray,
    ) -> tuple[FloatArray, FloatArray]:
        """With sample weights: Poisson row weights times sample weights, summed per group and
        confusion cell in one sparse product (cached per grouping, shared by every metric)."""
        formula = COUNT_METRICS[metric]
        key = ("weighted_confusion_replicates", grouping.by, replicates, seed)
        reps, sub, full, scale = self._cache.once(
            key, lambda: self._weighted_confusion(grouping, replicates, seed, weights)
        )

        def values(counts: tuple[FloatArray, ...]) -> tuple[FloatArray, FloatArray]:
            per_group = Confusion(*counts)
            overall = Confusion(*(a.sum(axis=-1, keepdims=True) for a in counts))
            return formula(per_group), formula(overall)[..., 0]

        group_reps, overall_reps = values(reps)
        if scale == 1.0:
            return group_reps, overall_reps
        # Subsampled rows: rescale around the full-data value, theta + s (theta*_sub - theta_sub).
        group_sub, overall_sub = values(sub)
        group_full, overall_full = values(full)
        return (
            np.asarray(group_full + scale * (group_reps - group_sub), dtype=np.float64),
            np.asarray(overall_full + scale * (overall_reps - overall_sub), dtype=np.float64),
        )

    def _weighted_confusion(
        self, grouping: Grouping, replicates: int, seed: int, weights: FloatArray
    ) -> tuple[tuple[FloatArray, ...], tuple[FloatArray, ...], tuple[FloatArray, ...], float]:
        """Replicate, subsample and full-data weighted confusion cells (tp, fp, tn, fn), each
        (B, G) / (G,), and the rescaling factor."""
        from rulecheck.engines._rowboot import group_sums

        pw = self._poisson(replicates, seed)
        y = self._labels_for_counts().astype(np.int64)
        pred = self.targets.y_pred().astype(np.int64)
        k = grouping.n_groups
        cell = grouping.codes * 4 + y * 2 + pred  # 0 TN, 1 FP, 2 FN, 3 TP
        sums = group_sums(pw, cell, 4 * k, np.ones(len(cell)), weights).reshape(-1, k, 4)

        def split(a: FloatArray) -> tuple[FloatArray, ...]:
            return (a[..., 3], a[..., 1], a[..., 0], a[..., 2])

        def totals(rows: npt.NDArray[np.int64] | None) -> FloatArray:
            chosen = cell if rows is None else cell[rows]
            w = weights if rows is None else weights[rows]
            return np.asarray(np.bincount(chosen, weights=w, minlength=4 * k), np.float64).reshape(
                k, 4
            )

        sub = totals(pw.rows) if pw.subsampled else totals(None)
        return split(sums), split(sub), split(totals(None)), pw.scale()

    def overall_estimator(self, metric: str) -> Estimator | None:
        """The interval source of :meth:`overall_metric`."""
        if metric in COUNT_METRICS or (metric in VALUE_METRICS and metric != "r2"):
            overall = Grouping.overall(len(self.frame))
            value = self.overall_metric(metric)
            values = np.array([np.nan if value is None else value])
            sampler = self._table_sampler(metric, overall, values, float(values[0]))
            if sampler is None:
                return None
            statistic = GroupStatistic("value", (0,), deciding=(0,))
            return lambda settings: sampler.estimate(statistic, settings)
        if metric in ("roc_auc", "log_loss"):
            return lambda settings: self._score_estimate(metric, settings)
        return None

    def _score_estimate(self, metric: str, settings: IntervalSettings) -> Estimate:
        from rulecheck.engines._rowboot import auc_replicates, log_loss_replicates
        from rulecheck.engines.sampling import Closed, Replicated, delong_estimate

        def compute() -> Estimate:
            y = self.targets.y_true()
            scores = self.targets.scores()
            weights = self.targets.weights()
            point = self.overall_metric(metric)
            value = float("nan") if point is None else point
            notes: tuple[str, ...] = ()
            if settings.method == "analytic":
                if metric == "roc_auc" and weights is None:
                    return Closed("delong", delong_estimate(y, scores), len(y))
                why = "sample weights" if metric == "roc_auc" else "log_loss has no closed form"
                notes = (f"Analytic interval not available ({why}): bootstrap used.",)
            pw = self._poisson(settings.replicates, settings.seed)
            if metric == "roc_auc":
                reps = auc_replicates(pw, y, scores, weights)
            else:
                reps = log_loss_replicates(pw, y, scores, weights)
            return Replicated(value, reps, len(y), notes, self._pairing("rows"))

        key = ("score_estimate", metric, settings.method, settings.replicates, settings.seed)
        return self._cache.once(key, compute)

    def overall_metric(self, metric: str) -> float | None:
        def compute() -> float | None:
            weights = self.targets.weights()
            if metric == "roc_auc":
                return _roc_auc(self.targets.y_true(), self.targets.scores(), weights)
            if metric == "log_loss":
                return _log_loss(self.targets.y_true(), self.targets.scores(), weights)
            every_row = Grouping.overall(len(self.frame))
            overall = float(self._metric_arrays(metric, every_row, overall=True)[0])
            return None if np.isnan(overall) else overall

        return naming_metric(metric, lambda: self._cache.once(("overall", metric), compute))

    # -- losses --------------------------------------------------------------------------
    def loss_per_row(self, name: str, params: Mapping[str, float]) -> FloatArray:
        """Per-row loss of a built-in or registered loss, computed once per (loss, params)."""
        key = ("loss", name, tuple(sorted(params.items())))

        def compute() -> FloatArray:
            spec = get_loss(name, registry=self.losses)
            targets = self.targets
            if spec.input == "value":
                y_true: npt.NDArray[np.generic] = targets.y_numeric()
                y_pred: npt.NDArray[np.generic] = targets.predictions_numeric()
            else:
                y_true = targets.y_true().astype(np.int64)
                if spec.input == "probability":
                    y_pred = targets.scores()
                elif spec.input == "decision":
                    y_pred = targets.y_pred().astype(np.int64)
                else:
                    y_pred = targets.margins()
            return per_row_loss(spec, y_true, y_pred, params)

        return naming_metric(f"loss {name!r}", lambda: self._cache.once(key, compute))

    def group_loss(self, name: str, params: Mapping[str, float], by: tuple[str, ...]) -> GroupTable:
        """(Weighted) mean loss per group and overall."""

        def compute() -> GroupTable:
            grouping = self.grouping(by)
            per_row = self.loss_per_row(name, params)
            weights = self.targets.weights()
            means = self.stats.means(grouping, per_row, weights)
            overall = float(self.stats.means(Grouping.overall(len(per_row)), per_row, weights)[0])
            table = self._table(f"mean {name}", grouping, means, overall)
            sampler = self._mean_sampler(f"mean {name}", grouping, per_row, means, overall)
            return replace(
                table,
                support=table.n,
                overall_support=table.overall_n,
                unit="rows",
                sampler=sampler,
            )

        key = ("group_loss", name, tuple(sorted(params.items())), tuple(by))
        return self._cache.once(key, compute)

    # -- attributions and proxies ------------------------------------------------------------
    def explanation(self, max_rows: int | None = None) -> Attribution:
        """SHAP attributions of the model on its inputs, computed once per set of rows.

        ``max_rows`` (a rule's own) overrides the policy's ``attribution.max_rows``.
        """
        if self._same_rows is not None:
            return self._same_rows.explanation(max_rows)

        def compute() -> Attribution:
            if self.model is None:
                raise InputError(NEEDS_MODEL, subject="needs")
            from rulecheck.engines.attribution import explain

            settings = self.attribution_settings
            return explain(
                self.model,
                self.targets.features(),
                explainer=settings.explainer,
                output=settings.output,
                max_rows=settings.max_rows if max_rows is None else max_rows,
                seed=settings.seed,
                positive_class=self.spec.positive_label,
                background_size=settings.background_size,
                deadline=self.deadline,
            )

        return self._uncached_timeouts(("explanation", max_rows), compute, engine=True)

    def attribution(self, by: tuple[str, ...], max_rows: int | None = None) -> AttributionTable:
        def compute() -> AttributionTable:
            return self._attribution_table(self.explanation(max_rows), by)

        key = ("attribution", by, max_rows)
        return naming_metric("attribution", lambda: self._uncached_timeouts(key, compute))

    def loss_attribution(
        self,
        name: str,
        params: Mapping[str, float],
        by: tuple[str, ...],
        max_rows: int | None = None,
    ) -> AttributionTable:
        """Mean |SHAP| of each input in explaining the per-row loss, overall and per group."""

        def compute() -> AttributionTable:
            if self.model is None:
                raise InputError(NEEDS_MODEL, subject="needs")
            from rulecheck.engines.attribution import explain_loss

            settings = self.attribution_settings
            result = explain_loss(
                self.model,
                self.targets.features(),
                self.targets.y_true(),
                loss=get_loss(name, registry=self.losses),
                params=params,
                explainer=settings.explainer,
                max_rows=settings.max_rows if max_rows is None else max_rows,
                seed=settings.seed,
                positive_class=self.spec.positive_label,
                background_size=settings.background_size,
                deadline=self.deadline,
                fallback_rows=max_rows,  # the rule's own: the policy's was sized for TreeSHAP
            )
            return self._attribution_table(result, by)

        key = ("loss_attribution", name, tuple(sorted(params.items())), tuple(by), max_rows)
        return naming_metric(
            f"loss attribution of {name!r}",
            lambda: self._uncached_timeouts(key, compute, engine=True),
        )

    def _uncached_timeouts(
        self, key: object, compute: Callable[[], T], *, engine: bool = False
    ) -> T:
        """``Cache.once``, but a run past the deadline is not cached: the next rule has its own.

        ``engine``: ``compute`` calls the engine itself, so its message gets the budget named.
        """
        try:
            return self._cache.once(key, compute)
        except TimeBudgetExceeded as exc:
            self._cache.forget(key)
            if self._clock.budget is None or not engine:
                raise
            raise TimeBudgetExceeded(
                f"over the policy's time_budget_s of {self._clock.budget:g} s: {exc.message}",
                subject=exc.subject,
            ) from None

    def _attribution_table(self, result: Attribution, by: tuple[str, ...]) -> AttributionTable:
        grouping = self.grouping(by) if by else None
        return attribution_table(
            result, grouping, self.targets.weights(), self.stats, self._pairing("attribution")
        )

    def resolve_features(self, selectors: Sequence[str]) -> tuple[str, ...]:
        """Model inputs named by ``selectors``: names, globs or policy feature groups."""
        inputs = tuple(str(c) for c in self.targets.features().columns)
        return resolve_features(selectors, inputs, self.frame, self.feature_groups)

    def proxy_scores(
        self, protected: str, candidates: Sequence[str] | None, measure: str
    ) -> tuple[ProxyScore, ...]:
        """Association of each candidate feature with the protected attribute."""

        def compute() -> tuple[ProxyScore, ...]:
            from rulecheck.engines.proxy import associations

            attribute = self.targets.column(protected, "protected attribute column")
            X = self._candidates(protected, candidates)
            scores = associations(X, attribute, measure=measure)  # type: ignore[arg-type]  # the rule's Literal
            return tuple(
                ProxyScore(str(name), a.score, a.measure, int(X[name].isna().sum()))
                for name, a in scores.items()
            )

        key = ("proxy", protected, None if candidates is None else tuple(candidates), measure)
        return self._cache.once(key, compute)

    def property_result(self, spec: PropertySpec, by: tuple[str, ...]) -> PropertyResult:
        """A property of the model on the audited rows (engines/properties.py): one batched
        model call per perturbation of the whole frame, and the search when asked for."""

        def compute() -> PropertyResult:
            from rulecheck.engines.properties import check_property

            grouping = self.grouping(by) if by else None
            return check_property(
                spec, self.targets.features(), self.targets.predict_frame, grouping=grouping
            )

        return naming_metric(spec.kind, lambda: self._cache.once(("property", spec, by), compute))

    def proxy_estimator(
        self, protected: str, candidates: Sequence[str] | None, measure: str
    ) -> Estimator | None:
        """Bootstrap replicates of the largest association (Poisson row weights, every
        candidate measured on the same resampled rows, as :meth:`proxy_scores` measures it)."""
        from rulecheck.engines.sampling import Replicated, max_replicates

        def estimate(settings: IntervalSettings) -> Estimate:
            from rulecheck.engines._rowboot import association_replicates

            scores = self.proxy_scores(protected, candidates, measure)
            attribute = self.targets.column(protected, "protected attribute column")
            codes = np.asarray(pd.factorize(attribute)[0], dtype=np.int64)
            X = self._candidates(protected, candidates)
            pw = self._poisson(settings.replicates, settings.seed)
            per_feature = []
            for score in scores:
                column = X[score.feature]
                if score.measure == "correlation_ratio":
                    x: npt.NDArray[np.generic] = pd.to_numeric(column).to_numpy(
                        dtype=np.float64, na_value=np.nan
                    )
                else:
                    x = np.asarray(pd.factorize(column, use_na_sentinel=False)[0], np.int64)
                per_feature.append(
                    association_replicates(pw, x, codes, score.measure)  # type: ignore[arg-type]  # a measure name proxy_scores returned
                )
            notes: tuple[str, ...] = ()
            if settings.method == "analytic":
                notes = ("Analytic interval not available for associations: bootstrap used.",)
            point = max(s.score for s in scores)
            return Replicated(
                point, max_replicates(per_feature), len(codes), notes, self._pairing("rows")
            )

        key = ("proxy_estimate", protected, None if candidates is None else tuple(candidates))
        return lambda settings: self._cache.once(
            (*key, measure, settings.replicates, settings.seed, settings.method),
            lambda: estimate(settings),
        )

    def protected_auc(self, protected: str, candidates: Sequence[str] | None) -> float:
        """Cross-validated ROC AUC of predicting the protected attribute from the candidates."""

        def compute() -> float:
            from rulecheck.engines.proxy import predictability_auc

            attribute = self.targets.column(protected, "protected attribute column")
            X = self._candidates(protected, candidates)
            return predictability_auc(X, attribute, seed=self.attribution_settings.seed)

        key = ("protected_auc", protected, None if candidates is None else tuple(candidates))
        return self._cache.once(key, compute)

    def _candidates(self, protected: str, candidates: Sequence[str] | None) -> pd.DataFrame:
        if candidates is None:
            names = [str(c) for c in self.targets.features().columns if c != protected]
        else:
            names = [n for n in self.resolve_features(candidates) if n != protected]
        if not names:
            raise InputError(f"no candidate features besides {protected!r}", subject=protected)
        return self.frame[names]


def group_table(
    metric: str,
    grouping: Grouping,
    values: FloatArray,
    overall: float,
    sizes: npt.NDArray[np.generic],
    overall_n: int,
    weight_sums: FloatArray | None,
    weights: FloatArray | None,
) -> GroupTable:
    """A GroupTable from per-group arrays (NaN: undefined); ``weight_sums`` per group and the
    rows' ``weights`` when the audit is weighted (every engine builds its tables here)."""
    return GroupTable(
        metric=metric,
        by=grouping.by,
        keys=grouping.keys,
        n=tuple(int(n) for n in sizes),
        values=tuple(None if np.isnan(v) else float(v) for v in values),
        overall=None if np.isnan(overall) else float(overall),
        overall_n=overall_n,
        weights=None if weight_sums is None else tuple(float(w) for w in weight_sums),
        overall_weight=None if weights is None else float(weights.sum()),
    )


def with_sampler(table: GroupTable, sampler: TableSampler) -> GroupTable:
    """``table`` with its interval sampler and the support (cases in each group's denominator)
    the sampler counts."""
    support = tuple(int(n) for n in sampler.support)
    return replace(
        table,
        support=support,
        overall_support=sum(support),
        unit=metric_unit(table.metric),
        sampler=sampler,
    )


def metric_unit(metric: str) -> str:
    """What a metric's support counts: 'negatives' for an FPR, 'positives' for a TPR ..."""
    from rulecheck.engines.sampling import SUPPORT_UNITS

    return SUPPORT_UNITS.get(metric, "rows")


def naming_metric(metric: str, compute: Callable[[], T]) -> T:
    """Prefix 'needs ...' messages with the metric that needs it."""
    try:
        return compute()
    except InputError as exc:
        if exc.subject == "needs":
            raise InputError(f"{metric} {exc.message}", subject=metric) from None
        raise


def _roc_auc(y_true: BoolArray, scores: FloatArray, weights: FloatArray | None) -> float | None:
    present = y_true if weights is None else y_true[weights > 0]
    if present.all() or not present.any():
        return None  # undefined with a single class
    if not np.isfinite(scores).all():  # scikit-learn's own error for NaN or infinite scores
        from sklearn.metrics import roc_auc_score

        return float(roc_auc_score(y_true, scores, sample_weight=weights))
    return roc_auc(y_true, scores, weights)


def _log_loss(y_true: BoolArray, scores: FloatArray, weights: FloatArray | None) -> float:
    from sklearn.metrics import log_loss

    if np.any((scores < 0) | (scores > 1)):
        raise InputError(
            "log_loss needs probabilities in [0, 1]; the scores are outside", subject="scores"
        )
    return float(log_loss(y_true, scores, labels=[False, True], sample_weight=weights))
