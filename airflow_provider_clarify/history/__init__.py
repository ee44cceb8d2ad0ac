"""Fairness over time: what each audit task records at its end, and how the history is read back.

An analysis, monitoring or gate task calls :func:`record_analysis` or :func:`record_gate` once, as it
finishes. The record is a small JSON document (the flat metrics of ``analysis.json``, the top SHAP
importances, the gate's verdict, violations and bands) pushed as one XCom under
:data:`HISTORY_XCOM_KEY`, so it lives in Airflow's metadata database next to the run it belongs to.
The history page (``airflow_provider_clarify.plugins``) reads those rows with one query per page
view; it never opens a result file. See docs/history.md.

Cheap to import: the standard library only until a function runs.
"""

from __future__ import annotations

from airflow_provider_clarify.history.record import record_analysis, record_gate
from airflow_provider_clarify.history.summary import HISTORY_XCOM_KEY, summarize_analysis

__all__ = ["HISTORY_XCOM_KEY", "record_analysis", "record_gate", "summarize_analysis"]
