"""Targets: one definition of "this value is the positive label", whatever the label's type.

The label column, the model's classes and the policy's ``positive_label`` may each spell the same
value differently (YAML ``true`` or ``"true"``, ``1`` or ``1.0``, a pandas ``str`` or category
column). The metric path (:meth:`Targets.y_true`), the model path (``adapter.class_index``),
group selection and the slices all use :func:`rulecheck._measures.same_value`, so they agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from rulecheck._measures import same_value
from rulecheck.engines.model import adapt
from rulecheck.engines.targets import Targets, TargetSpec, matches
from rulecheck.errors import InputError

# (label values as stored in the column, how a policy may spell the positive one)
LABEL_TYPES: dict[str, tuple[Any, Any, list[Any]]] = {
    "bool": (False, True, [True, "true", "True", "yes", 1]),
    "int": (0, 1, [1, 1.0, "1", "1.0"]),
    "float": (0.0, 1.0, [1, 1.0, "1"]),
    "str": ("no", "yes", ["yes"]),
    "pandas-str": ("bad", "good", ["good"]),
    "categorical": ("rejected", "approved", ["approved"]),
}


def _column(kind: str, flags: list[bool]) -> pd.Series:
    negative, positive, _ = LABEL_TYPES[kind]
    values = [positive if f else negative for f in flags]
    if kind == "pandas-str":
        return pd.Series(values, dtype="str")
    if kind == "categorical":
        return pd.Series(values, dtype="category")
    if kind == "str":
        return pd.Series(values, dtype=object)
    return pd.Series(values)


@given(
    kind=st.sampled_from(sorted(LABEL_TYPES)),
    flags=st.lists(st.booleans(), min_size=4, max_size=30).filter(lambda f: 0 < sum(f) < len(f)),
    spelling=st.integers(0, 4),
)
@settings(max_examples=150, deadline=None)
def test_every_spelling_of_the_positive_label_selects_the_same_rows(
    kind: str, flags: list[bool], spelling: int
) -> None:
    spellings = LABEL_TYPES[kind][2]
    positive = spellings[spelling % len(spellings)]
    frame = pd.DataFrame({"y": _column(kind, flags), "x": np.arange(len(flags), dtype=float)})
    targets = Targets(frame, TargetSpec(label="y", positive_label=positive))
    assert targets.y_true().tolist() == flags


@given(
    kind=st.sampled_from(sorted(LABEL_TYPES)),
    flags=st.lists(st.booleans(), min_size=6, max_size=30).filter(
        lambda f: 1 < sum(f) < len(f) - 1
    ),
    spelling=st.integers(0, 4),
)
@settings(max_examples=60, deadline=None)
def test_model_classes_and_the_label_column_agree(
    kind: str, flags: list[bool], spelling: int
) -> None:
    spellings = LABEL_TYPES[kind][2]
    positive = spellings[spelling % len(spellings)]
    y = _column(kind, flags)
    X = pd.DataFrame({"x": np.where(flags, 1.0, -1.0) + np.linspace(0, 0.1, len(flags))})
    model = adapt(LogisticRegression().fit(X, np.asarray(y)))
    index = model.class_index(positive)
    assert same_value(model.classes[index], LABEL_TYPES[kind][1])  # type: ignore[index]
    frame = X.assign(y=y)
    targets = Targets(frame, TargetSpec(label="y", positive_label=positive), model=model)
    # The model separates the classes: its positive-class decisions equal the labels.
    assert targets.y_pred().tolist() == targets.y_true().tolist() == flags


def test_zero_one_labels_need_no_positive_label_in_any_numeric_or_bool_type() -> None:
    flags = [True, False, True, True]
    for column in (
        pd.Series(flags),
        pd.Series([int(f) for f in flags]),
        pd.Series([float(f) for f in flags]),
        pd.Series([int(f) for f in flags], dtype="category"),
        pd.Series(flags, dtype="boolean"),
    ):
        targets = Targets(pd.DataFrame({"y": column}), TargetSpec(label="y"))
        assert targets.y_true().tolist() == flags, column.dtype


def test_text_labels_without_positive_label_say_how_to_fix_it() -> None:
    frame = pd.DataFrame({"y": pd.Series(["no", "yes", "yes"], dtype="str")})
    with pytest.raises(InputError, match=r"set target\.positive_label"):
        Targets(frame, TargetSpec(label="y")).y_true()


def test_declared_labels_reject_other_values_in_any_spelling() -> None:
    frame = pd.DataFrame({"y": [0, 1, 2, 1]})
    spec = TargetSpec(label="y", positive_label="1", labels=(0, "1"))
    with pytest.raises(InputError, match=r"outside the declared labels \[0, '1'\]: 2 \(1\)"):
        Targets(frame, spec).y_true()


def test_matches_never_matches_missing_values() -> None:
    series = pd.Series(["a", None, "b", np.nan], dtype="str")
    assert matches(series, "a").tolist() == [True, False, False, False]
    numbers = pd.Series([1.0, np.nan, 2.0])
    assert matches(numbers, "1").tolist() == [True, False, False]


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (True, "true", True),
        (True, "TRUE", True),
        (False, "no", True),
        (True, 1.0, True),
        (False, 1, False),
        (1, "1", True),
        (1, "1.0", True),
        (np.int64(2), 2.0, True),
        ("1", "1.0", False),  # two strings compare as text
        ("Male", "male", False),
        (float("nan"), float("nan"), False),
        ("(missing)", "(missing)", True),
    ],
)
def test_same_value_table(a: object, b: object, same: bool) -> None:
    assert same_value(a, b) is same
    assert same_value(b, a) is same


def test_decisions_in_another_language_than_the_label_are_an_error_not_zero_rates() -> None:
    frame = pd.DataFrame({"y": ["yes", "no"] * 3, "p": [1, 0, 1, 1, 0, 0]})
    targets = Targets(frame, TargetSpec(label="y", prediction="p", positive_label="yes"))
    with pytest.raises(InputError, match=r"never occur in label column 'y'"):
        targets.y_pred()
    # Decisions written with the label's values may all be negative: a model that rejects all.
    rejecting = frame.assign(p=["no"] * 6)
    spec = TargetSpec(label="y", prediction="p", positive_label="yes")
    assert not Targets(rejecting, spec).y_pred().any()
