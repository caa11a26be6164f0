"""Loading model files safely, and one adapter through which every model is called.

Formats:

- ``.skops`` (scikit-learn estimators and pipelines, saved with ``skops.io.dump``): loaded with
  skops, which never runs pickle. Types from scikit-learn, numpy, scipy, lightgbm and xgboost are
  trusted; any other type is refused and listed, unless ``trust=True``.
- LightGBM native text/binary models (``.txt``, ``.lgb``) and XGBoost native models
  (``.json``, ``.ubj``), when those packages are installed.
- ``.pkl``, ``.pickle``, ``.joblib``: pickle runs arbitrary code while loading, so these load
  only with ``trust=True`` (``--trust-model``).
- ``.onnx`` (ONNX graphs, ``pip install 'rulecheck[onnx]'``): run with onnxruntime; a graph
  holds no code, so no trust is needed (``rulecheck.engines._onnx``, docs/models.md).
- MLflow model URIs, ``models:/name/version``, ``models:/name@alias`` and ``runs:/RUN_ID/path``
  (``pip install 'rulecheck[mlflow]'``): the same trust rules, per flavour
  (``rulecheck.engines._mlflow``).

Every model is called through a :class:`ModelAdapter`: one subclass per model kind
(``rulecheck.engines._adapters``: scikit-learn-like objects, native LightGBM and XGBoost
Boosters, plain callables; ``rulecheck.engines._torch``: PyTorch modules, Python API only, torch
imported only when such a module is called). The adapter owns the model object; the rest of rulecheck sees only its interface
(classes, feature names, probabilities, margins, the positive class, notes for the report and an
:class:`Explainable` view for the attribution engine), so nothing else branches on model types.

Model output (``target.model_output``): ``"auto"`` trusts what the model says about itself
(LightGBM records ``objective=custom`` for a custom objective and its ``predict`` then returns
margins; a scikit-learn LGBMClassifier with a callable objective does the same). ``"margin"``
declares that the model outputs margins (log-odds): XGBoost saves a model trained with a custom
``obj=`` under its default objective, so only the policy can say so. ``"probability"`` declares
that ``predict`` returns positive-class probabilities. With margins, rulecheck applies the link
(sigmoid for binary, softmax for multiclass) and says so in ``adapter.notes``. For an ONNX
model, any other value names the graph output to read (only ONNX models have named outputs).
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck._measures import same_value
from rulecheck.engines.data import sha256_file
from rulecheck.errors import InputError, UntrustedModelError
from rulecheck.verdict import Scalar

if TYPE_CHECKING:
    from rulecheck.engines._torch import Network

__all__ = [
    "DEFAULT_BATCH_BYTES",
    "MODEL_SUFFIXES",
    "TRUSTED_MODULES",
    "Explainable",
    "LoadedModel",
    "ModelAdapter",
    "ModelOutput",
    "adapt",
    "is_mlflow_uri",
    "load_model",
]

FloatArray = npt.NDArray[np.float64]
# "auto", "margin", "probability" (OUTPUT_WORDS), or the name of an ONNX model's output.
ModelOutput = str
OUTPUT_WORDS = ("auto", "margin", "probability")

TRUSTED_MODULES = ("sklearn", "numpy", "scipy", "lightgbm", "xgboost", "builtins", "collections")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
MODEL_SUFFIXES = (".skops", ".onnx", ".txt", ".lgb", ".json", ".ubj", *PICKLE_SUFFIXES)
MLFLOW_SCHEMES = ("models:/", "runs:/")

UNTRUSTED_PICKLE = (
    "model file {path!r} is a pickle/joblib file: loading it runs arbitrary code from the file. "
    "Re-run with --trust-model (API: trust_model=True) only if you trust its origin, or save the "
    "model with skops (skops.io.dump) or in LightGBM/XGBoost's native format."
)
UNTRUSTED_TYPES = (
    "model file {path!r} contains types that are not trusted by default: {types}. "
    "Re-run with --trust-model (API: trust_model=True) if you trust its origin."
)
MISSING_CODE = (
    "cannot load model {path!r}: it refers to code that cannot be imported ({error}). A custom "
    "objective, loss or transformer must be defined in an importable module (not in the "
    "__main__ script that trained the model), and that module must be importable here"
)
COLUMNS_MISSING = "model features missing from the data: {names}"
PREPROCESS_NOT_TORCH = (
    "preprocess= applies to PyTorch modules only; {model} is not one (a plain callable "
    "receives the DataFrame itself)"
)

# The memory budget of one model call: its inputs and activations (docs/models.md).
DEFAULT_BATCH_BYTES = 256 * 2**20
MIN_BATCH_ROWS = 1024


@dataclass(frozen=True, slots=True)
class Explainable:
    """What the attribution engine needs to explain a model exactly (the model layer's view).

    ``steps`` run on the raw columns before ``estimator`` (a scikit-learn Pipeline's
    preprocessing; empty otherwise). ``estimator`` is the object shap's TreeExplainer takes.
    ``family`` names the exact explainer ("tree", "linear") or is None (model-agnostic only).
    ``logistic``: the estimator's margin is the log-odds of the second class. ``probability_tree``:
    its leaves hold probabilities (forests, single trees). ``contributions`` computes native
    TreeSHAP (``pred_contrib``) on the preprocessed matrix: shape (n, width + 1), or
    (n, classes, width + 1) for multiclass, the last column being the expected value.
    ``linear`` holds (coef, intercept) of a linear estimator. ``network`` is a PyTorch module's
    view for shap's Gradient and Deep explainers. ``loss_tree_blocker`` says why
    TreeSHAP of the log loss is unavailable (None when shap can try it). ``tree_probability``:
    shap's interventional TreeSHAP can explain the probability (the stored objective has the link).
    """

    steps: tuple[tuple[str, Any], ...]
    estimator: Any
    family: Literal["tree", "linear"] | None
    logistic: bool = False
    probability_tree: bool = False
    contributions: Callable[[Any], FloatArray] | None = None
    linear: tuple[FloatArray, FloatArray] | None = None
    loss_tree_blocker: str | None = None
    # shap's interventional TreeSHAP of the probability reads the link from the model's stored
    # objective: wrong or failing for margins from a custom objective.
    tree_probability: bool = True
    # A PyTorch module's view for the network explainers (rulecheck.engines._torch.Network).
    network: Network | None = None


class ModelAdapter(ABC):
    """One way to call any supported model; one subclass per model kind.

    ``classes`` is None for a regressor. ``feature_names`` are the names the model stored, in
    model order (LightGBM replaces spaces by ``_``: :meth:`input_columns` maps them back onto the
    data's columns). ``notes`` are facts the report shows (a link applied to margins, unseen
    categories). Every call prepares ``X`` first (:meth:`prepare`: categorical dtypes).
    """

    kind: ClassVar[str]

    def __init__(
        self,
        model: Any,
        *,
        classes: tuple[Scalar, ...] | None,
        feature_names: tuple[str, ...] | None,
        notes: Sequence[str] = (),
    ) -> None:
        self._raw = model
        self._classes = classes
        self._feature_names = feature_names
        # Appended to by prepare() when the data holds categories the model never saw: the
        # report should say so, and only the data reveals it.
        self._notes: list[str] = list(notes)

    @property
    def name(self) -> str:
        """The model's type name (``Pipeline``, ``Booster``, ...)."""
        return type(self._raw).__name__

    @property
    def classes(self) -> tuple[Scalar, ...] | None:
        return self._classes

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        return self._feature_names

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(self._notes)

    @property
    def n_features(self) -> int | None:
        """How many columns the model reads, when it says so."""
        return None if self._feature_names is None else len(self._feature_names)

    @property
    @abstractmethod
    def has_proba(self) -> bool:
        """Whether :meth:`predict_proba` works (classifiers)."""

    @property
    @abstractmethod
    def has_margins(self) -> bool:
        """Whether :meth:`margins` works (log-odds or decision function)."""

    # -- calls: every model call goes through one batched path -------------------------------
    batch_rows: int | None = None  # rows per model call; None: DEFAULT_BATCH_BYTES / row width

    def rows_per_batch(self, X: pd.DataFrame) -> int:
        """Rows per model call: ``batch_rows`` when set, else as many rows as fit in
        :data:`DEFAULT_BATCH_BYTES` at ``ACTIVATION_FACTOR`` times the input's width in
        float64, so that no call holds more than one batch of inputs and activations."""
        if self.batch_rows is not None:
            return max(1, int(self.batch_rows))
        width = max(1, X.shape[1]) * 8 * self.ACTIVATION_FACTOR
        return max(MIN_BATCH_ROWS, DEFAULT_BATCH_BYTES // width)

    # How many float64 values per input value one row's call may hold at once (the widest
    # hidden layer over the input width, for a network; one-hot expansion for a pipeline).
    ACTIVATION_FACTOR: ClassVar[int] = 64

    def _batched(
        self, call: Callable[[pd.DataFrame], npt.NDArray[Any]], X: pd.DataFrame
    ) -> npt.NDArray[Any]:
        rows = self.rows_per_batch(X)
        if len(X) <= rows:
            return call(X)
        return np.concatenate([call(X.iloc[i : i + rows]) for i in range(0, len(X), rows)])

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """Class probabilities, shape (n, len(classes)) (in batches of :meth:`rows_per_batch`)."""
        return np.asarray(self._batched(self._predict_proba, X), dtype=np.float64)

    def predict(self, X: pd.DataFrame) -> npt.NDArray[Any]:
        """Class labels for classifiers, values for regressors (in batches)."""
        return self._batched(self._predict, X)

    def margins(self, X: pd.DataFrame) -> FloatArray:
        """Margins: shape (n,) for a binary model (the second class's log-odds or decision
        function), (n, len(classes)) for a multiclass one (in batches)."""
        return np.asarray(self._batched(self._margins, X), dtype=np.float64)

    @abstractmethod
    def _predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """:meth:`predict_proba` of one batch."""

    @abstractmethod
    def _predict(self, X: pd.DataFrame) -> npt.NDArray[Any]:
        """:meth:`predict` of one batch."""

    @abstractmethod
    def _margins(self, X: pd.DataFrame) -> FloatArray:
        """:meth:`margins` of one batch."""

    @abstractmethod
    def explainable(self) -> Explainable:
        """The model as the attribution engine explains it."""

    def prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` as the model reads it (categorical dtypes); the identity unless overridden."""
        return X

    def _stored_name(self, column: str) -> str:
        """How the model would have stored a data column's name (LightGBM rewrites them)."""
        return column

    def input_columns(self, columns: Sequence[str]) -> tuple[str, ...] | None:
        """The data columns the model reads, in model order; None when it stored no names.

        Raises InputError listing the stored names that match no column.
        """
        found, missing = self.match_columns(columns)
        if missing:
            raise InputError(
                COLUMNS_MISSING.format(names=", ".join(map(repr, missing))), subject="features"
            )
        return found

    def match_columns(self, columns: Sequence[str]) -> tuple[tuple[str, ...] | None, list[str]]:
        """(matched data columns or None without stored names, stored names matching none)."""
        names = self._feature_names
        if names is None:
            return None, []
        available = [str(c) for c in columns]
        present = set(available)
        found: list[str] = []
        missing: list[str] = []
        for name in names:
            if name in present:
                found.append(name)
                continue
            matches = [c for c in available if self._stored_name(c) == name]
            if len(matches) == 1:
                found.append(matches[0])
            else:
                missing.append(name)
        return tuple(found), missing

    def class_index(self, label: object | None) -> int:
        """Index in ``classes`` of the positive class ``label``.

        None means the second class of a binary model whose classes are 0/1 (or False/True).
        """
        classes = self._classes
        if classes is None:
            raise InputError(
                "the model is a regressor; it has no classes (positive_label is set)",
                subject="model",
            )
        if label is None:
            if len(classes) == 2 and all(
                same_value(c, v) for c, v in zip(classes, (0, 1), strict=True)
            ):
                return 1
            raise InputError(
                f"the model's classes are {list(classes)}; set target.positive_label to one of them",
                subject="model",
            )
        exact = [i for i, c in enumerate(classes) if c == label and type(c) is type(label)]
        matches = exact or [i for i, c in enumerate(classes) if same_value(c, label)]
        if len(matches) != 1:
            raise InputError(
                f"positive_label {label!r} is not one of the model's classes {list(classes)}",
                subject="model",
            )
        return matches[0]

    def _labels(self, proba: FloatArray) -> npt.NDArray[Any]:
        """Class labels of the most probable class."""
        labels: npt.NDArray[Any] = np.asarray(self._classes, dtype=object)
        return np.asarray(labels[proba.argmax(axis=1)])


def sigmoid(margin: FloatArray) -> FloatArray:
    """Probability of the second class from its log-odds, computed without overflow."""
    out: FloatArray = np.exp(-np.logaddexp(0.0, -margin))
    return out


def softmax(margins: FloatArray) -> FloatArray:
    shifted = margins - margins.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    out: FloatArray = exp / exp.sum(axis=1, keepdims=True)
    return out


def adapt(
    model: Any,
    *,
    output: ModelOutput = "auto",
    preprocess: Callable[[pd.DataFrame], Any] | None = None,
) -> ModelAdapter:
    """Wrap a fitted model object: scikit-learn-like, LightGBM or XGBoost Booster, a
    ``torch.nn.Module`` (``rulecheck.engines._torch``) or a plain callable
    ``f(DataFrame) -> positive-class scores``.

    ``output`` declares what the model's predictions are (see the module documentation).
    ``preprocess`` turns the feature columns into a PyTorch module's input (modules only).
    An adapter passes through unchanged.
    """
    if isinstance(model, ModelAdapter):
        if preprocess is not None:
            raise InputError(PREPROCESS_NOT_TORCH.format(model=model.name), subject="preprocess")
        return model
    if output not in OUTPUT_WORDS:
        raise InputError(
            f"model_output must be one of 'auto', 'margin', 'probability' for a {type(model).__name__}"
            f"; got {output!r} (naming an output works only for ONNX models)",
            subject="model_output",
        )
    if preprocess is not None and not callable(preprocess):
        raise InputError(
            "The 'preprocess' parameter of evaluate must be a callable taking a DataFrame. "
            f"Got {type(preprocess).__name__} instead.",
            subject="preprocess",
        )
    from rulecheck.engines import _adapters  # the subclasses import this module

    return _adapters.make_adapter(model, output, preprocess)


def is_mlflow_uri(value: object) -> bool:
    """Whether ``value`` is an MLflow ``models:/`` or ``runs:/`` URI rather than a file path."""
    return isinstance(value, str) and value.startswith(MLFLOW_SCHEMES)


@dataclass(frozen=True)
class LoadedModel:
    """A loaded model: ``path`` is the file or the MLflow URI; ``details`` are what the report's
    model section records about its origin (for MLflow: source, uri, flavour, run id, version)."""

    adapter: ModelAdapter
    path: str
    sha256: str
    format: str
    details: dict[str, Scalar] = field(default_factory=dict)


def load_model(
    path: Path | str, *, trust: bool = False, output: ModelOutput = "auto"
) -> LoadedModel:
    """Load a model file or an MLflow model URI safely (see the module docstring for formats,
    trust and ``output``)."""
    if is_mlflow_uri(path):
        from rulecheck.engines import _mlflow  # it imports this module

        return _mlflow.load_mlflow_model(str(path), trust=trust, output=output)
    path = Path(path)
    if not path.is_file():
        raise InputError(f"model file {str(path)!r} does not exist", subject="model")
    suffix = path.suffix.lower()
    digest = sha256_file(path)

    def loaded(model: Any, fmt: str) -> LoadedModel:
        return LoadedModel(adapt(model, output=output), str(path), digest, fmt)

    if suffix == ".skops":
        return loaded(_load_skops(path, trust), "skops")
    if suffix == ".onnx":
        from rulecheck.engines._onnx import load_onnx  # imports this module

        return load_onnx(path, digest, output)
    if suffix in (".txt", ".lgb"):
        lightgbm = _optional("lightgbm", path)
        try:
            booster = lightgbm.Booster(model_file=str(path))
        except Exception as exc:  # lightgbm raises its own LightGBMError
            raise InputError(
                f"cannot load LightGBM model {str(path)!r}: {exc}", subject="model"
            ) from None
        return loaded(booster, "lightgbm")
    if suffix in (".json", ".ubj"):
        xgboost = _optional("xgboost", path)
        booster = xgboost.Booster()
        try:
            booster.load_model(str(path))
        except Exception as exc:  # xgboost raises XGBoostError
            raise InputError(
                f"cannot load XGBoost model {str(path)!r}: {exc}", subject="model"
            ) from None
        return loaded(booster, "xgboost")
    if suffix in PICKLE_SUFFIXES:
        if not trust:
            raise UntrustedModelError(UNTRUSTED_PICKLE.format(path=str(path)), subject="model")
        import joblib

        try:
            model = joblib.load(path)
        except (AttributeError, ImportError) as exc:  # a function or module pickled by name
            raise InputError(
                MISSING_CODE.format(path=str(path), error=f"{type(exc).__name__}: {exc}"),
                subject="model",
            ) from None
        except Exception as exc:  # unpickling can raise anything
            raise InputError(f"cannot load model {str(path)!r}: {exc}", subject="model") from None
        return loaded(model, "pickle")
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


def _load_skops(path: Path, trust: bool, *, shown: str | None = None) -> Any:
    """Load a skops file; ``shown`` names it in messages (default: its path)."""
    import skops.io

    name = shown if shown is not None else str(path)
    try:
        untrusted = list(skops.io.get_untrusted_types(file=path))
    except Exception as exc:  # a corrupt archive raises zipfile/json errors
        raise InputError(f"cannot read skops model {name!r}: {exc}", subject="model") from None
    refused = sorted(t for t in untrusted if t.split(".", 1)[0] not in TRUSTED_MODULES)
    if refused and not trust:
        raise UntrustedModelError(
            UNTRUSTED_TYPES.format(path=name, types=", ".join(refused)), subject="model"
        )
    try:
        return skops.io.load(path, trusted=untrusted)
    except Exception as exc:  # skops raises a variety of errors for broken files
        raise InputError(f"cannot load skops model {name!r}: {exc}", subject="model") from None
