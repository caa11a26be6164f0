from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

import pytest

from rulecheck.policy import Policy, load_policy
from rulecheck.verdict import Report


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite golden files from the current output (review the diff before committing)",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


class EvaluateOnce:
    """``rulecheck.evaluate`` that runs each example policy once per test session.

    The examples take 1 to 25 s each and several test modules need the same report: the designed
    verdicts, the library oracles and the READMEs' shown output (run through ``rulecheck.cli``,
    which calls ``rulecheck.evaluation.evaluate``; patch that name with this object). Only calls
    that give a policy file and no other argument (a progress callback aside) are cached, keyed by
    the working directory and the policy file as given (it appears in the report) and its
    sha256; every other call runs.
    The process-wide loss registry is not part of the key: a policy that names a custom loss
    must be evaluated with its loss registered every time (only test_readme_outputs does so).
    """

    def __init__(self) -> None:
        from rulecheck.evaluation import evaluate

        self._evaluate = evaluate
        self._signature = inspect.signature(evaluate)
        self._defaults = {
            name: p.default
            for name, p in self._signature.parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        self._reports: dict[tuple[str, str, str], Report] = {}
        self.runs = 0  # evaluations made
        self.hits = 0  # evaluations reused

    def __call__(self, policy: Policy | str | Path, *args: Any, **kwargs: Any) -> Report:
        if not isinstance(policy, Policy):
            policy = load_policy(policy)
        given = self._signature.bind(policy, *args, **kwargs).arguments
        # A progress callback (the CLI's bar) does not change the report.
        overrides = {
            k: v
            for k, v in given.items()
            if k not in ("policy", "progress") and v is not self._defaults[k]
        }
        if overrides or policy.file is None:
            return self._evaluate(policy, *args, **kwargs)
        key = (os.getcwd(), policy.file, policy.sha256)
        if key not in self._reports:
            self.runs += 1
            self._reports[key] = self._evaluate(policy)
        else:
            self.hits += 1
        return self._reports[key]


@pytest.fixture(scope="session")
def evaluate_once() -> EvaluateOnce:
    return EvaluateOnce()
