"""ClarifyMonitoringExecutionSensor and its trigger against Stubber / AioStubber (real service model).

moto does not implement ListMonitoringExecutions; the violations file lives in moto's S3.
"""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import boto3
import pytest
from aiobotocore.stub import AioStubber
from botocore.stub import Stubber

from airflow_provider_clarify.hooks.clarify import ClarifyHook
from airflow_provider_clarify.sensors.monitoring import (
    ClarifyMonitoringExecutionSensor,
    ClarifyMonitoringViolationError,
)
from airflow_provider_clarify.triggers.monitoring import (
    ClarifyMonitoringExecutionTrigger,
    list_executions_request,
)
from tests.support.aws import BUCKET, REGION

SCHEDULED = datetime(2024, 5, 1, 13, tzinfo=UTC)
JOB_ARN = f"arn:aws:sagemaker:{REGION}:123456789012:processing-job/model-bias-monitoring-job-1"


class XComRecorder:
    """Stands in for the task instance: records what the sensor pushes."""

    def __init__(self) -> None:
        self.pushed: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.pushed[key] = value


def summary(status: str, **extra) -> dict:
    return {
        "MonitoringScheduleName": "credit-bias",
        "ScheduledTime": SCHEDULED,
        "CreationTime": SCHEDULED,
        "LastModifiedTime": SCHEDULED,
        "MonitoringExecutionStatus": status,
        **extra,
    }


def listed(*summaries) -> dict:
    return {"MonitoringExecutionSummaries": list(summaries)}


def sensor(**kwargs) -> ClarifyMonitoringExecutionSensor:
    return ClarifyMonitoringExecutionSensor(
        task_id="wait", monitor_schedule_name="credit-bias", scheduled_time=SCHEDULED.isoformat(), **kwargs
    )


def expected_list() -> dict:
    return list_executions_request("credit-bias", SCHEDULED)


def test_waits_while_pending_then_passes_on_completed(aws_conn):
    task = sensor()
    context = {"ti": XComRecorder()}
    with Stubber(task.hook.conn) as stub:
        stub.add_response("list_monitoring_executions", listed(), expected_list())
        stub.add_response("list_monitoring_executions", listed(summary("InProgress")), expected_list())
        stub.add_response("list_monitoring_executions", listed(summary("Completed")), expected_list())
        assert task.poke(context) is False
        assert task.poke(context) is False
        done = task.poke(context)
        stub.assert_no_pending_responses()
    assert done.is_done
    assert done.xcom_value["MonitoringExecutionStatus"] == "Completed"
    assert context["ti"].pushed == {"monitoring_execution_status": "Completed", "violations": []}


def violations_in_s3(moto_endpoint) -> list[dict]:
    violations = [
        {"facet": "gender", "facet_value": "0", "metric_name": "DPPL",
         "constraint_check_type": "bias_drift_check", "description": "Value 0.3 does not meet the constraint requirement"}
    ]  # fmt: skip
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.put_object(
        Bucket=BUCKET,
        Key="monitoring/credit/2024/05/01/13/constraint_violations.json",
        Body=json.dumps({"version": "1.0", "violations": violations}),
    )
    return violations


def described_job() -> dict:
    return {
        "ProcessingJobName": "model-bias-monitoring-job-1",
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
                    "OutputName": "monitoring_output",
                    "S3Output": {
                        "S3Uri": f"s3://{BUCKET}/monitoring/credit/2024/05/01/13",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "Continuous",
                    },
                }
            ]
        },
    }


@pytest.mark.parametrize("fail_on_violation", [True, False])
def test_violations_are_pushed_before_failing_or_branching(
    aws_conn, s3_bucket, moto_endpoint, fail_on_violation
):
    violations = violations_in_s3(moto_endpoint)
    task = sensor(fail_on_violation=fail_on_violation)
    context = {"ti": XComRecorder()}
    with Stubber(task.hook.conn) as stub:
        stub.add_response(
            "list_monitoring_executions",
            listed(summary("CompletedWithViolations", ProcessingJobArn=JOB_ARN)),
            expected_list(),
        )
        stub.add_response(
            "describe_processing_job", described_job(), {"ProcessingJobName": "model-bias-monitoring-job-1"}
        )
        if fail_on_violation:
            with pytest.raises(ClarifyMonitoringViolationError, match="DPPL"):
                task.poke(context)
        else:
            assert task.poke(context).is_done
    assert context["ti"].pushed["violations"] == violations
    assert context["ti"].pushed["monitoring_execution_status"] == "CompletedWithViolations"


def test_failed_execution_fails_with_its_reason(aws_conn):
    task = sensor()
    with Stubber(task.hook.conn) as stub:
        stub.add_response(
            "list_monitoring_executions",
            listed(summary("Failed", FailureReason="Job inputs had no data")),
            expected_list(),
        )
        with pytest.raises(Exception, match="Job inputs had no data"):
            task.poke({"ti": XComRecorder()})


def test_execution_of_another_hour_is_not_taken(aws_conn):
    task = sensor()
    other = summary("Completed")
    other["ScheduledTime"] = datetime(2024, 5, 1, 12, tzinfo=UTC)
    with Stubber(task.hook.conn) as stub:
        stub.add_response("list_monitoring_executions", listed(other), expected_list())
        assert task.poke({"ti": XComRecorder()}) is False


@pytest.mark.asyncio
async def test_trigger_polls_until_terminal_and_yields_the_summary(aws_conn, monkeypatch):
    trigger = ClarifyMonitoringExecutionTrigger("credit-bias", SCHEDULED.isoformat(), check_interval=5)
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(trigger, "_pause", pause)
    hook = ClarifyHook(aws_conn_id="aws_default")
    async with await hook.get_async_conn() as client:
        stub = AioStubber(client)
        stub.add_response("list_monitoring_executions", listed(summary("Pending")), expected_list())
        stub.add_client_error("list_monitoring_executions", service_error_code="ThrottlingException")
        stub.add_response(
            "list_monitoring_executions", listed(summary("CompletedWithViolations")), expected_list()
        )
        stub.activate()

        @asynccontextmanager
        async def reuse():
            yield client

        async def get_async_conn(self):
            return reuse()

        monkeypatch.setattr(ClarifyHook, "get_async_conn", get_async_conn)
        events = [event async for event in trigger.run()]
        stub.assert_no_pending_responses()
    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == "done"
    assert payload["execution"]["MonitoringExecutionStatus"] == "CompletedWithViolations"
    assert payload["execution"]["ScheduledTime"] == SCHEDULED.isoformat()
    assert len(pauses) == 2  # after Pending, after the throttled call (not counted as a poll)


def test_trigger_serializes_its_absolute_deadline():
    trigger = ClarifyMonitoringExecutionTrigger("credit-bias", SCHEDULED.isoformat(), timeout=600)
    path, kwargs = trigger.serialize()
    again = ClarifyMonitoringExecutionTrigger(**kwargs)
    assert path.endswith("ClarifyMonitoringExecutionTrigger")
    assert again.end_time == trigger.end_time


def test_deferred_sensor_decides_like_poke(aws_conn):
    task = sensor()
    context = {"ti": XComRecorder()}
    result = task.execute_complete(
        context,
        {"status": "done", "execution": {"MonitoringExecutionStatus": "Completed", "ScheduledTime": "x"}},
    )
    assert result["MonitoringExecutionStatus"] == "Completed"
    with pytest.raises(Exception, match="deadline"):
        task.execute_complete(context, {"status": "timeout", "message": "still Pending at the deadline"})
