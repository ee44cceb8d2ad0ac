"""A gate that fails and alerts: the notifier test runs this with ``dag.test()``.

``audit`` writes an analysis.json whose DI (0.5) breaks the four-fifths rule and whose DPPL is
inside its band; the real ``ClarifyCheckOperator`` fails on it, and its ``on_failure_callback``,
``ClarifyViolationNotifier``, posts to the Slack webhook connection ``clarify_slack`` (the test points
it at a fake webhook server on 127.0.0.1).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pendulum
from airflow.sdk import dag, task

from airflow_provider_clarify.notifiers.clarify import ClarifyViolationNotifier
from airflow_provider_clarify.operators.checks import ClarifyCheckOperator

OUTPUT = Path(os.environ.get("CLARIFY_ALERT_OUTPUT", "/tmp/clarify-alert-output"))


@dag(dag_id="clarify_alert", schedule=None, start_date=pendulum.datetime(2024, 3, 1, tz="UTC"))
def clarify_alert():
    @task
    def audit() -> str:
        metrics = [
            {"name": "DI", "description": "DI", "value": 0.5},
            {"name": "DPPL", "description": "DPPL", "value": 0.05},
        ]
        document = {
            "version": "1.0",
            "post_training_bias_metrics": {
                "label": "approved",
                "facets": {"gender": [{"value_or_threshold": "female", "metrics": metrics}]},
            },
        }
        OUTPUT.mkdir(parents=True, exist_ok=True)
        (OUTPUT / "analysis.json").write_text(json.dumps(document))
        return str(OUTPUT)

    ClarifyCheckOperator(
        task_id="fairness_gate",
        analysis_result_uri=audit(),
        thresholds={"DI": "[0.8, 1.25]", "DPPL": (-0.1, 0.1)},
        on_failure_callback=ClarifyViolationNotifier(
            slack_webhook_conn_id="clarify_slack", base_url="http://airflow.example:8080"
        ),
    )


clarify_alert()
