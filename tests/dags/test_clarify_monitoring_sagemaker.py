"""dags/clarify_monitoring_sagemaker.py through dag.test(), with the triggerer path.

moto does not implement monitoring schedules or executions, so the SageMaker client of the tasks is
answered by botocore's Stubber and the trigger's aiobotocore client by AioStubber, both with the real
service model (requests are validated against the API shapes and compared with what the DAG must
send). The analysis config is uploaded to moto's S3. The sensor's first poke finds the execution
``InProgress``, so the task really defers; the trigger (run inline by dag.test) polls until
``CompletedWithViolations``; the task resumes, pushes the violations (read from moto's S3) and the
branch takes ``alert``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pendulum
import pytest
from botocore.stub import Stubber

from airflow_provider_clarify.hooks.clarify import ClarifyHook
from airflow_provider_clarify.triggers._polling import SPREAD_FRACTION
from airflow_provider_clarify.triggers.monitoring import (
    ClarifyMonitoringExecutionTrigger,
    list_executions_request,
)
from tests.support.async_stubs import stub_async_clients
from tests.support.aws import BUCKET, REGION
from tests.support.dag_runs import bundled_dag, task_states
from tests.support.paths import DAGS_DIR

DAG_ID = "clarify_monitoring_sagemaker"
LOGICAL = datetime(2024, 5, 1, 13, tzinfo=UTC)  # manual run: data interval 12:00 .. 13:00
SCHEDULED = LOGICAL
CREATED = datetime(2024, 5, 1, tzinfo=UTC)
JOB_ARN = f"arn:aws:sagemaker:{REGION}:123456789012:processing-job/credit-bias-hourly-exec-1"
VIOLATIONS = [
    {"facet": "gender", "facet_value": "0", "metric_name": "DPPL", "constraint_check_type": "bias_drift_check",
     "description": "Value 0.31 does not meet the constraint requirement"}
]  # fmt: skip


def execution(status: str) -> dict:
    return {
        "MonitoringScheduleName": "credit-bias-hourly",
        "ScheduledTime": SCHEDULED,
        "CreationTime": SCHEDULED,
        "LastModifiedTime": SCHEDULED,
        "MonitoringExecutionStatus": status,
        "ProcessingJobArn": JOB_ARN,
    }


def sync_stubs(stub: Stubber, requests) -> None:
    """Every call the tasks make with the SageMaker client, in order."""
    stub.add_response(
        "describe_endpoint",
        {
            "EndpointName": "credit-endpoint",
            "EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/credit-endpoint",
            "EndpointConfigName": "c",
            "EndpointStatus": "InService",
            "CreationTime": CREATED,
            "LastModifiedTime": CREATED,
            "DataCaptureConfig": {
                "EnableCapture": True,
                "CaptureStatus": "Started",
                "CurrentSamplingPercentage": 100,
                "DestinationS3Uri": f"s3://{BUCKET}/capture",
                "KmsKeyId": "k",
            },
        },  # fmt: skip
        {"EndpointName": "credit-endpoint"},
    )
    stub.add_client_error("describe_model_bias_job_definition", service_error_code="ResourceNotFound")
    stub.add_response(
        "create_model_bias_job_definition", {"JobDefinitionArn": "arn:d"}, requests.job_definition
    )
    stub.add_client_error("describe_monitoring_schedule", service_error_code="ResourceNotFound")
    stub.add_response("create_monitoring_schedule", {"MonitoringScheduleArn": "arn:s"}, requests.schedule)
    listing = list_executions_request("credit-bias-hourly", SCHEDULED)
    stub.add_response(
        "list_monitoring_executions", {"MonitoringExecutionSummaries": [execution("InProgress")]}, listing
    )
    stub.add_response(
        "describe_processing_job",
        {
            "ProcessingJobName": "credit-bias-hourly-exec-1",
            "ProcessingJobArn": JOB_ARN,
            "ProcessingJobStatus": "Completed",
            "CreationTime": SCHEDULED,
            "AppSpecification": {"ImageUri": "img"},
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
            },
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "out",
                        "S3Output": {
                            "S3Uri": f"s3://{BUCKET}/monitoring/credit-bias-hourly/2024/05/01/13",
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "Continuous",
                        },
                    }
                ]
            },
        },  # fmt: skip
        {"ProcessingJobName": "credit-bias-hourly-exec-1"},
    )


@pytest.fixture
def stubbed_sagemaker(aws_conn, s3_bucket, moto_endpoint, monkeypatch, airflow_db):
    monkeypatch.setenv("CLARIFY_MONITOR_BUCKET", BUCKET)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.put_object(
        Bucket=BUCKET,
        Key="monitoring/credit-bias-hourly/2024/05/01/13/constraint_violations.json",
        Body=json.dumps({"version": "1.0", "violations": VIOLATIONS}),
    )
    dag = bundled_dag(
        monkeypatch, DAGS_DIR, DAG_ID, bundle_name="example-dags", parse=DAGS_DIR / f"{DAG_ID}.py"
    )
    client = boto3.client("sagemaker", endpoint_url=moto_endpoint, region_name=REGION)
    stub = Stubber(client)
    monkeypatch.setattr(ClarifyHook, "conn", property(lambda self: client))
    polls: list[str] = []

    async def no_pause(self, seconds: float) -> None:
        polls.append(f"pause {seconds:g}")

    monkeypatch.setattr(ClarifyMonitoringExecutionTrigger, "_pause", no_pause)

    def answers(astub) -> None:
        listing = list_executions_request("credit-bias-hourly", SCHEDULED)
        for status in ("InProgress", "CompletedWithViolations"):
            astub.add_response(
                "list_monitoring_executions", {"MonitoringExecutionSummaries": [execution(status)]}, listing
            )

    astubs = stub_async_clients(monkeypatch, answers)
    return dag, stub, polls, moto_endpoint, astubs


def test_schedule_is_created_and_the_deferred_wait_branches_on_violations(stubbed_sagemaker, monkeypatch):
    dag, stub, polls, moto_endpoint, astubs = stubbed_sagemaker
    import importlib.util

    spec = importlib.util.spec_from_file_location("sagemaker_monitoring_dag", DAGS_DIR / f"{DAG_ID}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sync_stubs(stub, module.REQUESTS)
    with stub:
        run = dag.test(logical_date=pendulum.instance(LOGICAL))
        stub.assert_no_pending_responses()
    states = task_states(run)
    assert states == {
        "schedule_monitoring": "success",
        "wait_for_execution": "success",
        "drift": "success",
        "alert": "success",
        "all_good": "skipped",
    }, states
    assert astubs
    for astub in astubs:
        astub.assert_no_pending_responses()
    # deferred: the first poll's spread over the interval, one InProgress poll in the triggerer, then
    # CompletedWithViolations
    assert len(polls) == 2
    assert 0 <= float(polls[0].split()[1]) <= 300 * SPREAD_FRACTION
    assert polls[1:] == ["pause 300"]
    wait = run.get_task_instance("wait_for_execution")
    assert wait.xcom_pull(task_ids="wait_for_execution", key="violations") == VIOLATIONS
    config_key = module.REQUESTS.analysis_config_upload[0].split(f"s3://{BUCKET}/", 1)[1]
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    assert (
        json.loads(s3.get_object(Bucket=BUCKET, Key=config_key)["Body"].read())
        == module.REQUESTS.analysis_config_upload[1]
    )
