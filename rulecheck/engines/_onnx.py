"""ONNX models (``model: model.onnx``), run with onnxruntime (``pip install 'rulecheck[onnx]'``).

An ONNX file holds a computation graph and its weights, never code, so it loads without
``--trust-model``. onnxruntime is imported only when an ONNX model is loaded.

Inputs (docs/models.md, "ONNX"):

- one tensor input of shape (n, k): fed with the model's features in order (``target.features``;
  else names stored in the file's metadata under ``feature_names``, a JSON list or a
  comma-separated string; else the data columns the audit gives the model), cast to the input's
  element type, and checked against its width k;
- several inputs (scikit-learn pipelines exported by skl2onnx have one per column, shape
  (n, 1)): each is fed from the data column of the same name, cast to its type (strings as
  ``str``).

The score output (``target.model_output``): ``"auto"`` picks the probability output of a
classifier, the first output that is a ZipMap (a list of {class: probability}), is named like
``*prob*``, or is written by a Sigmoid or Softmax node; else a float output named like
``*logit*`` is read as margins; else the only float output is read as a regression value.
``"probability"`` and ``"margin"`` say what the only float output is (when ``"auto"`` cannot
tell); any other value names the output to use. The choice is recorded in the report's model
section (``output``) and in a note.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck.engines._onnx_graph import (
    LABEL_TYPES,
    GraphFacts,
    Port,
    ProtobufError,
    choose_output,
    ports,
    read_graph,
)
from rulecheck.engines.model import (
    Explainable,
    FloatArray,
    LoadedModel,
    ModelAdapter,
    ModelOutput,
    sigmoid,
    softmax,
)
from rulecheck.errors import InputError
from rulecheck.verdict import Scalar

__all__ = ["ONNXAdapter", "load_onnx"]

NEEDS_ONNXRUNTIME = "model file {path!r} needs onnxruntime: pip install 'rulecheck[onnx]'"
CANNOT_LOAD = "cannot load ONNX model {path!r}: onnxruntime says: {reason}"
INPUTS_UNMATCHED = (
    "the ONNX model's inputs {missing} match no data column; it expects inputs {expected}, "
    "and the columns available are {available}"
)
WRONG_WIDTH = (
    "the ONNX model's input {name!r} takes {width} features per row; got {got} columns "
    "({columns}): set target.features to the {width} columns in the order the model was "
    "trained on"
)
NOT_PROBABILITY = (
    "output {name!r} of the ONNX model was read as probabilities but has values outside [0, 1] "
    "(from {low:.4g} to {high:.4g}); set target.model_output: margin if it holds logits"
)
BAD_CAST = "cannot feed column {column!r} (dtype {dtype}) to ONNX input {name!r} ({type}): {error}"
OUTPUT_NOTE = "ONNX output {name!r} read as {meaning}{how}"

_NUMPY_TYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
    "tensor(string)": object,
}
_PROBABILITY_SLACK = 1e-6  # float32 rounding of a probability


def _session(model: bytes, shown: str) -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise InputError(NEEDS_ONNXRUNTIME.format(path=shown), subject="model") from None

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: onnxruntime warns about unused initializers
    try:
        return onnxruntime.InferenceSession(
            model, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own Fail / InvalidGraph / RuntimeError
        reason = " ".join(str(exc).split())
        raise InputError(CANNOT_LOAD.format(path=shown, reason=reason), subject="model") from None


def _metadata_names(metadata: dict[str, str]) -> tuple[str, ...] | None:
    raw = metadata.get("feature_names")
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = [part.strip() for part in raw.split(",")]
    if not isinstance(parsed, list) or not all(isinstance(p, str) and p for p in parsed):
        return None
    return tuple(parsed)


class ONNXAdapter(ModelAdapter):
    """An ONNX graph run with onnxruntime; explained with the model-agnostic explainers.

    Picklable: the state holds the model's bytes and the session is rebuilt on unpickling
    (Dask ships models to its workers).
    """

    kind = "onnx"

    def __init__(self, model: bytes, output: ModelOutput = "auto", *, shown: str = "model.onnx"):
        session = _session(model, shown)
        try:
            facts = read_graph(model)
        except ProtobufError:  # onnxruntime parsed it, so this reader missed something
            facts = GraphFacts({}, None)
        self._shown = shown
        self._output = output
        self._session = session
        self._inputs = ports(session.get_inputs())
        self._outputs = ports(session.get_outputs())
        meta = session.get_modelmeta()
        self._producer = str(meta.producer_name or "")
        self.choice = choose_output(self._outputs, facts, output)
        self._labels_port = next((o for o in self._outputs if o.type in LABEL_TYPES), None)
        classes = self._classes_of(facts)
        if len(self._inputs) == 1:
            names = _metadata_names(dict(meta.custom_metadata_map or {}))
        else:
            names = tuple(p.name for p in self._inputs)
        meaning = self.choice.meaning
        note = OUTPUT_NOTE.format(
            name=self.choice.port.name,
            meaning={
                "probability": "class probabilities",
                "margin": f"margins (log-odds; {'sigmoid' if classes and len(classes) == 2 else 'softmax'} applied)",
                "label": "predicted labels",
                "value": "regression values",
            }[meaning],
            how=self.choice.why,
        )
        super().__init__(model, classes=classes, feature_names=names, notes=[note])

    # -- pickling: onnxruntime sessions do not pickle ------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {
            "model": self._raw,
            "output": self._output,
            "shown": self._shown,
            "notes": self._notes,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["model"], state["output"], shown=state["shown"])  # type: ignore[misc]
        self._notes = list(state["notes"])

    # -- what the model is ---------------------------------------------------------------------
    def _classes_of(self, facts: GraphFacts) -> tuple[Scalar, ...] | None:
        port, meaning = self.choice.port, self.choice.meaning
        if meaning == "value":
            return None
        if facts.classes is not None:
            return tuple(facts.classes)
        width = port.width
        if meaning == "label" or width is None:
            # Labels without recorded classes, or a dynamic width: assume a binary 0/1 model.
            return (0, 1)
        return tuple(range(2 if width == 1 else width))

    @property
    def name(self) -> str:
        return f"ONNX ({self._producer})" if self._producer else "ONNX"

    @property
    def output_name(self) -> str:
        """The name of the output read."""
        return self.choice.port.name

    @property
    def n_features(self) -> int | None:
        if self._feature_names is not None:
            return len(self._feature_names)
        return self._inputs[0].width if len(self._inputs) == 1 else None

    @property
    def has_proba(self) -> bool:
        return self.choice.meaning in ("probability", "margin")

    @property
    def has_margins(self) -> bool:
        return self.choice.meaning == "margin"

    def explainable(self) -> Explainable:
        return Explainable((), self, None)

    # -- inputs --------------------------------------------------------------------------------
    def input_columns(self, columns: Any) -> tuple[str, ...] | None:
        found, missing = self.match_columns(columns)
        if missing:
            raise self._unmatched(missing, columns)
        return found

    def _unmatched(self, missing: list[str], columns: Any) -> InputError:
        expected = [p.name for p in self._inputs] if len(self._inputs) > 1 else self._feature_names
        return InputError(
            INPUTS_UNMATCHED.format(
                missing=missing, expected=list(expected or ()), available=[str(c) for c in columns]
            ),
            subject="features",
        )

    def _feed(self, X: pd.DataFrame) -> dict[str, Any]:
        if len(self._inputs) == 1:
            port = self._inputs[0]
            if self._feature_names is not None:
                missing = [n for n in self._feature_names if n not in X.columns]
                if missing:
                    raise self._unmatched(missing, X.columns)
                X = X[list(self._feature_names)]
            width = port.width
            if width is not None and X.shape[1] != width:
                shown = ", ".join(map(repr, map(str, X.columns[:8])))
                shown += ", ..." if X.shape[1] > 8 else ""
                raise InputError(
                    WRONG_WIDTH.format(name=port.name, width=width, got=X.shape[1], columns=shown),
                    subject="features",
                )
            if X.shape[1] == 0:
                raise InputError("the ONNX model was given no feature columns", subject="features")
            try:  # numeric columns: one conversion of the whole block
                if not all(_plain_numeric(t) for t in X.dtypes):
                    raise InputError("mixed dtypes")
                matrix = _as_type(X.to_numpy(), port, "", None)
            except InputError:  # column by column, naming a column that cannot be cast
                matrix = np.column_stack([_cast(X[c], port) for c in X.columns])
            return {port.name: matrix if len(port.shape) >= 2 else matrix.reshape(-1)}
        missing = [p.name for p in self._inputs if p.name not in X.columns]
        if missing:
            raise self._unmatched(missing, X.columns)
        feed: dict[str, Any] = {}
        for port in self._inputs:
            values = _cast(X[port.name], port)
            feed[port.name] = values.reshape(-1, 1) if len(port.shape) >= 2 else values
        return feed

    def _run(self, X: pd.DataFrame, port: str) -> Any:
        return self._session.run([port], self._feed(X))[0]

    # -- calls ---------------------------------------------------------------------------------
    def _scores(self, X: pd.DataFrame) -> FloatArray:
        """The chosen output as a float array: (n, classes) for probabilities, else (n,) or
        (n, k)."""
        port = self.choice.port
        raw = self._run(X, port.name)
        if isinstance(raw, list):  # ZipMap: one {class: probability} per row
            classes = (self._classes or tuple(raw[0])) if raw else ()
            return np.array([[row[c] for c in classes] for row in raw], dtype=np.float64).reshape(
                len(raw), len(classes)
            )
        out = np.asarray(raw, dtype=np.float64)
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        return out

    def _predict_proba(self, X: pd.DataFrame) -> FloatArray:
        meaning = self.choice.meaning
        if meaning not in ("probability", "margin"):
            raise InputError(
                f"ONNX output {self.output_name!r} holds {meaning}s, not probabilities",
                subject="model",
            )
        out = self._scores(X)
        if meaning == "margin":
            return (
                np.column_stack([1.0 - sigmoid(out), sigmoid(out)])
                if out.ndim == 1
                else softmax(out)
            )
        if out.size and (out.min() < -_PROBABILITY_SLACK or out.max() > 1.0 + _PROBABILITY_SLACK):
            raise InputError(
                NOT_PROBABILITY.format(name=self.output_name, low=out.min(), high=out.max()),
                subject="model_output",
            )
        return np.column_stack([1.0 - out, out]) if out.ndim == 1 else out

    def _predict(self, X: pd.DataFrame) -> npt.NDArray[Any]:
        meaning = self.choice.meaning
        if meaning in ("probability", "margin"):
            return self._labels(self._predict_proba(X))
        raw = np.asarray(self._run(X, self.output_name))
        if meaning == "label":
            return raw.reshape(-1)
        return (raw[:, 0] if raw.ndim == 2 and raw.shape[1] == 1 else raw).astype(np.float64)

    def _margins(self, X: pd.DataFrame) -> FloatArray:
        if self.choice.meaning != "margin":
            raise InputError(
                f"ONNX output {self.output_name!r} holds {self.choice.meaning}s, not margins; "
                "name a logits output with target.model_output",
                subject="model",
            )
        return self._scores(X)


def _plain_numeric(dtype: Any) -> bool:
    return bool(
        pd.api.types.is_numeric_dtype(dtype)
        and not isinstance(dtype, pd.CategoricalDtype)
        and not pd.api.types.is_extension_array_dtype(dtype)
    )


def _cast(series: pd.Series, port: Port) -> npt.NDArray[Any]:
    """A column as the input's element type (strings as ``str`` objects)."""
    if _NUMPY_TYPES.get(port.type) is object:
        return np.asarray(series.astype(str).to_numpy(), dtype=object)
    return _as_type(series.to_numpy(), port, series.name, series.dtype)


def _as_type(values: npt.NDArray[Any], port: Port, column: Any, dtype: Any) -> npt.NDArray[Any]:
    target = _NUMPY_TYPES.get(port.type)
    if target is None:
        raise InputError(
            f"ONNX input {port.name!r} has type {port.type}, which rulecheck cannot feed",
            subject="model",
        )
    try:
        if target is object:
            return np.asarray(values.astype(str), dtype=object)
        # numpy turns NaN into an arbitrary integer (with only a warning): refuse it.
        integer = np.issubdtype(target, np.integer)
        if integer and values.dtype.kind == "f" and np.isnan(values).any():
            raise ValueError("it has missing values")
        return np.asarray(values, dtype=target)
    except (ValueError, TypeError) as exc:
        raise InputError(
            BAD_CAST.format(
                column=str(column), dtype=dtype, name=port.name, type=port.type, error=exc
            ),
            subject=str(column),
        ) from None


def load_onnx(path: Path, digest: str, output: ModelOutput) -> LoadedModel:
    """Load an ONNX file: format "onnx"; ``details`` name the output read and the inputs."""
    adapter = ONNXAdapter(path.read_bytes(), output, shown=str(path))
    details: dict[str, Scalar] = {
        "path": str(path),
        "output": adapter.output_name,
        "output_read_as": adapter.choice.meaning,
        "inputs": ", ".join(p.name for p in adapter._inputs),
    }
    return LoadedModel(adapter, str(path), digest, "onnx", details)
