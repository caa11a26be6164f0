"""Proxy measures: how much the model's inputs reveal a protected attribute.

A model that never sees a protected attribute can still use it through a proxy (a postcode for
ethnicity, a first name for sex). Two kinds of measure look for proxies, all higher-is-more:

- **Association** of one feature with the protected attribute, a score in [0, 1]:

  - ``"nmi"``: normalized mutual information, scikit-learn's ``normalized_mutual_info_score``
    with the arithmetic mean of the two entropies. The default for categorical features: it
    does not depend on the number of categories the way chi-squared statistics do.
  - ``"cramers_v"``: Cramér's V, ``sqrt(chi2 / (n * (min(rows, cols) - 1)))`` from the
    contingency table, without bias correction and without Yates' continuity correction (as
    ``scipy.stats.contingency.association(method="cramer")``). 0 when either variable has a
    single value.
  - ``"correlation_ratio"``: η (eta) of a numeric feature across the protected groups,
    ``sqrt(between-group sum of squares / total sum of squares)``; 0 when the feature is
    constant.

  ``measure="auto"`` uses ``categorical_measure`` (default ``"nmi"``) for categorical features and
  the correlation ratio for numeric ones. A feature is **categorical** when its dtype is not
  numeric (text, category, object), when it is boolean, or when it is numeric with at most
  ``max_categories`` (default 10) distinct non-missing values. Missing values of a categorical
  feature form a category of their own (missingness can itself be a proxy); rows where a numeric
  feature is missing are left out of η.

- **Predictability** of the protected attribute from all features together:
  :func:`predictability_auc` is the cross-validated ROC AUC of a gradient-boosted classifier. 0.5
  means the inputs reveal nothing; 1.0 means they determine the attribute.

The protected attribute is categorical and must have no missing values (:class:`InputError`
otherwise) and at least two groups. Features and protected attribute are matched by position, not
by index.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck._measures import same_value
from rulecheck.errors import InputError

__all__ = [
    "Association",
    "CategoricalMeasure",
    "Measure",
    "association",
    "associations",
    "correlation_ratio",
    "cramers_v",
    "is_categorical",
    "normalized_mutual_information",
    "predictability_auc",
]

Measure = Literal["auto", "nmi", "cramers_v", "correlation_ratio"]
CategoricalMeasure = Literal["nmi", "cramers_v"]
IntArray = npt.NDArray[np.intp]

MAX_CATEGORIES = 10
# HistGradientBoosting's native categorical support handles at most this many categories.
_MAX_NATIVE_CATEGORIES = 255

_BAD_PARAM = "The {name!r} parameter of {function} must be {expected}. Got {got!r} instead."
_PROTECTED_MISSING = "protected attribute {name!r} has {count} missing value{s}; drop or fill them"
_TOO_FEW_GROUPS = "protected attribute {name!r} needs at least two groups; it has {count}"
_LENGTH_MISMATCH = "{what} has {got} rows but the protected attribute {name!r} has {expected}"
_NOT_NUMERIC = "the correlation ratio needs a numeric feature; {name!r} has dtype {dtype}"
_SMALL_GROUP = (
    "group {group!r} of protected attribute {name!r} has {count} rows; cross-validation with "
    "cv={cv} needs at least {cv} rows per group"
)


class Association(NamedTuple):
    """An association score in [0, 1] and the name of the measure that produced it."""

    score: float
    measure: str


def is_categorical(feature: pd.Series, *, max_categories: int = MAX_CATEGORIES) -> bool:
    """Whether ``feature`` is treated as categorical (see the module documentation)."""
    if not pd.api.types.is_numeric_dtype(feature.dtype) or pd.api.types.is_bool_dtype(feature):
        return True
    return bool(feature.nunique(dropna=True) <= max_categories)


def association(
    feature: pd.Series,
    protected: pd.Series,
    *,
    measure: Measure = "auto",
    categorical_measure: CategoricalMeasure = "nmi",
    max_categories: int = MAX_CATEGORIES,
) -> Association:
    """Association of one feature with the protected attribute.

    Parameters
    ----------
    feature : pandas.Series
        A candidate proxy.
    protected : pandas.Series
        The protected attribute (categorical, no missing values), aligned by position.
    measure : {"auto", "nmi", "cramers_v", "correlation_ratio"}, default="auto"
        ``"auto"`` picks ``categorical_measure`` for a categorical feature and
        ``"correlation_ratio"`` for a numeric one. ``"nmi"`` and ``"cramers_v"`` treat every
        distinct value of the feature as a category.
    categorical_measure : {"nmi", "cramers_v"}, default="nmi"
        The measure ``"auto"`` uses for categorical features.
    max_categories : int, default=10
        Numeric features with at most this many distinct values count as categorical.

    Returns
    -------
    Association
        ``(score, measure)`` with the measure actually used.

    Examples
    --------
    >>> import pandas as pd
    >>> sex = pd.Series(["f", "m", "f", "m"], name="sex")
    >>> association(pd.Series(["a", "b", "a", "b"]), sex)
    Association(score=1.0, measure='nmi')
    >>> association(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]),
    ...             pd.Series(["f"] * 6 + ["m"] * 6)).measure
    'correlation_ratio'
    """
    _check_choice("measure", measure, get_args(Measure), "association")
    _check_choice(
        "categorical_measure", categorical_measure, get_args(CategoricalMeasure), "association"
    )
    codes, _ = _protected_codes(protected, len(feature), f"feature {feature.name!r}")
    if measure == "auto":
        categorical = is_categorical(feature, max_categories=max_categories)
        measure = categorical_measure if categorical else "correlation_ratio"
    if measure == "nmi":
        return Association(_nmi(_feature_codes(feature), codes), "nmi")
    if measure == "cramers_v":
        return Association(_cramers_v(_feature_codes(feature), codes), "cramers_v")
    return Association(_correlation_ratio(feature, codes), "correlation_ratio")


def associations(
    X: pd.DataFrame,
    protected: pd.Series,
    *,
    measure: Measure = "auto",
    categorical_measure: CategoricalMeasure = "nmi",
    max_categories: int = MAX_CATEGORIES,
) -> dict[str, Association]:
    """:func:`association` of every column of ``X``, keyed by column name in ``X``'s order."""
    if not isinstance(X, pd.DataFrame):
        raise InputError(
            _BAD_PARAM.format(
                name="X", function="associations", expected="a DataFrame", got=type(X).__name__
            ),
            subject="X",
        )
    _protected_codes(protected, len(X), "X")  # report a bad protected attribute once, up front
    return {
        str(column): association(
            X[column],
            protected,
            measure=measure,
            categorical_measure=categorical_measure,
            max_categories=max_categories,
        )
        for column in X.columns
    }


def normalized_mutual_information(feature: pd.Series, protected: pd.Series) -> float:
    """Normalized mutual information (arithmetic mean) between a feature and the attribute."""
    codes, _ = _protected_codes(protected, len(feature), f"feature {feature.name!r}")
    return _nmi(_feature_codes(feature), codes)


def cramers_v(feature: pd.Series, protected: pd.Series) -> float:
    """Cramér's V (no bias or continuity correction) between a feature and the attribute."""
    codes, _ = _protected_codes(protected, len(feature), f"feature {feature.name!r}")
    return _cramers_v(_feature_codes(feature), codes)


def correlation_ratio(feature: pd.Series, protected: pd.Series) -> float:
    """Correlation ratio η of a numeric feature across the protected groups."""
    codes, _ = _protected_codes(protected, len(feature), f"feature {feature.name!r}")
    return _correlation_ratio(feature, codes)


def predictability_auc(
    X: pd.DataFrame,
    protected: pd.Series,
    *,
    positive: object | None = None,
    cv: int = 5,
    seed: int = 0,
) -> float:
    """Cross-validated ROC AUC of predicting the protected attribute from ``X``.

    A HistGradientBoostingClassifier (100 trees of at most 15 leaves; native categorical
    splits for text and category columns with at most 255 values, integer codes for larger ones;
    missing values handled natively) is scored with stratified, shuffled ``cv``-fold
    cross-validation; the result is the mean over folds. Deterministic for a given ``seed``.

    Parameters
    ----------
    X : pandas.DataFrame
        The model's inputs (without the protected attribute itself).
    protected : pandas.Series
        The protected attribute, aligned with ``X`` by position.
    positive : object or None, default=None
        With more than two groups: score one group against the rest (binary AUC). If None, the
        macro average of one-vs-rest AUCs (``roc_auc_score(multi_class="ovr")``). With two groups
        the AUC is the same whichever group is positive.
    cv : int, default=5
        Number of folds; every scored group needs at least ``cv`` rows.
    seed : int, default=0
        Seed of the fold split and the classifier.

    Returns
    -------
    float
        AUC in [0, 1]; about 0.5 when ``X`` carries no information about the attribute.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits

    if not isinstance(X, pd.DataFrame) or X.shape[1] == 0:
        got = type(X).__name__ if not isinstance(X, pd.DataFrame) else "a DataFrame without columns"
        raise InputError(
            _BAD_PARAM.format(
                name="X", function="predictability_auc", expected="a DataFrame", got=got
            ),
            subject="X",
        )
    if isinstance(cv, bool) or not isinstance(cv, int) or cv < 2:
        raise InputError(
            _BAD_PARAM.format(
                name="cv", function="predictability_auc", expected="an int >= 2", got=cv
            ),
            subject="cv",
        )
    codes, name = _protected_codes(protected, len(X), "X")
    groups = pd.factorize(protected)[1]
    if positive is not None:
        matches = [i for i, g in enumerate(groups) if g == positive or same_value(g, positive)]
        if not matches:
            raise InputError(
                f"positive {positive!r} is not a group of protected attribute {name!r}: "
                f"{sorted(map(str, groups))}",
                subject="positive",
            )
        codes = (codes == matches[0]).astype(np.intp)
        labels: list[object] = [f"not {groups[matches[0]]}", groups[matches[0]]]
    else:
        labels = list(groups)
    counts = np.bincount(codes, minlength=len(labels))
    smallest = int(np.argmin(counts))
    if counts[smallest] < cv:
        raise InputError(
            _SMALL_GROUP.format(group=labels[smallest], name=name, count=counts[smallest], cv=cv),
            subject=name,
        )
    matrix, categorical = _design_matrix(X)
    classifier = HistGradientBoostingClassifier(
        max_iter=100,
        max_leaf_nodes=15,
        early_stopping=False,
        categorical_features=categorical if categorical.any() else None,
        random_state=seed,
    )
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    scoring = "roc_auc" if len(labels) == 2 else "roc_auc_ovr"
    # One OpenMP thread: the small classifiers gain little from threads, and on a busy machine
    # OpenMP's spinning made a 1,000-row fit take a minute instead of half a second.
    with threadpool_limits(limits=1, user_api="openmp"):
        scores = cross_val_score(classifier, matrix, codes, cv=folds, scoring=scoring)
    return float(np.mean(scores))


# --- helpers ------------------------------------------------------------------------------------


def _check_choice(name: str, value: object, allowed: tuple[object, ...], function: str) -> None:
    if value not in allowed:
        expected = "one of {" + ", ".join(repr(a) for a in allowed) + "}"
        raise InputError(
            _BAD_PARAM.format(name=name, function=function, expected=expected, got=value),
            subject=name,
        )


def _protected_codes(protected: pd.Series, n: int, what: str) -> tuple[IntArray, str]:
    """Group codes 0..k-1 of the protected attribute, after checking it."""
    name = str(protected.name) if protected.name is not None else "protected"
    if len(protected) != n:
        raise InputError(
            _LENGTH_MISMATCH.format(what=what, got=n, name=name, expected=len(protected)),
            subject=name,
        )
    missing = int(protected.isna().sum())
    if missing:
        raise InputError(
            _PROTECTED_MISSING.format(name=name, count=missing, s="" if missing == 1 else "s"),
            subject=name,
        )
    codes, groups = pd.factorize(protected)
    if len(groups) < 2:
        raise InputError(_TOO_FEW_GROUPS.format(name=name, count=len(groups)), subject=name)
    return codes.astype(np.intp), name


def _feature_codes(feature: pd.Series) -> IntArray:
    """Category codes with missing values as a category of their own."""
    return pd.factorize(feature, use_na_sentinel=False)[0].astype(np.intp)


def _nmi(feature: IntArray, protected: IntArray) -> float:
    from sklearn.metrics import normalized_mutual_info_score

    return float(normalized_mutual_info_score(protected, feature, average_method="arithmetic"))


def _cramers_v(feature: IntArray, protected: IntArray) -> float:
    rows, cols = int(feature.max()) + 1, int(protected.max()) + 1
    if min(rows, cols) < 2:
        return 0.0
    n = feature.shape[0]
    observed = np.bincount(feature * cols + protected, minlength=rows * cols).reshape(rows, cols)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / n
    chi2 = float((((observed - expected) ** 2) / expected).sum())
    return float(min(1.0, np.sqrt(chi2 / (n * (min(rows, cols) - 1)))))


def _correlation_ratio(feature: pd.Series, protected: IntArray) -> float:
    if not pd.api.types.is_numeric_dtype(feature.dtype):
        raise InputError(
            _NOT_NUMERIC.format(name=str(feature.name), dtype=feature.dtype),
            subject=str(feature.name),
        )
    values = feature.to_numpy(dtype=np.float64, na_value=np.nan)
    present = ~np.isnan(values)
    values, groups = values[present], protected[present]
    if values.shape[0] < 2:
        return 0.0
    centered = values - values.mean()
    total = float(centered @ centered)
    if total == 0.0:
        return 0.0
    counts = np.bincount(groups)
    sums = np.bincount(groups, weights=centered)
    occupied = counts > 0
    between = float((sums[occupied] ** 2 / counts[occupied]).sum())
    return float(min(1.0, np.sqrt(between / total)))


def _design_matrix(X: pd.DataFrame) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Numeric matrix for the classifier and which of its columns are native categoricals."""
    columns = []
    categorical = np.zeros(X.shape[1], dtype=bool)
    for j, column in enumerate(X.columns):
        feature = X[column]
        if pd.api.types.is_numeric_dtype(feature.dtype):
            columns.append(feature.to_numpy(dtype=np.float64, na_value=np.nan))
            continue
        codes, uniques = pd.factorize(feature)  # missing values get -1
        encoded = codes.astype(np.float64)
        encoded[codes < 0] = np.nan
        columns.append(encoded)
        categorical[j] = len(uniques) <= _MAX_NATIVE_CATEGORIES
    return np.column_stack(columns), categorical
