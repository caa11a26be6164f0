"""Per-row losses, the loss registry, and per-group mean loss.

A loss maps each row's label and prediction to a number where lower is better (scikit-learn's
``*_loss``/``*_error`` convention). Rules name a loss; this module computes it, one vectorized
numpy pass per model, and :func:`group_mean_loss` averages it per group with ``np.bincount``.

Every loss declares what its second argument is, so that rulecheck knows what to feed it:
``probability`` (positive-class probability, ``predict_proba[:, 1]``), ``decision`` (predicted
labels, ``predict``), ``margin`` (``decision_function``) or ``value`` (a regression prediction).

Built-in losses; the mean over any rows equals the scikit-learn function on those rows:

=================  ===========  ==========================================================
name               input        scikit-learn reference
=================  ===========  ==========================================================
``log_loss``       probability  ``log_loss(labels=[0, 1])``, same clipping to [eps, 1-eps]
``brier``          probability  ``brier_score_loss``: ``(p - y)**2``
``zero_one``       decision     ``zero_one_loss``: ``y_pred != y_true``
``hinge``          margin       ``hinge_loss`` (binary): ``max(0, 1 - y*f)``, y in {-1, +1}
``squared_error``  value        ``mean_squared_error``
``absolute_error`` value        ``mean_absolute_error``
``pinball``        value        ``mean_pinball_loss(alpha=quantile)``; param ``quantile``
``poisson``        value        ``mean_poisson_deviance`` (y_true >= 0, y_pred > 0)
=================  ===========  ==========================================================

Custom losses are plain functions ``fn(y_true, y_pred, **params) -> per-row array``; a policy
only names them. Register one with :func:`register_loss` before calling the CLI or the API, or
ship it in a package under the entry-point group ``rulecheck.losses``.

Examples
--------
>>> import numpy as np
>>> spec = get_loss("log_loss")
>>> spec.input
'probability'
>>> per_row = per_row_loss(spec, np.array([1, 0, 1]), np.array([0.9, 0.2, 0.5]), {})
>>> means, counts = group_mean_loss(per_row, np.array([0, 0, 1]), 2)
>>> np.round(means, 4).tolist(), counts.tolist()
([0.1643, 0.6931], [2, 1])
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, Protocol, get_args

import numpy as np
import numpy.typing as npt

from rulecheck.errors import InputError, RulecheckError

__all__ = [
    "BUILTIN_LOSSES",
    "ENTRY_POINT_GROUP",
    "LossInput",
    "LossRegistry",
    "LossSpec",
    "default_loss_registry",
    "get_loss",
    "group_mean_loss",
    "per_row_loss",
    "register_loss",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
LossFn = Callable[..., npt.ArrayLike]
LossInput = Literal["probability", "decision", "margin", "value"]
LOSS_INPUTS: tuple[str, ...] = get_args(LossInput)
ENTRY_POINT_GROUP = "rulecheck.losses"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_NO_PARAMS: Mapping[str, float] = MappingProxyType({})

# Message templates (tests assert on them). Python-API misuse raises ValueError/TypeError, as
# scikit-learn does; data, policy or custom-loss problems raise InputError naming the loss.
BAD_NAME = "loss name must match ^[a-z][a-z0-9_]*$; got {name!r}"
BAD_INPUT = "input of loss {name!r} must be one of {choices}; got {input!r}"
NOT_CALLABLE = "loss {name!r} must be callable; got {type}"
BAD_SIGNATURE = "loss {name!r} must accept (y_true, y_pred, **params): {detail}"
BUILTIN_PROTECTED = "loss {name!r} is built in and cannot be replaced; register another name"
DUPLICATE = "loss {name!r} is already registered; pass overwrite=True to replace it"
UNKNOWN = (
    "unknown loss {name!r}; registered losses: {names}. Register one with "
    "rulecheck.register_loss(name, fn) before evaluating, or install a package that provides it "
    "under the 'rulecheck.losses' entry-point group"
)
PLUGIN_FAILED = "loss {name!r} from entry point {value!r} could not be loaded: {error}"
PLUGIN_AMBIGUOUS = "loss {name!r} is provided by several installed packages: {values}"
PLUGIN_BAD_OBJECT = "entry point {value!r} for loss {name!r} must be a callable or a LossSpec"
PLUGIN_NAME_MISMATCH = "entry point {value!r} is named {name!r} but its LossSpec is {spec!r}"
UNKNOWN_PARAMS = "loss {name!r} got unknown param(s) {unknown}; accepted params: {accepted}"
BAD_CALL = "loss {name!r} cannot be called with params {params}: {detail}"
BAD_ARRAYS = "loss {name!r} needs 1-D y_true and y_pred of equal length; got {shapes}"
NONFINITE_INPUT = "{arg} for loss {name!r} has NaN or inf in {count} of {n} rows"
RAISED = "loss {name!r} raised {type}: {error}"
NOT_NUMERIC = "loss {name!r} returned non-numeric values ({type}); expected floats"
BAD_SHAPE = "loss {name!r} returned shape {shape}; expected ({n},)"
NONFINITE = "loss {name!r} returned NaN or inf in {count} of {n} rows ({nan} NaN, {inf} inf)"
NOT_BINARY = "loss {name!r} needs labels 0 and 1; y_true also contains {found}"
NOT_PROBABILITY = "loss {name!r} needs probabilities in [0, 1] as y_pred; got {bound}"
NOT_NUMBERS = "loss {name!r} needs numeric {arg}; got dtype {dtype}"
BAD_QUANTILE = "loss 'pinball' needs a quantile strictly between 0 and 1; got {quantile!r}"
POISSON_Y_TRUE = "loss 'poisson' needs y_true >= 0; got minimum {value}"
POISSON_Y_PRED = "loss 'poisson' needs y_pred > 0; got minimum {value}"


# --- built-in losses -------------------------------------------------------------------------


def _numbers(values: npt.ArrayLike, name: str, arg: str) -> FloatArray:
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise InputError(NOT_NUMBERS.format(name=name, arg=arg, dtype=array.dtype), subject=name)
    return array.astype(np.float64, copy=False)


def _binary(y_true: npt.ArrayLike, name: str) -> npt.NDArray[np.bool_]:
    y = np.asarray(y_true)
    if y.dtype == np.bool_:
        return y
    positive = np.asarray(y == 1, dtype=np.bool_)
    bad = ~(positive | np.asarray(y == 0, dtype=np.bool_))
    if bad.any():
        found = list(dict.fromkeys(y[bad][:1000].tolist()))[:5]
        raise InputError(NOT_BINARY.format(name=name, found=found), subject=name)
    return positive


def _probabilities(y_pred: npt.ArrayLike, name: str) -> npt.NDArray[np.floating[Any]]:
    p = np.asarray(y_pred)
    if p.dtype.kind not in "biuf":
        raise InputError(NOT_NUMBERS.format(name=name, arg="y_pred", dtype=p.dtype), subject=name)
    if p.dtype not in (np.float64, np.float32, np.float16):
        # scikit-learn's check_array keeps these three float dtypes and casts the rest to float64.
        p = p.astype(np.float64)
    if p.size and (p.min() < 0 or p.max() > 1):
        bound = f"minimum {p.min()}" if p.min() < 0 else f"maximum {p.max()}"
        raise InputError(NOT_PROBABILITY.format(name=name, bound=bound), subject=name)
    return p


def log_loss(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> FloatArray:
    """Binary cross-entropy per row; ``y_pred`` is the probability of label 1.

    Clipped exactly as scikit-learn 1.9 does: the probability of the observed label (``p`` or
    ``1 - p``, computed in the input's float dtype) is clipped to ``[eps, 1 - eps]`` with
    ``eps = np.finfo(dtype).eps``, so a confident mistake costs ``-log(eps)`` (36.04 for float64)
    instead of inf. The logarithm is taken in float64.
    """
    y = _binary(y_true, "log_loss")
    p = _probabilities(y_pred, "log_loss")
    eps = np.finfo(p.dtype).eps
    # The probability of the observed label, clipped: identical to clipping p and 1 - p apart.
    observed = 1 - p
    np.copyto(observed, p, where=y)
    np.clip(observed, eps, 1 - eps, out=observed)
    result = observed.astype(np.float64, copy=False)
    np.log(result, out=result)
    return np.negative(result, out=result)


def brier(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> FloatArray:
    """Squared error of the positive-class probability, ``(p - y)**2``."""
    y = _binary(y_true, "brier")
    diff = _probabilities(y_pred, "brier").astype(np.float64, copy=False) - y
    return np.square(diff, out=diff)


def zero_one(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> FloatArray:
    """1.0 where the decision differs from the label, else 0.0 (labels of any type)."""
    return np.asarray(np.asarray(y_true) != np.asarray(y_pred), dtype=np.float64)


def hinge(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> FloatArray:
    """``max(0, 1 - y * f)`` with labels 0/1 mapped to -1/+1 and ``f`` the decision function."""
    sign = np.where(_binary(y_true, "hinge"), 1.0, -1.0)
    return np.maximum(1 - sign * _numbers(y_pred, "hinge", "y_pred"), 0.0)


def squared_error(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> FloatArray:
    """``(y - y_pred)**2``."""
    y = _numbers(y_true, "squared_error", "y_true")
    diff = y - _numbers(y_pred, "squared_error", "y_pred")
    return np.square(diff, out=diff)


def absolute_error(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> FloatArray:
    """``|y_pred - y|``."""
    y = _numbers(y_true, "absolute_error", "y_true")
    diff = _numbers(y_pred, "absolute_error", "y_pred") - y
    return np.abs(diff, out=diff)


def pinball(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, quantile: float = 0.5) -> FloatArray:
    """Quantile loss: ``quantile * d`` if ``d = y - y_pred >= 0`` else ``(quantile - 1) * d``."""
    if isinstance(quantile, bool) or not isinstance(quantile, int | float) or not 0 < quantile < 1:
        raise InputError(BAD_QUANTILE.format(quantile=quantile), subject="pinball")
    diff = _numbers(y_true, "pinball", "y_true") - _numbers(y_pred, "pinball", "y_pred")
    return np.where(diff >= 0, quantile * diff, (quantile - 1) * diff)


def poisson(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> FloatArray:
    """Poisson deviance ``2 * (y * log(y / mu) - y + mu)``, with ``0 * log(0) = 0``."""
    y = _numbers(y_true, "poisson", "y_true")
    mu = _numbers(y_pred, "poisson", "y_pred")
    if y.size and y.min() < 0:
        raise InputError(POISSON_Y_TRUE.format(value=y.min()), subject="poisson")
    if mu.size and mu.min() <= 0:
        raise InputError(POISSON_Y_PRED.format(value=mu.min()), subject="poisson")
    ratio = y / mu
    log_ratio = np.zeros_like(y)
    np.log(ratio, out=log_ratio, where=ratio > 0)  # scipy's xlogy(y, y / mu), 0 where y == 0
    underflow = (ratio == 0) & (y > 0)
    if underflow.any():  # subnormal y / mu rounds to 0, where scipy's xlogy returns -inf
        log_ratio[underflow] = np.log(y[underflow]) - np.log(mu[underflow])
    return np.asarray(2 * (y * log_ratio - y + mu), dtype=np.float64)


# --- specs and the registry ------------------------------------------------------------------


def _signature_params(name: str, fn: LossFn) -> tuple[str, ...]:
    """The keyword params of ``fn`` after its two positional arrays."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise TypeError(BAD_SIGNATURE.format(name=name, detail=f"{exc}; pass params=")) from None
    kinds = inspect.Parameter
    parameters = list(signature.parameters.values())
    positional = [
        p for p in parameters if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
    ]
    if len(positional) < 2 and not any(p.kind is kinds.VAR_POSITIONAL for p in parameters):
        raise TypeError(BAD_SIGNATURE.format(name=name, detail=f"got {signature}"))
    return tuple(
        p.name
        for p in parameters
        if p.kind is kinds.KEYWORD_ONLY
        or (p.kind is kinds.POSITIONAL_OR_KEYWORD and p not in positional[:2])
    )


@dataclass(frozen=True, slots=True)
class LossSpec:
    """A named per-row loss and what it needs.

    Parameters
    ----------
    name : str
        Identifier used in policies, matching ``^[a-z][a-z0-9_]*$``.
    fn : callable
        ``fn(y_true, y_pred, **params)`` returning one float per row.
    input : {"probability", "decision", "margin", "value"}
        What ``y_pred`` is: positive-class probability, predicted label, decision function, or
        regression prediction.
    params : tuple of str
        Keyword params a policy may pass. :meth:`from_function` reads them from the signature.
    lower_is_better : bool
        True for every built-in loss.
    """

    name: str
    fn: LossFn
    input: LossInput
    params: tuple[str, ...] = ()
    lower_is_better: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(BAD_NAME.format(name=self.name))
        if self.input not in LOSS_INPUTS:
            choices = ", ".join(LOSS_INPUTS)
            raise ValueError(BAD_INPUT.format(name=self.name, choices=choices, input=self.input))
        if not callable(self.fn):
            raise TypeError(NOT_CALLABLE.format(name=self.name, type=type(self.fn).__name__))
        if not isinstance(self.params, tuple) or not all(isinstance(p, str) for p in self.params):
            raise TypeError(f"params of loss {self.name!r} must be a tuple of str")

    @classmethod
    def from_function(
        cls,
        name: str,
        fn: LossFn,
        *,
        input: LossInput = "probability",
        params: Iterable[str] | None = None,
        lower_is_better: bool = True,
    ) -> LossSpec:
        """Build a spec, reading ``params`` from ``fn``'s signature unless given."""
        if not callable(fn):
            raise TypeError(NOT_CALLABLE.format(name=name, type=type(fn).__name__))
        names = _signature_params(name, fn) if params is None else tuple(params)
        return cls(name, fn, input, names, lower_is_better)


BUILTIN_LOSSES: tuple[LossSpec, ...] = (
    LossSpec("log_loss", log_loss, "probability"),
    LossSpec("brier", brier, "probability"),
    LossSpec("zero_one", zero_one, "decision"),
    LossSpec("hinge", hinge, "margin"),
    LossSpec("squared_error", squared_error, "value"),
    LossSpec("absolute_error", absolute_error, "value"),
    LossSpec("pinball", pinball, "value", ("quantile",)),
    LossSpec("poisson", poisson, "value"),
)
_BUILTIN_NAMES = frozenset(spec.name for spec in BUILTIN_LOSSES)


class EntryPointLike(Protocol):
    """The part of :class:`importlib.metadata.EntryPoint` the registry uses."""

    @property
    def name(self) -> str: ...

    @property
    def value(self) -> str: ...

    def load(self) -> Any: ...


def installed_entry_points() -> Iterable[EntryPointLike]:
    """Entry points of installed packages in the ``rulecheck.losses`` group."""
    return importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)


class LossRegistry:
    """Built-in losses, losses registered in this process, and losses of installed packages.

    Lookup order: built-ins, then registered losses, then entry points. Entry points are listed
    on the first lookup of a name that is not found, and only the one named is imported; a
    plugin cannot shadow a built-in or a registered loss.

    Parameters
    ----------
    entry_points : callable or None
        Returns the entry points to discover (default: the installed ``rulecheck.losses``
        group). None disables discovery.
    """

    def __init__(
        self,
        *,
        entry_points: Callable[[], Iterable[EntryPointLike]] | None = installed_entry_points,
    ) -> None:
        self._losses: dict[str, LossSpec] = {spec.name: spec for spec in BUILTIN_LOSSES}
        self._entry_points = entry_points
        self._plugins: dict[str, list[EntryPointLike]] | None = None
        self._lock = threading.Lock()  # registration and lazy loading may race in threaded use

    def register(
        self,
        name: str,
        fn: LossFn,
        *,
        input: LossInput = "probability",
        params: Iterable[str] | None = None,
        overwrite: bool = False,
    ) -> LossSpec:
        """Register ``fn`` under ``name`` and return its spec (see :func:`register_loss`)."""
        spec = LossSpec.from_function(name, fn, input=input, params=params)
        self.add(spec, overwrite=overwrite)
        return spec

    def add(self, spec: LossSpec, *, overwrite: bool = False) -> None:
        """Register a ready-made spec; raises ValueError for a built-in or duplicate name."""
        if spec.name in _BUILTIN_NAMES:
            raise ValueError(BUILTIN_PROTECTED.format(name=spec.name))
        with self._lock:
            if spec.name in self._losses and not overwrite:
                raise ValueError(DUPLICATE.format(name=spec.name))
            self._losses[spec.name] = spec

    def get(self, name: str) -> LossSpec:
        """The spec named ``name``; InputError listing every known name when there is none."""
        spec = self._losses.get(name)
        if spec is None:
            spec = self._load_plugin(name)
        if spec is None:
            raise InputError(UNKNOWN.format(name=name, names=", ".join(self.names())), subject=name)
        return spec

    def names(self) -> tuple[str, ...]:
        """Every loss name: built-in, registered and installed (not yet imported), sorted."""
        return tuple(sorted(set(self._losses) | set(self._plugin_index())))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def _plugin_index(self) -> dict[str, list[EntryPointLike]]:
        with self._lock:
            if self._plugins is None:
                found: dict[str, list[EntryPointLike]] = {}
                for entry in self._entry_points() if self._entry_points is not None else ():
                    found.setdefault(entry.name, []).append(entry)
                self._plugins = found
            return self._plugins

    def _load_plugin(self, name: str) -> LossSpec | None:
        entries = self._plugin_index().get(name, [])
        if not entries:
            return None
        if len(entries) > 1:
            values = ", ".join(sorted(entry.value for entry in entries))
            raise InputError(PLUGIN_AMBIGUOUS.format(name=name, values=values), subject=name)
        entry = entries[0]
        try:
            obj = entry.load()
            if isinstance(obj, LossSpec):
                if obj.name != name:
                    message = PLUGIN_NAME_MISMATCH.format(
                        value=entry.value, name=name, spec=obj.name
                    )
                    raise InputError(message, subject=name)
                spec = obj
            elif callable(obj):
                spec = LossSpec.from_function(name, obj)
            else:
                raise InputError(
                    PLUGIN_BAD_OBJECT.format(value=entry.value, name=name), subject=name
                )
        except RulecheckError:
            raise
        except Exception as exc:  # a broken plugin is the user's environment, not a rulecheck bug
            error = f"{type(exc).__name__}: {exc}"
            message = PLUGIN_FAILED.format(name=name, value=entry.value, error=error)
            raise InputError(message, subject=name) from exc
        with self._lock:
            return self._losses.setdefault(name, spec)


# A process-wide default is needed because user code registers its losses first and then calls
# the CLI entry point or `evaluate(...)`, which cannot receive a registry through a YAML policy.
# It is private; reach it through register_loss/get_loss or pass your own LossRegistry.
_DEFAULT_REGISTRY = LossRegistry()


def default_loss_registry() -> LossRegistry:
    """The process-wide registry used when no registry is passed."""
    return _DEFAULT_REGISTRY


def register_loss(
    name: str,
    fn: LossFn,
    *,
    input: LossInput = "probability",
    params: Iterable[str] | None = None,
    overwrite: bool = False,
    registry: LossRegistry | None = None,
) -> LossSpec:
    """Make ``fn`` available to policies as ``loss: <name>``.

    Parameters
    ----------
    name : str
        Matches ``^[a-z][a-z0-9_]*$``; built-in names cannot be replaced.
    fn : callable
        ``fn(y_true, y_pred, **params)`` returning one float per row (lower is better).
    input : {"probability", "decision", "margin", "value"}, default="probability"
        What rulecheck passes as ``y_pred``.
    params : iterable of str, optional
        Accepted keyword params; read from ``fn``'s signature when omitted.
    overwrite : bool, default=False
        Replace an existing registration of ``name`` instead of raising ValueError.
    registry : LossRegistry, optional
        Defaults to the process-wide registry.

    Returns
    -------
    LossSpec

    Examples
    --------
    >>> import numpy as np
    >>> reg = LossRegistry(entry_points=None)
    >>> def focal(y_true, y_pred, gamma=2.0):
    ...     p_obs = np.where(y_true == 1, y_pred, 1 - y_pred)
    ...     return -((1 - p_obs) ** gamma) * np.log(p_obs)
    >>> register_loss("focal", focal, registry=reg).params
    ('gamma',)
    """
    target = _DEFAULT_REGISTRY if registry is None else registry
    return target.register(name, fn, input=input, params=params, overwrite=overwrite)


def get_loss(name: str, *, registry: LossRegistry | None = None) -> LossSpec:
    """The loss named ``name``; raises InputError listing the registered names if unknown."""
    return (_DEFAULT_REGISTRY if registry is None else registry).get(name)


# --- computing -------------------------------------------------------------------------------


def _nonfinite(values: np.ndarray[Any, Any]) -> int:
    if values.dtype.kind not in "fc":
        return 0
    return int(values.size - np.count_nonzero(np.isfinite(values)))


def per_row_loss(
    spec: LossSpec,
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    params: Mapping[str, float] = _NO_PARAMS,
) -> FloatArray:
    """Call ``spec.fn`` and check that it returned one finite float per row.

    Raises
    ------
    InputError
        Naming the loss, for unknown or missing params, non-1-D or non-finite inputs, a loss that
        raises, or a result that is not a finite float array of the input length.
    """
    name = spec.name
    unknown = sorted(set(params) - set(spec.params))
    if unknown:
        accepted = ", ".join(spec.params) or "none"
        message = UNKNOWN_PARAMS.format(name=name, unknown=", ".join(unknown), accepted=accepted)
        raise InputError(message, subject=name)
    try:
        inspect.signature(spec.fn).bind(y_true, y_pred, **params)
    except TypeError as exc:  # e.g. a required param the policy does not give
        raise InputError(
            BAD_CALL.format(name=name, params=dict(params), detail=exc), subject=name
        ) from None
    except ValueError:  # signature not introspectable: let the call decide
        pass
    y, p = np.asarray(y_true), np.asarray(y_pred)
    if y.ndim != 1 or p.shape != y.shape:
        raise InputError(
            BAD_ARRAYS.format(name=name, shapes=f"{y.shape} and {p.shape}"), subject=name
        )
    n = len(y)
    for arg, values in (("y_true", y), ("y_pred", p)):
        if count := _nonfinite(values):
            message = NONFINITE_INPUT.format(arg=arg, name=name, count=count, n=n)
            raise InputError(message, subject=name)
    try:
        raw = spec.fn(y, p, **params)
    except RulecheckError:
        raise
    except Exception as exc:  # custom code: report it against the loss, keep the traceback chained
        error = InputError(
            RAISED.format(name=name, type=type(exc).__name__, error=exc), subject=name
        )
        raise error from exc
    try:
        result = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            NOT_NUMERIC.format(name=name, type=type(raw).__name__), subject=name
        ) from None
    if result.shape != (n,):
        raise InputError(BAD_SHAPE.format(name=name, shape=result.shape, n=n), subject=name)
    if count := _nonfinite(result):
        nan = int(np.count_nonzero(np.isnan(result)))
        message = NONFINITE.format(name=name, count=count, n=n, nan=nan, inf=count - nan)
        raise InputError(message, subject=name)
    return result


def group_mean_loss(
    per_row: npt.ArrayLike, codes: npt.ArrayLike, n_groups: int
) -> tuple[FloatArray, IntArray]:
    """Mean loss and row count per group, from two ``np.bincount`` passes.

    Parameters
    ----------
    per_row : array of shape (n,)
        Finite per-row losses (the output of :func:`per_row_loss`).
    codes : int array of shape (n,)
        Group code of each row, in ``0 .. n_groups - 1``.
    n_groups : int
        Number of groups; groups without rows get mean NaN and count 0.

    Returns
    -------
    means : float64 array of shape (n_groups,)
    counts : int64 array of shape (n_groups,)

    Notes
    -----
    Sums accumulate in float64 in row order, so the relative error of a group mean is at most
    about ``n_g * 1.1e-16`` for non-negative losses (1e-10 at a million rows; in practice
    ~``sqrt(n_g) * 1e-16``). scikit-learn's pairwise sums agree to 1e-9 in the tests.
    """
    values = np.asarray(per_row, dtype=np.float64)
    groups = np.asarray(codes)
    if values.ndim != 1 or groups.shape != values.shape:
        raise ValueError(
            f"per_row and codes must be 1-D of equal length; got {values.shape} and {groups.shape}"
        )
    if groups.dtype.kind not in "iu":
        raise ValueError(f"codes must be integers; got dtype {groups.dtype}")
    if isinstance(n_groups, bool) or not isinstance(n_groups, int | np.integer) or n_groups < 0:
        raise ValueError(f"n_groups must be a non-negative int; got {n_groups!r}")
    if groups.size and (groups.min() < 0 or groups.max() >= n_groups):
        raise ValueError(f"codes must lie in 0..{n_groups - 1}; got {groups.min()}..{groups.max()}")
    groups = groups.astype(np.intp, copy=False)
    counts = np.bincount(groups, minlength=n_groups).astype(np.int64)
    sums = np.bincount(groups, weights=values, minlength=n_groups)
    means = np.full(n_groups, np.nan)
    np.divide(sums, counts, out=means, where=counts > 0)
    return means, counts
