"""Integrations with other tools; each module imports its tool only when called.

- :mod:`rulecheck.integrations.mlflow`: log a report to an MLflow run (artifacts, metrics, tags).
"""
