"""The history record: a small, JSON-safe digest of one audit task's outcome.

One record per task per DAG run, pushed as an XCom under :data:`HISTORY_XCOM_KEY`::

    {
      "v": 1,
      "kind": "analysis" | "monitoring" | "gate",
      "result_uri": "s3://.../analysis_result" | null,
      "report_uri": "s3://.../analysis_result/report.html" | null,
      "metrics": [{"stage": "post_training", "facet": "gender", "group": "female",
                   "metric": "DI", "value": 0.33, "text": null}, ...],
      "shap": {"label": "label0", "values": {"income": 0.12, ...}} | null,
      "verdict": "passed" | "violated" | "inconclusive" | "skipped" | null,
      "violations": [{"metric": "DI", "stage": ..., "facet": ..., "group": ..., "value": 0.33,
                      "bound": "[0.8, 1.25]", "check": "threshold", "reason": "..."}],
      "bands": [{"metric": "DI", "stage": null, "facet": null, "group": null,
                 "lower": 0.8, "upper": 1.25}],
      "ndcg": 0.97 | null
    }

Non-finite numbers (``Infinity``, ``NaN``, which analysis.json may hold) are stored as ``value: null``
with their text in ``text``: JSON columns (PostgreSQL's JSONB) reject them. SHAP keeps the
:data:`MAX_FEATURES` largest importances, so a record stays a few kilobytes whatever the dataset.
Pure standard library plus the provider's own ``analysis`` package.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

#: The XCom key every audit task records its history under.
HISTORY_XCOM_KEY = "clarify_history"
#: Version of the record layout; readers skip records of a version they do not know.
SCHEMA_VERSION = 1
#: How many SHAP importances (largest first) a record keeps.
MAX_FEATURES = 20
#: The verdicts a gate records.
VERDICTS = ("passed", "violated", "inconclusive", "skipped")

_VIOLATION_FIELDS = ("metric", "stage", "facet", "group", "label", "value", "bound", "check", "reason")
_BAND_FIELDS = ("metric", "stage", "facet", "group")


def json_number(value: Any) -> tuple[float | None, str | None]:
    """``(value, None)`` for a finite number, ``(None, text)`` for anything else (``"inf"``, ``"nan"``, ...)."""
    if isinstance(value, bool) or value is None:
        return None, None if value is None else str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None, str(value)
    if math.isfinite(number):
        return number, None
    return None, "nan" if math.isnan(number) else ("+inf" if number > 0 else "-inf")


def summarize_analysis(analysis: Any) -> dict[str, Any]:
    """The ``metrics`` and ``shap`` parts of a record, from an analysis.json (dict, text or parsed).

    :param analysis: the decoded ``analysis.json`` dict, its text/bytes, or an
        :class:`~airflow_provider_clarify.analysis.results.AnalysisResult`.
    """
    from airflow_provider_clarify.analysis.results import AnalysisResult

    if isinstance(analysis, AnalysisResult):
        result = analysis
    elif isinstance(analysis, str | bytes | bytearray):
        result = AnalysisResult.from_json(analysis)
    else:
        result = AnalysisResult.from_dict(analysis)
    metrics = []
    for row in result.metrics_table():
        value, text = json_number(row.value)
        if row.error and text is None:
            text = "error"
        metrics.append(
            {
                "stage": row.stage,
                "facet": row.facet,
                "group": row.group,
                "metric": row.metric,
                "value": value,
                "text": text,
            }
        )
    shap = None
    if result.kernel_shap:
        label, output = next(iter(result.kernel_shap.items()))
        finite = {name: v for name, v in output.global_shap_values.items() if math.isfinite(v)}
        top = sorted(finite.items(), key=lambda item: (-abs(item[1]), item[0]))[:MAX_FEATURES]
        shap = {"label": label, "values": dict(top)}
    return {"metrics": metrics, "shap": shap}


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def summarize_violations(violations: Iterable[Any] | None) -> list[dict[str, Any]]:
    """Violations (``Violation`` objects or their ``to_dict()``) reduced to what the history shows."""
    out = []
    for violation in violations or ():
        entry = {name: _field(violation, name) for name in _VIOLATION_FIELDS}
        entry["value"], text = json_number(entry["value"])
        if text is not None:
            entry["text"] = text
        out.append(entry)
    return out


def summarize_bands(thresholds: Iterable[Any] | None) -> list[dict[str, Any]]:
    """The gate's accepted intervals (``Threshold`` objects or dicts) as ``lower``/``upper`` numbers.

    An open side is ``null``; the page shades the band between the finite sides.
    """
    out = []
    for rule in thresholds or ():
        band = {name: _field(rule, name) for name in _BAND_FIELDS}
        for side in ("lower", "upper"):
            band[side], _ = json_number(_field(rule, side))
        if band["metric"]:
            out.append(band)
    return out


def make_record(
    kind: str,
    *,
    analysis: Any = None,
    result_uri: str | None = None,
    report_uri: str | None = None,
    verdict: str | None = None,
    violations: Iterable[Any] | None = None,
    thresholds: Iterable[Any] | None = None,
    ndcg: float | None = None,
) -> dict[str, Any]:
    """Build one history record (see the module docstring for its layout)."""
    if verdict is not None and verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
    digest = summarize_analysis(analysis) if analysis is not None else {"metrics": [], "shap": None}
    return {
        "v": SCHEMA_VERSION,
        "kind": kind,
        "result_uri": result_uri,
        "report_uri": report_uri,
        "metrics": digest["metrics"],
        "shap": digest["shap"],
        "verdict": verdict,
        "violations": summarize_violations(violations),
        "bands": summarize_bands(thresholds),
        "ndcg": json_number(ndcg)[0],
    }
