"""ClarifyMonitoringExecutionOperator(compute="sagemaker"): one execution as a one-time Model Monitor schedule.

Schedules, executions and job definitions go through botocore's Stubber with the real service model
(moto has no schedules or executions): every request is validated against the SageMaker API shapes and
compared with the expected parameters. The execution's processing job is created on moto and its
DescribeProcessingJob answer is what the stub returns; its results live in moto's S3.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from botocore.stub import Stubber

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.monitoring import (
    EndpointInput,
    create_monitoring_requests,
    create_schedule_request,
)
from airflow_provider_clarify.analysis.monitoring.configs import BiasAnalysisConfig
from airflow_provider_clarify.analysis.monitoring.one_time import one_time_execution
from airflow_provider_clarify.analysis.monitoring.schedule import analysis_window, parse_offset
from airflow_provider_clarify.operators import _monitoring_sagemaker as remote
from airflow_provider_clarify.operators._job_lifecycle import clarify_job_name
from airflow_provider_clarify.operators.monitoring import (
    ClarifyMonitoringExecutionFailed,
    ClarifyMonitoringExecutionOperator,
    ClarifyMonitoringSetupError,
    ClarifyMonitoringViolationError,
)
from airflow_provider_clarify.triggers.monitoring import ClarifyMonitoringExecutionTrigger
from tests.support.aws import BUCKET, REGION

NOW = datetime(2024, 5, 1, 14, 3, 7, tzinfo=UTC)
SCHEDULED = datetime(2024, 5, 1, 14, tzinfo=UTC)
CONFIG_KEY = "monitoring/credit-bias-v1/fixed/analysis_config.json"
BASELINE_KEY = "baseline/analysis.json"
VIOLATIONS = [
    {"facet": "gender", "facet_value": "0", "metric_name": "DPPL",
     "constraint_check_type": "bias_drift_check", "description": "Value 0.3 does not meet the constraint requirement"}
]  # fmt: skip


def definition() -> dict:
    return create_monitoring_requests(
        "ModelBias",
        role="arn:aws:iam::123456789012:role/MonitorRole",
        image_uri="306415355426.dkr.ecr.us-west-2.amazonaws.com/sagemaker-clarify-processing:1.0",
        analysis_config=BiasAnalysisConfig(
            {
                "label_values_or_threshold": [1],
                "facet": [{"name_or_index": "gender", "value_or_threshold": [0]}],
            },
            headers=["gender", "age", "approved"],
            label="approved",
        ),
        endpoint_input=EndpointInput("credit-endpoint", start_time_offset="-PT2H", end_time_offset="-PT1H"),
        ground_truth_input=f"s3://{BUCKET}/ground-truth",
        output_s3_uri=f"s3://{BUCKET}/monitoring",
        constraints=f"s3://{BUCKET}/{BASELINE_KEY}",
        monitor_schedule_name="credit-bias",
        job_definition_name="credit-bias-v1",
        schedule_cron_expression="cron(0 * ? * * *)",
        config_uuid="fixed",
    ).job_definition


class TaskInstance:
    """What the operator reads of the task instance (ids for the names) and what it pushes."""

    dag_id, task_id, run_id, map_index = "monitoring", "execution", "scheduled__2024-05-01T13:00:00+00:00", -1

    def __init__(self) -> None:
        self.pushed: dict = {}

    def xcom_push(self, key: str, value) -> None:
        self.pushed[key] = value

    def xcom_pull(self, task_ids: str, key: str, map_indexes: int = -1):
        assert (task_ids, map_indexes) == (self.task_id, self.map_index)
        return self.pushed.get(key)


BASE = clarify_job_name(
    "monitoring-execution",
    dag_id=TaskInstance.dag_id,
    task_id=TaskInstance.task_id,
    run_id=TaskInstance.run_id,
)


# --- the pure requests ------------------------------------------------------------------------------


def test_the_one_time_window_is_the_window_compute_local_analyses():
    requests = one_time_execution(definition(), name="exec-1", scheduled_time=SCHEDULED, now=NOW)
    local = analysis_window(SCHEDULED, "-PT2H", "-PT1H")
    assert (requests.window_start, requests.window_end) == local
    config = requests.schedule["MonitoringScheduleConfig"]["ScheduleConfig"]
    # SageMaker counts the offsets back from the run: at NOW they point exactly at the window.
    assert NOW + parse_offset(config["DataAnalysisStartTime"]) == local[0]
    assert NOW + parse_offset(config["DataAnalysisEndTime"]) == local[1]
    assert config["DataAnalysisStartTime"] == "-PT2H3M7S"
    assert requests.schedule == create_schedule_request(
        "exec-1",
        "exec-1",
        "ModelBias",
        schedule_cron_expression="NOW",
        data_analysis_start_time="-PT2H3M7S",
        data_analysis_end_time="-PT1H3M7S",
    )
    endpoint = requests.job_definition["ModelBiasJobInput"]["EndpointInput"]
    assert "StartTimeOffset" not in endpoint
    assert "EndTimeOffset" not in endpoint
    expected = definition()
    expected["JobDefinitionName"] = "exec-1"
    del expected["ModelBiasJobInput"]["EndpointInput"]["StartTimeOffset"]
    del expected["ModelBiasJobInput"]["EndpointInput"]["EndTimeOffset"]
    assert requests.job_definition == expected


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["ModelBiasAppSpecification"].update(ConfigUri="/tmp/config.json"), "ConfigUri"),
        (
            lambda d: d["ModelBiasJobInput"]["GroundTruthS3Input"].update(S3Uri="file:///gt"),
            "GroundTruthS3Input",
        ),
        (lambda d: d.pop("RoleArn"), "RoleArn"),
        (lambda d: d["ModelBiasJobInput"]["EndpointInput"].update(StartTimeOffset="-P2D"), "StartTimeOffset"),
    ],
)
def test_what_sagemaker_cannot_run_is_refused_with_the_field(change, field):
    broken = definition()
    change(broken)
    with pytest.raises(ClarifyConfigError) as caught:
        one_time_execution(broken, name="exec-1", scheduled_time=SCHEDULED, now=NOW)
    assert field in caught.value.field


def test_a_window_that_has_not_ended_is_refused():
    with pytest.raises(ClarifyConfigError, match="ends after now"):
        one_time_execution(definition(), name="exec-1", scheduled_time=NOW + timedelta(hours=2), now=NOW)


# --- the operator against Stubber (schedules, executions) and moto (processing job, S3) ------------


@pytest.fixture
def fixed_clock(monkeypatch):
    monkeypatch.setattr(remote, "utc_now", lambda: NOW)


@pytest.fixture
def s3_inputs(s3_bucket, moto_endpoint):
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key=CONFIG_KEY, Body=b"{}")
    s3.put_object(Bucket=BUCKET, Key=BASELINE_KEY, Body=b"{}")
    return s3


def moto_processing_job(moto_endpoint: str, s3, name: str, *, with_violations: bool) -> dict:
    """The execution's processing job, created on moto, with Model Monitor's files in its output."""
    prefix = f"monitoring/credit-endpoint/{name}/2024/05/01/14"
    sagemaker = boto3.client("sagemaker", endpoint_url=moto_endpoint, region_name=REGION)
    sagemaker.create_processing_job(
        ProcessingJobName=f"model-bias-monitoring-{name}"[:63],
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}},
        AppSpecification={"ImageUri": definition()["ModelBiasAppSpecification"]["ImageUri"]},
        RoleArn="arn:aws:iam::123456789012:role/MonitorRole",
        ProcessingOutputConfig={
            "Outputs": [
                {
                    "OutputName": "result",
                    "S3Output": {"S3Uri": f"s3://{BUCKET}/{prefix}", "LocalPath": "/opt/ml/processing/output",
                                 "S3UploadMode": "Continuous"},
                }
            ]
        },
    )  # fmt: skip
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/analysis.json", Body=json.dumps({"version": "1.0"}))
    if with_violations:
        s3.put_object(
            Bucket=BUCKET,
            Key=f"{prefix}/constraint_violations.json",
            Body=json.dumps({"version": "1.0", "violations": VIOLATIONS}),
        )
    described = sagemaker.describe_processing_job(ProcessingJobName=f"model-bias-monitoring-{name}"[:63])
    described.pop("ResponseMetadata")
    # moto leaves out this required member of the answer; the real service model (the stub) needs it
    described.setdefault(
        "ProcessingResources",
        {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}},
    )
    return described


def execution(name: str, status: str, job: dict | None = None, **extra) -> dict:
    summary = {
        "MonitoringScheduleName": name,
        "ScheduledTime": NOW,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
        "MonitoringExecutionStatus": status,
        "MonitoringType": "ModelBias",
        **extra,
    }
    if job is not None:
        summary["ProcessingJobArn"] = job["ProcessingJobArn"]
    return {"MonitoringExecutionSummaries": [summary]}


def listing(name: str) -> dict:
    return {
        "MonitoringScheduleName": name,
        "SortBy": "ScheduledTime",
        "SortOrder": "Descending",
        "MaxResults": 10,
    }


def not_found(stub: Stubber, method: str) -> None:
    stub.add_client_error(method, service_error_code="ResourceNotFound", http_status_code=404)


def operator(**kwargs) -> ClarifyMonitoringExecutionOperator:
    kwargs.setdefault("check_interval", 0.01)
    return ClarifyMonitoringExecutionOperator(
        task_id="execution",
        job_definition=definition(),
        scheduled_time=SCHEDULED.isoformat(),
        compute="sagemaker",
        **kwargs,
    )


def expect_creation(stub: Stubber, name: str) -> None:
    requests = one_time_execution(definition(), name=name, scheduled_time=SCHEDULED, now=NOW)
    stub.add_response(
        "create_model_bias_job_definition", {"JobDefinitionArn": "arn:d"}, requests.job_definition
    )
    stub.add_response("create_monitoring_schedule", {"MonitoringScheduleArn": "arn:s"}, requests.schedule)


def expect_earlier_schedule(stub: Stubber, requests) -> None:
    """An earlier try's schedule ``BASE`` and its job definition (this task's ``requests``) exist."""
    stub.add_response(
        "describe_monitoring_schedule",
        {
            "MonitoringScheduleArn": "arn:s",
            "MonitoringScheduleName": BASE,
            "MonitoringScheduleStatus": "Scheduled",
            "CreationTime": NOW,
            "LastModifiedTime": NOW,
            "MonitoringScheduleConfig": requests.schedule["MonitoringScheduleConfig"],
        },
        {"MonitoringScheduleName": BASE},
    )
    stub.add_response(
        "describe_model_bias_job_definition",
        {**requests.job_definition, "JobDefinitionArn": "arn:d", "CreationTime": NOW},
        {"JobDefinitionName": BASE},
    )


def expect_results(stub: Stubber, name: str, job: dict) -> None:
    stub.add_response("describe_processing_job", job, {"ProcessingJobName": job["ProcessingJobName"]})
    stub.add_response("delete_monitoring_schedule", {}, {"MonitoringScheduleName": name})
    stub.add_response("delete_model_bias_job_definition", {}, {"JobDefinitionName": name})


@pytest.mark.parametrize("fail_on_violation", [True, False])
def test_one_execution_on_sagemaker_creates_waits_reads_and_cleans_up(
    aws_conn, moto_endpoint, s3_inputs, fixed_clock, fail_on_violation
):
    job = moto_processing_job(moto_endpoint, s3_inputs, BASE, with_violations=True)
    op = operator(fail_on_violation=fail_on_violation)
    ti = TaskInstance()
    with Stubber(op.hook.conn) as stub:
        not_found(stub, "describe_monitoring_schedule")
        expect_creation(stub, BASE)
        stub.add_response("list_monitoring_executions", {"MonitoringExecutionSummaries": []}, listing(BASE))
        stub.add_response("list_monitoring_executions", execution(BASE, "Pending"), listing(BASE))
        stub.add_response("list_monitoring_executions", execution(BASE, "InProgress", job), listing(BASE))
        stub.add_response(
            "list_monitoring_executions", execution(BASE, "CompletedWithViolations", job), listing(BASE)
        )
        expect_results(stub, BASE, job)
        if fail_on_violation:
            with pytest.raises(ClarifyMonitoringViolationError, match="DPPL"):
                op.execute({"ti": ti})
            result = None
        else:
            result = op.execute({"ti": ti})
        stub.assert_no_pending_responses()
    output = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    if not fail_on_violation:
        assert result == f"{output}/analysis.json"
    assert ti.pushed["monitoring_schedule_name"] == BASE
    assert ti.pushed["monitoring_execution_status"] == "CompletedWithViolations"
    assert ti.pushed["violations"] == VIOLATIONS
    summary = ti.pushed["monitoring_execution"]
    assert summary["window_start"] == "2024-05-01T12:00:00+00:00"
    assert summary["window_end"] == "2024-05-01T13:00:00+00:00"
    assert summary["violations_uri"] == f"{output}/constraint_violations.json"
    assert summary["processing_job_arn"] == job["ProcessingJobArn"]


def test_a_retry_re_attaches_to_the_schedule_its_first_try_created(
    aws_conn, moto_endpoint, s3_inputs, fixed_clock
):
    job = moto_processing_job(moto_endpoint, s3_inputs, BASE, with_violations=False)
    requests = one_time_execution(definition(), name=BASE, scheduled_time=SCHEDULED, now=NOW)
    op = operator()
    ti = TaskInstance()
    with Stubber(op.hook.conn) as stub:
        expect_earlier_schedule(stub, requests)
        stub.add_response("list_monitoring_executions", execution(BASE, "InProgress", job), listing(BASE))
        # no create_* call: the stub would refuse it
        stub.add_response("list_monitoring_executions", execution(BASE, "InProgress", job), listing(BASE))
        stub.add_response("list_monitoring_executions", execution(BASE, "Completed", job), listing(BASE))
        expect_results(stub, BASE, job)
        assert op.execute({"ti": ti}).endswith("/analysis.json")
        stub.assert_no_pending_responses()
    assert ti.pushed["monitoring_execution_status"] == "Completed"
    assert ti.pushed["violations"] == []


def test_after_a_failed_execution_a_retry_starts_a_fresh_schedule(
    aws_conn, moto_endpoint, s3_inputs, fixed_clock
):
    requests = one_time_execution(definition(), name=BASE, scheduled_time=SCHEDULED, now=NOW)
    fresh = f"{BASE}-2"
    job = moto_processing_job(moto_endpoint, s3_inputs, fresh, with_violations=False)
    op = operator()
    with Stubber(op.hook.conn) as stub:
        expect_earlier_schedule(stub, requests)
        stub.add_response(
            "list_monitoring_executions",
            execution(BASE, "Failed", FailureReason="Job inputs had no data"),
            listing(BASE),
        )
        not_found(stub, "describe_monitoring_schedule")
        expect_creation(stub, fresh)
        stub.add_response("list_monitoring_executions", execution(fresh, "Completed", job), listing(fresh))
        expect_results(stub, fresh, job)
        op.execute({"ti": TaskInstance()})
        stub.assert_no_pending_responses()


def test_a_failed_execution_fails_the_task_with_its_reason(aws_conn, s3_inputs, fixed_clock):
    op = operator()
    ti = TaskInstance()
    with Stubber(op.hook.conn) as stub:
        not_found(stub, "describe_monitoring_schedule")
        expect_creation(stub, BASE)
        stub.add_response(
            "list_monitoring_executions",
            execution(BASE, "Failed", FailureReason="Job inputs had no data"),
            listing(BASE),
        )
        stub.add_response("delete_monitoring_schedule", {}, {"MonitoringScheduleName": BASE})
        stub.add_response("delete_model_bias_job_definition", {}, {"JobDefinitionName": BASE})
        with pytest.raises(ClarifyMonitoringExecutionFailed, match="Job inputs had no data"):
            op.execute({"ti": ti})
        stub.assert_no_pending_responses()
    assert ti.pushed["monitoring_execution_status"] == "Failed"


def test_a_missing_baseline_is_refused_before_anything_is_created(
    aws_conn, s3_bucket, moto_endpoint, fixed_clock
):
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key=CONFIG_KEY, Body=b"{}")  # the config, but no baseline
    op = operator()
    with Stubber(op.hook.conn) as stub:
        not_found(stub, "describe_monitoring_schedule")
        with pytest.raises(ClarifyMonitoringSetupError, match="ConstraintsResource"):
            op.execute({"ti": TaskInstance()})
        stub.assert_no_pending_responses()


def test_a_local_location_fails_before_any_aws_call(aws_conn, fixed_clock):
    broken = definition()
    broken["ModelBiasAppSpecification"]["ConfigUri"] = "/tmp/analysis_config.json"
    op = ClarifyMonitoringExecutionOperator(
        task_id="execution", job_definition=broken, scheduled_time=SCHEDULED.isoformat(), compute="sagemaker"
    )
    with Stubber(op.hook.conn):  # no responses: any call would fail the test
        with pytest.raises(ClarifyMonitoringSetupError, match="reads and writes only S3"):
            op.execute({"ti": TaskInstance()})


def test_deferred_wait_uses_the_execution_trigger_and_resumes_like_the_worker_wait(
    aws_conn, moto_endpoint, s3_inputs, fixed_clock
):
    job = moto_processing_job(moto_endpoint, s3_inputs, BASE, with_violations=True)
    op = operator(deferrable=True, fail_on_violation=False)
    ti = TaskInstance()
    with Stubber(op.hook.conn) as stub:
        not_found(stub, "describe_monitoring_schedule")
        expect_creation(stub, BASE)
        stub.add_response("list_monitoring_executions", execution(BASE, "Pending"), listing(BASE))
        with pytest.raises(TaskDeferred) as deferred:
            op.execute({"ti": ti})
        stub.assert_no_pending_responses()
    trigger = deferred.value.trigger
    assert isinstance(trigger, ClarifyMonitoringExecutionTrigger)
    assert (trigger.monitor_schedule_name, trigger.scheduled_time, trigger.stop_on_kill) == (BASE, None, True)
    # the resumed task: the trigger's event carries the plain (JSON) execution summary
    event = {"status": "done", "execution": {
        "MonitoringScheduleName": BASE, "ScheduledTime": NOW.isoformat(),
        "MonitoringExecutionStatus": "CompletedWithViolations", "ProcessingJobArn": job["ProcessingJobArn"]}}  # fmt: skip
    with Stubber(op.hook.conn) as stub:
        expect_results(stub, BASE, job)
        result = op.execute_complete({"ti": ti}, event, **(deferred.value.kwargs or {}))
        stub.assert_no_pending_responses()
    assert result.endswith("/analysis.json")
    assert ti.pushed["violations"] == VIOLATIONS
    assert ti.pushed["monitoring_execution"]["window_start"] == "2024-05-01T12:00:00+00:00"


def test_a_kill_stops_the_running_execution_and_the_schedule(aws_conn, moto_endpoint, s3_inputs):
    job = moto_processing_job(moto_endpoint, s3_inputs, BASE, with_violations=False)
    op = operator()
    op._running_schedule = BASE  # waiting for it
    with Stubber(op.hook.conn) as stub:
        stub.add_response("list_monitoring_executions", execution(BASE, "InProgress", job), listing(BASE))
        stub.add_response("stop_processing_job", {}, {"ProcessingJobName": job["ProcessingJobName"]})
        stub.add_response("stop_monitoring_schedule", {}, {"MonitoringScheduleName": BASE})
        op.on_kill()  # outside a task run: an explicit kill
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(("argument", "value"), [("check_interval", 0), ("max_wait_seconds", -5)])
def test_a_wait_setting_that_cannot_work_fails_before_any_aws_call(aws_conn, fixed_clock, argument, value):
    op = operator(**{argument: value})
    with Stubber(op.hook.conn), pytest.raises(ClarifyMonitoringSetupError, match=argument):
        op.execute({"ti": TaskInstance()})
