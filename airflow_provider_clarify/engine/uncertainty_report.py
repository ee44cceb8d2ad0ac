"""Report sections for the sidecars: error bars of the bias metrics and the intersectional scan.

:func:`uncertainty_sections` returns self-contained, escaped HTML ``<section>`` fragments (jinja2
with autoescape) that ``render_report_html(..., extra_sections=...)`` appends to the report. Each
error bar is a small inline SVG: the interval as a line, the reported value as a dot and the metric's
neutral value (0, or 1 for DI) as a dashed tick, so "the interval straddles parity" is visible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import jinja2
from markupsafe import Markup

BAR_WIDTH = 220
BAR_HEIGHT = 18
#: The value of each metric that means "no difference between the groups".
NEUTRAL = {"DI": 1.0}

_ENV = jinja2.Environment(
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
)

_INTERVALS = _ENV.from_string(
    """<section id="confidence-intervals"><h2>Confidence intervals</h2>
<p class="note">{{ "%g" % (level * 100) }}% intervals ({{ resamples }} resamples of the group counts, seed {{ seed }}).
The line is the interval, the dot the reported value, the dashed tick the value of no difference.
An interval that crosses the tick means the data cannot tell the difference from chance;
n<sub>d</sub> is the facet group's size. Method and limits: docs/uncertainty.md.</p>
{% for block in blocks %}
<h3>{{ block.stage }} · facet <code>{{ block.facet }}</code> = {{ block.group }} (n<sub>d</sub> = {{ block.n_d }}, n<sub>a</sub> = {{ block.n_a }})</h3>
<table class="metrics"><thead><tr><th>Metric</th><th>Value</th><th>Interval</th><th>Method</th><th>Error bar</th></tr></thead><tbody>
{% for row in block.rows %}
<tr><td>{{ row.name }}</td><td>{{ row.value }}</td><td>{{ row.interval }}</td><td>{{ row.method }}</td><td>{{ row.bar }}</td></tr>
{% endfor %}
</tbody></table>
{% endfor %}
{% for shap in shap_blocks %}
<h3>Global SHAP values · {{ shap.label }} ({{ shap.agg_method }} over {{ shap.records }} records)</h3>
<table class="metrics"><thead><tr><th>Feature</th><th>Value</th><th>Interval</th><th>Error bar</th></tr></thead><tbody>
{% for row in shap.rows %}
<tr><td>{{ row.name }}</td><td>{{ row.value }}</td><td>{{ row.interval }}</td><td>{{ row.bar }}</td></tr>
{% endfor %}
</tbody></table>
{% endfor %}
</section>"""
)

_SCAN = _ENV.from_string(
    """<section id="intersections"><h2>Intersectional groups</h2>
<p class="note">Each group is compared with everyone else. Test: {{ test }}; p-values corrected with
{{ correction }} for {{ tested }} groups tested; groups under {{ min_group_size }} rows are not tested
({{ too_small }} such combinations).</p>
{% if facets %}
<h3>Intersectional facets</h3>
<table class="metrics"><thead><tr><th>Facet</th><th>Definition</th><th>n<sub>d</sub></th>{% for m in metric_names %}<th>{{ m }}</th>{% endfor %}<th>p-value</th></tr></thead><tbody>
{% for f in facets %}
<tr><td>{{ f.name }}</td><td><code>{{ f.definition }}</code></td><td>{{ f.n_d }}</td>{% for v in f.cells %}<td>{{ v }}</td>{% endfor %}<td>{{ f.p_value }}</td></tr>
{% endfor %}
</tbody></table>
{% endif %}
<h3>Scan of {{ columns }}: the {{ groups|length }} worst groups</h3>
<table class="metrics"><thead><tr><th>Group</th><th>n<sub>d</sub></th>{% for m in metric_names %}<th>{{ m }}</th>{% endfor %}<th>p-value</th><th>adjusted</th><th>Significant</th></tr></thead><tbody>
{% for g in groups %}
<tr><td><code>{{ g.text }}</code></td><td>{{ g.n_d }}</td>{% for v in g.cells %}<td>{{ v }}</td>{% endfor %}<td>{{ g.p_value }}</td><td>{{ g.adjusted }}</td><td>{{ g.significant }}</td></tr>
{% endfor %}
</tbody></table>
</section>"""
)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        return {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}.get(value)
    return float(value)


def _text(value: Any) -> str:
    number = _number(value)
    if number is None:
        return "n/a"
    if math.isinf(number) or math.isnan(number):
        return str(value)
    return f"{number:.4g}"


def error_bar(value: Any, lower: Any, upper: Any, neutral: float) -> Markup | str:
    """An inline SVG error bar, or ``""`` when there is no finite interval."""
    lo, hi, v = _number(lower), _number(upper), _number(value)
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    points = [lo, hi, neutral] + ([v] if v is not None and math.isfinite(v) else [])
    left, right = min(points), max(points)
    pad = (right - left) * 0.08 or 0.05
    left, right = left - pad, right + pad

    def x(number: float) -> float:
        return 4 + (number - left) / (right - left) * (BAR_WIDTH - 8)

    mid = BAR_HEIGHT / 2
    parts = [
        (
            f'<svg class="errorbar" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" viewBox="0 0 {BAR_WIDTH} {BAR_HEIGHT}" '
            f'role="img" aria-label="interval {lo:.4g} to {hi:.4g}">'
        ),
        (
            f'<line x1="{x(neutral):.1f}" y1="1" x2="{x(neutral):.1f}" y2="{BAR_HEIGHT - 1}" stroke="#829ab1" '
            'stroke-dasharray="2,2"/>'
        ),
        f'<line x1="{x(lo):.1f}" y1="{mid}" x2="{x(hi):.1f}" y2="{mid}" stroke="#243b53" stroke-width="2"/>',
        f'<line x1="{x(lo):.1f}" y1="{mid - 4}" x2="{x(lo):.1f}" y2="{mid + 4}" stroke="#243b53"/>',
        f'<line x1="{x(hi):.1f}" y1="{mid - 4}" x2="{x(hi):.1f}" y2="{mid + 4}" stroke="#243b53"/>',
    ]
    if v is not None and math.isfinite(v):
        parts.append(f'<circle cx="{x(v):.1f}" cy="{mid}" r="3.5" fill="#d64545"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # numbers only: nothing to escape


def intervals_section(doc: Mapping[str, Any]) -> str:
    """The error-bar section for a ``confidence_intervals.json`` document."""
    blocks = []
    for key, stage in (
        ("pre_training_bias_metrics", "Pre-training"),
        ("post_training_bias_metrics", "Post-training"),
    ):
        for facet, entries in ((doc.get(key) or {}).get("facets") or {}).items():
            for entry in entries:
                rows = []
                for metric in entry.get("metrics", []):
                    name = str(metric.get("name"))
                    lower, upper = metric.get("lower"), metric.get("upper")
                    interval = (
                        f"[{_text(lower)}, {_text(upper)}]"
                        if lower is not None and upper is not None
                        else "n/a"
                    )
                    rows.append(
                        {
                            "name": name,
                            "value": _text(metric.get("value")),
                            "interval": interval,
                            "method": metric.get("method") or metric.get("note") or "",
                            "bar": error_bar(metric.get("value"), lower, upper, NEUTRAL.get(name, 0.0)),
                        }
                    )
                blocks.append(
                    {
                        "stage": stage,
                        "facet": facet,
                        "group": entry.get("value_or_threshold"),
                        "n_d": entry.get("n_d"),
                        "n_a": entry.get("n_a"),
                        "rows": rows,
                    }
                )
    shap_blocks = []
    for label, block in (((doc.get("explanations") or {}).get("kernel_shap")) or {}).items():
        rows = [
            {
                "name": feature,
                "value": _text(item.get("value")),
                "interval": f"[{_text(item.get('lower'))}, {_text(item.get('upper'))}]",
                "bar": error_bar(item.get("value"), item.get("lower"), item.get("upper"), 0.0),
            }
            for feature, item in block.get("global_shap_values", {}).items()
        ]
        shap_blocks.append(
            {
                "label": label,
                "agg_method": block.get("agg_method"),
                "records": block.get("records"),
                "rows": rows,
            }
        )
    return _INTERVALS.render(
        level=doc["level"],
        resamples=doc["resamples"],
        seed=doc["seed"],
        blocks=blocks,
        shap_blocks=shap_blocks,
    )


def scan_section(doc: Mapping[str, Any]) -> str:
    """The intersectional section for an ``intersectional_bias.json`` document."""
    metric_names = list(doc.get("metrics") or [])

    def values(item: Mapping[str, Any]) -> list[str]:
        by_name = {m["name"]: m for m in item.get("metrics", [])}
        out = []
        for name in metric_names:
            metric = by_name.get(name, {})
            text = _text(metric.get("value"))
            if metric.get("lower") is not None and metric.get("upper") is not None:
                text += f" [{_text(metric['lower'])}, {_text(metric['upper'])}]"
            out.append(text)
        return out

    scan = doc.get("scan") or {}
    facets = [
        {
            "name": f["name"],
            "definition": f["definition"],
            "n_d": f["n_d"],
            "cells": values(f),
            "p_value": _text(f.get("p_value")),
        }
        for f in doc.get("facets") or []
    ]
    groups = [
        {
            "text": g["text"],
            "n_d": g["n_d"],
            "cells": values(g),
            "p_value": _text(g.get("p_value")),
            "adjusted": _text(g.get("adjusted_p_value")),
            "significant": "yes" if g.get("significant") else "no",
        }
        for g in (scan.get("groups") or [])[: int(doc.get("top", 10))]
    ]
    return _SCAN.render(
        test=doc.get("test", ""),
        correction=doc.get("correction", ""),
        tested=scan.get("groups_tested", 0),
        min_group_size=doc.get("min_group_size"),
        too_small=scan.get("groups_too_small", 0),
        facets=facets,
        metric_names=metric_names,
        columns=", ".join(scan.get("columns") or []) or "(no columns)",
        groups=groups,
    )


def uncertainty_sections(intervals: Mapping[str, Any] | None, scan: Mapping[str, Any] | None) -> list[str]:
    """The report sections for whichever sidecars exist."""
    sections = []
    if intervals:
        sections.append(intervals_section(intervals))
    if scan:
        sections.append(scan_section(scan))
    return sections
