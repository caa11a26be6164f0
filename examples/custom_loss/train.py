"""Train the baseline and the focal-loss candidate, and write the held-out audit data.

Run from the repository root::

    python examples/custom_loss/train.py

Both models are the same scikit-learn Pipeline: a ColumnTransformer (one-hot encoded
categoricals, standardized numerics) feeding a LogisticRegression with ``C=1.0``. They differ only
in the loss that fitted the logistic weights:

- ``baseline.skops``: ``LogisticRegression.fit``, the usual log loss;
- ``candidate.skops``: binary focal loss with ``gamma=2`` (``rulecheck_focal.focal``), minimized
  with scipy's L-BFGS-B on the same transformed matrix with the same L2 penalty. The weights are
  then put into a plain ``LogisticRegression`` (``coef_``, ``intercept_``, ``classes_``,
  ``n_features_in_``, ``n_iter_``), so the saved candidate is an ordinary pipeline: no custom
  class, and skops loads it without ``--trust-model``.

``sex`` and ``race`` are audited but are not inputs. Both models are fitted on the 32,561 rows
with ``split == "train"``; ``adult_test.csv.gz`` holds the 16,281 ``test`` rows, which the policy
audits. Everything is deterministic (no randomness; the same data gives the same weights).
"""

from __future__ import annotations

import copy
import gzip
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import sklearn
import skops.io as sio
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # rulecheck_focal, without installing it

from rulecheck_focal import focal  # noqa: E402

SOURCE = HERE.parent / "adult" / "adult.csv.gz"
AUDIT_DATA = HERE / "adult_test.csv.gz"
BASELINE = HERE / "baseline.skops"
CANDIDATE = HERE / "candidate.skops"

LABEL = "income_over_50k"
# sex and race are what the policy audits by, so they are not model inputs. relationship
# ("Husband", "Wife") and marital_status still carry much of sex: leaving a column out does not
# make a model blind to it, which is why the audit is needed at all.
CATEGORICAL = [
    "workclass",
    "education",
    "marital_status",
    "occupation",
    "relationship",
    "native_country",
]
NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
FEATURES = CATEGORICAL + NUMERIC
NOT_FEATURES = {"sex", "race", "split", LABEL}
C = 1.0  # inverse L2 strength, shared by both models
GAMMA = 2.0


def build_preprocess() -> ColumnTransformer:
    # The output is a sparse matrix (12 non-zeros in 101 columns per row): both fits run several
    # times faster on it than on a dense one.
    return ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ("numeric", StandardScaler(), NUMERIC),
        ],
        sparse_threshold=1.0,
    )


def focal_objective(
    params: npt.NDArray[np.float64],
    X: sparse.csr_matrix,
    y: npt.NDArray[np.int64],
    gamma: float,
    C: float,
) -> tuple[float, npt.NDArray[np.float64]]:
    """Mean focal loss plus scikit-learn's L2 penalty, and its analytic gradient.

    scikit-learn's LogisticRegression minimizes ``C * sum(loss) + ||w||**2 / 2``; divided by
    ``n`` that is ``mean(loss) + ||w||**2 / (2 * C * n)``, with the intercept unpenalized.
    With ``s = +1`` for label 1 and ``-1`` for label 0, ``z = X @ w + b`` and
    ``p_t = sigmoid(s * z)``, the derivative of ``-(1 - p_t)**gamma * log(p_t)`` in ``z`` is
    ``s * (1 - p_t)**gamma * (gamma * p_t * log(p_t) - (1 - p_t))``.
    """
    n = len(y)
    w, b = params[:-1], params[-1]
    sign = np.where(y == 1, 1.0, -1.0)
    margin = sign * (X @ w + b)
    log_p_t = log_expit(margin)  # log(p_t), stable for large |margin|
    p_t = np.exp(log_p_t)
    one_minus = expit(-margin)  # 1 - p_t without cancellation
    loss = -(one_minus**gamma) * log_p_t
    dz = sign * one_minus**gamma * (gamma * p_t * log_p_t - one_minus) / n
    value = loss.mean() + w @ w / (2 * C * n)
    grad = np.append(X.T @ dz + w / (C * n), dz.sum())
    return float(value), grad


def fit_focal(
    X: sparse.csr_matrix, y: npt.NDArray[np.int64], gamma: float, C: float
) -> LogisticRegression:
    """A LogisticRegression whose weights minimize the focal loss instead of the log loss."""
    start = np.zeros(X.shape[1] + 1)
    result = minimize(
        focal_objective,
        start,
        args=(X, y, gamma, C),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 5000, "gtol": 1e-8, "ftol": 1e-15},
    )
    if not result.success:
        raise SystemExit(f"focal fit did not converge: {result.message}")
    # The attributes LogisticRegression.fit sets (for 0/1 labels and array input), and nothing
    # else: the saved object looks like any fitted LogisticRegression, and predict_proba is the
    # usual sigmoid of X @ coef_.T + intercept_.
    model = LogisticRegression(C=C)
    model.coef_ = result.x[:-1].reshape(1, -1)
    model.intercept_ = result.x[-1:].copy()
    model.classes_ = np.array([0, 1])
    model.n_features_in_ = X.shape[1]
    model.n_iter_ = np.array([result.nit], dtype=np.int32)
    return model


def dump(model: Pipeline, path: Path) -> None:
    # Deflate: the skops schema is verbose JSON and compresses about tenfold.
    sio.dump(model, path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)


def main() -> None:
    started = time.perf_counter()
    df = pd.read_csv(SOURCE)
    unused = set(df.columns) - set(FEATURES) - NOT_FEATURES
    if unused:
        raise SystemExit(f"columns neither used nor excluded: {sorted(unused)}")
    train = df[df["split"] == "train"]
    test = df[df["split"] == "test"].reset_index(drop=True)

    preprocess = build_preprocess().fit(train[FEATURES])
    X = preprocess.transform(train[FEATURES])
    y = train[LABEL].to_numpy()
    baseline_clf = LogisticRegression(C=C, max_iter=5000, tol=1e-8).fit(X, y)
    candidate_clf = fit_focal(X, y, GAMMA, C)

    # The same fitted preprocessing in both; a copy each, so the files do not share objects.
    baseline = Pipeline([("preprocess", copy.deepcopy(preprocess)), ("classifier", baseline_clf)])
    candidate = Pipeline([("preprocess", copy.deepcopy(preprocess)), ("classifier", candidate_clf)])
    dump(baseline, BASELINE)
    dump(candidate, CANDIDATE)
    # mtime=0 and no file name in the gzip header: the bytes depend only on the rows.
    csv = test.to_csv(index=False, lineterminator="\n").encode("utf-8")
    AUDIT_DATA.write_bytes(gzip.compress(csv, compresslevel=9, mtime=0))

    print(f"scikit-learn {sklearn.__version__}, {time.perf_counter() - started:.1f} s")
    y_test = test[LABEL].to_numpy()
    for path, model in ((BASELINE, baseline), (CANDIDATE, candidate)):
        p = model.predict_proba(test[FEATURES])[:, 1]
        print(
            f"  {path.name}: {path.stat().st_size / 1024:.0f} KiB; test rows: "
            f"roc_auc {roc_auc_score(y_test, p):.4f}, log_loss {log_loss(y_test, p):.4f}, "
            f"focal {focal(y_test, p, gamma=GAMMA).mean():.4f}"
        )
    print(f"  {AUDIT_DATA.name}: {len(test)} rows, {AUDIT_DATA.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
