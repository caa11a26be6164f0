"""HTML report: one self-contained page (inline CSS and SVG plots; no script, no external URL).

A header with the provenance and the gate, a summary table linking to one section per rule, and
per rule its message, bounds, plot, the plot's figures as a table, notes, info and YAML source. Plots need matplotlib (the
``rulecheck[html]`` extra), imported only when this renderer runs. The page prints one rule per
page and never tells anything by colour alone: statuses are words, plots have legends and labels.
The output is deterministic: the same report gives the same bytes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping

from rulecheck.errors import InputError
from rulecheck.report._shared import CHANGE_BOUNDS as _CHANGE_BOUNDS
from rulecheck.report._shared import feature_table, group_table
from rulecheck.report._shared import num as _num
from rulecheck.report._shared import setting as _setting
from rulecheck.verdict import Check, Interval, Report, Scalar, Status, Verdict

__all__ = ["MISSING_MATPLOTLIB", "render"]

MISSING_MATPLOTLIB = "--format html needs matplotlib: pip install 'rulecheck[html]'"

_CSS = """
:root { --pass: #1b5e20; --fail: #b71c1c; --warn: #8a5300; --inconclusive: #006064;
  --error: #4a148c; --skipped: #4f4f4f; --waived: #0d47a1; --line: #d0d0d0; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a;
  margin: 0 auto; max-width: 1100px; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.55rem; margin: .4rem 0; } h2 { font-size: 1.2rem; margin: 0 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .3rem; }
a { color: #0b57d0; } a:focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }
.skip { position: absolute; left: -9999px; } .skip:focus { left: 1rem; top: .5rem; background: #fff; }
.gate { font-size: 1.1rem; padding: .5rem .8rem; border-left: 6px solid; margin: .6rem 0; }
.gate.passed { border-color: var(--pass); background: #e8f5e9; }
.gate.failed { border-color: var(--fail); background: #ffebee; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .5rem 0; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
code, pre, .hash { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .85em; }
pre code { font-size: 1em; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f3f3f3; } td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; min-width: 7.5em; text-align: center; font-weight: 700; font-size: .8rem;
  letter-spacing: .03em; padding: .1rem .4rem; border-radius: 3px; color: #fff; border: 1px solid transparent; }
.status-pass { background: var(--pass); } .status-fail { background: var(--fail); }
.status-warn { background: var(--warn); } .status-inconclusive { background: var(--inconclusive); }
.status-error { background: var(--error); } .status-skipped { background: var(--skipped); }
.status-waived { background: var(--waived); }
section.rule { border-top: 2px solid var(--line); padding-top: 1rem; margin-top: 1.6rem; }
section.rule > h2 { display: flex; gap: .6rem; align-items: baseline; flex-wrap: wrap; }
.kind { color: #555; font-weight: 400; font-size: .95rem; }
.message { font-size: 1.02rem; }
figure.plot { margin: .6rem 0; } figure.plot svg { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: .85rem; }
pre { background: #f6f8fa; border: 1px solid var(--line); padding: .6rem .8rem; overflow-x: auto; }
.errors { border-left: 6px solid var(--error); padding: .4rem .8rem; background: #f3e5f5; }
.back { font-size: .85rem; }
footer { margin-top: 2rem; color: #555; font-size: .85rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  .skip, .back { display: none; }
  a { color: inherit; text-decoration: none; }
  .badge { color: #000; background: none; border-color: #000; }
  .gate, pre, th, .errors { background: none; }
  section.rule { break-before: page; border-top: none; }
  figure.plot, pre, table { break-inside: avoid; }
}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def anchor(rule_id: str) -> str:
    """The id of a rule's section: ``rule-`` and the rule id, whitespace made ``-``."""
    return "rule-" + re.sub(r"\s", "-", rule_id)


def _badge(status: Status) -> str:
    return f'<span class="badge status-{status.value}">{status.value.upper()}</span>'


def _interval(interval: Interval | None) -> str:
    if interval is None:
        return ""
    n = f", n={interval.n}" if interval.n is not None else ""
    return f"{interval.describe()} ({interval.method}{n})"


def _value(verdict: Verdict) -> str:
    if verdict.bound in _CHANGE_BOUNDS and verdict.value is not None:
        return f"Δ{verdict.value:+.4g}"
    return _num(verdict.value)


def _bound(verdict: Verdict) -> str:
    return f"{verdict.bound} {_num(_setting(verdict))}" if verdict.bound else ""


def _dl(items: Iterable[tuple[str, object]], css: str = "meta") -> str:
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items if v not in (None, ""))
    return f'<dl class="{css}">{rows}</dl>' if rows else ""


def _where(values: Mapping[str, Scalar]) -> str:
    return str(values.get("path", values.get("source", "")))


def _header(report: Report) -> str:
    passed = report.passed
    code = int(report.exit_code())
    gate = "strict gate: warnings fail" if report.strict else "not strict: warnings pass"
    counts = ", ".join(
        f"{count} {status}"
        for status, count in report.counts().items()
        if count or status == "pass"
    )
    n = len(report.verdicts)
    data = report.data
    rows = f"{data['rows']} rows" if "rows" in data else ""
    if "where" in data:
        rows += f"; audited where {data['where']}: {data.get('selected_rows', '?')} rows"
    model = report.model
    versions = ", ".join(f"{k} {v}" for k, v in report.versions.items())
    meta = [
        (
            "Policy",
            f"{report.policy_name}" + (f" ({report.policy_file})" if report.policy_file else ""),
        ),
        ("Policy sha256", report.policy_sha256),
        ("Data", " · ".join(p for p in (_where(data), rows) if p)),
        ("Data sha256", data.get("sha256")),
        (
            "Model",
            " · ".join(
                str(p) for p in (_where(model), model.get("type"), model.get("format")) if p
            ),
        ),
        ("Model sha256", model.get("sha256")),
        ("Model notes", model.get("notes")),
        ("Created", report.created),
        ("Versions", versions),
    ]
    extra = [
        (f"Model {k}", v)
        for k, v in model.items()
        if k.startswith("baseline") and v not in (None, "")
    ]
    verdict_word = "passed" if passed else "failed"
    return (
        '<header>\n<a class="skip" href="#summary">Skip to the summary</a>\n'
        f"<h1>rulecheck report: {_e(report.policy_name)}</h1>\n"
        f'<p class="gate {verdict_word}"><strong>Gate {verdict_word.upper()}</strong> · '
        f"exit code {code} · {_e(gate)} · {n} {'rule' if n == 1 else 'rules'}: {_e(counts)}</p>\n"
        f"{_dl([*meta, *extra])}\n</header>\n"
    )


def _summary(report: Report) -> str:
    rows = []
    for v in report.verdicts:
        rows.append(
            f"<tr><td>{_badge(v.status)}</td>"
            f'<td><a href="#{_e(anchor(v.rule_id))}">{_e(v.rule_id)}</a></td>'
            f'<td>{_e(v.kind)}</td><td class="num">{_e(_value(v))}</td>'
            f'<td class="num">{_e(_bound(v))}</td><td>{_e(_interval(v.interval))}</td></tr>'
        )
    return (
        '<section id="summary" aria-labelledby="summary-title">\n'
        '<h2 id="summary-title">Summary</h2>\n<table>\n<thead><tr><th scope="col">Status</th>'
        '<th scope="col">Rule</th><th scope="col">Kind</th><th scope="col">Value</th>'
        '<th scope="col">Bound</th><th scope="col">Interval</th></tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody>\n</table>\n</section>\n"
    )


def _checks(checks: tuple[Check, ...]) -> str:
    if not checks:
        return ""
    rows = []
    for c in checks:
        held = "holds" if c.holds else ("inconclusive" if c.outcome == "inconclusive" else "broken")
        limit = _num(c.setting if c.setting is not None else c.limit)
        rows.append(
            f"<tr><td>{_e(c.bound)} {_e(limit)}</td><td>{_e(c.subject)}</td>"
            f'<td class="num">{_e(_num(c.value))}</td><td class="num">{_e(c.op)} {_e(_num(c.limit))}</td>'
            f"<td>{_e(_interval(c.interval))}</td><td>{_e(c.cases())}</td><td>{held}</td></tr>"
        )
    return (
        '<h3>Bounds</h3>\n<table class="checks"><thead><tr><th scope="col">Bound</th>'
        '<th scope="col">Measured</th><th scope="col">Value</th><th scope="col">Must be</th>'
        '<th scope="col">Interval</th><th scope="col">Cases</th><th scope="col">Result</th></tr>'
        "</thead><tbody>" + "".join(rows) + "</tbody></table>\n"
    )


_NUMERIC = frozenset({"n", "support", "value", "ratio", "baseline", "rank"})


def _table(title: str, header: list[str], rows: list[list[str]], css: str) -> str:
    """A data table under its own heading: every figure of the plot above, in words and numbers
    (what a reviewer copies into an audit report, and what a screen reader reads)."""
    head = "".join(f'<th scope="col">{_e(name)}</th>' for name in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_e(cell)}</td>' if name in _NUMERIC else f"<td>{_e(cell)}</td>"
            for name, cell in zip(header, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<h3>{_e(title)}</h3>\n<table class="{css}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>\n"
    )


def _figures(verdict: Verdict) -> str:
    """The per-group (or per-feature) figures as a table."""
    if verdict.groups:
        return _table("Groups", *group_table(verdict.groups), "groups")
    if verdict.features:
        return _table("Features", *feature_table(verdict.features), "features")
    return ""


def _plot(verdict: Verdict, index: int) -> str:
    """The rule's plot as a figure with an inline SVG, or "" where there is nothing to draw."""
    from rulecheck.report import _html_plots as plots

    prefix = f"plot{index}"
    deciding = next((c for c in verdict.checks if c.bound == verdict.bound), None)
    subject = deciding.subject if deciding is not None else verdict.kind
    if verdict.groups:
        title = f"{verdict.rule_id}: per-group values"
        caption = "Value per group; the shaded band is the range the bound allows."
        svg = plots.groups_svg(verdict, title, prefix)
    elif verdict.features:
        quantity = "association" if verdict.kind == "proxy" else "share"
        if verdict.bound == "max_mean_abs":
            quantity = "mean |attribution|"
        title = f"{verdict.rule_id}: {quantity} per feature"
        caption = (
            f"{quantity.capitalize()} per feature, in rank order; the dashed line is the bound."
        )
        svg = plots.features_svg(verdict, title, prefix, quantity)
    elif verdict.value is not None and verdict.checks:
        title = f"{verdict.rule_id}: {subject} against its bound"
        caption = f"{subject}: the bar is the value, the dashed line the bound."
        svg = plots.bullet_svg(verdict, title, prefix, subject)
    else:
        return ""
    return f'<figure class="plot">\n{svg}\n<figcaption>{_e(caption)}</figcaption>\n</figure>\n'


def _waiver_facts(verdict: Verdict) -> list[tuple[str, str | None]]:
    """The waiver of a WAIVED verdict: group, reason, owner, approver and expiry."""
    w = verdict.waiver
    if w is None:
        return []
    return [
        ("Waived group", w.group_label() or None),
        ("Waiver reason", w.reason),
        ("Waiver owner", w.owner),
        ("Approved by", w.approved_by),
        ("Waived until", w.expires),
    ]


def _rule(verdict: Verdict, index: int) -> str:
    v = verdict
    facts = [
        ("Severity", v.severity),
        ("Value", _value(v) if v.value is not None else None),
        ("Bound", _bound(v)),
        ("Threshold", _num(v.threshold) if v.threshold is not None else None),
        ("Interval", _interval(v.interval)),
        ("Cases", v.n),
        ("On inconclusive", v.on_inconclusive),
        *_waiver_facts(v),
        ("Time", f"{v.duration_s:.3f} s"),
    ]
    parts = [
        f'<section class="rule" id="{_e(anchor(v.rule_id))}" aria-labelledby="{_e(anchor(v.rule_id))}-title">\n'
        f'<h2 id="{_e(anchor(v.rule_id))}-title">{_badge(v.status)} '
        f'<a href="#{_e(anchor(v.rule_id))}">{_e(v.rule_id)}</a> <span class="kind">{_e(v.kind)}</span></h2>\n',
        f'<p class="message">{_e(v.message)}</p>\n',
        _dl(facts),
        _checks(v.checks),
        _plot(v, index),
        _figures(v),
    ]
    if v.baseline is not None:
        b = v.baseline
        rel = f" ({b.relative_change:+.2%})" if b.relative_change is not None else ""
        parts.append(
            f"<h3>Baseline</h3>\n<p>{_e(b.subject)}: baseline {_e(_num(b.baseline))}, candidate "
            f"{_e(_num(b.candidate))}, change {_e(f'{b.change:+.4g}')}{_e(rel)}"
            + (f"; {_e(_interval(b.interval))}" if b.interval else "")
            + "</p>\n"
        )
    if v.notes:
        parts.append(
            "<h3>Notes</h3>\n<ul>" + "".join(f"<li>{_e(n)}</li>" for n in v.notes) + "</ul>\n"
        )
    if v.info:
        parts.append("<h3>Info</h3>\n" + _dl(v.info))
    if v.source is not None:
        where = f"<code>{_e(v.source.where())}</code>"
        if v.source.text:
            parts.append(f"<h3>Source {where}</h3>\n<pre><code>{_e(v.source.text)}</code></pre>\n")
        else:
            parts.append(f"<h3>Source</h3>\n<p>{where}</p>\n")
    parts.append('<p class="back"><a href="#summary">Back to the summary</a></p>\n</section>\n')
    return "".join(parts)


def render(report: Report) -> str:
    """The HTML report of ``report``: one self-contained page (needs matplotlib for the plots).

    Raises :class:`~rulecheck.errors.InputError` when matplotlib is not installed.
    """
    try:
        import matplotlib  # noqa: F401  # the plots' dependency, only needed here
    except ImportError:
        raise InputError(MISSING_MATPLOTLIB) from None
    title = f"rulecheck: {report.policy_name} ({'passed' if report.passed else 'failed'})"
    errors = ""
    if report.errors:
        items = "".join(f"<li>{_e(e)} (no rule was evaluated)</li>" for e in report.errors)
        errors = f'<section class="errors" aria-label="Run errors"><h2>Errors</h2><ul>{items}</ul></section>\n'
    rules = "".join(_rule(v, i) for i, v in enumerate(report.verdicts, 1))
    version = report.versions.get("rulecheck", "")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + _header(report)
        + "<main>\n"
        + errors
        + _summary(report)
        + rules
        + "</main>\n"
        + f"<footer>Generated by rulecheck {_e(version)} from a report created {_e(report.created)}.</footer>\n"
        + "</body>\n</html>\n"
    )
