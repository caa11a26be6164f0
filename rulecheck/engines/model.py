"""Loading model files safely and calling models through one adapter.

Formats:

- ``.skops`` (scikit-learn estimators and pipelines, saved with ``skops.io.dump``): loaded with
  skops, which never runs pickle. Types from scikit-learn, numpy, scipy, lightgbm and xgboost are
  trusted; any other type is refused and listed, unless ``trust=True``.
- LightGBM native text/binary models (``.txt``, ``.lgb``) and XGBoost native models
  (``.json``, ``.ubj``), when those packages are installed.
- ``.pkl``, ``.pickle``, ``.joblib``: pickle runs arbitrary code while loading, so these load
  only with ``trust=True`` (``--trust-model``).

Every model is called through :class:`ModelAdapter` (``predict``, ``predict_proba``,
``classes``), so the rest of rulecheck never branches on model types.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck._measures import same_value
from rulecheck.engines.data import sha256_file
from rulecheck.errors import InputError, UntrustedModelError

__all__ = [
    "MODEL_SUFFIXES",
    "TRUSTED_MODULES",
    "LoadedModel",
    "ModelAdapter",
    "adapt",
    "load_model",
]

TRUSTED_MODULES = ("sklearn", "numpy", "scipy", "lightgbm", "xgboost", "builtins", "collections")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
MODEL_SUFFIXES = (".skops", ".txt", ".lgb", ".json", ".ubj", *PICKLE_SUFFIXES)

UNTRUSTED_PICKLE = (
    "model file {path!r} is a pickle/joblib file: loading it runs arbitrary code from the file. "
    "Re-run with --trust-model (API: trust_model=True) only if you trust its origin, or save the "
    "model with skops (skops.io.dump) or in LightGBM/XGBoost's native format."
)
UNTRUSTED_TYPES = (
    "model file {path!r} contains types that are not trusted by default: {types}. "
    "Re-run with --trust-model (API: trust_model=True) if you trust its origin."
)


@dataclass(frozen=True)
class ModelAdapter:
    """One way to call any supported model.

    ``raw`` is the underlying object (for explainers); ``kind`` is "sklearn", "lightgbm" or
    "xgboost"; ``classes`` the class labels of a classifier (None for a regressor).
    """

    raw: Any
    kind: str
    classes: tuple[Any, ...] | None

    @property
    def name(self) -> str:
        return type(self.raw).__name__

    @property
    def has_proba(self) -> bool:
        if self.kind == "sklearn":
            return self.classes is not None and hasattr(self.raw, "predict_proba")
        return self.classes is not None

    @property
    def has_margins(self) -> bool:
        return self.kind == "sklearn" and hasattr(self.raw, "decision_function")

    def margins(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        return np.asarray(self.raw.decision_function(X), dtype=np.float64)

    def class_index(self, label: object | None) -> int:
        """Index of the positive class among ``classes`` (default: 1 of a 0/1 or bool model)."""
        classes = self.classes or ()
        if label is None:
            if len(classes) == 2 and all(
                same_value(c, v) for c, v in zip(classes, (0, 1), strict=True)
            ):
                return 1
            raise InputError(
                f"the model's classes are {list(classes)}; set target.positive_label to one of them",
                subject="model",
            )
        for index, value in enumerate(classes):
            if same_value(value, label):
                return index
        raise InputError(
            f"positive_label {label!r} is not one of the model's classes {list(classes)}",
            subject="model",
        )

    def input_columns(self, columns: Sequence[str]) -> tuple[str, ...] | None:
        """The data columns the model reads, in the model's order (None: not recorded)."""
        return self.feature_names

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        names = getattr(self.raw, "feature_names_in_", None)
        if names is None and self.kind == "lightgbm":
            names = self.raw.feature_name()
        if names is None and self.kind == "xgboost":
            names = self.raw.feature_names
        return None if names is None else tuple(str(n) for n in names)

    def predict(self, X: pd.DataFrame) -> npt.NDArray[Any]:
        if self.kind == "sklearn":
            return np.asarray(self.raw.predict(X))
        if self.classes is not None:
            proba = self.predict_proba(X)
            labels: npt.NDArray[Any] = np.asarray(self.classes, dtype=object)
            return np.asarray(labels[proba.argmax(axis=1)])
        return self._native(X)

    def predict_proba(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        if self.kind == "sklearn":
            return np.asarray(self.raw.predict_proba(X), dtype=np.float64)
        out = np.asarray(self._native(X), dtype=np.float64)
        if out.ndim == 1:
            out = np.column_stack([1.0 - out, out])
        return out

    def _native(self, X: pd.DataFrame) -> npt.NDArray[Any]:
        if self.kind == "lightgbm":
            return np.asarray(self.raw.predict(X))
        import xgboost

        return np.asarray(self.raw.predict(xgboost.DMatrix(X)))


def adapt(model: Any) -> ModelAdapter:
    """Wrap a fitted model object (scikit-learn-like, LightGBM Booster, XGBoost Booster)."""
    if isinstance(model, ModelAdapter):
        return model
    module = type(model).__module__
    if module.startswith("lightgbm") and type(model).__name__ == "Booster":
        objective = str(model.dump_model().get("objective", ""))
        classes: tuple[Any, ...] | None = (
            (0, 1) if objective.startswith(("binary", "cross_entropy")) else None
        )
        if objective.startswith(("multiclass", "multiclassova")):
            classes = tuple(range(int(model.dump_model()["num_class"])))
        return ModelAdapter(model, "lightgbm", classes)
    if module.startswith("xgboost") and type(model).__name__ == "Booster":
        config = json.loads(model.save_config())
        objective = str(config["learner"]["objective"]["name"])
        if objective.startswith("binary:logistic"):
            return ModelAdapter(model, "xgboost", (0, 1))
        if objective.startswith("multi:softprob"):
            n_class = int(config["learner"]["learner_model_param"]["num_class"])
            return ModelAdapter(model, "xgboost", tuple(range(n_class)))
        return ModelAdapter(model, "xgboost", None)
    if not hasattr(model, "predict"):
        raise InputError(
            f"model of type {type(model).__name__} has no predict method; pass a fitted "
            "scikit-learn-style estimator, a LightGBM Booster or an XGBoost Booster",
            subject="model",
        )
    classes_attr = getattr(model, "classes_", None)
    classes = None if classes_attr is None else tuple(_plain(c) for c in classes_attr)
    return ModelAdapter(model, "sklearn", classes)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class LoadedModel:
    adapter: ModelAdapter
    path: str
    sha256: str
    format: str


def load_model(path: Path, *, trust: bool = False) -> LoadedModel:
    """Load a model file safely (see the module docstring for formats and trust)."""
    if not path.is_file():
        raise InputError(f"model file {str(path)!r} does not exist", subject="model")
    suffix = path.suffix.lower()
    digest = sha256_file(path)
    if suffix == ".skops":
        return LoadedModel(adapt(_load_skops(path, trust)), str(path), digest, "skops")
    if suffix in (".txt", ".lgb"):
        lightgbm = _optional("lightgbm", path)
        try:
            booster = lightgbm.Booster(model_file=str(path))
        except Exception as exc:  # lightgbm raises its own LightGBMError
            raise InputError(
                f"cannot load LightGBM model {str(path)!r}: {exc}", subject="model"
            ) from None
        return LoadedModel(adapt(booster), str(path), digest, "lightgbm")
    if suffix in (".json", ".ubj"):
        xgboost = _optional("xgboost", path)
        booster = xgboost.Booster()
        try:
            booster.load_model(str(path))
        except Exception as exc:  # xgboost raises XGBoostError
            raise InputError(
                f"cannot load XGBoost model {str(path)!r}: {exc}", subject="model"
            ) from None
        return LoadedModel(adapt(booster), str(path), digest, "xgboost")
    if suffix in PICKLE_SUFFIXES:
        if not trust:
            raise UntrustedModelError(UNTRUSTED_PICKLE.format(path=str(path)), subject="model")
        import joblib

        try:
            model = joblib.load(path)
        except Exception as exc:  # unpickling can raise anything
            raise InputError(f"cannot load model {str(path)!r}: {exc}", subject="model") from None
        return LoadedModel(adapt(model), str(path), digest, "pickle")
    raise InputError(
        f"model file {str(path)!r} has an unknown format; use one of {', '.join(MODEL_SUFFIXES)}",
        subject="model",
    )


def _optional(package: str, path: Path) -> Any:
    if importlib.util.find_spec(package) is None:
        raise InputError(
            f"model file {str(path)!r} needs {package}, which is not installed "
            f"(pip install 'rulecheck[{package}]')",
            subject="model",
        )
    return importlib.import_module(package)


def _load_skops(path: Path, trust: bool) -> Any:
    import skops.io

    try:
        untrusted = list(skops.io.get_untrusted_types(file=path))
    except Exception as exc:  # a corrupt archive raises zipfile/json errors
        raise InputError(f"cannot read skops model {str(path)!r}: {exc}", subject="model") from None
    refused = sorted(t for t in untrusted if t.split(".", 1)[0] not in TRUSTED_MODULES)
    if refused and not trust:
        raise UntrustedModelError(
            UNTRUSTED_TYPES.format(path=str(path), types=", ".join(refused)), subject="model"
        )
    try:
        return skops.io.load(path, trusted=untrusted)
    except Exception as exc:  # skops raises a variety of errors for broken files
        raise InputError(f"cannot load skops model {str(path)!r}: {exc}", subject="model") from None
