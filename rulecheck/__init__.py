"""rulecheck: declarative fairness and interpretability rules for machine-learning models.

Public API::

    policy = rulecheck.load_policy("policy.yaml")
    report = rulecheck.evaluate(policy, data=frame, model=estimator, label="y")
    report.passed, report.verdicts, report.to_json()

Importing ``rulecheck`` is light: numpy, pandas and the engines load on the first
:func:`evaluate` call, shap only when a rule needs attributions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rulecheck.errors import InputError, PolicyError, RulecheckError, UntrustedModelError
from rulecheck.policy import CsvOptions, Policy, Target, load_policy
from rulecheck.verdict import ExitCode, GroupValue, Report, Status, Verdict

if TYPE_CHECKING:
    from rulecheck.engines.losses import register_loss
    from rulecheck.evaluation import evaluate

__all__ = [
    "CsvOptions",
    "ExitCode",
    "GroupValue",
    "InputError",
    "Policy",
    "PolicyError",
    "Report",
    "RulecheckError",
    "Status",
    "Target",
    "UntrustedModelError",
    "Verdict",
    "__version__",
    "evaluate",
    "load_policy",
    "register_loss",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # evaluate pulls in numpy and pandas; load it on first use so that `import rulecheck` and
    # `rulecheck validate` stay fast.
    if name == "evaluate":
        from rulecheck.evaluation import evaluate

        return evaluate
    if name == "register_loss":
        from rulecheck.engines.losses import register_loss

        return register_loss
    raise AttributeError(f"module 'rulecheck' has no attribute {name!r}")
