"""Renderers: pure functions from a :class:`rulecheck.verdict.Report` to text.

Each format is one module with one ``render(report) -> str`` function; :func:`renderer` imports
it on first use, so that re-rendering a saved report (``rulecheck report``) loads only the
renderer it needs (the HTML renderer alone imports matplotlib). Renderers never compute metrics.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from rulecheck.verdict import Report

__all__ = ["FORMATS", "FORMAT_BY_SUFFIX", "renderer"]

_MODULES = {
    "text": "rulecheck.report.text",
    "json": "rulecheck.report.json",
    "junit": "rulecheck.report.junit",
    "github": "rulecheck.report.github",
    "markdown": "rulecheck.report.markdown",
    "sarif": "rulecheck.report.sarif",
    "html": "rulecheck.report.html",
}
FORMATS = tuple(_MODULES)

# The format an output file's extension implies; any other extension gets text.
FORMAT_BY_SUFFIX = {
    ".json": "json",
    ".txt": "text",
    ".xml": "junit",
    ".sarif": "sarif",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}


def renderer(name: str) -> Callable[[Report], str]:
    """The ``render`` function of format ``name`` (one of :data:`FORMATS`)."""
    module = importlib.import_module(_MODULES[name])
    render: Callable[[Report], str] = module.render
    return render
