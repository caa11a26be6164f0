"""The HTML report: self-contained, escaped, one section and one plot per rule, and it opens in
a real browser without errors or network requests."""

from __future__ import annotations

import html
import os
import re
import shutil
import sys
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rulecheck.errors import InputError
from rulecheck.report import html as html_report
from rulecheck.report._shared import num
from rulecheck.verdict import (
    BaselineChange,
    Check,
    FeatureValue,
    GroupValue,
    Interval,
    Report,
    SourceRef,
    Status,
    Verdict,
)
from tests.conftest import EvaluateOnce
from tests.report.browser import find_chromium, open_page

EXAMPLES = ("compas", "german_credit", "adult")
# src= and href= attributes (xlink:href included) whose value is not a fragment (#...): a fetch.
# xmlns attributes are namespace names, never fetched, and do not match.
FETCHING = re.compile(r"""\b(?:src|href|srcset|action|data)\s*=\s*["']?(?!#)[^"'\s>]""", re.I)
VOID = {"meta", "link", "br", "hr", "img", "input", "col", "area", "base", "wbr", "source"}


@pytest.fixture(scope="module")
def reports(evaluate_once: EvaluateOnce) -> dict[str, Report]:
    found = {ex: evaluate_once(Path(f"examples/{ex}/policy.yaml")) for ex in EXAMPLES}
    found["hand-built"] = hand_built()
    return found


@pytest.fixture(scope="module")
def pages(reports: dict[str, Report]) -> dict[str, str]:
    return {name: html_report.render(report) for name, report in reports.items()}


def hand_built() -> Report:
    """ERROR and SKIPPED verdicts, a non-ASCII rule id, markup in a message, excluded and
    undefined groups, baseline values, a max_rank attribution and a change bound."""
    source = SourceRef("policy.yaml", 3, 5, "- id: 公平-dp\n  kind: demographic_parity  # <b>")
    groups = (
        GroupValue(
            (("sex", "f"),),
            120,
            0.31,
            baseline_value=0.28,
            interval=Interval(0.25, 0.37, 0.95, "wilson", 120),
        ),
        GroupValue(
            (("sex", "m"),),
            300,
            0.42,
            baseline_value=0.44,
            interval=Interval(0.38, 0.47, 0.95, "wilson", 300),
        ),
        GroupValue((("sex", "x"),), 4, 0.5, excluded=True),
        GroupValue((("sex", "<u>"),), 9, None, undefined=True),
    )
    check = Check(
        "max_difference",
        0.11,
        0.1,
        "<=",
        False,
        "selection_rate difference between groups",
        "selection_rate",
    )
    features = tuple(
        FeatureValue(name, share, rank, (("mean_abs", share * 3), ("selected", name == "age")))
        for rank, (name, share) in enumerate([("income", 0.4), ("age", 0.3), ("zip", 0.2)], 1)
    )
    change = Check("max_decrease", -0.03, -0.02, ">=", False, "change of accuracy", setting=0.02)
    return Report(
        policy_name="hand <built>",
        policy_file="policy.yaml",
        policy_sha256="0" * 64,
        created="2026-01-01T00:00:00+00:00",
        versions={"python": "3.11", "rulecheck": "0.1.0"},
        data={"path": "data.csv", "rows": 433, "sha256": "1" * 64},
        model={"path": "model.skops", "type": "Pipeline", "sha256": "2" * 64},
        verdicts=(
            Verdict(
                "公平-dp",
                "demographic_parity",
                Status.FAIL,
                "error",
                "gap <script>alert(1)</script> too large",
                source,
                0.11,
                0.1,
                "max_difference",
                (check,),
                groups,
                notes=("1 group <excluded>",),
            ),
            Verdict(
                "broken", "group_metric", Status.ERROR, "error", "column 'race' is missing", None
            ),
            Verdict("later", "performance", Status.SKIPPED, "warning", "skipped: not yet", None),
            Verdict(
                "age-not-top",
                "attribution",
                Status.WARN,
                "warning",
                "age ranks 2",
                None,
                2.0,
                2.0,
                "max_rank",
                (Check("max_rank", 2.0, 2.0, ">", False, "rank of age"),),
                features=features,
            ),
            Verdict(
                "accuracy-kept",
                "performance",
                Status.FAIL,
                "error",
                "accuracy fell by 0.03",
                None,
                -0.03,
                -0.02,
                "max_decrease",
                (change,),
                baseline=BaselineChange("accuracy", 0.86, 0.83, -0.03, -0.0349),
            ),
        ),
    )


class TagChecker(HTMLParser):
    """Fails on an end tag that closes another element than the last one opened."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids += [v for k, v in attrs if k == "id" and v is not None]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids += [v for k, v in attrs if k == "id" and v is not None]

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def check_tags(page: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(page)
    checker.close()
    assert not checker.problems, checker.problems[:5]
    assert not checker.stack, f"unclosed: {checker.stack}"
    return checker


def sections(page: str) -> dict[str, str]:
    """Each rule section's HTML by its id."""
    parts = re.split(r'(?=<section class="rule" id=")', page)[1:]
    return {re.match(r'<section class="rule" id="([^"]+)"', p).group(1): p for p in parts}  # type: ignore[union-attr]


def plotted(verdict: Verdict) -> bool:
    return bool(
        verdict.groups or verdict.features or (verdict.value is not None and verdict.checks)
    )


@pytest.mark.parametrize("name", [*EXAMPLES, "hand-built"])
def test_page_is_self_contained_complete_and_well_formed(
    name: str, reports: dict[str, Report], pages: dict[str, str]
) -> None:
    report, page = reports[name], pages[name]
    assert FETCHING.findall(page) == []
    assert "<script" not in page.lower().replace("&lt;script", "")
    assert "@import" not in page
    assert "url(http" not in page
    checker = check_tags(page)
    assert len(checker.ids) == len(set(checker.ids)), "duplicate ids"
    found = sections(page)
    for verdict in report.verdicts:
        section_id = html_report.anchor(verdict.rule_id)
        assert section_id in found, verdict.rule_id
        assert f'href="#{section_id}"' in page
        assert found[section_id].count("<svg") == (1 if plotted(verdict) else 0), verdict.rule_id
        if verdict.source is not None and verdict.source.text:
            assert verdict.source.where() in found[section_id]
        # The plotted figures are in a table too: every group's label, n and impact ratio.
        for group in verdict.groups:
            row = re.search(
                rf"<tr><td>{re.escape(html.escape(group.label()))}</td>.*?</tr>", found[section_id]
            )
            assert row is not None, (verdict.rule_id, group.label())
            assert f'<td class="num">{group.n}</td>' in row.group(0)
            if group.ratio is not None:
                assert f'<td class="num">{num(group.ratio)}</td>' in row.group(0)
        for feature in verdict.features:
            assert f"<td>{html.escape(feature.feature)}</td>" in found[section_id]
    assert ("Gate PASSED" if report.passed else "Gate FAILED") in page
    assert f"exit code {int(report.exit_code())}" in page
    for svg in re.findall(r"<svg\b.*?</svg>", page, flags=re.S):
        assert re.search(r"<svg[^>]*aria-label=\"[^\"]+\"", svg)
        assert "<title" in svg
    assert html_report.render(report) == page  # deterministic


def test_text_is_escaped(pages: dict[str, str]) -> None:
    page = pages["hand-built"]
    assert "<script>alert(1)</script>" not in page
    assert "gap &lt;script&gt;alert(1)&lt;/script&gt; too large" in page
    assert "hand &lt;built&gt;" in page
    assert "1 group &lt;excluded&gt;" in page
    assert 'id="rule-公平-dp"' in page
    assert 'href="#rule-公平-dp"' in page
    assert "kind: demographic_parity  # &lt;b&gt;" in page  # the YAML source, in <pre>
    assert "ERROR" in page
    assert "SKIPPED" in page


def test_thirty_rules_stay_small(reports: dict[str, Report]) -> None:
    pool = [v for name in EXAMPLES for v in reports[name].verdicts]
    verdicts = tuple(replace(pool[i % len(pool)], rule_id=f"rule-{i}") for i in range(30))
    page = html_report.render(replace(reports["german_credit"], verdicts=verdicts))
    size = len(page.encode())
    assert size < 3_000_000, size
    assert page.count("<svg") == sum(plotted(v) for v in verdicts)


def test_missing_matplotlib_names_the_extra(
    reports: dict[str, Report], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    with pytest.raises(InputError, match=re.escape("pip install 'rulecheck[html]'")):
        html_report.render(reports["hand-built"])


def _artifacts(tmp_path: Path, png: Path) -> None:
    """Copies a screenshot to $RULECHECK_ARTIFACTS when set (CI uploads that directory)."""
    target = os.environ.get("RULECHECK_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(target) / png.name)


@pytest.mark.browser
@pytest.mark.parametrize("name", [*EXAMPLES, "hand-built"])
def test_page_opens_in_chromium(
    name: str, reports: dict[str, Report], pages: dict[str, str], tmp_path: Path
) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium binary on PATH (chromium, chromium-browser, google-chrome)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    path = tmp_path / f"{name}.html"
    path.write_text(pages[name], encoding="utf-8")
    with open_page(path) as opened:
        page = opened.page
        text = page.inner_text("body")
        for verdict in reports[name].verdicts:
            assert verdict.rule_id in text
        boxes = page.eval_on_selector_all(
            "svg",
            "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })",
        )
        assert len(boxes) == pages[name].count("<svg")
        assert all(w > 0 and h > 0 for w, h in boxes), boxes
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.tagName") == "A"
        png = tmp_path / f"html-report-{name}.png"
        page.screenshot(path=str(png), full_page=True)
        assert opened.console_errors == []
        assert opened.blocked == []
    assert png.stat().st_size > 0
    _artifacts(tmp_path, png)
