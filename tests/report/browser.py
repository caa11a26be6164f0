"""Opens a local HTML file in headless Chromium with the network blocked (playwright).

Shared by tests/report/test_html.py and docs/images/make_screenshot.py. Every request but the
page's own file:// URL is aborted and recorded, and console errors are collected, so that a
test can assert that a report is self-contained.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The path of a Chromium-family browser on PATH, or None."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class OpenedPage:
    page: Any  # playwright.sync_api.Page
    blocked: list[str] = field(default_factory=list)  # requests other than the page, aborted
    console_errors: list[str] = field(default_factory=list)


@contextmanager
def open_page(path: Path, width: int = 1200, height: int = 1600) -> Iterator[OpenedPage]:
    """``path`` opened in headless Chromium, with every other request aborted and recorded."""
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    url = path.resolve().as_uri()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            opened = OpenedPage(page)

            def route(request_route: Any) -> None:
                request = request_route.request
                if request.url == url:
                    request_route.continue_()
                else:
                    opened.blocked.append(request.url)
                    request_route.abort()

            context.route("**/*", route)
            page.on(
                "console",
                lambda msg: opened.console_errors.append(msg.text) if msg.type == "error" else None,
            )
            page.on("pageerror", lambda exc: opened.console_errors.append(str(exc)))
            page.goto(url, wait_until="load")
            yield opened
        finally:
            browser.close()
