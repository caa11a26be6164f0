"""What kind of model is being explained, which output, and which explainer can do it exactly.

No shap here: this module only inspects fitted models and adapters (part of the model layer,
with ``model.py`` and ``_adapters.py``). ``rulecheck.engines.attribution`` runs the
explainers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from rulecheck._settings import ExplainerName, OutputName
from rulecheck.errors import InputError

if TYPE_CHECKING:
    from rulecheck.engines.model import Explainable, ModelAdapter

__all__ = [
    "PERMUTATION_EVALS",
    "ExplainerName",
    "FastPath",
    "Output",
    "OutputName",
    "Target",
    "fast_path",
    "linear_kind",
    "model_columns",
    "resolve",
    "split_pipeline",
    "target_of",
    "top_module",
    "tree_kind",
]

Output = Literal["log_odds", "probability", "raw"]

# Model-agnostic "auto": exact Shapley values while they cost no more model calls than this.
PERMUTATION_EVALS = 500

_NO_FAST_PATH = (
    "explainer={explainer!r} does not support {model}; use explainer='auto' or 'permutation'"
)
_OUTPUT_UNAVAILABLE = (
    "explainer={explainer!r} cannot compute output={output!r} exactly for {model} "
    "(it can: {available}); use explainer='permutation' for that output"
)


def model_columns(model: ModelAdapter, frame: pd.DataFrame) -> list[Any]:
    """The columns of ``frame`` the model reads, in the model's order."""
    names, missing = model.match_columns([str(c) for c in frame.columns])
    if missing:
        raise InputError(
            f"the model was fitted on columns missing from the data: {missing}", subject="X"
        )
    if names is not None:
        return list(names)
    expected = model.n_features
    if expected is not None and expected != frame.shape[1]:
        raise InputError(
            f"the model was fitted without column names on {expected} columns, so the data "
            f"must have exactly those columns in that order; it has {frame.shape[1]}",
            subject="X",
        )
    return list(frame.columns)


@dataclass(frozen=True, slots=True)
class Target:
    """Which output is explained: ``classes`` is None for regressors."""

    classes: tuple[object, ...] | None
    index: int

    @property
    def binary(self) -> bool:
        return self.classes is not None and len(self.classes) == 2


def target_of(model: ModelAdapter, positive_class: object | None) -> Target:
    """The explained class: ``positive_class``, or the second class of a binary model.

    Uses the adapter's classes and :meth:`ModelAdapter.class_index`, so metrics and attributions
    agree on which class a policy's ``positive_label`` names.
    """
    classes = model.classes
    if classes is None:
        if positive_class is not None:
            raise InputError(
                "positive_class is set but the model is not a classifier", subject="positive_class"
            )
        return Target(classes=None, index=0)
    if positive_class is None and len(classes) != 2:
        raise InputError(
            f"positive_class is required for a model with {len(classes)} classes: {list(classes)}",
            subject="positive_class",
        )
    if positive_class is None:
        return Target(classes=classes, index=1)
    try:
        index = model.class_index(positive_class)
    except InputError as error:
        raise InputError(
            f"positive_class {positive_class!r} is not one of the model's classes {list(classes)}",
            subject="positive_class",
        ) from error
    return Target(classes=classes, index=index)


# --- choosing the explainer ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FastPath:
    """An exact model-specific explainer and the outputs it computes exactly."""

    family: Literal["tree", "linear"]
    natural: Output
    outputs: frozenset[str]
    margin: bool  # explains a margin (log-odds or class score) rather than a probability


def split_pipeline(model: Any) -> tuple[list[tuple[str, Any]], Any]:
    """Preprocessing steps (name, transformer) and the final estimator; nested pipelines flatten."""
    from sklearn.pipeline import Pipeline

    steps: list[tuple[str, Any]] = []
    final = model
    while isinstance(final, Pipeline):
        steps.extend(
            (name, step)
            for name, step in final.steps[:-1]
            if step is not None and not (isinstance(step, str) and step == "passthrough")
        )
        final = final.steps[-1][1]
    return steps, final


def top_module(obj: object) -> str:
    """The top-level package an object's class comes from ("sklearn", "lightgbm", ...)."""
    return type(obj).__module__.split(".", 1)[0]


def fast_path(model: Explainable, target: Target) -> FastPath | None:
    """The exact tree or linear explainer for a model, or None if there is none."""
    if model.family is None:
        return None
    kind, logistic = model.family, model.logistic
    if target.classes is None:
        return FastPath(kind, "raw", frozenset({"raw"}), margin=False)
    if kind == "tree" and not logistic and model.probability_tree:
        return FastPath(kind, "probability", frozenset({"probability"}), margin=False)
    if logistic and target.binary:
        tree_probability = kind == "tree" and model.tree_probability
        outputs = {"log_odds", "raw"} | ({"probability"} if tree_probability else set())
        return FastPath(kind, "log_odds", frozenset(outputs), margin=True)
    return FastPath(kind, "raw", frozenset({"raw"}), margin=True)


def _is_probability_tree(est: Any) -> bool:
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.tree import BaseDecisionTree

    return isinstance(est, RandomForestClassifier | ExtraTreesClassifier | BaseDecisionTree)


def tree_kind(est: Any) -> tuple[Literal["tree"], bool, bool] | None:
    """("tree", margin is log-odds, leaves hold probabilities) for scikit-learn-API tree models
    (including the LightGBM and XGBoost wrappers), else None."""
    from sklearn import ensemble, tree

    plain_trees = (
        tree.BaseDecisionTree,
        ensemble.RandomForestClassifier,
        ensemble.RandomForestRegressor,
        ensemble.ExtraTreesClassifier,
        ensemble.ExtraTreesRegressor,
        ensemble.GradientBoostingRegressor,
    )
    if isinstance(est, plain_trees):
        return "tree", False, _is_probability_tree(est)
    if isinstance(est, ensemble.GradientBoostingClassifier):
        if len(est.classes_) > 2:  # shap's TreeExplainer supports binary GradientBoosting only
            return None
        return "tree", est.loss != "exponential", False
    if isinstance(
        est, ensemble.HistGradientBoostingClassifier | ensemble.HistGradientBoostingRegressor
    ):
        if getattr(est, "is_categorical_", None) is not None and np.any(est.is_categorical_):
            return None  # categorical splits are bitsets, which shap's tree parser ignores
        return "tree", True, False
    if top_module(est) == "lightgbm":
        import lightgbm

        if isinstance(est, lightgbm.LGBMModel):
            objective = str(est.objective_) if hasattr(est, "objective_") else ""
            return "tree", objective in {"binary", "multiclass", "softmax"}, False
    if top_module(est) == "xgboost":
        import xgboost

        if isinstance(est, xgboost.XGBModel) and getattr(est, "booster", None) != "gblinear":
            objective = str(est.get_xgb_params().get("objective", ""))
            logistic = objective in {"binary:logistic", "multi:softprob", "multi:softmax"}
            return "tree", logistic, False
    return None


_LINEAR_NAMES = (
    "LogisticRegression", "LogisticRegressionCV", "RidgeClassifier", "RidgeClassifierCV",
    "SGDClassifier", "Perceptron", "PassiveAggressiveClassifier", "LinearRegression", "Ridge",
    "RidgeCV", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV", "Lars", "LarsCV", "LassoLars",
    "LassoLarsCV", "LassoLarsIC", "OrthogonalMatchingPursuit", "OrthogonalMatchingPursuitCV",
    "BayesianRidge", "ARDRegression", "SGDRegressor", "PassiveAggressiveRegressor",
    "HuberRegressor", "QuantileRegressor", "TheilSenRegressor",
)  # fmt: skip


def linear_kind(est: Any) -> bool | None:
    """For linear models whose score is ``X @ coef + b``: whether it is the log-odds; else None."""
    from sklearn import linear_model, svm

    classes = [getattr(linear_model, name, None) for name in _LINEAR_NAMES]
    linear = tuple(c for c in [*classes, svm.LinearSVC, svm.LinearSVR] if c is not None)
    if not isinstance(est, linear):
        return None
    logistic = isinstance(est, linear_model.LogisticRegression | linear_model.LogisticRegressionCV)
    logistic |= isinstance(est, linear_model.SGDClassifier) and est.loss == "log_loss"
    return bool(logistic)


def _agnostic_outputs(model: ModelAdapter, target: Target) -> tuple[Output, frozenset[str]]:
    if target.classes is None:
        return "raw", frozenset({"raw"})
    outputs = set()
    if model.has_proba:
        outputs |= {"probability", "log_odds"}
    if model.has_margins:
        outputs.add("raw")
    return ("probability" if "probability" in outputs else "raw"), frozenset(outputs)


def resolve(
    explainer: ExplainerName,
    output: OutputName,
    fast: FastPath | None,
    model: ModelAdapter,
    target: Target,
    n_features: int,
) -> tuple[str, Output]:
    """The explainer that runs and the output it explains."""
    name = model.name
    if explainer in ("tree", "linear"):
        if fast is None or fast.family != explainer:
            raise InputError(_NO_FAST_PATH.format(explainer=explainer, model=name), subject="model")
        resolved = fast.natural if output == "auto" else output
        if resolved not in fast.outputs:
            raise InputError(
                _OUTPUT_UNAVAILABLE.format(
                    explainer=explainer, output=output, model=name, available=sorted(fast.outputs)
                ),
                subject="output",
            )
        return explainer, resolved
    if explainer == "auto" and fast is not None and (output == "auto" or output in fast.outputs):
        return fast.family, fast.natural if output == "auto" else output
    natural, outputs = _agnostic_outputs(model, target)
    resolved = natural if output == "auto" else output
    if resolved not in outputs:
        raise InputError(
            f"cannot explain output={resolved!r} of {name}: it needs "
            + ("predict" if target.classes is None else "predict_proba or decision_function")
            + f"; available outputs: {sorted(outputs)}",
            subject="output",
        )
    if explainer == "auto":
        explainer = "exact" if 2**n_features <= PERMUTATION_EVALS else "permutation"
    return explainer, resolved
