"""A worker's SIGTERM leaves the Clarify job running; a user's kill stops it (operators/_kill.py).

Real Airflow runs the task (``dag.test()``: the Task SDK's task runner with the in-process Execution
API and the SQLite metadata DB), the job lives on the fake AWS (moto server on 127.0.0.1), and the
test process receives a real SIGTERM while the task waits for its job. The task runner turns that
signal into ``on_kill``, exactly as when a supervisor forwards a worker's shutdown signal or kills a
task whose heartbeat the API server refused after a user marked it failed.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pendulum
import pytest

from tests.support.aws import BUCKET, REGION
from tests.support.dag_runs import bundled_dag, folder_with, task_states

DAG_FILE = Path(__file__).parent / "dags" / "clarify_kill_dag.py"
DAG_ID = "clarify_kill_test"
BOUND = 60  # seconds any wait of these tests may last


@pytest.fixture(scope="module")
def dag_folder(tmp_path_factory) -> Path:
    return folder_with(tmp_path_factory, DAG_FILE, "kill-dags")


@pytest.fixture
def kill_dag(dag_folder, airflow_db, monkeypatch):
    return bundled_dag(monkeypatch, dag_folder, DAG_ID, bundle_name="kill-dags")


@pytest.fixture
def aws(aws_conn, s3_bucket, moto_endpoint, jobs_start_in_progress):
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name=REGION)
    iam.create_role(RoleName="ClarifyRole", AssumeRolePolicyDocument=json.dumps({"Statement": []}))
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key="credit/train.csv", Body=b"female,30,1\nmale,40,0\n")


@pytest.fixture
def restore_sigterm():
    """The task runner installs its SIGTERM handler in this (the test) process; put ours back after."""
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def in_background(action: Callable[[], None], sm_backend) -> tuple[threading.Thread, list[BaseException]]:
    """Run ``action`` beside the task; if it fails, end the job so that the DAG run ends too."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except BaseException as error:  # reported by the test
            errors.append(error)
            job = the_job(sm_backend)
            if job is not None:
                job.processing_job_status = "Failed"

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def describe_calls(throttle_storm) -> int:
    return throttle_storm.requests["DescribeProcessingJob"]


def the_job(sm_backend):
    jobs = list(sm_backend.processing_jobs.values())
    return jobs[0] if jobs else None


def test_worker_shutdown_sigterm_leaves_the_job_running_and_the_wait_goes_on(
    aws, kill_dag, sm_backend, throttle_storm, restore_sigterm
):
    throttle_storm(0.0)  # no faults: only counts the calls the server receives

    def shutdown_then_finish() -> None:
        wait_for(lambda: the_job(sm_backend) is not None and describe_calls(throttle_storm) >= 3, "the wait")
        os.kill(os.getpid(), signal.SIGTERM)  # what the supervisor forwards when the worker shuts down
        polls = describe_calls(throttle_storm)
        wait_for(lambda: describe_calls(throttle_storm) >= polls + 3, "polls after the SIGTERM")
        assert the_job(sm_backend).processing_job_status == "InProgress"
        the_job(sm_backend).processing_job_status = "Completed"

    thread, errors = in_background(shutdown_then_finish, sm_backend)
    run = kill_dag.test(logical_date=pendulum.datetime(2024, 3, 1, tz="UTC"))
    thread.join(BOUND)
    assert errors == []
    assert task_states(run) == {"audit": "success"}
    assert len(sm_backend.processing_jobs) == 1
    assert the_job(sm_backend).processing_job_status == "Completed"  # never stopped
    assert throttle_storm.requests["StopProcessingJob"] == 0


def test_user_kill_sigterm_stops_the_job(aws, kill_dag, sm_backend, throttle_storm, restore_sigterm):
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    throttle_storm(0.0)

    def mark_failed_then_kill() -> None:
        wait_for(lambda: the_job(sm_backend) is not None and describe_calls(throttle_storm) >= 3, "the wait")
        # What "mark failed" does to the task instance; the supervisor then finds the heartbeat
        # refused and sends the task SIGTERM.
        with create_session() as session:
            ti = (
                session.query(TaskInstance)
                .filter_by(dag_id=DAG_ID, task_id="audit", state=TaskInstanceState.RUNNING)
                .one()
            )
            ti.state = TaskInstanceState.FAILED
        os.kill(os.getpid(), signal.SIGTERM)

    thread, errors = in_background(mark_failed_then_kill, sm_backend)
    run = kill_dag.test(logical_date=pendulum.datetime(2024, 3, 2, tz="UTC"))
    thread.join(BOUND)
    assert errors == []
    assert task_states(run) == {"audit": "failed"}
    assert throttle_storm.requests["StopProcessingJob"] == 1
    assert the_job(sm_backend).processing_job_status == "Stopped"


def test_execution_timeout_is_a_kill_that_stops_the_job():
    """The task runner calls on_kill while handling AirflowTaskTimeout: the job is stopped."""
    from airflow.sdk.exceptions import AirflowTaskTimeout

    from airflow_provider_clarify.operators._kill import KillCause, worker_kill_cause

    try:
        raise AirflowTaskTimeout("execution_timeout")
    except AirflowTaskTimeout:
        cause = worker_kill_cause()
    assert cause is KillCause.TIMEOUT
    assert cause.stops_job


def test_a_direct_on_kill_outside_a_task_run_is_an_explicit_kill():
    from airflow_provider_clarify.operators._kill import KillCause, worker_kill_cause

    assert worker_kill_cause() is KillCause.USER
    assert not KillCause.SHUTDOWN.stops_job
    assert not KillCause.MOVED.stops_job
    assert not KillCause.UNKNOWN.stops_job
