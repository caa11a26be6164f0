"""Feature attributions (SHAP values) per raw input column: the only module that imports shap.

shap is imported inside the functions that need it, so importing this module stays cheap and
``rulecheck validate`` never loads shap.

Which explainer runs
--------------------
``explainer="auto"`` picks the fastest exact method for the model and the requested output:

- **tree**: scikit-learn DecisionTree*, ExtraTree*, RandomForest*, ExtraTrees*,
  GradientBoosting* (binary or regression) and HistGradientBoosting*, LightGBM and XGBoost.
  TreeSHAP with ``feature_perturbation="tree_path_dependent"``. LightGBM and XGBoost use their
  native ``pred_contrib`` / ``pred_contribs`` output, which is the computation that
  ``shap.TreeExplainer`` delegates to anyway, minus the time shap spends parsing the model.
  scikit-learn models use one ``shap.TreeExplainer`` call.
- **linear**: scikit-learn linear models (LogisticRegression, LinearRegression, Ridge, Lasso,
  ElasticNet, SGD*, LinearSVC, ...). The interventional linear SHAP closed form
  ``coef * (x - mean(X))``, with all rows of ``X`` as background. This is what
  ``shap.LinearExplainer`` computes for the same background, without its background sampling.
- **exact** / **permutation** (model-agnostic): anything else, or an output the fast paths cannot
  compute exactly. The whole model (the whole pipeline) is called on the raw columns, against a
  seeded background sample of ``background_size`` rows, for at most ``max_rows`` rows. ``"auto"``
  uses shap's ExactExplainer when ``2**n_features <= 500`` (at most 8 features; exact, and no
  more model calls than the permutation default) and its PermutationExplainer (500 evaluations
  per row) otherwise.

Outputs
-------
- ``"log_odds"``: log(p / (1 - p)) of the explained class. TreeSHAP and linear SHAP compute it
  exactly for binary logistic models (gradient boosting, LogisticRegression).
- ``"probability"``: predicted probability of the explained class. Exact for random forests and
  single trees; for binary gradient boosting it uses interventional TreeSHAP against a background
  sample; otherwise the model-agnostic path.
- ``"raw"``: the model's untransformed score: ``predict`` for regressors with an identity link,
  the margin (``decision_function``, a multiclass model's class score) for classifiers.

``output="auto"`` gives log-odds for binary logistic tree and linear models, the class score
("raw") for multiclass boosting and non-logistic linear classifiers, probability for forests and
for model-agnostic classifiers, and raw for regressors.

Pipelines
---------
For a scikit-learn Pipeline, the tree and linear paths run every step but the last on ``X``,
explain the final estimator on the transformed matrix and sum the contributions of each internal
column (one-hot, scaled, imputed, indicator) back to the raw column it comes from. This needs
every step to work column by column: ColumnTransformer (with 'passthrough', 'drop' and
remainder), OneHotEncoder, OrdinalEncoder, the scalers, SimpleImputer, KBinsDiscretizer,
SplineTransformer, TargetEncoder, feature selectors, any transformer applied to a single column
and FunctionTransformer with a numpy ufunc. A step that mixes columns (PCA, PolynomialFeatures
across columns, Normalizer, KNNImputer, ...) raises :class:`~rulecheck.errors.InputError`; use
``explainer="permutation"`` (or ``"exact"``), which explains the whole pipeline on the raw
columns. Columns of ``X`` that the model does not read get contribution 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck.engines._pipeline import MixedColumnsError, column_owners
from rulecheck.errors import InputError

__all__ = ["Attribution", "ExplainerName", "OutputName", "explain"]

ExplainerName = Literal["auto", "tree", "linear", "permutation", "exact"]
OutputName = Literal["auto", "log_odds", "probability", "raw"]
_Output = Literal["log_odds", "probability", "raw"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

# Model-agnostic "auto": exact Shapley values while they cost no more model calls than this.
_PERMUTATION_EVALS = 500
_LOGIT_EPS = 1e-12

_BAD_PARAM = "The {name!r} parameter of explain must be {expected}. Got {got!r} instead."
_NO_FAST_PATH = (
    "explainer={explainer!r} does not support {model}; use explainer='auto' or 'permutation'"
)
_OUTPUT_UNAVAILABLE = (
    "explainer={explainer!r} cannot compute output={output!r} exactly for {model} "
    "(it can: {available}); use explainer='permutation' for that output"
)
_MIXED_COLUMNS = (
    "cannot attribute to raw columns through pipeline step {step!r} ({kind}): its output columns "
    "may combine several input columns; use explainer='permutation', which explains the whole "
    "pipeline on its raw input columns"
)
_NOT_NUMERIC = (
    "columns {columns} are not numeric and reach {model} without preprocessing; encode them "
    "(e.g. a Pipeline with a ColumnTransformer and OneHotEncoder) or use explainer='permutation'"
)


@dataclass(frozen=True, slots=True, eq=False)
class Attribution:
    """Per-row contribution of each raw input column to one model output.

    ``values[i].sum() + expected_value`` equals the explained output for row ``i`` (additivity).

    Attributes
    ----------
    features : tuple of str
        The columns of ``X``, in ``X``'s order. Columns the model does not read are included,
        with contribution 0.
    values : numpy.ndarray of shape (rows, len(features))
        Contribution of each column to each explained row (read-only).
    expected_value : float
        The explainer's base value: the average output over the background.
    explainer : {"tree", "linear", "permutation", "exact"}
        The method that ran.
    output : {"log_odds", "probability", "raw"}
        The explained model output.
    rows : int
        Number of rows explained.
    seed : int
        Seed of the row and background samples and of the permutations.
    background_rows : int or None
        Background rows for the linear, interventional-tree and model-agnostic explainers; None
        for path-dependent TreeSHAP, whose background is the training data recorded in the trees.
    """

    features: tuple[str, ...]
    values: FloatArray
    expected_value: float
    explainer: str
    output: str
    rows: int
    seed: int
    background_rows: int | None

    def mean_abs(self) -> FloatArray:
        """Mean absolute contribution of each feature over the explained rows."""
        return np.abs(self.values).mean(axis=0)

    def shares(self) -> FloatArray:
        """``mean_abs()`` normalized to sum to 1; all zeros when every contribution is 0."""
        mean_abs = self.mean_abs()
        total = mean_abs.sum()
        return mean_abs / total if total > 0 else np.zeros_like(mean_abs)


def explain(
    model: Any,
    X: pd.DataFrame,
    *,
    explainer: ExplainerName = "auto",
    output: OutputName = "auto",
    max_rows: int | None = None,
    seed: int = 0,
    positive_class: object | None = None,
    background_size: int = 100,
) -> Attribution:
    """SHAP values of a fitted model on ``X``, per raw input column.

    Parameters
    ----------
    model : fitted estimator
        A scikit-learn estimator or Pipeline, a LightGBM or XGBoost scikit-learn model, or any
        object with ``predict`` (regression) or ``predict_proba`` / ``decision_function``
        (classification) for the model-agnostic explainers.
    X : pandas.DataFrame
        The data to explain, with the columns the model was fitted on (matched by name when the
        model recorded names, else by position). Extra columns get contribution 0.
    explainer : {"auto", "tree", "linear", "permutation", "exact"}, default="auto"
        See the module documentation; ``"auto"`` picks the fastest exact method.
    output : {"auto", "log_odds", "probability", "raw"}, default="auto"
        Which model output to explain; see the module documentation.
    max_rows : int or None, default=None
        Explain a seeded sample of at most this many rows (all rows if None).
    seed : int, default=0
        Seed of the row sample, the background sample and the permutations.
    positive_class : object or None, default=None
        For classifiers, the class whose output is explained. Defaults to ``classes_[1]`` for
        binary models; required for more than two classes (one-vs-rest).
    background_size : int, default=100
        Background rows for the model-agnostic explainers and interventional TreeSHAP (seeded
        sample of ``X``). The linear explainer uses all rows of ``X``.

    Returns
    -------
    Attribution

    Raises
    ------
    InputError
        An invalid argument, data the model cannot read, an explainer that does not support the
        model or the output, or a pipeline step that mixes columns (see the module docs).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    >>> model = LinearRegression().fit(X, 2 * X["a"])
    >>> result = explain(model, X)
    >>> result.explainer, result.output, result.shares().round(3).tolist()
    ('linear', 'raw', [1.0, 0.0])
    """
    _check_options(explainer, output, max_rows, seed, background_size)
    frame = _check_frame(X)
    columns = _model_columns(model, frame)
    data = frame if columns == list(frame.columns) else frame[columns]
    target = _target(model, positive_class)
    steps, final = _split_pipeline(model)
    fast = _fast_path(final, target)
    method, resolved = _resolve(explainer, output, fast, model, target, len(columns))

    row_seq, background_seq = np.random.SeedSequence(seed).spawn(2)
    rows = _sample(len(data), max_rows, np.random.default_rng(row_seq))
    background = _sample(len(data), background_size, np.random.default_rng(background_seq))

    background_rows: int | None
    if method == "tree":
        interventional = resolved == "probability" and fast is not None and fast.margin
        needed = data if rows is None else data.iloc[rows]
        matrix, owners = _preprocess(steps, needed, final)
        bg_matrix = None
        if interventional:
            bg_data = data if background is None else data.iloc[background]
            bg_matrix = _preprocess(steps, bg_data, final)[0]
        values, expected = _tree_values(final, matrix, target, resolved, bg_matrix)
        background_rows = None if bg_matrix is None else _height(bg_matrix)
    elif method == "linear":
        matrix, owners = _preprocess(steps, data, final)
        values, expected = _linear_values(final, _dense(matrix), rows, target)
        background_rows = len(data)
    else:
        owners = np.arange(len(columns), dtype=np.intp)
        values, expected = _agnostic_values(
            model, data, rows, background, target, resolved, method, seed
        )
        background_rows = len(data) if background is None else len(background)

    return Attribution(
        features=tuple(str(c) for c in frame.columns),
        values=_to_features(values, owners, frame, columns),
        expected_value=expected,
        explainer=method,
        output=resolved,
        rows=values.shape[0],
        seed=seed,
        background_rows=background_rows,
    )


# --- argument and data checks -------------------------------------------------------------------


def _check_options(
    explainer: object, output: object, max_rows: object, seed: object, background_size: object
) -> None:
    for name, value, allowed in (
        ("explainer", explainer, get_args(ExplainerName)),
        ("output", output, get_args(OutputName)),
    ):
        if value not in allowed:
            expected = "one of {" + ", ".join(repr(a) for a in allowed) + "}"
            raise InputError(
                _BAD_PARAM.format(name=name, expected=expected, got=value), subject=name
            )
    for name, value, lowest, optional in (
        ("max_rows", max_rows, 1, True),
        ("seed", seed, 0, False),
        ("background_size", background_size, 1, False),
    ):
        if optional and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lowest:
            expected = f"an int >= {lowest}" + (" or None" if optional else "")
            raise InputError(
                _BAD_PARAM.format(name=name, expected=expected, got=value), subject=name
            )


def _check_frame(X: object) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise InputError(
            _BAD_PARAM.format(name="X", expected="a pandas DataFrame", got=type(X).__name__),
            subject="X",
        )
    if len(X) == 0:
        raise InputError("X has no rows to explain", subject="X")
    if X.columns.has_duplicates:
        duplicated = sorted({str(c) for c in X.columns[X.columns.duplicated()]})
        raise InputError(f"X has duplicate column names: {duplicated}", subject="X")
    return X


def _model_columns(model: Any, frame: pd.DataFrame) -> list[Any]:
    """The columns of ``frame`` the model reads, in the model's order."""
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        missing = [str(n) for n in names if n not in frame.columns]
        if missing:
            raise InputError(
                f"the model was fitted on columns missing from the data: {missing}",
                subject="X",
            )
        return list(names)
    expected = getattr(model, "n_features_in_", None)
    if expected is not None and int(expected) != frame.shape[1]:
        raise InputError(
            f"the model was fitted without column names on {int(expected)} columns, so the data "
            f"must have exactly those columns in that order; it has {frame.shape[1]}",
            subject="X",
        )
    return list(frame.columns)


def _sample(n: int, size: int | None, rng: np.random.Generator) -> IntArray | None:
    """Sorted seeded sample of ``size`` row positions, or None for all rows."""
    if size is None or size >= n:
        return None
    return np.sort(rng.choice(n, size=size, replace=False)).astype(np.intp)


# --- the explained output -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    """Which output is explained: ``classes`` is None for regressors."""

    classes: tuple[object, ...] | None
    index: int

    @property
    def binary(self) -> bool:
        return self.classes is not None and len(self.classes) == 2


def _is_classifier(model: Any) -> bool:
    from sklearn.base import is_classifier

    try:
        if is_classifier(model):
            return True
    except (AttributeError, TypeError):  # objects that are not scikit-learn estimators
        pass
    return hasattr(model, "classes_") and hasattr(model, "predict_proba")


def _target(model: Any, positive_class: object | None) -> _Target:
    if not _is_classifier(model):
        if positive_class is not None:
            raise InputError(
                "positive_class is set but the model is not a classifier", subject="positive_class"
            )
        return _Target(classes=None, index=0)
    classes = tuple(np.asarray(model.classes_).tolist())
    if positive_class is None:
        if len(classes) != 2:
            raise InputError(
                f"positive_class is required for a model with {len(classes)} classes: "
                f"{list(classes)}",
                subject="positive_class",
            )
        return _Target(classes=classes, index=1)
    matches = [i for i, c in enumerate(classes) if c == positive_class]
    if not matches:  # e.g. the class 1 written as "1" in a policy file
        matches = [i for i, c in enumerate(classes) if str(c) == str(positive_class)]
    if len(matches) != 1:
        raise InputError(
            f"positive_class {positive_class!r} is not one of the model's classes {list(classes)}",
            subject="positive_class",
        )
    return _Target(classes=classes, index=matches[0])


# --- choosing the explainer ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _FastPath:
    """An exact model-specific explainer and the outputs it computes exactly."""

    family: Literal["tree", "linear"]
    natural: _Output
    outputs: frozenset[str]
    margin: bool  # explains a margin (log-odds or class score) rather than a probability


def _split_pipeline(model: Any) -> tuple[list[tuple[str, Any]], Any]:
    """Preprocessing steps (name, transformer) and the final estimator; nested pipelines flatten."""
    from sklearn.pipeline import Pipeline

    steps: list[tuple[str, Any]] = []
    final = model
    while isinstance(final, Pipeline):
        steps.extend(
            (name, step)
            for name, step in final.steps[:-1]
            if step is not None and not (isinstance(step, str) and step == "passthrough")
        )
        final = final.steps[-1][1]
    return steps, final


def _top_module(obj: object) -> str:
    return type(obj).__module__.split(".", 1)[0]


def _fast_path(est: Any, target: _Target) -> _FastPath | None:
    family = _tree_kind(est) or _linear_kind(est)
    if family is None:
        return None
    kind, logistic = family
    if target.classes is None:
        return _FastPath(kind, "raw", frozenset({"raw"}), margin=False)
    if kind == "tree" and not logistic and _is_probability_tree(est):
        return _FastPath(kind, "probability", frozenset({"probability"}), margin=False)
    if logistic and target.binary:
        outputs = {"log_odds", "raw"} | ({"probability"} if kind == "tree" else set())
        return _FastPath(kind, "log_odds", frozenset(outputs), margin=True)
    return _FastPath(kind, "raw", frozenset({"raw"}), margin=True)


def _is_probability_tree(est: Any) -> bool:
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.tree import BaseDecisionTree

    return isinstance(est, RandomForestClassifier | ExtraTreesClassifier | BaseDecisionTree)


def _tree_kind(est: Any) -> tuple[Literal["tree"], bool] | None:
    """("tree", margin is log-odds) for supported tree models, else None."""
    from sklearn import ensemble, tree

    if isinstance(est, tree.BaseDecisionTree | ensemble.RandomForestClassifier):
        return "tree", False
    if isinstance(est, ensemble.RandomForestRegressor | ensemble.ExtraTreesRegressor):
        return "tree", False
    if isinstance(est, ensemble.ExtraTreesClassifier):
        return "tree", False
    if isinstance(est, ensemble.GradientBoostingClassifier):
        if len(est.classes_) > 2:  # shap's TreeExplainer supports binary GradientBoosting only
            return None
        return "tree", est.loss != "exponential"
    if isinstance(est, ensemble.GradientBoostingRegressor):
        return "tree", False
    if isinstance(
        est, ensemble.HistGradientBoostingClassifier | ensemble.HistGradientBoostingRegressor
    ):
        if getattr(est, "is_categorical_", None) is not None and np.any(est.is_categorical_):
            return None  # categorical splits are bitsets, which shap's tree parser ignores
        return "tree", True
    if _top_module(est) == "lightgbm":
        import lightgbm

        if isinstance(est, lightgbm.LGBMModel):
            objective = str(est.objective_) if hasattr(est, "objective_") else ""
            return "tree", objective in {"binary", "multiclass", "softmax"}
    if _top_module(est) == "xgboost":
        import xgboost

        if isinstance(est, xgboost.XGBModel):
            objective = str(est.get_xgb_params().get("objective", ""))
            return "tree", objective in {"binary:logistic", "multi:softprob", "multi:softmax"}
    return None


_LINEAR_NAMES = (
    "LogisticRegression", "LogisticRegressionCV", "RidgeClassifier", "RidgeClassifierCV",
    "SGDClassifier", "Perceptron", "PassiveAggressiveClassifier", "LinearRegression", "Ridge",
    "RidgeCV", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV", "Lars", "LarsCV", "LassoLars",
    "LassoLarsCV", "LassoLarsIC", "OrthogonalMatchingPursuit", "OrthogonalMatchingPursuitCV",
    "BayesianRidge", "ARDRegression", "SGDRegressor", "PassiveAggressiveRegressor",
    "HuberRegressor", "QuantileRegressor", "TheilSenRegressor",
)  # fmt: skip


def _linear_kind(est: Any) -> tuple[Literal["linear"], bool] | None:
    """("linear", margin is log-odds) for linear models whose score is ``X @ coef + b``."""
    from sklearn import linear_model, svm

    classes = [getattr(linear_model, name, None) for name in _LINEAR_NAMES]
    linear = tuple(c for c in [*classes, svm.LinearSVC, svm.LinearSVR] if c is not None)
    if not isinstance(est, linear):
        return None
    logistic = isinstance(est, linear_model.LogisticRegression | linear_model.LogisticRegressionCV)
    logistic |= isinstance(est, linear_model.SGDClassifier) and est.loss == "log_loss"
    return "linear", logistic


def _agnostic_outputs(model: Any, target: _Target) -> tuple[_Output, frozenset[str]]:
    if target.classes is None:
        return "raw", frozenset({"raw"} if hasattr(model, "predict") else set())
    outputs = set()
    if hasattr(model, "predict_proba"):
        outputs |= {"probability", "log_odds"}
    if hasattr(model, "decision_function"):
        outputs.add("raw")
    return ("probability" if "probability" in outputs else "raw"), frozenset(outputs)


def _resolve(
    explainer: ExplainerName,
    output: OutputName,
    fast: _FastPath | None,
    model: Any,
    target: _Target,
    n_features: int,
) -> tuple[str, _Output]:
    """The explainer that runs and the output it explains."""
    name = type(model).__name__
    if explainer in ("tree", "linear"):
        if fast is None or fast.family != explainer:
            raise InputError(_NO_FAST_PATH.format(explainer=explainer, model=name), subject="model")
        resolved = fast.natural if output == "auto" else output
        if resolved not in fast.outputs:
            raise InputError(
                _OUTPUT_UNAVAILABLE.format(
                    explainer=explainer, output=output, model=name, available=sorted(fast.outputs)
                ),
                subject="output",
            )
        return explainer, resolved
    if explainer == "auto" and fast is not None and (output == "auto" or output in fast.outputs):
        return fast.family, fast.natural if output == "auto" else output
    natural, outputs = _agnostic_outputs(model, target)
    resolved = natural if output == "auto" else output
    if resolved not in outputs:
        raise InputError(
            f"cannot explain output={resolved!r} of {name}: it needs "
            + ("predict" if target.classes is None else "predict_proba or decision_function")
            + f"; available outputs: {sorted(outputs)}",
            subject="output",
        )
    if explainer == "auto":
        explainer = "exact" if 2**n_features <= _PERMUTATION_EVALS else "permutation"
    return explainer, resolved


# --- tree and linear paths ----------------------------------------------------------------------


def _preprocess(
    steps: Sequence[tuple[str, Any]], data: pd.DataFrame, final: Any
) -> tuple[Any, IntArray]:
    """Run the preprocessing steps; return the matrix and the raw owner of each of its columns."""
    matrix: Any = data
    owners = np.arange(data.shape[1], dtype=np.intp)
    for name, step in steps:
        out = step.transform(matrix)
        try:
            owners = owners[column_owners(step, matrix.shape[1], out.shape[1])]
        except MixedColumnsError as error:
            kind = type(error.transformer).__name__
            raise InputError(_MIXED_COLUMNS.format(step=name, kind=kind), subject="model") from None
        matrix = out
    if isinstance(matrix, pd.DataFrame):
        native_categories = _top_module(final) in {"lightgbm", "xgboost"}
        bad = [
            str(c)
            for c, dtype in matrix.dtypes.items()
            if not (
                pd.api.types.is_numeric_dtype(dtype)
                or (native_categories and isinstance(dtype, pd.CategoricalDtype))
            )
        ]
        if bad:
            raise InputError(
                _NOT_NUMERIC.format(columns=bad, model=type(final).__name__), subject="X"
            )
        if not native_categories:
            matrix = matrix.to_numpy(dtype=np.float64)
    elif not _is_sparse(matrix) and not np.issubdtype(np.asarray(matrix).dtype, np.number):
        raise InputError(
            _NOT_NUMERIC.format(columns="after preprocessing", model=type(final).__name__),
            subject="X",
        )
    return (_dense(matrix) if _is_sparse(matrix) else matrix), owners


def _is_sparse(matrix: Any) -> bool:
    from scipy import sparse

    return bool(sparse.issparse(matrix))


def _dense(matrix: Any) -> FloatArray:
    if _is_sparse(matrix):
        matrix = matrix.toarray()
    if isinstance(matrix, pd.DataFrame):
        return matrix.to_numpy(dtype=np.float64)
    return np.asarray(matrix, dtype=np.float64)


def _height(matrix: Any) -> int:
    return int(matrix.shape[0])


def _select_class(
    phi: FloatArray, expected: FloatArray, target: _Target, probability: bool
) -> tuple[FloatArray, float]:
    """One output from per-class contributions ``(n, m, k)`` or a single output ``(n, m)``."""
    expected = np.asarray(expected, dtype=np.float64).reshape(-1)
    if phi.ndim == 3 and target.classes is None:
        raise InputError("the model has several outputs; explain one at a time", subject="model")
    if phi.ndim == 3:
        return phi[:, :, target.index], float(expected[target.index])
    if target.classes is not None and target.index == 0:
        # A single output is the second class's; the first class's is its complement
        # (probability) or its negation (log-odds margin).
        return -phi, float(1.0 - expected[0] if probability else -expected[0])
    return phi, float(expected[0])


def _tree_values(
    est: Any, matrix: Any, target: _Target, output: _Output, background: Any | None
) -> tuple[FloatArray, float]:
    if background is None:
        module = _top_module(est)
        if module == "lightgbm":
            return _lightgbm_values(est, matrix, target)
        if module == "xgboost":
            return _xgboost_values(est, matrix, target)
    import shap

    if background is None:
        explainer = shap.TreeExplainer(est, feature_perturbation="tree_path_dependent")
    else:
        explainer = shap.TreeExplainer(
            est,
            data=_dense(background),
            feature_perturbation="interventional",
            model_output="probability",
        )
        matrix = _dense(matrix)
    # Additivity is verified by rulecheck's tests; shap's own check would predict every row again.
    phi = np.asarray(explainer.shap_values(matrix, check_additivity=False), dtype=np.float64)
    return _select_class(phi, explainer.expected_value, target, output == "probability")


def _lightgbm_values(est: Any, matrix: Any, target: _Target) -> tuple[FloatArray, float]:
    contrib = np.asarray(est.predict(matrix, pred_contrib=True), dtype=np.float64)
    n, width = matrix.shape
    if contrib.shape[1] != width + 1:  # multiclass: one block of width + 1 per class
        contrib = contrib.reshape(n, -1, width + 1)
        return _select_class(
            contrib[:, :, :-1].transpose(0, 2, 1), contrib[0, :, -1], target, False
        )
    return _select_class(contrib[:, :-1], contrib[0, -1:], target, False)


def _xgboost_values(est: Any, matrix: Any, target: _Target) -> tuple[FloatArray, float]:
    import xgboost

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
    contrib = est.get_booster().predict(
        dmatrix, pred_contribs=True, iteration_range=iterations, validate_features=False
    )
    contrib = np.asarray(contrib, dtype=np.float64)
    if contrib.ndim == 3:  # multiclass: (rows, classes, width + 1)
        return _select_class(
            contrib[:, :, :-1].transpose(0, 2, 1), contrib[0, :, -1], target, False
        )
    return _select_class(contrib[:, :-1], contrib[0, -1:], target, False)


def _linear_values(
    est: Any, matrix: FloatArray, rows: IntArray | None, target: _Target
) -> tuple[FloatArray, float]:
    coef = np.asarray(est.coef_.toarray() if _is_sparse(est.coef_) else est.coef_, np.float64)
    intercept = np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64))
    if coef.ndim == 2 and coef.shape[0] > 1:
        if target.classes is None:
            raise InputError(
                f"{type(est).__name__} has {coef.shape[0]} outputs; explain one at a time",
                subject="model",
            )
        coef, intercept = coef[target.index], intercept[target.index : target.index + 1]
    coef = coef.reshape(-1)
    if target.binary and target.index == 0:  # the margin is the second class's
        coef, intercept = -coef, -intercept
    mean = matrix.mean(axis=0)
    explained = matrix if rows is None else matrix[rows]
    return (explained - mean) * coef, float(mean @ coef + intercept[0])


# --- model-agnostic path ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Codec:
    """Every column as integer codes, so shap's maskers can mix rows of any dtype exactly."""

    columns: tuple[Any, ...]
    codes: FloatArray
    uniques: tuple[pd.Index, ...]

    @classmethod
    def of(cls, frame: pd.DataFrame) -> _Codec:
        pairs = [pd.factorize(frame[c], use_na_sentinel=False) for c in frame.columns]
        codes = np.column_stack([p[0] for p in pairs]).astype(np.float64)
        return cls(tuple(frame.columns), codes, tuple(pd.Index(p[1]) for p in pairs))

    def decode(self, codes: FloatArray) -> pd.DataFrame:
        index = codes.astype(np.intp)
        return pd.DataFrame(
            {c: u.take(index[:, j]) for j, (c, u) in enumerate(zip(self.columns, self.uniques))}
        )


def _output_function(
    model: Any, codec: _Codec, target: _Target, output: _Output
) -> Callable[[FloatArray], FloatArray]:
    """The explained output as a function of a coded matrix."""
    frame_input = hasattr(model, "feature_names_in_") or not hasattr(model, "n_features_in_")

    def call(codes: FloatArray) -> FloatArray:
        frame = codec.decode(np.atleast_2d(codes))
        data: Any = frame if frame_input else frame.to_numpy()
        if target.classes is None:
            return np.asarray(model.predict(data), dtype=np.float64).reshape(-1)
        if output == "raw":
            score = np.asarray(model.decision_function(data), dtype=np.float64)
            if score.ndim == 1:  # binary: the second class's margin
                return score if target.index == 1 else -score
            return score[:, target.index]
        p = np.asarray(model.predict_proba(data), dtype=np.float64)[:, target.index]
        if output == "probability":
            return p
        p = np.clip(p, _LOGIT_EPS, 1.0 - _LOGIT_EPS)
        return np.log(p) - np.log1p(-p)

    return call


def _agnostic_values(
    model: Any,
    data: pd.DataFrame,
    rows: IntArray | None,
    background: IntArray | None,
    target: _Target,
    output: _Output,
    method: str,
    seed: int,
) -> tuple[FloatArray, float]:
    import shap

    codec = _Codec.of(data)
    function = _output_function(model, codec, target, output)
    bg = codec.codes if background is None else codec.codes[background]
    try:
        function(bg[:1])
    except Exception as error:  # the model's own error, reported as an input problem
        raise InputError(
            f"{type(model).__name__} failed on the data: {type(error).__name__}: {error}",
            subject="model",
        ) from error
    masker = shap.maskers.Independent(bg, max_samples=len(bg))
    explained = codec.codes if rows is None else codec.codes[rows]
    n_features = explained.shape[1]
    # PermutationExplainer seeds numpy's global generator; restore the caller's state afterwards.
    state = np.random.get_state()
    try:
        if method == "exact":
            result = shap.ExactExplainer(function, masker)(explained, silent=True)
        else:
            evals = max(_PERMUTATION_EVALS, 2 * n_features + 1)
            permutation = shap.PermutationExplainer(function, masker, seed=seed)
            result = permutation(explained, max_evals=evals, silent=True)
    finally:
        np.random.set_state(state)
    values = np.asarray(result.values, dtype=np.float64).reshape(len(explained), n_features)
    return values, float(np.asarray(result.base_values, dtype=np.float64).reshape(-1)[0])


# --- back to the user's columns -----------------------------------------------------------------


def _to_features(
    values: FloatArray, owners: IntArray, frame: pd.DataFrame, columns: list[Any]
) -> FloatArray:
    """Sum internal columns into their raw column and place them in ``X``'s column order."""
    n = values.shape[0]
    by_column = values
    if owners.shape[0] != len(columns) or not np.array_equal(owners, np.arange(len(columns))):
        by_column = np.zeros((n, len(columns)), dtype=np.float64)
        for j in np.unique(owners):
            by_column[:, j] = values[:, owners == j].sum(axis=1)
    if columns != list(frame.columns):
        placed = np.zeros((n, frame.shape[1]), dtype=np.float64)
        placed[:, frame.columns.get_indexer(columns)] = by_column
        by_column = placed
    result = np.ascontiguousarray(by_column, dtype=np.float64)
    result.flags.writeable = False
    return result
