"""Map the output columns of a fitted scikit-learn preprocessing chain back to its input columns.

Attribution is reported per raw input column, but a pipeline's final estimator sees one-hot,
scaled or imputed columns. This module answers one question for a fitted transformer: which input
column does each output column come from? Contributions of the final estimator can then be summed
back to the raw column exactly, because every output column depends on one input column only.

Transformers that combine several input columns into one output column (PCA,
PolynomialFeatures across columns, Normalizer, KNNImputer, ...) have no such answer; they raise
:class:`MixedColumnsError`, which the attribution engine turns into an :class:`InputError`.

The set of per-column transformers is an explicit allowlist, not a guess from feature names:
``Normalizer`` keeps its input feature names but mixes columns, so names alone cannot tell.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import SelectorMixin
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import (
    Binarizer,
    FunctionTransformer,
    KBinsDiscretizer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    SplineTransformer,
    StandardScaler,
    TargetEncoder,
)

__all__ = ["MixedColumnsError", "column_owners", "preprocess"]

from rulecheck.errors import InputError

IntArray = npt.NDArray[np.intp]

# Output column i depends on input column i only.
_ELEMENTWISE = (
    StandardScaler,
    MinMaxScaler,
    MaxAbsScaler,
    RobustScaler,
    QuantileTransformer,
    PowerTransformer,
    OrdinalEncoder,
    Binarizer,
)
# Each input column becomes a contiguous block of equally many output columns, in input order.
_BLOCKWISE = (SplineTransformer, TargetEncoder)

_MISSING_INDICATOR_PREFIX = "missingindicator_"

_MIXED_COLUMNS = (
    "cannot attribute to raw columns through pipeline step {step!r} ({kind}): its output columns "
    "may combine several input columns; use explainer='permutation', which explains the whole "
    "pipeline on its raw input columns"
)
_NOT_NUMERIC_AFTER = (
    "the preprocessed data that reaches {model} is not numeric; encode every text column in the "
    "pipeline (e.g. with OneHotEncoder) or use explainer='permutation'"
)
_NOT_NUMERIC = (
    "columns {columns} are not numeric and reach {model} without preprocessing; encode them "
    "(e.g. a Pipeline with a ColumnTransformer and OneHotEncoder) or use explainer='permutation'"
)


class MixedColumnsError(Exception):
    """A transformer's output columns cannot be traced back to single input columns."""

    def __init__(self, transformer: object) -> None:
        self.transformer = transformer
        super().__init__(type(transformer).__name__)


def column_owners(transformer: Any, n_in: int, n_out: int) -> IntArray:
    """Index of the input column that each output column of a fitted transformer comes from.

    Parameters
    ----------
    transformer : fitted transformer, ``"passthrough"``, ``"drop"`` or None
        A step of a Pipeline, or an entry of a ColumnTransformer.
    n_in : int
        Number of input columns the transformer receives.
    n_out : int
        Number of output columns it produces (known from the transformed data).

    Returns
    -------
    numpy.ndarray of shape (n_out,)
        ``owners[j]`` is the input column that output column ``j`` depends on.

    Raises
    ------
    MixedColumnsError
        If an output column may depend on more than one input column, or the transformer is not
        known to work column by column.
    """
    owners = _owners(transformer, n_in, n_out)
    if owners.shape != (n_out,) or (n_out and (owners.min() < 0 or owners.max() >= n_in)):
        raise MixedColumnsError(transformer)
    return owners


def _owners(t: Any, n_in: int, n_out: int) -> IntArray:
    if t is None or (isinstance(t, str) and t == "passthrough"):
        return np.arange(n_in, dtype=np.intp)
    if isinstance(t, str) and t == "drop":
        return np.empty(0, dtype=np.intp)
    if n_in == 1:
        # Whatever a transformer does to a single column, all of its outputs come from it.
        return np.zeros(n_out, dtype=np.intp)
    if isinstance(t, Pipeline):
        return _pipeline_owners(t, n_in, n_out)
    if isinstance(t, ColumnTransformer):
        return _column_transformer_owners(t, n_in, n_out)
    if isinstance(t, FeatureUnion):
        return _feature_union_owners(t, n_in, n_out)
    if isinstance(t, _ELEMENTWISE) or _is_elementwise_function(t):
        return np.arange(n_in, dtype=np.intp)
    if isinstance(t, KBinsDiscretizer):
        if t.encode == "ordinal":
            return np.arange(n_in, dtype=np.intp)
        return np.repeat(np.arange(n_in, dtype=np.intp), np.asarray(t.n_bins_, dtype=np.intp))
    if isinstance(t, _BLOCKWISE) and n_out % n_in == 0:
        return np.repeat(np.arange(n_in, dtype=np.intp), n_out // n_in)
    if isinstance(t, OneHotEncoder):
        return np.repeat(np.arange(n_in, dtype=np.intp), _one_hot_widths(t))
    if isinstance(t, SelectorMixin):
        return np.asarray(t.get_support(indices=True), dtype=np.intp)
    if isinstance(t, (SimpleImputer, MissingIndicator)):
        return _owners_by_name(t, n_in)
    raise MixedColumnsError(t)


def _is_elementwise_function(t: Any) -> bool:
    """A FunctionTransformer is per-column only if its function is the identity or a ufunc."""
    return isinstance(t, FunctionTransformer) and (t.func is None or isinstance(t.func, np.ufunc))


def _one_hot_widths(encoder: Any) -> IntArray:
    """Output columns per input column of a fitted OneHotEncoder, from its public attributes.

    Mirrors scikit-learn's own count: one column per category, minus the dropped one, with the
    infrequent categories of a column sharing a single column.
    """
    widths = np.array([len(cats) for cats in encoder.categories_], dtype=np.intp)
    drop_idx = encoder.drop_idx_
    if drop_idx is not None:
        widths -= np.array([idx is not None for idx in drop_idx], dtype=np.intp)
    for i, infrequent in enumerate(
        getattr(encoder, "infrequent_categories_", [None] * len(widths))
    ):
        if infrequent is not None:
            widths[i] -= len(infrequent) - 1
    return widths


def _owners_by_name(t: Any, n_in: int) -> IntArray:
    """Imputers keep input names and prefix indicator columns, so names identify the owners."""
    names_in = getattr(t, "feature_names_in_", None)
    in_names = (
        [str(n) for n in names_in] if names_in is not None else [f"x{i}" for i in range(n_in)]
    )
    index = {name: i for i, name in enumerate(in_names)}
    owners = []
    for out in t.get_feature_names_out():
        name = str(out)
        if name not in index and name.startswith(_MISSING_INDICATOR_PREFIX):
            name = name[len(_MISSING_INDICATOR_PREFIX) :]
        if name not in index:
            raise MixedColumnsError(t)
        owners.append(index[name])
    return np.asarray(owners, dtype=np.intp)


def _pipeline_owners(pipe: Pipeline, n_in: int, n_out: int) -> IntArray:
    # Without intermediate data the widths between steps are unknown, so only steps whose width
    # follows from their own attributes work here; n_features_in_ of the next step gives it.
    steps = [step for _, step in pipe.steps if step is not None and step != "passthrough"]
    owners = np.arange(n_in, dtype=np.intp)
    for i, step in enumerate(steps):
        if i + 1 < len(steps):
            width = getattr(steps[i + 1], "n_features_in_", None)
            if width is None:
                raise MixedColumnsError(step)
        else:
            width = n_out
        owners = owners[column_owners(step, len(owners), int(width))]
    return owners


def _column_transformer_owners(ct: ColumnTransformer, n_in: int, n_out: int) -> IntArray:
    owners = np.full(n_out, -1, dtype=np.intp)
    names_in = getattr(ct, "feature_names_in_", None)
    for name, transformer, columns in ct.transformers_:
        out = ct.output_indices_[name]
        width = out.stop - out.start
        if width == 0:
            continue
        inputs = _resolve_columns(columns, names_in, n_in)
        owners[out] = inputs[column_owners(transformer, len(inputs), width)]
    if (owners < 0).any():
        raise MixedColumnsError(ct)
    return owners


def _feature_union_owners(union: FeatureUnion, n_in: int, n_out: int) -> IntArray:
    parts = []
    for _, transformer in union.transformer_list:
        if transformer is None or (isinstance(transformer, str) and transformer == "drop"):
            continue
        if isinstance(transformer, str):  # "passthrough"
            width = n_in
        else:
            try:
                width = len(transformer.get_feature_names_out())
            except (AttributeError, ValueError, TypeError):  # no way to know its width
                raise MixedColumnsError(transformer) from None
        parts.append(column_owners(transformer, n_in, width))
    owners = np.concatenate(parts) if parts else np.empty(0, dtype=np.intp)
    if owners.shape != (n_out,):
        raise MixedColumnsError(union)
    return owners


def _resolve_columns(columns: Any, names_in: Any, n_in: int) -> IntArray:
    """Positions of a ColumnTransformer column spec (name, names, ints, slice or boolean mask)."""
    positions = np.arange(n_in, dtype=np.intp)
    if isinstance(columns, slice):
        if isinstance(columns.start, str) or isinstance(columns.stop, str):
            index = {str(n): i for i, n in enumerate(names_in)}
            start = index[columns.start] if columns.start is not None else 0
            stop = index[columns.stop] + 1 if columns.stop is not None else n_in
            return positions[start:stop]
        selected: IntArray = positions[columns]
        return selected
    if isinstance(columns, (str, int, np.integer)):
        columns = [columns]
    cols = list(columns)
    if not cols:
        return np.empty(0, dtype=np.intp)
    if all(isinstance(c, (bool, np.bool_)) for c in cols):
        return np.flatnonzero(np.asarray(cols, dtype=bool)).astype(np.intp)
    if all(isinstance(c, str) for c in cols):
        index = {str(n): i for i, n in enumerate(names_in)}
        return np.asarray([index[c] for c in cols], dtype=np.intp)
    return np.asarray(cols, dtype=np.intp) % n_in  # negative positions count from the end


def preprocess(
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
    model = type(final).__name__
    if isinstance(matrix, pd.DataFrame):
        native_categories = type(final).__module__.split(".", 1)[0] in {"lightgbm", "xgboost"}
        bad = [
            str(c)
            for c, dtype in matrix.dtypes.items()
            if not (
                pd.api.types.is_numeric_dtype(dtype)
                or (native_categories and isinstance(dtype, pd.CategoricalDtype))
            )
        ]
        if bad:
            raise InputError(_NOT_NUMERIC.format(columns=bad, model=model), subject="X")
        if native_categories:  # LightGBM and XGBoost read pandas categoricals themselves
            return matrix, owners
    elif sparse.issparse(matrix):
        matrix = cast("Any", matrix).toarray()  # issparse narrows to a type without toarray
    try:
        return np.asarray(matrix, dtype=np.float64), owners
    except (TypeError, ValueError):
        raise InputError(_NOT_NUMERIC_AFTER.format(model=model), subject="X") from None
