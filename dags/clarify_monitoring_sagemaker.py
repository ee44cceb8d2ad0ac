"""Hourly bias-drift monitoring of a SageMaker endpoint with a Model Monitor schedule.

The SageMaker path of docs/monitoring.md: the DAG makes sure a Model Monitor schedule exists with
exactly the definition below (``schedule_monitoring``: idempotent, so re-running it sends nothing when
nothing changed, and a changed cron is an UpdateMonitoringSchedule), then waits, in the triggerer, for
the schedule's execution at the end of the run's data interval (``wait_for_execution``; executions
can start up to 20 minutes late) and branches on its outcome: ``Completed`` -> ``all_good``,
``CompletedWithViolations`` -> ``alert`` with the violations read from the execution's
``constraint_violations.json``.

The requests equal what the SageMaker SDK's ``ModelBiasMonitor.create_monitoring_schedule`` sends.
Edit the constants (or the environment variables) for your account: bucket, role, endpoint (with data
capture enabled), region and baseline (a ``ClarifySuggestBaselineOperator`` result).
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import dag, task

from airflow_provider_clarify.analysis.configs import BiasConfig
from airflow_provider_clarify.analysis.monitoring import (
    BiasAnalysisConfig,
    CronExpressionGenerator,
    EndpointInput,
    create_monitoring_requests,
)
from airflow_provider_clarify.analysis.processing_job import clarify_image_uri
from airflow_provider_clarify.operators.monitoring import ClarifyCreateMonitoringScheduleOperator
from airflow_provider_clarify.sensors.monitoring import ClarifyMonitoringExecutionSensor

BUCKET = os.environ.get("CLARIFY_MONITOR_BUCKET", "my-monitoring-bucket")
ROLE_ARN = os.environ.get("CLARIFY_MONITOR_ROLE", "arn:aws:iam::123456789012:role/MonitorRole")
ENDPOINT = os.environ.get("CLARIFY_MONITOR_ENDPOINT", "credit-endpoint")
REGION = os.environ.get("CLARIFY_MONITOR_REGION", "us-east-1")
SCHEDULE = "credit-bias-hourly"

REQUESTS = create_monitoring_requests(
    "ModelBias",
    role=ROLE_ARN,
    image_uri=clarify_image_uri(REGION),
    analysis_config=BiasAnalysisConfig(
        BiasConfig(label_values_or_threshold=[1], facet_name="gender", facet_values_or_threshold=[0]),
        headers=["gender", "age", "income", "approved"],
        label="approved",
    ),
    endpoint_input=EndpointInput(
        ENDPOINT, start_time_offset="-PT2H", end_time_offset="-PT1H", probability_threshold_attribute=0.5
    ),
    ground_truth_input=f"s3://{BUCKET}/ground-truth",
    output_s3_uri=f"s3://{BUCKET}/monitoring/{SCHEDULE}",
    constraints=f"s3://{BUCKET}/baseline/analysis.json",
    monitor_schedule_name=SCHEDULE,
    job_definition_name=f"{SCHEDULE}-v1",  # a new definition gets a new name; the schedule is repointed
    schedule_cron_expression=CronExpressionGenerator.hourly(),
    max_runtime_in_seconds=1800,
    config_uuid="v1",  # a stable ConfigUri, so the definition is the same on every run
)


@dag(
    dag_id="clarify_monitoring_sagemaker",
    schedule="@hourly",
    start_date=pendulum.datetime(2024, 5, 1, tz="UTC"),
    catchup=False,
    tags=["clarify", "monitoring", "sagemaker", "example"],
    doc_md=__doc__,
)
def clarify_monitoring_sagemaker():
    scheduled = ClarifyCreateMonitoringScheduleOperator(task_id="schedule_monitoring", requests=REQUESTS)
    wait = ClarifyMonitoringExecutionSensor(
        task_id="wait_for_execution",
        monitor_schedule_name=SCHEDULE,
        scheduled_time="{{ data_interval_end }}",
        fail_on_violation=False,  # branch instead of failing
        deferrable=True,
        poke_interval=300,
        timeout=2 * 3600,
    )

    @task.branch
    def drift(ti=None) -> str:
        violations = ti.xcom_pull(task_ids="wait_for_execution", key="violations")
        return "alert" if violations else "all_good"

    @task
    def alert(ti=None) -> list:
        violations = ti.xcom_pull(task_ids="wait_for_execution", key="violations")
        print(f"Bias drift on {ENDPOINT}: {violations}")  # wire to your pager here
        return violations

    @task
    def all_good() -> str:
        return "no drift"

    scheduled >> wait >> drift() >> [alert(), all_good()]


clarify_monitoring_sagemaker()
