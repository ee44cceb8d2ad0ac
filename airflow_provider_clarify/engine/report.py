"""A self-contained HTML report of an analysis (``report.html`` beside analysis.json).

The page is rendered by Jinja2 (autoescape on) from ``engine/templates/``: ``report.html.j2`` is the
page, ``report.css`` its inline style, ``sections/<name>.html.j2`` one template per section and
``svg.html.j2`` the plot macros. This module only computes what the templates show (numbers,
statuses, plot coordinates); all markup lives in the templates.

Self-contained means no network at all: the CSS is inline and every plot is an inline SVG. Plots
read in grayscale: status is shown by marker shape and text (not colour alone), the fair band is a
light shaded region, PDP curves of several outputs differ by dash pattern and marker.

Sections, in :data:`SECTIONS` order (docs/engine.md, "The report", says how to add one):

1. Summary: what was analysed and how many bias metrics fall outside their fair band.
2. Warnings: the messages given to :func:`render_report_html` (e.g. data problems the run went on
   with); absent when there are none.
2b. Groups (when ``group_stats`` is given): per facet group, its size and share, its label and
   prediction rates next to everyone else's, and both confusion matrices (post-training).
3. Bias metrics, one table per stage / facet / group: value, a gauge with the metric's fair band, status.
   Fair bands (:data:`FAIR_BANDS`) are the usual rules of thumb, not legal thresholds: the four-fifths
   rule ``0.8 <= DI <= 1.25`` for the ratio, ``|x| <= 0.1`` for differences in [-1, 1], and
   ``x <= 0.1`` for divergences/distances. A metric outside its band is "flagged"; an infinite value
   is flagged; a metric that could not be computed shows its error.
4. Global SHAP importances per model output (bar chart, features sorted by value) and the expected
   value; top text units when present. Each bias metric also carries one plain sentence saying what
   it measures and which direction is unfair (``engine/metric_sentences.py``).
4b. Local SHAP values (when ``local_shap_csv`` is given): a beeswarm per model output, one dot per
   record and feature.
5. Partial dependence curves (numerical: line over bucket centres; categorical: bars), with the data
   distribution as a histogram underneath.
6. The analysis configuration that produced the numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import jinja2
import markupsafe

from airflow_provider_clarify.engine.metric_sentences import metric_sentence

DEFAULT_TITLE = "Analysis Report"

#: The sections in page order; each is ``templates/sections/<name>.html.j2`` and reads the context
#: built by :func:`report_context`. A section with nothing to show renders nothing.
SECTIONS: tuple[str, ...] = ("summary", "warnings", "groups", "bias", "shap", "local_shap", "pdp", "config")

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
SERIES = [("#2a5d9f", ""), ("#b45309", "6 3"), ("#0f766e", "2 3"), ("#6b21a8", "8 3 2 3")]
MARKERS = ["circle", "square", "triangle", "diamond"]
_STAGES = (("pre_training_bias_metrics", "Pre-training"), ("post_training_bias_metrics", "Post-training"))
_AGG_TEXT = {
    "mean_abs": "mean |SHAP value|",
    "mean_sq": "mean squared SHAP value",
    "median": "median SHAP value",
}


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


def metric_status(name: str, value: float | None) -> str:
    """``ok``, ``flagged`` or ``na`` for a metric value against its fair band."""
    if value is None or math.isnan(value):
        return "na"
    low, high = FAIR_BANDS.get(name, (-0.1, 0.1))
    return "ok" if low <= value <= high else "flagged"


# ------------------------------------------------------------------------------ plot geometry ---


def _gauge(name: str, value: float | None) -> dict:
    """A small axis (220 x 34) with the fair band shaded and the value marked."""
    width, pad = 220, 10
    lo, hi = AXIS_RANGES.get(name, DEFAULT_AXIS)
    band_lo, band_hi = FAIR_BANDS.get(name, (-0.1, 0.1))

    def sx(v: float) -> float:
        return pad + (min(max(v, lo), hi) - lo) / (hi - lo) * (width - 2 * pad)

    ref = 1.0 if name == "DI" else 0.0
    shown = value is not None and not math.isnan(value)
    return {
        "name": name,
        "width": width,
        "pad": pad,
        "band": (sx(band_lo), sx(band_hi) - sx(band_lo)),
        "ref": sx(ref) if lo <= ref <= hi else None,
        "ticks": [(sx(t), _fmt(t, 2)) for t in (lo, ref, hi)],
        "marker": (sx(value), metric_status(name, value)) if shown else None,
        "arrow": ("▶" if value > hi else "◀") if shown and not lo <= value <= hi else None,
    }


def _bars(values: dict[str, float], title: str, max_bars: int = 30) -> dict | None:
    """Horizontal bars sorted by value (largest first), zero axis shown, values printed."""
    items = sorted(values.items(), key=lambda kv: -kv[1])[:max_bars]
    if not items:
        return None
    label_w = min(240, max(80, 7 * max(len(k) for k, _ in items) + 10))
    bar_w, row_h, top = 440, 24, 10
    vmin = min(0.0, min(v for _, v in items))
    vmax = max(0.0, max(v for _, v in items))
    span = (vmax - vmin) or 1.0

    def sx(v: float) -> float:
        return label_w + (v - vmin) / span * bar_w

    rows = []
    for i, (name, value) in enumerate(items):
        x0, x1 = sorted((sx(0.0), sx(value)))
        rows.append({"name": name, "y": top + i * row_h, "x": x0, "w": max(x1 - x0, 1), "end": max(x1, sx(0.0)),
                     "text": _fmt(value), "exact": _fmt(value, 6)})  # fmt: skip
    axis_y = top + row_h * len(items) + 2
    return {
        "title": title,
        "width": label_w + bar_w + 90,
        "height": axis_y + 24,
        "label_w": label_w,
        "bar_w": bar_w,
        "row_h": row_h,
        "top": top,
        "zero": sx(0.0),
        "axis_y": axis_y,
        "rows": rows,
        "ticks": [(sx(t), _fmt(t, 3)) for t in (vmin, (vmin + vmax) / 2, vmax)],
    }


def _pdp(entry: dict) -> dict | None:
    """A PDP plot (380 x 250): curves per output over the feature values, data distribution underneath."""
    values = entry.get("feature_values") or []
    curves = entry.get("model_predictions") or []
    if not values or not curves:
        return None
    dist = entry.get("data_distribution") or []
    headers = entry.get("label_headers") or [f"label{i}" for i in range(len(curves))]
    numerical = entry.get("data_type") == "numerical"
    left, top, plot_w, plot_h, hist_h = 52, 12, 314, 150, 36
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

    grid = [ymin + margin + frac * (ymax - ymin - 2 * margin) for frac in (0.0, 0.5, 1.0)]
    hist_top = top + plot_h + 8
    dmax = max([_number(d) or 0.0 for d in dist] + [1e-12])
    series = []
    for c, curve in enumerate(curves):
        colour, dash = SERIES[c % len(SERIES)]
        points = [(sx(i), sy(v)) for i, v in enumerate(_number(v) for v in curve[:n]) if v is not None and math.isfinite(v)]  # fmt: skip
        series.append({"colour": colour, "dash": dash, "marker": MARKERS[c % len(MARKERS)], "points": points,
                       "line": numerical and len(points) > 1, "header": headers[c] if c < len(headers) else ""})  # fmt: skip
    step = max(1, math.ceil(n / 8))
    return {
        "name": entry.get("feature_name", ""),
        "left": left,
        "top": top,
        "plot_w": plot_w,
        "plot_h": plot_h,
        "grid": [(sy(v), _fmt(v, 3)) for v in grid],
        "bins": [
            {
                "x": sx(i) - plot_w / n * 0.4,
                "w": plot_w / n * 0.8,
                "h": (_number(d) or 0.0) / dmax * hist_h,
                "title": f"{values[i]}: {_fmt(_number(d), 3)} of records",
            }
            for i, d in enumerate(dist[:n])
        ],  # fmt: skip
        "hist_bottom": hist_top + hist_h,
        "labels": [
            (sx(i), _fmt(_number(values[i]), 2) if numerical else str(values[i])[:12])
            for i in range(0, n, step)
        ],
        "series": series,
        "marker_r": 3.2 if numerical else 4.5,
    }


# ---------------------------------------------------------------------------- section contexts ---


def _bias_tables(analysis: dict) -> list[dict]:
    tables = []
    for stage_key, stage in _STAGES:
        section = analysis.get(stage_key)
        if not isinstance(section, dict):
            continue
        for facet, groups in (section.get("facets") or {}).items():
            for group in groups or []:
                rows = []
                for metric in group.get("metrics") or []:
                    name = str(metric.get("name", ""))
                    value = _number(metric.get("value"))
                    band = FAIR_BANDS.get(name, (-0.1, 0.1))
                    rows.append({"name": name, "description": metric.get("description", ""),
                                 "value": _fmt(value), "error": metric.get("error") if value is None else None,
                                 "band": f"[{_fmt(band[0], 2)}, {_fmt(band[1], 2)}]",
                                 "status": metric_status(name, value), "gauge": _gauge(name, value),
                                 "sentence": metric_sentence(name)})  # fmt: skip
                tables.append({"stage": stage, "facet": str(facet), "group": str(group.get("value_or_threshold", "")),
                               "label": section.get("label", ""), "positive": section.get("label_value_or_threshold"),
                               "rows": rows})  # fmt: skip
    return tables


def _shap_outputs(analysis: dict) -> list[dict]:
    kernel = (analysis.get("explanations") or {}).get("kernel_shap")
    if not isinstance(kernel, dict):
        return []
    outputs = []
    for key, entry in kernel.items():
        raw = ((k, _number(v)) for k, v in (entry.get("global_shap_values") or {}).items())
        values = {k: v for k, v in raw if v is not None}
        texts = []
        for column, units in (entry.get("global_top_shap_text") or {}).items():
            unit_values = {k: v for k, v in ((k, _number(v)) for k, v in units.items()) if v is not None}
            texts.append({"column": column, "bars": _bars(unit_values, f"top units of {column}", 20)})
        outputs.append({"key": key, "expected": _fmt(_number(entry.get("expected_value"))),
                        "bars": _bars(values, f"SHAP importances for {key}"),
                        "rows": [(k, _fmt(v, 6)) for k, v in sorted(values.items(), key=lambda kv: -kv[1])],
                        "texts": texts})  # fmt: skip
    return outputs


def _summary(analysis: dict, config: dict, bias: list[dict], shap: list[dict]) -> dict:
    statuses = [row["status"] for table in bias for row in table["rows"]]
    cards = []
    if statuses:
        cards.append((str(statuses.count("flagged")), f"of {len(statuses)} bias metrics flagged"))
    facets = [str(f.get("name_or_index")) for f in config.get("facet") or [] if isinstance(f, dict)]
    if facets:
        cards.append((", ".join(facets), "facets"))
    if config.get("label") is not None:
        cards.append((str(config.get("label")), "label"))
    if shap and shap[0]["rows"]:
        cards.append((shap[0]["rows"][0][0], "most important feature"))
    methods = config.get("methods") or {}
    names = [m for m in ("pre_training_bias", "post_training_bias", "shap", "pdp") if m in methods]
    return {"cards": cards, "analyses": ", ".join(names) or "none", "dataset_type": config.get("dataset_type", "text/csv")}  # fmt: skip


def _rate(part: float, whole: float) -> str:
    return _fmt(part / whole, 3) if whole else "—"


def _group_side(counts: dict) -> dict:
    """One side (d or a) of a group: its size, label rate and, with predictions, its confusion matrix."""
    if "tp" in counts:
        tp, fp, fn, tn = (int(counts[k]) for k in ("tp", "fp", "fn", "tn"))
        n = tp + fp + fn + tn
        return {"n": n, "label_rate": _rate(tp + fn, n), "prediction_rate": _rate(tp + fp, n),
                "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn,
                              "accuracy": _rate(tp + tn, n), "tpr": _rate(tp, tp + fn), "fpr": _rate(fp, fp + tn)}}  # fmt: skip
    n = int(counts["n"])
    return {
        "n": n,
        "label_rate": _rate(int(counts["label_pos"]), n),
        "prediction_rate": None,
        "confusion": None,
    }


def _group_tables(group_stats: dict | None) -> list[dict]:
    """Per facet: each group's size and share, label and prediction rates, confusion matrices (d and a).

    ``group_stats`` maps facet -> group -> ``{"d": counts, "a": counts}`` where counts are
    ``{"tp", "fp", "fn", "tn"}`` (post-training: labels and predictions) or ``{"n", "label_pos"}``
    (labels only). d is the facet group, a everyone else.
    """
    tables = []
    for facet, groups in (group_stats or {}).items():
        rows = []
        for group, sides in groups.items():
            d, a = _group_side(sides["d"]), _group_side(sides["a"])
            total = d["n"] + a["n"]
            rows.append({"group": str(group), "d": d, "a": a, "share": _rate(d["n"], total)})
        tables.append(
            {"facet": str(facet), "rows": rows, "predictions": any(r["d"]["confusion"] for r in rows)}
        )
    return tables


#: Most records drawn per feature in the beeswarm (an evenly spaced subsample beyond that).
BEESWARM_MAX_POINTS = 400
BEESWARM_MAX_FEATURES = 12


def _beeswarm(local_shap_csv: str | None, analysis: dict) -> list[dict]:
    """One beeswarm per model output from ``explanations_shap/out.csv``: a row per feature (most
    important first), a dot per record at its SHAP value, dots stacked where they would overlap."""
    if not local_shap_csv:
        return []
    import csv
    import io

    reader = csv.reader(io.StringIO(local_shap_csv))
    header = next(reader, None)
    if not header:
        return []
    records = list(reader)
    kernel = (analysis.get("explanations") or {}).get("kernel_shap") or {}
    plots = []
    for key, entry in kernel.items():
        importance = {k: _number(v) or 0.0 for k, v in (entry.get("global_shap_values") or {}).items()}
        features = sorted(importance, key=lambda f: -abs(importance[f]))[:BEESWARM_MAX_FEATURES]
        columns = {f: header.index(f"{f}_{key}") for f in features if f"{f}_{key}" in header}
        if not columns:
            continue
        step = max(1, math.ceil(len(records) / BEESWARM_MAX_POINTS))
        sample = records[::step]
        values = {f: [v for v in (_number(r[i]) for r in sample if i < len(r)) if v is not None and math.isfinite(v)]
                  for f, i in columns.items()}  # fmt: skip
        every = [v for vs in values.values() for v in vs] or [0.0]
        lo, hi = min(min(every), 0.0), max(max(every), 0.0)
        span = (hi - lo) or 1.0
        label_w, plot_w, row_h, top, r = 140, 460, 34, 10, 2.2

        def sx(
            v: float, lo: float = lo, span: float = span, left: float = label_w, w: float = plot_w
        ) -> float:
            return left + (v - lo) / span * w

        rows = []
        for i, feature in enumerate(columns):
            centre = top + i * row_h + row_h / 2
            stacks: dict[int, int] = {}
            dots = []
            for v in values[feature]:
                x = sx(v)
                slot = stacks.get(int(x // (2 * r)), 0)
                stacks[int(x // (2 * r))] = slot + 1
                offset = min((slot + 1) // 2 * 2 * r, row_h / 2 - r) * (1 if slot % 2 else -1)
                dots.append((x, centre + offset))
            rows.append({"name": feature, "y": centre, "dots": dots, "count": len(values[feature])})
        axis_y = top + row_h * len(rows) + 2
        plots.append({"key": key, "records": len(records), "drawn": len(sample), "label_w": label_w,
                      "plot_w": plot_w, "width": label_w + plot_w + 20, "height": axis_y + 24, "top": top,
                      "axis_y": axis_y, "zero": sx(0.0), "r": r, "rows": rows,
                      "ticks": [(sx(t), _fmt(t, 3)) for t in (lo, (lo + hi) / 2, hi)]})  # fmt: skip
    return plots


def report_context(
    analysis: dict,
    analysis_config: dict,
    warnings: Iterable[str] = (),
    extra_sections: Sequence[str] = (),
    *,
    group_stats: dict | None = None,
    local_shap_csv: str | None = None,
) -> dict:
    """Everything the templates show, computed from analysis.json and its analysis_config.

    :param extra_sections: pre-rendered, escaped HTML ``<section>`` fragments (confidence intervals,
        the intersectional scan: ``engine/uncertainty_report.py``).
    :param group_stats: per-group counts (see :func:`_group_tables`) for the "Groups" section.
    :param local_shap_csv: the text of ``explanations_shap/out.csv`` for the SHAP beeswarm.
    """
    config = analysis_config or {}
    methods = config.get("methods") or {}
    bias, shap = _bias_tables(analysis), _shap_outputs(analysis)
    agg = (methods.get("shap") or {}).get("agg_method", "mean_abs")
    pdp = (analysis.get("explanations") or {}).get("pdp")
    return {
        "title": (methods.get("report") or {}).get("title") or DEFAULT_TITLE,
        "version": analysis.get("version", "1.0"),
        "sections": SECTIONS,
        "summary": _summary(analysis, config, bias, shap),
        "warnings": [str(w) for w in warnings],
        "bias": bias,
        "shap": {"agg": agg, "agg_text": _AGG_TEXT.get(agg, agg), "outputs": shap},
        "pdp": [
            {
                "name": e.get("feature_name", ""),
                "kind": e.get("data_type", ""),
                "error": e.get("error"),
                "plot": _pdp(e),
            }
            for e in (pdp if isinstance(pdp, list) else [])
        ],
        "config_json": json.dumps(config, indent=2, sort_keys=False, default=str),
        # Pre-rendered, already escaped <section> fragments (engine/uncertainty_report.py).
        "extra_sections": [markupsafe.Markup(s) for s in extra_sections],
        "groups": _group_tables(group_stats),
        "local_shap": _beeswarm(local_shap_csv, analysis),
    }


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("airflow_provider_clarify.engine", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_report_html(
    analysis: dict,
    analysis_config: dict,
    warnings: Iterable[str] = (),
    extra_sections: Sequence[str] = (),
    *,
    group_stats: dict | None = None,
    local_shap_csv: str | None = None,
) -> str:
    """The report as one self-contained HTML document (see the module docstring).

    :param warnings: messages shown in the report's "Warnings" section (one item each).
    :param extra_sections: pre-rendered, escaped HTML ``<section>`` fragments shown after the PDP
        section (confidence intervals and the intersectional scan, ``engine/uncertainty_report.py``).
    :param group_stats: per-group counts for the "Groups" section (sizes, label and prediction
        rates, confusion matrices); the section is left out without them.
    :param local_shap_csv: ``explanations_shap/out.csv`` (saved with ``save_local_shap_values``),
        drawn as a beeswarm per model output; left out without it.
    """
    context = report_context(
        analysis,
        analysis_config,
        warnings,
        extra_sections,
        group_stats=group_stats,
        local_shap_csv=local_shap_csv,
    )
    return _environment().get_template("report.html.j2").render(context)
