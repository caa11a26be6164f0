"""rulecheck: declarative fairness and interpretability rules for machine-learning models.

Public API::

    policy = rulecheck.load_policy("policy.yaml")
    report = rulecheck.evaluate(policy, data=frame, model=estimator, label="y")
    report.passed, report.verdicts, report.to_json()

Importing ``rulecheck`` is light: pydantic and the policy models load on the first
:func:`load_policy`, numpy, pandas and the engines on the first :func:`evaluate` call, shap only
when a rule needs attributions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rulecheck.errors import InputError, PolicyError, RulecheckError, UntrustedModelError
from rulecheck.verdict import ExitCode, GroupValue, Report, Status, Verdict

if TYPE_CHECKING:
    from rulecheck.engines.losses import register_loss
    from rulecheck.evaluation import evaluate
    from rulecheck.policy import CsvOptions, Policy, Target, load_policy

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


_POLICY_NAMES = frozenset({"CsvOptions", "Policy", "Target", "load_policy"})


def __getattr__(name: str) -> Any:
    # The policy models pull in pydantic, evaluate numpy and pandas: each loads on first use, so
    # that `import rulecheck` (and the pytest plugin, rulecheck.testing) imports neither.
    if name in _POLICY_NAMES:
        from rulecheck import policy

        return getattr(policy, name)
    if name == "evaluate":
        from rulecheck.evaluation import evaluate

        return evaluate
    if name == "register_loss":
        from rulecheck.engines.losses import register_loss

        return register_loss
    raise AttributeError(f"module 'rulecheck' has no attribute {name!r}")
