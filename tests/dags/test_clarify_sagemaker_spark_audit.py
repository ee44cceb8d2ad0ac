"""Whole-DAG run of dags/clarify_sagemaker_spark_audit.py with dag.test() against the fake AWS.

The bias task starts a SageMaker Processing job on the Spark image (moto records the request), defers
while the job is ``InProgress`` (the trigger polls over aiobotocore), resumes and hands the result URI
to ``summarize``. moto runs no container, so when the job is created the test plays the job (in a thread): it
reads the analysis config the request points at and writes the single-machine engine's
``analysis.json`` for it to the request's output (the Spark backend's equality with that engine is
tests/unit/engine/spark/).
"""

from __future__ import annotations

import json
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import boto3
import pendulum
import pytest

from airflow_provider_clarify.analysis.spark_processing import spark_image_uri
from airflow_provider_clarify.operators.clarify import clarify_job_name
from tests.support.aws import ACCOUNT_ID, BUCKET, REGION
from tests.support.dag_runs import bundled_dag, folder_with, task_states as states, xcom
from tests.support.paths import DAGS_DIR, GOLDEN_DIR

DAG_FILE = DAGS_DIR / "clarify_sagemaker_spark_audit.py"
DAG_ID = "clarify_sagemaker_spark_audit"
LOGICAL_DATE = pendulum.datetime(2024, 3, 1, tz="UTC")
RUN_ID = f"manual__{LOGICAL_DATE.isoformat()}"
ROLE_NAME = "ClarifySageMakerRole"
DATA_KEY = "credit/2024-03-01/scored.csv"
DEPS_URI = f"s3://{BUCKET}/clarify-spark/deps/clarify-spark-deps.zip"
RESULT_URI = f"s3://{BUCKET}/clarify-spark/{RUN_ID.replace(':', '-').replace('+', '-')}/bias"
JOB_NAME = clarify_job_name("Clarify-Bias", dag_id=DAG_ID, task_id="bias", run_id=RUN_ID)


@pytest.fixture(scope="module")
def dag_folder(tmp_path_factory) -> Path:
    return folder_with(tmp_path_factory, DAG_FILE, "sagemaker-spark-dags")


@pytest.fixture
def spark_dag(dag_folder, airflow_db, monkeypatch):
    return bundled_dag(monkeypatch, dag_folder, DAG_ID, bundle_name="sagemaker-spark-dags")


@pytest.fixture
def fake_aws(aws_conn, s3_bucket, moto_endpoint):
    boto3.client("iam", endpoint_url=moto_endpoint, region_name=REGION).create_role(
        RoleName=ROLE_NAME, AssumeRolePolicyDocument="{}"
    )
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key=DATA_KEY, Body=(GOLDEN_DIR / "synthetic_credit.csv").read_bytes())
    s3.put_object(Bucket=BUCKET, Key=DEPS_URI.split(f"{BUCKET}/", 1)[1], Body=b"PK\x05\x06" + bytes(18))
    return s3


class SparkJobs:
    """The processing jobs moto was asked to create, each "run" by the single-machine engine in a thread."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.runs: dict[str, Future] = {}
        self.seen: dict[str, list[str]] = {}


@pytest.fixture
def job_runs_the_engine(fake_aws, monkeypatch, jobs_start_in_progress):
    """On CreateProcessingJob: record the request and start writing what the job would write; the job
    reports ``Completed`` once that is written and it was seen ``InProgress`` at least twice."""
    from moto.s3.models import s3_backends
    from moto.sagemaker.models import SageMakerModelBackend

    from airflow_provider_clarify.engine.runner import run_analysis

    jobs = SparkJobs()
    pool = ThreadPoolExecutor(max_workers=1)
    backend = s3_backends[ACCOUNT_ID]["aws"]

    def read(uri: str) -> bytes:
        bucket, key = uri[len("s3://") :].split("/", 1)
        return backend.get_object(bucket, key).value

    def play_the_job(request: dict) -> None:
        inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in request["processing_inputs"]}
        with tempfile.TemporaryDirectory() as folder:
            dataset = Path(folder) / "scored.csv"
            dataset.write_bytes(read(inputs["dataset"]))
            run_analysis(json.loads(read(inputs["analysis_config"])), str(dataset), f"{folder}/out")
            output = request["processing_output_config"]["Outputs"][0]["S3Output"]["S3Uri"]
            bucket, key = output[len("s3://") :].split("/", 1)
            backend.put_object(
                bucket, f"{key}/analysis.json", Path(f"{folder}/out/analysis.json").read_bytes()
            )

    create, describe = (
        SageMakerModelBackend.create_processing_job,
        SageMakerModelBackend.describe_processing_job,
    )

    def create_job(self, *args, **kwargs):
        job = create(self, *args, **kwargs)
        jobs.requests.append(kwargs)
        jobs.runs[kwargs["processing_job_name"]] = pool.submit(play_the_job, kwargs)
        return job

    def describe_job(self, processing_job_name):
        run = jobs.runs.get(processing_job_name)
        if run is not None:
            seen = jobs.seen.setdefault(processing_job_name, [])
            done = run.done() and seen.count("InProgress") >= 2
            if done:
                run.result()  # an engine error fails the test here
            status = "Completed" if done else "InProgress"
            self.processing_jobs[processing_job_name].processing_job_status = status
            seen.append(status)
        return describe(self, processing_job_name)

    monkeypatch.setattr(SageMakerModelBackend, "create_processing_job", create_job)
    monkeypatch.setattr(SageMakerModelBackend, "describe_processing_job", describe_job)
    yield jobs
    pool.shutdown(wait=True)


def test_the_dag_imports_cleanly(spark_dag):
    assert spark_dag.catchup is False
    bias = spark_dag.get_task("bias")
    assert bias.compute == "sagemaker_spark"
    assert bias.deferrable is True
    assert bias.downstream_task_ids == {"summarize"}


def test_the_audit_runs_a_spark_job_defers_and_hands_the_result_downstream(
    spark_dag, fake_aws, job_runs_the_engine
):
    run = spark_dag.test(
        logical_date=LOGICAL_DATE,
        run_after=LOGICAL_DATE,
        run_conf={"bucket": BUCKET, "role": ROLE_NAME, "dependencies": DEPS_URI, "check_interval": 0.5},
    )

    assert states(run) == {"bias": "success", "summarize": "success"}
    seen = job_runs_the_engine.seen[JOB_NAME]
    assert seen[:2] == ["InProgress", "InProgress"]  # it waited (deferred), then the job completed
    assert seen[-1] == "Completed"
    (request,) = job_runs_the_engine.requests
    assert request["app_specification"]["ImageUri"] == spark_image_uri(REGION)
    assert request["app_specification"]["ContainerEntrypoint"][0] == "smspark-submit"
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in request["processing_inputs"]}
    assert inputs["dataset"] == f"s3://{BUCKET}/{DATA_KEY}"
    assert inputs["dependencies"] == DEPS_URI
    assert inputs["code"] == f"{RESULT_URI}/{JOB_NAME}/input/code/clarify_spark_entry.py"
    assert xcom(run, "bias") == RESULT_URI
    assert xcom(run, "bias", "job_name") == JOB_NAME

    summary = xcom(run, "summarize")
    assert summary["result"] == RESULT_URI
    written = json.loads(
        fake_aws.get_object(Bucket=BUCKET, Key=f"{RESULT_URI.split(f'{BUCKET}/', 1)[1]}/analysis.json")[
            "Body"
        ].read()
    )
    dppl = next(
        m["value"]
        for m in written["post_training_bias_metrics"]["facets"]["sex"][0]["metrics"]
        if m["name"] == "DPPL"
    )
    assert summary["metrics"]["post_training.DPPL"] == dppl
    assert len(summary["metrics"]) > 20
