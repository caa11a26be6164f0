"""Train the bank-gate example's models and write its audit data.

Run from the repository root (needs lightgbm and xgboost: ``pip install -e ".[dev,xgboost]"``)::

    python examples/bank_gate/train.py

What a bank's ML team has, built from UCI Adult (``examples/adult/adult.csv.gz``):

- ``applicants.csv.gz``: the 16,281 ``test`` rows, exported the way a data warehouse does it:
  CSV, text categories, column names with spaces (``capital gain``, ``hours per week``) and the
  census weight ``fnlwgt`` as a column.
- ``candidate.txt``: a native LightGBM Booster trained on pandas ``category`` columns with a
  custom cost-sensitive objective (a missed high earner costs 3 times a false alarm). A custom
  objective makes LightGBM save ``objective=custom`` and predict margins, not probabilities.
- ``baseline.json``: a native XGBoost Booster trained on the same categories
  (``enable_categorical``) with the standard logistic objective.

Both models are trained on the 32,561 ``train`` rows; training is deterministic.
"""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
import xgboost as xgb

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "adult" / "adult.csv.gz"
LABEL = "income_over_50k"
RENAMED = {
    "capital_gain": "capital gain",
    "capital_loss": "capital loss",
    "hours_per_week": "hours per week",
}
CATEGORICAL = [
    "workclass",
    "education",
    "marital_status",
    "occupation",
    "relationship",
    "sex",
    "race",
]
NUMERIC = ["age", "education_num", "capital gain", "capital loss", "hours per week"]
FEATURES = CATEGORICAL + NUMERIC
MISS_COST = 3.0  # a missed high earner (false negative) costs 3 times a false alarm


def cost_sensitive_logloss(
    margin: npt.NDArray[np.float64], data: lgb.Dataset
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Gradient and hessian of a logistic loss whose positive rows weigh MISS_COST."""
    y = data.get_label()
    p = 1.0 / (1.0 + np.exp(-margin))
    cost = np.where(y == 1, MISS_COST, 1.0)
    return cost * (p - y), cost * p * (1.0 - p)


def load() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(SOURCE).rename(columns=RENAMED)
    train = frame[frame["split"] == "train"].drop(columns="split").reset_index(drop=True)
    test = frame[frame["split"] == "test"].drop(columns="split").reset_index(drop=True)
    return train, test


def as_categories(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[FEATURES].copy()
    for column in CATEGORICAL:
        out[column] = out[column].astype("category")
    return out


def main() -> None:
    train, test = load()
    X = as_categories(train)
    y = train[LABEL].to_numpy()

    params = {
        "objective": cost_sensitive_logloss,
        "learning_rate": 0.1,
        "num_leaves": 15,
        "min_data_in_leaf": 50,
        "seed": 0,
        "deterministic": True,
        "num_threads": 1,
        "verbose": -1,
    }
    candidate = lgb.train(params, lgb.Dataset(X, y, categorical_feature=CATEGORICAL), 150)
    candidate.save_model(HERE / "candidate.txt")

    baseline = xgb.train(
        {
            "objective": "binary:logistic",
            "max_depth": 4,
            "eta": 0.1,
            "seed": 0,
            "nthread": 1,
            "max_cat_to_onehot": 1,
        },
        xgb.DMatrix(X, y, enable_categorical=True),
        150,
    )
    baseline.save_model(HERE / "baseline.json")

    test.to_csv(HERE / "applicants.csv.gz", index=False)
    print(f"wrote candidate.txt, baseline.json and applicants.csv.gz ({len(test):,} rows)")


if __name__ == "__main__":
    main()
