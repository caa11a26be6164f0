"""ONNX models (issue 19), with real models exported by skl2onnx and torch in temporary dirs.

Oracles: onnxruntime's own outputs on the same rows (metrics to 1e-9), the original scikit-learn
pipeline (decisions and probabilities), and the exact linear explainer on the original
LogisticRegression (shares within 4 standard errors of the model-agnostic explainer's sampling).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pandas as pd
import pytest
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import rulecheck
from rulecheck.cli import main
from rulecheck.engines._onnx import ONNXAdapter
from rulecheck.engines.attribution import _sample, explain
from rulecheck.engines.model import adapt, load_model
from rulecheck.errors import InputError, PolicyError
from rulecheck.verdict import Status

GERMAN = Path(__file__).parents[2] / "examples" / "german_credit" / "german_credit.csv"
CATEGORICAL = ["status", "credit_history", "purpose", "savings", "employment", "housing", "sex"]
NUMERIC = ["duration", "credit_amount", "installment_rate", "age", "existing_credits"]
COLUMNS = CATEGORICAL + NUMERIC
LINEAR = ["duration", "credit_amount", "installment_rate", "age"]
# Measured: the float32 ONNX pipeline decides 0 of the 1,000 German credit rows differently.
DIFFERING_DECISIONS = 0

POLICY = """\
version: 1
name: onnx
rules:
  - {id: tpr, kind: group_metric, metric: true_positive_rate, by: sex, max_difference: 1}
  - {id: dp, kind: demographic_parity, by: sex, max_difference: 1}
  - {id: auc, kind: performance, metric: roc_auc, min: 0.5}
"""


@pytest.fixture(scope="module")
def german() -> pd.DataFrame:
    return pd.read_csv(GERMAN)


@pytest.fixture(scope="module")
def pipeline(german: pd.DataFrame) -> Pipeline:
    encode = ColumnTransformer(
        [
            ("onehot", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ("scale", StandardScaler(), NUMERIC),
        ]
    )
    model = Pipeline([("encode", encode), ("lr", LogisticRegression(max_iter=1000))])
    return model.fit(german[COLUMNS], german["good_credit"])


def export_pipeline(model: Pipeline, path: Path, zipmap: bool = True) -> Path:
    types: list[tuple[str, Any]] = [(c, StringTensorType([None, 1])) for c in CATEGORICAL]
    types += [(c, Int64TensorType([None, 1])) for c in NUMERIC]
    options = None if zipmap else {id(model): {"zipmap": False}}
    graph = to_onnx(model, initial_types=types, target_opset=17, options=options)
    path.write_bytes(graph.SerializeToString())
    return path


@pytest.fixture(scope="module")
def onnx_files(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("onnx")
    return {
        "zipmap": export_pipeline(pipeline, root / "pipeline.onnx"),
        "tensor": export_pipeline(pipeline, root / "pipeline_tensor.onnx", zipmap=False),
    }


def session_probability(path: Path, data: pd.DataFrame) -> np.ndarray:
    """onnxruntime alone: positive-class probabilities of the no-ZipMap pipeline export."""
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed: dict[str, np.ndarray] = {}
    for c in CATEGORICAL:
        feed[c] = data[c].astype(str).to_numpy(dtype=object).reshape(-1, 1)
    for c in NUMERIC:
        feed[c] = data[c].to_numpy(dtype=np.int64).reshape(-1, 1)
    probabilities = session.run(["probabilities"], feed)[0]
    return np.asarray(probabilities[:, 1], dtype=np.float64)


# --- correctness against onnxruntime and the original model ------------------------------------


def test_metrics_equal_those_from_onnxruntime_outputs(
    german: pd.DataFrame, onnx_files: dict[str, Path]
) -> None:
    report = rulecheck.evaluate(
        POLICY, data=german, model=str(onnx_files["tensor"]), label="good_credit", features=COLUMNS
    )
    values = {v.rule_id: v.value for v in report.verdicts}
    p = session_probability(onnx_files["tensor"], german)
    decided = pd.Series(p >= 0.5)
    y = german["good_credit"] == 1
    tpr = decided[y].groupby(german["sex"][y]).mean()
    selection = decided.groupby(german["sex"]).mean()
    assert values["tpr"] == pytest.approx(tpr.max() - tpr.min(), abs=1e-9)
    assert values["dp"] == pytest.approx(selection.max() - selection.min(), abs=1e-9)
    assert values["auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-9)
    assert report.model["format"] == "onnx"
    assert report.model["output"] == "probabilities"
    assert "ONNX output 'probabilities' read as class probabilities" in str(report.model["notes"])


def test_pipeline_export_decides_as_the_original(
    german: pd.DataFrame, pipeline: Pipeline, onnx_files: dict[str, Path]
) -> None:
    adapter = load_model(onnx_files["zipmap"]).adapter
    X = german[COLUMNS]
    onnx_p = adapter.predict_proba(X)[:, 1]
    original_p = pipeline.predict_proba(X)[:, 1]
    differing = int(((onnx_p >= 0.5) != (original_p >= 0.5)).sum())
    assert differing == DIFFERING_DECISIONS, f"{differing} of {len(X)} rows differ"
    assert (adapter.predict(X) != pipeline.predict(X)).sum() == DIFFERING_DECISIONS
    assert np.abs(onnx_p - original_p).max() < 1e-5  # float32 arithmetic in onnxruntime


def test_zipmap_and_tensor_outputs_give_the_same_numbers(
    german: pd.DataFrame, onnx_files: dict[str, Path]
) -> None:
    values = []
    for name in ("zipmap", "tensor"):
        report = rulecheck.evaluate(
            POLICY, data=german, model=str(onnx_files[name]), label="good_credit", features=COLUMNS
        )
        values.append([v.value for v in report.verdicts])
    assert values[0] == values[1]
    zipmap = load_model(onnx_files["zipmap"])
    assert zipmap.details["output"] == "output_probability"
    assert zipmap.adapter.classes == (0, 1)


def test_named_inputs_that_match_no_column_list_expected_and_available(
    german: pd.DataFrame, onnx_files: dict[str, Path]
) -> None:
    adapter = load_model(onnx_files["tensor"]).adapter
    columns = [c for c in german.columns if c not in ("purpose", "age")]
    with pytest.raises(InputError) as error:
        adapter.input_columns(columns)
    message = str(error.value)
    assert "inputs ['purpose', 'age'] match no data column" in message
    assert "it expects inputs ['status', 'credit_history', 'purpose'" in message
    assert "'good_credit'" in message  # the available columns
    with pytest.raises(InputError, match="match no data column"):
        adapter.predict_proba(german[columns])


# --- output choice ---------------------------------------------------------------------------------


def test_model_output_names_the_output(german: pd.DataFrame, onnx_files: dict[str, Path]) -> None:
    labels = load_model(onnx_files["zipmap"], output="output_label")
    assert labels.details["output"] == "output_label"
    assert not labels.adapter.has_proba
    expected = load_model(onnx_files["zipmap"]).adapter.predict(german[COLUMNS])
    np.testing.assert_array_equal(labels.adapter.predict(german[COLUMNS]), expected)
    with pytest.raises(
        InputError, match=r"its outputs are \['output_label', 'output_probability'\]"
    ):
        load_model(onnx_files["zipmap"], output="scores")


def test_output_names_are_for_onnx_models_only(
    pipeline: Pipeline, onnx_files: dict[str, Path]
) -> None:
    with pytest.raises(InputError, match="naming an output works only for ONNX models"):
        adapt(pipeline, output="probabilities")
    policy = rulecheck.load_policy(
        "version: 1\nname: n\ntarget: {model_output: output_label}\nrules:\n"
        "  - {id: dp, kind: demographic_parity, by: sex, max_difference: 1}\n"
    )
    assert policy.target is not None
    assert policy.target.model_output == "output_label"
    with pytest.raises(PolicyError):
        rulecheck.load_policy(
            "version: 1\nname: n\ntarget: {model_output: ' '}\nrules:\n"
            "  - {id: dp, kind: demographic_parity, by: sex, max_difference: 1}\n"
        )


# --- a network with one tensor input -------------------------------------------------------------


@pytest.fixture(scope="module")
def networks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    torch = pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("net")
    torch.manual_seed(0)
    body = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    paths = {}
    for name, net, output in (
        ("sigmoid", torch.nn.Sequential(body, torch.nn.Sigmoid()), "score"),
        ("logits", body, "logits"),
    ):
        paths[name] = root / f"{name}.onnx"
        torch.onnx.export(
            net,
            torch.zeros(2, 3),
            str(paths[name]),
            input_names=["x"],
            output_names=[output],
            dynamic_axes={"x": {0: "n"}, output: {0: "n"}},
            dynamo=False,
        )
    return paths


def net_frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    data = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    data["sex"] = rng.choice(["f", "m"], n)
    data["y"] = (data["a"] + rng.normal(size=n) > 0).astype(int)
    return data


def test_one_tensor_input_is_fed_the_declared_features_in_order(networks: dict[str, Path]) -> None:
    data = net_frame()
    loaded = load_model(networks["sigmoid"])
    assert loaded.details["output"] == "score"
    assert loaded.adapter.classes == (0, 1)
    assert "written by a Sigmoid node" in loaded.adapter.notes[0]
    session = onnxruntime.InferenceSession(str(networks["sigmoid"]))
    order = ["c", "a", "b"]
    own = session.run(["score"], {"x": data[order].to_numpy(dtype=np.float32)})[0][:, 0]
    report = rulecheck.evaluate(
        "version: 1\nname: n\nrules:\n  - {id: auc, kind: performance, metric: roc_auc, min: 0}\n",
        data=data,
        model=str(networks["sigmoid"]),
        label="y",
        features=order,
    )
    assert report.verdicts[0].value == pytest.approx(roc_auc_score(data["y"], own), abs=1e-9)
    logits = load_model(networks["logits"]).adapter
    assert logits.has_margins
    assert "sigmoid applied" in logits.notes[0]
    np.testing.assert_allclose(
        logits.predict_proba(data[order])[:, 1],
        loaded.adapter.predict_proba(data[order])[:, 1],
        atol=1e-6,
    )


def test_feature_names_in_the_file_metadata_order_the_columns(
    networks: dict[str, Path], tmp_path: Path
) -> None:
    import onnx

    graph = onnx.load(str(networks["sigmoid"]))
    onnx.helper.set_model_props(graph, {"feature_names": '["c", "a", "b"]'})
    path = tmp_path / "named.onnx"
    onnx.save(graph, str(path))
    adapter = load_model(path).adapter
    assert adapter.feature_names == ("c", "a", "b")
    data = net_frame()
    assert adapter.input_columns(list(data.columns)) == ("c", "a", "b")
    np.testing.assert_array_equal(
        adapter.predict_proba(data),  # extra columns are left out, the rest reordered
        load_model(networks["sigmoid"]).adapter.predict_proba(data[["c", "a", "b"]]),
    )


def test_a_wrong_feature_count_is_a_clear_error(networks: dict[str, Path]) -> None:
    adapter = load_model(networks["sigmoid"]).adapter
    with pytest.raises(InputError, match=r"input 'x' takes 3 features per row; got 2 columns"):
        adapter.predict_proba(net_frame()[["a", "b"]])
    with pytest.raises(InputError, match="cannot feed column 'sex'"):
        adapter.predict_proba(net_frame()[["a", "b", "sex"]])


def test_the_adapter_pickles(german: pd.DataFrame, onnx_files: dict[str, Path]) -> None:
    adapter = load_model(onnx_files["zipmap"]).adapter
    copy = pickle.loads(pickle.dumps(adapter))
    assert isinstance(copy, ONNXAdapter)
    assert copy.notes == adapter.notes
    np.testing.assert_array_equal(
        copy.predict_proba(german[COLUMNS]), adapter.predict_proba(german[COLUMNS])
    )


# --- files onnxruntime cannot load --------------------------------------------------------------


def custom_op_model(path: Path) -> Path:
    from onnx import TensorProto, helper

    node = helper.make_node("Mystery", ["x"], ["y"], domain="com.example.custom")
    graph = helper.make_graph(
        [node],
        "custom",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.example.custom", 1)]
    path.write_bytes(helper.make_model(graph, opset_imports=opsets).SerializeToString())
    return path


@pytest.mark.parametrize("kind", ["corrupt", "custom_op"])
def test_files_onnxruntime_cannot_load_are_input_errors(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "model.onnx"
    if kind == "corrupt":
        path.write_bytes(b"\x08\x07 this is not a protobuf")
    else:
        custom_op_model(path)
    with pytest.raises(InputError, match=f"cannot load ONNX model '{path}': onnxruntime says: "):
        load_model(path)
    net_frame().to_csv(tmp_path / "data.csv", index=False)
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nname: n\ntarget: {data: data.csv, model: model.onnx, label: y}\nrules:\n"
        "  - {id: dp, kind: demographic_parity, by: sex, max_difference: 1}\n"
    )
    assert main(["check", str(policy)]) == 2
    captured = capsys.readouterr()
    assert "cannot load ONNX model" in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err


def test_missing_onnxruntime_says_how_to_install(
    tmp_path: Path, onnx_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(InputError, match=r"needs onnxruntime: pip install 'rulecheck\[onnx\]'"):
        load_model(onnx_files["zipmap"])


def test_importing_rulecheck_imports_neither_onnx_nor_onnxruntime() -> None:
    code = (
        "import sys\nimport rulecheck, rulecheck.evaluation, rulecheck.engines.model\n"
        "loaded = sorted(m for m in ('onnx', 'onnxruntime') if m in sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


# --- attributions ----------------------------------------------------------------------------------


def sampled_linear_shares(X: np.ndarray, coef: np.ndarray, seed: int) -> np.ndarray:
    """What the model-agnostic explainer computes for a linear log-odds model with the seeded
    samples of rulecheck.engines.attribution.explain (200 rows, 100 background rows): exact
    Shapley values against an independent background are coef * (x - mean(background))."""
    row_seq, background_seq = np.random.SeedSequence(seed).spawn(2)
    rows = _sample(len(X), 200, np.random.default_rng(row_seq))
    background = _sample(len(X), 100, np.random.default_rng(background_seq))
    assert rows is not None
    assert background is not None
    mean_abs = np.abs((X[rows] - X[background].mean(axis=0)) * coef).mean(axis=0)
    return np.asarray(mean_abs / mean_abs.sum())


def test_logistic_regression_shares_match_the_exact_linear_explainer(
    german: pd.DataFrame, tmp_path: Path
) -> None:
    X = german[LINEAR].astype(np.float64)
    model = LogisticRegression(max_iter=1000).fit(X, german["good_credit"])
    path = tmp_path / "lr.onnx"
    graph = to_onnx(
        model,
        initial_types=[("x", FloatTensorType([None, len(LINEAR)]))],
        target_opset=17,
        options={id(model): {"zipmap": False}},
    )
    path.write_bytes(graph.SerializeToString())
    exact = explain(model, X).shares()  # linear SHAP, all rows, all rows as background
    onnx = explain(load_model(path).adapter, X, output="log_odds", seed=0)
    assert onnx.explainer == "exact"
    assert onnx.rows == 200
    assert onnx.background_rows == 100
    # The sampling error of the model-agnostic explainer (row and background samples), from
    # the same sampling scheme over 300 seeds.
    coef = model.coef_[0]
    matrix = X.to_numpy()
    simulated = np.array([sampled_linear_shares(matrix, coef, s) for s in range(300)])
    standard_error = simulated.std(axis=0, ddof=1)
    # The explainer computes exactly that (up to float32 arithmetic in onnxruntime) ...
    np.testing.assert_allclose(onnx.shares(), simulated[0], atol=1e-5)
    # ... and agrees with the exact explainer within 4 standard errors.
    assert np.all(np.abs(onnx.shares() - exact) <= 4 * standard_error), (
        onnx.shares(),
        exact,
        standard_error,
    )


def test_loss_attribution_runs_on_an_onnx_model(networks: dict[str, Path]) -> None:
    report = rulecheck.evaluate(
        "version: 1\nname: n\nattribution: {background_size: 30}\nrules:\n"
        "  - {id: loss, kind: loss_attribution, by: sex, features: [a], max_share: 1,"
        " min_group_size: 1, max_rows: 40}\n"
        "  - {id: share, kind: attribution, features: [a], max_share: 1, max_rows: 40}\n",
        data=net_frame(),
        model=str(networks["sigmoid"]),
        label="y",
        features=["a", "b", "c"],
    )
    for verdict in report.verdicts:
        assert verdict.status is Status.PASS, verdict.message
        assert dict(verdict.info)["explainer"] in ("exact", "permutation")


def test_batches_equal_one_call(german: pd.DataFrame, onnx_files: dict[str, Path]) -> None:
    adapter = load_model(onnx_files["zipmap"]).adapter
    whole = adapter.predict_proba(german[COLUMNS])
    adapter.batch_rows = 128
    np.testing.assert_array_equal(adapter.predict_proba(german[COLUMNS]), whole)
