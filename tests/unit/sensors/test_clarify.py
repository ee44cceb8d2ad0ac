"""ClarifyProcessingJobSensor: poke, reschedule and deferrable modes against the local fake AWS."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pendulum
import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowSensorTimeout, TaskDeferred
from airflow.sdk.exceptions import AirflowRescheduleException

from airflow_provider_clarify.hooks.clarify import ClarifyJobFailedException
from airflow_provider_clarify.sensors.clarify import ClarifyProcessingJobSensor
from airflow_provider_clarify.triggers.clarify import ClarifyProcessingJobTrigger
from tests.support.aws import REGION
from tests.support.clarify_jobs import ROLE, start_job
from tests.support.dag_runs import bundled_dag, task_states

DAGS = Path(__file__).parent / "dags"


def sensor(**kwargs) -> ClarifyProcessingJobSensor:
    return ClarifyProcessingJobSensor(task_id="wait", **{"poke_interval": 0.05, "timeout": 30, **kwargs})


def test_poke_mode_waits_and_returns_the_jobs_result_uri(aws_conn, scripted_status):
    output = start_job("sensor-poke")
    scripted_status("sensor-poke", ["InProgress", "InProgress", "Completed"])
    assert sensor(job_name="sensor-poke", deferrable=False).execute({}) == output
    assert scripted_status.calls["sensor-poke"] == 3


def test_given_result_uri_wins(aws_conn, scripted_status):
    start_job("sensor-given")
    scripted_status("sensor-given", ["Completed"])
    op = sensor(job_name="sensor-given", analysis_result_uri="s3://elsewhere/out", deferrable=False)
    assert op.execute({}) == "s3://elsewhere/out"


@pytest.mark.parametrize(
    ("statuses", "reason", "expected"),
    [
        (
            ["InProgress", "Failed"],
            "AlgorithmError: label column 'approved' not found",
            "label column 'approved'",
        ),
        (["InProgress", "Stopping", "Stopped"], None, "Stopped"),
    ],
)
def test_failed_or_stopped_jobs_fail_with_the_reason(aws_conn, scripted_status, statuses, reason, expected):
    start_job("sensor-bad")
    scripted_status("sensor-bad", statuses, failure_reason=reason)
    with pytest.raises(ClarifyJobFailedException, match=expected) as err:
        sensor(job_name="sensor-bad", deferrable=False).execute({})
    assert err.value.job_status == statuses[-1]
    assert err.value.failure_reason == reason


def test_soft_fail_skips_instead(aws_conn, scripted_status):
    from airflow.providers.common.compat.sdk import AirflowSkipException

    start_job("sensor-soft")
    scripted_status("sensor-soft", ["Failed"], failure_reason="boom")
    with pytest.raises(AirflowSkipException):
        sensor(job_name="sensor-soft", deferrable=False, soft_fail=True).execute({})


def test_reschedule_mode_frees_the_slot(aws_conn, scripted_status):
    class FakeTaskInstance:
        def get_first_reschedule_date(self, context):
            return None

    start_job("sensor-resched")
    scripted_status("sensor-resched", ["InProgress"])
    with pytest.raises(AirflowRescheduleException):
        sensor(job_name="sensor-resched", mode="reschedule", poke_interval=60).execute(
            {"ti": FakeTaskInstance()}
        )


def test_job_without_analysis_result_output_needs_an_explicit_uri(aws_conn, moto_endpoint, scripted_status):
    import boto3

    boto3.client("sagemaker", endpoint_url=moto_endpoint, region_name=REGION).create_processing_job(
        ProcessingJobName="not-clarify",
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
        },
        AppSpecification={"ImageUri": "img"},
        RoleArn=ROLE,
    )
    scripted_status("not-clarify", ["Completed"])
    with pytest.raises(AirflowException, match="analysis_result_uri"):
        sensor(job_name="not-clarify", deferrable=False).execute({})


def test_deferrable_mode_defers_with_a_complete_trigger(aws_conn, scripted_status):
    start_job("sensor-defer")
    scripted_status("sensor-defer", ["InProgress"])
    op = sensor(
        job_name="sensor-defer",
        deferrable=True,
        poke_interval=15,
        timeout=4 * 3600,
        region_name="us-east-1",
        botocore_config={"retries": {"mode": "standard"}},
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, ClarifyProcessingJobTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout == timedelta(hours=4)
    assert (trigger.job_name, trigger.check_interval, trigger.max_ingestion_time) == (
        "sensor-defer",
        15,
        4 * 3600,
    )
    assert (trigger.aws_conn_id, trigger.region_name, trigger.botocore_config) == (
        "aws_default",
        "us-east-1",
        {"retries": {"mode": "standard"}},
    )
    assert trigger.stop_job_on_kill is False  # the job belongs to someone else
    assert trigger.budget_from_creation is False  # timeout counts from the sensor's start


def test_deferrable_mode_does_not_defer_for_a_finished_job(aws_conn, scripted_status):
    output = start_job("sensor-done")
    scripted_status("sensor-done", ["Completed"])
    assert sensor(job_name="sensor-done", deferrable=True).execute({}) == output


def test_deferrable_mode_end_to_end_through_the_trigger(aws_conn, scripted_status):
    output = start_job("sensor-e2e")
    scripted_status(
        "sensor-e2e", ["InProgress", "InProgress", "Failed"], failure_reason="ClientError: no data"
    )
    op = sensor(job_name="sensor-e2e", deferrable=True, poke_interval=0.1)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({})
    event = asyncio.run(asyncio.wait_for(deferred.value.trigger.run().__anext__(), timeout=20))
    with pytest.raises(ClarifyJobFailedException, match="ClientError: no data"):
        op.execute_complete({}, event.payload)
    assert output  # the job existed with its analysis_result output


def test_execute_complete_events(aws_conn):
    op = sensor(job_name="job-x")
    assert op.execute_complete({}, {"status": "success", "analysis_result_uri": "s3://b/out"}) == "s3://b/out"
    with pytest.raises(ClarifyJobFailedException, match="Facet missing"):
        op.execute_complete(
            {}, {"status": "failed", "job_status": "Failed", "failure_reason": "Facet missing"}
        )
    with pytest.raises(AirflowSensorTimeout, match="still InProgress"):
        op.execute_complete(
            {}, {"status": "timeout", "message": "Clarify job job-x still InProgress after ..."}
        )
    with pytest.raises(AirflowException, match="boom"):
        op.execute_complete({}, {"status": "error", "message": "boom"})
    with pytest.raises(AirflowException, match="no event"):
        op.execute_complete({}, None)


def test_job_name_is_templated(aws_conn):
    op = sensor(job_name="clarify-{{ ds_nodash }}", analysis_result_uri="s3://b/{{ params.p }}")
    assert {"job_name", "analysis_result_uri", "aws_conn_id", "region_name", "verify"} <= set(
        op.template_fields
    )
    op.render_template_fields({"ds_nodash": "20240301", "params": {"p": "out"}})
    assert (op.job_name, op.analysis_result_uri) == ("clarify-20240301", "s3://b/out")


def test_whole_dag_with_deferrable_and_poke_sensors(aws_conn, scripted_status, airflow_db, monkeypatch):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    output = start_job("sensor-dag-job")
    scripted_status("sensor-dag-job", ["InProgress", "InProgress", "InProgress", "Completed"])
    dag = bundled_dag(monkeypatch, DAGS, "clarify_sensor_test", bundle_name="clarify-sensor-test-dags")
    run = dag.test(logical_date=pendulum.datetime(2024, 3, 1, tz="UTC"))
    states = task_states(run)
    assert states == {"wait_deferrable": "success", "wait_poke": "success", "report": "success"}
    assert scripted_status.seen["sensor-dag-job"][:3] == ["InProgress", "InProgress", "InProgress"]
    with create_session() as session:
        query = XComModel.get_many(run_id=run.run_id, dag_ids="clarify_sensor_test", key="return_value")
        values = {row.task_id: XComModel.deserialize_value(row) for row in session.scalars(query)}
    assert values == {
        "wait_deferrable": output,
        "wait_poke": output,
        "report": output,
    }
