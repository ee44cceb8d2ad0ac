"""ClarifyHook against the local fake AWS (moto ThreadedMotoServer behind a real ``aws`` connection)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.processing_job import (
    analysis_config_upload_uri,
    processing_job_request,
)
from airflow_provider_clarify.analysis.results import AnalysisResult
from airflow_provider_clarify.hooks.clarify import (
    ClarifyHook,
    ClarifyJobFailedException,
    job_failure_message,
    throttle_delay,
)
from tests.support.aws import REGION

ROLE = "arn:aws:iam::123456789012:role/ClarifyRole"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ANALYSIS = {
    "version": "1.0",
    "pre_training_bias_metrics": {
        "label": "approved",
        "label_value_or_threshold": "1",
        "facets": {
            "sex": [
                {
                    "value_or_threshold": "female",
                    "metrics": [{"name": "CI", "description": "Class Imbalance (CI)", "value": 0.211}],
                }
            ]
        },
    },
}


def request_for(name: str, bucket: str, output: str = "clarify/out") -> dict:
    return processing_job_request(
        job_name=name,
        role_arn=ROLE,
        analysis_config_uri=analysis_config_upload_uri(f"s3://{bucket}/{output}"),
        dataset_uri=f"s3://{bucket}/data/train.csv",
        output_uri=f"s3://{bucket}/{output}",
        instance_type="ml.c5.xlarge",
        region=REGION,
        max_runtime_in_seconds=3600,
        tags={"team": "ml"},
    )


def s3_client(moto_endpoint):
    return boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)


@pytest.fixture
def hook(aws_conn):
    return ClarifyHook(aws_conn_id=aws_conn)


def test_s3_hook_shares_the_connection_settings(aws_conn):
    hook = ClarifyHook(
        aws_conn_id=aws_conn, region_name="eu-west-1", verify=False, config={"read_timeout": 7}
    )
    assert hook.s3_hook.aws_conn_id == aws_conn
    assert hook.s3_hook.region_name == "eu-west-1"
    assert hook.s3_hook.verify is False
    assert hook.s3_hook.config.read_timeout == 7


def test_upload_analysis_config_writes_the_json(hook, s3_bucket, moto_endpoint):
    config = {
        "dataset_type": "text/csv",
        "label": "approved",
        "methods": {"pre_training_bias": {"methods": "all"}},
    }
    uri = hook.upload_analysis_config(config, f"s3://{s3_bucket}/clarify/out/analysis_config.json")
    assert uri == f"s3://{s3_bucket}/clarify/out/analysis_config.json"
    stored = s3_client(moto_endpoint).get_object(Bucket=s3_bucket, Key="clarify/out/analysis_config.json")
    assert json.loads(stored["Body"].read()) == config
    assert stored.get("ServerSideEncryption") != "aws:kms"
    # replacing an existing config is allowed (a retry re-uploads the same file)
    hook.upload_analysis_config({"label": "y"}, uri)
    stored = s3_client(moto_endpoint).get_object(Bucket=s3_bucket, Key="clarify/out/analysis_config.json")
    assert json.loads(stored["Body"].read()) == {"label": "y"}


def test_upload_analysis_config_uses_sse_kms(hook, s3_bucket, moto_endpoint):
    hook.upload_analysis_config({"label": "y"}, f"s3://{s3_bucket}/kms/analysis_config.json", kms_key=KMS_KEY)
    head = s3_client(moto_endpoint).head_object(Bucket=s3_bucket, Key="kms/analysis_config.json")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == KMS_KEY


def test_start_and_describe_a_processing_job(hook, s3_bucket):
    request = request_for("clarify-hook-start", s3_bucket)
    response = hook.start_processing_job(request)
    assert response["ProcessingJobArn"].endswith(":processing-job/clarify-hook-start")
    description = hook.describe_processing_job("clarify-hook-start")
    assert description["AppSpecification"] == request["AppSpecification"]
    assert description["RoleArn"] == ROLE
    assert description["ProcessingInputs"] == request["ProcessingInputs"]
    assert description["ProcessingOutputConfig"] == request["ProcessingOutputConfig"]
    assert description["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}


def test_stop_processing_job_stops_a_running_job(hook, s3_bucket, sm_backend, jobs_start_in_progress):
    hook.start_processing_job(request_for("clarify-hook-stop", s3_bucket))
    assert hook.describe_processing_job("clarify-hook-stop")["ProcessingJobStatus"] == "InProgress"
    hook.stop_processing_job("clarify-hook-stop")
    assert sm_backend.processing_jobs["clarify-hook-stop"].processing_job_status == "Stopped"


def _description(status: str) -> dict:
    return {
        "ProcessingJobName": "done-job",
        "ProcessingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:processing-job/done-job",
        "ProcessingJobStatus": status,
        "CreationTime": datetime(2024, 1, 1, tzinfo=UTC),
        "AppSpecification": {"ImageUri": "img"},
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.c5.xlarge", "VolumeSizeInGB": 30}
        },
    }


@pytest.mark.parametrize("status", ["Completed", "Failed", "Stopped", "Stopping"])
def test_stop_processing_job_tolerates_finished_jobs(hook, status):
    with Stubber(hook.conn) as stub:
        stub.add_client_error(
            "stop_processing_job",
            service_error_code="ValidationException",
            service_message=f"The request was rejected because the processing job is in status {status}.",
            expected_params={"ProcessingJobName": "done-job"},
        )
        stub.add_response("describe_processing_job", _description(status), {"ProcessingJobName": "done-job"})
        hook.stop_processing_job("done-job")
        stub.assert_no_pending_responses()


def test_stop_processing_job_reraises_other_errors(hook):
    with Stubber(hook.conn) as stub:
        stub.add_client_error("stop_processing_job", service_error_code="AccessDeniedException")
        with pytest.raises(ClientError, match="AccessDenied"):
            hook.stop_processing_job("done-job")
    with Stubber(hook.conn) as stub:
        stub.add_client_error("stop_processing_job", service_error_code="ValidationException")
        stub.add_response(
            "describe_processing_job", _description("InProgress"), {"ProcessingJobName": "done-job"}
        )
        with pytest.raises(ClientError, match="ValidationException"):
            hook.stop_processing_job("done-job")


def test_stop_of_a_missing_job_is_an_error(hook):
    with pytest.raises(ClientError):
        hook.stop_processing_job("never-created")


def test_s3_input_problems_name_what_is_missing(hook, s3_bucket, moto_endpoint):
    s3 = s3_client(moto_endpoint)
    s3.put_object(Bucket=s3_bucket, Key="data/part-0.csv", Body=b"a,b\n1,2\n")
    assert hook.s3_input_problem(f"s3://{s3_bucket}/data/part-0.csv") is None
    assert hook.s3_input_problem(f"s3://{s3_bucket}/data") is None  # a prefix with objects
    assert (
        hook.s3_input_problem(f"s3://{s3_bucket}/nothing/here.csv") == "no object at or under this location"
    )
    assert "not found" in hook.s3_input_problem("s3://no-such-bucket-anywhere/x.csv")
    assert hook.s3_input_problem("/local/path.csv") is None  # not S3: preflight's business


def test_model_problems(hook, s3_bucket):
    assert hook.model_problem("model", "no-such-model") == "no SageMaker model of that name"
    assert hook.model_problem("endpoint", "no-such-endpoint") == "no SageMaker endpoint of that name"


def test_throttle_delay_is_exponential_and_capped():
    assert [throttle_delay(5, n, 60) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_failure_message_and_exception():
    error = ClarifyJobFailedException("job-1", "Failed", "AlgorithmError: label column missing")
    assert isinstance(error, AirflowFailException)
    assert (
        str(error)
        == "Clarify processing job job-1 ended with status Failed: AlgorithmError: label column missing"
    )
    assert (error.job_name, error.job_status, error.failure_reason) == (
        "job-1",
        "Failed",
        "AlgorithmError: label column missing",
    )
    assert job_failure_message("job-2", "Stopped", None).endswith("stopped before completion")


# --- results -------------------------------------------------------------------------------------------


def test_read_analysis_result_from_s3(hook, s3_bucket, moto_endpoint):
    s3_client(moto_endpoint).put_object(
        Bucket=s3_bucket, Key="clarify/out/analysis.json", Body=json.dumps(ANALYSIS).encode()
    )
    for uri in (
        f"s3://{s3_bucket}/clarify/out",
        f"s3://{s3_bucket}/clarify/out/",
        f"s3://{s3_bucket}/clarify/out/analysis.json",
    ):
        result = hook.read_analysis_result(uri)
        assert isinstance(result, AnalysisResult)
        assert result.metric("CI")[0].value == pytest.approx(0.211)


def test_read_analysis_result_missing_on_s3(hook, s3_bucket):
    with pytest.raises(FileNotFoundError, match=f"s3://{s3_bucket}/nothing/analysis.json"):
        hook.read_analysis_result(f"s3://{s3_bucket}/nothing")


def test_read_analysis_result_from_local_paths(tmp_path, aws_conn):
    hook = ClarifyHook(aws_conn_id=aws_conn)
    (tmp_path / "analysis.json").write_text(json.dumps(ANALYSIS))
    for uri in (str(tmp_path), tmp_path.as_uri(), str(tmp_path / "analysis.json")):
        assert hook.read_analysis_result(uri).pre_training_bias.label == "approved"
    with pytest.raises(FileNotFoundError):
        hook.read_analysis_result(str(tmp_path / "missing"))


def test_read_analysis_result_attaches_the_intervals_of_the_same_run(
    hook, s3_bucket, moto_endpoint, tmp_path
):
    """With confidence_intervals the engine writes a sidecar; the hook reads it into ``.intervals``."""
    from airflow_provider_clarify.engine.runner import run_analysis
    from tests.support.paths import GOLDEN_DIR

    cases = json.loads((GOLDEN_DIR / "smclarify_golden.json").read_text())
    config = next(case for case in cases if case["name"] == "sex_female")["analysis_config"]
    csv = str(GOLDEN_DIR / "synthetic_credit.csv")
    run_analysis(config, csv, str(tmp_path / "ci"), confidence_intervals={"seed": 2, "resamples": 200})
    run_analysis(config, csv, str(tmp_path / "plain"))
    s3 = s3_client(moto_endpoint)
    for name in ("analysis.json", "confidence_intervals.json"):
        s3.put_object(Bucket=s3_bucket, Key=f"ci/{name}", Body=(tmp_path / "ci" / name).read_bytes())

    for uri in (f"s3://{s3_bucket}/ci", f"s3://{s3_bucket}/ci/analysis.json", str(tmp_path / "ci")):
        result = hook.read_analysis_result(uri)
        assert result.intervals is not None
        assert result.intervals.seed == 2
        di = result.interval("DI", stage="post_training", facet="sex", group="female")
        (point,) = result.metric("DI", stage="post_training", facet="sex", group="female")
        assert di.value == pytest.approx(point.value)
        assert di.lower < di.value < di.upper
    assert hook.read_analysis_result(f"s3://{s3_bucket}/ci", intervals=False).intervals is None
    assert hook.read_analysis_result(str(tmp_path / "plain")).intervals is None
    (tmp_path / "plain" / "confidence_intervals.json").write_text("{}")
    with pytest.raises(ClarifyConfigError, match="confidence_intervals.json"):
        hook.read_analysis_result(str(tmp_path / "plain"))


def test_list_result_files_on_s3(hook, s3_bucket, moto_endpoint):
    client = s3_client(moto_endpoint)
    for key in (
        "out/analysis.json",
        "out/report.html",
        "out/explanations_shap/out.csv",
        "outside/analysis.json",
    ):
        client.put_object(Bucket=s3_bucket, Key=key, Body=b"{}")
    expected = [
        f"s3://{s3_bucket}/out/analysis.json",
        f"s3://{s3_bucket}/out/explanations_shap/out.csv",
        f"s3://{s3_bucket}/out/report.html",
    ]
    assert hook.list_result_files(f"s3://{s3_bucket}/out") == expected
    assert hook.list_result_files(f"s3://{s3_bucket}/out/") == expected
    assert hook.list_result_files(f"s3://{s3_bucket}/empty") == []


def test_list_result_files_locally(tmp_path, aws_conn):
    hook = ClarifyHook(aws_conn_id=aws_conn)
    (tmp_path / "explanations_shap").mkdir()
    (tmp_path / "analysis.json").write_text("{}")
    (tmp_path / "explanations_shap" / "out.csv").write_text("a\n")
    assert hook.list_result_files(str(tmp_path)) == [
        str(tmp_path / "analysis.json"),
        str(tmp_path / "explanations_shap" / "out.csv"),
    ]
    assert hook.list_result_files(tmp_path.as_uri()) == [
        (tmp_path / "analysis.json").as_uri(),
        (tmp_path / "explanations_shap" / "out.csv").as_uri(),
    ]
    assert hook.list_result_files(str(tmp_path / "missing")) == []


# --- async -------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_async_describe_and_stop(hook, s3_bucket, sm_backend, jobs_start_in_progress):
    hook.start_processing_job(request_for("clarify-async", s3_bucket))
    description = await hook.describe_processing_job_async("clarify-async")
    assert description["ProcessingJobStatus"] == "InProgress"
    async with await hook.get_async_conn() as client:
        again = await hook.describe_processing_job_async("clarify-async", client=client)
    assert again["ProcessingJobArn"] == description["ProcessingJobArn"]
    await hook.stop_processing_job_async("clarify-async")
    assert sm_backend.processing_jobs["clarify-async"].processing_job_status == "Stopped"
