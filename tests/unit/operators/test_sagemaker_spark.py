"""compute="sagemaker_spark": the open engine's Spark backend as a SageMaker job, on the fake AWS.

The operators drive boto3 over HTTP to moto (``ThreadedMotoServer``) through a real ``aws``
connection; jobs are held ``InProgress`` where waiting, deferring and stopping must really happen.
The request's layout is checked against the SDK's PySparkProcessor in
tests/unit/analysis/test_spark_processing.py; here: the same lifecycle as compute="sagemaker"
(deterministic name, staged code, re-attach on retry, deferral, stop on kill, XCom) and the
checks that stop a job before it starts.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_clarify.analysis.configs.explainability import TextConfig
from airflow_provider_clarify.analysis.spark_processing import (
    default_dependencies_uri,
    spark_image_uri,
    staging_uris,
)
from airflow_provider_clarify.operators.clarify import (
    ClarifyBiasOperator,
    ClarifyExplainabilityOperator,
    ClarifyInvalidConfigException,
    ClarifyJobFailedException,
    ClarifyPreTrainingBiasOperator,
)
from airflow_provider_clarify.spark_bundle import BundleBuildError, entry_script, package_zip
from airflow_provider_clarify.triggers.clarify import ClarifyProcessingJobTrigger
from tests.support.aws import BUCKET
from tests.unit.operators import test_clarify as clarify_tests
from tests.unit.operators.test_clarify import (
    DATA_URI,
    FAST,
    OUT_URI,
    ROLE_ARN,
    ROLE_NAME,
    RecordingTI,
    bias_config,
    capture_requests,
    context_for,
    data_config,
    execute_until_the_job_runs,
    job_config_uri,
    job_name_for,
    read_json,
)

# the fake-AWS fixtures of the compute="sagemaker" tests: bucket, dataset, IAM role
role = clarify_tests.role
aws = clarify_tests.aws

DEPS_URI = f"s3://{BUCKET}/clarify/deps/clarify-spark-deps.zip"


def put(s3, uri: str, body: bytes) -> None:
    bucket, key = uri[len("s3://") :].split("/", 1)
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def get(s3, uri: str) -> bytes:
    bucket, key = uri[len("s3://") :].split("/", 1)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


@pytest.fixture
def spark_aws(aws):
    put(aws, DEPS_URI, b"PK\x05\x06" + bytes(18))
    return aws


def spark_pre_training(**kwargs) -> ClarifyPreTrainingBiasOperator:
    params = {
        "data_config": data_config(),
        "bias_config": bias_config(),
        "role": ROLE_NAME,
        "compute": "sagemaker_spark",
        "instance_type": "ml.m5.xlarge",
        "instance_count": 2,
        "spark_dependencies_uri": DEPS_URI,
        **FAST,
    }
    params.update(kwargs)
    return ClarifyPreTrainingBiasOperator(task_id="audit", **params)


def inputs_of(request: dict) -> dict[str, str]:
    return {i["InputName"]: i["S3Input"]["S3Uri"] for i in request["ProcessingInputs"]}


def test_the_job_runs_the_engine_on_the_spark_image_with_staged_code(spark_aws, scripted_status, sm_backend):
    ti = RecordingTI()
    name = job_name_for(ti)
    scripted_status(name, ["InProgress", "InProgress", "Completed"])
    op = spark_pre_training()
    sent = capture_requests(op)

    assert op.execute(context_for(ti)) == OUT_URI

    assert scripted_status.seen[name] == ["InProgress", "InProgress", "Completed"]
    (request,) = sent
    assert request["ProcessingJobName"] == name
    assert request["RoleArn"] == ROLE_ARN
    assert request["AppSpecification"] == {
        "ImageUri": spark_image_uri("us-east-1"),
        "ContainerEntrypoint": [
            "smspark-submit",
            "--py-files",
            "/opt/ml/processing/input/py-files",
            "/opt/ml/processing/input/code/clarify_spark_entry.py",
        ],
    }
    assert request["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 2
    staged = staging_uris(OUT_URI, name)
    assert inputs_of(request) == {
        "dataset": DATA_URI,
        "analysis_config": job_config_uri(name),
        "dependencies": DEPS_URI,
        "py-files": staged["py-files"],
        "code": staged["code"],
    }
    # what the job will run: the entry script and this very package, staged where the request points
    assert get(spark_aws, staged["code"]) == entry_script()
    package = get(spark_aws, staged["package"])
    assert package == package_zip()
    names = zipfile.ZipFile(io.BytesIO(package)).namelist()
    assert "airflow_provider_clarify/engine/spark/runner.py" in names
    assert not [n for n in names if "__pycache__" in n]
    # the same XCom and files as compute="sagemaker"
    assert ti.xcoms["job_name"] == name
    assert ti.xcoms["analysis_config_uri"] == job_config_uri(name)
    assert read_json(spark_aws, f"{OUT_URI}/analysis_config.json") == read_json(
        spark_aws, job_config_uri(name)
    )
    assert list(sm_backend.processing_jobs) == [name]


def test_a_retry_reattaches_after_a_deferral(spark_aws, scripted_status, sm_backend):
    ti = RecordingTI()
    name = job_name_for(ti)
    scripted_status(name, ["InProgress", "InProgress", "InProgress", "Completed"])
    first = spark_pre_training(deferrable=True, max_ingestion_time=3600)
    with pytest.raises(TaskDeferred) as deferred:
        first.execute(context_for(ti))
    assert isinstance(deferred.value.trigger, ClarifyProcessingJobTrigger)
    assert deferred.value.trigger.serialize()[1]["job_name"] == name

    second = spark_pre_training()
    sent = capture_requests(second)
    assert second.execute(context_for(RecordingTI(try_number=2))) == OUT_URI
    assert sent == []  # adopted, not started again
    assert list(sm_backend.processing_jobs) == [name]


def test_resume_after_the_trigger_fired_finishes_like_the_sync_path(spark_aws, jobs_start_in_progress):
    ti = RecordingTI()
    op = spark_pre_training(deferrable=True)
    with pytest.raises(TaskDeferred):
        op.execute(context_for(ti))
    event = {"status": "success", "job_name": job_name_for(ti), "analysis_result_uri": OUT_URI}
    assert spark_pre_training(deferrable=True).execute_complete(context_for(ti), event) == OUT_URI
    assert read_json(spark_aws, f"{OUT_URI}/analysis_config.json")["methods"]["pre_training_bias"]


def test_on_kill_stops_the_spark_job(spark_aws, jobs_start_in_progress, sm_backend):
    ti = RecordingTI()
    name = job_name_for(ti)
    op = spark_pre_training()
    worker, outcome = execute_until_the_job_runs(op, ti)
    op.on_kill()
    worker.join(timeout=10)

    assert sm_backend.processing_jobs[name].processing_job_status == "Stopped"
    assert isinstance(outcome["error"], ClarifyJobFailedException)


def test_a_missing_given_bundle_fails_before_the_job_starts(aws, aws_requests):
    op = spark_pre_training()
    with pytest.raises(ClarifyInvalidConfigException) as failure:
        op.execute(context_for(RecordingTI()))
    assert failure.value.__cause__.field == "spark_dependencies_uri"
    assert "python -m airflow_provider_clarify.spark_bundle" in str(failure.value)
    assert aws_requests.count("SageMaker.CreateProcessingJob") == 0


def test_the_default_bundle_location_is_reused_without_building(aws, sm_backend):
    put(aws, default_dependencies_uri(OUT_URI), b"PK\x05\x06" + bytes(18))
    op = spark_pre_training(spark_dependencies_uri=None)
    sent = capture_requests(op)
    assert op.execute(context_for(RecordingTI())) == OUT_URI
    assert inputs_of(sent[0])["dependencies"] == default_dependencies_uri(OUT_URI)


def test_a_bundle_that_cannot_be_built_fails_before_the_job_starts(aws, aws_requests, monkeypatch):
    # pip with no index: the worker cannot download the wheels (a real pip run, offline)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    op = spark_pre_training(spark_dependencies_uri=None)
    with pytest.raises(BundleBuildError, match="spark_dependencies_uri"):
        op.execute(context_for(RecordingTI()))
    assert aws_requests.count("SageMaker.CreateProcessingJob") == 0


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (
            lambda: ClarifyExplainabilityOperator(
                task_id="audit",
                data_config=data_config(),
                model_config={"model_name": "m", "instance_type": "ml.m5.xlarge", "instance_count": 1},
                explainability_config={"shap": {"baseline": [[0] * 8], "num_samples": 10}},
                role=ROLE_NAME,
                compute="sagemaker_spark",
                spark_dependencies_uri=DEPS_URI,
            ),
            "predictor",  # SHAP runs on Spark, but a model_name alone needs a shadow endpoint
        ),
        (
            lambda: ClarifyExplainabilityOperator(
                task_id="audit",
                data_config=data_config(),
                model_config={"endpoint_name": "ep"},
                explainability_config={
                    "shap": {
                        "baseline": [[0] * 8],
                        "text_config": TextConfig(granularity="token", language="english"),
                        "save_local_shap_values": True,
                    }
                },
                role=ROLE_NAME,
                compute="sagemaker_spark",
                spark_dependencies_uri=DEPS_URI,
            ),
            "methods.shap.text_config",
        ),
        (
            lambda: spark_pre_training(
                data_config=data_config(dataset_type="application/json", features="features")
            ),
            "dataset_type",
        ),
        (
            lambda: ClarifyBiasOperator(
                task_id="audit",
                data_config=data_config(),
                bias_config=bias_config(),
                model_config={"model_name": "m", "instance_type": "ml.m5.xlarge", "instance_count": 1},
                role=ROLE_NAME,
                compute="sagemaker_spark",
                spark_dependencies_uri=DEPS_URI,
            ),
            "predicted_label",
        ),
        (lambda: spark_pre_training(version="3.3"), "version"),
    ],
    ids=["explanations_without_endpoint", "text_explanations", "json", "model_calls", "old_spark"],
)
def test_what_the_spark_backend_cannot_run_fails_before_any_aws_call(aws, aws_requests, make, field):
    aws_requests.clear()
    with pytest.raises(ClarifyInvalidConfigException) as failure:
        make().execute(context_for(RecordingTI()))
    assert failure.value.__cause__.field == field
    assert aws_requests == []
