"""The evaluation context: data, labels, predictions and scores, computed once and shared.

:class:`DataContext` implements the :class:`rulecheck.rules.EvalContext` protocol for rules.
Every expensive or fallible input (labels, model predictions, scores, group codes) is computed
on first use and cached, including its failure: when the model raises, every rule that needs
predictions gets the same ERROR message and the model is called once, not once per rule.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck._measures import AttributionTable, GroupTable, ProxyScore, same_value
from rulecheck.engines.fairness import (
    COUNT_METRICS,
    VALUE_METRICS,
    Grouping,
    confusion_counts,
    factorize,
    missing_column_message,
    value_metric,
)
from rulecheck.engines.losses import LossRegistry, get_loss, group_mean_loss, per_row_loss
from rulecheck.engines.model import ModelAdapter
from rulecheck.errors import InputError, TimeBudgetExceeded

if TYPE_CHECKING:
    from rulecheck.engines.attribution import Attribution

__all__ = ["AttributionSpec", "DataContext", "TargetSpec"]

T = TypeVar("T")
Label = str | int | float | bool
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

NOT_BINARY = (
    "{what} {column!r} has values other than 0/1: {values}; set target.positive_label "
    "(and target.labels) to say which value is positive"
)
UNEXPECTED_VALUES = "{what} {column!r} has values outside the declared labels {labels}: {values}"
POSITIVE_ABSENT = "positive_label {positive!r} never occurs in {what} {column!r} (values: {values})"
NEEDS_SCORES = (
    "needs scores: give target.score (a column of probabilities) or a model with predict_proba"
)
NEEDS_LABEL = "needs true labels: give target.label (CLI: --label)"
NEEDS_PREDICTIONS = (
    "no predictions: give target.prediction (a column), target.score, or target.model "
    "(CLI: --prediction, --score or --model)"
)


@dataclass(frozen=True)
class AttributionSpec:
    """How attributions are computed (the policy's ``attribution`` block)."""

    explainer: str = "auto"
    output: str = "auto"
    max_rows: int | None = None
    background_size: int = 100
    seed: int = 0


NEEDS_MODEL = (
    "needs a model to explain: give target.model (CLI: --model); a predictions-only audit "
    "has no attributions"
)


@dataclass(frozen=True)
class TargetSpec:
    """Resolved target options (policy ``target`` merged with CLI/API overrides)."""

    label: str | None = None
    prediction: str | None = None
    score: str | None = None
    features: tuple[str, ...] | None = None
    positive_label: Label | None = None
    labels: tuple[Label, ...] | None = None
    threshold: float | None = None
    task: Literal["classification", "regression"] | None = None


def _describe_values(values: pd.Series, limit: int = 6) -> str:
    counts = values.value_counts()
    shown = ", ".join(f"{v!r} ({n})" for v, n in counts.head(limit).items())
    return shown + (f" and {len(counts) - limit} more" if len(counts) > limit else "")


def _same(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a).lower() == str(b).lower()
    if isinstance(a, int | float | np.number) and isinstance(b, int | float | np.number):
        return float(a) == float(b)
    return str(a) == str(b)


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
        losses: LossRegistry | None = None,
        attribution: AttributionSpec | None = None,
        feature_groups: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.frame = frame
        self.losses = losses
        self.attribution_spec = attribution or AttributionSpec()
        self.feature_groups = dict(feature_groups or {})
        self.spec = spec
        self.model = model
        self._given_predictions = None if predictions is None else np.asarray(predictions)
        self._given_scores = None if scores is None else np.asarray(scores, dtype=np.float64)
        self._cache: dict[object, object] = {}
        self.model_calls = 0
        # A time.monotonic() instant after which the explainers stop (set per rule by the caller).
        self.deadline: float | None = None

    # -- caching ---------------------------------------------------------------------------
    def _once(self, key: object, compute: Callable[[], T]) -> T:
        if key not in self._cache:
            try:
                self._cache[key] = compute()
            except InputError as exc:
                self._cache[key] = exc
        value = self._cache[key]
        if isinstance(value, InputError):
            raise value
        return value  # type: ignore[return-value]  # the cache stores what compute() returned

    # -- columns ---------------------------------------------------------------------------
    def column(self, name: str, what: str) -> pd.Series:
        if name not in self.frame.columns:
            raise InputError(missing_column_message(name, self.frame, what), subject=name)
        series = self.frame[name]
        missing = int(series.isna().sum())
        if missing:
            first = int(np.flatnonzero(series.isna().to_numpy())[0])
            raise InputError(
                f"{what} {name!r} has {missing} missing value{'s' if missing > 1 else ''} "
                f"(first at row {first})",
                subject=name,
            )
        return series

    def features(self) -> pd.DataFrame:
        def compute() -> pd.DataFrame:
            names = self.spec.features
            if names is None and self.model is not None:
                # The model's stored names mapped onto the data's (LightGBM rewrites spaces).
                names = self.model.input_columns([str(c) for c in self.frame.columns])
            if names is None:
                skip = {self.spec.label, self.spec.prediction, self.spec.score}
                names = tuple(str(c) for c in self.frame.columns if c not in skip)
            missing = [n for n in names if n not in self.frame.columns]
            if missing:
                raise InputError(
                    f"model features missing from the data: {', '.join(map(repr, missing))}",
                    subject="features",
                )
            return self.frame[list(names)]

        return self._once("features", compute)

    # -- task and labels -------------------------------------------------------------------
    @property
    def task(self) -> Literal["classification", "regression"]:
        def compute() -> Literal["classification", "regression"]:
            if self.spec.task is not None:
                return self.spec.task
            if self.spec.positive_label is not None or self.spec.labels is not None:
                return "classification"
            if self.model is not None:
                return "regression" if self.model.classes is None else "classification"
            # The label decides when there is one; else the prediction column.
            present = [
                n for n in (self.spec.label, self.spec.prediction) if n in self.frame.columns
            ]
            for name in present[:1]:
                if name is not None:
                    series = self.frame[name].dropna()
                    numeric = pd.api.types.is_numeric_dtype(series)
                    boolean = pd.api.types.is_bool_dtype(series)
                    if numeric and not boolean and not series.isin([0, 1]).all():
                        return "regression"
            return "classification"

        return self._once("task", compute)

    def _binary(self, series: pd.Series, what: str, column: str) -> BoolArray:
        spec = self.spec
        if spec.labels is not None:
            allowed = series.map(lambda v: any(_same(v, a) for a in spec.labels or ()))
            if not allowed.all():
                raise InputError(
                    UNEXPECTED_VALUES.format(
                        what=what,
                        column=column,
                        labels=list(spec.labels),
                        values=_describe_values(series[~allowed]),
                    ),
                    subject=column,
                )
        if spec.positive_label is None:
            if pd.api.types.is_bool_dtype(series):
                return series.to_numpy(dtype=bool)
            if pd.api.types.is_numeric_dtype(series) and series.isin([0, 1]).all():
                return np.asarray(series.to_numpy() == 1, dtype=bool)
            message = NOT_BINARY.format(
                what=what, column=column, values=_describe_values(series, 3)
            )
            scores = pd.api.types.is_numeric_dtype(series) and series.between(0, 1).all()
            if what != "label column" and scores:
                message += "; if these are scores, give them as target.score (CLI: --score) instead"
            raise InputError(message, subject=column)
        positive = spec.positive_label
        if (
            pd.api.types.is_numeric_dtype(series)
            and isinstance(positive, int | float)
            and not isinstance(positive, bool)
        ):
            result = series.to_numpy(dtype=np.float64) == float(positive)
        else:
            # same_value, so that True and "true" name the same label as for the model's classes;
            # decided once per distinct value.
            named = [v for v in series.unique() if same_value(v, positive)]
            result = series.isin(named).to_numpy()
        return np.asarray(result, dtype=bool)

    def y_true(self) -> BoolArray:
        """Binary labels (True = positive)."""

        def compute() -> BoolArray:
            name = self._label_name()
            series = self.column(name, "label column")
            result = self._binary(series, "label column", name)
            if (
                self.spec.positive_label is not None
                and not result.any()
                and self.spec.labels is None
            ):
                raise InputError(
                    POSITIVE_ABSENT.format(
                        positive=self.spec.positive_label,
                        what="label column",
                        column=name,
                        values=_describe_values(series),
                    ),
                    subject=name,
                )
            return result

        return self._once("y_true", compute)

    def _label_name(self) -> str:
        if self.spec.label is None:
            raise InputError(NEEDS_LABEL, subject="needs")
        return self.spec.label

    def y_numeric(self) -> FloatArray:
        """Labels as numbers (regression, or 0/1 for classification)."""

        def compute() -> FloatArray:
            if self.task == "classification":
                return self.y_true().astype(np.float64)
            name = self._label_name()
            series = self.column(name, "label column")
            if not pd.api.types.is_numeric_dtype(series):
                raise InputError(f"label column {name!r} is not numeric (regression)", subject=name)
            return series.to_numpy(dtype=np.float64)

        return self._once("y_numeric", compute)

    # -- model outputs ---------------------------------------------------------------------
    def _model_output(self) -> tuple[npt.NDArray[Any] | None, FloatArray | None]:
        """(predict output or None, positive-class probability or None), one model call."""

        def compute() -> tuple[npt.NDArray[Any] | None, FloatArray | None]:
            assert self.model is not None
            model = self.model
            X = self.features()
            self.model_calls += 1
            try:
                if model.has_proba:
                    proba = model.predict_proba(X)
                    index = model.class_index(self.spec.positive_label)
                    result: tuple[npt.NDArray[Any] | None, FloatArray | None] = (
                        None,
                        proba[:, index],
                    )
                else:
                    result = (np.asarray(model.predict(X)), None)
            except InputError:
                raise
            except Exception as exc:  # the user's model may raise anything
                method = "predict_proba" if model.has_proba else "predict"
                raise InputError(
                    f"model.{method} raised {type(exc).__name__}: {exc}", subject="model"
                ) from None
            for output in result:
                if output is not None and len(output) != len(X):
                    raise InputError(
                        f"the model returned {len(output)} predictions for {len(X)} rows",
                        subject="model",
                    )
            return result

        return self._once("model_output", compute)

    def scores(self) -> FloatArray:
        """Score (probability) of the positive label."""

        def compute() -> FloatArray:
            if self._given_scores is not None:
                return self._check_length(self._given_scores, "scores")
            if self.spec.score is not None:
                series = self.column(self.spec.score, "score column")
                if not pd.api.types.is_numeric_dtype(series):
                    raise InputError(
                        f"score column {self.spec.score!r} is not numeric", subject=self.spec.score
                    )
                return series.to_numpy(dtype=np.float64)
            if self.model is not None:
                _, proba = self._model_output()
                if proba is not None:
                    return proba
            raise InputError(NEEDS_SCORES, subject="needs")

        return self._once("scores", compute)

    def _check_length(self, values: npt.NDArray[Any], what: str) -> npt.NDArray[Any]:
        if values.ndim != 1 or len(values) != len(self.frame):
            raise InputError(
                f"{what} have shape {values.shape}; expected ({len(self.frame)},), one per data row",
                subject=what,
            )
        return values

    def _threshold(self) -> float:
        return 0.5 if self.spec.threshold is None else self.spec.threshold

    def y_pred(self) -> BoolArray:
        """Binary decisions (True = positive)."""

        def compute() -> BoolArray:
            if self._given_predictions is not None:
                values = pd.Series(self._check_length(self._given_predictions, "predictions"))
                return self._binary(values, "predictions", "predictions")
            if self.spec.prediction is not None:
                name = self.spec.prediction
                return self._binary(
                    self.column(name, "prediction column"), "prediction column", name
                )
            if self._given_scores is not None or self.spec.score is not None:
                return self.scores() >= self._threshold()
            if self.model is not None:
                predicted, proba = self._model_output()
                if proba is not None:
                    return proba >= self._threshold()
                assert predicted is not None
                return self._binary(pd.Series(predicted), "model predictions", "predict()")
            raise InputError(NEEDS_PREDICTIONS, subject="predictions")

        return self._once("y_pred", compute)

    def predictions_numeric(self) -> FloatArray:
        """Numeric predictions: regression outputs, or scores / 0-1 decisions for classifiers."""

        def compute() -> FloatArray:
            if self.task == "classification":
                try:
                    return self.scores()
                except InputError:
                    return self.y_pred().astype(np.float64)
            if self._given_predictions is not None:
                return self._check_length(self._given_predictions, "predictions").astype(np.float64)
            if self.spec.prediction is not None:
                series = self.column(self.spec.prediction, "prediction column")
                if not pd.api.types.is_numeric_dtype(series):
                    raise InputError(
                        f"prediction column {self.spec.prediction!r} is not numeric",
                        subject="prediction",
                    )
                return series.to_numpy(dtype=np.float64)
            if self.model is not None:
                predicted, _ = self._model_output()
                if predicted is None:
                    raise InputError(
                        "the model is a classifier; regression metrics need a regressor",
                        subject="model",
                    )
                return np.asarray(predicted, dtype=np.float64)
            raise InputError(NEEDS_PREDICTIONS, subject="predictions")

        return self._once("predictions_numeric", compute)

    # -- groups and metrics (EvalContext) --------------------------------------------------
    def grouping(self, by: Sequence[str]) -> Grouping:
        key = ("grouping", tuple(by))
        return self._once(key, lambda: factorize(self.frame, tuple(by)))

    def _metric_arrays(
        self, metric: str, grouping: Grouping | None
    ) -> tuple[FloatArray, float | None]:
        """(per-group values with NaN for undefined, overall value)."""
        n_rows = len(self.frame)
        codes = grouping.codes if grouping is not None else np.zeros(n_rows, dtype=np.int64)
        n_groups = grouping.n_groups if grouping is not None else 1
        if metric in COUNT_METRICS:
            needs_label = metric != "selection_rate"
            if needs_label and self.task == "regression":
                raise InputError(
                    f"{metric} needs binary labels, but the task is regression; set "
                    "target.positive_label to audit one class, or use a regression metric",
                    subject="task",
                )
            y_pred = self.y_pred()
            y_true = self.y_true() if needs_label else np.zeros(n_rows, dtype=bool)
            per_group = COUNT_METRICS[metric](confusion_counts(codes, n_groups, y_true, y_pred))
            overall = COUNT_METRICS[metric](
                confusion_counts(np.zeros(n_rows, dtype=np.int64), 1, y_true, y_pred)
            )
        elif metric in VALUE_METRICS:
            p = self.predictions_numeric()
            y = self.y_numeric() if metric != "mean_prediction" else np.zeros(n_rows)
            per_group = value_metric(metric, codes, n_groups, y, p)
            overall = value_metric(metric, np.zeros(n_rows, dtype=np.int64), 1, y, p)
        else:
            raise InputError(f"{metric} is not available per group", subject=metric)
        total = float(overall[0])
        return per_group, None if np.isnan(total) else total

    # -- attributions and proxies ------------------------------------------------------------
    def explanation(self, max_rows: int | None = None) -> Attribution:
        """SHAP attributions of the model on its inputs, computed once per run (and max_rows).

        ``max_rows`` (a rule's own) overrides the policy's ``attribution.max_rows``.
        """

        def compute() -> Attribution:
            if self.model is None:
                raise InputError(NEEDS_MODEL, subject="needs")
            from rulecheck.engines.attribution import explain

            spec = self.attribution_spec
            return explain(
                self.model,
                self.features(),
                explainer=spec.explainer,  # type: ignore[arg-type]  # validated by the policy
                output=spec.output,  # type: ignore[arg-type]  # validated by the policy
                max_rows=spec.max_rows if max_rows is None else max_rows,
                seed=spec.seed,
                positive_class=self.spec.positive_label,
                background_size=spec.background_size,
                deadline=self.deadline,
            )

        key = "explanation" if max_rows is None else ("explanation", max_rows)
        return self._uncached_timeouts(key, compute)

    def attribution(self, by: tuple[str, ...], max_rows: int | None = None) -> AttributionTable:
        def compute() -> AttributionTable:
            return _attribution_table(self.explanation(max_rows), self.grouping(by) if by else None)

        key = ("attribution", tuple(by), max_rows)
        return _naming("attribution", lambda: self._uncached_timeouts(key, compute))

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

            spec = self.attribution_spec
            loss = get_loss(name, registry=self.losses)
            result = explain_loss(
                self.model,
                self.features(),
                self.y_true(),
                loss=loss,
                params=params,
                explainer=spec.explainer,  # type: ignore[arg-type]  # validated by the policy
                max_rows=spec.max_rows if max_rows is None else max_rows,
                seed=spec.seed,
                positive_class=self.spec.positive_label,
                background_size=spec.background_size,
                deadline=self.deadline,
            )
            return _attribution_table(result, self.grouping(by) if by else None)

        key = ("loss_attribution", name, tuple(sorted(params.items())), tuple(by), max_rows)
        return _naming(
            f"loss attribution of {name!r}", lambda: self._uncached_timeouts(key, compute)
        )

    def _uncached_timeouts(self, key: object, compute: Callable[[], T]) -> T:
        """``_once``, but a run past the deadline is not cached: the next rule has its own."""
        try:
            return self._once(key, compute)
        except TimeBudgetExceeded:
            self._cache.pop(key, None)
            raise

    def resolve_features(self, selectors: Sequence[str]) -> tuple[str, ...]:
        """Model inputs named by ``selectors``: names, globs ('zip_*') or policy feature groups.

        A column of the data that the model does not read is kept (its attribution is 0); a
        name that is neither, or a glob that matches no input, is an InputError.
        """
        inputs = [str(c) for c in self.features().columns]
        found: list[str] = []
        for selector in selectors:
            members = self.feature_groups.get(selector, (selector,))
            for member in members:
                if any(ch in member for ch in "*?["):
                    matched = [c for c in inputs if fnmatch.fnmatchcase(c, member)]
                    if not matched:
                        raise InputError(
                            f"feature pattern {member!r} matches no model input "
                            f"(inputs: {', '.join(inputs[:30])})",
                            subject=member,
                        )
                    found.extend(matched)
                elif member in inputs or member in self.frame.columns:
                    found.append(member)
                else:
                    raise InputError(
                        missing_column_message(member, self.frame, "feature"), subject=member
                    )
        return tuple(dict.fromkeys(found))

    def proxy_scores(
        self, protected: str, candidates: Sequence[str] | None, measure: str
    ) -> tuple[ProxyScore, ...]:
        """Association of each candidate feature with the protected attribute."""

        def compute() -> tuple[ProxyScore, ...]:
            from rulecheck.engines.proxy import associations

            attribute = self.column(protected, "protected attribute column")
            X = self._candidates(protected, candidates)
            scores = associations(X, attribute, measure=measure)  # type: ignore[arg-type]
            return tuple(ProxyScore(str(name), a.score, a.measure) for name, a in scores.items())

        key = ("proxy", protected, None if candidates is None else tuple(candidates), measure)
        return self._once(key, compute)

    def protected_auc(self, protected: str, candidates: Sequence[str] | None) -> float:
        """Cross-validated ROC AUC of predicting the protected attribute from the candidates."""

        def compute() -> float:
            from rulecheck.engines.proxy import predictability_auc

            attribute = self.column(protected, "protected attribute column")
            X = self._candidates(protected, candidates)
            return predictability_auc(X, attribute, seed=self.attribution_spec.seed)

        key = ("protected_auc", protected, None if candidates is None else tuple(candidates))
        return self._once(key, compute)

    def _candidates(self, protected: str, candidates: Sequence[str] | None) -> pd.DataFrame:
        if candidates is None:
            names = [str(c) for c in self.features().columns if c != protected]
        else:
            names = [n for n in self.resolve_features(candidates) if n != protected]
        if not names:
            raise InputError(f"no candidate features besides {protected!r}", subject=protected)
        return self.frame[names]

    # -- losses --------------------------------------------------------------------------
    def margins(self) -> FloatArray:
        """Decision-function values of the model (for margin losses such as hinge)."""

        def compute() -> FloatArray:
            if self.model is None or not self.model.has_margins:
                raise InputError(
                    "needs margins: a model with decision_function or log-odds (a margin loss "
                    "such as hinge)",
                    subject="needs",
                )
            X = self.features()
            self.model_calls += 1
            try:
                values = self.model.margins(X)
            except InputError:
                raise
            except Exception as exc:  # the user's model may raise anything
                raise InputError(
                    f"model margins (decision_function) raised {type(exc).__name__}: {exc}",
                    subject="model",
                ) from None
            if values.ndim != 1:
                raise InputError(
                    "the model returned several margin columns; margin losses need a binary model",
                    subject="model",
                )
            return self._check_length(values, "margins")

        return self._once("margins", compute)

    def loss_per_row(self, name: str, params: Mapping[str, float]) -> FloatArray:
        """Per-row loss of a built-in or registered loss, computed once per (loss, params)."""
        key = ("loss", name, tuple(sorted(params.items())))

        def compute() -> FloatArray:
            spec = get_loss(name, registry=self.losses)
            if spec.input == "value":
                y_true: npt.NDArray[Any] = self.y_numeric()
                y_pred: npt.NDArray[Any] = self.predictions_numeric()
            else:
                y_true = self.y_true().astype(np.int64)
                if spec.input == "probability":
                    y_pred = self.scores()
                elif spec.input == "decision":
                    y_pred = self.y_pred().astype(np.int64)
                else:
                    y_pred = self.margins()
            return per_row_loss(spec, y_true, y_pred, params)

        return _naming(f"loss {name!r}", lambda: self._once(key, compute))

    def group_loss(self, name: str, params: Mapping[str, float], by: tuple[str, ...]) -> GroupTable:
        """Mean loss per group (and overall), from one bincount."""

        def compute() -> GroupTable:
            grouping = self.grouping(by)
            per_row = self.loss_per_row(name, params)
            means, counts = group_mean_loss(per_row, grouping.codes, grouping.n_groups)
            overall, _ = group_mean_loss(per_row, np.zeros(len(per_row), dtype=np.int64), 1)
            return GroupTable(
                metric=f"mean {name}",
                by=tuple(by),
                keys=grouping.keys,
                n=tuple(int(n) for n in counts),
                values=tuple(None if np.isnan(v) else float(v) for v in means),
                overall=float(overall[0]),
                overall_n=len(per_row),
            )

        key = ("group_loss", name, tuple(sorted(params.items())), tuple(by))
        return self._once(key, compute)

    def group_metric(self, metric: str, by: tuple[str, ...]) -> GroupTable:
        def compute() -> GroupTable:
            grouping = self.grouping(by)
            values, overall = self._metric_arrays(metric, grouping)
            return GroupTable(
                metric=metric,
                by=tuple(by),
                keys=grouping.keys,
                n=tuple(int(n) for n in grouping.sizes()),
                values=tuple(None if np.isnan(v) else float(v) for v in values),
                overall=overall,
                overall_n=len(self.frame),
            )

        return _naming(metric, lambda: self._once(("group_metric", metric, tuple(by)), compute))

    def overall_metric(self, metric: str) -> float | None:
        def compute() -> float | None:
            if metric == "roc_auc":
                return _roc_auc(self.y_true(), self.scores())
            if metric == "log_loss":
                return _log_loss(self.y_true(), self.scores())
            _, overall = self._metric_arrays(metric, None)
            return overall

        return _naming(metric, lambda: self._once(("overall", metric), compute))


def _attribution_table(result: Attribution, grouping: Grouping | None) -> AttributionTable:
    """Mean |contribution| per feature over the explained rows, overall and per group."""
    magnitude = np.abs(result.values)
    table = AttributionTable(
        features=result.features,
        mean_abs=tuple(float(v) for v in magnitude.mean(axis=0)),
        explainer=result.explainer,
        output=result.output,
        rows=result.rows,
        seed=result.seed,
        background_rows=result.background_rows,
        notes=result.notes,
    )
    if grouping is None:
        return table
    codes = grouping.codes if result.row_index is None else grouping.codes[result.row_index]
    counts = np.bincount(codes, minlength=grouping.n_groups)
    sums = np.column_stack(
        [np.bincount(codes, weights=column, minlength=grouping.n_groups) for column in magnitude.T]
    )
    present = counts > 0
    means = sums[present] / counts[present, None]
    return replace(
        table,
        by=grouping.by,
        group_keys=tuple(k for k, p in zip(grouping.keys, present, strict=True) if p),
        group_n=tuple(int(c) for c in counts[present]),
        group_mean_abs=tuple(tuple(float(v) for v in row) for row in means),
    )


def _naming(metric: str, compute: Callable[[], T]) -> T:
    """Prefix 'needs ...' messages with the metric that needs it."""
    try:
        return compute()
    except InputError as exc:
        if exc.subject == "needs":
            raise InputError(f"{metric} {exc.message}", subject=metric) from None
        raise


def _roc_auc(y_true: BoolArray, scores: FloatArray) -> float | None:
    from sklearn.metrics import roc_auc_score

    if y_true.all() or not y_true.any():
        return None  # undefined with a single class
    return float(roc_auc_score(y_true, scores))


def _log_loss(y_true: BoolArray, scores: FloatArray) -> float:
    from sklearn.metrics import log_loss

    if np.any((scores < 0) | (scores > 1)):
        raise InputError(
            "log_loss needs probabilities in [0, 1]; the scores are outside", subject="scores"
        )
    return float(log_loss(y_true, scores, labels=[False, True]))
