"""ClarifyProcessingJobTrigger over aiobotocore against the local fake AWS, with bounded waits.

No test asserts on elapsed time: they count DescribeProcessingJob calls on the fake AWS, pauses the
trigger takes and clients it opens.
"""

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


def record_pauses(trigger: ClarifyProcessingJobTrigger) -> list[float]:
    """Every pause the trigger takes (rounded to ms), observed through its one sleeping method."""
    pauses: list[float] = []
    real_pause = trigger._pause

    async def record(seconds: float) -> None:
        pauses.append(round(seconds, 3))
        await real_pause(seconds)

    trigger._pause = record  # type: ignore[method-assign]
    return pauses


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
    event = await first_event(trigger)
    assert event.payload == {"status": "success", "job_name": "trig-ok", "analysis_result_uri": output}
    # one Describe per poll: three InProgress answers were waited through, then the event
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
    trigger = ClarifyProcessingJobTrigger(job_name="trig-slow", check_interval=0.2, max_ingestion_time=0.7)
    pauses = record_pauses(trigger)
    event = await first_event(trigger)
    assert event.payload["status"] == "timeout"
    assert event.payload["job_name"] == "trig-slow"
    assert "max_ingestion_time=0.7" in event.payload["message"]
    # the polls (and the pauses between them) fit in the 0.7 s budget: a first pause within one
    # interval, then whole intervals, the last one cut to the deadline
    assert 2 <= scripted_status.calls["trig-slow"] <= 5
    assert pauses[0] <= 0.2
    assert all(p <= 0.2 for p in pauses[1:])
    assert sum(pauses) <= 0.7 + 1e-6
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
    pauses = record_pauses(trigger)
    event = await first_event(trigger)
    assert event.payload["status"] == "success"
    # a first pause within one interval (spread), four throttles (0.05, 0.1, 0.2, capped 0.2) that
    # are not counted as polls, then one normal interval
    assert 0 <= pauses[0] <= 0.05
    assert pauses[1:] == [0.05, 0.1, 0.2, 0.2, 0.05]
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


# --- many triggers in one triggerer: shared clients, spread first polls -----------------------------------


@pytest.fixture
def client_creations(monkeypatch):
    """Count aiobotocore clients created (wraps the library's ``AioSession.create_client``)."""
    from aiobotocore.session import AioSession

    created: list[str] = []
    original = AioSession.create_client

    def counting(self, service_name, *args, **kwargs):
        created.append(service_name)
        return original(self, service_name, *args, **kwargs)

    monkeypatch.setattr(AioSession, "create_client", counting)
    return created


@pytest.mark.asyncio
async def test_triggers_of_one_process_share_one_client(aws_conn, scripted_status, client_creations):
    from airflow_provider_clarify.triggers._clients import cache_stats

    names = [f"trig-many-{i}" for i in range(20)]
    for name in names:
        start_job(name)
        scripted_status(name, ["InProgress", "InProgress", "Completed"])
    triggers = [ClarifyProcessingJobTrigger(job_name=name, check_interval=0.05) for name in names]
    events = await asyncio.wait_for(asyncio.gather(*(first_event(t) for t in triggers)), timeout=BOUND)
    assert {e.payload["status"] for e in events} == {"success"}
    assert client_creations == ["sagemaker"]  # one client for twenty triggers, not twenty
    assert (cache_stats().opened, cache_stats().open) == (1, 0)  # and closed by the last one to leave
    # exactly one Describe per job per poll
    assert {name: scripted_status.calls[name] for name in names} == dict.fromkeys(names, 3)


@pytest.mark.asyncio
async def test_different_connections_or_regions_get_their_own_client(aws_conn, monkeypatch, client_creations):
    from airflow_provider_clarify.triggers._clients import cache_stats, shared_client
    from tests.support.aws import aws_connection_json

    monkeypatch.setenv("AIRFLOW_CONN_OTHER_AWS", aws_connection_json("http://127.0.0.1:9"))
    hooks = [
        ClarifyProcessingJobTrigger(job_name="a").hook(),
        ClarifyProcessingJobTrigger(job_name="b").hook(),
        ClarifyProcessingJobTrigger(job_name="c", region_name="eu-west-1").hook(),
        ClarifyProcessingJobTrigger(job_name="d", aws_conn_id="other_aws").hook(),
    ]
    async with shared_client(hooks[0]) as a, shared_client(hooks[1]) as b:
        async with shared_client(hooks[2]) as c, shared_client(hooks[3]) as d:
            assert a is b
            assert len({id(a), id(c), id(d)}) == 3
            assert cache_stats().open == 3
    assert cache_stats().open == 0
    assert len(client_creations) == 3


@pytest.mark.asyncio
async def test_connection_lookup_runs_outside_the_event_loop_thread(aws_conn, scripted_status, monkeypatch):
    import threading

    from airflow.providers.amazon.aws.hooks.base_aws import AwsGenericHook

    lookups: list[int] = []
    original = AwsGenericHook.get_connection.__func__

    def recording(cls, conn_id):
        lookups.append(threading.get_ident())
        return original(cls, conn_id)

    monkeypatch.setattr(AwsGenericHook, "get_connection", classmethod(recording))
    start_job("trig-thread")
    lookups.clear()
    scripted_status("trig-thread", ["Completed"])
    event = await first_event(ClarifyProcessingJobTrigger(job_name="trig-thread", check_interval=0.05))
    assert event.payload["status"] == "success"
    assert lookups
    assert threading.get_ident() not in lookups


@pytest.mark.asyncio
async def test_first_polls_are_spread_over_one_interval(aws_conn, scripted_status):
    names = [f"trig-spread-{i}" for i in range(40)]
    for name in names:
        start_job(name)
        scripted_status(name, ["Completed"])
    triggers = [ClarifyProcessingJobTrigger(job_name=name, check_interval=0.5) for name in names]
    first_pauses = [record_pauses(t) for t in triggers]
    await asyncio.wait_for(asyncio.gather(*(first_event(t) for t in triggers)), timeout=BOUND)
    firsts = [pauses[0] for pauses in first_pauses]
    assert all(0 <= p <= 0.5 for p in firsts)  # every first poll within one interval
    assert len(set(firsts)) >= 30  # and not all at the same moment
    assert max(firsts) - min(firsts) >= 0.25


@pytest.mark.asyncio
async def test_max_ingestion_time_counts_from_the_jobs_creation_not_the_try(
    aws_conn, scripted_status, sm_backend
):
    """A retry (or a trigger moved to another triggerer) does not restart the ingestion budget."""
    import datetime as dt

    start_job("trig-old")
    scripted_status("trig-old", ["InProgress"])
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    sm_backend.processing_jobs["trig-old"].creation_time = an_hour_ago.isoformat()
    # a fresh trigger (as a new try would create) with a ten-minute budget: the job is past it already
    trigger = ClarifyProcessingJobTrigger(job_name="trig-old", check_interval=0.05, max_ingestion_time=600)
    event = await first_event(trigger)
    assert event.payload["status"] == "timeout"
    assert "max_ingestion_time=600" in event.payload["message"]
    assert scripted_status.calls["trig-old"] == 1  # decided on the first Describe
    assert sm_backend.processing_jobs["trig-old"].processing_job_status == "InProgress"  # left running


@pytest.mark.asyncio
async def test_the_sensors_trigger_counts_its_timeout_from_its_own_start(
    aws_conn, scripted_status, sm_backend
):
    """The sensor watches a job started elsewhere: its ``timeout`` is not shortened by the job's age."""
    import datetime as dt

    start_job("trig-old-sensor")
    scripted_status("trig-old-sensor", ["InProgress", "InProgress", "Completed"])
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    sm_backend.processing_jobs["trig-old-sensor"].creation_time = an_hour_ago.isoformat()
    trigger = ClarifyProcessingJobTrigger(
        job_name="trig-old-sensor",
        check_interval=0.05,
        max_ingestion_time=600,
        stop_job_on_kill=False,
        budget_from_creation=False,
    )
    event = await first_event(trigger)
    assert event.payload["status"] == "success"
    assert scripted_status.calls["trig-old-sensor"] == 3


@pytest.mark.asyncio
async def test_on_kill_finishes_the_stop_although_airflow_cancels_it_again(
    aws_conn, jobs_start_in_progress, sm_backend
):
    """Airflow 3.3 re-sends the cancel of a killed trigger on every triggerer loop until it has finished,
    so on_kill itself gets cancelled while it is still opening a client or calling StopProcessingJob."""
    start_job("trig-kill-again")
    trigger = ClarifyProcessingJobTrigger(job_name="trig-kill-again", check_interval=0.1)
    killing = asyncio.ensure_future(trigger.on_kill())
    await asyncio.sleep(0.01)
    assert not killing.done()
    killing.cancel("__airflow_user_action__")  # what the runner's cancel_triggers() does again
    with pytest.raises(asyncio.CancelledError):
        await killing
    for _ in range(BOUND * 10):  # the stop goes on in the background
        if sm_backend.processing_jobs["trig-kill-again"].processing_job_status == "Stopped":
            break
        await asyncio.sleep(0.1)
    assert sm_backend.processing_jobs["trig-kill-again"].processing_job_status == "Stopped"
