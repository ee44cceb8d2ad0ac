"""ClarifyBaseOperator and its subclasses against a real fake AWS (moto server + an ``aws`` connection).

Every test drives the operator through boto3 over HTTP to moto; jobs are held ``InProgress`` with the
``scripted_status`` / ``jobs_start_in_progress`` fixtures so waiting, failure and stopping really happen.
The task instance is a small recording object (dag_id, task_id, run_id, map_index, xcom_push): the
whole-DAG path (real TaskInstance, XCom table, triggerer) is covered by tests/dags/.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

import boto3
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred

from airflow_provider_clarify.analysis.configs import (
    BiasConfig,
    DataConfig,
    ModelConfig,
    ModelPredictedLabelConfig,
    SHAPConfig,
)
from airflow_provider_clarify.hooks.clarify import job_failure_message
from airflow_provider_clarify.operators.clarify import (
    ClarifyBaseOperator,
    ClarifyBiasAndExplainabilityOperator,
    ClarifyBiasOperator,
    ClarifyExplainabilityOperator,
    ClarifyInvalidConfigException,
    ClarifyJobFailedException,
    ClarifyJobTimeoutException,
    ClarifyPostTrainingBiasOperator,
    ClarifyPreTrainingBiasOperator,
    ClarifySuggestBaselineOperator,
    clarify_job_name,
)
from airflow_provider_clarify.triggers.clarify import ClarifyProcessingJobTrigger
from tests.support.aws import ACCOUNT_ID, BUCKET, REGION

HEADERS = ["sex", "age", "job", "housing", "credit_amount", "duration", "approved", "score", "predicted"]
DATA_URI = f"s3://{BUCKET}/credit/2024-03-01/train.csv"
OUT_URI = f"s3://{BUCKET}/clarify/2024-03-01/pre"
ROLE_NAME = "ClarifyRole"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/{ROLE_NAME}"
IMAGE_US_EAST_1 = "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0"
REPORT = {"name": "report", "title": "Analysis Report"}
FAST = {"check_interval": 0.05}


@dataclass
class RecordingTI:
    """The parts of a TaskInstance the operator uses: identity and xcom_push."""

    dag_id: str = "clarify_unit"
    task_id: str = "audit"
    run_id: str = "scheduled__2024-03-01T00:00:00+00:00"
    map_index: int = -1
    try_number: int = 1
    xcoms: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def job_config_uri(job_name: str, output: str = OUT_URI) -> str:
    """Where the operator uploads the config of one job."""
    return f"{output}/{job_name}/analysis_config.json"


def context_for(ti: RecordingTI, **extra: Any) -> dict[str, Any]:
    return {"ti": ti, "task_instance": ti, **extra}


def job_name_for(ti: RecordingTI, prefix: str = "Clarify-Pretraining-Bias") -> str:
    return clarify_job_name(
        prefix, dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id, map_index=ti.map_index
    )


def data_config(**overrides: Any) -> DataConfig:
    kwargs = {
        "s3_data_input_path": DATA_URI,
        "s3_output_path": OUT_URI,
        "label": "approved",
        "headers": HEADERS,
        "dataset_type": "text/csv",
    }
    kwargs.update(overrides)
    return DataConfig(**kwargs)


def bias_config() -> BiasConfig:
    return BiasConfig(
        label_values_or_threshold=[1],
        facet_name="sex",
        facet_values_or_threshold=["female"],
        group_name="housing",
    )


def pre_training(task_id: str = "audit", **kwargs: Any) -> ClarifyPreTrainingBiasOperator:
    params = {"data_config": data_config(), "bias_config": bias_config(), "role": ROLE_NAME, **FAST}
    params.update(kwargs)
    return ClarifyPreTrainingBiasOperator(task_id=task_id, **params)


def expected_pre_training_config() -> dict:
    """docs/configs.md (how AnalysisConfig composes): DataConfig keys, BiasConfig keys, then methods (report first)."""
    return {
        "dataset_type": "text/csv",
        "headers": HEADERS,
        "label": "approved",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
        "group_variable": "housing",
        "methods": {"report": REPORT, "pre_training_bias": {"methods": "all"}},
    }


@pytest.fixture
def role(aws_conn, moto_endpoint):
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name=REGION)
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}]}
    return iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


@pytest.fixture
def aws(role, s3_bucket, moto_endpoint):
    """Bucket, role and dataset exist; returns a boto3 S3 client on the fake endpoint."""
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key=DATA_URI.split("/", 3)[3], Body=b"female,30,1\n")
    return s3


def capture_requests(op: ClarifyBaseOperator) -> list[dict]:
    """Record every CreateProcessingJob request the operator's own boto3 client sends."""
    sent: list[dict] = []

    def record(params: dict, **_: Any) -> None:
        sent.append(json.loads(json.dumps(params)))

    op.hook.conn.meta.events.register("provide-client-params.sagemaker.CreateProcessingJob", record)
    return sent


async def first_event(trigger: ClarifyProcessingJobTrigger) -> Any:
    """Run the trigger (aiobotocore against moto) until its first event, bounded in time."""
    events = trigger.run()
    try:
        return await asyncio.wait_for(events.__anext__(), timeout=20)
    finally:
        await events.aclose()


def read_json(s3, uri: str) -> dict:
    bucket, key = uri[len("s3://") :].split("/", 1)
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


# --- success, uploaded config, exact request ------------------------------------------------------------


def test_success_returns_result_uri_pushes_xcom_and_uploads_the_sdk_config(aws, scripted_status, sm_backend):
    ti = RecordingTI()
    name = job_name_for(ti)
    scripted_status(name, ["InProgress", "InProgress", "Completed"])
    op = pre_training()
    sent = capture_requests(op)

    result = op.execute(context_for(ti))

    assert result == OUT_URI
    assert scripted_status.seen[name] == ["InProgress", "InProgress", "Completed"]
    config_uri = job_config_uri(name)  # each job reads a config of its own
    assert ti.xcoms["job_name"] == name
    assert ti.xcoms["job_arn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:processing-job/{name}"
    assert ti.xcoms["analysis_config_uri"] == config_uri
    assert read_json(aws, config_uri) == expected_pre_training_config()
    # after the job completed, its config is also beside its results (the SDK's place)
    assert read_json(aws, f"{OUT_URI}/analysis_config.json") == expected_pre_training_config()
    assert sent == [
        {
            "ProcessingJobName": name,
            "ProcessingResources": {
                "ClusterConfig": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}
            },
            "AppSpecification": {"ImageUri": IMAGE_US_EAST_1},
            "RoleArn": ROLE_ARN,
            "ProcessingInputs": [
                {
                    "InputName": "dataset",
                    "AppManaged": False,
                    "S3Input": {
                        "S3Uri": DATA_URI,
                        "LocalPath": "/opt/ml/processing/input/data",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                        "S3CompressionType": "None",
                    },
                },
                {
                    "InputName": "analysis_config",
                    "AppManaged": False,
                    "S3Input": {
                        "S3Uri": config_uri,
                        "LocalPath": "/opt/ml/processing/input/config",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                        "S3CompressionType": "None",
                    },
                },
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "analysis_result",
                        "AppManaged": False,
                        "S3Output": {
                            "S3Uri": OUT_URI,
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
        }
    ]
    assert list(sm_backend.processing_jobs) == [name]


def test_every_job_parameter_reaches_the_request(aws, moto_endpoint):
    ti = RecordingTI(task_id="full")
    op = pre_training(
        task_id="full",
        role=ROLE_ARN,
        # more than one instance runs Clarify's distributed mode, which needs a join column (preflight)
        data_config=data_config(headers=[*HEADERS, "id"], joinsource="id"),
        instance_count="2",  # as Jinja would render it
        instance_type="ml.m5.2xlarge",
        volume_size_in_gb=100,
        volume_kms_key="arn:aws:kms:us-east-1:123456789012:key/volume",
        output_kms_key="arn:aws:kms:us-east-1:123456789012:key/output",
        max_runtime_in_seconds=3600,
        env={"MY_VAR": "x"},
        tags={"team": "ml"},
        network_config={
            "EnableInterContainerTrafficEncryption": True,
            "VpcConfig": {"SecurityGroupIds": ["sg-0123"], "Subnets": ["subnet-a", "subnet-b"]},
        },
        experiment_config={"ExperimentName": "credit-audit"},
        job_name_prefix="nightly-audit",
        kms_key="arn:aws:kms:us-east-1:123456789012:key/config",
    )
    sent = capture_requests(op)

    op.execute(context_for(ti))

    (request,) = sent
    assert request["ProcessingJobName"] == job_name_for(ti, "nightly-audit")
    assert request["ProcessingJobName"].startswith("nightly-audit-")
    assert request["ProcessingResources"] == {
        "ClusterConfig": {
            "InstanceType": "ml.m5.2xlarge",
            "InstanceCount": 2,
            "VolumeSizeInGB": 100,
            "VolumeKmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/volume",
        }
    }
    assert request["ProcessingOutputConfig"]["KmsKeyId"] == "arn:aws:kms:us-east-1:123456789012:key/output"
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert request["Environment"] == {"MY_VAR": "x"}
    assert request["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert request["NetworkConfig"] == {
        "EnableNetworkIsolation": False,
        "EnableInterContainerTrafficEncryption": True,
        "VpcConfig": {"SecurityGroupIds": ["sg-0123"], "Subnets": ["subnet-a", "subnet-b"]},
    }
    assert request["ExperimentConfig"] == {"ExperimentName": "credit-audit"}
    assert request["RoleArn"] == ROLE_ARN
    head = aws.head_object(Bucket=BUCKET, Key="clarify/2024-03-01/pre/analysis_config.json")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith("key/config")


# --- failure, stopped, timeout, kill ----------------------------------------------------------------


def test_failed_job_fails_the_task_with_its_reason_without_retry(aws, scripted_status):
    ti = RecordingTI()
    name = job_name_for(ti)
    reason = "ClientError: Unable to locate the facet."
    scripted_status(name, ["InProgress", "Failed"], failure_reason=reason)

    with pytest.raises(ClarifyJobFailedException) as err:
        pre_training().execute(context_for(ti))

    assert isinstance(err.value, AirflowFailException)
    assert str(err.value) == job_failure_message(name, "Failed", reason)
    assert (err.value.job_status, err.value.failure_reason) == ("Failed", reason)


def test_stopped_job_fails_the_task(aws, scripted_status):
    ti = RecordingTI()
    name = job_name_for(ti)
    scripted_status(name, ["InProgress", "Stopped"])

    with pytest.raises(ClarifyJobFailedException) as err:
        pre_training().execute(context_for(ti))

    assert err.value.job_status == "Stopped"
    assert str(err.value) == job_failure_message(name, "Stopped", None)


def test_timeout_stops_the_job_and_fails(aws, jobs_start_in_progress, sm_backend, aws_requests):
    ti = RecordingTI()
    op = pre_training(max_ingestion_time=1, check_interval=0.2)

    with pytest.raises(ClarifyJobTimeoutException, match="max_ingestion_time=1"):
        op.execute(context_for(ti))

    assert aws_requests.count("SageMaker.StopProcessingJob") == 1
    assert aws_requests.count("SageMaker.DescribeProcessingJob") >= 2  # it polled before giving up
    assert sm_backend.processing_jobs[job_name_for(ti)].processing_job_status == "Stopped"


def execute_until_the_job_runs(op, ti: RecordingTI) -> tuple[threading.Thread, dict[str, BaseException]]:
    """Start ``op.execute`` on a thread and return once it has started its job (at most 10 s).

    Returns the thread and a dict that receives the exception ``execute`` ends with (``"error"``).
    """
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            op.execute(context_for(ti))
        except BaseException as error:
            outcome["error"] = error

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 10
    while op._running_job_name is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return worker, outcome


def test_on_kill_stops_the_running_job(aws, jobs_start_in_progress, sm_backend):
    ti = RecordingTI()
    name = job_name_for(ti)
    op = pre_training()
    worker, outcome = execute_until_the_job_runs(op, ti)
    assert sm_backend.processing_jobs[name].processing_job_status == "InProgress"

    op.on_kill()
    worker.join(timeout=10)

    assert sm_backend.processing_jobs[name].processing_job_status == "Stopped"
    assert isinstance(outcome["error"], ClarifyJobFailedException)
    assert outcome["error"].job_status == "Stopped"


# --- retries re-attach ----------------------------------------------------------------------------------


def test_retry_reattaches_to_the_in_progress_job(aws, scripted_status, sm_backend):
    ti = RecordingTI()
    name = job_name_for(ti)
    scripted_status(name, ["InProgress", "InProgress", "InProgress", "Completed"])
    first = pre_training(deferrable=True)
    sent_first = capture_requests(first)
    with pytest.raises(TaskDeferred):
        first.execute(context_for(ti))

    # The worker died; Airflow retries the same task instance with a fresh operator and try_number 2.
    retry_ti = RecordingTI(try_number=2)
    second = pre_training()
    sent_second = capture_requests(second)
    assert second.execute(context_for(retry_ti)) == OUT_URI

    assert len(sent_first) == 1
    assert sent_second == []
    assert list(sm_backend.processing_jobs) == [name]
    assert retry_ti.xcoms["job_name"] == name
    assert retry_ti.xcoms["analysis_config_uri"] == job_config_uri(name)


def test_retry_after_completion_reuses_the_result_without_a_new_job(aws, sm_backend):
    ti = RecordingTI()
    assert pre_training().execute(context_for(ti)) == OUT_URI  # moto completes jobs at once
    again = pre_training()
    sent = capture_requests(again)

    assert again.execute(context_for(RecordingTI(try_number=2))) == OUT_URI
    assert sent == []
    assert list(sm_backend.processing_jobs) == [job_name_for(ti)]


def test_rerun_with_a_changed_config_starts_a_fresh_job(aws, sm_backend):
    ti = RecordingTI()
    pre_training().execute(context_for(ti))
    changed = pre_training(methods=["CI", "DPL"])

    changed.execute(context_for(ti))

    name = job_name_for(ti)
    assert list(sm_backend.processing_jobs) == [name, f"{name}-2"]
    assert ti.xcoms["job_name"] == f"{name}-2"
    methods = read_json(aws, f"{OUT_URI}/analysis_config.json")["methods"]
    assert methods["pre_training_bias"] == {"methods": ["CI", "DPL"]}


def test_retry_after_failure_starts_a_fresh_suffixed_job(aws, scripted_status, sm_backend):
    ti = RecordingTI()
    name = job_name_for(ti)
    scripted_status(name, ["Failed"], failure_reason="AlgorithmError: boom")
    scripted_status(f"{name}-2", ["InProgress", "Completed"])
    with pytest.raises(ClarifyJobFailedException):
        pre_training().execute(context_for(ti))

    retry_ti = RecordingTI(try_number=2)
    assert pre_training().execute(context_for(retry_ti)) == OUT_URI

    assert list(sm_backend.processing_jobs) == [name, f"{name}-2"]
    assert retry_ti.xcoms["job_name"] == f"{name}-2"


def test_job_names_are_deterministic_per_task_instance_and_valid():
    base = dict(dag_id="d", task_id="t", run_id="scheduled__2024-03-01T00:00:00+00:00")
    name = clarify_job_name("Clarify-Bias", **base)
    assert name == clarify_job_name("Clarify-Bias", **base)
    assert name != clarify_job_name("Clarify-Bias", **{**base, "run_id": "manual__x"})
    assert name != clarify_job_name("Clarify-Bias", **base, map_index=3)
    long_name = clarify_job_name("my_prefix.with.dots_" + "x" * 80, **base)
    assert len(long_name) <= 59
    assert "_" not in long_name
    assert "." not in long_name


# --- deferrable mode --------------------------------------------------------------------------------------


def test_deferral_hands_the_job_to_the_trigger_with_the_ingestion_limit(aws, jobs_start_in_progress):
    ti = RecordingTI()
    op = pre_training(deferrable=True, check_interval=15, max_ingestion_time=7 * 3600)

    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context_for(ti))

    trigger = deferred.value.trigger
    assert isinstance(trigger, ClarifyProcessingJobTrigger)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_clarify.triggers.clarify.ClarifyProcessingJobTrigger"
    assert kwargs["job_name"] == job_name_for(ti)
    assert kwargs["analysis_result_uri"] == OUT_URI
    assert kwargs["check_interval"] == 15
    assert kwargs["max_ingestion_time"] == 7 * 3600
    assert kwargs["aws_conn_id"] == "aws_default"
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout > timedelta(hours=7)
    assert deferred.value.timeout < timedelta(hours=7, minutes=5)
    assert ti.xcoms["job_name"] == job_name_for(ti)


def test_deferrable_does_not_defer_when_the_job_is_already_complete(aws):
    ti = RecordingTI()
    assert pre_training(deferrable=True).execute(context_for(ti)) == OUT_URI


def test_deferred_failure_reports_exactly_like_the_synchronous_path(aws, scripted_status):
    reason = "ClientError: Headers must contain label."
    sync_ti, deferred_ti = RecordingTI(task_id="sync"), RecordingTI(task_id="deferred")
    scripted_status(job_name_for(sync_ti), ["InProgress", "Failed"], failure_reason=reason)
    scripted_status(job_name_for(deferred_ti), ["InProgress", "InProgress", "Failed"], failure_reason=reason)

    with pytest.raises(ClarifyJobFailedException) as sync_error:
        pre_training(task_id="sync").execute(context_for(sync_ti))
    op = pre_training(task_id="deferred", deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context_for(deferred_ti))
    event = asyncio.run(first_event(deferred.value.trigger))
    with pytest.raises(ClarifyJobFailedException) as deferred_error:
        op.execute_complete(context_for(deferred_ti), event.payload)

    assert str(sync_error.value) == job_failure_message(job_name_for(sync_ti), "Failed", reason)
    assert str(deferred_error.value) == job_failure_message(job_name_for(deferred_ti), "Failed", reason)
    assert (sync_error.value.job_status, sync_error.value.failure_reason) == (
        deferred_error.value.job_status,
        deferred_error.value.failure_reason,
    )


def test_execute_complete_success_and_malformed_events(aws):
    op = pre_training()
    ti = RecordingTI()
    uri = "s3://b/out"
    assert (
        op.execute_complete(
            context_for(ti), {"status": "success", "job_name": "j", "analysis_result_uri": uri}
        )
        == uri
    )
    with pytest.raises(Exception, match="no usable event"):
        op.execute_complete(context_for(ti), None)
    with pytest.raises(Exception, match="reported an error: boom"):
        op.execute_complete(context_for(ti), {"status": "error", "message": "boom"})


def test_timeout_event_stops_the_job(aws, jobs_start_in_progress, sm_backend):
    ti = RecordingTI()
    op = pre_training(deferrable=True, max_ingestion_time=1, check_interval=0.2)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context_for(ti))
    event = asyncio.run(first_event(deferred.value.trigger))
    assert event.payload["status"] == "timeout"

    resumed = pre_training(deferrable=True, max_ingestion_time=1, check_interval=0.2)
    with pytest.raises(ClarifyJobTimeoutException):
        resumed.execute_complete(context_for(ti), event.payload)
    assert sm_backend.processing_jobs[job_name_for(ti)].processing_job_status == "Stopped"


# --- templating -----------------------------------------------------------------------------------------


def test_nested_configs_are_rendered_before_they_are_used(aws):
    ti = RecordingTI()
    op = ClarifyPreTrainingBiasOperator(
        task_id="audit",
        role="{{ params.role }}",
        data_config=DataConfig(
            s3_data_input_path="s3://{{ params.bucket }}/credit/{{ ds }}/train.csv",
            s3_output_path="s3://{{ params.bucket }}/clarify/{{ ds }}/pre",
            label="{{ params.label }}",
            headers=HEADERS,
        ),
        bias_config=BiasConfig(
            label_values_or_threshold=[1],
            facet_name="{{ params.facet }}",
            facet_values_or_threshold=["{{ params.group }}"],
        ),
        methods=["{{ params.metric }}"],
        instance_count="{{ params.instances }}",
        **FAST,
    )
    context = context_for(
        ti,
        ds="2024-03-01",
        params={
            "bucket": BUCKET,
            "role": ROLE_NAME,
            "label": "approved",
            "facet": "age",
            "group": "young",
            "metric": "CI",
            "instances": 1,
        },
    )
    op.render_template_fields(context)
    sent = capture_requests(op)

    assert op.execute(context) == OUT_URI

    uploaded = read_json(aws, f"{OUT_URI}/analysis_config.json")
    assert uploaded["label"] == "approved"
    assert uploaded["facet"] == [{"name_or_index": "age", "value_or_threshold": ["young"]}]
    assert uploaded["methods"]["pre_training_bias"] == {"methods": ["CI"]}
    assert sent[0]["ProcessingInputs"][0]["S3Input"]["S3Uri"] == DATA_URI
    assert sent[0]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1


def test_template_fields_are_attributes_named_like_arguments():
    ops = [
        pre_training(),
        ClarifyBiasAndExplainabilityOperator(
            task_id="t",
            data_config=data_config(),
            model_config=ModelConfig(model_name="m", instance_count=1, instance_type="ml.m5.xlarge"),
            explainability_config=SHAPConfig(num_samples=10),
            bias_config=bias_config(),
        ),
    ]
    for op in ops:
        for name in op.template_fields:
            assert hasattr(op, name), name


# --- invalid configuration: typed, not retried, before any AWS call ------------------------------------


@pytest.fixture
def unreachable_aws(monkeypatch):
    """An aws connection whose endpoint refuses connections: any AWS call would fail differently."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "x",
                "password": "y",
                "extra": {"endpoint_url": "http://127.0.0.1:9", "region_name": REGION},
            }
        ),
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"bias_config": {"label_values_or_threshold": [1], "facet": "sex"}}, "bias_config"),
        (
            {
                "data_config": {
                    "s3_data_input_path": DATA_URI,
                    "s3_output_path": OUT_URI,
                    "dataset_type": "text/tsv",
                }
            },
            "dataset_type",
        ),
        ({"role": None}, "role"),
        ({"instance_count": "many"}, "instance_count"),
        ({"data_config": data_config(s3_output_path="/tmp/local-out")}, "output"),
        ({"compute": "gpu-cluster"}, "compute"),
        ({"job_name": "bad_name.with_underscores"}, "job_name"),
        ({"check_interval": 0}, "check_interval"),
    ],
)
def test_invalid_configuration_fails_fast_and_is_not_retried(aws, aws_requests, overrides, field):
    op = pre_training(**overrides)
    aws_requests.clear()

    with pytest.raises(ClarifyInvalidConfigException) as err:
        op.execute(context_for(RecordingTI()))

    assert isinstance(err.value, AirflowFailException)
    assert field in str(err.value)
    assert aws_requests == []  # counted on the fake AWS server: not a single request was sent


@pytest.mark.parametrize("compute", ["sagemaker", "local"])
def test_unknown_metric_name_fails_the_task_before_any_aws_call(aws, aws_requests, compute):
    """Schema v1.0 accepts any string as a metric name; preflight rejects it (and every other error)."""
    op = pre_training(
        compute=compute,
        methods=["NOPE", "CDDL"],
        bias_config={"label_values_or_threshold": [1], "facet_name": "sex"},  # no group_name
    )
    aws_requests.clear()

    with pytest.raises(ClarifyInvalidConfigException) as err:
        op.execute(context_for(RecordingTI()))

    assert isinstance(err.value, AirflowFailException)
    assert "methods.pre_training_bias.methods[0]: 'NOPE' is not a registered pre-training metric" in str(
        err.value
    )
    assert err.value.__cause__.problems == [
        ("methods.pre_training_bias.methods[0]", err.value.__cause__.problems[0][1])
    ]
    assert "group_variable" not in str(err.value)  # CDDL without a group variable only warns
    assert aws_requests == []


def test_preflight_warnings_are_logged_and_the_job_still_runs(aws, capsys):
    ti = RecordingTI()
    op = pre_training(bias_config={"label_values_or_threshold": [1], "facet_name": "sex"})  # no group_name

    op.execute(context_for(ti))

    logged = capsys.readouterr().out  # the task logger (structlog) writes to stdout in tests
    assert "Clarify preflight warning: group_variable: is not set, so CDDL" in logged
    assert ti.xcoms["job_name"] == job_name_for(ti)


# --- the analyses build the SDK's configs ---------------------------------------------------------------


def test_post_training_bias_with_predicted_label_column(aws):
    ti = RecordingTI(task_id="post")
    op = ClarifyPostTrainingBiasOperator(
        task_id="post",
        role=ROLE_NAME,
        data_config=data_config(predicted_label="predicted"),
        bias_config=bias_config(),
        **FAST,
    )
    op.execute(context_for(ti))
    uploaded = read_json(aws, f"{OUT_URI}/analysis_config.json")
    assert uploaded["predicted_label"] == "predicted"
    assert uploaded["methods"] == {"report": REPORT, "post_training_bias": {"methods": "all"}}
    assert "predictor" not in uploaded
    assert ti.xcoms["job_name"].startswith("Clarify-Posttraining-Bias-")


@pytest.fixture
def credit_model(aws, moto_endpoint, role):
    """The SageMaker model ``credit`` that model-calling analyses name (checked before a job starts)."""
    sagemaker = boto3.client("sagemaker", endpoint_url=moto_endpoint, region_name=REGION)
    sagemaker.create_model(
        ModelName="credit",
        ExecutionRoleArn=role,
        PrimaryContainer={"Image": IMAGE_US_EAST_1, "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz"},
    )
    return "credit"


def test_bias_operator_from_plain_dicts(aws, credit_model):
    ti = RecordingTI(task_id="bias")
    op = ClarifyBiasOperator(
        task_id="bias",
        role=ROLE_NAME,
        data_config={
            "s3_data_input_path": DATA_URI,
            "s3_output_path": OUT_URI,
            "label": "approved",
            "headers": HEADERS,
        },
        bias_config={
            "label_values_or_threshold": [1],
            "facet_name": "sex",
            "facet_values_or_threshold": ["female"],
        },
        model_config={"model_name": "credit", "instance_count": 1, "instance_type": "ml.m5.xlarge"},
        model_predicted_label_config={"probability_threshold": 0.8},
        **FAST,
    )
    op.execute(context_for(ti))
    uploaded = read_json(aws, f"{OUT_URI}/analysis_config.json")
    assert uploaded["methods"] == {
        "report": REPORT,
        "pre_training_bias": {"methods": "all"},
        "post_training_bias": {"methods": "all"},
    }
    assert uploaded["predictor"] == {
        "model_name": "credit",
        "instance_type": "ml.m5.xlarge",
        "initial_instance_count": 1,
    }
    assert uploaded["probability_threshold"] == 0.8
    assert ti.xcoms["job_name"].startswith("Clarify-Bias-")


def test_explainability_operator_with_dict_explainability_config(aws, credit_model):
    ti = RecordingTI(task_id="explain")
    op = ClarifyExplainabilityOperator(
        task_id="explain",
        role=ROLE_NAME,
        data_config=data_config(),
        model_config=ModelConfig(model_name="credit", instance_count=1, instance_type="ml.m5.xlarge"),
        explainability_config={"shap": {"num_samples": 50, "agg_method": "mean_abs"}},
        **FAST,
    )
    op.execute(context_for(ti))
    uploaded = read_json(aws, f"{OUT_URI}/analysis_config.json")
    assert uploaded["methods"] == {
        "report": REPORT,
        "shap": {
            "use_logit": False,
            "save_local_shap_values": True,
            "num_samples": 50,
            "agg_method": "mean_abs",
        },
    }
    assert ti.xcoms["job_name"].startswith("Clarify-Explainability-")


def test_base_operator_runs_a_given_analysis_config(aws):
    config = {
        "dataset_type": "text/csv",
        "headers": HEADERS,
        "label": "approved",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
        "methods": {"pre_training_bias": {"methods": ["CI"]}},
    }
    op = ClarifyBaseOperator(
        task_id="custom", role=ROLE_NAME, analysis_config=config, data_config=data_config(), **FAST
    )
    op.execute(context_for(RecordingTI(task_id="custom")))
    assert read_json(aws, f"{OUT_URI}/analysis_config.json") == config


def test_suggest_baseline_pushes_constraints_and_monitoring_config(aws, credit_model):
    ti = RecordingTI(task_id="baseline")
    op = ClarifySuggestBaselineOperator(
        task_id="baseline",
        role=ROLE_NAME,
        monitoring_type="ModelBias",
        data_config=data_config(),
        bias_config=bias_config(),
        model_config=ModelConfig(model_name="credit", instance_count=1, instance_type="ml.m5.xlarge"),
        model_predicted_label_config=ModelPredictedLabelConfig(probability_threshold=0.6),
        **FAST,
    )
    assert op.execute(context_for(ti)) == OUT_URI

    assert ti.xcoms["job_name"].startswith("baseline-suggestion-job-")
    assert ti.xcoms["constraints_uri"] == f"{OUT_URI}/analysis.json"
    assert ti.xcoms["monitoring_analysis_config"] == {
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
        "group_variable": "housing",
        "headers": HEADERS,
        "label": "approved",
    }
    assert ti.xcoms["monitoring_input_attributes"] == {"probability_threshold_attribute": 0.6}
    uploaded = read_json(aws, f"{OUT_URI}/analysis_config.json")
    assert set(uploaded["methods"]) == {"report", "pre_training_bias", "post_training_bias"}


def test_suggest_explainability_baseline_monitoring_config(aws, credit_model):
    ti = RecordingTI(task_id="xbaseline")
    op = ClarifySuggestBaselineOperator(
        task_id="xbaseline",
        role=ROLE_NAME,
        monitoring_type="ModelExplainability",
        data_config=data_config(),
        model_config=ModelConfig(
            model_name="credit", instance_count=1, instance_type="ml.m5.xlarge", content_type="text/csv"
        ),
        explainability_config=SHAPConfig(baseline=[[0.5] * 8], num_samples=100, agg_method="mean_abs"),
        model_scores=ModelPredictedLabelConfig(probability=0, label_headers=["approved_prob"]),
        **FAST,
    )
    op.execute(context_for(ti))

    assert ti.xcoms["monitoring_analysis_config"] == {
        "methods": {
            "shap": {
                "use_logit": False,
                "save_local_shap_values": True,
                "baseline": [[0.5] * 8],
                "num_samples": 100,
                "agg_method": "mean_abs",
            }
        },
        "predictor": {
            "model_name": "credit",
            "instance_type": "ml.m5.xlarge",
            "initial_instance_count": 1,
            "content_type": "text/csv",
            "label_headers": ["approved_prob"],
        },
        "headers": [h for h in HEADERS if h != "approved"],
    }


def test_suggest_baseline_rejects_an_unknown_monitoring_type(unreachable_aws):
    op = ClarifySuggestBaselineOperator(
        task_id="b",
        role=ROLE_NAME,
        monitoring_type="DataQuality",
        data_config=data_config(),
        model_config=None,
    )
    with pytest.raises(ClarifyInvalidConfigException, match="monitoring_type"):
        op.execute(context_for(RecordingTI()))


# --- links, assets, lineage ---------------------------------------------------------------------------


def test_links_are_persisted_for_the_job_and_the_results(aws):
    ti = RecordingTI()
    pre_training().execute(context_for(ti))
    assert ti.xcoms["clarify_processing_job"] == {
        "region_name": REGION,
        "aws_domain": "aws.amazon.com",
        "job_name": job_name_for(ti),
    }
    assert ti.xcoms["clarify_analysis_result"] == {
        "region_name": REGION,
        "aws_domain": "aws.amazon.com",
        "bucket": BUCKET,
        "prefix": "clarify/2024-03-01/pre/",
    }


def test_no_xcom_is_pushed_when_do_xcom_push_is_off(aws):
    ti = RecordingTI()
    assert pre_training(do_xcom_push=False).execute(context_for(ti)) == OUT_URI
    assert ti.xcoms == {}


def test_asset_events_carry_the_result_uri(aws):
    from airflow.sdk import Asset
    from airflow.sdk.execution_time.context import OutletEventAccessors

    asset = Asset("s3://clarify-audit/credit")
    events = OutletEventAccessors()
    ti = RecordingTI()
    pre_training(outlets=[asset]).execute(context_for(ti, outlet_events=events))
    assert events[asset].extra == {"analysis_result": OUT_URI}


def test_lineage_names_dataset_config_and_result(aws):
    op = pre_training()
    op.execute(context_for(RecordingTI()))
    inputs, outputs = op.lineage_datasets()
    assert inputs == [
        (f"s3://{BUCKET}", "credit/2024-03-01/train.csv"),
        (f"s3://{BUCKET}", f"clarify/2024-03-01/pre/{job_name_for(RecordingTI())}/analysis_config.json"),
    ]
    assert outputs == [(f"s3://{BUCKET}", "clarify/2024-03-01/pre")]


def test_openlineage_method_is_none_without_the_openlineage_provider():
    import importlib.util

    op = pre_training()
    facets = op.get_openlineage_facets_on_complete(task_instance=None)
    if importlib.util.find_spec("airflow.providers.openlineage") is None:
        assert facets is None
    else:
        assert [d.name for d in facets.inputs] == ["credit/2024-03-01/train.csv"]
        assert [d.name for d in facets.outputs] == ["clarify/2024-03-01/pre"]


def test_synchronous_wait_backs_off_when_describe_is_throttled(aws):
    from datetime import datetime

    from botocore.stub import Stubber

    op = pre_training()
    description = {
        "ProcessingJobName": "j",
        "ProcessingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:processing-job/j",
        "ProcessingJobStatus": "Completed",
        "CreationTime": datetime(2024, 3, 1, tzinfo=UTC),
        "AppSpecification": {"ImageUri": IMAGE_US_EAST_1},
        "ProcessingResources": {
            "ClusterConfig": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}
        },
    }
    with Stubber(op.hook.conn) as stub:
        for _ in range(2):
            stub.add_client_error(
                "describe_processing_job",
                service_error_code="ThrottlingException",
                expected_params={"ProcessingJobName": "j"},
            )
        stub.add_response("describe_processing_job", description, {"ProcessingJobName": "j"})

        plan = op.make_plan()
        assert op._wait(context_for(RecordingTI()), "j", "s3://b/out", plan) == "s3://b/out"
        stub.assert_no_pending_responses()


# --- stale results after a config change (issue 11 item 1) -----------------------------------------------


def test_a_retry_after_a_config_change_never_adopts_the_old_configs_job(aws, scripted_status, sm_backend):
    """Config A completed; config B's job started and the worker died; the retry must follow B's job.

    Before each job read the shared ``analysis_config.json``, so B's upload made A's completed job
    "match" B and the retry reported A's results (leaving B's job running unwatched).
    """
    ti = RecordingTI()
    name = job_name_for(ti)
    scripted_status(name, ["Completed"])
    scripted_status(f"{name}-2", ["InProgress", "InProgress", "Completed"])
    pre_training().execute(context_for(ti))  # config A: all metrics
    config_a = read_json(aws, f"{OUT_URI}/analysis_config.json")

    with pytest.raises(TaskDeferred):  # config B started, then the worker is gone
        pre_training(methods=["CI"], deferrable=True).execute(context_for(ti))
    assert read_json(aws, f"{OUT_URI}/analysis_config.json") == config_a  # nothing beside A's results yet

    retry_ti = RecordingTI(try_number=2)
    assert pre_training(methods=["CI"]).execute(context_for(retry_ti)) == OUT_URI

    assert retry_ti.xcoms["job_name"] == f"{name}-2"
    assert list(sm_backend.processing_jobs) == [name, f"{name}-2"]
    published = read_json(aws, f"{OUT_URI}/analysis_config.json")
    assert published["methods"]["pre_training_bias"] == {"methods": ["CI"]}
    assert read_json(aws, job_config_uri(name)) == config_a  # what job 1 ran is never rewritten


def test_a_failed_run_leaves_no_config_beside_results_it_did_not_produce(aws, scripted_status):
    ti = RecordingTI()
    name = job_name_for(ti)
    scripted_status(name, ["Completed"])
    scripted_status(f"{name}-2", ["InProgress", "Failed"], failure_reason="AlgorithmError: boom")
    pre_training().execute(context_for(ti))
    config_a = read_json(aws, f"{OUT_URI}/analysis_config.json")

    with pytest.raises(ClarifyJobFailedException):
        pre_training(methods=["CI"]).execute(context_for(ti))

    assert read_json(aws, f"{OUT_URI}/analysis_config.json") == config_a
    assert read_json(aws, job_config_uri(f"{name}-2"))["methods"]["pre_training_bias"] == {"methods": ["CI"]}


def test_a_running_job_of_another_config_is_stopped_not_adopted(aws, scripted_status, sm_backend):
    ti = RecordingTI()
    name = job_name_for(ti)
    with pytest.raises(TaskDeferred):
        pre_training(deferrable=True).execute(context_for(ti))  # config A, still running
    scripted_status(f"{name}-2", ["InProgress", "Completed"])

    pre_training(methods=["CI"]).execute(context_for(RecordingTI(try_number=2)))

    assert sm_backend.processing_jobs[name].processing_job_status == "Stopped"
    assert list(sm_backend.processing_jobs) == [name, f"{name}-2"]


# --- what the open engine cannot run fails before anything happens (issue 10 item 4) ------------------


def test_local_compute_rejects_image_explanations_before_credentials_or_uploads(aws, aws_requests):
    config = {
        "dataset_type": "application/x-image",
        "methods": {"shap": {"image_config": {"model_type": "IMAGE_CLASSIFICATION"}, "num_samples": 10}},
        "predictor": {
            "model_name": "vision",
            "instance_type": "ml.m5.xlarge",
            "initial_instance_count": 1,
            "content_type": "image/jpeg",
            "label_headers": ["cat", "dog"],
        },
    }
    op = ClarifyBaseOperator(
        task_id="vision",
        compute="local",
        analysis_config=config,
        data_config=data_config(dataset_type="application/x-image"),
        local_model="http://127.0.0.1:9",
    )
    aws_requests.clear()

    with pytest.raises(ClarifyInvalidConfigException) as err:
        op.execute(context_for(RecordingTI(task_id="vision")))

    assert "methods.shap.image_config" in str(err.value)
    assert "dataset_type" in str(err.value)
    assert aws_requests == []  # no credentials fetched, nothing uploaded, no child started


# --- inputs are checked before a job is paid for (issue 10 item 5) -------------------------------------


def test_a_missing_dataset_fails_before_create_processing_job(aws, aws_requests):
    op = pre_training(data_config=data_config(s3_data_input_path=f"s3://{BUCKET}/credit/typo/train.csv"))

    with pytest.raises(ClarifyInvalidConfigException) as err:
        op.execute(context_for(RecordingTI()))

    assert "data_config.s3_data_input_path" in str(err.value)
    assert f"s3://{BUCKET}/credit/typo/train.csv" in str(err.value)
    assert aws_requests.count("SageMaker.CreateProcessingJob") == 0
    assert not any(method == "PUT" for method, _, _ in aws_requests)  # no config uploaded either


def test_missing_side_datasets_baseline_and_model_are_all_named(aws, aws_requests):
    config = {
        "dataset_type": "text/csv",
        "headers": HEADERS,
        "label": "approved",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex"}],
        "facet_dataset_uri": f"s3://{BUCKET}/facets/missing.csv",
        "methods": {
            "post_training_bias": {"methods": "all"},
            "shap": {"baseline": f"s3://{BUCKET}/baseline/missing.csv", "num_samples": 10},
        },
        "predictor": {
            "model_name": "no-such-model",
            "instance_type": "ml.m5.xlarge",
            "initial_instance_count": 1,
        },
    }
    op = ClarifyBaseOperator(
        task_id="custom", role=ROLE_NAME, analysis_config=config, data_config=data_config(), **FAST
    )

    with pytest.raises(ClarifyInvalidConfigException) as err:
        op.execute(context_for(RecordingTI(task_id="custom")))

    problems = dict(err.value.__cause__.problems)
    assert set(problems) == {"facet_dataset_uri", "methods.shap.baseline", "predictor.model_name"}
    assert aws_requests.count("SageMaker.CreateProcessingJob") == 0


# --- memory_limit_mb for compute="local" (issue 11 item 9) ---------------------------------------------


class _AllocatesOnLoad:
    """A "model" file whose unpickling allocates ``size`` bytes (loading a pickle runs code)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __reduce__(self):
        return bytearray, (self.size,)


def test_memory_limit_mb_reaches_the_local_engine(tmp_path):
    import pickle

    from airflow_provider_clarify.operators.local_compute import LocalAnalysisError
    from tests.support.paths import GOLDEN_DIR

    artifact = tmp_path / "model.pkl"
    artifact.write_bytes(pickle.dumps(_AllocatesOnLoad(8 * 1024**3)))  # 8 GiB, above the 1 GiB cap
    config = {
        "dataset_type": "text/csv",
        "headers": HEADERS[:7],
        "label": "approved",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
        "methods": {"post_training_bias": {"methods": ["DPPL"]}},
    }
    op = ClarifyBaseOperator(
        task_id="local",
        compute="local",
        analysis_config=config,
        data_config={
            "s3_data_input_path": str(GOLDEN_DIR / "synthetic_credit.csv"),
            "s3_output_path": str(tmp_path / "out"),
        },
        local_model={"artifact": str(artifact), "format": "pickle", "trust": True},
        memory_limit_mb="1024",  # as Jinja renders it
    )

    with pytest.raises(LocalAnalysisError, match="MemoryError"):
        op.execute(context_for(RecordingTI(task_id="local")))
    assert op.memory_limit_mb == 1024
    assert "memory_limit_mb" in ClarifyBaseOperator.template_fields


@pytest.mark.parametrize("value", ["lots", 100, -1, 2.5])
def test_a_bad_memory_limit_fails_before_anything_runs(tmp_path, value):
    op = pre_training(
        compute="local",
        data_config=data_config(
            s3_data_input_path=str(tmp_path / "d.csv"), s3_output_path=str(tmp_path / "o")
        ),
        memory_limit_mb=value,
    )
    with pytest.raises(ClarifyInvalidConfigException, match="memory_limit_mb"):
        op.execute(context_for(RecordingTI()))
    assert not (tmp_path / "o").exists()


def test_the_job_start_is_logged_once(aws, capsys):
    ti = RecordingTI()
    pre_training().execute(context_for(ti))

    logged = capsys.readouterr().out
    assert logged.count("Started Clarify processing job") == 1
    assert f"Started Clarify processing job {job_name_for(ti)} (arn:aws:sagemaker:" in logged
