"""JSON report: the complete, stable record of a run (schema documented in docs/report.md)."""

from __future__ import annotations

from rulecheck.verdict import Report

__all__ = ["render"]


def render(report: Report) -> str:
    return report.to_json(indent=2) + "\n"
