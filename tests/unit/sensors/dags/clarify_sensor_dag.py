"""Test DAG: wait for a Clarify job started elsewhere (deferrable and poke sensors), then read the URI.

The job name comes from ``params`` so the test decides which moto job each run watches.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_clarify.sensors.clarify import ClarifyProcessingJobSensor

with DAG(
    dag_id="clarify_sensor_test",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    params={"job_name": "sensor-dag-job"},
):
    deferred = ClarifyProcessingJobSensor(
        task_id="wait_deferrable",
        job_name="{{ params.job_name }}",
        deferrable=True,
        poke_interval=0.2,
        timeout=60,
    )
    poked = ClarifyProcessingJobSensor(
        task_id="wait_poke",
        job_name="{{ params.job_name }}",
        deferrable=False,
        mode="poke",
        poke_interval=0.2,
        timeout=60,
    )

    @task
    def report(deferred_uri: str, poked_uri: str) -> str:
        assert deferred_uri == poked_uri, (deferred_uri, poked_uri)
        return deferred_uri

    report(deferred.output, poked.output)
