"""SageMaker path of monitoring: create/update/delete job definitions and schedules.

moto implements the job definitions (checked against it below); schedules and executions are not
implemented by moto, so those calls run against botocore's Stubber with the real service model: every
request the operators send is validated against the SageMaker API shapes and compared with the
expected parameters.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from airflow_provider_clarify.analysis.monitoring import (
    CronExpressionGenerator,
    EndpointInput,
    create_monitoring_requests,
)
from airflow_provider_clarify.analysis.monitoring.configs import BiasAnalysisConfig
from airflow_provider_clarify.operators.monitoring import (
    ClarifyCreateMonitoringScheduleOperator,
    ClarifyDeleteMonitoringScheduleOperator,
    ClarifyMonitoringExecutionOperator,
)
from tests.support.aws import BUCKET, REGION

CREATED = datetime(2024, 5, 1, tzinfo=UTC)


def monitoring_requests(cron: str = "cron(0 * ? * * *)"):
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
        monitor_schedule_name="credit-bias",
        job_definition_name="credit-bias-v1",
        schedule_cron_expression=cron,
        config_uuid="fixed",
    )


def described_definition(request: dict) -> dict:
    return {
        **{k: v for k, v in request.items() if k != "Tags"},
        "JobDefinitionArn": f"arn:aws:sagemaker:{REGION}:123456789012:model-bias-job-definition/credit-bias-v1",
        "CreationTime": CREATED,
    }


def described_schedule(schedule: dict) -> dict:
    return {
        "MonitoringScheduleArn": f"arn:aws:sagemaker:{REGION}:123456789012:monitoring-schedule/credit-bias",
        "MonitoringScheduleName": schedule["MonitoringScheduleName"],
        "MonitoringScheduleStatus": "Scheduled",
        "CreationTime": CREATED,
        "LastModifiedTime": CREATED,
        "MonitoringScheduleConfig": schedule["MonitoringScheduleConfig"],
    }


def capturing_endpoint(stub: Stubber, enabled: bool = True) -> None:
    stub.add_response(
        "describe_endpoint",
        {
            "EndpointName": "credit-endpoint",
            "EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/credit-endpoint",
            "EndpointConfigName": "credit-config",
            "EndpointStatus": "InService",
            "CreationTime": CREATED,
            "LastModifiedTime": CREATED,
            "DataCaptureConfig": {
                "EnableCapture": enabled,
                "CaptureStatus": "Started" if enabled else "Stopped",
                "CurrentSamplingPercentage": 100,
                "DestinationS3Uri": f"s3://{BUCKET}/capture",
                "KmsKeyId": "alias/aws/s3",
            },
        },
        {"EndpointName": "credit-endpoint"},
    )


def not_found(stub: Stubber, method: str) -> None:
    stub.add_client_error(method, service_error_code="ResourceNotFound", http_status_code=404)


def test_create_sends_the_requests_and_uploads_the_config(aws_conn, s3_bucket, moto_endpoint):
    requests = monitoring_requests()
    op = ClarifyCreateMonitoringScheduleOperator(task_id="create", requests=requests)
    with Stubber(op.hook.conn) as stub:
        capturing_endpoint(stub)
        not_found(stub, "describe_model_bias_job_definition")
        stub.add_response(
            "create_model_bias_job_definition", {"JobDefinitionArn": "arn:x"}, requests.job_definition
        )
        not_found(stub, "describe_monitoring_schedule")
        stub.add_response("create_monitoring_schedule", {"MonitoringScheduleArn": "arn:s"}, requests.schedule)
        assert op.execute({}) == "credit-bias"
        stub.assert_no_pending_responses()
    uri, body = requests.analysis_config_upload
    key = uri.split(f"s3://{BUCKET}/", 1)[1]
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) == body


def test_same_name_same_definition_sends_nothing(aws_conn):
    requests = monitoring_requests()
    op = ClarifyCreateMonitoringScheduleOperator(task_id="create", requests=requests)
    with Stubber(op.hook.conn) as stub:
        capturing_endpoint(stub)
        stub.add_response(
            "describe_model_bias_job_definition",
            described_definition(requests.job_definition),
            {"JobDefinitionName": "credit-bias-v1"},
        )
        stub.add_response(
            "describe_monitoring_schedule",
            described_schedule(requests.schedule),
            {"MonitoringScheduleName": "credit-bias"},
        )
        op.execute({})
        stub.assert_no_pending_responses()  # and no create/update call was made (the stub would raise)


def test_changed_cron_updates_the_schedule(aws_conn):
    old, new = monitoring_requests(), monitoring_requests(CronExpressionGenerator.daily(3))
    op = ClarifyCreateMonitoringScheduleOperator(task_id="create", requests=new)
    with Stubber(op.hook.conn) as stub:
        capturing_endpoint(stub)
        stub.add_response("describe_model_bias_job_definition", described_definition(new.job_definition))
        stub.add_response("describe_monitoring_schedule", described_schedule(old.schedule))
        stub.add_response(
            "update_monitoring_schedule",
            {"MonitoringScheduleArn": "arn:s"},
            {
                "MonitoringScheduleName": "credit-bias",
                "MonitoringScheduleConfig": new.schedule["MonitoringScheduleConfig"],
            },
        )
        op.execute({})
        stub.assert_no_pending_responses()


def test_a_changed_definition_under_the_same_name_is_refused(aws_conn):
    requests = monitoring_requests()
    described = described_definition(requests.job_definition)
    described["StoppingCondition"] = {"MaxRuntimeInSeconds": 600}
    op = ClarifyCreateMonitoringScheduleOperator(task_id="create", requests=requests)
    with Stubber(op.hook.conn) as stub:
        capturing_endpoint(stub)
        stub.add_response("describe_model_bias_job_definition", described)
        with pytest.raises(ValueError, match="new job_definition_name"):
            op.execute({})


def test_a_failed_schedule_call_deletes_the_new_definition(aws_conn, s3_bucket):
    requests = monitoring_requests()
    op = ClarifyCreateMonitoringScheduleOperator(task_id="create", requests=requests)
    with Stubber(op.hook.conn) as stub:
        capturing_endpoint(stub)
        not_found(stub, "describe_model_bias_job_definition")
        stub.add_response("create_model_bias_job_definition", {"JobDefinitionArn": "arn:x"})
        not_found(stub, "describe_monitoring_schedule")
        stub.add_client_error("create_monitoring_schedule", service_error_code="ResourceLimitExceeded")
        stub.add_response("delete_model_bias_job_definition", {}, {"JobDefinitionName": "credit-bias-v1"})
        with pytest.raises(Exception, match="ResourceLimitExceeded"):
            op.execute({})
        stub.assert_no_pending_responses()


def test_an_endpoint_without_data_capture_is_refused_before_anything_is_created(aws_conn):
    op = ClarifyCreateMonitoringScheduleOperator(task_id="create", requests=monitoring_requests())
    with Stubber(op.hook.conn) as stub:
        capturing_endpoint(stub, enabled=False)
        with pytest.raises(ValueError, match="does not capture data") as info:
            op.execute({})
        stub.assert_no_pending_responses()  # nothing else was called
    assert info.value.field == "endpoint_name"


def test_delete_removes_schedule_and_definition(aws_conn):
    requests = monitoring_requests()
    op = ClarifyDeleteMonitoringScheduleOperator(task_id="delete", monitor_schedule_name="credit-bias")
    with Stubber(op.hook.conn) as stub:
        stub.add_response("describe_monitoring_schedule", described_schedule(requests.schedule))
        stub.add_response("delete_monitoring_schedule", {}, {"MonitoringScheduleName": "credit-bias"})
        stub.add_response("delete_model_bias_job_definition", {}, {"JobDefinitionName": "credit-bias-v1"})
        op.execute({})
        stub.assert_no_pending_responses()
    with Stubber(op.hook.conn) as stub:
        not_found(stub, "describe_monitoring_schedule")
        op.execute({})  # already gone: not an error


def test_moto_accepts_the_job_definition_and_describes_it_back(aws_conn, moto_endpoint):
    requests = monitoring_requests()
    client = boto3.client("sagemaker", endpoint_url=moto_endpoint, region_name=REGION)
    client.create_model_bias_job_definition(**requests.job_definition)
    described = client.describe_model_bias_job_definition(JobDefinitionName="credit-bias-v1")
    assert described["ModelBiasJobInput"] == requests.job_definition["ModelBiasJobInput"]
    assert described["ModelBiasAppSpecification"] == requests.job_definition["ModelBiasAppSpecification"]


def test_execution_operator_refuses_unknown_compute():
    with pytest.raises(ValueError, match="'local' .*or 'sagemaker'"):
        ClarifyMonitoringExecutionOperator(task_id="m", job_definition={}, compute="spark")


class XComRecorder:
    def __init__(self) -> None:
        self.pushed: dict = {}

    def xcom_push(self, key: str, value) -> None:
        self.pushed[key] = value


def test_local_execution_publishes_model_monitor_metrics_when_asked(aws_conn, moto_endpoint, tmp_path):
    from datetime import timedelta

    from tests.support import monitoring as traffic_support

    start = datetime(2024, 5, 1, 10, tzinfo=UTC)
    data = traffic_support.make_traffic(600, start, timedelta(hours=1), seed=21)
    traffic_support.write_capture(tmp_path / "capture", data)
    traffic_support.write_ground_truth(tmp_path / "gt", data, delay=timedelta(0))
    config = traffic_support.write_json(
        tmp_path / "config.json",
        {"label_values_or_threshold": [1], "facet": [{"name_or_index": "gender", "value_or_threshold": [0]}],
         "headers": ["gender", "age", "income", "approved"], "label": "approved"},
    )  # fmt: skip
    definition = {
        "JobDefinitionName": "d",
        "ModelBiasAppSpecification": {"ImageUri": "img", "ConfigUri": str(config)},
        "ModelBiasJobInput": {
            "EndpointInput": {"EndpointName": traffic_support.ENDPOINT},
            "GroundTruthS3Input": {"S3Uri": str(tmp_path / "gt")},
        },
        "ModelBiasJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": str(tmp_path / "out")}}]},
    }
    op = ClarifyMonitoringExecutionOperator(
        task_id="monitor",
        job_definition=definition,
        data_capture_uri=str(tmp_path / "capture"),
        scheduled_time=(start + timedelta(hours=1)).isoformat(),
        output_uri=str(tmp_path / "result"),
        publish_cloudwatch_metrics=True,
        monitoring_schedule_name="credit-bias",
    )
    ti = XComRecorder()
    uri = op.execute({"ti": ti})
    assert uri.endswith("analysis.json")
    assert ti.pushed["monitoring_execution_status"] == "Completed"
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_endpoint, region_name=REGION)
    metrics = cloudwatch.list_metrics(Namespace="aws/sagemaker/Endpoints/bias-metrics")["Metrics"]
    names = {m["MetricName"] for m in metrics}
    assert {"bias_metric_CI", "bias_metric_DPPL", "bias_metric_DI"} <= names
    dims = {
        d["Name"]: d["Value"]
        for d in next(m for m in metrics if m["MetricName"] == "bias_metric_CI")["Dimensions"]
    }
    assert dims["MonitoringSchedule"] == "credit-bias"
    assert dims["Endpoint"] == traffic_support.ENDPOINT


def _bias_setup(tmp_path):
    from datetime import timedelta

    from tests.support import monitoring as traffic_support

    start = datetime(2024, 5, 1, 10, tzinfo=UTC)
    data = traffic_support.make_traffic(300, start, timedelta(hours=1), seed=5)
    traffic_support.write_capture(tmp_path / "capture", data)
    traffic_support.write_ground_truth(tmp_path / "gt", data, delay=timedelta(0))
    config = traffic_support.write_json(
        tmp_path / "config.json",
        {"label_values_or_threshold": [1], "facet": [{"name_or_index": "gender", "value_or_threshold": [0]}],
         "headers": ["gender", "age", "income", "approved"], "label": "approved"},
    )  # fmt: skip
    definition = {
        "JobDefinitionName": "d",
        "ModelBiasAppSpecification": {"ImageUri": "img", "ConfigUri": str(config)},
        "ModelBiasJobInput": {
            "EndpointInput": {"EndpointName": traffic_support.ENDPOINT},
            "GroundTruthS3Input": {"S3Uri": str(tmp_path / "gt")},
        },
    }
    return definition, (start + timedelta(hours=1)).isoformat()


def test_local_execution_runs_in_the_local_compute_child(tmp_path):
    definition, when = _bias_setup(tmp_path)
    op = ClarifyMonitoringExecutionOperator(
        task_id="monitor", job_definition=definition, data_capture_uri=str(tmp_path / "capture"),
        scheduled_time=when, output_uri=str(tmp_path / "result"), memory_limit_mb=4096, aws_conn_id=None,
    )  # fmt: skip
    ti = XComRecorder()
    assert op.execute({"ti": ti}) == str(tmp_path / "result" / "analysis.json")
    summary = ti.pushed["monitoring_execution"]
    assert summary["records"] == 300
    assert json.loads((tmp_path / "result" / "monitoring_execution.json").read_text())["status"] == "Completed"


def test_a_bad_job_definition_fails_without_retries(tmp_path):
    from airflow_provider_clarify.operators.monitoring import ClarifyMonitoringSetupError

    definition, when = _bias_setup(tmp_path)
    del definition["ModelBiasAppSpecification"]["ConfigUri"]  # found by the engine in the child
    op = ClarifyMonitoringExecutionOperator(
        task_id="monitor", job_definition=definition, data_capture_uri=str(tmp_path / "capture"),
        scheduled_time=when, output_uri=str(tmp_path / "result"), aws_conn_id=None,
    )  # fmt: skip
    with pytest.raises(ClarifyMonitoringSetupError, match="ConfigUri") as raised:
        op.execute({"ti": XComRecorder()})
    assert raised.value.__cause__.field == "ModelBiasAppSpecification.ConfigUri"


def test_a_tiny_memory_limit_is_refused_before_the_child_starts(tmp_path):
    from airflow_provider_clarify.operators.monitoring import ClarifyMonitoringSetupError

    definition, when = _bias_setup(tmp_path)
    op = ClarifyMonitoringExecutionOperator(
        task_id="monitor", job_definition=definition, scheduled_time=when, memory_limit_mb=10, aws_conn_id=None
    )
    with pytest.raises(ClarifyMonitoringSetupError, match="memory_limit_mb"):
        op.execute({"ti": XComRecorder()})


def test_a_timed_out_execution_is_stopped_and_retryable(tmp_path):
    from airflow_provider_clarify.operators.local_compute import LocalAnalysisConfigError, LocalAnalysisError

    definition, when = _bias_setup(tmp_path)
    op = ClarifyMonitoringExecutionOperator(
        task_id="monitor", job_definition=definition, data_capture_uri=str(tmp_path / "capture"),
        scheduled_time=when, output_uri=str(tmp_path / "result"), execution_timeout_seconds=0.01, aws_conn_id=None,
    )  # fmt: skip
    with pytest.raises(LocalAnalysisError, match="did not finish") as raised:
        op.execute({"ti": XComRecorder()})
    assert not isinstance(raised.value, LocalAnalysisConfigError)
    assert not (tmp_path / "result" / "analysis.json").exists()


def _zeroed(analysis: dict) -> dict:
    """A baseline whose every bias metric is 0: any non-zero current value is drift."""
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        for facet_values in analysis[stage]["facets"].values():
            for entry in facet_values:
                for metric in entry["metrics"]:
                    if metric.get("value") is not None:
                        metric["value"] = 0.0
    return analysis


def test_a_baseline_named_by_its_baselining_job_is_resolved_and_checked(aws_conn, moto_endpoint, s3_bucket, tmp_path):
    definition, when = _bias_setup(tmp_path)
    first = ClarifyMonitoringExecutionOperator(
        task_id="first", job_definition=definition, data_capture_uri=str(tmp_path / "capture"),
        scheduled_time=when, output_uri=str(tmp_path / "first"), aws_conn_id=None,
    )  # fmt: skip
    first.execute({"ti": XComRecorder()})
    baseline = _zeroed(json.loads((tmp_path / "first" / "analysis.json").read_text()))
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key="baselines/credit/analysis.json", Body=json.dumps(baseline).encode())
    sagemaker = boto3.client("sagemaker", endpoint_url=moto_endpoint, region_name=REGION)
    sagemaker.create_processing_job(
        ProcessingJobName="credit-baseline",
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}},
        AppSpecification={"ImageUri": "306415355426.dkr.ecr.us-west-2.amazonaws.com/sagemaker-clarify-processing:1.0"},
        RoleArn="arn:aws:iam::123456789012:role/Clarify",
        ProcessingOutputConfig={"Outputs": [{"OutputName": "analysis_result", "S3Output": {
            "S3Uri": f"s3://{BUCKET}/baselines/credit", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}]},
    )  # fmt: skip
    definition["ModelBiasBaselineConfig"] = {"BaseliningJobName": "credit-baseline"}
    op = ClarifyMonitoringExecutionOperator(
        task_id="monitor", job_definition=definition, data_capture_uri=str(tmp_path / "capture"),
        scheduled_time=when, output_uri=str(tmp_path / "result"), fail_on_violation=False,
    )  # fmt: skip
    ti = XComRecorder()
    op.execute({"ti": ti})
    assert ti.pushed["monitoring_execution_status"] == "CompletedWithViolations"
    assert {v["constraint_check_type"] for v in ti.pushed["violations"]} == {"bias_drift_check"}


def test_constraints_uri_of_a_baselining_job():
    from airflow_provider_clarify.analysis.errors import ClarifyConfigError
    from airflow_provider_clarify.analysis.monitoring.baseline import constraints_uri_from_processing_job

    output = {"OutputName": "analysis_result", "S3Output": {"S3Uri": "s3://b/base/", "LocalPath": "/opt/ml/processing/output"}}
    described = {"ProcessingJobName": "j", "ProcessingJobStatus": "Completed", "ProcessingOutputConfig": {"Outputs": [output]}}
    assert constraints_uri_from_processing_job(described) == "s3://b/base/analysis.json"
    with pytest.raises(ClarifyConfigError, match="is Failed: boom") as raised:
        constraints_uri_from_processing_job(described | {"ProcessingJobStatus": "Failed", "FailureReason": "boom"})
    assert raised.value.field == "BaseliningJobName"
    two = {"Outputs": [output | {"OutputName": "x"}, output | {"OutputName": "y"}]}
    with pytest.raises(ClarifyConfigError, match="no 'analysis_result'"):
        constraints_uri_from_processing_job(described | {"ProcessingOutputConfig": two})
