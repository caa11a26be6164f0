"""Models from an MLflow tracking server or model registry: ``models:/`` and ``runs:/`` URIs.

The model directory is downloaded once (``mlflow.artifacts.download_artifacts``) and its
``MLmodel`` file read before anything is deserialized, so the trust rules of model files apply:

- the ``sklearn`` and ``lightgbm`` flavours saved with skops (MLflow 3's default for
  scikit-learn) are loaded by rulecheck's own skops loader, which trusts scikit-learn, numpy,
  scipy, LightGBM and XGBoost types only; the allow-list in the ``MLmodel`` file is ignored (a
  crafted model could list any type there);
- a LightGBM Booster saved natively (``model.lgb``) and the ``xgboost`` flavour (native JSON/UBJ
  files, re-created from an ``xgboost.*`` class) need no trust;
- pickle and cloudpickle serialization, and the generic ``python_function`` flavour (which
  imports and runs code named by the model), load only with ``trust=True`` (``--trust-model``).

A native flavour hands the real estimator to the adapter, so TreeSHAP and the linear explainer
keep working. A model with only the ``python_function`` flavour is called through its
``predict`` (a regressor unless ``target.model_output: probability`` says its output is the
positive class's probability).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck.engines.model import (
    LoadedModel,
    ModelOutput,
    _load_skops,
    adapt,
)
from rulecheck.errors import InputError, UntrustedModelError
from rulecheck.verdict import Scalar

__all__ = ["load_mlflow_model"]

NOT_INSTALLED = (
    "model {uri!r} is an MLflow model URI, but mlflow is not installed "
    "(pip install 'rulecheck[mlflow]')"
)
UNTRUSTED_FLAVOUR = (
    "MLflow model {uri!r} uses the {flavour} flavour saved with {how}: loading it runs "
    "arbitrary code from the model. Re-run with --trust-model (API: trust_model=True) only if you "
    "trust its origin, or log the model with serialization_format='skops' (scikit-learn, "
    "LightGBM) or with the xgboost flavour."
)
NO_FLAVOUR = (
    "MLflow model {uri!r} has no flavour rulecheck can load (it has: {flavours}); "
    "rulecheck loads sklearn, lightgbm, xgboost and python_function models"
)
# Flavours in order of preference: the first native one found gives the real estimator.
NATIVE_FLAVOURS = ("sklearn", "lightgbm", "xgboost")
_REGISTERED = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>[^/]+)|@(?P<alias>[^/]+))/?$")
_RUN = re.compile(r"^runs:/(?P<run_id>[^/]+)(?:/(?P<path>.*))?$")


def load_mlflow_model(uri: str, *, trust: bool, output: ModelOutput) -> LoadedModel:
    """Load the MLflow model at ``uri`` (see the module docstring for flavours and trust)."""
    if importlib.util.find_spec("mlflow") is None:
        raise InputError(NOT_INSTALLED.format(uri=uri), subject="model")
    import mlflow
    from mlflow.exceptions import MlflowException

    details: dict[str, Scalar] = {"source": "mlflow", "uri": uri}
    try:
        details.update(_resolve(uri))
        with (
            tempfile.TemporaryDirectory(prefix="rulecheck-mlflow-") as tmp,
            _no_progress_bar(),
        ):
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp))
            meta = mlflow.models.Model.load(str(local))
            if meta.run_id and "run_id" not in details:
                details["run_id"] = str(meta.run_id)
            model_id = getattr(meta, "model_id", None)
            if model_id:
                details["model_id"] = str(model_id)
            digest = _digest(local)
            model, flavour, how = _load_flavour(uri, local, dict(meta.flavors), trust)
    except MlflowException as exc:
        raise InputError(
            f"cannot load MLflow model {uri!r}: {exc.message}", subject="model"
        ) from None
    details["flavour"] = flavour
    if how:
        details["serialization"] = how
    return LoadedModel(adapt(model, output=output), uri, digest, f"mlflow-{flavour}", details)


@contextmanager
def _no_progress_bar() -> Iterator[None]:
    """MLflow's download progress bar off (rulecheck draws its own), unless the user set
    ``MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR``."""
    name = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    if name in os.environ:
        yield
        return
    os.environ[name] = "false"
    try:
        yield
    finally:
        os.environ.pop(name, None)


def _resolve(uri: str) -> dict[str, Scalar]:
    """The registered model's name, version and run id, or a run URI's run id."""
    run = _RUN.match(uri)
    if run:
        return {"run_id": run["run_id"]}
    registered = _REGISTERED.match(uri)
    if not registered:
        return {}  # a logged model id (models:/m-...): the MLmodel file names its run
    from mlflow import MlflowClient

    client = MlflowClient()
    name = registered["name"]
    if registered["alias"]:
        found = client.get_model_version_by_alias(name, registered["alias"])
    elif registered["version"].isdigit():
        found = client.get_model_version(name, registered["version"])
    else:  # a stage ("Production") or "latest": the newest version in it
        stages = None if registered["version"].lower() == "latest" else [registered["version"]]
        versions = client.get_latest_versions(name, stages=stages)
        if not versions:
            return {"registered_model": name}
        found = max(versions, key=lambda v: int(v.version))
    out: dict[str, Scalar] = {"registered_model": name, "version": str(found.version)}
    if found.run_id:
        out["run_id"] = str(found.run_id)
    return out


def _load_flavour(
    uri: str, local: Path, flavours: dict[str, Any], trust: bool
) -> tuple[Any, str, str | None]:
    """(model object, flavour name, serialization) for the preferred flavour of ``local``."""
    for flavour in NATIVE_FLAVOURS:
        if flavour in flavours:
            conf = flavours[flavour] or {}
            if flavour == "xgboost":
                return _load_xgboost(uri, local, conf, trust), flavour, None
            model, how = _load_serialized(uri, local, flavour, conf, trust)
            return model, flavour, how
    if "python_function" in flavours:
        if not trust:
            raise UntrustedModelError(
                UNTRUSTED_FLAVOUR.format(
                    uri=uri, flavour="python_function", how="code it imports and runs"
                ),
                subject="model",
            )
        import mlflow.pyfunc

        return MlflowPyfuncModel(mlflow.pyfunc.load_model(str(local))), "python_function", None
    raise InputError(
        NO_FLAVOUR.format(uri=uri, flavours=", ".join(sorted(flavours)) or "none"),
        subject="model",
    )


def _load_serialized(
    uri: str, local: Path, flavour: str, conf: dict[str, Any], trust: bool
) -> tuple[Any, str]:
    """The sklearn and lightgbm flavours: skops, a native LightGBM file, or (trusted) pickle."""
    data = str(conf.get("pickled_model") or conf.get("data") or "")
    how = str(conf.get("serialization_format") or "")
    path = local / data
    if flavour == "lightgbm" and data.endswith((".lgb", ".txt")):
        # A Booster, saved natively (its serialization_format only applies to the
        # scikit-learn API).
        import lightgbm

        return lightgbm.Booster(model_file=str(path)), "lightgbm"
    if how == "skops" or data.endswith(".skops"):
        try:
            return _load_skops(path, trust, shown=uri), "skops"
        except UntrustedModelError as exc:
            raise UntrustedModelError(
                f"{exc.message} (MLflow {flavour} flavour, skops serialization)", subject="model"
            ) from None
    how = how or "pickle"
    if not trust:
        raise UntrustedModelError(
            UNTRUSTED_FLAVOUR.format(uri=uri, flavour=flavour, how=how), subject="model"
        )
    module = importlib.import_module(f"mlflow.{flavour}")
    return module.load_model(str(local)), how


def _load_xgboost(uri: str, local: Path, conf: dict[str, Any], trust: bool) -> Any:
    """An XGBoost model from its native file; its class must come from xgboost."""
    model_class = str(conf.get("model_class", "xgboost.core.Booster"))
    if not model_class.startswith("xgboost.") and not trust:
        raise UntrustedModelError(
            UNTRUSTED_FLAVOUR.format(
                uri=uri, flavour="xgboost", how=f"the non-XGBoost class {model_class}"
            ),
            subject="model",
        )
    import mlflow.xgboost

    return mlflow.xgboost.load_model(str(local))


def _digest(directory: Path) -> str:
    """sha256 over the model directory's files (relative names and contents, sorted)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


class MlflowPyfuncModel:
    """An MLflow ``python_function`` model as an object with ``predict`` (its output, 1-D)."""

    def __init__(self, model: Any) -> None:
        self._model = model
        schema = model.metadata.get_input_schema() if model.metadata is not None else None
        names = schema.input_names() if schema is not None and schema.has_input_names() else None
        if names:
            self.feature_names_in_ = np.asarray(names, dtype=object)

    def predict(self, X: pd.DataFrame) -> npt.NDArray[Any]:
        out = np.asarray(self._model.predict(X))
        return out.reshape(len(X), -1)[:, -1] if out.ndim > 1 else out
