"""The space of model-input rows an audit frame spans: typed values, one-row frames, a strategy.

Property rules change model inputs and score the changed rows, so every value they write must
fit the column it goes to: a policy's ``1`` into a float column, ``"Female"`` into a category
column (adding the category when the data never had it), a YAML ``true`` into a bool column.
:func:`resolve` turns a policy value into the column's own spelling, :func:`assign` writes it
into a column without changing its dtype, and :func:`frame_of` builds a small frame of rows with
the audit frame's dtypes.

:func:`row_strategy` generates rows within the frame's observed schema for the hypothesis
search. Each row starts from a real row of the data and overrides some of its columns with
generated values, and it shrinks towards real data: the base row towards the first row that
satisfies the constraints, each override towards "keep the real value", and an override itself
towards a typical value (the median of a numeric column, the most frequent value of any other
column). A shrunk counterexample is therefore a real row with as few, and as ordinary, changes
as the failure allows. hypothesis is imported only when a strategy is built (it is needed for
searches only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck._measures import _as_number, same_value
from rulecheck.errors import InputError
from rulecheck.verdict import Scalar

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["assign", "frame_of", "plain", "resolve", "row_strategy"]

BoolArray = npt.NDArray[np.bool_]


def _is_number_column(dtype: Any) -> bool:
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


def plain(value: object) -> Scalar:
    """A cell as a Python scalar (numpy scalars unwrapped, missing as NaN, others as text)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return float("nan")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _observed(series: pd.Series) -> list[Any]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return list(series.cat.categories)
    return list(pd.unique(series.dropna()))


def resolve(series: pd.Series, value: Scalar) -> Any:
    """``value`` (from a policy) as column ``series`` spells it, so writing it keeps the dtype.

    A value the column holds (by :func:`same_value`) is taken as the column holds it; otherwise
    it is cast to the column's kind (a number for numeric columns and numeric categories, a bool
    for bool columns, text for text columns). InputError when it cannot be.
    """
    for known in _observed(series):
        if same_value(known, value):
            return known
    dtype = series.dtype
    target = dtype.categories.dtype if isinstance(dtype, pd.CategoricalDtype) else dtype
    if pd.api.types.is_bool_dtype(target):
        for flag in (True, False):
            if same_value(flag, value):
                return flag
    elif _is_number_column(target):
        number = None if isinstance(value, bool) else _as_number(value)
        if number is not None:
            integral = pd.api.types.is_integer_dtype(target) and number.is_integer()
            return int(number) if integral else number
    elif pd.api.types.is_string_dtype(target) and not pd.api.types.is_object_dtype(target):
        return str(value)
    else:
        return value
    raise InputError(
        f"cannot write {value!r} into column {series.name!r} (dtype {dtype})",
        subject=str(series.name),
    )


def assign(series: pd.Series, rows: BoolArray, value: Any) -> pd.Series:
    """A copy of ``series`` with ``value`` at ``rows``, in the column's dtype (a category column
    gains the category; an integer column becomes float only for a non-integer value)."""
    if not rows.any():
        return series
    if isinstance(series.dtype, pd.CategoricalDtype):
        if value not in series.cat.categories:
            series = series.cat.add_categories([value])
        out = series.copy()
        out[rows] = value
        return out
    return series.mask(rows, value)


def _column(values: Sequence[Any], like: pd.Series) -> pd.Series:
    dtype = like.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        known = set(dtype.categories)
        new = [v for v in dict.fromkeys(values) if v not in known and not pd.isna(v)]
        if new:
            dtype = pd.CategoricalDtype([*dtype.categories, *new], ordered=dtype.ordered)
        return pd.Series(pd.Categorical(values, dtype=dtype))
    try:
        return pd.Series(values, dtype=dtype)
    except (TypeError, ValueError):  # 2.5 into an integer column, NaN into a bool column
        return pd.Series(values)


def frame_of(rows: Sequence[Mapping[str, Any]], like: pd.DataFrame) -> pd.DataFrame:
    """Rows (column -> value) as a frame with ``like``'s columns and dtypes."""
    missing = [c for c in like.columns if any(c not in row for row in rows)]
    if missing:
        raise InputError(f"row lacks model inputs: {', '.join(map(repr, missing))}", subject="row")
    return pd.DataFrame(
        {c: _column([row[c] for row in rows], like[c]) for c in like.columns},
        index=pd.RangeIndex(len(rows)),
    )


def _allowed(series: pd.Series, rule: Mapping[str, Any]) -> BoolArray:
    """Rows of ``series`` within a constraint (``values`` by same_value, ``min``/``max``)."""
    keep = np.ones(len(series), dtype=bool)
    if "values" in rule:
        hits = np.zeros(len(series), dtype=bool)
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        ok = [any(same_value(u, v) for v in rule["values"]) for u in uniques]
        hits |= np.array([*ok, False], dtype=bool)[codes]
        keep &= hits
    if "min" in rule or "max" in rule:
        numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
        keep &= numbers >= float(rule.get("min", -np.inf))
        keep &= numbers <= float(rule.get("max", np.inf))
    return keep


def _values_strategy(series: pd.Series, rule: Mapping[str, Any]) -> SearchStrategy[Any]:
    from hypothesis import strategies as st

    present = series.dropna()
    if "values" in rule:
        chosen = [resolve(series, v) for v in rule["values"]]
        return st.sampled_from(list(dict.fromkeys(chosen)))
    if _is_number_column(series.dtype) and len(present):
        numbers = present.to_numpy(dtype=np.float64)
        low = max(float(numbers.min()), float(rule.get("min", -np.inf)))
        high = min(float(numbers.max()), float(rule.get("max", np.inf)))
        if low > high:
            raise InputError(f"constraint on {series.name!r} excludes every value", subject="row")
        middle = min(max(float(np.median(numbers)), low), high)
        if pd.api.types.is_integer_dtype(series.dtype) or bool(np.all(numbers % 1 == 0)):
            low_i, high_i, mid = int(np.ceil(low)), int(np.floor(high)), round(middle)
            mid = min(max(mid, low_i), high_i)
            as_int = pd.api.types.is_integer_dtype(series.dtype)
            cast = int if as_int else float
            return st.one_of(
                st.integers(0, high_i - mid).map(lambda d: cast(mid + d)),
                st.integers(0, mid - low_i).map(lambda d: cast(mid - d)),
            )
        return st.one_of(
            st.floats(0.0, high - middle, allow_nan=False).map(lambda d: min(middle + d, high)),
            st.floats(0.0, middle - low, allow_nan=False).map(lambda d: max(middle - d, low)),
        )
    counts = present.value_counts(sort=False)
    # Most frequent first (shrinking goes to the first value), ties in text order.
    ordered = sorted(counts.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
    values = [value for value, count in ordered if count > 0]
    if not values:
        return st.just(np.nan)
    return st.sampled_from(values)


def row_strategy(
    X: pd.DataFrame, constraints: Mapping[str, Mapping[str, Any]] | None = None
) -> SearchStrategy[dict[str, Any]]:
    """Rows (column -> value) within ``X``'s observed schema, shrinking towards real rows.

    ``constraints`` narrow columns: ``{"age": {"min": 18, "max": 90}}`` or
    ``{"sex": {"values": ["Male", "Female"]}}``; real rows outside them are never used as a base.
    Numeric columns range over their observed [min, max] (integers when they hold only integer
    values), other columns over their observed values; generated values are never missing.
    """
    from hypothesis import strategies as st

    constraints = constraints or {}
    unknown = [c for c in constraints if c not in X.columns]
    if unknown:
        raise InputError(f"constraint on unknown columns {unknown}", subject="row")
    columns = [str(c) for c in X.columns]
    keep = np.ones(len(X), dtype=bool)
    for name, rule in constraints.items():
        keep &= _allowed(X[name], rule)
    bases = np.flatnonzero(keep)
    overrides = st.tuples(
        *[st.one_of(st.none(), _values_strategy(X[c], constraints.get(c, {}))) for c in columns]
    )
    if not len(bases):  # no real row fits: every value is generated
        generated = st.tuples(*[_values_strategy(X[c], constraints.get(c, {})) for c in columns])
        return generated.map(lambda values: dict(zip(columns, values, strict=True)))
    real = {c: X[c].to_numpy(dtype=object) for c in columns}

    def build(choice: tuple[int, tuple[Any, ...]]) -> dict[str, Any]:
        base, values = int(bases[choice[0]]), choice[1]
        row: dict[str, Any] = {}
        for column, value in zip(columns, values, strict=True):
            row[column] = real[column][base] if value is None else value
        return row

    return st.tuples(st.integers(0, len(bases) - 1), overrides).map(build)
