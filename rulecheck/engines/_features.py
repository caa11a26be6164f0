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
) -> AttributionTable:
    """(Weighted) mean |contribution| per feature over the explained rows, overall and by group.

    ``grouping`` and ``weights`` cover every row of the data; only the explained rows
    (``result.row_index``) count.
    """
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
