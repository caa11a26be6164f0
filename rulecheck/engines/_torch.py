"""PyTorch modules behind the model adapter (Python API only: ``evaluate(model=module)``).

torch is imported inside the methods that run the module, never at import time: a module is
recognised by the names in its class's MRO (:func:`is_torch_module`), so ``import rulecheck``
and audits of other models never load torch.

What the module's output means (``target.model_output`` decides; ``"auto"`` reads the module):

- one column: a logit (sigmoid applied, and the report says so), unless the last registered
  submodule is ``torch.nn.Sigmoid`` or ``model_output: probability``, which make it the
  positive-class probability; ``model_output: margin`` makes it a logit whatever the last module;
- two or more columns: class logits (softmax applied), or class probabilities with
  ``model_output: probability``. The classes are ``0 .. k-1``.

The width is read from the last registered submodule with ``out_features`` (a Linear layer), and
every call checks it. Calls run on CPU under ``torch.no_grad()`` with the module in ``eval()``
mode (dropout off, batch-norm running statistics); the module's training flag is restored after
every call. Inputs are ``preprocess(frame)`` (default: the model's feature columns, in order),
cast to the dtype of the module's parameters (float32 for a default module).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from rulecheck.engines.model import Explainable, FloatArray, ModelAdapter, ModelOutput, softmax
from rulecheck.engines.model import sigmoid as _sigmoid
from rulecheck.errors import InputError

__all__ = ["Network", "TorchAdapter", "eval_mode", "features_as_float32", "is_torch_module"]

Head = Literal["logit", "probability", "class_logits", "class_probability"]
Output = Literal["log_odds", "probability", "raw"]
IntArray = npt.NDArray[np.intp]

_HEAD_NOTES: dict[Head, str] = {
    "logit": "{name} outputs one logit column ({why}): sigmoid applied to get probabilities",
    "probability": "{name}'s single output column is read as the positive-class probability ({why})",
    "class_logits": "{name} outputs {width} class logits ({why}): softmax applied to get probabilities",
    "class_probability": "{name}'s {width} output columns are read as class probabilities ({why})",
}
_BAD_OUTPUT = (
    "PyTorch module {name} returned {what} for {rows} rows; expected a tensor of shape "
    "({rows},) or ({rows}, {width})"
)
_BAD_INPUT = (
    "preprocess {name} returned {what} for a frame of {rows} rows; expected a 2-D array or "
    "tensor with one row per data row"
)
# Rows of the data used to trace which input column each preprocessed column comes from.
_TRACE_ROWS = 256


def is_torch_module(model: object) -> bool:
    """Whether ``model`` is a ``torch.nn.Module``, without importing torch."""
    return any(
        cls.__name__ == "Module" and cls.__module__.startswith("torch.nn")
        for cls in type(model).__mro__
    )


def features_as_float32(frame: pd.DataFrame) -> npt.NDArray[np.float32]:
    """The default ``preprocess``: the model's feature columns, in order, as float32."""
    try:
        return frame.to_numpy(dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"the features {list(map(str, frame.columns))} cannot be read as float32 ({exc}); "
            "pass preprocess= to turn the DataFrame into the module's input tensor",
            subject="features",
        ) from None


def _callable_name(obj: object) -> str:
    return str(getattr(obj, "__qualname__", type(obj).__name__))


def _as_matrix(value: Any) -> npt.NDArray[Any]:
    """A numpy array from a numpy array, a torch tensor or anything array-like."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value)


@contextlib.contextmanager
def eval_mode(module: Any) -> Iterator[None]:
    """``module.eval()`` for the block; every submodule's training flag is restored after."""
    flags = [(m, m.training) for m in module.modules()]
    try:
        module.eval()
        yield
    finally:
        for submodule, training in flags:
            submodule.training = training


def _last_leaf(module: Any) -> Any:
    leaves = [m for m in module.modules() if not any(True for _ in m.children())]
    return leaves[-1] if leaves else module


def _width(module: Any) -> int:
    """Output columns: ``out_features`` of the last registered layer that has it, else 1."""
    widths = [
        m.out_features
        for m in module.modules()
        if isinstance(getattr(m, "out_features", None), int)
    ]
    return int(widths[-1]) if widths else 1


def _is_sigmoid(module: Any) -> bool:
    return type(module).__name__ == "Sigmoid" and type(module).__module__.startswith("torch.nn")


def _head(module: Any, width: int, output: ModelOutput) -> tuple[Head, str]:
    """What the module's output is, and why rulecheck reads it so."""
    if width >= 2:
        if output == "probability":
            return "class_probability", "model_output: probability"
        return (
            "class_logits",
            "model_output: margin" if output == "margin" else "two or more columns",
        )
    if output == "margin":
        return "logit", "model_output: margin"
    if output == "probability":
        return "probability", "model_output: probability"
    if _is_sigmoid(_last_leaf(module)):
        return "probability", "its last module is torch.nn.Sigmoid"
    return "logit", "the default for one column; set model_output: probability if it is not"


class TorchAdapter(ModelAdapter):
    """A ``torch.nn.Module`` classifier: ``preprocess(frame)`` feeds it, its output columns are
    read as the module documentation says. Picklable when ``preprocess`` is (Dask ships it)."""

    kind = "torch"

    def __init__(
        self,
        module: Any,
        output: ModelOutput,
        preprocess: Callable[[pd.DataFrame], Any] | None = None,
    ) -> None:
        width = _width(module)
        head, why = _head(module, width, output)
        name = type(module).__name__
        notes = [_HEAD_NOTES[head].format(name=name, why=why, width=width)]
        self._preprocess = preprocess if preprocess is not None else features_as_float32
        self._default_preprocess = preprocess is None
        self._width = width
        self._head: Head = head
        super().__init__(
            module,
            classes=(0, 1) if width == 1 else tuple(range(width)),
            feature_names=None,
            notes=notes,
        )

    @property
    def head(self) -> Head:
        return self._head

    @property
    def has_proba(self) -> bool:
        return True

    @property
    def has_margins(self) -> bool:
        return self._head in ("logit", "class_logits")

    # -- calls --------------------------------------------------------------------------------
    def encode(self, X: pd.DataFrame) -> npt.NDArray[Any]:
        """``preprocess(X)`` as a 2-D numpy array of the module's parameter dtype."""
        name = _callable_name(self._preprocess)
        try:
            matrix = _as_matrix(self._preprocess(X))
        except InputError:
            raise
        except Exception as exc:  # the user's preprocess can raise anything
            raise InputError(
                f"preprocess {name} failed: {type(exc).__name__}: {exc}", subject="preprocess"
            ) from exc
        if matrix.ndim != 2 or matrix.shape[0] != len(X):
            what = f"shape {matrix.shape}"
            raise InputError(
                _BAD_INPUT.format(name=name, what=what, rows=len(X)), subject="preprocess"
            )
        return matrix.astype(self._dtype(), copy=False)

    def _dtype(self) -> Any:
        """The numpy dtype of the module's floating parameters (float32 without parameters)."""
        for parameter in self._raw.parameters():
            if parameter.is_floating_point():
                return parameter.detach().cpu()[:0].numpy().dtype
        return np.float32

    def _forward(self, X: pd.DataFrame) -> FloatArray:
        """The module's output on one batch, shape (n, width), float64."""
        import torch

        matrix = self.encode(X)
        try:
            with eval_mode(self._raw), torch.no_grad():
                out = self._raw(torch.as_tensor(np.array(matrix)))
        except Exception as exc:  # the module's own error, reported as an input problem
            raise InputError(
                f"PyTorch module {self.name} failed on the data ({matrix.shape[0]} rows x "
                f"{matrix.shape[1]} columns): {type(exc).__name__}: {exc}",
                subject="model",
            ) from exc
        values = _as_matrix(out)
        rows = len(X)
        if values.ndim == 1 and self._width == 1:
            values = values.reshape(-1, 1)
        if values.ndim != 2 or values.shape != (rows, self._width):
            what = f"shape {tuple(values.shape)}"
            raise InputError(
                _BAD_OUTPUT.format(name=self.name, what=what, rows=rows, width=self._width),
                subject="model",
            )
        values = values.astype(np.float64)
        if not np.all(np.isfinite(values)):
            raise InputError(
                f"PyTorch module {self.name} returned non-finite values "
                f"({int((~np.isfinite(values)).sum())} of {values.size})",
                subject="model",
            )
        return values

    def _predict_proba(self, X: pd.DataFrame) -> FloatArray:
        out = self._forward(X)
        if self._head == "logit":
            p = _sigmoid(out[:, 0])
            return np.column_stack([1.0 - p, p])
        if self._head == "class_logits":
            return softmax(out)
        if self._head == "probability":
            p = out[:, 0]
            if np.any((p < 0.0) | (p > 1.0)):
                raise InputError(
                    f"PyTorch module {self.name} returned values outside [0, 1] read as "
                    "probabilities; set target.model_output: margin if they are logits",
                    subject="model",
                )
            return np.column_stack([1.0 - p, p])
        return out

    def _margins(self, X: pd.DataFrame) -> FloatArray:
        if self._head == "logit":
            return self._forward(X)[:, 0]
        if self._head == "class_logits":
            out = self._forward(X)
            return out[:, 1] - out[:, 0] if self._width == 2 else out
        raise InputError(f"{self.name} outputs probabilities, not margins", subject="model")

    def _predict(self, X: pd.DataFrame) -> npt.NDArray[Any]:
        return self._labels(self._predict_proba(X))

    def explainable(self) -> Explainable:
        network = Network(
            module=self._raw,
            encode=self.encode,
            head=self._head,
            width=self._width,
            traced=not self._default_preprocess,
        )
        return Explainable((), self._raw, None, network=network)


# --- the attribution engine's view ------------------------------------------------------------


@dataclass(frozen=True)
class Network:
    """What the network explainers (``rulecheck.engines._network``) need from a module.

    ``encode`` is the adapter's preprocessing. ``traced``: a user's ``preprocess``, whose columns
    are traced back to input columns by :meth:`owners`; the default maps column ``j`` to
    column ``j``.
    """

    module: Any
    encode: Callable[[pd.DataFrame], npt.NDArray[Any]]
    head: Head
    width: int
    traced: bool

    @property
    def natural(self) -> Output:
        """The output explained by default: the one the module computes before any link."""
        if self.head in ("probability", "class_probability"):
            return "probability"
        return "log_odds" if self.width <= 2 else "raw"

    def owners(self, frame: pd.DataFrame) -> IntArray | None:
        """The input column of each preprocessed column, or None when one mixes columns.

        Traced on up to ``_TRACE_ROWS`` rows: shifting one input column by a row must change
        only the preprocessed columns it owns (one-hot blocks, scaled copies). A preprocessed
        column that no single input column changes (a constant, a mix) gives None.
        """
        sample = frame.iloc[:_TRACE_ROWS]
        reference = self.encode(sample)
        if not self.traced:
            if reference.shape[1] != frame.shape[1]:
                return None
            return np.arange(frame.shape[1], dtype=np.intp)
        owner = np.full(reference.shape[1], -1, dtype=np.intp)
        for j, column in enumerate(sample.columns):
            shifted = sample.copy()
            shifted[column] = np.roll(sample[column].to_numpy(), 1)
            changed = np.any(self.encode(shifted) != reference, axis=0)
            if np.any(owner[changed] >= 0):
                return None
            owner[changed] = j
        return None if np.any(owner < 0) else owner

    def outputs(self, deep: bool) -> frozenset[str]:
        """Outputs this module can be explained on (DeepExplainer has no rule for Softmax)."""
        if self.head == "logit":
            return frozenset({"log_odds", "raw", "probability"})
        if self.head == "probability":
            return frozenset({"probability"} | ({"log_odds", "raw"} if self._tail() else set()))
        if self.head == "class_probability":
            return frozenset({"probability"})
        return frozenset(
            {"raw"}
            | ({"log_odds"} if self.width == 2 else set())
            | (set() if deep else {"probability"})
        )

    def _tail(self) -> bool:
        """Whether the module is a Sequential ending in Sigmoid (its body gives log-odds)."""
        return type(self.module).__name__ == "Sequential" and _is_sigmoid(self.module[-1])

    def explained(self, output: Output, index: int) -> Any:
        """A module computing the explained output of class ``index``, shape (n, 1).

        Every operation after the module and its optional Sigmoid/Softmax layer is linear
        (a column, its negation, a difference), so DeepExplainer's rules stay exact.
        """
        import torch

        body: Any = self.module
        tail: Any = None
        if self.head == "logit" and output == "probability":
            tail = torch.nn.Sigmoid()
        elif self.head == "probability" and output != "probability":
            body = self.module[:-1]  # the Sequential without its Sigmoid: the logit
        elif self.head == "class_logits" and output == "probability":
            tail = torch.nn.Softmax(dim=1)
        one_column = self.width == 1
        # One column holds the second class's output: the first's is its complement
        # (probability) or its negation (log-odds).
        complement = one_column and index == 0
        difference = self.head == "class_logits" and output == "log_odds"
        return _explained_class()(body, tail, index, one_column, complement, output, difference)


@functools.cache
def _explained_class() -> Any:
    """The explained-output module class, defined once torch is imported."""
    import torch

    # torch.nn.Module is Any to mypy where torch is not installed.
    class Explained(torch.nn.Module):  # type: ignore[misc,unused-ignore]
        def __init__(
            self,
            body: Any,
            tail: Any,
            index: int,
            one_column: bool,
            complement: bool,
            output: Output,
            difference: bool,
        ) -> None:
            super().__init__()
            self.body = body
            self.tail = tail if tail is not None else torch.nn.Identity()
            self.index = 0 if one_column else index
            self.complement = complement
            self.probability = output == "probability"
            self.difference = difference

        def forward(self, x: Any) -> Any:
            z = self.tail(self.body(x))
            if z.ndim == 1:
                z = z.unsqueeze(1)
            i = self.index
            column = z[:, i : i + 1]
            if self.difference:
                column = column - z[:, 1 - i : 2 - i]
            elif self.complement and self.probability:
                column = 1.0 - column
            elif self.complement:
                column = -column
            return column

    return Explained
