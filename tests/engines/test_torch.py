"""PyTorch modules and plain callables behind the model adapter (issue 19).

Oracles: metrics against the module's own outputs, DeepExplainer's additivity (exact up to
float32 rounding for a ReLU MLP), GradientExplainer's additivity within the Monte-Carlo bound of
expected gradients, and a one-Linear-layer module against the exact linear explainer on the same
coefficients.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

import rulecheck  # noqa: E402
from rulecheck.engines._adapters import CallableAdapter, TorchAdapter  # noqa: E402
from rulecheck.engines._network import GRADIENT_SAMPLES  # noqa: E402
from rulecheck.engines.attribution import explain  # noqa: E402
from rulecheck.engines.model import adapt, sigmoid  # noqa: E402
from rulecheck.errors import InputError  # noqa: E402
from rulecheck.verdict import Status  # noqa: E402

FEATURES = ["income", "age", "sex"]
POLICY = """
version: 1
name: torch
rules:
  - {id: dp-sex, kind: demographic_parity, by: sex, max_difference: 0.5}
  - {id: tpr-sex, kind: group_metric, metric: true_positive_rate, by: sex, max_difference: 0.5}
  - {id: loss-sex, kind: loss_disparity, loss: log_loss, by: sex, max_difference: 0.5}
"""


def _data(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.normal(size=n),
            "age": rng.normal(size=n),
            "sex": rng.integers(0, 2, size=n).astype(np.float64),
        }
    )
    logit = 1.5 * frame["income"] - 0.8 * frame["age"] * frame["income"] + 0.7 * frame["sex"]
    frame["y"] = (logit + rng.normal(scale=0.7, size=n) > 0.3).astype(int)
    return frame


def _mlp(frame: pd.DataFrame, seed: int = 0) -> Any:
    """A small ReLU MLP with one logit output, trained in a fraction of a second."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1)
    )  # fmt: skip
    x = torch.tensor(frame[FEATURES].to_numpy(np.float32))
    y = torch.tensor(frame["y"].to_numpy(np.float32)).unsqueeze(1)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(150):
        optimizer.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(net(x), y).backward()
        optimizer.step()
    return net


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _data()


@pytest.fixture(scope="module")
def net(frame: pd.DataFrame) -> Any:
    return _mlp(frame)


def _logits(net: Any, frame: pd.DataFrame) -> np.ndarray:
    with torch.no_grad():
        out = net(torch.tensor(frame[FEATURES].to_numpy(np.float32)))
    return out.numpy().astype(np.float64)[:, 0]


def standardize(frame: pd.DataFrame) -> np.ndarray:
    """A column-by-column preprocess (picklable: defined at module level)."""
    return ((frame - frame.mean()) / frame.std()).to_numpy(np.float32)


def mixing(frame: pd.DataFrame) -> np.ndarray:
    """A preprocess whose first column mixes two inputs."""
    x = frame.to_numpy(np.float32)
    return np.column_stack([x[:, 0] + x[:, 1], x[:, 1], x[:, 2]])


# --- metrics equal the module's own outputs ----------------------------------------------------


def _expected_values(frame: pd.DataFrame, p: np.ndarray) -> dict[str, float]:
    y, decided, sex = frame["y"].to_numpy(), p >= 0.5, frame["sex"].to_numpy()
    loss = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    rates = [decided[sex == s].mean() for s in (0.0, 1.0)]
    tprs = [decided[(sex == s) & (y == 1)].mean() for s in (0.0, 1.0)]
    losses = [loss[sex == s].mean() for s in (0.0, 1.0)]
    return {
        "dp-sex": abs(rates[0] - rates[1]),
        "tpr-sex": abs(tprs[0] - tprs[1]),
        "loss-sex": abs(losses[0] - losses[1]),
    }


def test_metrics_equal_those_of_the_module_outputs(frame: pd.DataFrame, net: Any) -> None:
    report = rulecheck.evaluate(POLICY, data=frame, model=net, label="y", features=FEATURES)
    expected = _expected_values(frame, sigmoid(_logits(net, frame)))
    for verdict in report.verdicts:
        assert verdict.status is Status.PASS, verdict.message
        assert verdict.value == pytest.approx(expected[verdict.rule_id], abs=1e-9)
    assert report.model["type"] == "Sequential"
    assert "sigmoid applied" in str(report.model["notes"])


def test_small_batches_give_identical_results(frame: pd.DataFrame, net: Any) -> None:
    whole = rulecheck.evaluate(POLICY, data=frame, model=net, label="y", features=FEATURES)
    adapter = TorchAdapter(net, "auto")
    adapter.batch_rows = 7
    batched = rulecheck.evaluate(POLICY, data=frame, model=adapter, label="y", features=FEATURES)
    values = {v.rule_id: v.value for v in whole.verdicts}
    # Decisions, hence count metrics, are identical. float32 matrix products round differently
    # by batch shape (the kernel's blocking), so the log loss agrees to float32 precision only.
    for verdict in batched.verdicts:
        if verdict.rule_id == "loss-sex":
            assert verdict.value == pytest.approx(values["loss-sex"], rel=1e-6)
        else:
            assert verdict.value == values[verdict.rule_id]
    X = frame[FEATURES]
    one = TorchAdapter(net, "auto").predict_proba(X)
    # float32 matrix products may round differently by batch size: the last bits at most.
    np.testing.assert_allclose(adapter.predict_proba(X), one, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(adapter.predict(X), TorchAdapter(net, "auto").predict(X))


def test_training_mode_is_restored_and_eval_mode_is_used(frame: pd.DataFrame) -> None:
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(16, 1)
    )
    net.train()
    report = rulecheck.evaluate(POLICY, data=frame, model=net, label="y", features=FEATURES)
    assert net.training
    assert all(m.training for m in net.modules())
    net.eval()  # dropout off: the outputs rulecheck must have used
    expected = _expected_values(frame, sigmoid(_logits(net, frame)))
    for verdict in report.verdicts:
        assert verdict.value == pytest.approx(expected[verdict.rule_id], abs=1e-9)


# --- heads ---------------------------------------------------------------------------------------


def test_sigmoid_class_logits_and_declared_outputs(frame: pd.DataFrame) -> None:
    torch.manual_seed(2)
    X = frame[FEATURES]
    x = torch.tensor(X.to_numpy(np.float32))
    probability = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Sigmoid())
    adapter = adapt(probability)
    assert isinstance(adapter, TorchAdapter)
    assert adapter.head == "probability"
    assert "torch.nn.Sigmoid" in adapter.notes[0]
    with torch.no_grad():
        p = probability(x).numpy().astype(np.float64)[:, 0]
    np.testing.assert_allclose(adapter.predict_proba(X)[:, 1], p, rtol=0, atol=1e-12)

    logits = torch.nn.Linear(3, 2)
    two = adapt(logits)
    assert two.classes == (0, 1)
    with torch.no_grad():
        z = logits(x).numpy().astype(np.float64)
    np.testing.assert_allclose(two.margins(X), z[:, 1] - z[:, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(two.predict_proba(X).sum(axis=1), 1.0, rtol=0, atol=1e-12)

    declared = adapt(torch.nn.Linear(3, 1), output="probability")
    with pytest.raises(InputError, match="outside \\[0, 1\\]"):
        declared.predict_proba(X.assign(income=X["income"] * 1e3))


def test_a_module_that_fails_is_an_input_error(frame: pd.DataFrame) -> None:
    report = rulecheck.evaluate(
        POLICY, data=frame, model=torch.nn.Linear(5, 1), label="y", features=FEATURES
    )
    assert {v.status for v in report.verdicts} == {Status.ERROR}
    assert "PyTorch module Linear failed on the data (300 rows x 3 columns)" in (
        report.verdicts[0].message
    )


def test_preprocess_only_for_modules(frame: pd.DataFrame) -> None:
    def score(df: pd.DataFrame) -> np.ndarray:
        return np.full(len(df), 0.5)

    report = rulecheck.evaluate(
        POLICY, data=frame, model=score, label="y", features=FEATURES, preprocess=standardize
    )
    assert report.verdicts[0].status is Status.ERROR
    assert "preprocess= applies to PyTorch modules only" in report.verdicts[0].message


# --- attributions --------------------------------------------------------------------------------


def test_deep_explainer_is_additive(frame: pd.DataFrame, net: Any) -> None:
    """DeepLIFT's rescale rule is exact for Linear + ReLU: additivity up to float32 rounding."""
    result = explain(net, frame[FEATURES], explainer="deep", max_rows=40, seed=3)
    assert (result.explainer, result.output, result.rows, result.background_rows) == (
        "deep",
        "log_odds",
        40,
        100,
    )
    assert result.row_index is not None
    logits = _logits(net, frame)[result.row_index]
    np.testing.assert_allclose(
        result.values.sum(axis=1) + result.expected_value, logits, rtol=0, atol=1e-4
    )


def _expected_gradient_spread(net: Any, x: np.ndarray, data: np.ndarray, draws: int) -> np.ndarray:
    """Per row of ``x``: the standard deviation of one expected-gradients draw's sum,
    grad f(x' + t (x - x')) . (x - x') with x' a data row and t ~ U(0, 1), from ``draws`` draws.
    Its mean is f(x) - E[f(x')], so the shap estimate's error has sd spread / sqrt(samples)."""
    rng = np.random.default_rng(11)
    spreads = []
    for row in x:
        base = data[rng.integers(0, len(data), size=draws)]
        t = rng.uniform(size=(draws, 1))
        z = torch.tensor((base + t * (row - base)).astype(np.float32), requires_grad=True)
        net(z).sum().backward()
        sums = (z.grad.numpy().astype(np.float64) * (row - base)).sum(axis=1)
        spreads.append(sums.std())
    return np.asarray(spreads)


def test_gradient_explainer_is_additive_within_its_sampling_error(
    frame: pd.DataFrame, net: Any
) -> None:
    """Expected gradients estimate each row's attributions from GRADIENT_SAMPLES draws: their
    sum is f(x) - E[f(background)] only up to the Monte-Carlo error, whose sd per row is
    measured here with 2,000 draws; every row must be within 4 of those sds (measured: the
    worst of the 30 rows at 2.4 sds, the mean at 0.6)."""
    X = frame[FEATURES]
    result = explain(net, X, max_rows=30, seed=5)
    assert (result.explainer, result.output) == ("gradient", "log_odds")
    assert result.row_index is not None
    logits = _logits(net, frame)
    error = result.values.sum(axis=1) + result.expected_value - logits[result.row_index]
    data = X.to_numpy(np.float64)
    spread = _expected_gradient_spread(net, data[result.row_index], data, draws=2000)
    # The background is a 100-row sample and the spread comes from all rows: a small slack.
    bound = 4 * spread / np.sqrt(GRADIENT_SAMPLES) + 1e-6
    assert np.all(np.abs(error) <= bound), np.max(np.abs(error) / bound)
    # The same seed gives the same values.
    again = explain(net, X, max_rows=30, seed=5)
    np.testing.assert_array_equal(again.values, result.values)


def test_a_linear_module_matches_the_exact_linear_explainer(frame: pd.DataFrame) -> None:
    """One Linear layer, logit output: phi_j = w_j (x_j - mean of the background draws).

    The linear explainer's base is the mean over all rows; with every row as background,
    GradientExplainer's only error is the mean of its S = GRADIENT_SAMPLES draws per row, off
    the full mean by w_j sd_j / sqrt(S) in standard deviation, independently per row. mean |phi_j|
    over R rows moves by the rows' average signed error: sd |w_j| sd_j / sqrt(S R); the test
    allows 4 of those (measured: at most 0.45 of one).
    """
    from sklearn.linear_model import LogisticRegression

    X = frame[FEATURES]
    weights = np.array([1.2, -0.6, 0.4])
    layer = torch.nn.Linear(3, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(weights[None, :], dtype=torch.float32))
        layer.bias.fill_(-0.1)
    linear = LogisticRegression().fit(X, frame["y"])
    linear.coef_ = layer.weight.detach().numpy().astype(np.float64)
    linear.intercept_ = np.array([-0.1], dtype=np.float64)
    exact = explain(linear, X, max_rows=60, seed=1)
    assert exact.explainer == "linear"

    gradient = explain(layer, X, max_rows=60, seed=1, background_size=len(X))
    assert gradient.explainer == "gradient"
    np.testing.assert_array_equal(gradient.row_index, exact.row_index)
    sd = X.to_numpy().std(axis=0)
    tolerance = 4 * np.abs(weights) * sd / np.sqrt(GRADIENT_SAMPLES * gradient.rows)
    assert np.all(np.abs(gradient.mean_abs() - exact.mean_abs()) <= tolerance)
    # Shares: the shift of each mean |phi| plus the shift of their total, over the total.
    total = exact.mean_abs().sum()
    share_tolerance = (tolerance + exact.shares() * tolerance.sum()) / (total - tolerance.sum())
    assert np.all(np.abs(gradient.shares() - exact.shares()) <= share_tolerance)

    # DeepExplainer on a linear layer is the closed form itself, up to float32.
    deep = explain(layer, X, max_rows=60, seed=1, background_size=len(X), explainer="deep")
    np.testing.assert_allclose(deep.values, exact.values, rtol=0, atol=1e-5)


def test_preprocess_is_traced_to_columns_or_explained_on_raw_columns(
    frame: pd.DataFrame, net: Any
) -> None:
    X = frame[FEATURES]
    traced = explain(TorchAdapter(net, "auto", standardize), X, explainer="deep", max_rows=10)
    assert traced.explainer == "deep"
    assert traced.notes == ()
    mixed = explain(TorchAdapter(net, "auto", mixing), X, max_rows=5)
    assert mixed.explainer == "exact"  # 3 columns: exact Shapley values on the raw columns
    assert "mixes input columns" in mixed.notes[0]


def test_attribution_rule_reports_the_network_explainer(frame: pd.DataFrame, net: Any) -> None:
    policy = """
version: 1
name: torch-attribution
attribution: {explainer: deep, max_rows: 25, background_size: 50}
rules:
  - {id: share-sex, kind: attribution, features: [sex], max_share: 0.9}
"""
    report = rulecheck.evaluate(policy, data=frame, model=net, label="y", features=FEATURES)
    verdict = report.verdicts[0]
    assert verdict.status is Status.PASS, verdict.message
    info = dict(verdict.info)
    assert (info["explainer"], info["output"], info["rows"], info["background_rows"]) == (
        "deep",
        "log_odds",
        25,
        50,
    )


def test_the_network_explainers_need_a_module(frame: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="explains PyTorch modules only"):
        explain(lambda df: np.full(len(df), 0.5), frame[FEATURES], explainer="gradient")


LOSS_POLICY = """
version: 1
name: torch-loss
attribution: {max_rows: 8, background_size: 20}
rules:
  - {id: loss-drivers, kind: loss_attribution, loss: log_loss, by: sex, features: [sex], max_share: 0.99}
"""


def test_loss_attribution_of_a_module_and_a_callable(frame: pd.DataFrame, net: Any) -> None:
    def score(df: pd.DataFrame) -> np.ndarray:
        return np.asarray(sigmoid(1.5 * df["income"].to_numpy() + 0.5 * df["sex"].to_numpy()))

    for model in (net, score):
        report = rulecheck.evaluate(
            LOSS_POLICY, data=frame, model=model, label="y", features=FEATURES
        )
        verdict = report.verdicts[0]
        assert verdict.status is not Status.ERROR, verdict.message
        info = dict(verdict.info)
        assert (info["explainer"], info["output"], info["rows"]) == ("exact", "log_loss", 8)


# --- callables ------------------------------------------------------------------------------------


def test_a_callable_model_gives_the_same_metrics_as_its_scores(frame: pd.DataFrame) -> None:
    def logit(df: pd.DataFrame) -> np.ndarray:
        return np.asarray(1.5 * df["income"].to_numpy() + 0.7 * df["sex"].to_numpy() - 0.3)

    def probability(df: pd.DataFrame) -> np.ndarray:
        return np.asarray(sigmoid(logit(df)))

    expected = _expected_values(frame, sigmoid(logit(frame)))
    margin_policy = POLICY.replace("rules:", "target: {model_output: margin}\nrules:")
    for policy, model in ((POLICY, probability), (margin_policy, logit)):
        report = rulecheck.evaluate(policy, data=frame, model=model, label="y", features=FEATURES)
        for verdict in report.verdicts:
            assert verdict.value == pytest.approx(expected[verdict.rule_id], abs=1e-9)
        assert report.model["type"] == model.__qualname__


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (lambda n: np.full((n, 2), 0.5), r"returned shape \(300, 2\) for 300 rows"),
        (lambda n: np.full(n - 1, 0.5), r"returned shape \(299,\) for 300 rows"),
        (lambda n: np.where(np.arange(n) == 4, np.nan, 0.5), "non-finite scores .*first at row 4"),
        (lambda n: np.full(n, 2.0), r"outside \[0, 1\]"),
    ],
    ids=["two-columns", "short", "nan", "not-probability"],
)
def test_a_callable_returning_the_wrong_thing_is_an_error_verdict(
    frame: pd.DataFrame, returned: Any, message: str
) -> None:
    def scorer(df: pd.DataFrame) -> np.ndarray:
        return np.asarray(returned(len(df)))

    report = rulecheck.evaluate(POLICY, data=frame, model=scorer, label="y", features=FEATURES)
    verdict = report.verdicts[0]
    assert verdict.status is Status.ERROR
    assert (
        "model test_a_callable_returning_the_wrong_thing_is_an_error_verdict.<locals>.scorer"
        in (verdict.message)
    )
    with pytest.raises(InputError, match=message):
        CallableAdapter(scorer, "auto").predict_proba(frame[FEATURES])


# --- packaging -----------------------------------------------------------------------------------


def test_the_adapters_pickle(frame: pd.DataFrame, net: Any) -> None:
    X = frame[FEATURES]
    for adapter in (TorchAdapter(net, "auto"), TorchAdapter(net, "auto", standardize)):
        copy = pickle.loads(pickle.dumps(adapter))
        np.testing.assert_array_equal(copy.predict_proba(X), adapter.predict_proba(X))
        assert copy.notes == adapter.notes


def test_rulecheck_never_imports_torch_for_other_models() -> None:
    script = textwrap.dedent(
        """
        import sys
        import numpy as np, pandas as pd
        from sklearn.linear_model import LogisticRegression
        import rulecheck
        assert "torch" not in sys.modules, "import rulecheck imported torch"
        rng = np.random.default_rng(0)
        frame = pd.DataFrame({"a": rng.normal(size=80), "sex": [0.0, 1.0] * 40})
        frame["y"] = (frame["a"] > 0).astype(int)
        model = LogisticRegression().fit(frame[["a", "sex"]], frame["y"])
        report = rulecheck.evaluate(
            "version: 1\\nname: t\\nrules:\\n"
            "  - {id: dp, kind: demographic_parity, by: sex, max_difference: 0.5}\\n"
            "  - {id: share, kind: attribution, features: [sex], max_share: 0.9}\\n",
            data=frame, model=model, label="y", features=["a", "sex"],
        )
        assert all(v.status.value != "error" for v in report.verdicts), report.verdicts
        assert "torch" not in sys.modules, "evaluate imported torch"
        """
    )
    # The child imports this checkout's rulecheck, whatever is installed.
    env = {**os.environ, "PYTHONPATH": str(Path(rulecheck.__file__).resolve().parents[1])}
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300, env=env)
