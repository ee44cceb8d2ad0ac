"""A self-contained HTML report of an analysis (``report.html`` beside analysis.json).

Self-contained means no network at all: the CSS is inline and every plot is an inline SVG drawn here.
Plots read in grayscale: status is shown by marker shape and text (not colour alone), the fair band is
a light shaded region, PDP curves of several outputs differ by dash pattern and marker.

Sections:

1. Summary: what was analysed and how many bias metrics fall outside their fair band.
2. Bias metrics, one table per stage / facet / group: value, a gauge with the metric's fair band, status.
   Fair bands (:data:`FAIR_BANDS`) are the usual rules of thumb, not legal thresholds: the four-fifths
   rule ``0.8 <= DI <= 1.25`` for the ratio, ``|x| <= 0.1`` for differences in [-1, 1], and
   ``x <= 0.1`` for divergences/distances. A metric outside its band is "flagged"; an infinite value
   is flagged; a metric that could not be computed shows its error.
3. Global SHAP importances per model output (bar chart, features sorted by value) and the expected
   value; top text units when present.
4. Partial dependence curves (numerical: line over bucket centres; categorical: bars), with the data
   distribution as a histogram underneath.
5. The analysis configuration that produced the numbers.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from typing import Any

DEFAULT_TITLE = "Analysis Report"

#: metric -> (low, high) fair band and the plotted axis range.
FAIR_BANDS: dict[str, tuple[float, float]] = {
    "DI": (0.8, 1.25),
    **{name: (-0.1, 0.1) for name in ("CI", "DPL", "CDDL", "DPPL", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT")},
    **{name: (0.0, 0.1) for name in ("KL", "JS", "LP", "TVD", "KS", "GE")},
}  # fmt: skip
AXIS_RANGES: dict[str, tuple[float, float]] = {
    "DI": (0.0, 2.0),
    **{name: (0.0, 1.0) for name in ("KL", "JS", "LP", "TVD", "KS", "GE")},
}
DEFAULT_AXIS = (-1.0, 1.0)

INK = "#1f2933"
MUTED = "#616e7c"
BAND = "#d9e2ec"
ACCENT = "#2a5d9f"
FLAG = "#b42318"
SERIES = [("#2a5d9f", ""), ("#b45309", "6 3"), ("#0f766e", "2 3"), ("#6b21a8", "8 3 2 3")]
MARKERS = ["circle", "square", "triangle", "diamond"]

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1f2933; background: #f5f7fa; margin: 0; }
header { background: #1f2933; color: #fff; padding: 28px 48px 22px; }
header h1 { margin: 0 0 4px; font-size: 28px; font-weight: 650; }
header p { margin: 0; color: #cbd2d9; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 32px 64px; }
section { background: #fff; border: 1px solid #d9e2ec; border-radius: 8px; padding: 20px 28px;
          margin: 20px 0; }
h2 { font-size: 21px; margin: 0 0 12px; border-bottom: 2px solid #1f2933; padding-bottom: 6px; }
h3 { font-size: 17px; margin: 22px 0 8px; }
h4 { font-size: 15px; margin: 16px 0 6px; color: #3e4c59; }
p.note { color: #616e7c; margin: 4px 0 12px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid #e4e7eb; vertical-align: middle; }
th { background: #f0f4f8; font-weight: 600; font-size: 13px; text-transform: uppercase;
     letter-spacing: .03em; color: #3e4c59; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; font-family: ui-monospace, Menlo, Consolas, monospace; }
tr.flagged td { background: #fdf2f2; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 10px; font-size: 12px; font-weight: 650;
         border: 1.5px solid currentColor; white-space: nowrap; }
.badge.ok { color: #1f2933; }
.badge.flagged { color: #fff; background: #b42318; border-color: #b42318; }
.badge.na { color: #616e7c; border-style: dashed; }
.summary { display: flex; gap: 16px; flex-wrap: wrap; margin: 8px 0; }
.card { flex: 1 1 180px; border: 1px solid #d9e2ec; border-radius: 8px; padding: 12px 16px; }
.card .big { font-size: 26px; font-weight: 700; display: block; }
.card .label { color: #616e7c; font-size: 13px; }
.legend { display: flex; gap: 18px; flex-wrap: wrap; font-size: 13px; color: #3e4c59; margin: 4px 0 10px; }
.legend span { display: inline-flex; align-items: center; gap: 6px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 18px; }
figure { margin: 0; }
figcaption { font-size: 13px; color: #616e7c; }
pre { background: #f0f4f8; border: 1px solid #d9e2ec; border-radius: 6px; padding: 14px; overflow-x: auto;
      font-size: 12.5px; line-height: 1.45; }
.error { color: #b42318; }
svg text { font-family: -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
"""


def _number(value: Any) -> float | None:
    """analysis.json values: numbers, "Infinity"/"-Infinity"/"NaN" strings, or null."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace("Infinity", "inf"))
        except ValueError:
            return None
    return None


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "—"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.3e}"
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def metric_status(name: str, value: float | None) -> str:
    """``ok``, ``flagged`` or ``na`` for a metric value against its fair band."""
    if value is None or math.isnan(value):
        return "na"
    low, high = FAIR_BANDS.get(name, (-0.1, 0.1))
    return "ok" if low <= value <= high else "flagged"


# ------------------------------------------------------------------------------------------- SVG ---


def _marker(kind: str, x: float, y: float, r: float, fill: str, stroke: str) -> str:
    if kind == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" fill="{fill}" stroke="{stroke}"/>'
    if kind == "triangle":
        pts = f"{x:.1f},{y - r * 1.2:.1f} {x - r * 1.1:.1f},{y + r * 0.9:.1f} {x + r * 1.1:.1f},{y + r * 0.9:.1f}"
        return f'<polygon points="{pts}" fill="{fill}" stroke="{stroke}"/>'
    if kind == "diamond":
        pts = f"{x:.1f},{y - r * 1.3:.1f} {x + r * 1.3:.1f},{y:.1f} {x:.1f},{y + r * 1.3:.1f} {x - r * 1.3:.1f},{y:.1f}"
        return f'<polygon points="{pts}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}" stroke="{stroke}"/>'


def gauge_svg(name: str, value: float | None) -> str:
    """A small axis with the fair band shaded and the value marked (diamond when flagged)."""
    width, height, pad = 220, 34, 10
    lo, hi = AXIS_RANGES.get(name, DEFAULT_AXIS)
    band_lo, band_hi = FAIR_BANDS.get(name, (-0.1, 0.1))

    def sx(v: float) -> float:
        v = min(max(v, lo), hi)
        return pad + (v - lo) / (hi - lo) * (width - 2 * pad)

    parts = [
        f'<svg class="gauge" role="img" aria-label="{_esc(name)} gauge" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f'<rect x="{sx(band_lo):.1f}" y="6" width="{sx(band_hi) - sx(band_lo):.1f}" height="14" fill="{BAND}"/>',
        f'<line x1="{pad}" y1="13" x2="{width - pad}" y2="13" stroke="{MUTED}" stroke-width="1"/>',
    ]
    ref = 1.0 if name == "DI" else 0.0
    if lo <= ref <= hi:
        parts.append(
            f'<line x1="{sx(ref):.1f}" y1="4" x2="{sx(ref):.1f}" y2="22" stroke="{MUTED}" stroke-dasharray="2 2"/>'
        )
    for tick in (lo, ref, hi):
        parts.append(
            f'<text x="{sx(tick):.1f}" y="32" font-size="9" text-anchor="middle" fill="{MUTED}">{_fmt(tick, 2)}</text>'
        )
    if value is not None and not math.isnan(value):
        status = metric_status(name, value)
        x = sx(value)
        if status == "flagged":
            parts.append(_marker("diamond", x, 13, 5, FLAG, INK))
        else:
            parts.append(_marker("circle", x, 13, 5, INK, INK))
        if value < lo or value > hi:
            arrow = "▶" if value > hi else "◀"
            parts.append(
                f'<text x="{x:.1f}" y="4" font-size="8" text-anchor="middle" fill="{INK}">{arrow}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart_svg(values: dict[str, float], *, title: str, max_bars: int = 30) -> str:
    """Horizontal bars sorted by value (largest first), zero axis shown, values printed."""
    items = sorted(values.items(), key=lambda kv: -kv[1])[:max_bars]
    if not items:
        return ""
    label_w = min(240, max(80, 7 * max(len(k) for k, _ in items) + 10))
    bar_w, row_h, top = 440, 24, 10
    width = label_w + bar_w + 90
    height = top + row_h * len(items) + 26
    vmin = min(0.0, min(v for _, v in items))
    vmax = max(0.0, max(v for _, v in items))
    span = (vmax - vmin) or 1.0

    def sx(v: float) -> float:
        return label_w + (v - vmin) / span * bar_w

    parts = [
        f'<svg class="bars" role="img" aria-label="{_esc(title)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for i, (name, value) in enumerate(items):
        y = top + i * row_h
        x0, x1 = sorted((sx(0.0), sx(value)))
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" font-size="12.5" text-anchor="end" fill="{INK}">{_esc(name)}</text>'
            f'<rect class="bar" x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 1):.1f}" height="{row_h - 8}" fill="{ACCENT}">'
            f"<title>{_esc(name)}: {_fmt(value, 6)}</title></rect>"
            f'<text x="{max(x1, sx(0.0)) + 6:.1f}" y="{y + 16}" font-size="11.5" fill="{INK}">{_fmt(value)}</text>'
        )
    axis_y = top + row_h * len(items) + 2
    parts.append(f'<line x1="{sx(0.0):.1f}" y1="{top}" x2="{sx(0.0):.1f}" y2="{axis_y}" stroke="{INK}"/>')
    parts.append(
        f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + bar_w}" y2="{axis_y}" stroke="{MUTED}"/>'
    )
    for tick in (vmin, (vmin + vmax) / 2, vmax):
        parts.append(
            f'<text x="{sx(tick):.1f}" y="{axis_y + 16}" font-size="10.5" text-anchor="middle" fill="{MUTED}">{_fmt(tick, 3)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def pdp_svg(entry: dict) -> str:
    """A PDP plot: curves per output over the feature values, data distribution underneath."""
    values = entry.get("feature_values") or []
    curves = entry.get("model_predictions") or []
    dist = entry.get("data_distribution") or []
    headers = entry.get("label_headers") or [f"label{i}" for i in range(len(curves))]
    if not values or not curves:
        return ""
    numerical = entry.get("data_type") == "numerical"
    width, height = 380, 250
    left, right, top, plot_h, hist_h = 52, 14, 12, 150, 36
    plot_w = width - left - right
    ys = [_number(v) for curve in curves for v in curve]
    ys = [v for v in ys if v is not None and math.isfinite(v)]
    ymin, ymax = (min(ys), max(ys)) if ys else (0.0, 1.0)
    if ymax - ymin < 1e-12:
        ymin, ymax = ymin - 0.05, ymax + 0.05
    margin = (ymax - ymin) * 0.08
    ymin, ymax = ymin - margin, ymax + margin
    n = len(values)

    def sx(i: int) -> float:
        return left + (i + 0.5) / n * plot_w

    def sy(v: float) -> float:
        return top + (ymax - v) / (ymax - ymin) * plot_h

    name = entry.get("feature_name", "")
    parts = [
        f'<svg class="pdp" role="img" aria-label="partial dependence on {_esc(name)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="{BAND}"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        v = ymin + margin + frac * (ymax - ymin - 2 * margin)
        parts.append(
            f'<line x1="{left}" y1="{sy(v):.1f}" x2="{left + plot_w}" y2="{sy(v):.1f}" stroke="{BAND}" stroke-dasharray="3 3"/>'
            f'<text x="{left - 6}" y="{sy(v) + 4:.1f}" font-size="10" text-anchor="end" fill="{MUTED}">{_fmt(v, 3)}</text>'
        )
    # distribution histogram
    hist_top = top + plot_h + 8
    dmax = max([_number(d) or 0.0 for d in dist] + [1e-12])
    for i, d in enumerate(dist[:n]):
        h = (_number(d) or 0.0) / dmax * hist_h
        w = plot_w / n * 0.8
        parts.append(
            f'<rect class="dist" x="{sx(i) - w / 2:.1f}" y="{hist_top + hist_h - h:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'fill="#bcccdc"><title>{_esc(values[i])}: {_fmt(_number(d), 3)} of records</title></rect>'
        )
    # curves
    for c, curve in enumerate(curves):
        colour, dash = SERIES[c % len(SERIES)]
        points = [
            (sx(i), sy(v))
            for i, v in enumerate(_number(v) for v in curve[:n])
            if v is not None and math.isfinite(v)
        ]
        if numerical and len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}/>'
            )
        for x, y in points:
            parts.append(_marker(MARKERS[c % len(MARKERS)], x, y, 3.2 if numerical else 4.5, colour, colour))
    # x labels (thinned)
    step = max(1, math.ceil(n / 8))
    for i in range(0, n, step):
        label = _fmt(_number(values[i]), 2) if numerical else str(values[i])[:12]
        parts.append(
            f'<text x="{sx(i):.1f}" y="{hist_top + hist_h + 14}" font-size="10" text-anchor="middle" fill="{MUTED}">{_esc(label)}</text>'
        )
    parts.append(
        f'<text x="12" y="{top + plot_h / 2:.1f}" font-size="10.5" fill="{MUTED}" transform="rotate(-90 12 {top + plot_h / 2:.1f})" text-anchor="middle">model output</text>'
    )
    parts.append("</svg>")
    legend = "".join(
        f'<span><svg width="26" height="12"><line x1="1" y1="6" x2="25" y2="6" stroke="{SERIES[c % len(SERIES)][0]}" stroke-width="2" '
        f'stroke-dasharray="{SERIES[c % len(SERIES)][1]}"/>{_marker(MARKERS[c % len(MARKERS)], 13, 6, 3, SERIES[c % len(SERIES)][0], SERIES[c % len(SERIES)][0])}</svg>{_esc(h)}</span>'
        for c, h in enumerate(headers[: len(curves)])
    )
    legend += '<span><svg width="14" height="12"><rect x="1" y="2" width="12" height="10" fill="#bcccdc"/></svg>share of records</span>'
    return "".join(parts) + f'<div class="legend">{legend}</div>'


# -------------------------------------------------------------------------------------- sections ---


def _bias_rows(analysis: dict) -> list[tuple[str, str, str, dict]]:
    rows = []
    for stage_key, stage in (
        ("pre_training_bias_metrics", "Pre-training"),
        ("post_training_bias_metrics", "Post-training"),
    ):
        section = analysis.get(stage_key)
        if not isinstance(section, dict):
            continue
        for facet, groups in (section.get("facets") or {}).items():
            for group in groups or []:
                rows.append((stage, str(facet), str(group.get("value_or_threshold", "")), group))
    return rows


def _bias_section(analysis: dict) -> tuple[str, int, int]:
    rows = _bias_rows(analysis)
    if not rows:
        return "", 0, 0
    flagged = total = 0
    out = ['<section id="bias"><h2>Bias metrics</h2>']
    out.append(
        '<p class="note">Each metric compares the facet group (d) with everyone else (a). The shaded band is the '
        "usual rule-of-thumb fair range: 0.8 ≤ DI ≤ 1.25 (four-fifths rule), |difference| ≤ 0.1, "
        "divergence ≤ 0.1. Values outside it are flagged for review; they are not verdicts.</p>"
    )
    out.append(
        '<div class="legend"><span><svg width="40" height="14"><rect x="2" y="2" width="36" height="10" fill="#d9e2ec"/></svg>fair band</span>'
        f'<span><svg width="14" height="14">{_marker("circle", 7, 7, 5, INK, INK)}</svg>within band</span>'
        f'<span><svg width="16" height="16">{_marker("diamond", 8, 8, 5, FLAG, INK)}</svg>flagged</span>'
        '<span><span class="badge na">n/a</span> not computed</span></div>'
    )
    for stage, facet, group, entry in rows:
        section = analysis.get(
            "pre_training_bias_metrics" if stage == "Pre-training" else "post_training_bias_metrics"
        )
        label = section.get("label", "")
        positive = section.get("label_value_or_threshold")
        out.append(f"<h3>{_esc(stage)} · facet <code>{_esc(facet)}</code> = {_esc(group)}</h3>")
        note = f"Label <code>{_esc(label)}</code>"
        if positive not in (None, ""):
            note += f", positive outcome {_esc(positive)}"
        out.append(f'<p class="note">{note}.</p>')
        out.append(
            '<table class="metrics"><thead><tr><th>Metric</th><th>Description</th><th>Value</th>'
            "<th>Fair band</th><th>Position</th><th>Status</th></tr></thead><tbody>"
        )
        for metric in entry.get("metrics") or []:
            name = str(metric.get("name", ""))
            value = _number(metric.get("value"))
            status = metric_status(name, value)
            total += 1
            flagged += status == "flagged"
            band = FAIR_BANDS.get(name, (-0.1, 0.1))
            badge = {"ok": "within band", "flagged": "FLAGGED", "na": "n/a"}[status]
            err = metric.get("error")
            shown = (
                _fmt(value) if err is None or value is not None else f'<span class="error">{_esc(err)}</span>'
            )
            out.append(
                f'<tr class="{status}"><td><strong>{_esc(name)}</strong></td><td>{_esc(metric.get("description", ""))}</td>'
                f'<td class="num">{shown}</td><td class="num">[{_fmt(band[0], 2)}, {_fmt(band[1], 2)}]</td>'
                f'<td>{gauge_svg(name, value)}</td><td><span class="badge {status}">{badge}</span></td></tr>'
            )
        out.append("</tbody></table>")
    out.append("</section>")
    return "".join(out), flagged, total


def _shap_section(analysis: dict, config: dict) -> str:
    kernel = (analysis.get("explanations") or {}).get("kernel_shap")
    if not isinstance(kernel, dict) or not kernel:
        return ""
    shap_config = (config.get("methods") or {}).get("shap") or {}
    agg = shap_config.get("agg_method", "mean_abs")
    agg_text = {
        "mean_abs": "mean |SHAP value|",
        "mean_sq": "mean squared SHAP value",
        "median": "median SHAP value",
    }
    out = ['<section id="shap"><h2>Global SHAP importances</h2>']
    out.append(
        f'<p class="note">How much each feature moves the model output, aggregated over the explained records '
        f"as the {_esc(agg_text.get(agg, agg))} ({_esc(agg)}). The expected value is the model's average output "
        'on the baseline (the output when every feature is "absent").</p>'
    )
    for key, entry in kernel.items():
        values = {
            k: v
            for k, v in ((k, _number(v)) for k, v in (entry.get("global_shap_values") or {}).items())
            if v is not None
        }
        out.append(f"<h3>Output <code>{_esc(key)}</code></h3>")
        out.append(
            f'<p class="note">Expected value: <strong>{_fmt(_number(entry.get("expected_value")))}</strong></p>'
        )
        out.append(f"<figure>{bar_chart_svg(values, title=f'SHAP importances for {key}')}</figure>")
        out.append('<table class="shap"><thead><tr><th>Feature</th><th>SHAP value</th></tr></thead><tbody>')
        for name, value in sorted(values.items(), key=lambda kv: -kv[1]):
            out.append(f'<tr><td>{_esc(name)}</td><td class="num">{_fmt(value, 6)}</td></tr>')
        out.append("</tbody></table>")
        for column, units in (entry.get("global_top_shap_text") or {}).items():
            unit_values = {k: v for k, v in ((k, _number(v)) for k, v in units.items()) if v is not None}
            out.append(f"<h4>Top text units in <code>{_esc(column)}</code></h4>")
            out.append(
                f"<figure>{bar_chart_svg(unit_values, title=f'top units of {column}', max_bars=20)}</figure>"
            )
    out.append("</section>")
    return "".join(out)


def _pdp_section(analysis: dict) -> str:
    entries = (analysis.get("explanations") or {}).get("pdp")
    if not isinstance(entries, list) or not entries:
        return ""
    out = ['<section id="pdp"><h2>Partial dependence</h2>']
    out.append(
        '<p class="note">The average model output when a feature is set to each value for every record, '
        "other features unchanged. Bars underneath show how the data is distributed over those values.</p>"
    )
    out.append('<div class="grid">')
    for entry in entries:
        name = entry.get("feature_name", "")
        kind = entry.get("data_type", "")
        out.append(f"<figure><h3>{_esc(name)}</h3><figcaption>{_esc(kind)}</figcaption>")
        if entry.get("error"):
            out.append(f'<p class="error">{_esc(entry["error"])}</p>')
        else:
            out.append(pdp_svg(entry))
        out.append("</figure>")
    out.append("</div></section>")
    return "".join(out)


def _summary(analysis: dict, config: dict, flagged: int, total: int) -> str:
    methods = config.get("methods") or {}
    cards = []
    if total:
        cards.append((str(flagged), f"of {total} bias metrics flagged"))
    facets = [str(f.get("name_or_index")) for f in config.get("facet") or [] if isinstance(f, dict)]
    if facets:
        cards.append((", ".join(facets), "facets"))
    if config.get("label") is not None:
        cards.append((str(config.get("label")), "label"))
    kernel = (analysis.get("explanations") or {}).get("kernel_shap") or {}
    if kernel:
        first = next(iter(kernel.values()))
        top = sorted(
            ((k, _number(v) or 0.0) for k, v in (first.get("global_shap_values") or {}).items()),
            key=lambda kv: -kv[1],
        )
        if top:
            cards.append((top[0][0], "most important feature"))
    names = [m for m in ("pre_training_bias", "post_training_bias", "shap", "pdp") if m in methods]
    body = "".join(
        f'<div class="card"><span class="big">{_esc(v)}</span><span class="label">{_esc(t)}</span></div>'
        for v, t in cards
    )
    return (
        '<section id="summary"><h2>Summary</h2>'
        f'<p class="note">Analyses run: {_esc(", ".join(names) or "none")}. Dataset type: '
        f"{_esc(config.get('dataset_type', 'text/csv'))}.</p>"
        f'<div class="summary">{body}</div></section>'
    )


def render_report_html(analysis: dict, analysis_config: dict, extra_sections: Sequence[str] = ()) -> str:
    """The report as one self-contained HTML document (see the module docstring).

    ``extra_sections``: pre-rendered, escaped HTML ``<section>`` fragments appended after the bias,
    SHAP and PDP sections (confidence intervals and the intersectional scan, engine/uncertainty_report.py).
    """
    config = analysis_config or {}
    report = (config.get("methods") or {}).get("report") or {}
    title = report.get("title") or DEFAULT_TITLE
    bias, flagged, total = _bias_section(analysis)
    sections = [
        _summary(analysis, config, flagged, total),
        bias,
        _shap_section(analysis, config),
        _pdp_section(analysis),
        *extra_sections,
    ]
    config_json = json.dumps(config, indent=2, sort_keys=False, default=str)
    sections.append(
        '<section id="config"><h2>Analysis configuration</h2>'
        '<p class="note">The analysis_config that produced these results.</p>'
        f"<pre>{_esc(config_json)}</pre></section>"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{_esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{_esc(title)}</h1><p>Fairness and explainability analysis · analysis.json version "
        f"{_esc(analysis.get('version', '1.0'))}</p></header>"
        f"<main>{''.join(s for s in sections if s)}</main></body></html>\n"
    )
