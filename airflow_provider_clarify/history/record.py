"""What an audit task calls, once, when it finishes: one XCom with its history record.

The operators call these with one line each::

    record_analysis(context, result_uri, read_bytes=self.hook.read_bytes)      # analysis, monitoring
    record_gate(context, verdict, outcome.violations, rules, result_uri, result)  # gates

Recording never fails the task: the audit itself succeeded, so a problem here (an unreadable
analysis.json, an XCom backend error) is logged as a warning and the task goes on. The only cost is
one read of ``analysis.json`` (already written by the task) and one XCom row.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from airflow_provider_clarify.history.summary import HISTORY_XCOM_KEY, make_record
from airflow_provider_clarify.locations import analysis_file_uri, join, local_path, result_folder_uri, scheme

log = logging.getLogger(__name__)

#: The report the engine (and a Clarify job) writes beside analysis.json.
REPORT_FILE = "report.html"


def _read_local(uri: str) -> bytes:
    if scheme(uri) not in ("", "file"):
        raise ValueError(f"no reader for {uri!r}: pass read_bytes= (e.g. the hook's read_bytes)")
    return local_path(uri).read_bytes()


def _push(context: Any, record: dict[str, Any]) -> dict[str, Any]:
    context["ti"].xcom_push(key=HISTORY_XCOM_KEY, value=record)
    return record


def record_analysis(
    context: Any,
    result_uri: str,
    *,
    analysis: Any = None,
    read_bytes: Callable[[str], bytes] | None = None,
    kind: str = "analysis",
    verdict: str | None = None,
    violations: Iterable[Any] | None = None,
    thresholds: Iterable[Any] | None = None,
) -> dict[str, Any] | None:
    """Record the metrics of an analysis (or a monitoring execution) for the history page.

    :param context: the task's context (its ``ti`` pushes the XCom).
    :param result_uri: the ``analysis_result`` folder (or its ``analysis.json``).
    :param analysis: the analysis.json already in memory (dict, text or ``AnalysisResult``); when
        ``None`` it is read from ``result_uri`` with ``read_bytes``.
    :param read_bytes: ``uri -> bytes`` for remote results (the hook's ``read_bytes``); local paths
        and ``file://`` URIs are read directly.
    :param kind: ``"analysis"`` or ``"monitoring"`` (a monitoring execution may also pass its
        ``verdict``, ``violations`` and ``thresholds``).
    :return: the record pushed, or ``None`` when recording failed (logged, never raised).
    """
    try:
        if analysis is None:
            analysis = (read_bytes or _read_local)(analysis_file_uri(result_uri))
        record = make_record(
            kind,
            analysis=analysis,
            result_uri=result_uri,
            report_uri=join(result_folder_uri(result_uri), REPORT_FILE),
            verdict=verdict,
            violations=violations,
            thresholds=thresholds,
        )
        return _push(context, record)
    except Exception as err:
        log.warning("Could not record the audit history of %s: %s", result_uri, err, exc_info=True)
        return None


def record_gate(
    context: Any,
    verdict: str | bool,
    violations: Iterable[Any] | None,
    thresholds: Iterable[Any] | None = None,
    result_uri: str | None = None,
    analysis: Any = None,
    *,
    ndcg: float | None = None,
) -> dict[str, Any] | None:
    """Record a gate's verdict, its violations and its bands for the history page.

    :param verdict: ``"passed"``, ``"violated"``, ``"inconclusive"`` or ``"skipped"``; a bool is read
        as passed (``True``) or violated (``False``).
    :param violations: ``Violation`` objects or their ``to_dict()``.
    :param thresholds: the rules checked (``Threshold`` objects or dicts): shaded as bands.
    :param result_uri: the analysis result the gate checked (its report is linked from the page).
    :param analysis: that result, already in memory: its metrics are recorded too, so results the
        provider's analysis tasks did not produce (a pipeline step's, a monitoring job's) have a
        history as well. The page shows one point per metric and run, whichever task recorded it.
    :param ndcg: the feature-attribution drift score, when the gate computed one.
    :return: the record pushed, or ``None`` when recording failed (logged, never raised).
    """
    try:
        if isinstance(verdict, bool):
            verdict = "passed" if verdict else "violated"
        record = make_record(
            "gate",
            analysis=analysis,
            result_uri=result_uri,
            report_uri=join(result_folder_uri(result_uri), REPORT_FILE) if result_uri else None,
            verdict=verdict,
            violations=violations,
            thresholds=thresholds,
            ndcg=ndcg,
        )
        json.dumps(record, allow_nan=False)  # what an XCom JSON column accepts
        return _push(context, record)
    except Exception as err:
        log.warning("Could not record the gate's history: %s", err, exc_info=True)
        return None
