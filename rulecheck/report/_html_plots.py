"""The SVG plots of the HTML report, drawn with matplotlib's object API.

Imported only by :func:`rulecheck.report.html.render`, after it checked that matplotlib is
installed. No pyplot: a :class:`~matplotlib.figure.Figure` with its own canvas leaves the user's
backend and global state alone, and ``rc_context`` keeps the SVG settings to these figures.
Every plot says in text what its colours mean (legend entries, value labels, "excluded",
"undefined", "[selected]"), so that it reads in greyscale and to screen readers.
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from rulecheck.verdict import Check, FeatureValue, GroupValue, Verdict

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = ["bullet_svg", "features_svg", "groups_svg"]


def groups_svg(verdict: Verdict, title: str, prefix: str) -> str:
    """One horizontal bar per group (a panel per metric): see :func:`_groups_svg`."""
    with mpl.rc_context(_RC):
        return _groups_svg(verdict, title, prefix)


def features_svg(verdict: Verdict, title: str, prefix: str, axis_label: str) -> str:
    """One horizontal bar per feature: see :func:`_features_svg`."""
    with mpl.rc_context(_RC):
        return _features_svg(verdict, title, prefix, axis_label)


def bullet_svg(verdict: Verdict, title: str, prefix: str, axis_label: str) -> str:
    """A bullet chart of the value against its bounds: see :func:`_bullet_svg`."""
    with mpl.rc_context(_RC):
        return _bullet_svg(verdict, title, prefix, axis_label)


_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",  # text stays text: no embedded glyph paths, a few KB per plot
    "svg.hashsalt": "rulecheck",  # deterministic ids
    "font.size": 10,
    "font.family": "DejaVu Sans",  # bundled with matplotlib: same layout everywhere
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_METADATA: dict[str, str | None] = {"Date": None, "Creator": None, "Format": None, "Type": None}
_BAR = "#4c72b0"
_BASELINE = "#a8b8d0"
_EXCLUDED = "#c8c8c8"
_SELECTED = "#dd8452"
_LIMIT = "#b00020"
_ALLOWED = "#2e7d32"
_REFERENCE = "#333333"
_GROUP_BOUNDS = ("max_difference", "min_ratio", "max_ratio", "min", "max")
_LINE_BOUNDS = ("max_share", "min_share", "max_association", "max_mean_abs")
_MAX_BOUNDS = ("max_share", "max_association", "max_mean_abs")


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _finish(
    fig: Figure,
    title: str,
    prefix: str,
    legend: dict[str, Any] | None = None,
    ncols: int = 2,
) -> str:
    """The figure as an inline ``<svg>``: titled for screen readers, ids prefixed so that several
    plots on one page never share an id, no XML prolog and no metadata block. ``legend`` (label
    -> handle), when not empty, is drawn below the axes in ``ncols`` columns."""
    if legend:
        fig.legend(
            list(legend.values()),
            list(legend),
            loc="outside lower center",
            ncols=ncols,
            fontsize=8,
            frameon=False,
        )
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata=_METADATA)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    ids = sorted(set(re.findall(r'\bid="([^"]+)"', svg)), key=len, reverse=True)
    if ids:
        names = "|".join(re.escape(i) for i in ids)
        svg = re.sub(rf'(?:(?<=id=")|(?<=#))({names})(?=["\)])', rf"{prefix}-\1", svg)
    label = html.escape(title, quote=True)
    svg = svg.replace(
        "<svg ",
        f'<svg role="img" aria-label="{label}" aria-labelledby="{prefix}-title" ',
        1,
    )
    head_end = svg.index(">") + 1
    return f'{svg[:head_end]}\n<title id="{prefix}-title">{label}</title>{svg[head_end:]}'


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _span(values: Iterable[float], pad: float = 0.12) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    lo, hi = min([0.0, *finite]), max([0.0, *finite])
    if hi == lo:
        hi = lo + 1.0
    width = hi - lo
    return lo - (width * 0.02 if lo < 0 else 0.0), hi + width * pad


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# --- grouped rules ---------------------------------------------------------------------------


def _recompute(bound: str, reference: float, others: Sequence[float]) -> float | None:
    if not others:
        return None
    if bound == "max_difference":
        return max(abs(v - reference) for v in others)
    if reference == 0:
        return None
    if bound == "min_ratio":
        return min(others) / reference
    return max(others) / reference  # max_ratio


def _reference(check: Check, rows: Sequence[GroupValue]) -> tuple[float, GroupValue | None] | None:
    """The reference value a ``*_from reference`` / ``to overall`` check compared with, and the
    reference group (None for overall): the verdict does not name it, so it is the value that
    reproduces the check's value from the compared groups."""
    if check.value is None:
        return None
    compared = [g for g in rows if not g.excluded and g.value is not None]
    values = [g.value for g in compared if g.value is not None]
    if not values:
        return None
    if check.subject.endswith("overall"):
        if check.bound == "min_ratio" and check.value:
            return min(values) / check.value, None
        if check.bound == "max_ratio" and check.value:
            return max(values) / check.value, None
        weights = [g.support or g.n for g in compared]
        mean = sum(v * w for v, w in zip(values, weights, strict=True)) / max(sum(weights), 1)
        candidates = [v + s * check.value for v in values for s in (1.0, -1.0)]
        fitting = [
            c
            for c in candidates
            if _close(_recompute("max_difference", c, values) or 0, check.value)
        ]
        if not fitting:
            return None
        return min(fitting, key=lambda c: abs(c - mean)), None
    for group in compared:
        assert group.value is not None
        others = [v for g, v in zip(compared, values, strict=True) if g is not group]
        again = _recompute(check.bound, group.value, others)
        if again is not None and _close(again, check.value):
            return group.value, group
    return None


def _allowed(
    check: Check, rows: Sequence[GroupValue]
) -> tuple[float, float, float | None, GroupValue | None] | None:
    """The range of group values that the bound allows: (low, high, reference value, reference
    group); None when the bound does not map onto the group values (change bounds)."""
    limit = check.limit
    if check.bound == "min":
        return limit, math.inf, None, None
    if check.bound == "max":
        return -math.inf, limit, None, None
    if check.bound not in _GROUP_BOUNDS:
        return None
    values = [g.value for g in rows if not g.excluded and g.value is not None]
    if not values:
        return None
    between = check.subject.endswith(("between groups", "group"))
    if between:
        lowest = min(values)
        if check.bound == "max_difference":
            return lowest, lowest + limit, None, None
        if check.bound == "min_ratio":
            return (lowest, lowest / limit, None, None) if limit > 0 else None
        return lowest, lowest * limit, None, None
    found = _reference(check, rows)
    if found is None:
        return None
    ref, group = found
    if check.bound == "max_difference":
        return ref - limit, ref + limit, ref, group
    if check.bound == "min_ratio":
        return ref * limit, math.inf, ref, group
    return -math.inf, ref * limit, ref, group


def _allowed_words(check: Check, between: bool, reference: GroupValue | None) -> str:
    limit = _fmt(check.setting if check.setting is not None else check.limit)
    if check.bound in ("min", "max"):
        return f"{check.bound} {limit}"
    if between:
        return f"{check.bound} {limit} from the lowest group"
    return f"{check.bound} {limit} of the {'reference' if reference is not None else 'overall'}"


def _groups_svg(verdict: Verdict, title: str, prefix: str) -> str:
    """One horizontal bar per group (a panel per metric): the allowed range as a shaded band
    with its edges, the reference value as a line, intervals as whiskers, baseline bars beside
    the candidate's with the change written, excluded groups hatched grey, undefined ones named."""
    metrics: list[str | None] = list(dict.fromkeys(g.metric for g in verdict.groups))
    labels = list(dict.fromkeys(g.label() for g in verdict.groups))
    with_baseline = any(g.baseline_value is not None for g in verdict.groups)
    per_row = 2 if with_baseline else 1
    width = min(5.6 * len(metrics), 9.0) + max(min(max(map(len, labels)) * 0.075, 3.0), 0.9)
    height = 1.5 + 0.32 * len(labels) * per_row
    fig = _figure(width, height)
    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
    legend: dict[str, Patch | Line2D] = {}
    reference_label: str | None = None
    for ax, metric in zip(axes, metrics, strict=True):
        rows = [g for g in verdict.groups if g.metric == metric]
        checks = [c for c in verdict.checks if metric is None or c.metric in (None, metric)]
        ref_group = _draw_groups(ax, rows, labels, checks, with_baseline, legend)
        if ref_group is not None:
            reference_label = ref_group
        if metric is not None:
            ax.set_title(metric, fontsize=9)
    ticks = [f"{label} (reference)" if label == reference_label else label for label in labels]
    axes[0].set_yticks(range(len(labels)), ticks)
    axes[0].invert_yaxis()
    return _finish(fig, title, prefix, legend, ncols=min(len(legend), 2))


def _draw_groups(
    ax: Axes,
    rows: Sequence[GroupValue],
    labels: Sequence[str],
    checks: Sequence[Check],
    with_baseline: bool,
    legend: dict[str, Patch | Line2D],
) -> str | None:
    """Draws one metric's panel; returns the label of the reference group, if one was found."""
    height = 0.38 if with_baseline else 0.7
    shift = height / 2 if with_baseline else 0.0
    seen: list[float] = []
    ref_label: str | None = None
    low, high, words = -math.inf, math.inf, []
    reference: float | None = None
    for check in checks:
        allowed = _allowed(check, rows)
        if allowed is None:
            continue
        lo, hi, ref, group = allowed
        low, high = max(low, lo), min(high, hi)
        between = check.bound not in ("min", "max") and ref is None
        words.append(_allowed_words(check, between, group))
        if ref is not None:
            reference = ref
            ref_label = group.label() if group is not None else None
    for group in rows:
        y = labels.index(group.label())
        if group.undefined or group.value is None:
            ax.text(0, y, " undefined", va="center", ha="left", fontsize=8, style="italic")
            continue
        color = _EXCLUDED if group.excluded else _BAR
        hatch = "//" if group.excluded else None
        ax.barh(
            y - shift,
            group.value,
            height=height,
            color=color,
            hatch=hatch,
            edgecolor="#555555" if group.excluded else color,
        )
        seen.append(group.value)
        end = group.value
        if group.interval is not None:
            err_lo = max(group.value - group.interval.low, 0.0)
            err_hi = max(group.interval.high - group.value, 0.0)
            ax.errorbar(
                group.value,
                y - shift,
                xerr=[[err_lo], [err_hi]],
                fmt="none",
                ecolor="#222222",
                capsize=3,
                linewidth=1,
            )
            seen.append(group.interval.high)
            end = max(end, group.interval.high)
            legend.setdefault(
                f"{group.interval.confidence * 100:.4g}% interval",
                Line2D([], [], color="#222222", marker="|", linewidth=1),
            )
        text = _fmt(group.value) + (f"  excluded (n={group.n})" if group.excluded else "")
        ax.text(end, y - shift, f" {text}", va="center", ha="left", fontsize=8.5)
        if group.excluded:
            legend.setdefault(
                "excluded: too small to compare",
                Patch(facecolor=_EXCLUDED, hatch="//", edgecolor="#555555"),
            )
        if group.baseline_value is not None:
            ax.barh(y + shift, group.baseline_value, height=height, color=_BASELINE)
            change = group.value - group.baseline_value
            top = max(group.value, group.baseline_value)
            ax.text(
                top,
                y + shift,
                f" baseline {_fmt(group.baseline_value)} (Δ{change:+.3g})",
                va="center",
                ha="left",
                fontsize=8.5,
            )
            seen.append(group.baseline_value)
    if with_baseline:
        legend.setdefault("candidate", Patch(facecolor=_BAR))
        legend.setdefault("baseline", Patch(facecolor=_BASELINE))
    edges = [v for v in (low, high) if math.isfinite(v)]
    x_lo, x_hi = _span([*seen, *edges, *([reference] if reference is not None else [])], pad=0.35)
    ax.set_xlim(x_lo, x_hi)
    if words:
        band_lo, band_hi = max(low, x_lo), min(high, x_hi)
        label = "allowed: " + "; ".join(words)
        if band_lo <= band_hi:
            ax.axvspan(band_lo, band_hi, color=_ALLOWED, alpha=0.12, linewidth=0)
        for edge in edges:
            ax.axvline(edge, color=_ALLOWED, linestyle="--", linewidth=1.2)
        legend.setdefault(
            label, Patch(facecolor=_ALLOWED, alpha=0.3, edgecolor=_ALLOWED, linestyle="--")
        )
    if reference is not None:
        ax.axvline(reference, color=_REFERENCE, linestyle=":", linewidth=1.2)
        name = "reference group" if ref_label is not None else "overall value"
        legend.setdefault(
            f"{name} {_fmt(reference)}", Line2D([], [], color=_REFERENCE, linestyle=":")
        )
    ax.tick_params(axis="y", length=0)
    return ref_label


# --- attribution, loss attribution and proxy rules ---------------------------------------------


def _feature_value(verdict: Verdict, feature: FeatureValue) -> float:
    detail = dict(feature.detail)
    if verdict.bound == "max_mean_abs" and isinstance(detail.get("mean_abs"), int | float):
        return float(detail["mean_abs"])
    if verdict.kind == "proxy" and verdict.bound == "max_share":
        share = detail.get("attribution_share")
        if isinstance(share, int | float):
            return float(share)
    return feature.value


def _features_svg(verdict: Verdict, title: str, prefix: str, axis_label: str) -> str:
    """Horizontal bars per feature in rank order, selected features highlighted and marked
    "[selected]", the bound as a vertical line (shares, association) or as a line under the top
    ranks (max_rank)."""
    features = sorted(verdict.features, key=lambda f: f.rank)
    labels = []
    fig = _figure(8.4, 1.3 + 0.3 * len(features))
    ax = fig.add_subplot()
    legend: dict[str, Patch | Line2D] = {}
    values = [_feature_value(verdict, f) for f in features]
    for y, (feature, value) in enumerate(zip(features, values, strict=True)):
        detail = dict(feature.detail)
        selected = detail.get("selected") is True
        measure = detail.get("measure")
        label = feature.feature + (f" ({measure})" if measure else "")
        labels.append(label + (" [selected]" if selected else ""))
        ax.barh(
            y,
            value,
            height=0.7,
            color=_SELECTED if selected else _BAR,
            hatch="xx" if selected else None,
            edgecolor="#7a3d12" if selected else _BAR,
        )
        over = (
            verdict.bound in _MAX_BOUNDS
            and verdict.threshold is not None
            and value > verdict.threshold
        )
        text = _fmt(value) + (f" (over {verdict.bound})" if over else "")
        ax.text(value, y, f" {text}", va="center", ha="left", fontsize=8.5)
        if selected:
            legend.setdefault(
                "selected (the features the rule checks)",
                Patch(facecolor=_SELECTED, hatch="xx", edgecolor="#7a3d12"),
            )
    limit = verdict.threshold
    shown = [*values]
    if verdict.bound in _LINE_BOUNDS and limit is not None:
        shown.append(limit)
    ax.set_xlim(*_span(shown, pad=0.18))
    if verdict.bound in _LINE_BOUNDS and limit is not None:
        ax.axvline(limit, color=_LIMIT, linestyle="--", linewidth=1.4)
        legend[f"{verdict.bound} {_fmt(limit)}"] = Line2D([], [], color=_LIMIT, linestyle="--")
    elif verdict.bound == "max_rank" and limit is not None:
        inside = [y for y, f in enumerate(features) if f.rank <= limit]
        if inside:
            ax.axhline(max(inside) + 0.5, color=_LIMIT, linestyle="--", linewidth=1.4)
            legend[f"top {_fmt(limit)} ranks (max_rank {_fmt(limit)}: must rank below)"] = Line2D(
                [], [], color=_LIMIT, linestyle="--"
            )
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.tick_params(axis="y", length=0)
    ax.set_xlabel(axis_label, fontsize=8)
    return _finish(fig, title, prefix, legend)


# --- rules with one value (performance) ------------------------------------------------------


def _bullet_svg(verdict: Verdict, title: str, prefix: str, axis_label: str) -> str:
    """A bullet chart: the value as a bar, each bound on it as a line with the failing side
    hatched, the interval as a whisker, and the baseline's value as a second bar."""
    assert verdict.value is not None
    value = verdict.value
    checks = [c for c in verdict.checks if c.value is not None and _close(c.value, value)]
    base = verdict.baseline
    plot_baseline = base is not None and verdict.bound not in (
        "max_increase",
        "max_decrease",
        "max_relative_increase",
    )
    rows = 2 if plot_baseline else 1
    fig = _figure(8.4, 1.3 + 0.4 * rows)
    ax = fig.add_subplot()
    legend: dict[str, Patch | Line2D] = {}
    shown = [value, *(c.limit for c in checks)]
    if verdict.interval is not None:
        shown += [verdict.interval.low, verdict.interval.high]
    if plot_baseline and base is not None:
        shown.append(base.baseline)
    lo, hi = _span(shown, pad=0.12)
    if lo >= 0 and hi <= 1.12:
        lo, hi = 0.0, 1.0 if max(shown) <= 0.9 else 1.08
    ax.set_xlim(lo, hi)
    ax.barh(0, value, height=0.5, color=_BAR)
    ax.text(value, 0, f" {_fmt(value)}", va="bottom", ha="left", fontsize=8)
    if verdict.interval is not None:
        interval = verdict.interval
        ax.errorbar(
            value,
            0,
            xerr=[[max(value - interval.low, 0.0)], [max(interval.high - value, 0.0)]],
            fmt="none",
            ecolor="#222222",
            capsize=4,
        )
        legend[f"{interval.confidence * 100:.4g}% interval"] = Line2D(
            [], [], color="#222222", marker="|"
        )
    labels = ["candidate" if plot_baseline else "value"]
    if plot_baseline and base is not None:
        ax.barh(1, base.baseline, height=0.5, color=_BASELINE)
        ax.text(
            base.baseline,
            1,
            f" {_fmt(base.baseline)} (change {base.change:+.3g})",
            va="center",
            ha="left",
            fontsize=8,
        )
        labels.append("baseline")
    for check in checks:
        ax.axvline(check.limit, color=_LIMIT, linestyle="--", linewidth=1.4)
        if check.op == "<=":
            ax.axvspan(
                check.limit,
                hi,
                facecolor="none",
                hatch="..",
                edgecolor=_LIMIT,
                alpha=0.35,
                linewidth=0,
            )
        else:
            ax.axvspan(
                lo,
                check.limit,
                facecolor="none",
                hatch="..",
                edgecolor=_LIMIT,
                alpha=0.35,
                linewidth=0,
            )
        shown_limit = _fmt(check.setting if check.setting is not None else check.limit)
        legend[f"{check.bound} {shown_limit} (dotted side fails)"] = Line2D(
            [], [], color=_LIMIT, linestyle="--"
        )
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(rows - 0.5, -0.6)
    ax.tick_params(axis="y", length=0)
    ax.set_xlabel(axis_label, fontsize=8)
    return _finish(fig, title, prefix, legend)
