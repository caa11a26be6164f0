"""Train the German credit example model and save it as ``model.skops``.

Run from the repository root::

    python examples/german_credit/train.py

The model is a scikit-learn Pipeline: one-hot encoded categoricals plus standardised
numerics, then a logistic regression. It predicts ``good_credit`` (1 = good credit risk,
the favourable outcome). The derived ``sex`` and ``age_group`` columns are deliberately left
out of the features, while ``personal_status_sex`` and ``age`` stay in: the model never sees
the audited attributes directly, yet it can still act on them through these inputs (for
``sex`` exactly so, because every ``personal_status_sex`` code names one sex).

Training is deterministic (lbfgs, no randomness). The model is fitted on all 1,000 rows,
so the policy audits the training data; this is an illustration of rulecheck, not a model
validation protocol.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import sklearn
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

HERE = Path(__file__).resolve().parent
DATA = HERE / "german_credit.csv"
MODEL = HERE / "model.skops"

LABEL = "good_credit"
CATEGORICAL = [
    "status",
    "credit_history",
    "purpose",
    "savings",
    "employment",
    "personal_status_sex",
    "other_debtors",
    "property",
    "other_installment_plans",
    "housing",
    "job",
    "telephone",
    "foreign_worker",
]
NUMERIC = [
    "duration",
    "credit_amount",
    "installment_rate",
    "residence_since",
    "age",
    "existing_credits",
    "people_liable",
]
# Not features: the derived audit attributes, and credit_risk, the label as a string.
EXCLUDED = ["sex", "age_group", "credit_risk"]


def build_model() -> Pipeline:
    preprocess = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ("numeric", StandardScaler(), NUMERIC),
        ]
    )
    return Pipeline([("preprocess", preprocess), ("classifier", LogisticRegression(max_iter=1000))])


def main() -> None:
    df = pd.read_csv(DATA)
    features = CATEGORICAL + NUMERIC
    unused = set(df.columns) - set(features) - {LABEL, *EXCLUDED}
    if unused:
        raise SystemExit(f"columns neither used nor excluded: {sorted(unused)}")
    model = build_model().fit(df[features], df[LABEL])
    # Deflate: the skops schema is verbose JSON and compresses about tenfold.
    sio.dump(model, MODEL, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    accuracy = (model.predict(df[features]) == df[LABEL]).mean()
    print(
        f"scikit-learn {sklearn.__version__}: wrote {MODEL.name}, training accuracy {accuracy:.4f}"
    )


if __name__ == "__main__":
    main()
