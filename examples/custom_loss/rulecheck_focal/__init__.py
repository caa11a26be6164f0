"""Binary focal loss for rulecheck, as an installable plugin or a function to register.

Focal loss (Lin et al., 2017) scales the log loss of each row by ``(1 - p_t) ** gamma``, where
``p_t`` is the probability the model gave to the observed label. Confident, correct rows ("easy"
rows) then count for almost nothing, and training concentrates on the hard ones. ``gamma=0`` is
the ordinary log loss.

Two ways to make ``loss: focal`` available to a policy:

- ``pip install ./examples/custom_loss``: the ``rulecheck.losses`` entry point in
  ``pyproject.toml`` points at :func:`focal`, and rulecheck imports it the first time a policy
  names ``focal``;
- without installing: put this folder on ``sys.path`` and call :func:`register` (``run.py``).

Examples
--------
>>> import numpy as np
>>> y_true = np.array([1, 0, 1])
>>> y_pred = np.array([0.9, 0.2, 0.5])
>>> np.round(focal(y_true, y_pred), 4).tolist()
[0.0011, 0.0089, 0.1733]
>>> np.round(focal(y_true, y_pred, gamma=0.0), 4).tolist()  # the log loss
[0.1054, 0.2231, 0.6931]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from rulecheck.engines.losses import LossRegistry, LossSpec

__all__ = ["focal", "register"]


def focal(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, gamma: float = 2.0
) -> npt.NDArray[np.float64]:
    """Binary focal loss per row: ``-(1 - p_t) ** gamma * log(p_t)``.

    Parameters
    ----------
    y_true : array of shape (n,)
        Labels 0 and 1 (or booleans).
    y_pred : array of shape (n,)
        Probability of label 1, in [0, 1].
    gamma : float, default=2.0
        Focusing parameter, >= 0. ``gamma=0`` gives the log loss.

    Returns
    -------
    ndarray of shape (n,), float64
        One loss per row; lower is better.

    Notes
    -----
    ``p_t`` is ``y_pred`` where the label is 1 and ``1 - y_pred`` where it is 0, clipped to
    ``[eps, 1 - eps]`` with ``eps`` the machine epsilon of float64, as scikit-learn's
    ``log_loss`` (and rulecheck's built-in ``log_loss``) clip. A confident mistake therefore
    costs at most ``-log(eps)``, about 36.04, instead of inf.
    """
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0; got {gamma!r}")
    y = np.asarray(y_true)
    p = np.asarray(y_pred, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of equal length; got {y.shape}, {p.shape}")
    positive = y.astype(bool) if y.dtype == np.bool_ else y == 1
    if not np.all(positive | (y == 0)):
        raise ValueError("y_true must contain only 0 and 1")
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError("y_pred must be probabilities in [0, 1]")
    eps = np.finfo(np.float64).eps
    p_t = np.clip(np.where(positive, p, 1 - p), eps, 1 - eps)
    return np.asarray(-((1 - p_t) ** gamma) * np.log(p_t), dtype=np.float64)


def register(*, overwrite: bool = False, registry: LossRegistry | None = None) -> LossSpec:
    """Register :func:`focal` as ``focal`` (input: probability, param: gamma) with rulecheck.

    Parameters
    ----------
    overwrite : bool, default=False
        Replace an earlier registration of ``focal`` instead of raising ValueError.
    registry : rulecheck.engines.losses.LossRegistry, optional
        Where to register; default: the process-wide registry that ``rulecheck check`` and
        ``rulecheck.evaluate`` use when they are not given one.
    """
    # Imported here so that the loss itself (the entry-point target) needs only numpy.
    from rulecheck.engines.losses import register_loss

    return register_loss(
        "focal", focal, input="probability", overwrite=overwrite, registry=registry
    )
