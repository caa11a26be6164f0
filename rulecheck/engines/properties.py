"""Property rules: change the model's inputs and check what the model does with the change.

A :class:`~rulecheck._measures.PropertySpec` names one perturbation: a counterfactual (set a
protected attribute to other values, and its declared proxies with it), a monotonic sweep (set a
feature to each point of a grid over its observed range) or an invariance (add noise to
features, or set them to listed values). :func:`check_property` runs it exhaustively over the
audit rows: each perturbed copy of the whole frame is scored in one batched ``predict`` call, so
the model is called once per perturbation (plus once on the rows as they are), never per row.
With ``search_examples`` it also runs :func:`search`, a hypothesis search over rows within the
data's observed schema (:mod:`rulecheck.engines._rowspace`) that shrinks a failure to a minimal
counterexample. :func:`replay` re-checks one given row (``rulecheck check --replay``).

What is compared: with ``output: decision`` a row breaks the property when its decision flips,
with ``output: score`` when its score moves by more than ``tolerance``. ``largest`` and the
counterexamples' ``before``/``after`` are scores when the model gives scores (so a decision rule
still says how far the scores moved), 1/0 decisions otherwise. A monotonic property always
compares scores when there are any: its breach is a score drop (or a rise, for ``decreasing``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck._measures import Counterexample, PropertyResult, PropertySpec
from rulecheck.engines._rowspace import assign, frame_of, plain, resolve
from rulecheck.engines.groupstats import Grouping, missing_column_message
from rulecheck.engines.targets import matches
from rulecheck.errors import InputError
from rulecheck.verdict import Scalar

__all__ = ["Predict", "check_property", "replay", "search"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]
Output = tuple[FloatArray | None, BoolArray]
Predict = Callable[[pd.DataFrame], Output]

WORST = 5
NEEDS_SCORES = (
    "output: score compares the model's scores, and this model gives only decisions (no "
    "predict_proba); use output: decision"
)
NEEDS_HYPOTHESIS = "search_examples needs the hypothesis package: pip install hypothesis"


@dataclass(frozen=True)
class _Variant:
    """One perturbed copy of a frame: the rows it changes (audits) and the columns it writes."""

    frame: pd.DataFrame
    applies: BoolArray
    changed: tuple[str, ...]


def _column(X: pd.DataFrame, name: str | None, what: str) -> str:
    if name is None:
        raise InputError(f"a property needs {what}", subject="property")
    if name not in X.columns:
        raise InputError(missing_column_message(name, X, what), subject=name)
    return name


def _numeric(X: pd.DataFrame, name: str, what: str) -> None:
    dtype = X[name].dtype
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise InputError(f"{what} {name!r} must be numeric (dtype {dtype})", subject=name)


def _remap(series: pd.Series, rows: BoolArray, pairs: list[tuple[Scalar, Any]]) -> pd.Series:
    """``series`` with each pair's key replaced by its value at ``rows`` (keys read the
    original values, so a swap a<->b does not chain)."""
    out, done = series, np.zeros(len(series), dtype=bool)
    for key, value in pairs:
        hit = matches(series, key) & rows & ~done
        out, done = assign(out, hit, value), done | hit
    return out


class _Plan:
    """A spec checked against the audit frame, its values in the columns' own spellings."""

    def __init__(self, spec: PropertySpec, X: pd.DataFrame) -> None:
        self.spec = spec
        self.columns = [str(c) for c in X.columns]
        if spec.output not in ("decision", "score"):
            raise InputError(f"unknown property output {spec.output!r}", subject="output")
        if spec.kind == "counterfactual":
            self.attribute = _column(X, spec.attribute, "counterfactual attribute")
            column = X[self.attribute]
            self.swap = [(a, resolve(column, b)) for a, b in spec.swap]
            self.values = [(v, resolve(column, v)) for v in spec.values]
            if not self.swap and len(self.values) < 2:
                raise InputError("a counterfactual needs swap pairs or two or more values")
            self.also = [
                (name, [(a, resolve(X[name], b)) for a, b in pairs])
                for name, pairs in spec.also_change
                if _column(X, name, "also_change column")
            ]
        elif spec.kind == "monotonic":
            self.feature = _column(X, spec.feature, "monotonic feature")
            _numeric(X, self.feature, "monotonic feature")
            if spec.direction not in ("increasing", "decreasing"):
                raise InputError(f"unknown direction {spec.direction!r}", subject="direction")
            self.grid = _grid(X[self.feature], spec.steps)
        elif spec.kind == "invariance":
            for name, _, _ in spec.perturb:
                _numeric(X, _column(X, name, "perturbed feature"), "perturbed feature")
            self.replace = [
                (name, [resolve(X[name], v) for v in values])
                for name, values in spec.replace
                if _column(X, name, "replaced feature")
            ]
            if not spec.perturb and not self.replace:
                raise InputError("an invariance needs perturb or replace", subject="property")
        else:
            raise InputError(f"unknown property kind {spec.kind!r}", subject="kind")

    def constraints(self) -> dict[str, dict[str, Any]]:
        """What the search's rows must satisfy for the perturbation to apply."""
        if self.spec.kind == "counterfactual":
            keys = [a for a, _ in self.swap] or [v for v, _ in self.values]
            return {self.attribute: {"values": keys}}
        return {}

    def variants(self, frame: pd.DataFrame) -> list[_Variant]:
        n, spec = len(frame), self.spec
        every = np.ones(n, dtype=bool)
        if spec.kind == "monotonic":
            dtype = np.int64 if isinstance(self.grid[0], int) else np.float64
            return [
                _Variant(_with(frame, self.feature, np.full(n, g, dtype=dtype)), every, ())
                for g in self.grid
            ]
        if spec.kind == "invariance":
            out: list[_Variant] = []
            if spec.perturb:
                rng = np.random.default_rng(spec.seed)
                noisy = frame
                for name, low, high in spec.perturb:
                    numbers = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
                    noisy = _with(noisy, name, numbers + rng.uniform(low, high, n))
                out.append(_Variant(noisy, every, tuple(name for name, _, _ in spec.perturb)))
            for name, values in self.replace:
                for value in values:
                    out.append(
                        _Variant(
                            _with(frame, name, assign(frame[name], every, value)), every, (name,)
                        )
                    )
            return out
        column = frame[self.attribute]
        if self.swap:
            rows = np.zeros(n, dtype=bool)
            for key, _ in self.swap:
                rows |= matches(column, key)
            return [self._counterfactual(frame, rows, self.swap)]
        audited = np.zeros(n, dtype=bool)
        for key, _ in self.values:
            audited |= matches(column, key)
        return [
            self._counterfactual(frame, audited & ~matches(column, key), [(key, value)], every=True)
            for key, value in self.values
        ]

    def _counterfactual(
        self,
        frame: pd.DataFrame,
        rows: BoolArray,
        pairs: list[tuple[Scalar, Any]],
        *,
        every: bool = False,
    ) -> _Variant:
        column = frame[self.attribute]
        # values mode: each changed row gets the one value; swap mode: each key its value
        new = assign(column, rows, pairs[0][1]) if every else _remap(column, rows, pairs)
        out = _with(frame, self.attribute, new)
        for name, mapping in self.also:
            out = _with(out, name, _remap(frame[name], rows, mapping))
        return _Variant(out, rows, (self.attribute, *(name for name, _ in self.also)))


def _with(frame: pd.DataFrame, name: str, values: Any) -> pd.DataFrame:
    out = frame.copy(deep=False)
    out[name] = values
    return out


def _grid(series: pd.Series, steps: int) -> list[int] | list[float]:
    numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
    numbers = numbers[np.isfinite(numbers)]
    if not len(numbers):
        raise InputError(f"monotonic feature {series.name!r} has no values", subject="feature")
    points = np.linspace(numbers.min(), numbers.max(), max(int(steps), 2))
    if bool(np.all(numbers % 1 == 0)):
        integers = sorted({round(p) for p in points})
        if pd.api.types.is_integer_dtype(series.dtype):
            return integers
        return [float(v) for v in integers]
    return sorted({float(p) for p in points})


@dataclass(frozen=True)
class _Judged:
    """Per-row outcome of a batch: audited, violated, breach size and where it is largest."""

    audited: BoolArray
    violated: BoolArray
    size: FloatArray
    where: IntArray
    before: FloatArray  # (rows, variants): the compared output before each variant's change
    after: FloatArray

    @property
    def largest(self) -> float:
        sizes = self.size[self.audited]
        return float(sizes.max()) if len(sizes) else 0.0


def _compared(output: Output, spec: PropertySpec) -> FloatArray:
    scores, decisions = output
    if scores is None:
        if spec.output == "score":
            raise InputError(NEEDS_SCORES, subject="output")
        return decisions.astype(np.float64)
    return scores


def _judge(
    plan: _Plan, base: Output | None, outputs: list[Output], variants: list[_Variant]
) -> _Judged:
    spec = plan.spec
    after = np.column_stack([_compared(o, spec) for o in outputs])
    if spec.kind == "monotonic":
        lower, higher = after[:, :-1], after[:, 1:]
        step = lower - higher if spec.direction == "increasing" else higher - lower
        if not step.shape[1]:
            step = np.zeros((len(after), 1))
        size = np.maximum(step.max(axis=1), 0.0)
        every = np.ones(len(after), dtype=bool)
        where = np.argmax(step, axis=1)
        violated = np.asarray((step > spec.tolerance).any(axis=1), dtype=bool)
        return _Judged(every, violated, size, where, lower, higher)
    assert base is not None
    before_1 = _compared(base, spec)
    before = np.repeat(before_1[:, None], after.shape[1], axis=1)
    applies = np.column_stack([v.applies for v in variants])
    change = np.where(applies, np.abs(after - before), 0.0)
    if spec.output == "score":
        broken = applies & (change > spec.tolerance)
    else:
        flips = np.column_stack([o[1] != base[1] for o in outputs])
        broken = applies & flips
    where = np.argmax(np.where(broken, change, -1.0), axis=1)
    audited = np.asarray(applies.any(axis=1), dtype=bool)
    violated = np.asarray(broken.any(axis=1), dtype=bool)
    return _Judged(audited, violated, change.max(axis=1), where, before, after)


def _example(
    plan: _Plan,
    judged: _Judged,
    frame: pd.DataFrame,
    variants: list[_Variant],
    i: int,
    row_index: int | None,
) -> Counterexample:
    j = int(judged.where[i])
    row = {c: plain(frame[c].iat[i]) for c in plan.columns}
    if plan.spec.kind == "monotonic":
        row[plan.feature] = plan.grid[j]
        changed: tuple[tuple[str, Scalar], ...] = ((plan.feature, plan.grid[j + 1]),)
    else:
        variant = variants[j]
        changed = tuple((c, plain(variant.frame[c].iat[i])) for c in variant.changed)
    return Counterexample(
        row=tuple(row.items()),
        changed=changed,
        before=float(judged.before[i, j]),
        after=float(judged.after[i, j]),
        row_index=row_index,
    )


def _call(predict: Predict, frame: pd.DataFrame) -> Output:
    scores, decisions = predict(frame)
    decisions = np.asarray(decisions, dtype=bool)
    if len(decisions) != len(frame) or (scores is not None and len(scores) != len(frame)):
        raise InputError(
            f"the model returned {len(decisions)} predictions for {len(frame)} rows",
            subject="model",
        )
    return (None if scores is None else np.asarray(scores, dtype=np.float64)), decisions


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Frames stacked, category columns on the union of their categories (not object)."""
    first = frames[0]
    frames = list(frames)
    for name in first.columns:
        dtypes = [f[name].dtype for f in frames]
        kinds = [d for d in dtypes if isinstance(d, pd.CategoricalDtype)]
        if len(kinds) == len(dtypes) and any(d != kinds[0] for d in kinds):
            union = list(dict.fromkeys(c for d in kinds for c in d.categories))
            dtype = pd.CategoricalDtype(union, ordered=kinds[0].ordered)
            frames = [_with(f, name, f[name].astype(dtype)) for f in frames]
    return pd.concat(frames, ignore_index=True)


def _run(plan: _Plan, frame: pd.DataFrame, predict: Predict) -> tuple[_Judged, list[_Variant]]:
    """The property on a few rows (a generated or replayed row): one batched call for all."""
    variants = plan.variants(frame)
    frames = [v.frame for v in variants]
    if plan.spec.kind != "monotonic":
        frames = [frame, *frames]
    scores, decisions = _call(predict, _concat(frames))
    n = len(frame)
    outputs: list[Output] = [
        (None if scores is None else scores[k * n : (k + 1) * n], decisions[k * n : (k + 1) * n])
        for k in range(len(frames))
    ]
    if plan.spec.kind == "monotonic":
        return _judge(plan, None, outputs, variants), variants
    return _judge(plan, outputs[0], outputs[1:], variants), variants


def check_property(
    spec: PropertySpec,
    X: pd.DataFrame,
    predict: Predict,
    *,
    grouping: Grouping | None = None,
) -> PropertyResult:
    """Run the property over every row of ``X`` (model inputs), and the search when asked.

    ``predict`` scores a frame of model inputs in one batched call (``Targets.predict_frame``).
    ``grouping`` (codes aligned with ``X``'s rows) adds the rate per group.
    """
    plan = _Plan(spec, X)
    scored = 0

    def counted(frame: pd.DataFrame) -> Output:
        nonlocal scored
        scored += len(frame)
        return _call(predict, frame)

    frame = X.reset_index(drop=True)
    base = None if spec.kind == "monotonic" else counted(frame)
    if base is not None and spec.output == "score" and base[0] is None:
        raise InputError(NEEDS_SCORES, subject="output")
    variants = plan.variants(frame)
    outputs = [counted(v.frame) for v in variants]
    judged = _judge(plan, base, outputs, variants)
    rows = int(judged.audited.sum())
    violated = judged.violated
    order = np.flatnonzero(violated)
    order = order[np.argsort(-judged.size[order], kind="stable")][:WORST]
    worst = tuple(_example(plan, judged, frame, variants, int(i), int(i)) for i in order)
    group_rates: tuple[tuple[tuple[Any, ...], int, float], ...] = ()
    if grouping is not None:
        k = grouping.n_groups
        audited = np.bincount(grouping.codes[judged.audited], minlength=k)
        broken = np.bincount(grouping.codes[violated], minlength=k)
        group_rates = tuple(
            (grouping.keys[g], int(audited[g]), float(broken[g] / audited[g]))
            for g in range(k)
            if audited[g]
        )
    found, examples = (None, 0)
    if spec.search_examples > 0:
        found, examples = search(spec, X, counted)
    count = int(violated.sum())
    return PropertyResult(
        rows=rows,
        violations=count,
        rate=count / rows if rows else 0.0,
        largest=judged.largest,
        worst=worst,
        by=() if grouping is None else grouping.by,
        group_rates=group_rates,
        predictions=scored,
        examples=examples,
        seed=spec.seed,
        found=found,
    )


def search(
    spec: PropertySpec, X: pd.DataFrame, predict: Predict
) -> tuple[Counterexample | None, int]:
    """A hypothesis search for a row that breaks the property, shrunk to a minimal one.

    Rows are generated by :func:`rulecheck.engines._rowspace.row_strategy` (real rows with
    some values overridden, shrinking towards real rows and typical values); each try scores
    the row and its perturbed copies in one call. The search is seeded by ``spec.seed``
    (``hypothesis.find(random=Random(seed))``, no example database), so a seed gives the same
    counterexample on every run. Returns the counterexample (``row_index`` None) or None, and
    the number of rows tried (shrinking included).
    """
    try:
        from hypothesis import HealthCheck, Phase, find, settings
        from hypothesis.errors import NoSuchExample

        from rulecheck.engines._rowspace import row_strategy
    except ImportError as exc:  # pragma: no cover - hypothesis is installed with rulecheck[dev]
        raise InputError(NEEDS_HYPOTHESIS, subject="search") from exc
    plan = _Plan(spec, X)
    strategy = row_strategy(X, plan.constraints())
    tried = 0

    def breaks(row: dict[str, Any]) -> bool:
        nonlocal tried
        tried += 1
        judged, _ = _run(plan, frame_of([row], X), predict)
        return bool(judged.violated[0])

    options = settings(
        max_examples=spec.search_examples,
        database=None,
        derandomize=False,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    try:
        row = find(strategy, breaks, settings=options, random=random.Random(spec.seed))
    except NoSuchExample:
        return None, tried
    return replay(spec, row, X, predict), tried


def replay(
    spec: PropertySpec, row: Mapping[str, Any], X_dtypes_from: pd.DataFrame, predict: Predict
) -> Counterexample | None:
    """Re-check one row (``rulecheck check --replay``): the Counterexample if the property
    still breaks for it, else None. ``X_dtypes_from`` is the audit frame: it gives the columns'
    dtypes, the values' spellings and a monotonic feature's grid."""
    plan = _Plan(spec, X_dtypes_from)
    frame = frame_of([row], X_dtypes_from)
    judged, variants = _run(plan, frame, predict)
    if not judged.violated[0]:
        return None
    return _example(plan, judged, frame, variants, 0, None)
