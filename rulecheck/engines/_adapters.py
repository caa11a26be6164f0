"""The model adapters: :func:`make_adapter` and the scikit-learn-like adapter.

Each subclass of :class:`~rulecheck.engines.model.ModelAdapter` knows one kind of model: how to
ask it for probabilities and margins, which classes it has, how it stores feature names and
categories, and how it is explained exactly (:class:`~rulecheck.engines.model.Explainable`).
Native LightGBM and XGBoost Boosters are in ``_boosters``, PyTorch modules in ``_torch``. These
modules are the only ones that call the model objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck.engines._boosters import (
    CATEGORICAL_LOSS,
    MARGIN_NOTE,
    PROBABILITY_NOTE,
    Categorical,
    LightGBMAdapter,
    XGBCategorical,
    XGBoostAdapter,
    lightgbm_categories,
    link,
    link_name,
    two_columns,
    xgboost_categories,
)
from rulecheck.engines._models import linear_kind, split_pipeline, top_module, tree_kind
from rulecheck.engines._torch import TorchAdapter, is_torch_module
from rulecheck.engines.model import (
    PREPROCESS_NOT_TORCH,
    Explainable,
    FloatArray,
    ModelAdapter,
    ModelOutput,
    sigmoid,
)
from rulecheck.errors import InputError
from rulecheck.verdict import Scalar

__all__ = [
    "CallableAdapter",
    "LightGBMAdapter",
    "SklearnAdapter",
    "TorchAdapter",
    "XGBoostAdapter",
    "make_adapter",
]


def make_adapter(
    model: Any, output: ModelOutput, preprocess: Callable[[pd.DataFrame], Any] | None = None
) -> ModelAdapter:
    """The adapter for a fitted model object (``preprocess``: PyTorch modules only)."""
    module, name = type(model).__module__, type(model).__name__
    if is_torch_module(model):
        return TorchAdapter(model, output, preprocess)
    if preprocess is not None:
        raise InputError(PREPROCESS_NOT_TORCH.format(model=name), subject="preprocess")
    if module.startswith("lightgbm") and name == "Booster":
        return LightGBMAdapter(model, output)
    if module.startswith("xgboost") and name == "Booster":
        return XGBoostAdapter(model, output)
    if hasattr(model, "predict"):
        return SklearnAdapter(model, output)
    if callable(model):
        return CallableAdapter(model, output)
    raise InputError(
        f"model of type {name} has no predict method; pass a fitted scikit-learn-style "
        "estimator, a LightGBM or XGBoost Booster, a torch.nn.Module or a callable "
        "f(DataFrame) -> positive-class scores",
        subject="model",
    )


def _plain(value: Any) -> Scalar:
    return value.item() if isinstance(value, np.generic) else value  # type: ignore[no-any-return]


# --- scikit-learn-like objects --------------------------------------------------------------------


class SklearnAdapter(ModelAdapter):
    """scikit-learn estimators and Pipelines, LightGBM/XGBoost scikit-learn wrappers, and any
    object with ``predict`` (and ``predict_proba`` / ``decision_function`` for classifiers)."""

    kind = "sklearn"

    def __init__(self, model: Any, output: ModelOutput) -> None:
        classes_attr = getattr(model, "classes_", None)
        classes = None if classes_attr is None else tuple(_plain(c) for c in classes_attr)
        names = getattr(model, "feature_names_in_", None)
        self._steps, self._final = split_pipeline(model)
        # LightGBM's scikit-learn API with a callable objective warns and returns raw scores
        # from predict_proba and predict: read those as margins.
        custom = top_module(self._final) == "lightgbm" and callable(
            getattr(self._final, "objective_", None)
        )
        self._margin_mode = custom or output == "margin"
        self._probability_mode = output == "probability" and classes is None
        if classes is None and (self._margin_mode or self._probability_mode):
            classes = (0, 1)  # a regressor declared to output margins or probabilities
        notes: list[str] = []
        if self._margin_mode and classes is not None:
            why = "has a custom objective" if custom else "is declared to output margins"
            notes.append(
                MARGIN_NOTE.format(model=type(model).__name__, why=why, link=link_name(classes))
            )
        if self._probability_mode:
            notes.append(PROBABILITY_NOTE.format(model=type(model).__name__))
        super().__init__(
            model,
            classes=classes,
            feature_names=None if names is None else tuple(str(n) for n in names),
            notes=notes,
        )
        self._categorical = _wrapper_categories(model)
        # Fitted without column names: the model reads positions, so give it a matrix (scikit-learn
        # warns about names it was not fitted with).
        self._by_position = names is None and hasattr(model, "n_features_in_")

    def _stored_name(self, column: str) -> str:
        # LightGBM's wrapper reports the names its booster stored, whitespace replaced by "_".
        if self._final is self._raw and top_module(self._raw) == "lightgbm":
            return re.sub(r"\s", "_", column)
        return column

    @property
    def n_features(self) -> int | None:
        count = getattr(self._raw, "n_features_in_", None)
        return None if count is None else int(count)

    def _input(self, X: pd.DataFrame) -> Any:
        X = self.prepare(X)
        return X.to_numpy() if self._by_position else X

    def prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        return X if self._categorical is None else self._categorical.cast(X, self._notes)

    @property
    def has_proba(self) -> bool:
        if self._classes is None:
            return False
        return self._margin_mode or self._probability_mode or hasattr(self._raw, "predict_proba")

    @property
    def has_margins(self) -> bool:
        if self._classes is None:
            return False
        return self._margin_mode or hasattr(self._raw, "decision_function")

    def _margins(self, X: pd.DataFrame) -> FloatArray:
        data = self._input(X)
        raw = self._raw
        if hasattr(raw, "decision_function"):
            out = raw.decision_function(data)
        elif self._margin_mode and top_module(self._final) == "lightgbm":
            out = raw.predict(data, raw_score=True)  # a Pipeline passes it to its last step
        elif self._margin_mode and top_module(self._final) == "xgboost":
            out = raw.predict(data, output_margin=True)
        elif self._margin_mode:
            out = raw.predict(data)
        else:
            raise InputError(f"{self.name} has no margins (decision_function)", subject="model")
        return np.asarray(out, dtype=np.float64)

    def _predict_proba(self, X: pd.DataFrame) -> FloatArray:
        if self._margin_mode:
            return link(self._margins(X))
        if self._probability_mode:
            return two_columns(np.asarray(self._raw.predict(self._input(X)), dtype=np.float64))
        return np.asarray(self._raw.predict_proba(self._input(X)), dtype=np.float64)

    def _predict(self, X: pd.DataFrame) -> npt.NDArray[Any]:
        if self._margin_mode or self._probability_mode:
            return self._labels(self._predict_proba(X))
        return np.asarray(self._raw.predict(self._input(X)))

    def explainable(self) -> Explainable:
        final, steps = self._final, tuple(self._steps)
        binary = self._classes is not None and len(self._classes) == 2
        tree = tree_kind(final)
        if tree is not None:
            logistic = tree[1] or (self._margin_mode and binary)
            blocker = CATEGORICAL_LOSS if self._categorical is not None else None
            return Explainable(
                steps,
                final,
                "tree",
                logistic=logistic,
                tree_probability=not self._margin_mode,
                probability_tree=tree[2],
                contributions=_wrapper_contributions(final),
                loss_tree_blocker=blocker,
            )
        linear = linear_kind(final)
        if linear is not None:
            coef = final.coef_.toarray() if hasattr(final.coef_, "toarray") else final.coef_
            intercept = np.atleast_1d(np.asarray(final.intercept_, dtype=np.float64))
            return Explainable(
                steps,
                final,
                "linear",
                logistic=linear,
                linear=(np.asarray(coef, dtype=np.float64), intercept),
            )
        return Explainable(steps, final, None)


def _wrapper_categories(model: Any) -> Categorical | XGBCategorical | None:
    """Categories recorded by a LightGBM/XGBoost scikit-learn wrapper used on its own."""
    module = top_module(model)
    if module == "lightgbm" and hasattr(model, "booster_"):
        lgb_cats = lightgbm_categories(model.booster_)
        return None if not lgb_cats else Categorical(lgb_cats, "LightGBM")
    if module == "xgboost" and hasattr(model, "get_booster"):
        try:
            booster = model.get_booster()
        except Exception:  # an unfitted wrapper: predict will say so
            return None
        cats = xgboost_categories(booster)
        return None if not cats else XGBCategorical(cats)
    return None


def _wrapper_contributions(est: Any) -> Any:
    """Native TreeSHAP of a LightGBM/XGBoost scikit-learn model; None for other trees."""
    module = top_module(est)
    if module == "lightgbm":
        return lambda matrix: np.asarray(est.predict(matrix, pred_contrib=True), dtype=np.float64)
    if module != "xgboost":
        return None
    import xgboost

    def contributions(matrix: Any) -> FloatArray:
        try:
            iterations = (0, int(est.best_iteration) + 1)
        except AttributeError:  # no early stopping: all trees, as est.predict uses
            iterations = (0, 0)
        dmatrix = xgboost.DMatrix(
            matrix,
            missing=est.missing,
            enable_categorical=bool(est.enable_categorical),
            feature_types=est.feature_types,
            nthread=est.n_jobs,
        )
        out = est.get_booster().predict(
            dmatrix, pred_contribs=True, iteration_range=iterations, validate_features=False
        )
        return np.asarray(out, dtype=np.float64)

    return contributions


# --- plain callables ------------------------------------------------------------------------------

_CALLABLE_SHAPE = (
    "model {name} returned {what} for {rows} rows; a callable model must return one "
    "positive-class {kind} per row (shape ({rows},))"
)


class CallableAdapter(ModelAdapter):
    """Any callable ``f(DataFrame) -> scores``: one positive-class probability per row (1-D),
    or one logit per row with ``model_output: margin``. Classes are (0, 1); explained by the
    model-agnostic explainers."""

    kind = "callable"

    def __init__(self, function: Callable[[pd.DataFrame], Any], output: ModelOutput) -> None:
        self._logits = output == "margin"
        notes = []
        if self._logits:
            notes.append(
                MARGIN_NOTE.format(
                    model=self._qualname(function),
                    why="is declared to output margins",
                    link="sigmoid",
                )
            )
        super().__init__(function, classes=(0, 1), feature_names=None, notes=notes)

    @staticmethod
    def _qualname(function: object) -> str:
        return str(getattr(function, "__qualname__", type(function).__name__))

    @property
    def name(self) -> str:
        """The callable's qualified name (``score_applicants``, ``Scorer``)."""
        return self._qualname(self._raw)

    @property
    def has_proba(self) -> bool:
        return True

    @property
    def has_margins(self) -> bool:
        return self._logits

    def _scores(self, X: pd.DataFrame) -> FloatArray:
        kind = "logit" if self._logits else "probability"
        try:
            raw = self._raw(X)
        except InputError:
            raise
        except Exception as exc:  # the user's function can raise anything
            raise InputError(
                f"model {self.name} failed on the data: {type(exc).__name__}: {exc}",
                subject="model",
            ) from exc
        if hasattr(raw, "detach"):  # a torch tensor
            raw = raw.detach().cpu().numpy()
        try:
            scores = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            what = f"a {type(raw).__name__} that is not numeric"
            raise InputError(
                _CALLABLE_SHAPE.format(name=self.name, what=what, rows=len(X), kind=kind),
                subject="model",
            ) from None
        if scores.ndim == 2 and scores.shape[1] == 1:
            scores = scores[:, 0]
        if scores.shape != (len(X),):
            what = f"shape {scores.shape}"
            raise InputError(
                _CALLABLE_SHAPE.format(name=self.name, what=what, rows=len(X), kind=kind),
                subject="model",
            )
        bad = ~np.isfinite(scores)
        if bad.any():
            raise InputError(
                f"model {self.name} returned non-finite scores ({int(bad.sum())} of "
                f"{len(scores)}, first at row {int(np.flatnonzero(bad)[0])})",
                subject="model",
            )
        if not self._logits and ((scores < 0.0) | (scores > 1.0)).any():
            raise InputError(
                f"model {self.name} returned scores outside [0, 1]; a callable model returns "
                "positive-class probabilities (set target.model_output: margin for logits)",
                subject="model",
            )
        return scores

    def _predict_proba(self, X: pd.DataFrame) -> FloatArray:
        scores = self._scores(X)
        p = sigmoid(scores) if self._logits else scores
        return np.column_stack([1.0 - p, p])

    def _margins(self, X: pd.DataFrame) -> FloatArray:
        if not self._logits:
            raise InputError(
                f"model {self.name} outputs probabilities, not margins", subject="model"
            )
        return self._scores(X)

    def _predict(self, X: pd.DataFrame) -> npt.NDArray[Any]:
        return self._labels(self._predict_proba(X))

    def explainable(self) -> Explainable:
        return Explainable((), self._raw, None)
