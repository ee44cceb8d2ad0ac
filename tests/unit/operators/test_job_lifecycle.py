"""``max_ingestion_time`` is one budget per job, the same for the wait in the worker and the deferred wait.

Both count it from the job's ``CreationTime`` (what DescribeProcessingJob reports), so a try that
re-attaches to a job an earlier try started (a retry after a worker shutdown, a resumed deferral, a
triggerer move) gets what is left of that job's budget. Against the fake AWS; the jobs' creation
times are moved into the past instead of waiting, and the tests count Describe calls, not seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest

from airflow_provider_clarify.analysis.plan import build_plan
from airflow_provider_clarify.hooks.clarify import ClarifyHook
from airflow_provider_clarify.operators._job_lifecycle import (
    ClarifyJobTimeoutException,
    poll_until_done,
    same_job,
)
from airflow_provider_clarify.triggers.clarify import ClarifyProcessingJobTrigger
from tests.support.aws import REGION
from tests.support.clarify_jobs import start_job
from tests.unit.operators.test_clarify import ROLE_ARN, bias_config, data_config

BOUND = 20  # seconds: the deferred wait may not hang longer than this
LOG = logging.getLogger("tests.job-lifecycle")


def wait_in_worker(job_name: str, max_ingestion_time: int) -> str:
    """The operators' wait with ``deferrable=False``: ``"success"`` or ``"timeout"``."""
    try:
        poll_until_done(
            ClarifyHook(), job_name, check_interval=0.05, max_ingestion_time=max_ingestion_time, log=LOG
        )
    except ClarifyJobTimeoutException:
        return "timeout"
    return "success"


def wait_deferred(job_name: str, max_ingestion_time: int) -> str:
    """The operators' wait with ``deferrable=True``: the trigger's event status."""
    trigger = ClarifyProcessingJobTrigger(
        job_name=job_name, check_interval=0.05, max_ingestion_time=max_ingestion_time
    )

    async def first_event():
        return await asyncio.wait_for(trigger.run().__anext__(), timeout=BOUND)

    return asyncio.run(first_event()).payload["status"]


WAITS = pytest.mark.parametrize("wait", [wait_in_worker, wait_deferred], ids=["worker", "deferred"])


def created_ago(sm_backend, job_name: str, age: dt.timedelta) -> None:
    job = sm_backend.processing_jobs[job_name]
    job.creation_time = (dt.datetime.now(dt.UTC) - age).isoformat()


@WAITS
def test_a_try_that_re_attaches_gets_what_is_left_of_the_jobs_budget(
    wait, aws_conn, scripted_status, sm_backend
):
    """The job was created an hour ago by an earlier try; ten minutes were its whole budget."""
    start_job("budget-spent")
    scripted_status("budget-spent", ["InProgress", "InProgress", "InProgress", "Completed"])
    created_ago(sm_backend, "budget-spent", dt.timedelta(hours=1))
    assert wait("budget-spent", 600) == "timeout"
    # decided on the first Describe: the try did not start a ten-minute clock of its own
    assert scripted_status.calls["budget-spent"] == 1


@WAITS
def test_a_job_within_its_budget_is_waited_for(wait, aws_conn, scripted_status, sm_backend):
    start_job("budget-left")
    scripted_status("budget-left", ["InProgress", "InProgress", "Completed"])
    created_ago(sm_backend, "budget-left", dt.timedelta(minutes=5))
    assert wait("budget-left", 600) == "success"
    assert scripted_status.calls["budget-left"] == 3


def test_the_worker_wait_stops_the_job_whose_budget_is_spent(aws_conn, scripted_status, sm_backend):
    start_job("budget-stop")
    scripted_status("budget-stop", ["InProgress"])
    created_ago(sm_backend, "budget-stop", dt.timedelta(hours=1))
    with pytest.raises(ClarifyJobTimeoutException, match="max_ingestion_time=600s; the job was stopped"):
        poll_until_done(ClarifyHook(), "budget-stop", check_interval=0.05, max_ingestion_time=600, log=LOG)
    assert sm_backend.processing_jobs["budget-stop"].processing_job_status in ("Stopping", "Stopped")


def test_a_job_of_the_other_sagemaker_mode_is_not_adopted(aws_conn, s3_bucket, sm_backend):
    """Same dataset, output and config, but compute="sagemaker_spark" runs another container."""
    arguments = {"data_config": data_config(), "bias_config": bias_config()}
    spark = build_plan(
        "pre_training_bias", arguments, compute="sagemaker_spark", region=REGION, role=ROLE_ARN
    )
    clarify = build_plan("pre_training_bias", arguments, compute="sagemaker", region=REGION, role=ROLE_ARN)
    hook = ClarifyHook()
    hook.upload_analysis_config(spark.config, spark.config_uri("mode-switch"))
    hook.start_processing_job(spark.request("mode-switch", ROLE_ARN))
    description = hook.describe_processing_job("mode-switch")
    assert same_job(hook, description, "mode-switch", spark, LOG)
    assert not same_job(hook, description, "mode-switch", clarify, LOG)
