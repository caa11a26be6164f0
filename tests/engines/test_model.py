"""Loading model files safely: skops with trusted types, native LightGBM/XGBoost, pickle only on trust."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import rulecheck
from rulecheck.engines.model import adapt, load_model
from rulecheck.errors import InputError, UntrustedModelError
from rulecheck.verdict import Status


def data(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(["a", "b", "c"], n)})
    frame["y"] = (frame["x"] + (frame["c"] == "a") + rng.normal(size=n) > 0.5).astype(int)
    return frame


def pipeline(frame: pd.DataFrame) -> object:
    pre = ColumnTransformer([("num", StandardScaler(), ["x"]), ("cat", OneHotEncoder(), ["c"])])
    return make_pipeline(pre, LogisticRegression()).fit(frame[["x", "c"]], frame["y"])


class HomeMade(ClassifierMixin, BaseEstimator):
    """A user-defined estimator: not a trusted type."""

    def fit(self, X: pd.DataFrame, y: pd.Series) -> HomeMade:
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.tile([0.5, 0.5], (len(X), 1))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.zeros(len(X), dtype=int)


def test_skops_pipeline_loads_and_predicts_like_the_original(tmp_path: Path) -> None:
    frame = data()
    model = pipeline(frame)
    path = tmp_path / "model.skops"
    skops.io.dump(model, path)
    loaded = load_model(path)
    assert loaded.format == "skops"
    assert loaded.adapter.classes == (0, 1)
    assert loaded.adapter.feature_names == ("x", "c")
    np.testing.assert_array_equal(
        loaded.adapter.predict_proba(frame[["x", "c"]]),
        model.predict_proba(frame[["x", "c"]]),  # type: ignore[attr-defined]
    )
    assert len(loaded.sha256) == 64


def test_skops_with_untrusted_type_is_refused_and_named(tmp_path: Path) -> None:
    frame = data()
    path = tmp_path / "home.skops"
    skops.io.dump(HomeMade().fit(frame[["x"]], frame["y"]), path)
    with pytest.raises(UntrustedModelError) as caught:
        load_model(path)
    assert "HomeMade" in str(caught.value)
    assert "--trust-model" in str(caught.value)
    assert load_model(path, trust=True).adapter.name == "HomeMade"


def test_pickle_needs_trust(tmp_path: Path) -> None:
    frame = data()
    path = tmp_path / "model.joblib"
    joblib.dump(pipeline(frame), path)
    with pytest.raises(UntrustedModelError, match="runs arbitrary code"):
        load_model(path)
    assert load_model(path, trust=True).format == "pickle"


def test_unknown_suffix_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_model(tmp_path / "nope.skops")
    odd = tmp_path / "model.h5"
    odd.write_bytes(b"x")
    with pytest.raises(InputError, match=r"unknown format; use one of \.skops"):
        load_model(odd)


def test_cli_refuses_untrusted_model_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = data()
    frame.to_csv(tmp_path / "data.csv", index=False)
    joblib.dump(pipeline(frame), tmp_path / "model.pkl")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nname: m\ntarget: {data: data.csv, model: model.pkl, label: y, "
        "features: [x, c]}\nrules:\n  - {id: acc, kind: performance, metric: accuracy, min: 0.5}\n",
        encoding="utf-8",
    )
    from rulecheck import cli

    assert cli.main(["check", str(policy)]) == 2
    assert "is a pickle/joblib file" in capsys.readouterr().err
    assert cli.main(["check", str(policy), "--trust-model"]) == 0


@pytest.mark.skipif(importlib.util.find_spec("lightgbm") is None, reason="lightgbm not installed")
def test_lightgbm_native_file(tmp_path: Path) -> None:
    import lightgbm as lgb

    frame = data()
    model = lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(frame[["x"]], frame["y"])
    path = tmp_path / "model.txt"
    model.booster_.save_model(path)
    loaded = load_model(path)
    assert loaded.format == "lightgbm"
    np.testing.assert_allclose(
        loaded.adapter.predict_proba(frame[["x"]]), model.predict_proba(frame[["x"]]), atol=1e-12
    )
    report = rulecheck.evaluate(
        "version: 1\nname: l\nrules:\n  - {id: auc, kind: performance, metric: roc_auc, min: 0.5}\n",
        data=frame,
        model=str(path),
        label="y",
    )
    assert report.verdicts[0].status is Status.PASS


@pytest.mark.skipif(importlib.util.find_spec("xgboost") is None, reason="xgboost not installed")
def test_xgboost_native_file(tmp_path: Path) -> None:
    import xgboost as xgb

    frame = data()
    model = xgb.XGBClassifier(n_estimators=10, max_depth=2).fit(frame[["x"]], frame["y"])
    path = tmp_path / "model.json"
    model.save_model(path)
    loaded = load_model(path)
    assert loaded.format == "xgboost"
    np.testing.assert_allclose(
        loaded.adapter.predict_proba(frame[["x"]]), model.predict_proba(frame[["x"]]), atol=1e-6
    )


def test_object_without_predict_is_refused() -> None:
    with pytest.raises(InputError, match="has no predict method"):
        adapt(object())
