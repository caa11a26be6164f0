"""Selecting rows (``where:``) and giving columns declared types (``target.dtypes``).

Both are declarative: a ``where`` is a conjunction of :class:`~rulecheck._measures.Condition`
terms on columns (values, numeric bounds, negation), never an expression, and ``dtypes`` names
one of five types per column. So a CSV file and a Parquet file of the same table give identical
results, and a policy from an untrusted pull request cannot run code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck._measures import Condition, same_value
from rulecheck.engines.groupstats import missing_column_message
from rulecheck.engines.targets import matches
from rulecheck.errors import InputError

__all__ = ["DTYPES", "apply_dtypes", "describe_where", "select_rows", "where_mask"]

BoolArray = npt.NDArray[np.bool_]

DTYPES = ("category", "int", "float", "str", "bool")


def describe_where(conditions: Sequence[Condition]) -> str:
    """``age >= 25 and sex = Female``."""
    return " and ".join(c.describe() for c in conditions)


def _condition_mask(frame: pd.DataFrame, condition: Condition) -> BoolArray:
    column = condition.column
    if column not in frame.columns:
        raise InputError(missing_column_message(column, frame, "where column"), subject=column)
    series = frame[column]
    keep = np.ones(len(series), dtype=bool)
    if condition.values:
        hit = np.zeros(len(series), dtype=bool)
        for value in condition.values:
            hit |= matches(series, value)
        keep &= hit
    bounds = [
        (op, bound)
        for op, bound in (
            (np.greater, condition.gt),
            (np.greater_equal, condition.gte),
            (np.less, condition.lt),
            (np.less_equal, condition.lte),
        )
        if bound is not None
    ]
    if bounds:
        if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(
            series.dtype
        ):
            raise InputError(
                f"where: {condition.describe()}: column {column!r} is not numeric "
                f"(dtype {series.dtype}); compare it with values instead",
                subject=column,
            )
        numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            for op, bound in bounds:
                keep &= op(numbers, bound)  # NaN compares False: missing never matches
    return ~keep if condition.negate else keep


def where_mask(
    frame: pd.DataFrame, conditions: Sequence[Condition], *, require_any: bool = True
) -> BoolArray:
    """Rows of ``frame`` that satisfy every condition; InputError if none does (unless
    ``require_any`` is false: a batch of a streamed audit may hold none)."""
    keep = np.ones(len(frame), dtype=bool)
    for condition in conditions:
        keep &= _condition_mask(frame, condition)
    if require_any and conditions and not keep.any():
        raise InputError(
            f"where: {describe_where(conditions)} selects none of the {len(frame)} rows",
            subject="where",
        )
    return keep


def select_rows(
    frame: pd.DataFrame, where: Sequence[Condition], drop_missing: Sequence[str] = ()
) -> tuple[BoolArray, tuple[str, ...]]:
    """Rows a rule judges: those matching ``where`` with no missing ``drop_missing`` value.

    Returns the mask and notes that say which rows those are, for the verdict.
    """
    notes: list[str] = []
    keep = where_mask(frame, where)
    if where:
        notes.append(
            f"Slice: {describe_where(where)} ({int(keep.sum()):,} of {len(frame):,} rows)."
        )
    if drop_missing:
        for column in drop_missing:
            if column not in frame.columns:
                raise InputError(
                    missing_column_message(column, frame, "group column"), subject=column
                )
        absent = frame[list(drop_missing)].isna().any(axis=1).to_numpy() & keep
        if absent.any():
            notes.append(
                f"Dropped {int(absent.sum()):,} rows with a missing {' or '.join(drop_missing)} "
                "(missing: drop)."
            )
            keep &= ~absent
        if not keep.any():
            raise InputError(f"no rows left after dropping missing {', '.join(drop_missing)}")
    return keep, tuple(notes)


def apply_dtypes(frame: pd.DataFrame, dtypes: Mapping[str, str]) -> pd.DataFrame:
    """A copy of ``frame`` with the declared column types; InputError names a failing column.

    ``category`` keeps missing values missing; ``int`` needs whole numbers without missing
    values (nullable ``Int64`` when some are missing); ``bool`` accepts true/false, yes/no and 1/0
    in any spelling (:func:`same_value`); ``str`` is pandas' string dtype.
    """
    if not dtypes:
        return frame
    out = frame.copy(deep=False)
    for column, dtype in dtypes.items():
        if column not in out.columns:
            raise InputError(missing_column_message(column, out, "dtypes column"), subject=column)
        try:
            out[column] = _convert(out[column], dtype)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"dtypes: cannot read column {column!r} as {dtype}: {exc}", subject=column
            ) from None
    return out


def _convert(series: pd.Series, dtype: str) -> pd.Series:
    if dtype == "category":
        return series.astype("category")
    if dtype == "str":
        return series.astype("str")  # pandas' str dtype keeps missing values missing
    if dtype == "float":
        return pd.to_numeric(series, errors="raise").astype(np.float64)
    if dtype == "int":
        numbers = pd.to_numeric(series, errors="raise")
        whole = numbers.dropna()
        if not (whole == np.floor(whole)).all():
            bad = float(whole[whole != np.floor(whole)].iloc[0])
            raise ValueError(f"{bad!r} is not a whole number")
        return numbers.astype("Int64" if numbers.isna().any() else np.int64)
    if dtype == "bool":
        present = series.dropna()
        truth = present.map(lambda v: same_value(v, True))
        falsity = present.map(lambda v: same_value(v, False))
        neither = ~(truth | falsity)
        if neither.any():
            raise ValueError(f"{present[neither].iloc[0]!r} is not true/false, yes/no or 1/0")
        if len(present) < len(series):
            return truth.reindex(series.index).astype("boolean")
        return truth.astype(bool)
    raise ValueError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
