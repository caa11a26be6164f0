"""Settings that a policy gives and engines read as they are (typed, validated once).

They live in the base layer so that the policy (which validates them) and the engines (which use
them) share one definition without importing each other.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AttributionSettings", "ExplainerName", "OutputName"]

ExplainerName = Literal["auto", "tree", "linear", "permutation", "exact"]
OutputName = Literal["auto", "log_odds", "probability", "raw"]


class AttributionSettings(BaseModel):
    """How attributions are computed: once per run, shared by every rule that needs them."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, allow_inf_nan=False)

    explainer: ExplainerName = Field(
        default="auto",
        description="auto: exact TreeSHAP for tree models, exact linear SHAP for linear models, else a model-agnostic explainer on a seeded background sample.",
    )
    output: OutputName = Field(
        default="auto",
        description="The explained model output (auto: log-odds for logistic tree/linear models, probability for model-agnostic classifiers, raw for regressors).",
    )
    max_rows: int | None = Field(
        default=None,
        ge=1,
        description="Explain a seeded sample of at most this many rows (default: every row for the tree and linear explainers, 200 for the model-agnostic ones, which cost about 0.5 s per row).",
    )
    background_size: int = Field(
        default=100,
        ge=1,
        description="Background rows for the model-agnostic and interventional explainers.",
    )
    seed: int = Field(
        default=0,
        ge=0,
        description="Seed of the row and background samples and of the permutations.",
    )
