"""Renders the german_credit example's HTML report and screenshots its top as html-report.png.

Run from the repository root: ``PYTHONPATH=. python docs/images/make_screenshot.py``. Needs
matplotlib, playwright and a Chromium binary (the browser code of tests/report/browser.py).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from rulecheck.evaluation import evaluate
from rulecheck.policy import load_policy
from rulecheck.report.html import render
from tests.report.browser import open_page

OUT = Path(__file__).with_name("html-report.png")
WIDTH, HEIGHT = 1200, 1600  # the top of the page: header, summary and the first rules


def main() -> None:
    report = evaluate(load_policy("examples/german_credit/policy.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp) / "german_credit.html"
        page_path.write_text(render(report), encoding="utf-8")
        with open_page(page_path, WIDTH, HEIGHT) as opened:
            opened.page.screenshot(
                path=str(OUT), clip={"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT}
            )
            assert not opened.blocked
            assert not opened.console_errors
    print(f"{OUT}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
