"""dags/clarify_monitoring_sagemaker_execution.py through dag.test(), with the triggerer path.

moto has no monitoring schedules or executions, so the tasks' SageMaker client is answered by
botocore's Stubber and the trigger's aiobotocore client by AioStubber, both with the real service
model. The analysis config is uploaded to moto's S3 by the DAG, the baseline and the execution's
results are in moto's S3, and the execution's processing job is created on moto (its description is
what the stub returns). The task creates its one-time schedule, finds the execution ``Pending`` and
defers; the trigger (run inline by dag.test) polls until ``CompletedWithViolations``; the task resumes,
reads the results, deletes the schedule and the branch takes ``alert``.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime

import boto3
import pendulum
import pytest
from botocore.stub import ANY, Stubber

from airflow_provider_clarify.analysis.monitoring.one_time import one_time_execution
from airflow_provider_clarify.hooks.clarify import ClarifyHook
from airflow_provider_clarify.operators import _monitoring_sagemaker as remote
from airflow_provider_clarify.triggers._polling import SPREAD_FRACTION
from airflow_provider_clarify.triggers.monitoring import ClarifyMonitoringExecutionTrigger
from tests.support.async_stubs import stub_async_clients
from tests.support.aws import BUCKET, REGION
from tests.support.dag_runs import bundled_dag, task_states
from tests.support.paths import DAGS_DIR

DAG_ID = "clarify_monitoring_sagemaker_execution"
LOGICAL = datetime(2024, 5, 1, 13, tzinfo=UTC)  # manual run: data interval 12:00 .. 13:00
NOW = datetime(2024, 5, 1, 13, 5, tzinfo=UTC)
JOB = "model-bias-monitoring-202405011305-1"
OUTPUT = "monitoring/credit-bias-airflow/credit-endpoint/one-time/2024/05/01/13"
VIOLATIONS = [
    {"facet": "gender", "facet_value": "0", "metric_name": "DPPL", "constraint_check_type": "bias_drift_check",
     "description": "Value 0.31 does not meet the constraint requirement"}
]  # fmt: skip


def load_module():
    spec = importlib.util.spec_from_file_location("sagemaker_execution_dag", DAGS_DIR / f"{DAG_ID}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def execution(status: str, arn: str) -> dict:
    return {
        "MonitoringExecutionSummaries": [
            {
                "MonitoringScheduleName": "one-time",
                "ScheduledTime": NOW,
                "CreationTime": NOW,
                "LastModifiedTime": NOW,
                "MonitoringExecutionStatus": status,
                "ProcessingJobArn": arn,
            }
        ]
    }


def latest() -> dict:
    return {
        "MonitoringScheduleName": ANY,
        "SortBy": "ScheduledTime",
        "SortOrder": "Descending",
        "MaxResults": 10,
    }


@pytest.fixture
def stubbed(aws_conn, s3_bucket, moto_endpoint, monkeypatch, airflow_db):
    monkeypatch.setenv("CLARIFY_MONITOR_BUCKET", BUCKET)
    monkeypatch.setattr(remote, "utc_now", lambda: NOW)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key="baseline/analysis.json", Body=b"{}")
    s3.put_object(Bucket=BUCKET, Key=f"{OUTPUT}/analysis.json", Body=b'{"version": "1.0"}')
    s3.put_object(
        Bucket=BUCKET,
        Key=f"{OUTPUT}/constraint_violations.json",
        Body=json.dumps({"version": "1.0", "violations": VIOLATIONS}),
    )
    moto_sagemaker = boto3.client("sagemaker", endpoint_url=moto_endpoint, region_name=REGION)
    moto_sagemaker.create_processing_job(
        ProcessingJobName=JOB,
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}},
        AppSpecification={"ImageUri": "img"},
        RoleArn="arn:aws:iam::123456789012:role/MonitorRole",
        ProcessingOutputConfig={"Outputs": [{"OutputName": "result", "S3Output": {
            "S3Uri": f"s3://{BUCKET}/{OUTPUT}", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "Continuous"}}]},
    )  # fmt: skip
    described = moto_sagemaker.describe_processing_job(ProcessingJobName=JOB)
    described.pop("ResponseMetadata")
    described.setdefault("ProcessingResources", {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                                                    "VolumeSizeInGB": 30}})  # fmt: skip
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
        for status in ("InProgress", "CompletedWithViolations"):
            astub.add_response(
                "list_monitoring_executions", execution(status, described["ProcessingJobArn"]), latest()
            )

    astubs = stub_async_clients(monkeypatch, answers)
    return dag, stub, polls, described, moto_endpoint, astubs


def test_each_run_is_one_execution_on_sagemaker_waited_for_in_the_triggerer(stubbed):
    dag, stub, polls, described, moto_endpoint, astubs = stubbed
    module = load_module()
    requests = one_time_execution(
        module.REQUESTS.job_definition, name="placeholder", scheduled_time=LOGICAL, now=NOW
    )
    definition = {**requests.job_definition, "JobDefinitionName": ANY}
    schedule = {**requests.schedule, "MonitoringScheduleName": ANY}
    schedule["MonitoringScheduleConfig"] = {
        **schedule["MonitoringScheduleConfig"],
        "MonitoringJobDefinitionName": ANY,
    }
    stub.add_client_error("describe_monitoring_schedule", service_error_code="ResourceNotFound")
    stub.add_response("create_model_bias_job_definition", {"JobDefinitionArn": "arn:d"}, definition)
    stub.add_response("create_monitoring_schedule", {"MonitoringScheduleArn": "arn:s"}, schedule)
    stub.add_response("list_monitoring_executions", {"MonitoringExecutionSummaries": []}, latest())
    stub.add_response("describe_processing_job", described, {"ProcessingJobName": JOB})
    stub.add_response("delete_monitoring_schedule", {}, {"MonitoringScheduleName": ANY})
    stub.add_response("delete_model_bias_job_definition", {}, {"JobDefinitionName": ANY})
    with stub:
        run = dag.test(logical_date=pendulum.instance(LOGICAL))
        stub.assert_no_pending_responses()
    states = task_states(run)
    assert states == {
        "upload_analysis_config": "success",
        "bias_drift": "success",
        "drift": "success",
        "alert": "success",
        "all_good": "skipped",
    }, states
    assert astubs
    for astub in astubs:
        astub.assert_no_pending_responses()
    # deferred: the first poll's spread over the interval, one InProgress poll in the triggerer, the result
    assert len(polls) == 2
    assert 0 <= float(polls[0].split()[1]) <= 300 * SPREAD_FRACTION
    assert polls[1:] == ["pause 300"]
    ti = run.get_task_instance("bias_drift")
    assert ti.xcom_pull(task_ids="bias_drift", key="violations") == VIOLATIONS
    assert ti.xcom_pull(task_ids="bias_drift", key="monitoring_execution_status") == "CompletedWithViolations"
    summary = ti.xcom_pull(task_ids="bias_drift", key="monitoring_execution")
    assert (summary["window_start"], summary["window_end"]) == (
        "2024-05-01T11:00:00+00:00",
        "2024-05-01T12:00:00+00:00",
    )
    assert ti.xcom_pull(task_ids="bias_drift") == f"s3://{BUCKET}/{OUTPUT}/analysis.json"
    # the config the job definition names was uploaded by the DAG
    config_key = module.REQUESTS.analysis_config_upload[0].split(f"s3://{BUCKET}/", 1)[1]
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    assert (
        json.loads(s3.get_object(Bucket=BUCKET, Key=config_key)["Body"].read())
        == module.REQUESTS.analysis_config_upload[1]
    )
