"""Targets: the label, decisions, scores, margins and sample weights of one audit, resolved once.

:class:`Targets` is the one place that turns the policy's ``target`` (columns, a model adapter,
arrays given through the API) into the arrays that metrics need, and the one place that decides
whether a value is "the positive label" (:func:`matches`, built on
:func:`rulecheck._measures.same_value`). Everything is computed on first use and cached,
failures included.

Model outputs are computed once on all rows of the audit. A slice of the rows (a rule's
``where:`` or rows dropped for missing group values) is a :meth:`Targets.subset` that indexes the
parent's model outputs and checks its own columns, so the model is never called again for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck._measures import _as_number, same_value
from rulecheck._traps import not_found_hint
from rulecheck.engines._cache import Cache
from rulecheck.engines.groupstats import missing_column_message
from rulecheck.engines.model import ModelAdapter
from rulecheck.errors import InputError

__all__ = ["Label", "TargetSpec", "Targets", "matches"]

Label = str | int | float | bool
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]
Task = Literal["classification", "regression"]

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
NEEDS_MARGINS = (
    "needs margins: a model with decision_function or log-odds (a margin loss such as hinge)"
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
    task: Task | None = None
    sample_weight: str | None = None


def describe_values(values: pd.Series, limit: int = 6) -> str:
    counts = values.value_counts()
    shown = ", ".join(f"{v!r} ({n})" for v, n in counts.head(limit).items())
    return shown + (f" and {len(counts) - limit} more" if len(counts) > limit else "")


def matches(series: pd.Series, value: object) -> BoolArray:
    """Rows of ``series`` whose value names ``value`` (:func:`same_value`); missing never does.

    Numeric columns compared with a number (or a numeric string such as ``"1"``) are compared as
    floats in one vectorized step; any other column is factorized and each distinct value is
    compared once, so the cost is one pass over the rows whatever the dtype.
    """
    number = None if isinstance(value, bool) else _as_number(value)
    if (
        number is not None
        and pd.api.types.is_numeric_dtype(series.dtype)
        and not pd.api.types.is_bool_dtype(series.dtype)
    ):
        return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan) == number)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    hits = np.array([same_value(u, value) for u in uniques] + [False], dtype=bool)
    return hits[codes]  # code -1 (missing) takes the trailing False


def _integer_zero_one(series: pd.Series) -> bool:
    """Whether ``series`` is a NumPy integer column of 0s and 1s only: one min and one max, 10x
    cheaper than comparing every value with 0 and with 1 as floats."""
    dtype = series.dtype
    if not (isinstance(dtype, np.dtype) and dtype.kind in "iu"):
        return False
    values = series.to_numpy()
    return len(values) == 0 or (int(values.min()) >= 0 and int(values.max()) <= 1)


def _zero_one(series: pd.Series) -> bool:
    """Whether every value of the numeric ``series`` (without missing values) is 0 or 1."""
    if _integer_zero_one(series):
        return True
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu":
        return False
    values = series.to_numpy(dtype=np.float64)
    return bool(((values == 0) | (values == 1)).all())


def _plain_categories(series: pd.Series) -> pd.Series:
    """A categorical column of numbers or bools as those values (a 0/1 label stored as category)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = series.cat.categories
        if pd.api.types.is_numeric_dtype(categories.dtype) or pd.api.types.is_bool_dtype(
            categories.dtype
        ):
            return series.astype(categories.dtype)
    return series


NEEDS_MODEL_FOR_PROPERTIES = (
    "needs a model to call on changed inputs: give target.model (CLI: --model); precomputed "
    "predictions cannot say what the model would decide for a changed row"
)


class Targets:
    """Label, decisions, scores, margins and weights of one audit (or of a slice of its rows)."""

    def __init__(
        self,
        frame: pd.DataFrame,
        spec: TargetSpec,
        *,
        model: ModelAdapter | None = None,
        predictions: npt.ArrayLike | None = None,
        scores: npt.ArrayLike | None = None,
        sample_weight: npt.ArrayLike | None = None,
    ) -> None:
        self.frame = frame
        self.spec = spec
        self.model = model
        self._given_predictions = None if predictions is None else np.asarray(predictions)
        self._given_scores = None if scores is None else np.asarray(scores, dtype=np.float64)
        self._given_weights = (
            None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        )
        self._root: Targets = self
        self._rows: IntArray | None = None
        self._cache = Cache()
        self.model_calls = 0

    def subset(self, rows: IntArray, frame: pd.DataFrame) -> Targets:
        """The targets of ``frame`` = this frame's rows at positions ``rows`` (model not re-run)."""
        view = Targets(frame, self.spec, model=self.model)
        view._root = self._root
        view._rows = rows if self._rows is None else self._rows[rows]
        return view

    def _from_root(self, values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return values if self._rows is None else values[self._rows]

    # -- columns ---------------------------------------------------------------------------
    def column(self, name: str, what: str) -> pd.Series:
        """A column of the data without missing values (InputError naming it otherwise)."""
        if name not in self.frame.columns:
            raise InputError(missing_column_message(name, self.frame, what), subject=name)
        series = self.frame[name]
        missing = series.isna().to_numpy()
        count = int(missing.sum())
        if count:
            raise InputError(
                f"{what} {name!r} has {count} missing value{'s' if count > 1 else ''} "
                f"(first at row {int(np.flatnonzero(missing)[0])})",
                subject=name,
            )
        return series

    def features(self) -> pd.DataFrame:
        """The model's input columns (default: every column but label, prediction and score)."""

        def compute() -> pd.DataFrame:
            names = self.spec.features
            if names is None and self.model is not None:
                names = self.model.input_columns([str(c) for c in self.frame.columns])
            if names is None:
                skip = {self.spec.label, self.spec.prediction, self.spec.score}
                skip.add(self.spec.sample_weight)
                names = tuple(str(c) for c in self.frame.columns if c not in skip)
            missing = [n for n in names if n not in self.frame.columns]
            if missing:
                raise InputError(
                    f"model features missing from the data: {', '.join(map(repr, missing))}",
                    subject="features",
                )
            return self.frame[list(names)]

        return self._cache.once("features", compute)

    # -- task and labels -------------------------------------------------------------------
    @property
    def task(self) -> Task:
        if self._root is not self:
            return self._root.task
        return self._cache.once("task", self._detect_task)

    def _detect_task(self) -> Task:
        if self.spec.task is not None:
            return self.spec.task
        if self.spec.positive_label is not None or self.spec.labels is not None:
            return "classification"
        if self.model is not None:
            return "regression" if self.model.classes is None else "classification"
        # The label decides when there is one; else the prediction column.
        present = [n for n in (self.spec.label, self.spec.prediction) if n in self.frame.columns]
        for name in present[:1]:
            if name is not None:
                series = _plain_categories(self.frame[name].dropna())
                numeric = pd.api.types.is_numeric_dtype(series.dtype)
                if (
                    numeric
                    and not pd.api.types.is_bool_dtype(series.dtype)
                    and not _zero_one(series)
                ):
                    return "regression"
        return "classification"

    def binary(self, series: pd.Series, what: str, column: str) -> BoolArray:
        """True where ``series`` holds the positive label (checked against ``labels``)."""
        spec = self.spec
        if spec.labels is not None:
            allowed = np.zeros(len(series), dtype=bool)
            for label in spec.labels:
                allowed |= matches(series, label)
            if not allowed.all():
                raise InputError(
                    UNEXPECTED_VALUES.format(
                        what=what,
                        column=column,
                        labels=list(spec.labels),
                        values=describe_values(series[~allowed]),
                    ),
                    subject=column,
                )
        if spec.positive_label is not None:
            return matches(series, spec.positive_label)
        series = _plain_categories(series)
        if pd.api.types.is_bool_dtype(series.dtype):
            return series.to_numpy(dtype=bool)
        if _integer_zero_one(series):
            ones: BoolArray = series.to_numpy() == 1
            return ones
        if pd.api.types.is_numeric_dtype(series.dtype):
            values = series.to_numpy(dtype=np.float64)
            positive = values == 1
            if (positive | (values == 0)).all():
                return np.asarray(positive)
        message = NOT_BINARY.format(what=what, column=column, values=describe_values(series, 3))
        scores = pd.api.types.is_numeric_dtype(series.dtype) and series.between(0, 1).all()
        if what != "label column" and scores:
            message += "; if these are scores, give them as target.score (CLI: --score) instead"
        raise InputError(message, subject=column)

    def _label_name(self) -> str:
        if self.spec.label is None:
            raise InputError(NEEDS_LABEL, subject="needs")
        return self.spec.label

    def y_true(self) -> BoolArray:
        """Binary labels (True = positive)."""

        def compute() -> BoolArray:
            name = self._label_name()
            series = self.column(name, "label column")
            result = self.binary(series, "label column", name)
            positive = self.spec.positive_label
            if positive is not None and not result.any() and self.spec.labels is None:
                raise InputError(
                    POSITIVE_ABSENT.format(
                        positive=positive,
                        what="label column",
                        column=name,
                        values=describe_values(series),
                    )
                    + not_found_hint(positive),
                    subject=name,
                )
            return result

        return self._cache.once("y_true", compute)

    def y_numeric(self) -> FloatArray:
        """Labels as numbers (regression, or 0/1 for classification)."""

        def compute() -> FloatArray:
            if self.task == "classification":
                return self.y_true().astype(np.float64)
            name = self._label_name()
            series = self.column(name, "label column")
            if not pd.api.types.is_numeric_dtype(series.dtype):
                raise InputError(f"label column {name!r} is not numeric (regression)", subject=name)
            return series.to_numpy(dtype=np.float64)

        return self._cache.once("y_numeric", compute)

    def weights(self) -> FloatArray | None:
        """Sample weights (non-negative, finite, not all zero), or None when rows weigh 1."""

        def compute() -> FloatArray | None:
            root = self._root
            if root._given_weights is not None:
                values = self._from_root(root._check_length(root._given_weights, "sample_weight"))
                what = "sample_weight"
            elif self.spec.sample_weight is not None:
                name = self.spec.sample_weight
                series = self.column(name, "sample_weight column")
                if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(
                    series.dtype
                ):
                    raise InputError(
                        f"sample_weight column {name!r} is not numeric (dtype {series.dtype})",
                        subject=name,
                    )
                values = series.to_numpy(dtype=np.float64)
                what = f"sample_weight column {name!r}"
            else:
                return None
            bad = ~np.isfinite(values) | (values < 0)
            if bad.any():
                first = int(np.flatnonzero(bad)[0])
                raise InputError(
                    f"{what} has {int(bad.sum())} negative, missing or infinite weights "
                    f"(first at row {first}: {float(values[first])!r}); weights must be finite and >= 0",
                    subject="sample_weight",
                )
            if len(values) and not values.any():
                raise InputError(f"{what} is 0 on every row", subject="sample_weight")
            return values

        return self._cache.once("weights", compute)

    # -- model outputs (computed on the root's rows, once) -----------------------------------
    def _check_length(self, values: npt.NDArray[Any], what: str) -> npt.NDArray[Any]:
        if values.ndim != 1 or len(values) != len(self.frame):
            raise InputError(
                f"{what} have shape {values.shape}; expected ({len(self.frame)},), one per data row",
                subject=what,
            )
        return values

    def _call(self, method: str, call: Callable[[], npt.NDArray[Any]]) -> npt.NDArray[Any]:
        """One call of the user's model, counted; whatever it raises becomes an InputError."""
        self.model_calls += 1
        try:
            return call()
        except InputError:
            raise
        except Exception as exc:  # the user's model may raise anything
            raise InputError(
                f"model.{method} raised {type(exc).__name__}: {exc}", subject="model"
            ) from None

    def _model_output(self) -> tuple[npt.NDArray[Any] | None, FloatArray | None]:
        """(predict output or None, positive-class probability or None), one model call."""
        root = self._root
        if root is not self:
            predicted, proba = root._model_output()
            return (
                None if predicted is None else self._from_root(predicted),
                None if proba is None else self._from_root(proba),
            )

        def compute() -> tuple[npt.NDArray[Any] | None, FloatArray | None]:
            assert self.model is not None
            model = self.model
            X = self.features()
            result: tuple[npt.NDArray[Any] | None, FloatArray | None]
            if model.has_proba:
                index = model.class_index(self.spec.positive_label)
                result = (
                    None,
                    self._call("predict_proba", lambda: model.predict_proba(X))[:, index],
                )
            else:
                result = (self._call("predict", lambda: np.asarray(model.predict(X))), None)
            for output in result:
                if output is not None and len(output) != len(X):
                    raise InputError(
                        f"the model returned {len(output)} predictions for {len(X)} rows",
                        subject="model",
                    )
            return result

        return self._cache.once("model_output", compute)

    def scores(self) -> FloatArray:
        """Score (probability) of the positive label."""

        def compute() -> FloatArray:
            root = self._root
            if root._given_scores is not None:
                return self._from_root(root._check_length(root._given_scores, "scores"))
            if self.spec.score is not None:
                series = self.column(self.spec.score, "score column")
                if not pd.api.types.is_numeric_dtype(series.dtype):
                    raise InputError(
                        f"score column {self.spec.score!r} is not numeric", subject=self.spec.score
                    )
                return series.to_numpy(dtype=np.float64)
            if self.model is not None:
                _, proba = self._model_output()
                if proba is not None:
                    return proba
            raise InputError(NEEDS_SCORES, subject="needs")

        return self._cache.once("scores", compute)

    def _threshold(self) -> float:
        return 0.5 if self.spec.threshold is None else self.spec.threshold

    def y_pred(self) -> BoolArray:
        """Binary decisions (True = positive)."""

        def compute() -> BoolArray:
            root = self._root
            if root._given_predictions is not None:
                given = pd.Series(
                    self._from_root(root._check_length(root._given_predictions, "predictions"))
                )
                return self._decisions(given, "predictions", "predictions")
            if self.spec.prediction is not None:
                name = self.spec.prediction
                column = self.column(name, "prediction column")
                return self._decisions(column, "prediction column", name)
            if root._given_scores is not None or self.spec.score is not None:
                return self.scores() >= self._threshold()
            if self.model is not None:
                predicted, proba = self._model_output()
                if proba is not None:
                    return proba >= self._threshold()
                assert predicted is not None
                return self._decisions(pd.Series(predicted), "model predictions", "predict()")
            raise InputError(NEEDS_PREDICTIONS, subject="predictions")

        return self._cache.once("y_pred", compute)

    def predict_frame(self, X: pd.DataFrame) -> tuple[FloatArray | None, BoolArray]:
        """The model's positive-class score (None for a model without probabilities) and its
        decisions for the rows of ``X`` (model inputs, as :meth:`features` gives them), in one
        batched model call, with the same output and threshold as the audit's own decisions.
        Property rules score their perturbed copies of the data with it.
        """
        model = self.model
        if model is None:
            raise InputError(NEEDS_MODEL_FOR_PROPERTIES, subject="needs")
        if model.has_proba:
            index = model.class_index(self.spec.positive_label)
            proba = self._call("predict_proba", lambda: model.predict_proba(X))[:, index]
            return np.asarray(proba, dtype=np.float64), proba >= self._threshold()
        predicted = self._call("predict", lambda: np.asarray(model.predict(X)))
        decisions = self.binary(pd.Series(predicted), "model predictions", "predict()")
        return None, decisions

    def _decisions(self, series: pd.Series, what: str, column: str) -> BoolArray:
        """Decisions from given labels: :meth:`binary`, and when none is the positive label, a
        check that the decisions speak the label's language (0/1 decisions against a yes/no label
        would otherwise read as "never positive", a silently wrong verdict)."""
        result = self.binary(series, what, column)
        positive = self.spec.positive_label
        label = self.spec.label
        if result.any() or positive is None or label is None or label not in self.frame.columns:
            return result
        labels = self.frame[label].dropna().unique()
        foreign = [
            v for v in pd.unique(series.dropna()) if not any(same_value(v, x) for x in labels)
        ]
        if foreign:
            raise InputError(
                f"{what} {column!r} never holds positive_label {positive!r}, and its values "
                f"{sorted(map(str, foreign))[:6]} never occur in label column {label!r} "
                f"(values: {sorted(map(str, labels))[:6]}): decisions must be written with the "
                "label's values",
                subject=column,
            )
        return result

    def predictions_numeric(self) -> FloatArray:
        """Numeric predictions: regression outputs, or scores / 0-1 decisions for classifiers."""

        def compute() -> FloatArray:
            if self.task == "classification":
                try:
                    return self.scores()
                except InputError:
                    return self.y_pred().astype(np.float64)
            root = self._root
            if root._given_predictions is not None:
                given = root._check_length(root._given_predictions, "predictions")
                return self._from_root(given).astype(np.float64)
            if self.spec.prediction is not None:
                series = self.column(self.spec.prediction, "prediction column")
                if not pd.api.types.is_numeric_dtype(series.dtype):
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

        return self._cache.once("predictions_numeric", compute)

    def margins(self) -> FloatArray:
        """The model's margin (log-odds or decision function) of the positive class."""
        root = self._root
        if root is not self:
            return self._from_root(root.margins())

        def compute() -> FloatArray:
            if self.model is None or not self.model.has_margins:
                raise InputError(NEEDS_MARGINS, subject="needs")
            model, X = self.model, self.features()
            values = self._call(
                "decision_function", lambda: np.asarray(model.margins(X), dtype=np.float64)
            )
            if values.ndim != 1:
                raise InputError(
                    "the model returned several margin columns; margin losses need a binary model",
                    subject="model",
                )
            return self._check_length(values, "margins")

        return self._cache.once("margins", compute)
