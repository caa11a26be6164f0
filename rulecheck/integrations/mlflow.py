"""Log a rulecheck report to an MLflow run (``pip install 'rulecheck[mlflow]'``).

Example::

    import rulecheck
    from rulecheck.integrations.mlflow import log_report

    report = rulecheck.evaluate("policy.yaml", model="models:/credit@champion")
    log_report(report)  # to the active run, or to a new one

What is logged, under ``prefix`` (default ``rulecheck``):

- artifacts ``rulecheck/report.json`` (:meth:`Report.to_json`) and ``rulecheck/report.html``
  (when ``html=True`` and matplotlib is installed, as ``--format html`` needs);
- one metric per verdict with a value: ``rulecheck.<rule id>.value`` (characters MLflow does not
  allow in a key, which only a prefix can hold, become ``_``);
- tags ``rulecheck.passed`` (``true``/``false``), ``rulecheck.exit_code`` (0, 1 or 2), and
  ``rulecheck.<rule id>.status`` (pass, fail, warn, error, ...) per verdict.
"""

from __future__ import annotations

import importlib.util
import math
import re
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rulecheck.verdict import Report

__all__ = ["log_report", "metric_key"]

# MLflow's allowed characters in metric keys on every platform (mlflow.utils.validation:
# letters and digits of any script, "_", "-", ".", " ", "/"; colons are refused on Windows).
_NOT_ALLOWED = re.compile(r"[^\w\-. /]")


def metric_key(*parts: str) -> str:
    """A metric or tag key from ``parts`` joined by dots, with disallowed characters as ``_``.

    >>> metric_key("audit:v2", "écart-sexe", "value")
    'audit_v2.écart-sexe.value'
    """
    return ".".join(_NOT_ALLOWED.sub("_", part) for part in parts)


def log_report(
    report: Report, *, run_id: str | None = None, html: bool = True, prefix: str = "rulecheck"
) -> str:
    """Log ``report`` to the run ``run_id`` (default: the active run, else a new run, which is
    ended afterwards) and return the run id. See the module documentation for what is logged."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric, RunTag

    started = None
    if run_id is None:
        active = mlflow.active_run()
        if active is None:
            started = mlflow.start_run()
            active = started
        run_id = active.info.run_id
    client = MlflowClient()
    folder = metric_key(prefix)
    try:
        client.log_text(run_id, report.to_json(), f"{folder}/report.json")
        if html and importlib.util.find_spec("matplotlib") is not None:
            from rulecheck.report import renderer

            client.log_text(run_id, renderer("html")(report), f"{folder}/report.html")
        now = int(time.time() * 1000)
        metrics = [
            Metric(metric_key(prefix, v.rule_id, "value"), float(v.value), now, 0)
            for v in report.verdicts
            if v.value is not None and math.isfinite(v.value)
        ]
        tags = [
            RunTag(metric_key(prefix, "passed"), str(report.passed).lower()),
            RunTag(metric_key(prefix, "exit_code"), str(int(report.exit_code()))),
            *(
                RunTag(metric_key(prefix, v.rule_id, "status"), v.status.value)
                for v in report.verdicts
            ),
        ]
        for start in range(0, max(len(metrics), 1), 1000):  # MLflow's batch limit
            client.log_batch(
                run_id,
                metrics=metrics[start : start + 1000],
                tags=tags if start == 0 else [],
            )
    finally:
        if started is not None:
            mlflow.end_run()
    return run_id
