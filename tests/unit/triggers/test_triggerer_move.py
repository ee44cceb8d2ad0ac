"""A deferred task's job survives its trigger moving to another triggerer; a user's kill stops it.

Two real ``airflow triggerer`` processes share the session's SQLite metadata DB with the test, and the
job lives on the fake AWS (moto server on 127.0.0.1, reached over HTTP by both triggerers).
``dag.test()`` runs the task in this process up to its deferral (its inline trigger run is switched
off, so the deferred task instance waits for the triggerers, as in a deployment). Then:

1. triggerer A picks the trigger up and polls the job;
2. the trigger is reassigned to triggerer B, the row update ``Trigger.assign_unassigned`` makes when
   A's heartbeat is stale. Airflow 3.3 then cancels the trigger in A exactly as for a user's kill
   ("user action", which calls ``on_kill``); the job must keep running and B must poll it;
3. a user marks the task failed: B cancels the trigger, ``on_kill`` stops the job.

Every wait is bounded; both triggerers are stopped at the end whatever happens.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pendulum
import pytest

from tests.support.aws import BUCKET, REGION
from tests.support.dag_runs import bundled_dag, folder_with, task_states

DAG_FILE = Path(__file__).parent / "dags" / "clarify_move_dag.py"
DAG_ID = "clarify_move_test"
REPO = Path(__file__).resolve().parents[3]
BOUND = 120  # seconds any one wait may last (two triggerers start on a loaded two-core machine)

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def dag_folder(tmp_path_factory) -> Path:
    return folder_with(tmp_path_factory, DAG_FILE, "move-dags")


@pytest.fixture
def move_dag(dag_folder, airflow_db, monkeypatch):
    return bundled_dag(monkeypatch, dag_folder, DAG_ID, bundle_name="move-dags")


@pytest.fixture
def aws(aws_conn, s3_bucket, moto_endpoint, jobs_start_in_progress):
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name=REGION)
    iam.create_role(RoleName="ClarifyRole", AssumeRolePolicyDocument=json.dumps({"Statement": []}))
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key="credit/train.csv", Body=b"female,30,1\nmale,40,0\n")


@pytest.fixture
def no_inline_trigger(monkeypatch):
    """dag.test() defers the task and leaves the trigger to the triggerers (it waits meanwhile)."""
    import airflow.sdk.definitions.dag as dag_module

    original = dag_module._run_task

    def run_task(*, ti, task, run_triggerer=False):
        return original(ti=ti, task=task, run_triggerer=False)

    monkeypatch.setattr(dag_module, "_run_task", run_task)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


def db_rows(sql: str, **params) -> list[tuple]:
    from airflow.utils.session import create_session
    from sqlalchemy import text

    with create_session() as session:
        return [tuple(row) for row in session.execute(text(sql), params)]


def triggerer_ids() -> set[int]:
    return {
        row[0] for row in db_rows("SELECT id FROM job WHERE job_type = 'TriggererJob' AND state = 'running'")
    }


def the_trigger() -> tuple[int, int | None] | None:
    rows = db_rows(
        "SELECT t.id, t.triggerer_id FROM trigger t JOIN task_instance ti ON ti.trigger_id = t.id "
        "WHERE ti.dag_id = :dag_id",
        dag_id=DAG_ID,
    )
    return rows[0] if rows else None


def trigger_log(job_id: int) -> str:
    home = Path(os.environ["AIRFLOW_HOME"])
    return "".join(
        p.read_text(errors="replace") for p in home.glob(f"logs/dag_id={DAG_ID}/**/*.trigger.{job_id}.log")
    )


class Triggerer:
    """One ``airflow triggerer`` process with its output in a file."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.known = triggerer_ids()
        self.output = workdir / f"triggerer-{name}.out"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            # A triggerer builds its in-process Execution API on first use; on a loaded two-core machine
            # that blocked its supervisor for 30 s, long enough to look unhealthy and have its triggers
            # reassigned on their own. The test moves the trigger itself, so it rules that out.
            "AIRFLOW__TRIGGERER__RUNNER_HEALTH_CHECK_THRESHOLD": "600",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "600",
        }
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "airflow", "triggerer", "--capacity", "10"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=workdir,
                start_new_session=True,
            )
        self.job_id: int | None = None

    def started(self) -> bool:
        assert self.process.poll() is None, self.output.read_text(errors="replace")[-3000:]
        new = triggerer_ids() - self.known
        if new:
            self.job_id = min(new)
        return self.job_id is not None

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def test_trigger_moved_to_another_triggerer_keeps_the_job_a_user_kill_stops_it(
    aws, move_dag, sm_backend, throttle_storm, no_inline_trigger, tmp_path
):
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import text

    throttle_storm(0.0)  # no faults: counts the calls the fake AWS receives
    # Counted for this test's job only: the triggerers also run what earlier tests left deferred in the
    # shared metadata DB, and cancel (and may stop the jobs of) the triggers whose tasks are gone.
    calls = throttle_storm.per_job
    triggerers: list[Triggerer] = []
    checks: dict[str, object] = {}
    errors: list[BaseException] = []

    def orchestrate() -> None:
        try:
            wait_for(lambda: the_trigger() is not None, "the task to defer")
            job = next(iter(sm_backend.processing_jobs.values()))
            describes = ("DescribeProcessingJob", job.processing_job_name)
            stops = ("StopProcessingJob", job.processing_job_name)
            a = Triggerer("a", tmp_path)
            triggerers.append(a)
            wait_for(a.started, "triggerer A to start")
            wait_for(lambda: the_trigger()[1] == a.job_id, "triggerer A to take the trigger")
            polls = calls[describes]
            wait_for(lambda: calls[describes] >= polls + 2, "triggerer A to poll the job")

            b = Triggerer("b", tmp_path)
            triggerers.append(b)
            wait_for(b.started, "triggerer B to start")
            trigger_id = the_trigger()[0]
            with create_session() as session:  # what assign_unassigned writes once A looks dead
                session.execute(
                    text("UPDATE trigger SET triggerer_id = :b WHERE id = :t"),
                    {"b": b.job_id, "t": trigger_id},
                )
            wait_for(lambda: "moved to another triggerer" in trigger_log(a.job_id), "A to cancel the trigger")
            wait_for(lambda: "(poll " in trigger_log(b.job_id), "triggerer B to poll the job")
            checks["after move"] = (job.processing_job_status, calls[stops])

            with create_session() as session:  # a user marks the deferred task failed
                ti = session.query(TaskInstance).filter_by(dag_id=DAG_ID, task_id="audit").one()
                ti.state = TaskInstanceState.FAILED
            marked = time.monotonic()
            wait_for(
                lambda: calls[stops] >= 1 or job.processing_job_status != "InProgress",
                "triggerer B to stop the job",
            )
            checks["seconds to stop"] = round(time.monotonic() - marked, 1)
            checks["after kill"] = (job.processing_job_status, calls[stops])
            checks["b log"] = trigger_log(b.job_id)
        except BaseException as error:
            errors.append(error)
            errors.append(AssertionError(f"checks so far: {checks}; calls: {dict(calls)}"))
            for triggerer in triggerers:  # what the triggerers said, for the failure report
                tail = triggerer.output.read_text(errors="replace")[-4000:]
                errors.append(AssertionError(f"{triggerer.output.name} (job {triggerer.job_id}):\n{tail}"))
                if triggerer.job_id is not None:
                    errors.append(
                        AssertionError(f"trigger log {triggerer.job_id}:\n{trigger_log(triggerer.job_id)}")
                    )
            with create_session() as session:  # end the run so dag.test() returns
                for ti in session.query(TaskInstance).filter_by(dag_id=DAG_ID):
                    ti.state = TaskInstanceState.FAILED

    thread = threading.Thread(target=orchestrate, daemon=True)
    thread.start()
    try:
        run = move_dag.test(logical_date=pendulum.datetime(2024, 3, 3, tz="UTC"))
        thread.join(BOUND * 4)
    finally:
        for triggerer in triggerers:
            triggerer.stop()
    assert not errors, "\n\n".join(map(str, errors))
    assert len(sm_backend.processing_jobs) == 1
    assert checks["after move"] == ("InProgress", 0)  # moved: the job keeps running, nobody stopped it
    assert checks["after kill"] == ("Stopped", 1)  # killed: stopped, once
    assert "a user marked or cleared the task" in checks["b log"]
    assert task_states(run) == {"audit": "failed"}
