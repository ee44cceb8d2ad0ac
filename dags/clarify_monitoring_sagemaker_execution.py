"""Hourly bias-drift monitoring on SageMaker, scheduled by Airflow: one Model Monitor execution per run.

Where ``clarify_monitoring_sagemaker`` keeps a recurring Model Monitor schedule and waits for its
executions, this DAG lets Airflow own the schedule (catch-up, backfills, retries, the run's data
interval) and has SageMaker run each execution: ``bias_drift`` runs
``ClarifyMonitoringExecutionOperator(compute="sagemaker")``, which creates a one-time (``NOW``)
schedule of the job definition over the run's window, waits for its execution in the triggerer,
pushes the status and the violations to XCom and deletes the one-time schedule. The branch then
alerts on violations. Swap ``compute="sagemaker"`` for ``compute="local"`` to run the same execution
with the open engine on the worker (docs/monitoring.md).

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
from airflow_provider_clarify.operators.monitoring import ClarifyMonitoringExecutionOperator

BUCKET = os.environ.get("CLARIFY_MONITOR_BUCKET", "my-monitoring-bucket")
ROLE_ARN = os.environ.get("CLARIFY_MONITOR_ROLE", "arn:aws:iam::123456789012:role/MonitorRole")
ENDPOINT = os.environ.get("CLARIFY_MONITOR_ENDPOINT", "credit-endpoint")
REGION = os.environ.get("CLARIFY_MONITOR_REGION", "us-east-1")

# The same job definition a recurring schedule would use (the schedule part is not sent).
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
    output_s3_uri=f"s3://{BUCKET}/monitoring/credit-bias-airflow",
    constraints=f"s3://{BUCKET}/baseline/analysis.json",
    monitor_schedule_name="credit-bias-airflow",
    job_definition_name="credit-bias-airflow",
    schedule_cron_expression=CronExpressionGenerator.hourly(),
    max_runtime_in_seconds=1800,
    config_uuid="v1",
)


@dag(
    dag_id="clarify_monitoring_sagemaker_execution",
    schedule="@hourly",
    start_date=pendulum.datetime(2024, 5, 1, tz="UTC"),
    catchup=False,
    tags=["clarify", "monitoring", "sagemaker", "example"],
    doc_md=__doc__,
)
def clarify_monitoring_sagemaker_execution():
    @task
    def upload_analysis_config() -> str:
        """The monitoring analysis config the job definition's ConfigUri names (idempotent)."""
        from airflow_provider_clarify.hooks.clarify import ClarifyHook

        uri, body = REQUESTS.analysis_config_upload
        ClarifyHook(aws_conn_id="aws_default").write_json(uri, body)
        return uri

    bias_drift = ClarifyMonitoringExecutionOperator(
        task_id="bias_drift",
        job_definition=REQUESTS.job_definition,
        scheduled_time="{{ data_interval_end }}",  # window: the hour before the run's interval end - 1h
        compute="sagemaker",
        deferrable=True,
        check_interval=300,
        max_wait_seconds=2 * 3600,
        fail_on_violation=False,  # branch instead of failing
    )

    @task.branch
    def drift(ti=None) -> str:
        violations = ti.xcom_pull(task_ids="bias_drift", key="violations")
        return "alert" if violations else "all_good"

    @task
    def alert(ti=None) -> list:
        violations = ti.xcom_pull(task_ids="bias_drift", key="violations")
        print(f"Bias drift on {ENDPOINT}: {violations}")  # wire to your pager here
        return violations

    @task
    def all_good() -> str:
        return "no drift"

    upload_analysis_config() >> bias_drift >> drift() >> [alert(), all_good()]


clarify_monitoring_sagemaker_execution()
