"""Settings that a policy gives and engines read as they are (typed, validated once).

They live in the base layer so that the policy (which validates them) and the engines (which use
them) share one definition without importing each other.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AttributionSettings", "ExplainerName", "OutputName"]

ExplainerName = Literal["auto", "tree", "linear", "permutation", "exact", "gradient", "deep"]
OutputName = Literal["auto", "log_odds", "probability", "raw"]


class AttributionSettings(BaseModel):
    """How attributions are computed: once per run, shared by every rule that needs them."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, allow_inf_nan=False)

    explainer: ExplainerName = Field(
        default="auto",
        description="auto: exact TreeSHAP for tree models, exact linear SHAP for linear models, shap's GradientExplainer for PyTorch modules, else a model-agnostic explainer on a seeded background sample. gradient / deep: shap's GradientExplainer / DeepExplainer (PyTorch modules only).",
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


IntervalMethod = Literal["bootstrap", "analytic"]
OnInconclusive = Literal["warn", "fail", "pass"]
Correction = Literal["none", "holm"]


class BootstrapSettings(BaseModel):
    """Bootstrap size and seed: the same seed gives the same intervals, bit for bit."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, allow_inf_nan=False)

    n: int = Field(
        default=1000,
        ge=100,
        le=100_000,
        description="Bootstrap replicates (at least 100; 1000 gives 95% interval ends to about 0.1 of a standard error).",
    )
    seed: int = Field(default=0, ge=0, description="Seed of the resampling.")


class UncertaintySettings(BaseModel):
    """The policy's ``uncertainty:`` block: intervals on every value and how they judge.

    Without this block and without the same keys on a rule, verdicts compare point estimates.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, allow_inf_nan=False)

    confidence: float = Field(
        default=0.95,
        ge=0.5,
        le=0.9999,
        description="Two-sided confidence level of the intervals, e.g. 0.95.",
    )
    method: IntervalMethod = Field(
        default="bootstrap",
        description="bootstrap: stratified resampling of each group (confusion counts for count metrics, Poisson row weights otherwise); analytic: Wilson, Newcombe, Katz and DeLong intervals where they apply, else the bootstrap (the verdict says so).",
    )
    bootstrap: BootstrapSettings = Field(
        default_factory=BootstrapSettings, description="Bootstrap replicates and seed."
    )
    on_inconclusive: OnInconclusive = Field(
        default="warn",
        description="What an inconclusive verdict does to the gate: warn (passes, fails under --strict), fail (fails it as a failed rule of the rule's severity would) or pass.",
    )
    correction: Correction = Field(
        default="none",
        description="Multiple comparisons over every bound judged with an interval: none, or holm (Holm's step-down: the family-wise error rate stays at 1 - confidence).",
    )
