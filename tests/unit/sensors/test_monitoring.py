"""ClarifyMonitoringExecutionSensor and its trigger against Stubber / AioStubber (real service model).

moto does not implement ListMonitoringExecutions; the violations file lives in moto's S3.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from airflow_provider_clarify.sensors.monitoring import (
    ClarifyMonitoringExecutionSensor,
    ClarifyMonitoringViolationError,
)
from airflow_provider_clarify.triggers.monitoring import (
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
