"""Model inputs by name, glob or feature group, and mean |SHAP| tables from an explanation."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck._measures import AttributionTable
from rulecheck.engines.groupstats import Grouping, GroupStats, missing_column_message
from rulecheck.errors import InputError

if TYPE_CHECKING:
    from rulecheck.engines.attribution import Attribution

__all__ = ["attribution_table", "resolve_features"]

FloatArray = npt.NDArray[np.float64]


def resolve_features(
    selectors: Sequence[str],
    inputs: Sequence[str],
    frame: pd.DataFrame,
    feature_groups: Mapping[str, Sequence[str]],
) -> tuple[str, ...]:
    """Model inputs named by ``selectors``: names, globs ('zip_*') or policy feature groups.

    A column of the data that the model does not read is kept (its attribution is 0); a name
    that is neither, or a glob that matches no input, is an InputError.
    """
    found: list[str] = []
    for selector in selectors:
        for member in feature_groups.get(selector, (selector,)):
            if any(ch in member for ch in "*?["):
                matched = [c for c in inputs if fnmatch.fnmatchcase(c, member)]
                if not matched:
                    raise InputError(
                        f"feature pattern {member!r} matches no model input "
                        f"(inputs: {', '.join(inputs[:30])})",
                        subject=member,
                    )
                found.extend(matched)
            elif member in inputs or member in frame.columns:
                found.append(member)
            else:
                raise InputError(missing_column_message(member, frame, "feature"), subject=member)
    return tuple(dict.fromkeys(found))


def attribution_table(
    result: Attribution,
    grouping: Grouping | None,
    weights: FloatArray | None,
    stats: GroupStats,
    pairing: object = None,
) -> AttributionTable:
    """(Weighted) mean |contribution| per feature over the explained rows, overall and by group.

    ``grouping`` and ``weights`` cover every row of the data; only the explained rows
    (``result.row_index``) count. The table's sampler resamples the explained rows' attributions
    (Poisson row weights; SHAP is not recomputed); ``pairing`` marks tables resampled with the
    same rows for two models.
    """
    table = _table(result, grouping, weights, stats)
    magnitude = np.abs(result.values)
    row_weights = weights
    if weights is not None and result.row_index is not None:
        row_weights = weights[result.row_index]
    if row_weights is not None:
        magnitude = magnitude * row_weights[:, None]  # shares of weighted means stay exact
    codes = None
    if grouping is not None:
        explained = grouping.codes if result.row_index is None else grouping.codes[result.row_index]
        present = np.bincount(explained, minlength=grouping.n_groups) > 0
        position = np.cumsum(present) - 1  # group code -> index among the table's groups
        codes = position[explained].astype(np.int64)
    n_groups = len(table.group_keys)
    rows = magnitude.shape[0]

    def replicates(kind: str, b: int, seed: int) -> FloatArray:
        from rulecheck.engines._rowboot import (
            PoissonWeights,
            mean_abs_replicates,
            share_replicates,
        )

        pw = PoissonWeights(max(rows, 1), b, seed)
        draw = share_replicates if kind == "share" else mean_abs_replicates
        if codes is None:
            return draw(pw, magnitude)
        return draw(pw, magnitude, codes, n_groups)

    from rulecheck.engines.sampling import ShareSampler

    sampler = ShareSampler(
        magnitude=magnitude,
        codes=codes,
        n_groups=n_groups,
        replicates=replicates,
        pairing=pairing,
        weighted=row_weights is not None,
    )
    return replace(table, sampler=sampler)


def _table(
    result: Attribution,
    grouping: Grouping | None,
    weights: FloatArray | None,
    stats: GroupStats,
) -> AttributionTable:
    magnitude = np.abs(result.values)
    if weights is not None and result.row_index is not None:
        weights = weights[result.row_index]
    overall = Grouping.overall(magnitude.shape[0])
    table = AttributionTable(
        features=result.features,
        mean_abs=tuple(float(stats.means(overall, column, weights)[0]) for column in magnitude.T),
        explainer=result.explainer,
        output=result.output,
        rows=result.rows,
        seed=result.seed,
        background_rows=result.background_rows,
        notes=result.notes,
    )
    if grouping is None:
        return table
    codes = grouping.codes if result.row_index is None else grouping.codes[result.row_index]
    explained = Grouping(grouping.by, codes, grouping.keys)
    counts = stats.counts(explained)
    means = np.column_stack([stats.means(explained, column, weights) for column in magnitude.T])
    present = counts > 0
    return replace(
        table,
        by=grouping.by,
        group_keys=tuple(k for k, p in zip(grouping.keys, present, strict=True) if p),
        group_n=tuple(int(c) for c in counts[present]),
        group_mean_abs=tuple(tuple(float(v) for v in row) for row in means[present]),
    )
