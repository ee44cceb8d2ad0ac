"""DAGs for the history API tests (copied into a DAG bundle folder of their own by the tests).

``history_audit`` writes a small analysis.json whose DI drifts with the day of the logical date
(``di = 0.55 + 0.1 * day``: below the four-fifths band for days 1 and 2, inside from day 3), a report
next to it, records the analysis in the history, and runs the real ``ClarifyCheckOperator`` on it (whose
one-line ``record_gate`` call records the verdict). ``history_many`` and ``history_secret`` only exist
so the tests can attach synthetic runs to them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pendulum
from airflow.sdk import dag, task

from airflow_provider_clarify.history import record_analysis
from airflow_provider_clarify.operators.checks import ClarifyCheckOperator

OUTPUT = Path(os.environ.get("CLARIFY_HISTORY_OUTPUT", "/tmp/clarify-history-output"))


def analysis_document(di: float, dppl: float, shap: dict[str, float]) -> dict:
    def section(metrics: dict[str, float]) -> dict:
        return {
            "label": "approved",
            "label_value_or_threshold": "1",
            "facets": {
                "gender": [
                    {
                        "value_or_threshold": "female",
                        "metrics": [{"name": k, "description": k, "value": v} for k, v in metrics.items()],
                    }
                ]
            },
        }

    return {
        "version": "1.0",
        "post_training_bias_metrics": section({"DI": di, "DPPL": dppl}),
        "explanations": {"kernel_shap": {"label0": {"global_shap_values": shap, "expected_value": 0.4}}},
    }


@dag(dag_id="history_audit", schedule=None, start_date=pendulum.datetime(2024, 3, 1, tz="UTC"))
def history_audit():
    @task
    def audit(**context) -> str:
        day = context["logical_date"].day
        di = round(0.55 + 0.1 * day, 4)
        shap = {"income": 0.3, "gender": 0.05 * day, "age": 0.12}
        out = OUTPUT / context["run_id"].replace(":", "_").replace("+", "_")
        out.mkdir(parents=True, exist_ok=True)
        (out / "analysis.json").write_text(
            json.dumps(analysis_document(di, round(0.3 - 0.05 * day, 4), shap))
        )
        (out / "report.html").write_text(f"<html><body><h1>Report of day {day}</h1></body></html>")
        record_analysis(context, str(out))
        return str(out)

    result = audit()
    ClarifyCheckOperator(
        task_id="fairness_gate",
        analysis_result_uri=result,
        thresholds={"DI": "[0.8, 1.25]", "DPPL": (-0.1, 0.1)},
        fail_on_violation=False,
    )


@dag(dag_id="history_many", schedule=None, start_date=pendulum.datetime(2020, 1, 1, tz="UTC"))
def history_many():
    @task
    def bias_audit() -> None:
        """The tests attach synthetic runs (with this task's history records) to this DAG."""

    @task
    def fairness_gate() -> None:
        """The tests attach synthetic runs (with this task's history records) to this DAG."""

    bias_audit() >> fairness_gate()


@dag(dag_id="history_secret", schedule=None, start_date=pendulum.datetime(2020, 1, 1, tz="UTC"))
def history_secret():
    @task
    def bias_audit() -> None:
        """The tests attach synthetic runs (with this task's history records) to this DAG."""

    @task
    def fairness_gate() -> None:
        """The tests attach synthetic runs (with this task's history records) to this DAG."""

    bias_audit() >> fairness_gate()


history_audit()
history_many()
history_secret()
