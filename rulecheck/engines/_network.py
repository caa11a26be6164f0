"""shap's GradientExplainer and DeepExplainer on a PyTorch module's preprocessed input.

With ``attribution`` and ``_agnostic``, the only modules that import shap (and this one torch),
inside the function that needs them.

Why GradientExplainer by default: it needs only gradients, so it explains any differentiable
module (custom layers, functional ops, residual blocks, normalisation), while DeepExplainer
(DeepLIFT rules) handles only the layer types shap has rules for (Linear, convolutions, pooling,
batch norm, ReLU, ELU, LeakyReLU, Sigmoid, Tanh) and is silently wrong for nonlinear functional
ops it cannot see. GradientExplainer's values are expected gradients: a Monte-Carlo estimate
(``GRADIENT_SAMPLES`` background/interpolation draws per row), so additivity holds only up to
its sampling error; DeepExplainer is additive up to float32 rounding for modules built of the
layers above. ``attribution.explainer: deep`` chooses it.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt

from rulecheck.engines._torch import Network, Output, eval_mode
from rulecheck.errors import InputError, TimeBudgetExceeded

__all__ = ["GRADIENT_SAMPLES", "network_values"]

FloatArray = npt.NDArray[np.float64]

# Expected-gradients samples per explained row (shap's default).
GRADIENT_SAMPLES = 200
# Rows per shap call; the deadline is checked in between.
NETWORK_CHUNK_ROWS = 50

_OVER_BUDGET = (
    "the {method} explainer exceeded the time budget ({elapsed:.1f} s spent, deadline passed) "
    "after explaining {done} of {total} rows; lower max_rows (on the rule or in attribution) "
    "or raise the time budget"
)


def network_values(
    network: Network,
    rows: npt.NDArray[Any],
    background: npt.NDArray[Any],
    index: int,
    output: Output,
    method: str,
    seed: int,
    deadline: float | None,
) -> tuple[FloatArray, float]:
    """(values on the preprocessed columns, expected output over the background).

    ``rows`` (explained) and ``background`` are preprocessed matrices.
    ``values[i].sum() + expected`` approximates row i's explained output (see the module docs).
    """
    import shap
    import torch

    module = network.explained(output, index)
    explained = torch.as_tensor(np.array(rows))
    reference = torch.as_tensor(np.array(background))
    inner = network.module
    # GradientExplainer reseeds numpy's global generator; restore the caller's state afterwards.
    state = np.random.get_state()
    started = time.monotonic()
    chunks: list[FloatArray] = []
    try:
        with eval_mode(module):
            with torch.no_grad():
                expected = float(module(reference).double().mean())
            if method == "deep":
                explainer: Any = shap.DeepExplainer(module, reference)
            else:
                explainer = shap.GradientExplainer(module, reference, batch_size=GRADIENT_SAMPLES)
            for start in range(0, explained.shape[0], NETWORK_CHUNK_ROWS):
                if start > 0 and deadline is not None and time.monotonic() > deadline:
                    raise TimeBudgetExceeded(
                        _OVER_BUDGET.format(
                            method=method,
                            elapsed=time.monotonic() - started,
                            done=start,
                            total=explained.shape[0],
                        ),
                        subject="time_budget_s",
                    )
                chunk = explained[start : start + NETWORK_CHUNK_ROWS]
                if method == "deep":
                    # Additivity is verified by rulecheck's tests, not on every run.
                    phi = explainer.shap_values(chunk, check_additivity=False)
                else:
                    # One seed per chunk, derived from the policy's seed: reproducible run to run.
                    phi = explainer.shap_values(
                        chunk, nsamples=GRADIENT_SAMPLES, rseed=seed + start
                    )
                chunks.append(np.asarray(phi, dtype=np.float64).reshape(chunk.shape[0], -1))
    except (InputError, TimeBudgetExceeded):
        raise
    except Exception as error:  # shap or the module fail on an unsupported layer
        raise InputError(
            f"shap's {method} explainer failed on {type(inner).__name__}: "
            f"{type(error).__name__}: {error}"
            + ("; try attribution.explainer: gradient" if method == "deep" else ""),
            subject="explainer",
        ) from error
    finally:
        np.random.set_state(state)
    return np.concatenate(chunks), expected
