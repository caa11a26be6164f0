"""Tests for rulecheck.engines.losses.

Oracles: every built-in loss, averaged per group, equals the scikit-learn function computed on
that group's rows (to 1e-9), on real data and on hypothesis data; fairlearn's MetricFrame gives
the same per-group log loss. Then the registry, entry-point discovery and the errors that bad
custom losses produce.
"""

from __future__ import annotations

import importlib.metadata
import textwrap
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn import metrics
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression, PoissonRegressor, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from rulecheck.engines import losses
from rulecheck.engines.losses import (
    BUILTIN_LOSSES,
    LossRegistry,
    LossSpec,
    get_loss,
    group_mean_loss,
    per_row_loss,
    register_loss,
)
from rulecheck.errors import InputError

Array = npt.NDArray[Any]
RTOL = ATOL = 1e-9
EPS64 = float(np.finfo(np.float64).eps)


def factorize(values: Iterable[Any]) -> tuple[npt.NDArray[np.int64], int]:
    """Group codes 0..k-1 in sorted key order, as the core produces them."""
    codes, uniques = pd.factorize(pd.Series(list(values)), sort=True)
    return codes.astype(np.int64), len(uniques)


def ours(
    name: str, y: Array, pred: Array, codes: Array, n_groups: int, **params: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    return group_mean_loss(per_row_loss(get_loss(name), y, pred, params), codes, n_groups)


def _hinge_oracle(y: Array, f: Array, mask: Array) -> float:
    # sklearn's binary hinge_loss binarizes the labels it is given, so a group holding only
    # positives would be scored as all negatives. Passing every row with the group as 0/1
    # sample weights keeps both labels in view and still averages over the group only.
    return float(metrics.hinge_loss(y, f, sample_weight=mask.astype(float)))


def log_loss_01(y_true: Array, y_proba: Array) -> float:
    """scikit-learn's log loss with both labels declared, so single-class groups work."""
    return float(metrics.log_loss(y_true, y_proba, labels=[0, 1]))


# name -> scikit-learn function of (y_true, y_pred) for one group's rows.
ORACLES: dict[str, Callable[..., float]] = {
    "log_loss": log_loss_01,
    "brier": metrics.brier_score_loss,
    "zero_one": metrics.zero_one_loss,
    "hinge": metrics.hinge_loss,  # called through _hinge_oracle, see there
    "squared_error": metrics.mean_squared_error,
    "absolute_error": metrics.mean_absolute_error,
    "pinball": metrics.mean_pinball_loss,
    "poisson": metrics.mean_poisson_deviance,
}


def sklearn_by_group(
    name: str, y: Array, pred: Array, codes: Array, n_groups: int, **params: float
) -> npt.NDArray[np.float64]:
    out = np.full(n_groups, np.nan)
    for g in np.unique(codes):
        mask = codes == g
        if name == "hinge":
            out[g] = _hinge_oracle(y, pred, mask)
        elif name == "pinball":
            out[g] = metrics.mean_pinball_loss(y[mask], pred[mask], alpha=params["quantile"])
        else:
            out[g] = ORACLES[name](y[mask], pred[mask])
    return out


def test_every_builtin_has_an_oracle() -> None:
    assert {spec.name for spec in BUILTIN_LOSSES} == set(ORACLES)


# --- real data ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cancer() -> dict[str, Array]:
    data = load_breast_cancer()
    X, y = data.data, data.target
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    codes, _ = factorize(pd.qcut(X[:, 0], 5, labels=False))  # quintiles of "mean radius"
    return {
        "y": y,
        "probability": model.predict_proba(X)[:, 1],
        "decision": model.predict(X),
        "margin": model.decision_function(X),
        "codes": codes,
    }


@pytest.fixture(scope="module")
def diabetes() -> dict[str, Array]:
    X, y = load_diabetes(return_X_y=True)
    codes, _ = factorize(zip(pd.qcut(X[:, 0], 4, labels=False), X[:, 1] > 0, strict=True))
    return {
        "y": y,
        "value": Ridge(alpha=0.1).fit(X, y).predict(X),
        "poisson": PoissonRegressor(alpha=1e-3, max_iter=1000).fit(X, y).predict(X),
        "codes": codes,
    }


@pytest.mark.parametrize("name", ["log_loss", "brier", "zero_one", "hinge"])
def test_classification_losses_match_sklearn_per_group(name: str, cancer: dict[str, Array]) -> None:
    pred = cancer[get_loss(name).input]
    codes = cancer["codes"]
    means, counts = ours(name, cancer["y"], pred, codes, 5)
    np.testing.assert_allclose(
        means, sklearn_by_group(name, cancer["y"], pred, codes, 5), rtol=RTOL, atol=ATOL
    )
    np.testing.assert_array_equal(counts, np.bincount(codes))


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("squared_error", {}),
        ("absolute_error", {}),
        ("pinball", {"quantile": 0.1}),
        ("pinball", {"quantile": 0.5}),
        ("pinball", {"quantile": 0.9}),
        ("poisson", {}),
    ],
)
def test_regression_losses_match_sklearn_per_group(
    name: str, params: dict[str, float], diabetes: dict[str, Array]
) -> None:
    pred = diabetes["poisson" if name == "poisson" else "value"]
    y, codes = diabetes["y"], diabetes["codes"]
    means, _ = ours(name, y, pred, codes, 8, **params)
    np.testing.assert_allclose(
        means, sklearn_by_group(name, y, pred, codes, 8, **params), rtol=RTOL, atol=ATOL
    )


def test_pinball_default_quantile_is_median(diabetes: dict[str, Array]) -> None:
    y, pred = diabetes["y"], diabetes["value"]
    default = per_row_loss(get_loss("pinball"), y, pred, {})
    np.testing.assert_array_equal(default, 0.5 * np.abs(y - pred))


@pytest.mark.parametrize(
    ("name", "oracle"),
    [
        ("log_loss", log_loss_01),
        ("brier", metrics.brier_score_loss),
    ],
)
def test_fairlearn_metricframe_agrees(
    name: str, oracle: Callable[..., float], cancer: dict[str, Array]
) -> None:
    groups = pd.Series(np.asarray([f"r{c}" for c in cancer["codes"]]), name="radius")
    frame = MetricFrame(
        metrics=oracle, y_true=cancer["y"], y_pred=cancer["probability"], sensitive_features=groups
    )
    codes, n_groups = factorize(groups)
    means, _ = ours(name, cancer["y"], cancer["probability"], codes, n_groups)
    np.testing.assert_allclose(
        means, frame.by_group.sort_index().to_numpy(float), rtol=RTOL, atol=ATOL
    )
    overall = per_row_loss(get_loss(name), cancer["y"], cancer["probability"]).mean()
    assert overall == pytest.approx(frame.overall, rel=1e-12)


# --- hypothesis data ---------------------------------------------------------------------------

# Probabilities including the exact bounds and values that clipping changes.
PROBABILITIES = st.one_of(
    st.sampled_from([0.0, 1.0, EPS64, 1 - EPS64, 5e-324, 1e-300, 1e-17, 0.5, 1 - 1e-17]),
    st.floats(0, 1),
)
VALUES = st.floats(-1e3, 1e3)


@st.composite
def grouped(
    draw: st.DrawFn, y_elements: st.SearchStrategy[Any], pred_elements: st.SearchStrategy[float]
) -> tuple[Array, Array, Array, int]:
    """Rows in random groups: many groups of size 1, some codes with no rows at all."""
    n = draw(st.integers(1, 40))
    n_groups = draw(st.integers(1, 8))
    codes = draw(arrays(np.int64, n, elements=st.integers(0, n_groups - 1)))
    y = draw(arrays(np.float64, n, elements=y_elements))
    pred = draw(arrays(np.float64, n, elements=pred_elements))
    return y, pred, codes, n_groups


def check_against_sklearn(
    name: str, data: tuple[Array, Array, Array, int], **params: float
) -> None:
    y, pred, codes, n_groups = data
    means, counts = ours(name, y, pred, codes, n_groups, **params)
    np.testing.assert_array_equal(counts, np.bincount(codes, minlength=n_groups))
    np.testing.assert_allclose(
        means, sklearn_by_group(name, y, pred, codes, n_groups, **params), rtol=RTOL, atol=ATOL
    )
    assert np.isnan(means[counts == 0]).all()


LABELS = st.sampled_from([0.0, 1.0])


@settings(deadline=None)
@given(grouped(LABELS, PROBABILITIES), st.sampled_from(["log_loss", "brier"]))
def test_probability_losses_match_sklearn(data: tuple[Array, Array, Array, int], name: str) -> None:
    check_against_sklearn(name, data)


@settings(deadline=None)
@given(grouped(LABELS, LABELS))
def test_zero_one_matches_sklearn(data: tuple[Array, Array, Array, int]) -> None:
    check_against_sklearn("zero_one", data)


@settings(deadline=None)
@given(grouped(LABELS, VALUES))
def test_hinge_matches_sklearn(data: tuple[Array, Array, Array, int]) -> None:
    assume(len(np.unique(data[0])) == 2)  # the oracle needs both labels somewhere
    check_against_sklearn("hinge", data)


@settings(deadline=None)
@given(grouped(VALUES, VALUES), st.sampled_from(["squared_error", "absolute_error"]))
def test_value_losses_match_sklearn(data: tuple[Array, Array, Array, int], name: str) -> None:
    check_against_sklearn(name, data)


@settings(deadline=None)
@given(grouped(VALUES, VALUES), st.floats(1e-3, 1 - 1e-3))
def test_pinball_matches_sklearn(data: tuple[Array, Array, Array, int], quantile: float) -> None:
    check_against_sklearn("pinball", data, quantile=quantile)


@settings(deadline=None)
@given(grouped(st.one_of(st.just(0.0), st.floats(1e-300, 1e3)), st.floats(1e-3, 1e3)))
def test_poisson_matches_sklearn(data: tuple[Array, Array, Array, int]) -> None:
    check_against_sklearn("poisson", data)


@settings(deadline=None)
@given(grouped(LABELS, PROBABILITIES), st.randoms(use_true_random=False))
def test_group_means_invariant_to_row_order_and_relabelling(
    data: tuple[Array, Array, Array, int], random: Any
) -> None:
    y, p, codes, n_groups = data
    means, counts = ours("log_loss", y, p, codes, n_groups)
    rows = np.array(random.sample(range(len(y)), len(y)), dtype=np.int64)
    relabel = np.array(random.sample(range(n_groups), n_groups), dtype=np.int64)
    means2, counts2 = ours("log_loss", y[rows], p[rows], relabel[codes[rows]], n_groups)
    np.testing.assert_allclose(means2[relabel], means, rtol=1e-12)
    np.testing.assert_array_equal(counts2[relabel], counts)


# --- properties of every built-in (sklearn's test_common style) ---------------------------------

RNG = np.random.default_rng(0)
N = 50
INPUTS: dict[str, tuple[Array, Array]] = {
    "probability": (RNG.integers(0, 2, N), RNG.random(N)),
    "decision": (RNG.integers(0, 2, N), RNG.integers(0, 2, N)),
    "margin": (RNG.integers(0, 2, N), RNG.normal(0, 2, N)),
    "value": (RNG.poisson(3, N).astype(float), RNG.uniform(0.1, 6, N)),
}


@pytest.mark.parametrize("spec", BUILTIN_LOSSES, ids=lambda spec: spec.name)
def test_builtin_is_nonnegative_float_row_equivariant(spec: LossSpec) -> None:
    y, pred = INPUTS[spec.input]
    out = per_row_loss(spec, y, pred)
    assert out.dtype == np.float64
    assert out.shape == (N,)
    assert (out >= 0).all()
    assert spec.lower_is_better
    rows = RNG.permutation(N)
    np.testing.assert_array_equal(per_row_loss(spec, y[rows], pred[rows]), out[rows])
    assert spec.fn.__doc__


# --- log_loss clipping ------------------------------------------------------------------------


def test_log_loss_clips_like_sklearn_float64() -> None:
    y = np.array([1, 0, 1, 0, 0])
    p = np.array([0.0, 1.0, 1.0, 0.0, 1e-20])
    out = per_row_loss(get_loss("log_loss"), y, p)
    expected = [-np.log(EPS64), -np.log(EPS64), -np.log(1 - EPS64), -np.log(1 - EPS64)]
    np.testing.assert_array_equal(out[:4], expected)
    np.testing.assert_array_equal(out[4], -np.log(1 - EPS64))  # 1 - 1e-20 rounds to 1.0
    for i in range(len(y)):
        assert out[i] == metrics.log_loss(y[i : i + 1], p[i : i + 1], labels=[0, 1])  # bitwise


def test_log_loss_uses_eps_of_float32_input() -> None:
    y = np.array([1, 0, 1, 1])
    p = np.array([0.0, 1.0, 0.3, 1.0], dtype=np.float32)
    out = per_row_loss(get_loss("log_loss"), y, p)
    eps32 = float(np.finfo(np.float32).eps)
    assert out[0] == -np.log(eps32)
    assert out[1] == -np.log(eps32)
    assert out.mean() == pytest.approx(metrics.log_loss(y, p, labels=[0, 1]), rel=1e-6)


def test_labels_may_be_bool() -> None:
    out = per_row_loss(get_loss("brier"), np.array([True, False]), np.array([0.25, 0.25]))
    np.testing.assert_array_equal(out, [0.5625, 0.0625])


# --- group_mean_loss --------------------------------------------------------------------------


def test_empty_group_is_nan_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        means, counts = group_mean_loss(np.array([1.0, 3.0, 5.0]), np.array([0, 0, 2]), 4)
    np.testing.assert_array_equal(counts, [2, 0, 1, 0])
    np.testing.assert_array_equal(means, [2.0, np.nan, 5.0, np.nan])
    assert counts.dtype == np.int64


def test_no_rows() -> None:
    means, counts = group_mean_loss(np.array([]), np.array([], dtype=np.int64), 2)
    assert np.isnan(means).all()
    np.testing.assert_array_equal(counts, [0, 0])


@pytest.mark.parametrize(
    ("codes", "n_groups", "match"),
    [
        (np.array([0, 2]), 2, r"codes must lie in 0\.\.1; got 0\.\.2"),
        (np.array([-1, 0]), 2, "codes must lie in"),
        (np.array([0.0, 1.0]), 2, "codes must be integers"),
        (np.array([0]), 2, "equal length"),
        (np.array([0, 0]), -1, "n_groups must be a non-negative int"),
    ],
)
def test_group_mean_loss_rejects_bad_codes(codes: Array, n_groups: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        group_mean_loss(np.array([1.0, 2.0]), codes, n_groups)


# --- registry ---------------------------------------------------------------------------------


def focal(y_true: Array, y_pred: Array, gamma: float = 2.0) -> Array:
    observed = np.clip(np.where(y_true == 1, y_pred, 1 - y_pred), 1e-12, 1)
    return np.asarray(-((1 - observed) ** gamma) * np.log(observed))


@pytest.fixture
def registry() -> LossRegistry:
    return LossRegistry(entry_points=None)


def test_register_and_get(registry: LossRegistry) -> None:
    spec = registry.register("focal", focal)
    assert spec == LossSpec("focal", focal, "probability", ("gamma",))
    assert registry.get("focal") is spec
    assert "focal" in registry
    assert registry.names() == tuple(sorted([*(s.name for s in BUILTIN_LOSSES), "focal"]))


def test_params_come_from_signature_or_argument(registry: LossRegistry) -> None:
    def margin_loss(y: Array, f: Array, *, scale: float, shift: float = 0.0) -> Array:
        return np.asarray(np.maximum(0, shift - y * f) * scale)

    def wrapped(*args: Any, **kwargs: Any) -> Array:
        return margin_loss(*args, **kwargs)

    assert registry.register("m", margin_loss, input="margin").params == ("scale", "shift")
    assert registry.register("w", wrapped, input="margin").params == ()
    assert registry.register("w2", wrapped, params=["scale"]).params == ("scale",)


def test_duplicate_raises_unless_overwrite(registry: LossRegistry) -> None:
    registry.register("focal", focal)
    with pytest.raises(ValueError, match="^" + losses.DUPLICATE.format(name="focal") + "$"):
        registry.register("focal", focal, input="margin")
    assert registry.get("focal").input == "probability"
    registry.register("focal", focal, input="margin", overwrite=True)
    assert registry.get("focal").input == "margin"


@pytest.mark.parametrize("overwrite", [False, True])
def test_builtin_names_are_protected(registry: LossRegistry, overwrite: bool) -> None:
    message = losses.BUILTIN_PROTECTED.format(name="log_loss")
    with pytest.raises(ValueError, match="^" + message + "$"):
        registry.register("log_loss", focal, overwrite=overwrite)
    assert registry.get("log_loss").fn is losses.log_loss


@pytest.mark.parametrize("name", ["Focal", "1focal", "focal-loss", "focal loss", "", "_focal"])
def test_bad_names(registry: LossRegistry, name: str) -> None:
    with pytest.raises(ValueError, match="loss name must match"):
        registry.register(name, focal)


def test_bad_input_kind_and_function(registry: LossRegistry) -> None:
    with pytest.raises(ValueError, match="input of loss 'focal' must be one of probability, "):
        registry.register("focal", focal, input="proba")  # type: ignore[arg-type]  # invalid on purpose
    with pytest.raises(TypeError, match="loss 'focal' must be callable; got int"):
        registry.register("focal", 3)  # type: ignore[arg-type]  # invalid on purpose
    with pytest.raises(TypeError, match=r"must accept \(y_true, y_pred, \*\*params\)"):
        registry.register("focal", lambda y: y)


def test_unknown_name_lists_sorted_names(registry: LossRegistry) -> None:
    registry.register("focal", focal)
    names = ", ".join(sorted([*(s.name for s in BUILTIN_LOSSES), "focal"]))
    with pytest.raises(InputError) as info:
        registry.get("focall")
    assert str(info.value) == losses.UNKNOWN.format(name="focall", names=names)
    assert info.value.subject == "focall"


def test_module_functions_use_the_default_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = LossRegistry(entry_points=None)
    monkeypatch.setattr(losses, "_DEFAULT_REGISTRY", fresh)
    spec = register_loss("focal", focal)
    assert get_loss("focal") is spec
    assert losses.default_loss_registry() is fresh
    other = LossRegistry(entry_points=None)
    with pytest.raises(InputError, match="unknown loss 'focal'"):
        get_loss("focal", registry=other)
    register_loss("focal", focal, input="margin", registry=other)
    assert get_loss("focal", registry=other).input == "margin"
    assert get_loss("focal").input == "probability"


# --- entry points -----------------------------------------------------------------------------


@dataclass
class FakeEntryPoint:
    name: str
    value: str
    obj: Any
    loads: int = 0

    def load(self) -> Any:
        self.loads += 1
        if isinstance(self.obj, BaseException):
            raise self.obj
        return self.obj


def test_entry_points_are_listed_lazily_and_loaded_by_name() -> None:
    calls: list[int] = []
    focal_ep = FakeEntryPoint("focal", "pkg.losses:focal", focal)
    other_ep = FakeEntryPoint("other", "pkg.losses:other", focal)

    def source() -> list[FakeEntryPoint]:
        calls.append(1)
        return [focal_ep, other_ep]

    registry = LossRegistry(entry_points=source)
    assert registry.get("log_loss").name == "log_loss"
    assert calls == []  # found names never trigger discovery
    spec = registry.get("focal")
    assert (spec.name, spec.input, spec.params) == ("focal", "probability", ("gamma",))
    assert registry.get("focal") is spec
    assert (focal_ep.loads, other_ep.loads, len(calls)) == (1, 0, 1)
    assert "other" in registry.names()
    assert other_ep.loads == 0  # listing names imports nothing


def test_entry_point_may_be_a_lossspec() -> None:
    spec = LossSpec("focal", focal, "margin", ("gamma",), lower_is_better=True)
    registry = LossRegistry(entry_points=lambda: [FakeEntryPoint("focal", "p:s", spec)])
    assert registry.get("focal") is spec


def test_plugin_cannot_shadow_builtin_or_registered() -> None:
    shadow = FakeEntryPoint("log_loss", "p:log_loss", focal)
    registry = LossRegistry(entry_points=lambda: [shadow, FakeEntryPoint("focal", "p:f", focal)])
    registry.register("focal", focal, input="margin")
    assert registry.get("log_loss").fn is losses.log_loss
    assert registry.get("focal").input == "margin"
    assert shadow.loads == 0


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            [FakeEntryPoint("focal", "p:focal", ImportError("No module named 'p'"))],
            "loss 'focal' from entry point 'p:focal' could not be loaded: "
            "ImportError: No module named 'p'",
        ),
        (
            [FakeEntryPoint("focal", "p:focal", 42)],
            losses.PLUGIN_BAD_OBJECT.format(value="p:focal", name="focal"),
        ),
        (
            [FakeEntryPoint("focal", "p:spec", LossSpec("other", focal, "probability"))],
            losses.PLUGIN_NAME_MISMATCH.format(value="p:spec", name="focal", spec="other"),
        ),
        (
            [FakeEntryPoint("focal", "b:focal", focal), FakeEntryPoint("focal", "a:focal", focal)],
            losses.PLUGIN_AMBIGUOUS.format(name="focal", values="a:focal, b:focal"),
        ),
        (
            [FakeEntryPoint("focal", "p:focal", lambda y: y)],
            "loss 'focal' from entry point 'p:focal' could not be loaded: TypeError: loss 'focal' "
            "must accept (y_true, y_pred, **params)",
        ),
    ],
    ids=["import-error", "not-callable", "name-mismatch", "ambiguous", "bad-signature"],
)
def test_broken_plugins_give_input_error(entries: list[FakeEntryPoint], message: str) -> None:
    registry = LossRegistry(entry_points=lambda: entries)
    with pytest.raises(InputError) as info:
        registry.get("focal")
    assert str(info.value).startswith(message)
    assert info.value.subject == "focal"


def test_installed_entry_points_via_importlib_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rulecheck_test_plugin.py").write_text(
        textwrap.dedent(
            """
            import numpy as np
            from rulecheck.engines.losses import LossSpec

            def squared_log(y_true, y_pred, offset=1.0):
                return (np.log(y_pred + offset) - np.log(y_true + offset)) ** 2

            SPEC = LossSpec("squared_log_spec", squared_log, "value", ("offset",))
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    group = losses.ENTRY_POINT_GROUP
    installed = importlib.metadata.EntryPoints(
        [
            importlib.metadata.EntryPoint(
                "squared_log", "rulecheck_test_plugin:squared_log", group
            ),
            importlib.metadata.EntryPoint("squared_log_spec", "rulecheck_test_plugin:SPEC", group),
        ]
    )
    requested: list[str | None] = []

    def entry_points(*, group: str | None = None) -> importlib.metadata.EntryPoints:
        requested.append(group)
        return installed

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    registry = LossRegistry()
    assert registry.get("squared_log").params == ("offset",)
    assert registry.get("squared_log_spec").input == "value"
    assert requested == [group]
    out = per_row_loss(registry.get("squared_log"), np.array([0.0, 3.0]), np.array([0.0, 1.0]))
    np.testing.assert_allclose(out, [0.0, np.log(2) ** 2])


# --- bad custom losses ------------------------------------------------------------------------

Y10 = np.array([0, 1] * 5)
P10 = np.linspace(0.05, 0.95, 10)


def custom(fn: Callable[..., Any], params: Iterable[str] | None = None) -> LossSpec:
    return LossSpec.from_function("focal", fn, params=params)


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda y, p: np.zeros((len(y), 2)), "loss 'focal' returned shape (10, 2); expected (10,)"),
        (lambda y, p: 0.5, "loss 'focal' returned shape (); expected (10,)"),
        (lambda y, p: np.zeros(9), "loss 'focal' returned shape (9,); expected (10,)"),
        (
            lambda y, p: np.array([np.nan, np.nan, np.inf, *np.zeros(7)]),
            "loss 'focal' returned NaN or inf in 3 of 10 rows (2 NaN, 1 inf)",
        ),
        (lambda y, p: np.array(["a"] * 10), "loss 'focal' returned non-numeric values (ndarray)"),
        (lambda y, p: None, "loss 'focal' returned shape (); expected (10,)"),
    ],
    ids=["2d", "scalar", "short", "nan", "strings", "none"],
)
def test_bad_results(fn: Callable[..., Any], message: str) -> None:
    with pytest.raises(InputError) as info:
        per_row_loss(custom(fn), Y10, P10)
    assert str(info.value).startswith(message)
    assert info.value.subject == "focal"


def test_raising_loss_is_reported_with_cause() -> None:
    def boom(y: Array, p: Array) -> Array:
        raise ValueError("operands could not be broadcast")

    with pytest.raises(InputError) as info:
        per_row_loss(custom(boom), Y10, P10)
    assert str(info.value) == "loss 'focal' raised ValueError: operands could not be broadcast"
    assert isinstance(info.value.__cause__, ValueError)


def test_input_error_from_a_loss_passes_through() -> None:
    def strict(y: Array, p: Array) -> Array:
        raise InputError("focal needs at least 20 rows", subject="focal")

    with pytest.raises(InputError, match=r"^focal needs at least 20 rows$"):
        per_row_loss(custom(strict), Y10, P10)


def test_unknown_param_lists_accepted() -> None:
    with pytest.raises(InputError) as info:
        per_row_loss(custom(focal), Y10, P10, {"gama": 2.0, "alpha": 1.0})
    assert (
        str(info.value) == "loss 'focal' got unknown param(s) alpha, gama; accepted params: gamma"
    )
    with pytest.raises(InputError, match=r"accepted params: none$"):
        per_row_loss(get_loss("log_loss"), Y10, P10, {"gamma": 2.0})
    np.testing.assert_allclose(
        per_row_loss(custom(focal), Y10, P10, {"gamma": 0.0}),
        per_row_loss(get_loss("log_loss"), Y10, P10),
    )


def test_missing_required_param() -> None:
    def scaled(y: Array, p: Array, *, scale: float) -> Array:
        return np.asarray(scale * (p - y) ** 2)

    with pytest.raises(InputError, match=r"^loss 'focal' cannot be called with params \{\}: "):
        per_row_loss(custom(scaled), Y10, P10)


@pytest.mark.parametrize(
    ("y", "p", "message"),
    [
        (Y10, np.r_[P10[:9], np.nan], "y_pred for loss 'log_loss' has NaN or inf in 1 of 10 rows"),
        (np.r_[Y10[:9], np.inf], P10, "y_true for loss 'log_loss' has NaN or inf in 1 of 10 rows"),
        (
            Y10,
            P10[:9],
            "loss 'log_loss' needs 1-D y_true and y_pred of equal length; got (10,) and (9,)",
        ),
        (
            Y10,
            np.c_[1 - P10, P10],
            "needs 1-D y_true and y_pred of equal length; got (10,) and (10, 2)",
        ),
        (np.r_[Y10[:9], 2], P10, "loss 'log_loss' needs labels 0 and 1; y_true also contains [2]"),
        (
            Y10,
            np.r_[P10[:9], 1.5],
            "loss 'log_loss' needs probabilities in [0, 1] as y_pred; got maximum 1.5",
        ),
        (Y10, np.r_[P10[:9], -0.5], "probabilities in [0, 1] as y_pred; got minimum -0.5"),
        (
            np.array(["no", "yes"] * 5),
            P10,
            "needs labels 0 and 1; y_true also contains ['no', 'yes']",
        ),
    ],
    ids=[
        "nan-pred",
        "inf-true",
        "length",
        "2d-proba",
        "label-2",
        "p-above-1",
        "p-below-0",
        "strings",
    ],
)
def test_log_loss_input_errors(y: Array, p: Array, message: str) -> None:
    with pytest.raises(InputError) as info:
        per_row_loss(get_loss("log_loss"), y, p)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("name", "y", "p", "params", "message"),
    [
        ("poisson", [1.0, 2.0], [1.0, 0.0], {}, "loss 'poisson' needs y_pred > 0; got minimum 0.0"),
        (
            "poisson",
            [-1.0, 2.0],
            [1.0, 1.0],
            {},
            "loss 'poisson' needs y_true >= 0; got minimum -1.0",
        ),
        ("pinball", [1.0], [1.0], {"quantile": 1.0}, "strictly between 0 and 1; got 1.0"),
        ("pinball", [1.0], [1.0], {"quantile": 0}, "strictly between 0 and 1; got 0"),
        ("pinball", [1.0], [1.0], {"quantile": True}, "strictly between 0 and 1; got True"),
        (
            "squared_error",
            [1.0],
            ["a"],
            {},
            "loss 'squared_error' needs numeric y_pred; got dtype <U1",
        ),
        (
            "hinge",
            [-1, 1],
            [0.5, 0.5],
            {},
            "loss 'hinge' needs labels 0 and 1; y_true also contains [-1]",
        ),
    ],
)
def test_builtin_domain_errors(
    name: str, y: list[Any], p: list[Any], params: dict[str, float], message: str
) -> None:
    with pytest.raises(InputError) as info:
        per_row_loss(get_loss(name), np.array(y), np.array(p), params)
    assert message in str(info.value)
    assert info.value.subject == name


def test_poisson_subnormal_label_stays_finite() -> None:
    # y / mu underflows to 0 here; scikit-learn's xlogy then returns -inf, we use log y - log mu.
    out = per_row_loss(get_loss("poisson"), np.array([5e-324, 0.0]), np.array([2.0, 2.0]))
    np.testing.assert_allclose(out, [4.0, 4.0], rtol=1e-15)
