"""Run the focal-loss audit without installing the plugin.

From the repository root (rulecheck installed, ``pip install -e .``)::

    python examples/custom_loss/run.py

This is what ``pip install ./examples/custom_loss && rulecheck check
examples/custom_loss/policy.yaml`` does, minus the install: the ``rulecheck_focal`` folder is put
on ``sys.path`` and :func:`rulecheck_focal.register` adds ``focal`` to rulecheck's process-wide
loss registry before the policy is evaluated. Prints the text report and exits with the report's
exit code (1 here: one rule fails on purpose).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import rulecheck
from rulecheck.report.text import render

HERE = Path(__file__).resolve().parent
POLICY = HERE / "policy.yaml"


def main() -> int:
    sys.path.insert(0, str(HERE))
    import rulecheck_focal

    rulecheck_focal.register(overwrite=True)  # overwrite: harmless if run twice in one process
    # Relative to the working directory, so that the report shows short paths.
    report = rulecheck.evaluate(Path(os.path.relpath(POLICY)))
    print(render(report), end="")
    return int(report.exit_code())


if __name__ == "__main__":
    sys.exit(main())
