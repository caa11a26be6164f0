"""The model-agnostic explainers: shap's Exact and Permutation explainers on the whole model.

The model (through its adapter) is called on the raw columns, coded as integers so that shap's
maskers can mix rows of any dtype exactly. Rows are explained ``CHUNK_ROWS`` at a time, and a
deadline (a :func:`time.monotonic` instant) is checked between chunks: past it,
:class:`~rulecheck.errors.TimeBudgetExceeded` says how many rows were explained. Chunking does
not change the values (see :func:`_in_chunks`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck.engines._models import PERMUTATION_EVALS, Output, Target
from rulecheck.engines.model import ModelAdapter
from rulecheck.errors import InputError, TimeBudgetExceeded

__all__ = ["CHUNK_ROWS", "agnostic_loss_values", "agnostic_values"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

_LOGIT_EPS = 1e-12
# Rows explained per call to shap; the deadline is checked in between.
CHUNK_ROWS = 20

_OVER_BUDGET = (
    "the model-agnostic {method} explainer exceeded the time budget ({elapsed:.1f} s spent, "
    "deadline passed) after explaining {done} of {total} rows; lower max_rows (on the rule or "
    "in attribution) or raise the time budget"
)


@dataclass(frozen=True, slots=True)
class _Codec:
    """Every column as integer codes, so shap's maskers can mix rows of any dtype exactly."""

    columns: tuple[Any, ...]
    codes: FloatArray
    uniques: tuple[pd.Index, ...]
    # The uniques as float64 arrays when every column is float64: decoding then builds one
    # block instead of a column per call (the explainers call the model hundreds of times).
    floats: tuple[FloatArray, ...] | None = None
    labels: pd.Index | None = None  # the columns as an Index, built once

    @classmethod
    def of(cls, frame: pd.DataFrame) -> _Codec:
        pairs = [pd.factorize(frame[c], use_na_sentinel=False) for c in frame.columns]
        codes = np.column_stack([p[0] for p in pairs]).astype(np.float64)
        uniques = tuple(pd.Index(p[1]) for p in pairs)
        floats = None
        if all(dtype == np.float64 for dtype in frame.dtypes):
            floats = tuple(np.asarray(u, dtype=np.float64) for u in uniques)
        return cls(tuple(frame.columns), codes, uniques, floats, pd.Index(frame.columns))

    def decode(self, codes: FloatArray) -> pd.DataFrame:
        index = codes.astype(np.intp)
        if self.floats is not None:
            matrix = np.column_stack([u[index[:, j]] for j, u in enumerate(self.floats)])
            return pd.DataFrame(matrix, columns=self.labels, copy=False)
        return pd.DataFrame(
            {
                c: u.take(index[:, j])
                for j, (c, u) in enumerate(zip(self.columns, self.uniques, strict=True))
            }
        )


def _output_function(
    model: ModelAdapter, codec: _Codec, target: Target, output: Output
) -> Callable[[FloatArray], FloatArray]:
    """The explained output as a function of a coded matrix."""

    def call(codes: FloatArray) -> FloatArray:
        frame = codec.decode(np.atleast_2d(codes))
        if target.classes is None:
            return np.asarray(model.predict(frame), dtype=np.float64).reshape(-1)
        if output == "raw":
            score = model.margins(frame)
            if score.ndim == 1:  # binary: the second class's margin
                return score if target.index == 1 else -score
            return score[:, target.index]
        p = model.predict_proba(frame)[:, target.index]
        if output == "probability":
            return p
        p = np.clip(p, _LOGIT_EPS, 1.0 - _LOGIT_EPS)
        return np.log(p) - np.log1p(-p)

    return call


def _in_chunks(
    explain_rows: Callable[[FloatArray], Any],
    explained: FloatArray,
    deadline: float | None,
    method: str,
    done: int = 0,
    total: int | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Explain ``explained`` ``CHUNK_ROWS`` rows at a time; (values, base values per row).

    shap's PermutationExplainer seeds numpy's generator once, when it is created, and each row
    draws its permutations from it in order: calling the same explainer chunk after chunk draws
    exactly what one call on all rows draws, so the values do not depend on the chunking.
    """
    started = time.monotonic()
    total = len(explained) if total is None else total
    values: list[FloatArray] = []
    bases: list[FloatArray] = []
    n_features = explained.shape[1]
    for start in range(0, len(explained), CHUNK_ROWS):
        if start > 0 and deadline is not None and time.monotonic() > deadline:
            raise TimeBudgetExceeded(
                _OVER_BUDGET.format(
                    method=method,
                    elapsed=time.monotonic() - started,
                    done=done + start,
                    total=total,
                ),
                subject="time_budget_s",
            )
        chunk = explained[start : start + CHUNK_ROWS]
        result = explain_rows(chunk)
        values.append(np.asarray(result.values, dtype=np.float64).reshape(len(chunk), n_features))
        bases.append(np.asarray(result.base_values, dtype=np.float64).reshape(-1))
    return np.concatenate(values), np.concatenate(bases)


def _row_explainer(
    function: Callable[[FloatArray], FloatArray],
    masker: Any,
    method: str,
    n_features: int,
    seed: int,
) -> Callable[[FloatArray], Any]:
    import shap

    if method == "exact":
        exact = shap.ExactExplainer(function, masker)
        return lambda rows: exact(rows, silent=True)
    evals = max(PERMUTATION_EVALS, 2 * n_features + 1)
    permutation = shap.PermutationExplainer(function, masker, seed=seed)
    return lambda rows: permutation(rows, max_evals=evals, silent=True)


def agnostic_values(
    model: ModelAdapter,
    data: pd.DataFrame,
    rows: IntArray | None,
    background: IntArray | None,
    target: Target,
    output: Output,
    method: str,
    seed: int,
    deadline: float | None,
) -> tuple[FloatArray, float]:
    import shap

    codec = _Codec.of(data)
    function = _output_function(model, codec, target, output)
    bg = codec.codes if background is None else codec.codes[background]
    try:
        function(bg[:1])
    except InputError:
        raise
    except Exception as error:  # the model's own error, reported as an input problem
        raise InputError(
            f"{model.name} failed on the data: {type(error).__name__}: {error}",
            subject="model",
        ) from error
    masker = shap.maskers.Independent(bg, max_samples=len(bg))
    explained = codec.codes if rows is None else codec.codes[rows]
    # PermutationExplainer seeds numpy's global generator; restore the caller's state afterwards.
    state = np.random.get_state()
    try:
        explain_rows = _row_explainer(function, masker, method, explained.shape[1], seed)
        values, bases = _in_chunks(explain_rows, explained, deadline, method)
    finally:
        np.random.set_state(state)
    return values, float(bases[0])


def agnostic_loss_values(
    model: ModelAdapter,
    data: pd.DataFrame,
    rows: IntArray | None,
    background: IntArray | None,
    labels: npt.NDArray[np.bool_],
    target: Target,
    loss: Any,
    loss_params: dict[str, float],
    explainer: str,
    seed: int,
    deadline: float | None,
) -> tuple[FloatArray, IntArray, int, float, str]:
    """Model-agnostic SHAP of ``loss(y, p(x))``: with the label fixed, a function of x alone."""
    import shap

    from rulecheck.engines.losses import per_row_loss

    codec = _Codec.of(data)
    probability = _output_function(model, codec, target, "probability")
    bg = codec.codes if background is None else codec.codes[background]
    explained = codec.codes if rows is None else codec.codes[rows]
    n_features = explained.shape[1]
    if explainer in ("permutation", "exact"):
        method = explainer
    else:
        method = "exact" if 2**n_features <= 500 else "permutation"
    values = np.zeros(explained.shape, dtype=np.float64)
    bases: list[float] = []
    masker = shap.maskers.Independent(bg, max_samples=len(bg))
    done = 0
    # PermutationExplainer seeds numpy's global generator; restore the caller's state afterwards.
    state = np.random.get_state()
    try:
        for label in (False, True):
            chosen = np.flatnonzero(labels == label)
            if len(chosen) == 0:
                continue

            def row_loss(codes: FloatArray, label: bool = label) -> FloatArray:
                p = probability(codes)
                return per_row_loss(loss, np.full(len(p), int(label)), p, loss_params)

            explain_rows = _row_explainer(row_loss, masker, method, n_features, seed)
            chunk_values, chunk_bases = _in_chunks(
                explain_rows, explained[chosen], deadline, method, done, len(explained)
            )
            done += len(chosen)
            values[chosen] = chunk_values
            bases.extend(chunk_bases.tolist())
    finally:
        np.random.set_state(state)
    owners = np.arange(n_features, dtype=np.intp)
    base = float(np.mean(bases)) if bases else 0.0
    return values, owners, len(bg), base, method
