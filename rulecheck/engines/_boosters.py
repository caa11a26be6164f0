"""Adapters for native LightGBM and XGBoost Boosters, and what they share with the wrappers.

Boosters record less than scikit-learn estimators: no class labels (the objective says whether
the model classifies), names rewritten by LightGBM, and categories that only the model knows.
This module reads those from the model: the objective and class count, the categories LightGBM
(``pandas_categorical``) and XGBoost (>= 3.1) record, and whether the predictions are margins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck.engines.model import (
    Explainable,
    FloatArray,
    ModelAdapter,
    ModelOutput,
    sigmoid,
    softmax,
)
from rulecheck.verdict import Scalar

__all__ = ["LightGBMAdapter", "XGBoostAdapter"]

Categories = Mapping[str, Sequence[Any]]

MARGIN_NOTE = "{model} {why}: its predictions are margins; {link} applied to get probabilities"
PROBABILITY_NOTE = "{model}: predict() read as the positive-class probability (model_output)"
_UNSEEN_NOTE = (
    "column {column!r} has values the model never saw as categories ({values}); they are "
    "treated as missing, as {library} does for unseen categories"
)
CATEGORICAL_LOSS = (
    "the model splits on categorical features, which shap's TreeExplainer cannot explain "
    "interventionally (needed for the log loss)"
)


def link_name(classes: tuple[Scalar, ...]) -> str:
    return "sigmoid" if len(classes) == 2 else "softmax"


def link(margins: FloatArray) -> FloatArray:
    if margins.ndim == 1:
        p = sigmoid(margins)
        return np.column_stack([1.0 - p, p])
    return softmax(margins)


def two_columns(p: FloatArray) -> FloatArray:
    return np.column_stack([1.0 - p, p]) if p.ndim == 1 else p


class Categorical:
    """Casts the columns a model reads as categorical to the categories it was trained on."""

    def __init__(self, categories: Categories, library: str) -> None:
        self.categories = dict(categories)
        self.library = library

    def cast(self, X: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
        changed: dict[str, pd.Categorical] = {}
        for column, cats in self.categories.items():
            if column not in X.columns:
                continue
            series = X[column]
            dtype = series.dtype
            if isinstance(dtype, pd.CategoricalDtype) and list(dtype.categories) == list(cats):
                continue
            values = series.astype(object) if isinstance(dtype, pd.CategoricalDtype) else series
            if len(cats) and isinstance(cats[0], str) and not pd.api.types.is_string_dtype(values):
                values = values.map(lambda v: v if pd.isna(v) else str(v))
            known = pd.Series(values).isin(list(cats)).to_numpy()
            unseen = ~known & ~pd.isna(np.asarray(values, dtype=object))
            objects = np.asarray(values, dtype=object)
            objects[~known] = None
            cast = pd.Categorical(objects, categories=list(cats))
            if unseen.any():
                shown = sorted({str(v) for v in np.asarray(values, dtype=object)[unseen]})[:5]
                note = _UNSEEN_NOTE.format(column=column, values=shown, library=self.library)
                if note not in notes:
                    notes.append(note)
            changed[column] = cast
        if not changed:
            return X
        return X.assign(**changed)


# --- native LightGBM --------------------------------------------------------------------------------


def _lightgbm_header(booster: Any) -> dict[str, str]:
    """The key=value lines of a LightGBM model's header (objective, num_class, feature_infos)."""
    # One iteration is enough for the header: dumping every tree of a large model is slow.
    text = booster.model_to_string(num_iteration=1)
    header: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, sep, value = line.partition("=")
        if sep:
            header[key] = value
    return header


def lightgbm_categories(booster: Any) -> dict[str, list[Any]]:
    """Stored feature name -> categories, for features trained as pandas categoricals."""
    pandas_categorical = getattr(booster, "pandas_categorical", None)
    if not pandas_categorical:
        return {}
    header = _lightgbm_header(booster)
    names = header.get("feature_names", "").split()
    infos = header.get("feature_infos", "").split()
    # Categorical features record their category codes ("0:2:1"), numeric ones a "[min:max]".
    categorical = [n for n, info in zip(names, infos, strict=False) if info[:1] not in ("[", "n")]
    if len(categorical) != len(pandas_categorical):
        return {}  # categorical_feature given by hand as well: let LightGBM decide
    return {name: list(cats) for name, cats in zip(categorical, pandas_categorical, strict=True)}


def _in_model_order(adapter: ModelAdapter, X: pd.DataFrame) -> pd.DataFrame:
    """The columns the booster reads, in its order: Boosters read positions, not names."""
    columns = adapter.input_columns([str(c) for c in X.columns])
    if columns is None or list(X.columns) == list(columns):
        return X
    return X[list(columns)]


class _NativeBooster(ModelAdapter):
    """What LightGBM's and XGBoost's native Boosters share: column order, the model's own
    categories, and probabilities either from the model or from its margins through the link.

    Subclasses set ``_margin_mode``, ``_probability_mode`` and ``_categorical`` and implement
    ``margins`` and ``_output`` (the booster's plain prediction).
    """

    _margin_mode: bool
    _probability_mode: bool
    _categorical: Categorical | XGBCategorical | None

    def prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        X = _in_model_order(self, X)
        return X if self._categorical is None else self._categorical.cast(X, self._notes)

    def _output(self, X: pd.DataFrame) -> FloatArray:
        raise NotImplementedError

    @property
    def has_proba(self) -> bool:
        return self._classes is not None

    @property
    def has_margins(self) -> bool:
        return self._classes is not None and not self._probability_mode

    def _predict_proba(self, X: pd.DataFrame) -> FloatArray:
        if self._margin_mode:
            return link(self._margins(X))
        return two_columns(self._output(X))

    def _predict(self, X: pd.DataFrame) -> npt.NDArray[Any]:
        if self._classes is not None:
            return self._labels(self._predict_proba(X))
        return self._output(X)


class LightGBMAdapter(_NativeBooster):
    """A native LightGBM ``Booster`` (``lgb.train`` or a ``.txt`` / ``.lgb`` model file)."""

    kind = "lightgbm"

    def __init__(self, booster: Any, output: ModelOutput) -> None:
        header = _lightgbm_header(booster)
        objective = header.get("objective", "").split(" ")[0]
        if callable(booster.params.get("objective")):
            objective = ""  # trained in this process with a callable objective
        n_class = int(header.get("num_class", "1"))
        custom = objective in ("", "custom")
        self._margin_mode = output == "margin" or (output == "auto" and custom)
        self._probability_mode = output == "probability" and (
            custom or not objective.startswith(("binary", "cross_entropy", "xentropy", "multi"))
        )
        classes: tuple[Scalar, ...] | None = None
        if objective.startswith(("binary", "cross_entropy", "xentropy")):
            classes = (0, 1)
        elif objective.startswith(("multiclass", "softmax", "multiclassova", "ova")):
            classes = tuple(range(n_class))
        elif self._margin_mode or self._probability_mode:
            classes = tuple(range(n_class)) if n_class > 1 else (0, 1)
        notes: list[str] = []
        if self._margin_mode and classes is not None:
            why = (
                "has a custom objective (objective=custom)"
                if custom and output == "auto"
                else "is declared to output margins"
            )
            notes.append(
                MARGIN_NOTE.format(model="LightGBM Booster", why=why, link=link_name(classes))
            )
        if self._probability_mode:
            notes.append(PROBABILITY_NOTE.format(model="LightGBM Booster"))
        super().__init__(
            booster,
            classes=classes,
            feature_names=tuple(str(n) for n in booster.feature_name()),
            notes=notes,
        )
        self._custom = custom
        cats = lightgbm_categories(booster)
        self._categorical = Categorical(cats, "LightGBM") if cats else None
        self._binary_objective = objective.startswith(("binary", "cross_entropy", "xentropy"))

    def _stored_name(self, column: str) -> str:
        # LightGBM replaces whitespace in feature names by underscores when it trains.
        return re.sub(r"\s", "_", column)

    def _margins(self, X: pd.DataFrame) -> FloatArray:
        return np.asarray(self._raw.predict(self.prepare(X), raw_score=True), dtype=np.float64)

    def _output(self, X: pd.DataFrame) -> FloatArray:
        return np.asarray(self._raw.predict(self.prepare(X)), dtype=np.float64)

    def explainable(self) -> Explainable:
        booster = self._raw
        binary = self._classes is not None and len(self._classes) == 2
        blocker = None
        if self._categorical is not None:
            blocker = CATEGORICAL_LOSS
        elif self._custom:
            blocker = "shap's TreeExplainer cannot compute the log loss of a custom objective"
        return Explainable(
            (),
            booster,
            "tree",
            logistic=binary and (self._binary_objective or self._margin_mode),
            tree_probability=not self._margin_mode,
            contributions=lambda matrix: np.asarray(
                booster.predict(matrix, pred_contrib=True), dtype=np.float64
            ),
            loss_tree_blocker=blocker,
        )


# --- native XGBoost ---------------------------------------------------------------------------------


def xgboost_categories(booster: Any) -> dict[str, list[Any] | None]:
    """Stored feature name -> categories (None when the model does not record them)."""
    types = booster.feature_types or ()
    names = booster.feature_names or ()
    categorical = [n for n, t in zip(names, types, strict=False) if t == "c"]
    if not categorical:
        return {}
    recorded: dict[str, list[Any] | None] = dict.fromkeys(categorical)
    try:  # XGBoost >= 3.1 records the training categories in the model
        stored = booster.get_categories(export_to_arrow=True).to_arrow()
    except Exception:  # older XGBoost or no categories recorded: pandas' own categories
        return recorded
    for name, values in stored:
        if name in recorded and values is not None:
            recorded[name] = list(values.to_pylist())
    return recorded


class XGBCategorical:
    """XGBoost reads categoricals only as pandas categories; cast object/str columns too, to the
    model's categories where it records them (XGBoost >= 3.1)."""

    def __init__(self, categories: Mapping[str, list[Any] | None]) -> None:
        self.unknown = [c for c, cats in categories.items() if cats is None]
        known = {c: cats for c, cats in categories.items() if cats is not None}
        self.known = Categorical(known, "XGBoost")

    def cast(self, X: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
        plain = [
            c
            for c in self.unknown
            if c in X.columns and not isinstance(X[c].dtype, pd.CategoricalDtype)
        ]
        if plain:
            X = X.assign(**{c: X[c].astype("category") for c in plain})
        return self.known.cast(X, notes)


class XGBoostAdapter(_NativeBooster):
    """A native XGBoost ``Booster`` (``xgb.train`` or a ``.json`` / ``.ubj`` model file)."""

    kind = "xgboost"

    def __init__(self, booster: Any, output: ModelOutput) -> None:
        config = json.loads(booster.save_config())
        objective = str(config["learner"]["objective"]["name"])
        n_class = int(config["learner"]["learner_model_param"].get("num_class", "0"))
        logitraw = objective == "binary:logitraw"
        # A custom obj= is saved under the default objective, so only the policy can say it.
        self._margin_mode = output == "margin" or logitraw or objective == "multi:softmax"
        self._probability_mode = output == "probability" and not objective.startswith(
            ("binary:", "multi:")
        )
        classes: tuple[Scalar, ...] | None = None
        if objective.startswith(("binary:logistic", "binary:logitraw")):
            classes = (0, 1)
        elif objective.startswith("multi:"):
            classes = tuple(range(n_class))
        elif self._margin_mode or self._probability_mode:
            classes = tuple(range(n_class)) if n_class > 1 else (0, 1)
        notes: list[str] = []
        if classes is not None and (output == "margin" or logitraw):
            why = (
                "outputs margins (binary:logitraw)" if logitraw else "is declared to output margins"
            )
            notes.append(
                MARGIN_NOTE.format(model="XGBoost Booster", why=why, link=link_name(classes))
            )
        if self._probability_mode:
            notes.append(PROBABILITY_NOTE.format(model="XGBoost Booster"))
        names = booster.feature_names
        super().__init__(
            booster,
            classes=classes,
            feature_names=None if names is None else tuple(str(n) for n in names),
            notes=notes,
        )
        self._logistic = objective == "binary:logistic" or (
            self._margin_mode and classes is not None and len(classes) == 2
        )
        # gblinear boosters have no trees to explain: model-agnostic explainers only.
        self._trees = config["learner"]["gradient_booster"].get("name") != "gblinear"
        best = booster.attr("best_iteration")
        # As XGBClassifier.predict: the trees up to the best iteration of early stopping.
        self._iterations = (0, 0) if best is None else (0, int(best) + 1)
        cats = xgboost_categories(booster)
        self._categorical = XGBCategorical(cats) if cats else None

    def _call(self, X: Any, **kwargs: Any) -> FloatArray:
        import xgboost

        data = self.prepare(X) if isinstance(X, pd.DataFrame) else X
        # enable_categorical: pandas category columns are read as XGBoost categoricals.
        dmatrix = xgboost.DMatrix(data, enable_categorical=True)
        out = self._raw.predict(
            dmatrix, iteration_range=self._iterations, validate_features=False, **kwargs
        )
        return np.asarray(out, dtype=np.float64)

    def _margins(self, X: pd.DataFrame) -> FloatArray:
        return self._call(X, output_margin=True)

    def _output(self, X: pd.DataFrame) -> FloatArray:
        return self._call(X)

    def explainable(self) -> Explainable:
        if not self._trees:
            return Explainable((), self._raw, None)
        return Explainable(
            (),
            self._raw,
            "tree",
            logistic=self._logistic,
            tree_probability=not self._margin_mode,
            contributions=lambda matrix: self._call(matrix, pred_contribs=True),
            loss_tree_blocker=CATEGORICAL_LOSS if self._categorical is not None else None,
        )
