"""Attribution shares and ranks, shared by the attribution, proxy and loss_attribution rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rulecheck._intervals import Estimator, ShareStatistic
from rulecheck._measures import AttributionTable
from rulecheck.verdict import FeatureValue

__all__ = ["ranks", "selected_share", "share_estimator", "shares", "top_features"]


def share_estimator(
    table: AttributionTable,
    selected: Sequence[str],
    *,
    combined: bool,
    kind: Literal["share", "mean_abs"] = "share",
    reduce: Literal["max", "min"] = "max",
    groups: Sequence[int] | None = None,
) -> Estimator | None:
    """The interval source of the selected features' share (or mean |contribution|): summed
    when ``combined``, else their largest (``reduce="min"``: smallest), over ``groups``
    (indices of the table's groups; None: every explained row)."""
    sampler = table.sampler
    indices = tuple(table.features.index(f) for f in selected if f in table.features)
    if sampler is None or not indices:
        return None  # no selected feature is a model input: every share is exactly 0
    if reduce == "min" and not combined and len(indices) < len(selected):
        return None  # the smallest share is that of a non-input: exactly 0
    statistic = ShareStatistic(
        kind, indices, combined, reduce, None if groups is None else tuple(groups)
    )
    return lambda settings: sampler.estimate(statistic, settings)


def shares(names: Sequence[str], mean_abs: Sequence[float]) -> dict[str, float]:
    """Each feature's mean |contribution| over the total; all 0 when the total is 0."""
    total = sum(mean_abs)
    if total <= 0:
        return dict.fromkeys(names, 0.0)
    return {name: value / total for name, value in zip(names, mean_abs, strict=True)}


def ranks(names: Sequence[str], mean_abs: Sequence[float]) -> dict[str, int]:
    """Importance rank of each feature: 1 for the largest mean |contribution| (ties by order)."""
    order = sorted(range(len(names)), key=lambda j: -mean_abs[j])
    return {names[j]: rank for rank, j in enumerate(order, start=1)}


def selected_share(
    names: Sequence[str], mean_abs: Sequence[float], selected: Sequence[str], combined: bool
) -> float:
    """The selected features' summed share (``combined``), else the largest of their shares.

    A selected feature that is not among ``names`` (not a model input) has share 0.
    """
    share = shares(names, mean_abs)
    values = [share.get(f, 0.0) for f in selected]
    return sum(values) if combined else max(values)


def top_features(
    names: Sequence[str], mean_abs: Sequence[float], selected: Sequence[str], top: int
) -> tuple[FeatureValue, ...]:
    """The ``top`` most important features, then any selected one not among them."""
    share = shares(names, mean_abs)
    rank = ranks(names, mean_abs)
    magnitude = dict(zip(names, mean_abs, strict=True))
    shown = sorted(names, key=lambda f: rank[f])[:top]
    shown += [f for f in selected if f not in shown and f in rank]
    return tuple(
        FeatureValue(
            feature=f,
            value=share[f],
            rank=rank[f],
            detail=(("mean_abs", magnitude[f]), ("selected", f in selected)),
        )
        for f in shown
    )
