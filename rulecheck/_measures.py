"""Value objects that engines produce and rules consume.

They sit in the base layer so that rules and engines can share them without importing each other.
All are frozen; sequences are tuples in group order (groups sorted by their key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rulecheck._intervals import Estimate, GroupStatistic, IntervalSettings, ShareStatistic
from rulecheck.verdict import Scalar

__all__ = [
    "AttributionTable",
    "Condition",
    "Counterexample",
    "GroupKey",
    "GroupSampler",
    "GroupTable",
    "PropertyResult",
    "PropertySpec",
    "ProxyScore",
    "ShareSampler",
    "same_value",
]

GroupKey = tuple[Scalar, ...]


class GroupSampler(Protocol):
    """Resamples the groups of a :class:`GroupTable` jointly (engines implement it)."""

    def estimate(self, statistic: GroupStatistic, settings: IntervalSettings) -> Estimate:
        """The interval source of ``statistic`` over this table's groups."""
        ...


class ShareSampler(Protocol):
    """Resamples the explained rows of an :class:`AttributionTable` (engines implement it)."""

    def estimate(self, statistic: ShareStatistic, settings: IntervalSettings) -> Estimate:
        """The interval source of ``statistic`` over this table's features and groups."""
        ...


@dataclass(frozen=True, slots=True)
class GroupTable:
    """A metric per group, from one vectorized pass over the data.

    ``keys[i]`` holds the values of the ``by`` columns for group ``i``; ``values[i]`` is None when
    the metric is undefined for that group (zero denominator). ``overall`` is the metric on all
    rows. Only groups with at least one row appear. With sample weights, ``weights[i]`` is the
    total weight of group ``i`` (``n`` still counts rows) and ``overall_weight`` that of all rows;
    both are None without weights. ``support[i]`` counts the rows in the metric's denominator
    (the negatives of group ``i`` for a false positive rate), named by ``unit``; ``sampler``
    resamples the table for intervals (None where the engine cannot).
    """

    metric: str
    by: tuple[str, ...]
    keys: tuple[GroupKey, ...]
    n: tuple[int, ...]
    values: tuple[float | None, ...]
    overall: float | None
    overall_n: int
    weights: tuple[float, ...] | None = None
    overall_weight: float | None = None
    support: tuple[int, ...] | None = None
    overall_support: int | None = None
    unit: str = "rows"
    sampler: GroupSampler | None = None


@dataclass(frozen=True, slots=True)
class AttributionTable:
    """Mean |contribution| per input feature, overall and per group, from one explanation.

    ``features`` are the model's raw input columns; ``mean_abs[j]`` is feature j's mean absolute
    contribution over the explained rows. With groups, ``group_mean_abs[g][j]`` is the same over
    the explained rows of group g (``group_n[g]`` of them). The provenance fields say which
    explainer ran, on which output, on how many rows, with which seed; ``notes`` say why
    when it is not the natural one.
    """

    features: tuple[str, ...]
    mean_abs: tuple[float, ...]
    explainer: str
    output: str
    rows: int
    seed: int
    background_rows: int | None
    by: tuple[str, ...] = ()
    group_keys: tuple[GroupKey, ...] = ()
    group_n: tuple[int, ...] = ()
    group_mean_abs: tuple[tuple[float, ...], ...] = ()
    notes: tuple[str, ...] = ()  # which explainer ran and why, when not the natural one
    sampler: ShareSampler | None = None  # resamples the explained rows for intervals


@dataclass(frozen=True, slots=True)
class ProxyScore:
    """How strongly one input feature is associated with a protected attribute.

    ``missing`` counts the rows where the feature is missing: a categorical measure treats them
    as a category of their own, the correlation ratio leaves them out.
    """

    feature: str
    score: float
    measure: str
    missing: int = 0


def _plain(value: object) -> object:
    """numpy scalars as Python scalars (``np.int64(1)`` -> ``1``)."""
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy":
        return item()
    return value


def _as_number(value: object) -> float | None:
    """A number for numbers, bools and numeric strings ("1", "1.0", " 2e3 "); else None."""
    if isinstance(value, bool):
        return float(value)
    try:
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    except ValueError:
        return None
    except OverflowError:  # a 400-digit integer from a policy is no float, and equals none
        return None
    return None


_TRUE = frozenset({"true", "yes"})
_FALSE = frozenset({"false", "no"})


def same_value(a: object, b: object) -> bool:
    """Whether two label or group values name the same thing: the one definition in rulecheck.

    Policies are written in YAML, so a value in a policy may be spelled differently from the
    same value in the data or in a model's classes. These are the same:

    - equal values of any type (``"yes" == "yes"``, ``1 == np.int64(1)``);
    - numbers that are numerically equal, including integer-valued floats and numeric strings
      (``1``, ``1.0``, ``"1"``, ``"1.0"``);
    - a bool and its spellings, case-insensitively: ``True``, ``"true"``, ``"True"``, ``"yes"``,
      ``1`` and ``1.0`` (and ``False``, ``"false"``, ``"no"``, ``0``);
    - otherwise the two values' ``str()`` (a category and its label text).

    >>> same_value(True, "true"), same_value(1.0, "1"), same_value("a", "A")
    (True, True, False)
    """
    a, b = _plain(a), _plain(b)
    if isinstance(a, bool) or isinstance(b, bool):
        flag, other = (a, b) if isinstance(a, bool) else (b, a)
        if isinstance(other, bool):
            return flag is other
        if isinstance(other, str):
            text = other.strip().lower()
            if text in _TRUE or text in _FALSE:
                return (text in _TRUE) is flag
        number = _as_number(other)
        return number is not None and number == (1.0 if flag else 0.0)
    if isinstance(a, float) and a != a:  # NaN names nothing
        return False
    if isinstance(b, float) and b != b:
        return False
    numeric_a, numeric_b = isinstance(a, int | float), isinstance(b, int | float)
    if numeric_a or numeric_b:
        x, y = _as_number(a), _as_number(b)
        if x is not None and y is not None:
            return x == y
    return a == b or str(a) == str(b)


@dataclass(frozen=True, slots=True)
class Condition:
    """One term of a row filter (``where:``): rows whose ``column`` satisfies it are kept.

    ``values`` keeps rows equal to any of the values (by :func:`same_value`); ``gt``/``gte``/
    ``lt``/``lte`` keep rows within numeric bounds. A condition with several parts needs all of
    them; ``negate`` keeps the rows that fail it instead. Missing values never match (and so
    are kept by a negated condition).
    """

    column: str
    values: tuple[Scalar, ...] = ()
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    negate: bool = False

    def describe(self) -> str:
        """The condition in words: ``age >= 25``, ``sex = Male``, ``not (race in [A, B])``."""
        parts: list[str] = []
        if len(self.values) == 1:
            parts.append(f"{self.column} = {self.values[0]}")
        elif self.values:
            parts.append(f"{self.column} in [{', '.join(str(v) for v in self.values)}]")
        for op, bound in ((">", self.gt), (">=", self.gte), ("<", self.lt), ("<=", self.lte)):
            if bound is not None:
                parts.append(f"{self.column} {op} {bound:g}")
        text = " and ".join(parts)
        return f"not ({text})" if self.negate else text


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """What a property rule asks the engine to test: one perturbation of the model's inputs.

    ``kind`` is ``counterfactual`` (set ``attribute`` to other values: ``swap`` pairs, or every
    other value of ``values``; ``also_change`` maps declared proxies the same way),
    ``monotonic`` (raise ``feature`` over ``steps`` grid points within its observed range; the
    score must not move against ``direction`` by more than ``tolerance``) or ``invariance``
    (add uniform noise in [low, high] to each ``perturb`` feature, or set each ``replace``
    feature to every listed value). ``output`` is what is compared: the ``decision`` (a flip)
    or the ``score`` (its change). ``search_examples`` > 0 also runs a hypothesis search with
    ``seed`` over rows within the data's observed schema.
    """

    kind: str
    output: str = "decision"
    attribute: str | None = None
    swap: tuple[tuple[Scalar, Scalar], ...] = ()
    values: tuple[Scalar, ...] = ()
    also_change: tuple[tuple[str, tuple[tuple[Scalar, Scalar], ...]], ...] = ()
    feature: str | None = None
    direction: str = "increasing"
    steps: int = 10
    perturb: tuple[tuple[str, float, float], ...] = ()
    replace: tuple[tuple[str, tuple[Scalar, ...]], ...] = ()
    tolerance: float = 0.0
    search_examples: int = 0
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Counterexample:
    """One row for which a property breaks: its values, what was changed, and both outputs.

    ``row`` holds every model input of the original row; ``changed`` the inputs the property
    changed and their new values; ``before`` / ``after`` the compared output (score, or 1/0
    for a decision) of the original and the changed row. ``row_index`` is the row's position
    in the audited data (None for a row the search generated).
    """

    row: tuple[tuple[str, Scalar], ...]
    changed: tuple[tuple[str, Scalar], ...]
    before: float
    after: float
    row_index: int | None = None

    @property
    def change(self) -> float:
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class PropertyResult:
    """The outcome of a property over the audit data and, optionally, a search.

    ``rate`` is the share of audited rows for which the property breaks (a decision flips, or
    the score moves by more than the tolerance), ``largest`` the largest breach in the compared
    output (|score change|, a monotonic decrease); ``worst`` up to 5 rows with the largest
    breach; ``group_rates`` per group of ``by`` (key, rows, rate). ``predictions`` counts the
    rows the model scored (one batched call per perturbation). ``found`` is the search's shrunk
    counterexample (None when the search found none or did not run) after ``examples`` tries
    with ``seed``.
    """

    rows: int
    violations: int
    rate: float
    largest: float
    worst: tuple[Counterexample, ...] = ()
    by: tuple[str, ...] = ()
    group_rates: tuple[tuple[GroupKey, int, float], ...] = ()
    predictions: int = 0
    examples: int = 0
    seed: int = 0
    found: Counterexample | None = None
