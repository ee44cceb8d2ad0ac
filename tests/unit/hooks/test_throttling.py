"""Every AWS call of a Clarify job's life rides out throttling; other client errors are not retried.

The fake AWS (moto server on 127.0.0.1) refuses a seeded fraction of SageMaker calls with
``ThrottlingException``; botocore's own retry logic decides what to retry (its pauses are scaled
down 100 times by ``fast_backoff`` so a storm fits in a unit test). Nothing of ours is mocked: the
operator, the sensor and the hook talk HTTP to the server.
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from airflow_provider_clarify.analysis.configs import BiasConfig, DataConfig
from airflow_provider_clarify.hooks.clarify import DEFAULT_RETRIES, ClarifyHook
from airflow_provider_clarify.operators._job_lifecycle import clarify_job_name
from airflow_provider_clarify.operators.clarify import ClarifyPreTrainingBiasOperator
from airflow_provider_clarify.sensors.clarify import ClarifyProcessingJobSensor
from tests.support.aws import BUCKET, REGION
from tests.support.clarify_jobs import start_job

HEADERS = ["sex", "age", "approved"]
DATA_URI = f"s3://{BUCKET}/credit/train.csv"
ROLE_NAME = "ClarifyRole"
RUN_ID = "scheduled__2024-03-01T00:00:00+00:00"


class TaskInstance:
    """The identity and XCom push of a task instance (what the operator reads from its context)."""

    def __init__(self, task_id: str) -> None:
        self.dag_id, self.task_id, self.run_id, self.map_index, self.try_number = (
            "storm",
            task_id,
            RUN_ID,
            -1,
            1,
        )
        self.xcoms: dict = {}

    def xcom_push(self, key: str, value) -> None:
        self.xcoms[key] = value


@pytest.fixture
def aws(aws_conn, s3_bucket, moto_endpoint):
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name=REGION)
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps({"Statement": []}))
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key="credit/train.csv", Body=b"female,30,1\nmale,40,0\n")


def audit(task_id: str) -> ClarifyPreTrainingBiasOperator:
    return ClarifyPreTrainingBiasOperator(
        task_id=task_id,
        data_config=DataConfig(
            s3_data_input_path=DATA_URI,
            s3_output_path=f"s3://{BUCKET}/clarify/{task_id}",
            label="approved",
            headers=HEADERS,
            dataset_type="text/csv",
        ),
        bias_config=BiasConfig(
            label_values_or_threshold=[1], facet_name="sex", facet_values_or_threshold=["female"]
        ),
        role=ROLE_NAME,
        check_interval=0.05,
    )


def run_task(task_id: str) -> str:
    ti = TaskInstance(task_id)
    return audit(task_id).execute({"ti": ti, "task_instance": ti})


def test_hook_clients_retry_throttling_in_standard_mode_by_default(aws_conn):
    hook = ClarifyHook()
    assert hook.conn.meta.config.retries == {"mode": "standard", "total_max_attempts": 20}
    assert hook.s3_hook.conn.meta.config.retries == hook.conn.meta.config.retries
    assert DEFAULT_RETRIES["mode"] == "standard"


def test_a_connection_or_hook_retry_setting_wins(aws_conn, moto_endpoint, monkeypatch):
    from tests.support.aws import aws_connection_json

    chosen = json.loads(aws_connection_json(moto_endpoint))
    chosen["extra"]["config_kwargs"] = {"retries": {"mode": "adaptive", "max_attempts": 3}}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_CHOSEN", json.dumps(chosen))
    assert ClarifyHook(aws_conn_id="aws_chosen").conn.meta.config.retries["mode"] == "adaptive"
    explicit = ClarifyHook(config={"retries": {"total_max_attempts": 1}, "connect_timeout": 2})
    assert explicit.conn.meta.config.retries == {"total_max_attempts": 1, "mode": "legacy"}
    # a config that says nothing about retries keeps its settings and gains the default retries
    other = ClarifyHook(config={"connect_timeout": 2})
    assert other.conn.meta.config.connect_timeout == 2
    assert other.conn.meta.config.retries["mode"] == "standard"


def test_ten_tasks_at_80_percent_throttling_all_succeed_with_one_job_each(
    aws, sm_backend, throttle_storm, fast_backoff
):
    """The probe's storm (14 of its 20 tasks failed, five after creating a job left unwatched)."""
    throttle_storm(0.8, seed=11, operations=("DescribeProcessingJob", "CreateProcessingJob"))
    task_ids = [f"audit_{i}" for i in range(10)]
    results = {task_id: run_task(task_id) for task_id in task_ids}
    assert results == {t: f"s3://{BUCKET}/clarify/{t}" for t in task_ids}
    names = {
        clarify_job_name("Clarify-Pretraining-Bias", dag_id="storm", task_id=t, run_id=RUN_ID)
        for t in task_ids
    }
    assert set(sm_backend.processing_jobs) == names  # one job per task, none doubled
    # the storm really hit: most calls were refused, and botocore backed off exponentially
    assert throttle_storm.throttled["DescribeProcessingJob"] > 20
    assert throttle_storm.throttled["CreateProcessingJob"] >= 10
    assert max(fast_backoff) > 1.0


def test_sensor_poke_rides_out_throttling(
    aws_conn, jobs_start_in_progress, sm_backend, throttle_storm, fast_backoff
):
    output = start_job("storm-sensor")
    sm_backend.processing_jobs["storm-sensor"].processing_job_status = "Completed"
    throttle_storm(0.8, seed=5, operations=("DescribeProcessingJob",))
    sensor = ClarifyProcessingJobSensor(
        task_id="wait", job_name="storm-sensor", poke_interval=0.01, timeout=60
    )
    assert sensor.execute({}) == output
    assert throttle_storm.throttled["DescribeProcessingJob"] >= 1


def test_sensor_poke_still_throttled_after_retries_asks_again(
    aws_conn, sm_backend, throttle_storm, fast_backoff
):
    start_job("storm-poke")
    throttle_storm.always("DescribeProcessingJob")
    sensor = ClarifyProcessingJobSensor(task_id="wait", job_name="storm-poke", poke_interval=0.01, timeout=60)
    assert sensor.poke({}) is False  # not done yet, rather than a failed task
    assert throttle_storm.requests["DescribeProcessingJob"] == 20  # botocore's twenty attempts


def test_validation_errors_are_not_retried(aws_conn, throttle_storm):
    with pytest.raises(ClientError, match="ValidationException|not found|Could not find"):
        ClarifyHook().describe_processing_job("no-such-job")
    assert throttle_storm.requests["DescribeProcessingJob"] == 1


def test_a_task_that_fails_after_creating_its_job_re_attaches_on_retry(
    aws, jobs_start_in_progress, sm_backend, throttle_storm, fast_backoff
):
    name = clarify_job_name("Clarify-Pretraining-Bias", dag_id="storm", task_id="fragile", run_id=RUN_ID)
    original_create = sm_backend.create_processing_job

    def create_then_storm(*args, **kwargs):
        job = original_create(*args, **kwargs)
        throttle_storm.always("DescribeProcessingJob")  # every Describe after the job exists is refused
        return job

    sm_backend.create_processing_job = create_then_storm
    try:
        with pytest.raises(ClientError, match="Throttling"):
            run_task("fragile")
    finally:
        del sm_backend.create_processing_job
    assert list(sm_backend.processing_jobs) == [name]
    assert sm_backend.processing_jobs[name].processing_job_status == "InProgress"  # left running

    throttle_storm.stop()
    sm_backend.processing_jobs[name].processing_job_status = "Completed"
    assert run_task("fragile") == f"s3://{BUCKET}/clarify/fragile"  # the retry
    assert list(sm_backend.processing_jobs) == [name]  # re-attached: no second job
