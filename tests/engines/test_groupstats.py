"""The GroupStats protocol: every backend's primitives equal a pandas groupby, weighted or not.

The tests take the backend as a fixture, so a new backend (Dask, Spark) is added to ``BACKENDS``
and must pass the same checks before any metric uses it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rulecheck.engines.groupstats import (
    MISSING_GROUP,
    Grouping,
    GroupStats,
    NumpyGroupStats,
    factorize,
)
from rulecheck.errors import InputError

BACKENDS: dict[str, Any] = {"numpy": NumpyGroupStats}


@pytest.fixture(params=sorted(BACKENDS), scope="module")
def stats(request: pytest.FixtureRequest) -> GroupStats:
    backend: GroupStats = BACKENDS[request.param]()
    return backend


frames = st.integers(1, 60).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            "g": st.lists(st.sampled_from(["x", "y", "z"]), min_size=n, max_size=n),
            "h": st.lists(st.sampled_from([1, 2]), min_size=n, max_size=n),
            "t": st.lists(st.booleans(), min_size=n, max_size=n),
            "p": st.lists(st.booleans(), min_size=n, max_size=n),
            "v": st.lists(st.floats(-1e3, 1e3), min_size=n, max_size=n),
            "w": st.lists(st.floats(0, 10), min_size=n, max_size=n),
        }
    )
)


@given(data=frames, weighted=st.booleans())
@settings(max_examples=80, deadline=None)
def test_primitives_equal_a_pandas_groupby(
    stats: GroupStats, data: dict[str, list[Any]], weighted: bool
) -> None:
    frame = pd.DataFrame(data)
    grouping = factorize(frame, ("g", "h"))
    w = frame["w"].to_numpy() if weighted else None
    weight = frame["w"] if weighted else pd.Series(1.0, index=frame.index)
    groups = frame.assign(_w=weight).groupby(["g", "h"], sort=True)
    assert [tuple(k) for k in groups.groups] == list(grouping.keys)

    assert stats.counts(grouping).tolist() == groups.size().tolist()
    values = frame["v"].to_numpy()
    sums = groups.apply(lambda d: float((d["v"] * d["_w"]).sum()), include_groups=False)
    np.testing.assert_allclose(stats.sums(grouping, values, w), sums.to_numpy(), atol=1e-9)
    totals = groups["_w"].sum().to_numpy()
    expected_means = np.where(totals > 0, sums.to_numpy() / np.where(totals > 0, totals, 1), np.nan)
    np.testing.assert_allclose(stats.means(grouping, values, w), expected_means, atol=1e-9)
    low, high = stats.minmax(grouping, values)
    np.testing.assert_array_equal(low, groups["v"].min().to_numpy())
    np.testing.assert_array_equal(high, groups["v"].max().to_numpy())

    counts = stats.confusion(grouping, frame["t"].to_numpy(), frame["p"].to_numpy(), w)
    for cell, (t, p) in {"tp": (1, 1), "fp": (0, 1), "tn": (0, 0), "fn": (1, 0)}.items():
        hand = groups.apply(
            lambda d, t=t, p=p: float(d["_w"][(d["t"] == t) & (d["p"] == p)].sum()),
            include_groups=False,
        )
        np.testing.assert_allclose(getattr(counts, cell), hand.to_numpy(), atol=1e-9)


def test_the_overall_grouping_is_one_group(stats: GroupStats) -> None:
    grouping = Grouping.overall(4)
    assert stats.counts(grouping).tolist() == [4]
    assert stats.means(grouping, np.array([1.0, 2.0, 3.0, 6.0])).tolist() == [3.0]
    assert np.isnan(stats.means(grouping, np.ones(4), np.zeros(4))[0])  # no weight: undefined


def test_missing_group_values_error_or_form_their_own_group() -> None:
    frame = pd.DataFrame({"g": ["a", None, "b", None], "h": [1, 1, 2, np.nan]})
    with pytest.raises(InputError, match=r"'g' has 2 missing values \(first at row 1\)"):
        factorize(frame, ("g",))
    grouping = factorize(frame, ("g",), missing="group")
    assert grouping.keys == (("a",), ("b",), (MISSING_GROUP,))
    assert grouping.codes.tolist() == [0, 2, 1, 2]
    both = factorize(frame, ("g", "h"), missing="group")
    assert both.keys == (
        ("a", 1.0),
        ("b", 2.0),
        (MISSING_GROUP, 1.0),
        (MISSING_GROUP, MISSING_GROUP),
    )


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["x", "y", "z", None]),
            st.integers(0, 6),
            st.sampled_from(["p", "q"]),
        ),
        max_size=60,
    )
)
def test_intersections_numbered_by_lookup_equal_np_unique(
    rows: list[tuple[str | None, int, str]],
) -> None:
    # Small combination spaces are numbered through a lookup table instead of np.unique's sort:
    # the same keys, in the same order, and the same codes.
    import rulecheck.engines.groupstats as groupstats

    frame = pd.DataFrame(rows, columns=["a", "b", "c"]).astype({"c": "category"})
    dense = groupstats.factorize(frame, ("a", "b", "c"), missing="group")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(groupstats, "_DENSE_COMBINATIONS", -1)
        sorted_ = groupstats.factorize(frame, ("a", "b", "c"), missing="group")
    assert dense.keys == sorted_.keys
    np.testing.assert_array_equal(dense.codes, sorted_.codes)
    assert dense.codes.dtype == np.int64
