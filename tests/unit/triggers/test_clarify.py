"""ClarifyProcessingJobTrigger over aiobotocore against the local fake AWS, with bounded waits."""

from __future__ import annotations

import asyncio
import time

import pytest
from airflow.triggers.base import TriggerEvent

from airflow_provider_clarify.triggers.clarify import DEFAULT_MAX_WAIT_SECONDS, ClarifyProcessingJobTrigger
from tests.support.clarify_jobs import start_job

BOUND = 20  # seconds: no trigger test may hang longer than this


async def first_event(trigger: ClarifyProcessingJobTrigger) -> TriggerEvent:
    return await asyncio.wait_for(trigger.run().__anext__(), timeout=BOUND)


@pytest.fixture
def throttled(monkeypatch, sm_backend):
    """``throttled(job, n)``: the next n DescribeProcessingJob calls of ``job`` answer ThrottlingException."""
    from moto.core.exceptions import JsonRESTError
    from moto.sagemaker.models import SageMakerModelBackend

    remaining: dict[str, int] = {}
    original = SageMakerModelBackend.describe_processing_job

    def describe(self, processing_job_name):
        if remaining.get(processing_job_name, 0) > 0:
            remaining[processing_job_name] -= 1
            raise JsonRESTError("ThrottlingException", "Rate exceeded")
        return original(self, processing_job_name)

    monkeypatch.setattr(SageMakerModelBackend, "describe_processing_job", describe)

    def script(job_name: str, times: int) -> None:
        remaining[job_name] = times

    return script


@pytest.mark.asyncio
async def test_waits_while_in_progress_then_succeeds(aws_conn, scripted_status):
    output = start_job("trig-ok")
    scripted_status("trig-ok", ["InProgress", "InProgress", "InProgress", "Completed"])
    trigger = ClarifyProcessingJobTrigger(job_name="trig-ok", analysis_result_uri=output, check_interval=0.2)
    pending = asyncio.ensure_future(first_event(trigger))
    await asyncio.sleep(0.3)
    assert not pending.done()  # still polling an InProgress job
    event = await pending
    assert event.payload == {"status": "success", "job_name": "trig-ok", "analysis_result_uri": output}
    assert scripted_status.seen["trig-ok"] == ["InProgress", "InProgress", "InProgress", "Completed"]


@pytest.mark.asyncio
async def test_result_uri_is_read_from_the_job_when_not_given(aws_conn, scripted_status):
    output = start_job("trig-derive")
    scripted_status("trig-derive", ["InProgress", "Completed"])
    event = await first_event(ClarifyProcessingJobTrigger(job_name="trig-derive", check_interval=0.1))
    assert event.payload["analysis_result_uri"] == output


@pytest.mark.asyncio
async def test_failed_job_carries_the_failure_reason(aws_conn, scripted_status):
    start_job("trig-failed")
    reason = "ClientError: Facet column 'sex' not found in the dataset headers"
    scripted_status("trig-failed", ["InProgress", "Failed"], failure_reason=reason)
    event = await first_event(ClarifyProcessingJobTrigger(job_name="trig-failed", check_interval=0.1))
    assert event.payload["status"] == "failed"
    assert event.payload["job_name"] == "trig-failed"
    assert event.payload["job_status"] == "Failed"
    assert event.payload["failure_reason"] == reason
    assert reason in event.payload["message"]


@pytest.mark.asyncio
async def test_stopped_job_is_a_failure_not_a_success(aws_conn, scripted_status):
    start_job("trig-stopped")
    scripted_status("trig-stopped", ["InProgress", "Stopping", "Stopped"])
    event = await first_event(ClarifyProcessingJobTrigger(job_name="trig-stopped", check_interval=0.1))
    assert event.payload["status"] == "failed"
    assert event.payload["job_status"] == "Stopped"
    assert scripted_status.seen["trig-stopped"] == ["InProgress", "Stopping", "Stopped"]


@pytest.mark.asyncio
async def test_times_out_after_max_ingestion_time_and_leaves_the_job(aws_conn, scripted_status, sm_backend):
    start_job("trig-slow")
    scripted_status("trig-slow", ["InProgress"])
    started = time.monotonic()
    trigger = ClarifyProcessingJobTrigger(job_name="trig-slow", check_interval=0.2, max_ingestion_time=0.7)
    event = await first_event(trigger)
    elapsed = time.monotonic() - started
    assert event.payload["status"] == "timeout"
    assert event.payload["job_name"] == "trig-slow"
    assert "max_ingestion_time=0.7" in event.payload["message"]
    assert 0.6 <= elapsed < 5
    assert 2 <= scripted_status.calls["trig-slow"] <= 6
    assert sm_backend.processing_jobs["trig-slow"].processing_job_status == "InProgress"


@pytest.mark.asyncio
async def test_times_out_after_max_attempts(aws_conn, scripted_status):
    start_job("trig-attempts")
    scripted_status("trig-attempts", ["InProgress"])
    event = await first_event(
        ClarifyProcessingJobTrigger(job_name="trig-attempts", waiter_delay=0.05, waiter_max_attempts=3)
    )
    assert event.payload["status"] == "timeout"
    assert "max_attempts=3" in event.payload["message"]
    assert scripted_status.calls["trig-attempts"] == 3


@pytest.mark.asyncio
async def test_backs_off_exponentially_when_throttled(aws_conn, scripted_status, throttled):
    start_job("trig-throttled")
    scripted_status("trig-throttled", ["InProgress", "Completed"])
    throttled("trig-throttled", 4)
    trigger = ClarifyProcessingJobTrigger(
        job_name="trig-throttled",
        check_interval=0.05,
        max_throttle_delay=0.2,
        botocore_config={"retries": {"total_max_attempts": 1}},  # let the trigger, not botocore, retry
    )
    pauses: list[float] = []
    real_pause = trigger._pause

    async def record(seconds: float) -> None:
        pauses.append(round(seconds, 3))
        await real_pause(seconds)

    trigger._pause = record
    event = await first_event(trigger)
    assert event.payload["status"] == "success"
    # four throttles (0.05, 0.1, 0.2, capped 0.2) that are not counted as polls, then one normal interval
    assert pauses == [0.05, 0.1, 0.2, 0.2, 0.05]
    assert scripted_status.seen["trig-throttled"] == ["InProgress", "Completed"]


@pytest.mark.asyncio
async def test_throttling_does_not_exceed_the_deadline(aws_conn, throttled):
    start_job("trig-throttle-timeout")
    throttled("trig-throttle-timeout", 10_000)
    trigger = ClarifyProcessingJobTrigger(
        job_name="trig-throttle-timeout",
        check_interval=0.1,
        max_ingestion_time=0.5,
        botocore_config={"retries": {"total_max_attempts": 1}},
    )
    event = await first_event(trigger)
    assert event.payload["status"] == "timeout"
    assert event.payload["job_status"] is None


@pytest.mark.asyncio
async def test_unknown_job_yields_an_error_event(aws_conn):
    event = await first_event(ClarifyProcessingJobTrigger(job_name="never-created", check_interval=0.1))
    assert event.payload["status"] == "error"
    assert event.payload["job_name"] == "never-created"
    assert "never-created" in event.payload["message"]


@pytest.mark.asyncio
async def test_on_kill_stops_the_job(aws_conn, scripted_status, sm_backend):
    start_job("trig-kill")
    scripted_status("trig-kill", ["InProgress"])
    trigger = ClarifyProcessingJobTrigger(job_name="trig-kill", check_interval=0.1)
    await asyncio.wait_for(trigger.on_kill(), timeout=BOUND)
    assert sm_backend.processing_jobs["trig-kill"].processing_job_status == "Stopped"


@pytest.mark.asyncio
async def test_on_kill_can_leave_the_job_running(aws_conn, jobs_start_in_progress, sm_backend):
    start_job("trig-keep")
    trigger = ClarifyProcessingJobTrigger(job_name="trig-keep", stop_job_on_kill=False)
    await asyncio.wait_for(trigger.on_kill(), timeout=BOUND)
    assert sm_backend.processing_jobs["trig-keep"].processing_job_status == "InProgress"


def test_serialize_round_trip():
    trigger = ClarifyProcessingJobTrigger(
        job_name="job-a",
        analysis_result_uri="s3://b/out",
        aws_conn_id="my_aws",
        region_name="eu-west-1",
        verify=False,
        botocore_config={"retries": {"mode": "standard"}},
        check_interval=45,
        max_ingestion_time=6 * 3600,
        max_attempts=1000,
        max_throttle_delay=120,
        stop_job_on_kill=False,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_clarify.triggers.clarify.ClarifyProcessingJobTrigger"
    assert kwargs["job_name"] == "job-a"
    assert kwargs["max_ingestion_time"] == 6 * 3600
    # the deadline is absolute, so a re-created trigger (triggerer restart) does not extend it
    assert kwargs["end_time"] == pytest.approx(time.time() + 6 * 3600, abs=60)
    time.sleep(0.01)
    rebuilt = ClarifyProcessingJobTrigger(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert rebuilt.hook().aws_conn_id == "my_aws"
    assert rebuilt.hook()._region_name == "eu-west-1"


def test_default_deadline_is_the_clarify_maximum_not_thirty_minutes():
    trigger = ClarifyProcessingJobTrigger(job_name="job-b")
    assert trigger.end_time - time.time() == pytest.approx(DEFAULT_MAX_WAIT_SECONDS, abs=60)
    assert DEFAULT_MAX_WAIT_SECONDS > 7 * 24 * 3600


@pytest.mark.parametrize("kwargs", [{"check_interval": 0}, {"check_interval": -1}, {"max_attempts": 0}])
def test_invalid_polling_settings(kwargs):
    with pytest.raises(ValueError):
        ClarifyProcessingJobTrigger(job_name="job-c", **kwargs)
