"""Hypothesis strategies for property tests of models and policies (``docs/strategies.md``).

- :func:`datasets`: labelled frames with chosen (or drawn) group sizes, base rates and
  accuracies, counted exactly, for tests such as "equal base rates and perfect predictions
  always pass equal_opportunity".
- :func:`policies`: valid policy YAML texts of the group-metric family of rule kinds.
- :func:`rows_like` and :func:`frames_like`: rows and frames within the observed schema of a
  data frame (ranges, integer columns, observed categories), e.g. to probe a model.

This module imports hypothesis, so ``import rulecheck`` never loads it: import it explicitly,
``from rulecheck import strategies``. Every strategy is deterministic given hypothesis' choices,
so ``@settings(derandomize=True)`` (or ``@seed(...)``) makes a test reproducible in CI.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any, cast, get_args

import numpy as np
import pandas as pd
import yaml
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from rulecheck.rules import KINDS
from rulecheck.rules._base import RATE_METRICS

__all__ = ["GROUP_KINDS", "datasets", "frames_like", "policies", "rows_like"]

# The kinds :func:`policies` generates: rules judged on labels, decisions and scores alone.
GROUP_KINDS: tuple[str, ...] = (
    "group_metric",
    "demographic_parity",
    "equal_opportunity",
    "equalized_odds",
    "disparate_impact",
    "performance",
)
_GROUPED = frozenset(GROUP_KINDS) - {"performance"}
_SHORTHANDS = ("demographic_parity", "equal_opportunity", "equalized_odds")

GroupLabel = str | int | float | bool
# A per-group argument of datasets(): one value for every group, a strategy drawn once per
# group, or a sequence with one value (or strategy) per group.
Sizes = int | SearchStrategy[int] | Sequence[int | SearchStrategy[int]]
Rates = float | SearchStrategy[float] | Sequence[float | SearchStrategy[float]]


# --- rows and frames like a given frame ---------------------------------------------------------


def rows_like(
    df: pd.DataFrame, constraints: Mapping[str, Mapping[str, Any]] | None = None
) -> SearchStrategy[dict[str, Any]]:
    """Rows (``{column: value}``) within the observed schema of ``df``.

    Numeric columns take values in their observed ``[min, max]`` (integers when the column holds
    only integers), categorical, string and boolean columns one of their observed values.
    ``constraints`` narrow a column: ``{"age": {"min": 18, "max": 90}}``,
    ``{"sex": {"values": ["F", "M"]}}``. The engine's ``row_strategy`` does the work, so the
    rows a property rule searches and the rows a test draws are the same space.
    """
    # Imported at call time, by name: the engine loads only when rows are asked for, and its
    # function is typed here by the contract both sides share.
    rowspace = importlib.import_module("rulecheck.engines._rowspace")
    row_strategy = cast(
        "Callable[[pd.DataFrame, Mapping[str, Mapping[str, Any]] | None], SearchStrategy[dict[str, Any]]]",
        rowspace.row_strategy,
    )
    return row_strategy(df, constraints)


def frames_like(
    df: pd.DataFrame,
    min_rows: int = 1,
    max_rows: int = 50,
    constraints: Mapping[str, Mapping[str, Any]] | None = None,
) -> SearchStrategy[pd.DataFrame]:
    """Frames of ``min_rows`` to ``max_rows`` rows from :func:`rows_like`, with ``df``'s columns
    (in its order) and dtypes; a categorical column keeps its categories and gains any value a
    constraint adds (the engine's ``frame_of`` builds them)."""
    _check_int("min_rows", min_rows, 0)
    _check_int("max_rows", max_rows, min_rows)
    rowspace = importlib.import_module("rulecheck.engines._rowspace")
    frame_of = cast(
        "Callable[[Sequence[Mapping[str, Any]], pd.DataFrame], pd.DataFrame]", rowspace.frame_of
    )
    rows = st.lists(rows_like(df, constraints), min_size=min_rows, max_size=max_rows)
    return rows.map(lambda drawn: frame_of(drawn, df))


# --- labelled datasets --------------------------------------------------------------------------


def datasets(
    n_groups: int | SearchStrategy[int] = 2,
    sizes: Sizes | None = None,
    base_rates: Rates | None = None,
    *,
    accuracies: Rates | None = None,
    group_column: str = "group",
    label: str | None = "y",
    prediction: str | None = "p",
    score: str | None = "s",
    min_size: int = 1,
    max_size: int = 200,
) -> SearchStrategy[pd.DataFrame]:
    """Labelled frames whose groups have exactly the sizes, base rates and accuracies asked for.

    Parameters
    ----------
    n_groups : int or strategy of int
        Number of groups, labelled ``"g0"``, ``"g1"``, ... in ``group_column``.
    sizes : int, strategy, sequence or None
        Rows per group: one int for every group; a strategy drawn once per group; a sequence
        with one int (or strategy) per group (its length must equal the number of groups);
        None draws each size from ``min_size`` to ``max_size``. Sizes are at least 1.
    base_rates : float, strategy, sequence or None
        Share of positive labels per group, in [0, 1], given like ``sizes``. A group of size
        ``n`` and rate ``r`` has exactly ``round(r * n)`` positives (Python's ``round``:
        halves to even). None draws the number of positives from 0 to ``n``.
    accuracies : float, strategy, sequence or None
        Share of rows per group whose decision equals the label, given like ``base_rates``:
        exactly ``round(a * n)`` rows have ``prediction == label``, the others the opposite
        decision. None draws the number of wrong decisions from 0 to ``n``.
    group_column, label, prediction, score : str or None
        Column names; None leaves the column out (without a prediction column, scores are
        anywhere in [0, 1)).
    min_size, max_size : int
        Bounds of the sizes drawn when ``sizes`` is None.

    Returns
    -------
    strategy of pandas.DataFrame
        Columns ``group_column`` (str), ``label`` (int 0/1), ``prediction`` (int 0/1) and
        ``score`` (float in [0, 1), at least 0.5 exactly where the decision is 1, so the
        default threshold 0.5 turns scores back into the decisions). Rows come group by group,
        with a RangeIndex; within a group, which rows are positive and which decisions are
        wrong are drawn as permutations.

    Shrinking goes towards ``min_size`` rows per group (when drawn), no positives (when drawn),
    no wrong decisions (when drawn), positives and wrong decisions first in each group, and
    the scores of seed 0 (scores come from one seeded generator per group, so they shrink as a
    whole, not row by row).

    Examples
    --------
    >>> from hypothesis import find, settings
    >>> strategy = datasets(sizes=[3, 4], base_rates=0.5)
    >>> frame = find(strategy, lambda f: True, settings=settings(database=None))
    >>> frame.groupby("group")["y"].agg(["size", "sum"]).to_dict("list")
    {'size': [3, 4], 'sum': [2, 2]}
    """
    _check_int("min_size", min_size, 1)
    _check_int("max_size", max_size, min_size)
    if isinstance(n_groups, int):
        _check_int("n_groups", n_groups, 1)
        for name, value in (("sizes", sizes), ("base_rates", base_rates)):
            if _is_sequence(value) and len(cast("Sequence[Any]", value)) != n_groups:
                raise InvalidArgument(
                    f"{name} has {len(cast('Sequence[Any]', value))} entries but n_groups={n_groups}"
                )
    columns = [c for c in (group_column, label, prediction, score) if c is not None]
    if len(set(columns)) != len(columns):
        raise InvalidArgument(f"column names must differ, got {columns}")

    @st.composite
    def draw_frame(draw: st.DrawFn) -> pd.DataFrame:
        count = draw(n_groups) if isinstance(n_groups, SearchStrategy) else n_groups
        _check_int("n_groups", count, 1)
        size_of = _per_group("sizes", sizes, count, st.integers(min_size, max_size))
        rate_of = _per_group("base_rates", base_rates, count, None)
        accuracy_of = _per_group("accuracies", accuracies, count, None)
        groups: list[str] = []
        ys: list[int] = []
        ps: list[int] = []
        ss: list[float] = []
        for g in range(count):
            n = draw(size_of[g])
            _check_int("a group size", n, 1)
            n = int(n)
            positives = _exact_count(draw, "a base rate", rate_of[g], n)
            if accuracy_of[g] is None:  # draw the wrong decisions: they shrink to none
                right = n - draw(st.integers(0, n))
            else:
                right = _exact_count(draw, "an accuracy", accuracy_of[g], n)
            y = _shuffled(draw, positives, n)
            wrong = _shuffled(draw, n - right, n)
            p = [label_ ^ flip for label_, flip in zip(y, wrong, strict=True)]
            groups += [f"g{g}"] * n
            ys += y
            ps += p
            if score is not None:
                ss += _scores(draw, p if prediction is not None else None, n)
        data: dict[str, Any] = {group_column: pd.Series(groups, dtype="str")}
        if label is not None:
            data[label] = pd.Series(ys, dtype="int64")
        if prediction is not None:
            data[prediction] = pd.Series(ps, dtype="int64")
        if score is not None:
            data[score] = pd.Series(ss, dtype="float64")
        return pd.DataFrame(data)

    return draw_frame()


def _per_group(
    name: str, value: Any, count: int, default: SearchStrategy[Any] | None
) -> list[SearchStrategy[Any] | Any]:
    """One strategy (or fixed value, or None for "draw the count") per group."""
    if value is None:
        return [default] * count
    if _is_sequence(value):
        if len(value) != count:
            raise InvalidArgument(f"{name} has {len(value)} entries but there are {count} groups")
        items = list(value)
    else:
        items = [value] * count
    return [item if isinstance(item, SearchStrategy) else st.just(item) for item in items]


def _exact_count(draw: st.DrawFn, what: str, rate: SearchStrategy[float] | None, n: int) -> int:
    """``round(rate * n)`` for a given or drawn rate; a count from 0 to n when there is none."""
    if rate is None:
        return draw(st.integers(0, n))
    value = draw(rate)
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value <= 1:
        raise InvalidArgument(f"{what} must be a number in [0, 1], got {value!r}")
    return round(float(value) * n)


def _shuffled(draw: st.DrawFn, ones: int, n: int) -> list[int]:
    """``ones`` ones and ``n - ones`` zeros in a drawn order (shrinks to ones first)."""
    return draw(st.permutations([1] * ones + [0] * (n - ones)))


def _scores(draw: st.DrawFn, decisions: list[int] | None, n: int) -> list[float]:
    """Scores in [0, 0.5) for decisions 0 and [0.5, 1) for decisions 1 (in [0, 1) without
    decisions), from a generator seeded by one drawn integer: a choice per group, not per row,
    keeps large frames cheap to draw; the scores shrink as a whole (to seed 0)."""
    uniform = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).random(n)
    if decisions is None:
        return [float(u) for u in uniform]
    return [float(0.5 * u + 0.5 * d) for u, d in zip(uniform, decisions, strict=True)]


def _is_sequence(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _check_int(name: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < least:
        raise InvalidArgument(f"{name} must be an int of at least {least}, got {value!r}")


# --- policies -----------------------------------------------------------------------------------

_DEFAULT_COLUMNS: Mapping[str, Sequence[GroupLabel] | None] = {"group": ("g0", "g1")}


def policies(
    kinds: Sequence[str] | None = None,
    columns: Mapping[str, Sequence[GroupLabel] | None] | Sequence[str] | None = None,
    *,
    metrics: Sequence[str] | None = None,
    min_group_size: int | SearchStrategy[int] | None = None,
    uncertainty: bool | None = None,
    min_rules: int = 1,
    max_rules: int = 5,
) -> SearchStrategy[str]:
    """Valid policy YAML texts (``version: 1``) of rules of the group-metric family.

    Every text loads with :func:`rulecheck.load_policy`. Rules have ids ``<kind>-<n>`` and
    valid bounds (fractions in [0, 1] for rates, ratios in (0, 1] or from 1 up); grouped rules
    compare between groups, against ``relative_to: overall`` or against a ``reference_group``,
    sometimes on a ``groups`` subset, sometimes with ``severity: warning`` or ``missing``. The
    policy has an ``uncertainty:`` block (bootstrap of 100 or 200 replicates) sometimes.

    Parameters
    ----------
    kinds : sequence of str, optional
        Kinds to draw rules from, among :data:`GROUP_KINDS` (default: all of them).
    columns : mapping or sequence of str, optional
        Group columns: ``{column: its group labels}`` (labels that occur in the data, used for
        ``reference_group`` and ``groups``; None for a column whose labels are unknown), or just
        the column names. Default ``{"group": ["g0", "g1"]}``, as :func:`datasets` names them.
        With several columns, ``by`` is sometimes a list of them (then without
        ``reference_group`` and ``groups``).
    metrics : sequence of str, optional
        Metrics for ``group_metric`` and ``performance`` (each rule draws among those its kind
        accepts). Default: every metric of the two kinds.
    min_group_size : int or strategy of int, optional
        Every grouped rule sets this ``min_group_size`` (a strategy is drawn once per rule).
        Default: left out (30) or a value from 1 to 50.
    uncertainty : bool, optional
        True: always an ``uncertainty:`` block; False: never; None (default): sometimes.
    min_rules, max_rules : int
        Number of rules, 1 to 5 by default.

    Shrinking goes towards one ``demographic_parity`` rule (the first allowed kind) with its
    default bound and no options.
    """
    chosen = tuple(GROUP_KINDS if kinds is None else kinds)
    unknown = [k for k in chosen if k not in GROUP_KINDS]
    if not chosen or unknown:
        raise InvalidArgument(
            f"kinds must be a non-empty subset of {list(GROUP_KINDS)}, got {list(chosen)}"
        )
    # Shorthand kinds first: they shrink to the simplest policies.
    chosen = tuple(sorted(set(chosen), key=_KIND_ORDER.index))
    group_columns = _columns(columns)
    if not group_columns and set(chosen) & _GROUPED:
        raise InvalidArgument("grouped kinds need at least one column in columns")
    metric_options = {kind: _metrics(kind, metrics) for kind in ("group_metric", "performance")}
    for kind in set(chosen) & set(metric_options):
        if not metric_options[kind]:
            raise InvalidArgument(f"none of metrics={list(metrics or ())} fits kind {kind}")
    if isinstance(min_group_size, int):
        _check_int("min_group_size", min_group_size, 1)
    _check_int("min_rules", min_rules, 1)
    _check_int("max_rules", max_rules, min_rules)

    @st.composite
    def draw_policy(draw: st.DrawFn) -> str:
        doc: dict[str, Any] = {
            "version": 1,
            "name": draw(st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True)),
        }
        if uncertainty or (uncertainty is None and draw(st.booleans())):
            doc["uncertainty"] = draw(_uncertainty_block())
        count = draw(st.integers(min_rules, max_rules))
        rules = []
        for index in range(1, count + 1):
            kind = draw(st.sampled_from(chosen))
            rule: dict[str, Any] = {"id": f"{kind}-{index}", "kind": kind}
            if kind == "performance":
                rule.update(draw(_performance(metric_options["performance"])))
            else:
                rule.update(draw(_group_options(group_columns, kind, min_group_size)))
                rule.update(draw(_group_bounds(kind, metric_options["group_metric"])))
            if draw(_sometimes()):
                rule["severity"] = "warning"
            rules.append(rule)
        doc["rules"] = rules
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)

    return draw_policy()


_KIND_ORDER = (
    "demographic_parity",
    "equal_opportunity",
    "equalized_odds",
    "disparate_impact",
    "group_metric",
    "performance",
)


def _columns(
    columns: Mapping[str, Sequence[GroupLabel] | None] | Sequence[str] | None,
) -> dict[str, tuple[GroupLabel, ...] | None]:
    if columns is None:
        columns = _DEFAULT_COLUMNS
    if isinstance(columns, Mapping):
        found: dict[str, tuple[GroupLabel, ...] | None] = {}
        for column, labels in columns.items():
            if labels is not None and (isinstance(labels, str) or not labels):
                raise InvalidArgument(
                    f"the labels of column {column!r} must be a non-empty list or None, "
                    f"got {labels!r}"
                )
            found[column] = None if labels is None else tuple(dict.fromkeys(labels))
        return found
    if isinstance(columns, str):
        raise InvalidArgument(f"columns must be a list of names, got the string {columns!r}")
    return dict.fromkeys(columns)


def _metrics(kind: str, wanted: Sequence[str] | None) -> tuple[str, ...]:
    """The metrics kind ``kind`` accepts (its field's Literal), restricted to ``wanted``."""
    annotation = KINDS[kind].model_fields["metric"].annotation
    accepted = _literal_values(annotation)
    if wanted is None:
        return accepted
    every = _literal_values(KINDS["performance"].model_fields["metric"].annotation)
    unknown = [m for m in wanted if m not in every]
    if unknown:
        raise InvalidArgument(f"unknown metrics {unknown}")
    return tuple(m for m in accepted if m in wanted)


def _literal_values(annotation: Any) -> tuple[str, ...]:
    """The strings of a (possibly nested) Literal."""
    values: list[str] = []
    for arg in get_args(annotation):
        if isinstance(arg, str):
            values.append(arg)
        else:
            values.extend(_literal_values(arg))
    return tuple(values)


def _sometimes() -> SearchStrategy[bool]:
    """False in most examples (and when shrinking), True in about a quarter."""
    return st.integers(0, 3).map(lambda k: k == 3)


def _fraction(low: int = 0) -> SearchStrategy[float]:
    """Fractions in [low/1000, 1] with three decimals (readable YAML, exact bounds 0 and 1)."""
    return st.integers(low, 1000).map(lambda k: k / 1000)


def _max_ratio() -> SearchStrategy[float]:
    return st.integers(1000, 5000).map(lambda k: k / 1000)


def _uncertainty_block() -> SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"bootstrap": st.fixed_dictionaries({"n": st.sampled_from([100, 200])})},
        optional={
            "confidence": st.sampled_from([0.95, 0.9, 0.8, 0.99]),
            "method": st.sampled_from(["bootstrap", "analytic"]),
            "on_inconclusive": st.sampled_from(["warn", "fail", "pass"]),
            "correction": st.sampled_from(["none", "holm"]),
        },
    )


def _group_options(
    columns: Mapping[str, tuple[GroupLabel, ...] | None],
    kind: str,
    min_group_size: int | SearchStrategy[int] | None,
) -> SearchStrategy[dict[str, Any]]:
    names = list(columns)

    @st.composite
    def draw_options(draw: st.DrawFn) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if len(names) > 1 and draw(_sometimes()):
            options["by"] = draw(st.lists(st.sampled_from(names), min_size=2, unique=True))
            labels = None
        else:
            column = draw(st.sampled_from(names))
            options["by"] = column
            labels = columns[column]
        if isinstance(min_group_size, SearchStrategy):
            options["min_group_size"] = draw(min_group_size)
        elif min_group_size is not None:
            options["min_group_size"] = min_group_size
        elif draw(st.booleans()):
            options["min_group_size"] = draw(st.integers(1, 50))
        comparison = draw(st.sampled_from(["groups", "overall", "reference"]))
        reference: GroupLabel | None = None
        if comparison == "reference" and labels is not None:
            reference = options["reference_group"] = draw(st.sampled_from(labels))
        elif comparison == "overall":
            options["relative_to"] = "overall"
        if labels is not None and len(labels) >= 2 and draw(_sometimes()):
            # Between groups needs two of them; overall one; a reference one besides itself.
            others = [label for label in labels if label != reference]
            least = 2 if comparison == "groups" else 1
            subset = draw(st.lists(st.sampled_from(others), min_size=least, unique=True))
            if reference is not None and draw(st.booleans()):
                subset.insert(draw(st.integers(0, len(subset))), reference)
            options["groups"] = subset
        if draw(_sometimes()):
            options["missing"] = draw(st.sampled_from(["error", "group", "drop"]))
        return options

    return draw_options()


def _group_bounds(kind: str, metrics: Sequence[str]) -> SearchStrategy[dict[str, Any]]:
    if kind in _SHORTHANDS:
        # Nothing (the default max_difference 0.1), max_difference, min_ratio or both.
        return st.fixed_dictionaries(
            {}, optional={"max_difference": _fraction(), "min_ratio": _fraction(1)}
        )
    if kind == "disparate_impact":
        return st.fixed_dictionaries(
            {}, optional={"min_ratio": _fraction(1), "max_ratio": _max_ratio()}
        )

    @st.composite
    def draw_group_metric(draw: st.DrawFn) -> dict[str, Any]:
        metric = draw(st.sampled_from(metrics))
        rate = metric in RATE_METRICS
        value = _fraction() if rate else st.integers(-5000, 5000).map(lambda k: k / 1000)
        spread = _fraction() if rate else st.integers(0, 5000).map(lambda k: k / 1000)
        bounds = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "max_difference": spread,
                    "min_ratio": _fraction(1),
                    "max_ratio": _max_ratio(),
                    "min": value,
                    "max": value,
                },
            )
        )
        if not bounds:
            bounds["max_difference"] = draw(spread)
        _order(bounds)
        return {"metric": metric, **bounds}

    return draw_group_metric()


def _performance(metrics: Sequence[str]) -> SearchStrategy[dict[str, Any]]:
    @st.composite
    def draw_performance(draw: st.DrawFn) -> dict[str, Any]:
        metric = draw(st.sampled_from(metrics))
        value = (
            _fraction()
            if metric in RATE_METRICS
            else st.integers(-5000, 5000).map(lambda k: k / 1000)
        )
        bounds = draw(st.fixed_dictionaries({}, optional={"min": value, "max": value}))
        if not bounds:
            bounds["min"] = draw(value)
        _order(bounds)
        return {"metric": metric, **bounds}

    return draw_performance()


def _order(bounds: dict[str, Any]) -> None:
    """``min`` at most ``max`` when both are given (valid either way, but a policy that no data
    can pass is rarely what a test means)."""
    if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
        bounds["min"], bounds["max"] = bounds["max"], bounds["min"]
