"""Feature attributions (SHAP values) per raw input column.

With ``_agnostic`` (the model-agnostic explainers), the only modules that import shap; shap is
imported inside the functions that need it, so importing this module stays cheap and
``rulecheck validate`` never loads shap. Models are seen only through their
:class:`~rulecheck.engines.model.ModelAdapter` (and its ``explainable()`` view): this module
never branches on model types.

Which explainer runs
--------------------
``explainer="auto"`` picks the fastest exact method for the model and the requested output:

- **tree**: scikit-learn DecisionTree*, ExtraTree*, RandomForest*, ExtraTrees*,
  GradientBoosting* (binary or regression) and HistGradientBoosting*, LightGBM and XGBoost
  (scikit-learn wrappers and native Boosters alike, including custom-objective models, whose
  margins are explained). TreeSHAP with ``feature_perturbation="tree_path_dependent"``.
  LightGBM and XGBoost use their native ``pred_contrib`` / ``pred_contribs`` output, which is
  the computation that ``shap.TreeExplainer`` delegates to anyway, minus the time shap spends
  parsing the model. scikit-learn models use one ``shap.TreeExplainer`` call.
- **linear**: scikit-learn linear models (LogisticRegression, LinearRegression, Ridge, Lasso,
  ElasticNet, SGD*, LinearSVC, ...). The interventional linear SHAP closed form
  ``coef * (x - mean(X))``, with all rows of ``X`` as background. This is what
  ``shap.LinearExplainer`` computes for the same background, without its background sampling.
- **gradient** / **deep** (PyTorch modules): shap's GradientExplainer (the default: it needs only
  gradients, so it explains any differentiable module) or DeepExplainer (``explainer="deep"``:
  DeepLIFT rules, additive up to float32 rounding, but only for the layer types shap has rules
  for). They run on the preprocessed tensor against a seeded background sample of
  ``background_size`` rows, for at most ``max_rows`` rows (``AGNOSTIC_DEFAULT_ROWS`` by default),
  and each tensor column's values are summed back to the raw column it comes from. The default
  preprocessing maps column j to column j; a custom ``preprocess`` is traced column by column
  (``_torch.Network.owners``), and one that mixes columns is explained by the model-agnostic
  explainer on the raw columns instead (the notes say so). See ``_network`` for the tolerances.
- **exact** / **permutation** (model-agnostic): anything else (plain callables included), or an output the fast paths cannot
  compute exactly. The whole model (the whole pipeline) is called on the raw columns, against a
  seeded background sample of ``background_size`` rows, for at most ``max_rows`` rows. ``"auto"``
  uses shap's ExactExplainer when ``2**n_features <= 500`` (at most 8 features; exact, and no
  more model calls than the permutation default) and its PermutationExplainer (500 evaluations
  per row) otherwise. They run in chunks of rows and stop with
  :class:`~rulecheck.errors.TimeBudgetExceeded` once a ``deadline`` has passed.

Explainers are never switched silently: when ``explainer="auto"`` cannot use the natural exact
explainer (an output TreeSHAP cannot compute exactly, a log loss shap cannot explain), the
result's ``notes`` say which explainer ran, on how many rows, and why.

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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck.engines._agnostic import agnostic_loss_values, agnostic_values
from rulecheck.engines._models import (
    ExplainerName,
    Output,
    OutputName,
    Target,
    fast_path,
    model_columns,
    resolve,
    target_of,
)
from rulecheck.engines.model import Explainable, adapt

if TYPE_CHECKING:
    from rulecheck.engines._torch import Network
from rulecheck.errors import InputError

__all__ = ["Attribution", "ExplainerName", "OutputName", "explain", "explain_loss"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

_BAD_PARAM = "The {name!r} parameter of explain must be {expected}. Got {got!r} instead."
# Rows explained by default on the model-agnostic paths (``max_rows`` overrides).
AGNOSTIC_DEFAULT_ROWS = 200
_FALLBACK = "{why}; the model-agnostic {method} explainer ran on {rows} rows instead of TreeSHAP"


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
    explainer : {"tree", "linear", "permutation", "exact", "gradient", "deep"}
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
    row_index : numpy.ndarray or None
        Positions in ``X`` of the explained rows (``values[i]`` explains ``X.iloc[row_index[i]]``);
        None when every row was explained, in order.
    notes : tuple of str
        Which explainer ran and why, when it is not the one asked for or the natural one.
    """

    features: tuple[str, ...]
    values: FloatArray
    expected_value: float
    explainer: str
    output: str
    rows: int
    seed: int
    background_rows: int | None
    row_index: IntArray | None = None
    notes: tuple[str, ...] = ()

    def mean_abs(self) -> FloatArray:
        """Mean absolute contribution of each feature over the explained rows."""
        mean_abs: FloatArray = np.abs(self.values).mean(axis=0)
        return mean_abs

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
    deadline: float | None = None,
) -> Attribution:
    """SHAP values of a fitted model on ``X``, per raw input column.

    Parameters
    ----------
    model : ModelAdapter or fitted model
        A :class:`~rulecheck.engines.model.ModelAdapter`, or a model object that
        :func:`~rulecheck.engines.model.adapt` wraps: a scikit-learn estimator or Pipeline, a
        LightGBM or XGBoost model (scikit-learn wrapper or native Booster), or any object with
        ``predict`` (regression) or ``predict_proba`` / ``decision_function`` (classification)
        for the model-agnostic explainers.
    X : pandas.DataFrame
        The data to explain, with the columns the model was fitted on (matched by name when the
        model recorded names, else by position). Extra columns get contribution 0.
    explainer : {"auto", "tree", "linear", "permutation", "exact", "gradient", "deep"}, default="auto"
        See the module documentation; ``"auto"`` picks the fastest exact method (for PyTorch
        modules, ``"gradient"``).
    output : {"auto", "log_odds", "probability", "raw"}, default="auto"
        Which model output to explain; see the module documentation.
    max_rows : int or None, default=None
        Explain a seeded sample of at most this many rows. None: every row for the tree and
        linear explainers, ``AGNOSTIC_DEFAULT_ROWS`` (200) for the model-agnostic ones.
    seed : int, default=0
        Seed of the row sample, the background sample and the permutations.
    positive_class : object or None, default=None
        For classifiers, the class whose output is explained. Defaults to ``classes_[1]`` for
        binary models; required for more than two classes (one-vs-rest).
    background_size : int, default=100
        Background rows for the model-agnostic explainers and interventional TreeSHAP (seeded
        sample of ``X``). The linear explainer uses all rows of ``X``.
    deadline : float or None, default=None
        A :func:`time.monotonic` instant. The model-agnostic explainers run ``CHUNK_ROWS`` rows at
        a time and raise :class:`~rulecheck.errors.TimeBudgetExceeded` when the deadline has
        passed between chunks. Chunking does not change the values.

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
    from rulecheck.engines._pipeline import preprocess  # imports scikit-learn

    _check_options(explainer, output, max_rows, seed, background_size)
    frame = _check_frame(X)
    adapter = adapt(model)
    columns = model_columns(adapter, frame)
    data = adapter.prepare(frame if columns == list(frame.columns) else frame[columns])
    target = target_of(adapter, positive_class)
    parts = adapter.explainable()
    network_notes: tuple[str, ...] = ()
    if explainer in ("gradient", "deep") and parts.network is None:
        raise InputError(
            _NETWORK_ONLY.format(explainer=explainer, model=adapter.name), subject="explainer"
        )
    if parts.network is not None and explainer in ("auto", "gradient", "deep"):
        owners = parts.network.owners(data)
        if owners is not None:
            return _explain_network(
                parts.network, owners, frame, data, columns, target, explainer, output,
                max_rows, seed, background_size, deadline,
            )  # fmt: skip
        explainer = "auto"  # a preprocess that mixes columns: explain the raw columns
        network_notes = (_UNTRACED.format(model=adapter.name),)
    steps, final = parts.steps, parts.estimator
    fast = fast_path(parts, target)
    method, resolved = resolve(explainer, output, fast, adapter, target, len(columns))

    row_seq, background_seq = np.random.SeedSequence(seed).spawn(2)
    if max_rows is None and method in ("exact", "permutation"):
        # The model-agnostic explainers cost hundreds of model calls per row: cap them by default.
        max_rows = AGNOSTIC_DEFAULT_ROWS
    rows = _sample(len(data), max_rows, np.random.default_rng(row_seq))
    background = _sample(len(data), background_size, np.random.default_rng(background_seq))

    background_rows: int | None
    if method == "tree":
        interventional = resolved == "probability" and fast is not None and fast.margin
        needed = data if rows is None else data.iloc[rows]
        matrix, owners = preprocess(steps, needed, final)
        bg_matrix = None
        if interventional:
            bg_data = data if background is None else data.iloc[background]
            bg_matrix = preprocess(steps, bg_data, final)[0]
        values, expected = _tree_values(parts, matrix, target, resolved, bg_matrix)
        background_rows = None if bg_matrix is None else _height(bg_matrix)
    elif method == "linear":
        matrix, owners = preprocess(steps, data, final)
        values, expected = _linear_values(parts, np.asarray(matrix, dtype=np.float64), rows, target)
        background_rows = len(data)
    else:
        owners = np.arange(len(columns), dtype=np.intp)
        values, expected = agnostic_values(
            adapter, data, rows, background, target, resolved, method, seed, deadline
        )
        background_rows = len(data) if background is None else len(background)
    notes: tuple[str, ...] = ()
    if explainer == "auto" and fast is not None and method not in ("tree", "linear"):
        why = (
            f"the {fast.family} explainer cannot compute output={resolved!r} exactly for "
            f"{adapter.name} (it can: {sorted(fast.outputs)})"
        )
        notes = (_FALLBACK.format(why=why, method=method, rows=values.shape[0]),)
    if network_notes:
        notes = (f"{network_notes[0]}: the model-agnostic {method} explainer ran",)

    return Attribution(
        features=tuple(str(c) for c in frame.columns),
        values=_to_features(values, owners, frame, columns),
        expected_value=expected,
        explainer=method,
        output=resolved,
        rows=values.shape[0],
        seed=seed,
        background_rows=background_rows,
        row_index=rows,
        notes=notes,
    )


_NETWORK_ONLY = (
    "explainer={explainer!r} explains PyTorch modules only; {model} is not one: use 'auto', "
    "'permutation' or 'exact'"
)
_UNTRACED = (
    "the preprocess of {model} mixes input columns (or makes a constant column), so its "
    "attributions cannot be summed back to the raw columns"
)
_NETWORK_OUTPUT = (
    "the {method} explainer cannot explain output={output!r} of {model} (it can: {available})"
)


def _explain_network(
    network: Network,
    owners: IntArray,
    frame: pd.DataFrame,
    data: pd.DataFrame,
    columns: list[Any],
    target: Target,
    explainer: str,
    output: OutputName,
    max_rows: int | None,
    seed: int,
    background_size: int,
    deadline: float | None,
) -> Attribution:
    """shap's Gradient or Deep explainer on the preprocessed tensor, summed back per column."""
    from rulecheck.engines._network import network_values

    method = "deep" if explainer == "deep" else "gradient"
    available = network.outputs(deep=method == "deep")
    resolved = network.natural if output == "auto" else output
    if resolved not in available:
        raise InputError(
            _NETWORK_OUTPUT.format(
                method=method,
                output=resolved,
                model=type(network.module).__name__,
                available=sorted(available),
            ),
            subject="output",
        )
    row_seq, background_seq = np.random.SeedSequence(seed).spawn(2)
    # Like the model-agnostic explainers, a few hundred model calls per row: capped by default.
    cap = AGNOSTIC_DEFAULT_ROWS if max_rows is None else max_rows
    rows = _sample(len(data), cap, np.random.default_rng(row_seq))
    background = _sample(len(data), background_size, np.random.default_rng(background_seq))
    values, expected = network_values(
        network,
        network.encode(data if rows is None else data.iloc[rows]),
        network.encode(data if background is None else data.iloc[background]),
        target.index,
        resolved,
        method,
        seed,
        deadline,
    )
    return Attribution(
        features=tuple(str(c) for c in frame.columns),
        values=_to_features(values, owners, frame, columns),
        expected_value=expected,
        explainer=method,
        output=resolved,
        rows=values.shape[0],
        seed=seed,
        background_rows=len(data) if background is None else len(background),
        row_index=rows,
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


def _sample(n: int, size: int | None, rng: np.random.Generator) -> IntArray | None:
    """Sorted seeded sample of ``size`` row positions, or None for all rows."""
    if size is None or size >= n:
        return None
    return np.sort(rng.choice(n, size=size, replace=False)).astype(np.intp)


# --- tree and linear paths ----------------------------------------------------------------------


def _height(matrix: Any) -> int:
    return int(matrix.shape[0])


def _select_class(
    phi: FloatArray, expected: FloatArray, target: Target, probability: bool
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
    parts: Explainable, matrix: Any, target: Target, output: Output, background: Any | None
) -> tuple[FloatArray, float]:
    if background is None and parts.contributions is not None:
        return _native_values(parts.contributions(matrix), matrix.shape[1], target)
    import shap

    if background is None:
        explainer = shap.TreeExplainer(parts.estimator, feature_perturbation="tree_path_dependent")
    else:
        explainer = shap.TreeExplainer(
            parts.estimator,
            data=np.asarray(background, dtype=np.float64),
            feature_perturbation="interventional",
            model_output="probability",
        )
        matrix = np.asarray(matrix, dtype=np.float64)
    # Additivity is verified by rulecheck's tests; shap's own check would predict every row again.
    phi = np.asarray(explainer.shap_values(matrix, check_additivity=False), dtype=np.float64)
    return _select_class(phi, explainer.expected_value, target, output == "probability")


def _native_values(contrib: FloatArray, width: int, target: Target) -> tuple[FloatArray, float]:
    """TreeSHAP from LightGBM's ``pred_contrib`` or XGBoost's ``pred_contribs`` output."""
    n = contrib.shape[0]
    if contrib.ndim == 2 and contrib.shape[1] != width + 1:  # LightGBM multiclass: class blocks
        contrib = contrib.reshape(n, -1, width + 1)
    if contrib.ndim == 3:  # multiclass: (rows, classes, width + 1)
        return _select_class(
            contrib[:, :, :-1].transpose(0, 2, 1), contrib[0, :, -1], target, False
        )
    return _select_class(contrib[:, :-1], contrib[0, -1:], target, False)


def _linear_values(
    parts: Explainable, matrix: FloatArray, rows: IntArray | None, target: Target
) -> tuple[FloatArray, float]:
    assert parts.linear is not None  # the linear family always carries its coefficients
    coef, intercept = parts.linear
    if coef.ndim == 2 and coef.shape[0] > 1:
        if target.classes is None:
            raise InputError(
                f"{type(parts.estimator).__name__} has {coef.shape[0]} outputs; "
                "explain one at a time",
                subject="model",
            )
        coef, intercept = coef[target.index], intercept[target.index : target.index + 1]
    coef = coef.reshape(-1)
    if target.binary and target.index == 0:  # the margin is the second class's
        coef, intercept = -coef, -intercept
    mean = matrix.mean(axis=0)
    explained = matrix if rows is None else matrix[rows]
    return (explained - mean) * coef, float(mean @ coef + intercept[0])


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
        placed[:, frame.columns.get_indexer(pd.Index(columns))] = by_column
        by_column = placed
    result = np.ascontiguousarray(by_column, dtype=np.float64)
    result.flags.writeable = False
    return result


# --- explaining the loss --------------------------------------------------------------------------


_LOSS_NEEDS_PROBABILITY = (
    "loss attribution explains losses of predicted probabilities; loss {name!r} takes {input}"
)
_LOSS_OF_NETWORK = (
    "the {explainer} explainer explains the network's outputs, not its losses: the "
    "model-agnostic {method} explainer explained the loss on the raw columns"
)
_LOSS_NEEDS_BINARY = "loss attribution needs a binary classifier (or a positive_class); got {model}"
_LOSS_TREE_FAILED = (
    "shap cannot explain the log loss of {model}: {error}; set attribution.explainer to "
    "'permutation' for the model-agnostic explainer"
)


def explain_loss(
    model: Any,
    X: pd.DataFrame,
    y_true: npt.ArrayLike,
    *,
    loss: Any,
    params: Mapping[str, float] | None = None,
    explainer: ExplainerName = "auto",
    max_rows: int | None = None,
    seed: int = 0,
    positive_class: object | None = None,
    background_size: int = 100,
    deadline: float | None = None,
    fallback_rows: int | None = None,
) -> Attribution:
    """SHAP values of each row's *loss* (not its prediction), per raw input column.

    ``model`` is a :class:`~rulecheck.engines.model.ModelAdapter` or a model object (see
    :func:`explain`). ``loss`` is a :class:`rulecheck.engines.losses.LossSpec` whose input is a
    probability; ``y_true`` holds True where the label is the explained (positive) class.

    - Tree models with ``log_loss``: ``shap.TreeExplainer(model_output="log_loss")`` with the
      labels, interventional against a seeded background sample (exact TreeSHAP of the loss).
      ``values[i].sum() + expected`` equals row i's log loss, where the expected value depends on
      the row's label; ``expected_value`` holds the mean of those.
    - Otherwise: for each label value, the model-agnostic explainer of ``x -> loss(y, p(x))``
      (a function of the inputs alone once the label is fixed), so additivity holds per row with
      the expected loss of the row's label over the background.

    With ``explainer="auto"``, a tree model whose log loss TreeSHAP cannot explain (categorical
    splits, a custom objective, or an error from shap) falls back to the model-agnostic
    explainer on at most ``fallback_rows`` rows (default: ``AGNOSTIC_DEFAULT_ROWS`` or
    ``max_rows``, whichever is smaller, since ``max_rows`` was sized for TreeSHAP), and the
    result's ``notes`` say so and why. ``deadline`` works as in :func:`explain`.

    Pipelines are explained on raw columns as in :func:`explain`. Raises InputError for a
    non-probability loss, a non-binary model or a model shap cannot explain.
    """
    if loss.input != "probability":
        raise InputError(
            _LOSS_NEEDS_PROBABILITY.format(name=loss.name, input=loss.input), subject=loss.name
        )
    if explainer == "linear":
        raise InputError(
            "there is no linear explainer for losses; use auto, tree, permutation or exact",
            subject="explainer",
        )
    _check_options(explainer, "auto", max_rows, seed, background_size)
    frame = _check_frame(X)
    labels = np.asarray(y_true, dtype=bool)
    if labels.shape != (len(frame),):
        raise InputError(
            f"y_true has shape {labels.shape}; expected ({len(frame)},)", subject="y_true"
        )
    adapter = adapt(model)
    columns = model_columns(adapter, frame)
    data = adapter.prepare(frame if columns == list(frame.columns) else frame[columns])
    target = target_of(adapter, positive_class)
    if target.classes is None:
        raise InputError(_LOSS_NEEDS_BINARY.format(model=adapter.name), subject="model")
    parts = adapter.explainable()
    if explainer in ("gradient", "deep") and parts.network is None:
        raise InputError(
            _NETWORK_ONLY.format(explainer=explainer, model=adapter.name), subject="explainer"
        )
    fast = fast_path(parts, target)
    row_seq, background_seq = np.random.SeedSequence(seed).spawn(2)
    rows = _sample(len(data), max_rows, np.random.default_rng(row_seq))
    background = _sample(len(data), background_size, np.random.default_rng(background_seq))
    explained_labels = labels if rows is None else labels[rows]
    loss_params = dict(params or {})

    use_tree = (
        explainer in ("auto", "tree")
        and loss.name == "log_loss"
        and not loss_params
        and fast is not None
        and fast.family == "tree"
        and target.binary
    )
    if explainer == "tree" and not use_tree:
        raise InputError(
            f"the tree explainer explains the log_loss of binary tree models only; "
            f"got loss {loss.name!r} and {type(parts.estimator).__name__}",
            subject="explainer",
        )
    if explainer == "tree" and parts.loss_tree_blocker is not None:
        raise InputError(
            _LOSS_TREE_FAILED.format(model=adapter.name, error=parts.loss_tree_blocker),
            subject="model",
        )
    tree_result = None
    why_not_tree = None
    if use_tree and parts.loss_tree_blocker is not None:
        why_not_tree = f"TreeSHAP cannot explain the log loss of {adapter.name}: " + (
            parts.loss_tree_blocker
        )
    elif use_tree:
        tree_result, error = _tree_loss_values(
            parts, data, rows, background, explained_labels, target
        )
        if error is not None and explainer == "tree":
            raise InputError(
                _LOSS_TREE_FAILED.format(model=adapter.name, error=error), subject="model"
            )
        if error is not None:
            why_not_tree = f"TreeSHAP cannot explain the log loss of {adapter.name} (shap: {error})"
    notes: tuple[str, ...] = ()
    if tree_result is not None:
        values, owners, background_rows, base = tree_result
        method = "tree"
    else:
        cap = max_rows
        if why_not_tree is not None:
            # A fallback: max_rows was sized for TreeSHAP, and the model-agnostic path costs
            # hundreds of model calls per row.
            cap = fallback_rows or min(max_rows or AGNOSTIC_DEFAULT_ROWS, AGNOSTIC_DEFAULT_ROWS)
        elif cap is None:
            cap = AGNOSTIC_DEFAULT_ROWS  # cap the model-agnostic path by default
        rows = _sample(len(data), cap, np.random.default_rng(row_seq))
        explained_labels = labels if rows is None else labels[rows]
        values, owners, background_rows, base, method = agnostic_loss_values(
            adapter,
            data,
            rows,
            background,
            explained_labels,
            target,
            loss,
            loss_params,
            explainer,
            seed,
            deadline,
        )
        if why_not_tree is not None:
            notes = (_FALLBACK.format(why=why_not_tree, method=method, rows=values.shape[0]),)
        elif explainer in ("gradient", "deep"):
            notes = (_LOSS_OF_NETWORK.format(explainer=explainer, method=method),)

    return Attribution(
        features=tuple(str(c) for c in frame.columns),
        values=_to_features(values, owners, frame, columns),
        expected_value=base,
        explainer=method,
        output=loss.name,
        rows=values.shape[0],
        seed=seed,
        background_rows=background_rows,
        row_index=rows,
        notes=notes,
    )


def _tree_loss_values(
    parts: Explainable,
    data: pd.DataFrame,
    rows: IntArray | None,
    background: IntArray | None,
    labels: npt.NDArray[np.bool_],
    target: Target,
) -> tuple[tuple[FloatArray, IntArray, int, float] | None, str | None]:
    """TreeSHAP of the log loss, or (None, shap's error) when shap cannot explain the model."""
    import shap

    from rulecheck.engines._pipeline import preprocess

    needed = data if rows is None else data.iloc[rows]
    matrix, owners = preprocess(parts.steps, needed, parts.estimator)
    bg_data = data if background is None else data.iloc[background]
    bg_matrix = preprocess(parts.steps, bg_data, parts.estimator)[0]
    # shap's labels refer to classes_[1]; the loss is the same whichever class is positive.
    shap_labels = (labels if target.index == 1 else ~labels).astype(np.float64)
    try:
        tree = shap.TreeExplainer(
            parts.estimator,
            data=_dense(bg_matrix),
            feature_perturbation="interventional",
            model_output="log_loss",
        )
        raw = tree.shap_values(_dense(matrix), shap_labels)
        # The expected loss over the background depends on the row's label.
        by_label = [float(np.mean(tree.expected_value(v))) for v in (0.0, 1.0)]
        expected = np.where(shap_labels == 1.0, by_label[1], by_label[0])
    except Exception as error:  # shap raises plain Exceptions for unsupported models
        return None, f"{type(error).__name__}: {error}"
    values = np.asarray(raw, dtype=np.float64).reshape(len(shap_labels), -1)
    return (values, owners, _height(bg_matrix), float(expected.mean())), None


def _dense(matrix: Any) -> FloatArray:
    """A float64 ndarray from a dense or scipy-sparse matrix (shap's log-loss path needs dense)."""
    if hasattr(matrix, "toarray"):
        matrix = matrix.toarray()
    return np.asarray(matrix, dtype=np.float64)
