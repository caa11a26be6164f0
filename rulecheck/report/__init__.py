"""Renderers: pure functions from a :class:`rulecheck.verdict.Report` to text.

Each format is one module with one ``render(report, ...) -> str`` function; ``RENDERERS`` maps the
``--format`` names to them. Renderers never compute metrics.
"""

from __future__ import annotations

from collections.abc import Callable

from rulecheck.report import json as json_format
from rulecheck.report import text as text_format
from rulecheck.verdict import Report

__all__ = ["FORMATS", "RENDERERS"]

RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": text_format.render,
    "json": json_format.render,
}
FORMATS = tuple(RENDERERS)
