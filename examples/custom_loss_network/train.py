"""Train the same small network twice (log loss, focal loss) and export both to ONNX.

Run from the repository root (needs torch, skl2onnx and onnx; ``pip install torch==2.13.0``
installs a CPU build on these machines)::

    python examples/custom_loss_network/train.py

Both models are one ONNX graph each, from the raw Adult columns to the probability of an income
over 50K:

- a scikit-learn ``ColumnTransformer`` (``OneHotEncoder(handle_unknown="ignore")`` on the
  categorical columns, ``StandardScaler`` on the numeric ones), fitted once and converted with
  skl2onnx, with one graph input per column (strings as string tensors, numbers as float32);
- a PyTorch MLP, ``in -> 32 -> 16 -> 1`` with ReLU, followed by a Sigmoid, exported with
  ``torch.onnx.export(..., dynamo=False)``;
- joined with ``onnx.compose.merge_models``; the output is named ``probability``.

The two networks start from the same initial weights, see the same mini-batches in the same order
and differ only in the training loss:

- ``baseline.onnx``: binary cross-entropy (the log loss);
- ``candidate.onnx``: binary focal loss with ``gamma=2`` (``rulecheck_focal.focal`` in
  ``../custom_loss``; the torch version below is the same formula on logits).

Both are fitted on the 32,561 rows with ``split == "train"``; ``adult_test.csv.gz`` holds the
16,281 ``test`` rows, which the policy audits. Training is deterministic: fixed seeds, one thread
and ``torch.use_deterministic_algorithms(True)``.
"""

from __future__ import annotations

import gzip
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
import pandas as pd
import torch
from onnx import compose, version_converter
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "custom_loss"))  # rulecheck_focal, without installing it

from rulecheck_focal import focal  # noqa: E402

SOURCE = HERE.parent / "adult" / "adult.csv.gz"
AUDIT_DATA = HERE / "adult_test.csv.gz"
BASELINE = HERE / "baseline.onnx"
CANDIDATE = HERE / "candidate.onnx"

LABEL = "income_over_50k"
# Unlike ../custom_loss, sex and race are model inputs here: the policy's attribution rules then
# measure how much the network leans on sex directly and through its proxies.
CATEGORICAL = [
    "workclass",
    "education",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native_country",
]
NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
FEATURES = CATEGORICAL + NUMERIC
NOT_FEATURES = {"split", LABEL}

SEED = 0
GAMMA = 2.0
EPOCHS = 20
BATCH_SIZE = 256
LEARNING_RATE = 1e-3
WEIGHT_DECAY = 1e-4
# merge_models refuses graphs that import different versions of a domain. skl2onnx writes the
# lowest opset its operators need (11 here), so the preprocessor is converted up to the network's.
OPSET = 17
# The largest difference allowed between the merged graph and preprocessor + torch. Both run the
# network in float32; the preprocessing differs (float64 in scikit-learn, float32 in the graph).
EXPORT_TOLERANCE = 1e-5


def build_preprocess() -> ColumnTransformer:
    return ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ("numeric", StandardScaler(), NUMERIC),
        ],
        sparse_threshold=0.0,  # dense: the network takes dense tensors
    )


def build_network(n_inputs: int) -> nn.Sequential:
    """The MLP; its output is a logit (the Sigmoid is added for export only)."""
    torch.manual_seed(SEED)  # both models start from these weights
    return nn.Sequential(
        nn.Linear(n_inputs, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1)
    )


def bce_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.binary_cross_entropy_with_logits(logits, y)


def focal_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean binary focal loss ``-(1 - p_t)**gamma * log(p_t)``, computed from logits.

    With ``s = +1`` for label 1 and ``-1`` for label 0, ``p_t = sigmoid(s * z)``; ``logsigmoid``
    keeps ``log(p_t)`` finite for large margins, and ``sigmoid(-s * z)`` is ``1 - p_t`` without
    cancellation. The same per-row formula as ``rulecheck_focal.focal``, which the audit uses.
    """
    sign = 2 * y - 1
    margin = sign * logits
    return (-(torch.sigmoid(-margin) ** GAMMA) * nn.functional.logsigmoid(margin)).mean()


def train(
    X: npt.NDArray[np.float32],
    y: npt.NDArray[np.float32],
    loss_fn: object,
    epochs: int = EPOCHS,
) -> nn.Sequential:
    net = build_network(X.shape[1])
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y).reshape(-1, 1)
    order = torch.Generator().manual_seed(SEED)  # the same batches for both losses
    for _ in range(epochs):
        for batch in torch.randperm(len(X_t), generator=order).split(BATCH_SIZE):
            optimizer.zero_grad()
            loss = loss_fn(net(X_t[batch]), y_t[batch])  # type: ignore[operator]
            loss.backward()
            optimizer.step()
    return net.eval()


def preprocess_to_onnx(preprocess: ColumnTransformer) -> onnx.ModelProto:
    """The fitted ColumnTransformer as a graph with one input per raw column."""
    initial_types = [(c, StringTensorType([None, 1])) for c in CATEGORICAL] + [
        (c, FloatTensorType([None, 1])) for c in NUMERIC
    ]
    graph = convert_sklearn(preprocess, initial_types=initial_types, target_opset=OPSET)
    return version_converter.convert_version(graph, OPSET)


def network_to_onnx(net: nn.Sequential, n_inputs: int, path: Path) -> onnx.ModelProto:
    scored = nn.Sequential(net, nn.Sigmoid()).eval()
    with warnings.catch_warnings():
        # The TorchScript exporter is chosen on purpose (dynamo=False): it writes one plain
        # Gemm/Relu/Sigmoid graph at the requested opset; torch warns that it is legacy.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            scored,
            (torch.zeros(1, n_inputs),),
            str(path),
            input_names=["features"],
            output_names=["probability"],
            dynamic_axes={"features": {0: "rows"}, "probability": {0: "rows"}},
            opset_version=OPSET,
            dynamo=False,
        )
    return onnx.load(str(path))


def merge(pre: onnx.ModelProto, net: onnx.ModelProto) -> onnx.ModelProto:
    """One graph: raw columns -> preprocessing -> network -> ``probability``."""
    # Prefix the network's names so that they cannot collide with skl2onnx's; keep the output
    # name, which the policy refers to (target.model_output).
    net = compose.add_prefix(net, "net_", rename_outputs=False)
    ir_version = min(pre.ir_version, net.ir_version)
    pre.ir_version = net.ir_version = ir_version
    (features,) = pre.graph.output
    merged = compose.merge_models(
        pre,
        net,
        io_map=[(features.name, "net_features")],
        outputs=["probability"],
        producer_name="examples/custom_loss_network/train.py",
    )
    # skl2onnx names its graph with a random uuid, which merge_models copies into the name and
    # the doc string: fixed ones keep the file's bytes the same from one run to the next.
    merged.graph.name = "adult_income_mlp"
    merged.graph.doc_string = "raw Adult columns -> ColumnTransformer -> MLP -> probability"
    # The order of skl2onnx's opset imports varies between runs (and merge_models repeats the
    # default domain): one import per domain, sorted.
    imports = {opset.domain: opset.version for opset in merged.opset_import}
    del merged.opset_import[:]
    merged.opset_import.extend(onnx.helper.make_opsetid(d, v) for d, v in sorted(imports.items()))
    onnx.checker.check_model(merged, full_check=True)
    return merged


def onnx_inputs(frame: pd.DataFrame) -> dict[str, npt.NDArray[np.generic]]:
    """One (rows, 1) array per graph input, as rulecheck's ONNX adapter feeds them."""
    feed: dict[str, npt.NDArray[np.generic]] = {}
    for c in CATEGORICAL:
        feed[c] = frame[c].to_numpy(dtype=object).reshape(-1, 1)
    for c in NUMERIC:
        feed[c] = frame[c].to_numpy(dtype=np.float32).reshape(-1, 1)
    return feed


def export(
    preprocess: ColumnTransformer, net: nn.Sequential, path: Path, test: pd.DataFrame
) -> npt.NDArray[np.float32]:
    """Write ``path`` and check it against preprocessor + torch on the test rows."""
    n_inputs = len(preprocess.get_feature_names_out())
    tmp = path.with_suffix(".net.onnx")
    try:
        net_graph = network_to_onnx(net, n_inputs, tmp)
    finally:
        tmp.unlink(missing_ok=True)
    merged = merge(preprocess_to_onnx(preprocess), net_graph)
    onnx.save(merged, str(path))

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (from_onnx,) = session.run(["probability"], onnx_inputs(test))
    X = preprocess.transform(test[FEATURES]).astype(np.float32)
    with torch.no_grad():
        from_torch = torch.sigmoid(net(torch.from_numpy(X))).numpy()
    diff = float(np.abs(from_onnx - from_torch).max())
    print(f"  {path.name}: max |merged ONNX - (scikit-learn + torch)| = {diff:.2e}")
    if diff >= EXPORT_TOLERANCE:
        raise SystemExit(f"{path.name}: the export differs by {diff:.2e} >= {EXPORT_TOLERANCE}")
    return from_onnx.ravel()


def main(epochs: int = EPOCHS, out: Path = HERE) -> None:
    started = time.perf_counter()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    df = pd.read_csv(SOURCE)
    unused = set(df.columns) - set(FEATURES) - NOT_FEATURES
    if unused:
        raise SystemExit(f"columns neither used nor excluded: {sorted(unused)}")
    train_rows = df[df["split"] == "train"]
    test = df[df["split"] == "test"].reset_index(drop=True)

    preprocess = build_preprocess().fit(train_rows[FEATURES])
    X = preprocess.transform(train_rows[FEATURES]).astype(np.float32)
    y = train_rows[LABEL].to_numpy(dtype=np.float32)
    print(f"torch {torch.__version__}, {X.shape[1]} network inputs, {epochs} epochs")
    y_test = test[LABEL].to_numpy()
    for name, loss_fn in (("baseline", bce_loss), ("candidate", focal_loss)):
        net = train(X, y, loss_fn, epochs)
        path = out / f"{name}.onnx"
        p = export(preprocess, net, path, test).astype(np.float64)
        print(
            f"  {path.name}: {path.stat().st_size / 1024:.0f} KiB; test rows: "
            f"roc_auc {roc_auc_score(y_test, p):.4f}, log_loss {log_loss(y_test, p):.4f}, "
            f"focal {focal(y_test, p, gamma=GAMMA).mean():.4f}"
        )
    # mtime=0 and no file name in the gzip header: the bytes depend only on the rows (the same
    # bytes as ../custom_loss/adult_test.csv.gz, so git stores them once).
    csv = test.to_csv(index=False, lineterminator="\n").encode("utf-8")
    (out / AUDIT_DATA.name).write_bytes(gzip.compress(csv, compresslevel=9, mtime=0))
    print(f"  {AUDIT_DATA.name}: {len(test)} rows; {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
