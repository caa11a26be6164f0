"""MLflow: ``models:/`` and ``runs:/`` model URIs, and ``log_report``, on a real local sqlite
tracking store and model registry (one per module: creating the database takes seconds)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sqlalchemy", reason="mlflow's sqlite store needs SQLAlchemy (dev extra)")
mlflow = pytest.importorskip(
    "mlflow", reason="mlflow is not installed (pip install 'rulecheck[mlflow]'; the dev extra)"
)

import rulecheck  # noqa: E402
from rulecheck.engines.model import load_model  # noqa: E402
from rulecheck.errors import UntrustedModelError  # noqa: E402
from rulecheck.integrations.mlflow import log_report, metric_key  # noqa: E402
from rulecheck.verdict import ExitCode, Status  # noqa: E402

FEATURES = ["age", "income"]
POLICY = (
    "version: 1\nname: mlflow-demo\ntarget: {label: y}\nrules:\n"
    "  - {id: dp-sex, kind: demographic_parity, by: sex, max_difference: 0.9}\n"
    "  - {id: auc, kind: performance, metric: roc_auc, min: 0.5}\n"
    "  - {id: écart-fpr.sexe, kind: group_metric, metric: false_positive_rate, by: sex,"
    " max_difference: 0.9}\n"
)


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 300
    data = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.normal(3, 1, n),
            "sex": rng.choice(["f", "m"], n),
        }
    )
    logit = 0.08 * (data["age"] - 40) + (data["income"] - 3)
    data["y"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return data


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A sqlite tracking store with model "credit": version 1 pickled (cloudpickle), version 2
    in skops, alias "champion" -> 2; the run ids of both."""
    from mlflow import MlflowClient
    from sklearn.linear_model import LogisticRegression

    root = tmp_path_factory.mktemp("mlflow")
    previous = mlflow.get_tracking_uri()
    uri = f"sqlite:///{root}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # Artifacts under tmp too (a sqlite store's default artifact root is ./mlruns).
    artifacts = (root / "artifacts").as_uri()
    mlflow.set_experiment(
        experiment_id=mlflow.create_experiment("rulecheck-tests", artifact_location=artifacts)
    )
    data = frame()
    estimator = LogisticRegression().fit(data[FEATURES], data["y"])
    runs = {}
    for fmt in ("cloudpickle", "skops"):
        with mlflow.start_run() as run:
            mlflow.sklearn.log_model(
                estimator,
                name="model",
                registered_model_name="credit",
                serialization_format=fmt,
                pip_requirements=[],  # no environment inference: seconds saved
            )
            runs[fmt] = run.info.run_id
    MlflowClient().set_registered_model_alias("credit", "champion", "2")
    yield {"data": data, "estimator": estimator, "runs": runs}
    mlflow.set_tracking_uri(previous)


def values(report: rulecheck.Report) -> dict[str, float | None]:
    return {v.rule_id: v.value for v in report.verdicts}


def test_registered_model_gives_the_estimators_verdicts(store: dict[str, Any]) -> None:
    data = store["data"]
    direct = rulecheck.evaluate(POLICY, data=data, model=store["estimator"], features=FEATURES)
    assert all(v.status is not Status.ERROR for v in direct.verdicts), direct.errors
    report = rulecheck.evaluate(
        POLICY, data=data, model="models:/credit/1", features=FEATURES, trust_model=True
    )
    assert values(report) == values(direct)
    assert report.model["source"] == "mlflow"
    assert report.model["uri"] == "models:/credit/1"
    assert report.model["flavour"] == "sklearn"
    assert report.model["serialization"] == "cloudpickle"
    assert report.model["version"] == "1"
    assert report.model["run_id"] == store["runs"]["cloudpickle"]
    assert report.model["type"] == "LogisticRegression"  # the real estimator, not a pyfunc


def test_pickled_flavour_needs_trust(store: dict[str, Any]) -> None:
    report = rulecheck.evaluate(
        POLICY, data=store["data"], model="models:/credit/1", features=FEATURES
    )
    assert report.exit_code() == ExitCode.USAGE_ERROR  # exit 2
    assert {v.status for v in report.verdicts} == {Status.ERROR}
    assert "sklearn flavour" in report.errors[0]
    assert "cloudpickle" in report.errors[0]
    assert "--trust-model" in report.errors[0]
    with pytest.raises(UntrustedModelError, match="sklearn flavour saved with cloudpickle"):
        load_model("models:/credit/1")


def test_skops_flavour_by_alias_needs_no_trust(store: dict[str, Any]) -> None:
    data = store["data"]
    report = rulecheck.evaluate(
        POLICY, data=data, model="models:/credit@champion", features=FEATURES
    )
    direct = rulecheck.evaluate(POLICY, data=data, model=store["estimator"], features=FEATURES)
    assert values(report) == values(direct)
    assert (report.model["serialization"], report.model["version"]) == ("skops", "2")
    assert report.model["run_id"] == store["runs"]["skops"]


def test_runs_uri(store: dict[str, Any]) -> None:
    run_id = store["runs"]["cloudpickle"]
    uri = f"runs:/{run_id}/model"
    report = rulecheck.evaluate(
        POLICY, data=store["data"], model=uri, features=FEATURES, trust_model=True
    )
    direct = rulecheck.evaluate(
        POLICY, data=store["data"], model=store["estimator"], features=FEATURES
    )
    assert values(report) == values(direct)
    assert (report.model["uri"], report.model["run_id"]) == (uri, run_id)


def test_policy_target_model_uri_is_not_a_path(store: dict[str, Any], tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        POLICY.replace("target: {label: y}", "target: {label: y, model: 'models:/credit/2'}")
    )
    report = rulecheck.evaluate(policy, data=store["data"], features=FEATURES)
    assert report.model["uri"] == "models:/credit/2", report.errors


def test_log_report(store: dict[str, Any]) -> None:
    from mlflow import MlflowClient

    report = rulecheck.evaluate(
        POLICY, data=store["data"], model=store["estimator"], features=FEATURES
    )
    with mlflow.start_run() as run:
        assert log_report(report) == run.info.run_id
    client = MlflowClient()
    listed = {a.path for a in client.list_artifacts(run.info.run_id, "rulecheck")}
    assert "rulecheck/report.json" in listed
    assert "rulecheck/report.html" in listed  # matplotlib is in the dev extra
    saved = client.download_artifacts(run.info.run_id, "rulecheck/report.json")
    assert json.loads(Path(saved).read_text())["policy"]["name"] == "mlflow-demo"
    logged = client.get_run(run.info.run_id).data
    for verdict in report.verdicts:
        assert verdict.value is not None
        key = metric_key("rulecheck", verdict.rule_id, "value")
        assert logged.metrics[key] == verdict.value
    assert "rulecheck.écart-fpr.sexe.value" in logged.metrics  # any script's letters
    assert logged.tags["rulecheck.passed"] == str(report.passed).lower()
    assert logged.tags["rulecheck.exit_code"] == str(int(report.exit_code()))
    assert logged.tags["rulecheck.dp-sex.status"] == "pass"


def test_log_report_to_a_given_run_without_html(store: dict[str, Any]) -> None:
    from mlflow import MlflowClient

    report = rulecheck.evaluate(
        POLICY, data=store["data"], model=store["estimator"], features=FEATURES
    )
    run_id = store["runs"]["skops"]
    assert log_report(report, run_id=run_id, html=False, prefix="audit:v2") == run_id
    client = MlflowClient()
    listed = {a.path for a in client.list_artifacts(run_id, "audit_v2")}
    assert listed == {"audit_v2/report.json"}  # ":" is not allowed in keys (on Windows)
    assert "audit_v2.auc.value" in client.get_run(run_id).data.metrics


def test_cli_model_uri(
    store: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rulecheck import cli

    data = tmp_path / "data.csv"
    store["data"].to_csv(data, index=False)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    argv = ["check", str(policy), "--data", str(data), "--model", "models:/credit/1"]
    assert cli.main([*argv, "--format", "text"]) == 2
    err = capsys.readouterr().err
    assert "uses the sklearn flavour saved with cloudpickle" in err
    assert "--trust-model" in err
    assert cli.main([*argv, "--trust-model", "-o", str(tmp_path / "r.json")]) == 0
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["model"]["uri"] == "models:/credit/1"
    assert saved["model"]["flavour"] == "sklearn"


def test_lightgbm_and_xgboost_flavours_load_natively(store: dict[str, Any]) -> None:
    """skops (LGBMClassifier), a native Booster and XGBoost's native file: no trust needed, and
    the real tree model reaches the adapter (TreeSHAP)."""
    lightgbm = pytest.importorskip("lightgbm")
    xgboost = pytest.importorskip("xgboost")
    import mlflow.lightgbm
    import mlflow.xgboost

    data = store["data"]
    X, y = data[FEATURES], data["y"]
    with mlflow.start_run():
        logged = {
            "LGBMClassifier": mlflow.lightgbm.log_model(
                lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y),
                name="lgbm",
                pip_requirements=[],
            ),
            "Booster": mlflow.lightgbm.log_model(
                lightgbm.train({"objective": "binary", "verbose": -1}, lightgbm.Dataset(X, y), 5),
                name="booster",
                pip_requirements=[],
            ),
            "XGBClassifier": mlflow.xgboost.log_model(
                xgboost.XGBClassifier(n_estimators=5).fit(X, y),
                name="xgb",
                pip_requirements=[],
            ),
        }
    for type_name, info in logged.items():
        loaded = load_model(info.model_uri)  # no trust: nothing is unpickled
        assert loaded.adapter.name == type_name
        assert loaded.adapter.explainable().family == "tree"
        assert loaded.details["flavour"] in ("lightgbm", "xgboost")
        proba = loaded.adapter.predict_proba(X)
        assert proba.shape == (len(X), 2)


class _Scores(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """A python_function-only model: the positive class's probability from 'age'."""

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        return 1 / (1 + np.exp(-(model_input["age"].to_numpy() - 40) / 10))


def test_python_function_flavour_needs_trust_and_predicts(store: dict[str, Any]) -> None:
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="scores", python_model=_Scores(), pip_requirements=[])
    with pytest.raises(UntrustedModelError, match="python_function flavour"):
        load_model(info.model_uri)
    loaded = load_model(info.model_uri, trust=True, output="probability")
    assert loaded.details["flavour"] == "python_function"
    X = store["data"][FEATURES]
    expected = 1 / (1 + np.exp(-(X["age"].to_numpy() - 40) / 10))
    np.testing.assert_allclose(loaded.adapter.predict_proba(X)[:, 1], expected)
