"""Native LightGBM/XGBoost Boosters, custom objectives and categorical data, with real model files.

Oracles: the scikit-learn wrapper of the same model (shares to 1e-6), the booster's own raw
margins through a hand-written sigmoid, and predictions on the original in-memory frame.
"""

from __future__ import annotations

import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

import rulecheck
from rulecheck.engines import _agnostic
from rulecheck.engines.attribution import explain, explain_loss
from rulecheck.engines.losses import get_loss
from rulecheck.engines.model import adapt, load_model
from rulecheck.errors import InputError, TimeBudgetExceeded
from rulecheck.verdict import Status


def frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "credit amount": rng.normal(size=n),
            "age": rng.integers(18, 70, n).astype(float),
            "housing": pd.Categorical(rng.choice(["own", "rent", "free"], n)),
            "sex": rng.choice(["f", "m"], n),
        }
    )
    logit = data["credit amount"] + 0.03 * (data["age"] - 40) + (data["housing"] == "rent")
    data["y"] = (logit + rng.normal(size=n) > 0.3).astype(int)
    return data


NUMERIC = ["credit amount", "age"]
WITH_CATEGORY = ["credit amount", "age", "housing"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logistic_objective(preds: np.ndarray, data: lgb.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Plain logistic loss gradient: a custom objective whose margins are log-odds."""
    p = sigmoid(preds)
    return p - data.get_label(), p * (1.0 - p)


def xgb_logistic(preds: np.ndarray, dtrain: xgb.DMatrix) -> tuple[np.ndarray, np.ndarray]:
    p = sigmoid(preds)
    return p - dtrain.get_label(), p * (1.0 - p)


# --- native boosters get TreeSHAP like their wrappers -------------------------------------------


def test_lightgbm_native_file_explains_like_its_wrapper(tmp_path: Path) -> None:
    data = frame()
    model = lgb.LGBMClassifier(n_estimators=30, num_leaves=8, verbose=-1)
    model.fit(data[NUMERIC], data["y"])
    path = tmp_path / "model.txt"
    model.booster_.save_model(path)
    native = load_model(path).adapter
    assert native.kind == "lightgbm"
    assert native.feature_names == ("credit_amount", "age")  # LightGBM's stored names
    assert native.input_columns(list(data.columns)) == ("credit amount", "age")
    wrapper = explain(model, data[NUMERIC])
    result = explain(native, data[NUMERIC])
    assert (result.explainer, result.output) == (wrapper.explainer, wrapper.output)
    assert (result.explainer, result.output) == ("tree", "log_odds")
    np.testing.assert_allclose(result.shares(), wrapper.shares(), atol=1e-6)
    np.testing.assert_allclose(result.values, wrapper.values, atol=1e-6)


def test_xgboost_native_file_explains_like_its_wrapper(tmp_path: Path) -> None:
    data = frame()
    model = xgb.XGBClassifier(n_estimators=30, max_depth=3)
    model.fit(data[NUMERIC], data["y"])
    path = tmp_path / "model.json"
    model.get_booster().save_model(path)
    native = load_model(path).adapter
    wrapper = explain(model, data[NUMERIC])
    result = explain(native, data[NUMERIC])
    assert (
        (result.explainer, result.output)
        == (wrapper.explainer, wrapper.output)
        == (
            "tree",
            "log_odds",
        )
    )
    np.testing.assert_allclose(result.shares(), wrapper.shares(), atol=1e-6)
    np.testing.assert_allclose(
        native.predict_proba(data[NUMERIC]), model.predict_proba(data[NUMERIC]), atol=1e-6
    )


def test_native_boosters_explain_their_log_loss_with_treeshap(tmp_path: Path) -> None:
    data = frame()
    y = data["y"].to_numpy() == 1
    lgb_model = lgb.LGBMClassifier(n_estimators=20, num_leaves=8, verbose=-1)
    lgb_model.fit(data[NUMERIC], data["y"])
    xgb_model = xgb.XGBClassifier(n_estimators=20, max_depth=3).fit(data[NUMERIC], data["y"])
    lgb_model.booster_.save_model(tmp_path / "m.txt")
    xgb_model.get_booster().save_model(tmp_path / "m.json")
    loss = get_loss("log_loss")
    for wrapper, path in ((lgb_model, "m.txt"), (xgb_model, "m.json")):
        native = explain_loss(load_model(tmp_path / path).adapter, data[NUMERIC], y, loss=loss)
        expected = explain_loss(wrapper, data[NUMERIC], y, loss=loss)
        assert native.explainer == expected.explainer == "tree"
        assert native.notes == ()
        np.testing.assert_allclose(native.shares(), expected.shares(), atol=1e-6)


# --- custom objectives -------------------------------------------------------------------------


def test_lightgbm_custom_objective_is_detected_and_linked(tmp_path: Path) -> None:
    data = frame()
    booster = lgb.train(
        {"objective": logistic_objective, "verbose": -1, "num_leaves": 8},
        lgb.Dataset(data[NUMERIC], data["y"]),
        num_boost_round=20,
    )
    path = tmp_path / "custom.txt"
    booster.save_model(path)
    adapter = load_model(path).adapter
    assert adapter.classes == (0, 1)
    assert any("custom objective" in note and "sigmoid" in note for note in adapter.notes)
    margin = booster.predict(data[NUMERIC], raw_score=True)
    np.testing.assert_allclose(adapter.margins(data[NUMERIC]), margin, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        adapter.predict_proba(data[NUMERIC])[:, 1], sigmoid(margin), rtol=0, atol=1e-12
    )
    result = explain(adapter, data[NUMERIC])
    assert (result.explainer, result.output) == ("tree", "log_odds")
    # TreeSHAP of the margin: each row's contributions add up to its log-odds.
    np.testing.assert_allclose(result.values.sum(axis=1) + result.expected_value, margin, atol=1e-9)
    report = rulecheck.evaluate(
        "version: 1\nname: c\nrules:\n"
        "  - {id: auc, kind: performance, metric: roc_auc, min: 0.5}\n"
        "  - {id: dp, kind: demographic_parity, by: sex, max_difference: 1}\n",
        data=data,
        model=str(path),
        label="y",
        features=NUMERIC,
    )
    assert [v.status for v in report.verdicts] == [Status.PASS, Status.PASS]
    assert "sigmoid" in str(report.model["notes"])


def test_lightgbm_sklearn_callable_objective_reads_raw_scores_as_margins() -> None:
    data = frame()

    def objective(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = sigmoid(y_pred)
        return p - y_true, p * (1.0 - p)

    model = lgb.LGBMClassifier(objective=objective, n_estimators=10, num_leaves=4, verbose=-1)
    model.fit(data[NUMERIC], data["y"])
    adapter = adapt(model)
    margin = model.predict(data[NUMERIC], raw_score=True)
    proba = adapter.predict_proba(
        data[NUMERIC]
    )  # raw_score=True: no "customized objective" warning
    np.testing.assert_allclose(proba[:, 1], sigmoid(margin), atol=1e-12)
    assert "custom objective" in adapter.notes[0]


def test_xgboost_custom_obj_declared_as_margin(tmp_path: Path) -> None:
    data = frame()
    booster = xgb.train(
        {"max_depth": 3}, xgb.DMatrix(data[NUMERIC], data["y"]), 20, obj=xgb_logistic
    )
    path = tmp_path / "custom.json"
    booster.save_model(path)
    assert load_model(path).adapter.classes is None  # saved as reg:squarederror: a regressor
    adapter = load_model(path, output="margin").adapter
    margin = booster.predict(xgb.DMatrix(data[NUMERIC]), output_margin=True).astype(np.float64)
    np.testing.assert_allclose(
        adapter.predict_proba(data[NUMERIC])[:, 1], sigmoid(margin), atol=1e-12
    )
    assert "declared to output margins" in adapter.notes[0]
    result = explain(adapter, data[NUMERIC])
    assert (result.explainer, result.output) == ("tree", "log_odds")
    policy = (
        "version: 1\nname: c\ntarget: {model_output: margin}\nrules:\n"
        "  - {id: auc, kind: performance, metric: roc_auc, min: 0.5}\n"
    )
    report = rulecheck.evaluate(policy, data=data, model=str(path), label="y", features=NUMERIC)
    assert report.verdicts[0].status is Status.PASS


def focal(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = sigmoid(y_pred)
    return p - y_true, p * (1.0 - p)


def test_pickled_custom_objective_that_cannot_be_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pickle
    import sys

    data = frame(100)
    model = lgb.LGBMClassifier(objective=focal, n_estimators=2, verbose=-1)
    model.fit(data[NUMERIC], data["y"])
    path = tmp_path / "model.pkl"
    # Pickled as if defined in the training script (__main__), which rulecheck cannot import.
    with monkeypatch.context() as patch:
        patch.setattr(focal, "__module__", "__main__")
        patch.setattr(sys.modules["__main__"], "focal", focal, raising=False)
        path.write_bytes(pickle.dumps(model))
    with pytest.raises(InputError, match=r"'focal'.*importable module") as info:
        load_model(path, trust=True)
    assert "__main__" in info.value.message


# --- categorical data --------------------------------------------------------------------------


@pytest.mark.slow  # the first model-agnostic run of a session compiles shap's numba code
def test_xgboost_categorical_native_model_through_evaluate(tmp_path: Path) -> None:
    data = frame()
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "tree_method": "hist"},
        xgb.DMatrix(data[WITH_CATEGORY], data["y"], enable_categorical=True),
        20,
    )
    path = tmp_path / "cat.json"
    booster.save_model(path)
    csv = tmp_path / "data.csv"
    data.to_csv(csv, index=False)
    policy = (
        "version: 1\nname: cat\nrules:\n"
        "  - {id: auc, kind: performance, metric: roc_auc, min: 0.5}\n"
        "  - {id: dp, kind: demographic_parity, by: sex, max_difference: 1}\n"
        "  - {id: share, kind: attribution, features: [housing], max_share: 1}\n"
        "  - {id: loss, kind: loss_attribution, by: sex, features: [housing], max_share: 1,"
        " min_group_size: 1, max_rows: 40}\n"
    )
    report = rulecheck.evaluate(
        policy, data=str(csv), model=str(path), label="y", features=WITH_CATEGORY
    )
    assert [v.status for v in report.verdicts] == [Status.PASS] * 4, [
        v.message for v in report.verdicts
    ]
    expected = booster.predict(xgb.DMatrix(data[WITH_CATEGORY], enable_categorical=True))
    adapter = load_model(path).adapter
    from_csv = pd.read_csv(csv)[WITH_CATEGORY]
    np.testing.assert_allclose(adapter.predict_proba(from_csv)[:, 1], expected, atol=1e-6)
    loss = report.verdicts[3]
    assert any("ran on 40 rows instead of TreeSHAP" in note for note in loss.notes)


def test_lightgbm_categories_from_the_model_make_csv_identical(tmp_path: Path) -> None:
    data = frame()
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 8},
        lgb.Dataset(data[WITH_CATEGORY], data["y"]),
        num_boost_round=20,
    )
    path = tmp_path / "cat.txt"
    booster.save_model(path)
    csv = tmp_path / "data.csv"
    data.to_csv(csv, index=False)
    from_csv = pd.read_csv(csv)
    # A subset whose rows miss a category would get other category codes without the model's list.
    subset = from_csv[from_csv["housing"] != "free"].reset_index(drop=True)
    adapter = load_model(path).adapter
    original = data[data["housing"] != "free"].reset_index(drop=True)
    np.testing.assert_allclose(
        adapter.predict_proba(subset[WITH_CATEGORY])[:, 1],
        booster.predict(original[WITH_CATEGORY]),
        atol=1e-12,
    )
    on_csv = explain(adapter, from_csv[WITH_CATEGORY])
    in_memory = explain(booster, data[WITH_CATEGORY])
    np.testing.assert_allclose(on_csv.values, in_memory.values, atol=1e-12)
    unseen = from_csv[WITH_CATEGORY].assign(housing="castle")
    adapter.predict_proba(unseen)
    assert any("castle" in note and "missing" in note for note in adapter.notes)


# --- classes and the positive label ------------------------------------------------------------


def test_bool_classes_with_positive_label_true_spelled_as_text() -> None:
    from sklearn.linear_model import LogisticRegression

    data = frame()
    data["approved"] = data["y"] == 1
    model = LogisticRegression().fit(data[NUMERIC], data["approved"])
    assert adapt(model).classes == (False, True)
    assert adapt(model).class_index("true") == 1 == adapt(model).class_index(True)
    policy = (
        "version: 1\nname: b\ntarget: {{label: approved, positive_label: {label}}}\nrules:\n"
        "  - {{id: tpr, kind: group_metric, metric: true_positive_rate, by: sex, max_difference: 1}}\n"
        "  - {{id: share, kind: attribution, features: [age], max_share: 1}}\n"
    )
    results = []
    for label in ('"true"', "true"):
        report = rulecheck.evaluate(
            policy.format(label=label), data=data, model=model, features=NUMERIC
        )
        assert [v.status for v in report.verdicts] == [Status.PASS, Status.PASS]
        results.append([(v.value, tuple(g.value for g in v.groups)) for v in report.verdicts])
    assert results[0] == results[1]
    with pytest.raises(
        InputError, match=r"positive_label 'maybe' is not one of the model's classes"
    ):
        adapt(model).class_index("maybe")


# --- never switching explainers silently; deadlines --------------------------------------------


def test_loss_fallback_notes_and_caps_rows_at_200() -> None:
    data = frame(600)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 2},
        xgb.DMatrix(data[WITH_CATEGORY], data["y"], enable_categorical=True),
        5,
    )
    y = data["y"].to_numpy() == 1
    result = explain_loss(
        booster, data[WITH_CATEGORY], y, loss=get_loss("log_loss"), background_size=10
    )
    assert result.explainer == "exact"
    assert result.rows == 200
    assert len(result.notes) == 1
    assert "TreeSHAP cannot explain the log loss" in result.notes[0]
    assert "ran on 200 rows" in result.notes[0]
    # A max_rows sized for TreeSHAP does not size the fallback; the rule's own does.
    options = {"loss": get_loss("log_loss"), "background_size": 10}
    sized_for_tree = explain_loss(booster, data[WITH_CATEGORY], y, max_rows=500, **options)  # type: ignore[arg-type]
    assert sized_for_tree.rows == 200
    own = explain_loss(booster, data[WITH_CATEGORY], y, max_rows=500, fallback_rows=40, **options)  # type: ignore[arg-type]
    assert own.rows == 40
    assert "ran on 40 rows" in own.notes[0]
    with pytest.raises(InputError, match="categorical"):
        explain_loss(booster, data[WITH_CATEGORY], y, loss=get_loss("log_loss"), explainer="tree")


def test_passed_deadline_stops_after_the_first_chunk() -> None:
    from sklearn.linear_model import LogisticRegression

    data = frame()
    model = LogisticRegression().fit(data[NUMERIC], data["y"])
    # Warm up: shap's import and numba's one-off compilation are not the chunk's time.
    explain(model, data[NUMERIC].iloc[:5], explainer="exact", background_size=5)
    started = time.monotonic()
    with pytest.raises(TimeBudgetExceeded, match=r"after explaining 20 of 100 rows"):
        explain(
            model,
            data[NUMERIC],
            explainer="exact",
            max_rows=100,
            background_size=5,
            deadline=time.monotonic() - 1.0,
        )
    assert time.monotonic() - started < 1.0


@pytest.mark.slow  # 500 permutation evaluations per row, twice
@pytest.mark.parametrize("method", ["permutation", "exact"])
def test_chunking_does_not_change_the_values(method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.linear_model import LogisticRegression

    data = frame(120)
    model = LogisticRegression().fit(data[NUMERIC], data["y"])
    options = {"explainer": method, "max_rows": 30, "background_size": 10, "seed": 3}
    chunked = explain(model, data[NUMERIC], **options)  # type: ignore[arg-type]
    monkeypatch.setattr(_agnostic, "CHUNK_ROWS", 10_000)
    one_shot = explain(model, data[NUMERIC], **options)  # type: ignore[arg-type]
    np.testing.assert_array_equal(chunked.values, one_shot.values)


# --- multiclass, names and per-rule rows -------------------------------------------------------


def test_multiclass_native_boosters_match_their_wrappers(tmp_path: Path) -> None:
    data = frame()
    kind = pd.cut(data["credit amount"], [-np.inf, -0.5, 0.5, np.inf], labels=False).astype(int)
    lgb_model = lgb.LGBMClassifier(n_estimators=10, num_leaves=4, verbose=-1)
    lgb_model.fit(data[NUMERIC], kind)
    xgb_model = xgb.XGBClassifier(n_estimators=10, max_depth=2).fit(data[NUMERIC], kind)
    lgb_model.booster_.save_model(tmp_path / "m.txt")
    xgb_model.get_booster().save_model(tmp_path / "m.json")
    for wrapper, name in ((lgb_model, "m.txt"), (xgb_model, "m.json")):
        native = load_model(tmp_path / name).adapter
        assert native.classes == (0, 1, 2)
        np.testing.assert_allclose(
            native.predict_proba(data[NUMERIC]), wrapper.predict_proba(data[NUMERIC]), atol=1e-6
        )
        result = explain(native, data[NUMERIC], positive_class=2)
        expected = explain(wrapper, data[NUMERIC], positive_class=2)
        assert (result.explainer, result.output) == (expected.explainer, expected.output)
        np.testing.assert_allclose(result.shares(), expected.shares(), atol=1e-6)


def test_output_the_tree_path_cannot_give_is_noted() -> None:
    data = frame(200)
    model = lgb.LGBMClassifier(n_estimators=5, num_leaves=4, verbose=-1)
    model.fit(data[NUMERIC], data["y"])
    result = explain(model, data[NUMERIC], output="raw", max_rows=5, background_size=5)
    assert result.explainer == "tree"
    assert result.notes == ()
    kind = pd.cut(data["credit amount"], [-np.inf, 0.0, 1.0, np.inf], labels=False).astype(int)
    multi = lgb.LGBMClassifier(n_estimators=5, num_leaves=4, verbose=-1).fit(data[NUMERIC], kind)
    result = explain(
        multi, data[NUMERIC], output="probability", positive_class=1, max_rows=5, background_size=5
    )
    assert result.explainer == "exact"
    assert "the tree explainer cannot compute output='probability'" in result.notes[0]
    assert "ran on 5 rows" in result.notes[0]


def test_spaced_names_map_back_and_rules_set_their_own_rows(tmp_path: Path) -> None:
    data = frame()
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 8},
        lgb.Dataset(data[NUMERIC], data["y"]),
        num_boost_round=10,
    )
    path = tmp_path / "spaced.txt"
    booster.save_model(path)
    policy = (
        "version: 1\nname: s\nrules:\n"
        "  - {id: share, kind: attribution, features: ['credit amount'], min_share: 0.01,"
        " max_rows: 50}\n"
        "  - {id: all-rows, kind: attribution, features: [age], max_share: 1}\n"
    )
    report = rulecheck.evaluate(policy, data=data, model=str(path), label="y")  # no features:
    assert [v.status for v in report.verdicts] == [Status.PASS, Status.PASS]
    assert dict(report.verdicts[0].info)["rows"] == 50
    assert dict(report.verdicts[1].info)["rows"] == len(data)
    with pytest.raises(InputError, match="model features missing from the data: 'age'"):
        load_model(path).adapter.input_columns(["credit amount", "y"])


def test_custom_objective_probability_is_explained_model_agnostically(tmp_path: Path) -> None:
    data = frame(200)
    booster = xgb.train(
        {"max_depth": 2}, xgb.DMatrix(data[NUMERIC], data["y"]), 5, obj=xgb_logistic
    )
    adapter = adapt(booster, output="margin")
    result = explain(adapter, data[NUMERIC], output="probability", max_rows=10, background_size=5)
    # shap's TreeSHAP would read the saved reg:squarederror objective as an identity link.
    assert result.explainer == "exact"
    assert "cannot compute output='probability'" in result.notes[0]
    p = adapter.predict_proba(data[NUMERIC])[:, 1]
    assert result.row_index is not None
    np.testing.assert_allclose(
        result.values.sum(axis=1) + result.expected_value, p[result.row_index], atol=1e-9
    )


def test_wrappers_trained_on_categories_read_csv_columns(tmp_path: Path) -> None:
    data = frame()
    csv = tmp_path / "data.csv"
    data.to_csv(csv, index=False)
    from_csv = pd.read_csv(csv)[WITH_CATEGORY]
    lgb_model = lgb.LGBMClassifier(n_estimators=10, num_leaves=4, verbose=-1)
    lgb_model.fit(data[WITH_CATEGORY], data["y"])
    xgb_model = xgb.XGBClassifier(n_estimators=10, max_depth=2, enable_categorical=True)
    xgb_model.fit(data[WITH_CATEGORY], data["y"])
    for model in (lgb_model, xgb_model):
        adapter = adapt(model)
        np.testing.assert_allclose(
            adapter.predict_proba(from_csv), model.predict_proba(data[WITH_CATEGORY]), atol=1e-12
        )
        np.testing.assert_allclose(
            explain(adapter, from_csv).values,
            explain(model, data[WITH_CATEGORY]).values,
            atol=1e-12,
        )


def test_a_timed_out_explanation_is_not_cached_for_the_next_rule() -> None:
    from sklearn.linear_model import LogisticRegression

    from rulecheck._settings import AttributionSettings
    from rulecheck.engines.context import DataContext, TargetSpec

    data = frame(100)
    model = LogisticRegression().fit(data[NUMERIC], data["y"])
    context = DataContext(
        data,
        TargetSpec(label="y", features=tuple(NUMERIC)),
        model=adapt(model),
        attribution=AttributionSettings(explainer="exact", background_size=5),
    )
    context.deadline = time.monotonic() - 1.0
    with pytest.raises(TimeBudgetExceeded):
        context.attribution((), max_rows=60)
    context.deadline = None
    table = context.attribution((), max_rows=60)
    assert table.rows == 60


def test_boosters_read_columns_by_name_not_position(tmp_path: Path) -> None:
    data = frame(200)
    lgb_booster = lgb.train(
        {"objective": "binary", "verbose": -1}, lgb.Dataset(data[NUMERIC], data["y"]), 5
    )
    xgb_booster = xgb.train(
        {"objective": "binary:logistic"}, xgb.DMatrix(data[NUMERIC], data["y"]), 5
    )
    shuffled = data[["sex", "age", "credit amount"]]
    for booster in (lgb_booster, xgb_booster):
        adapter = adapt(booster)
        np.testing.assert_array_equal(
            adapter.predict_proba(shuffled), adapter.predict_proba(data[NUMERIC])
        )
