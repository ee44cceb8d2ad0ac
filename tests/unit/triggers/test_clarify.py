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
    # the budget counted from this trigger's start (the job's creation is tested below), as the sensor does
    trigger = ClarifyProcessingJobTrigger(
        job_name="trig-slow", check_interval=0.2, max_ingestion_time=0.7, budget_from_creation=False
    )
    pauses = record_pauses(trigger)
    event = await first_event(trigger)
    assert event.payload["status"] == "timeout"
    assert event.payload["job_name"] == "trig-slow"
    assert "max_ingestion_time=0.7" in event.payload["message"]
    # the polls (and the pauses between them) fit in the 0.7 s budget: a first pause within one
    # interval, then whole intervals, the last one cut to the deadline (how many fit depends on the
    # machine's load, so only the bounds are checked)
    assert 1 <= scripted_status.calls["trig-slow"] <= 5
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


def test_first_poll_delays_lie_within_the_interval_and_are_spread():
    from collections import Counter

    from airflow_provider_clarify.operators._job_lifecycle import clarify_job_name
    from airflow_provider_clarify.triggers._polling import SPREAD_FRACTION, first_poll_delay

    # the names a thousand deferred tasks of one DAG get (one per run)
    names = [
        clarify_job_name("Clarify-Bias", dag_id="audit", task_id="bias", run_id=f"scheduled__2026-01-{i:04d}")
        for i in range(1000)
    ]
    window = 10 * SPREAD_FRACTION
    delays = [first_poll_delay(name, 10) for name in names]
    assert all(0 <= d < window for d in delays)  # every first poll within one interval, with a margin
    # spread: each tenth of the window holds about a tenth of the first polls (binomial 100 +- 9.5)
    per_tenth = Counter(int(d / window * 10) for d in delays)
    assert sorted(per_tenth) == list(range(10))
    assert all(60 <= n <= 140 for n in per_tenth.values()), per_tenth
    # deterministic: the same job waits the same after a triggerer restart or move
    assert [first_poll_delay(name, 10) for name in names] == delays
    # and never past the deadline
    assert all(first_poll_delay(name, 10, remaining=0.5) <= 0.5 for name in names)
    assert first_poll_delay(names[0], 10, remaining=-3) == 0


@pytest.mark.asyncio
async def test_each_trigger_first_waits_its_own_spread_delay(aws_conn, scripted_status):
    from airflow_provider_clarify.triggers._clients import shared_client
    from airflow_provider_clarify.triggers._polling import first_poll_delay

    names = [f"trig-spread-{i}" for i in range(4)]
    for name in names:
        start_job(name)
        scripted_status(name, ["Completed"])
    triggers = [ClarifyProcessingJobTrigger(job_name=name, check_interval=0.5) for name in names]
    pauses = [record_pauses(t) for t in triggers]
    async with shared_client(triggers[0].hook()):  # opened already, so the pauses are not cut short
        await asyncio.wait_for(asyncio.gather(*(first_event(t) for t in triggers)), timeout=BOUND)
    # the pause is the job's own delay, less the time the shared client took to open meanwhile
    delays = [first_poll_delay(name, 0.5) for name in names]
    assert all(0 <= p[0] <= delay + 0.001 for p, delay in zip(pauses, delays, strict=True))
    assert len({p[0] for p in pauses}) == 4


@pytest.mark.asyncio
async def test_the_client_is_created_outside_the_event_loop_thread(aws_conn, scripted_status, monkeypatch):
    """aiobotocore's client creation (service model, endpoint rules: 0.3-0.6 s) never runs in the loop."""
    import threading

    from aiobotocore.session import AioSession

    creations: list[int] = []
    original = AioSession._create_client

    async def recording(self, *args, **kwargs):
        creations.append(threading.get_ident())
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(AioSession, "_create_client", recording)
    start_job("trig-create")
    scripted_status("trig-create", ["InProgress", "Completed"])
    event = await first_event(ClarifyProcessingJobTrigger(job_name="trig-create", check_interval=0.05))
    assert event.payload["status"] == "success"  # the client made in another thread's loop works here
    assert len(creations) == 1
    assert creations[0] != threading.get_ident()


@pytest.mark.asyncio
async def test_assumed_role_credentials_are_refreshed_outside_the_event_loop_thread(
    moto_endpoint, scripted_status, monkeypatch
):
    """The amazon provider refreshes assumed-role credentials with a synchronous STS call."""
    import json
    import threading

    from airflow.providers.amazon.aws.hooks.base_aws import BaseSessionFactory

    from tests.support.aws import REGION

    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {
                    "endpoint_url": moto_endpoint,
                    "region_name": REGION,
                    "role_arn": "arn:aws:iam::123456789012:role/Triggerer",
                    # credentials of 15 minutes are due for botocore's advisory refresh at once
                    "assume_role_kwargs": {"DurationSeconds": 900},
                    "service_config": {"sts": {"endpoint_url": moto_endpoint}},
                },
            }
        ),
    )
    refreshes: list[int] = []
    original = BaseSessionFactory._refresh_credentials

    def recording(self):
        refreshes.append(threading.get_ident())
        return original(self)

    monkeypatch.setattr(BaseSessionFactory, "_refresh_credentials", recording)
    start_job("trig-role")
    scripted_status("trig-role", ["InProgress", "InProgress", "Completed"])
    refreshes.clear()
    event = await first_event(ClarifyProcessingJobTrigger(job_name="trig-role", check_interval=0.05))
    assert event.payload["status"] == "success"
    assert len(refreshes) >= 2  # the first credentials, then refreshes while polling
    assert threading.get_ident() not in refreshes


@pytest.mark.asyncio
async def test_the_status_is_logged_when_it_changes_not_on_every_poll(aws_conn, scripted_status):
    import logging

    start_job("trig-log")
    scripted_status("trig-log", ["InProgress"] * 6 + ["Stopping", "Stopping", "Stopped"])
    trigger = ClarifyProcessingJobTrigger(job_name="trig-log", check_interval=0.02)
    records: list[logging.LogRecord] = []
    trigger._log = logging.getLogger("tests.trigger-log")  # a plain logger whose records we keep
    trigger._log.setLevel(logging.INFO)
    trigger._log.addHandler(type("Keep", (logging.Handler,), {"emit": lambda self, r: records.append(r)})())
    event = await first_event(trigger)
    assert event.payload["job_status"] == "Stopped"
    lines = [r.getMessage() for r in records if r.getMessage().startswith("Clarify job trig-log is")]
    assert lines == [
        "Clarify job trig-log is InProgress (poll 1)",
        "Clarify job trig-log is Stopping (poll 7)",
    ]


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


@pytest.mark.asyncio
async def test_the_shared_client_has_a_pool_for_many_triggers_unless_configured(aws_conn):
    from airflow_provider_clarify.hooks.clarify import DEFAULT_RETRIES
    from airflow_provider_clarify.triggers._clients import SHARED_MAX_POOL_CONNECTIONS, shared_client

    async with shared_client(ClarifyProcessingJobTrigger(job_name="pool").hook()) as client:
        assert client.meta.config.max_pool_connections == SHARED_MAX_POOL_CONNECTIONS > 10
        assert client.meta.config.retries["total_max_attempts"] == DEFAULT_RETRIES["total_max_attempts"]
    configured = ClarifyProcessingJobTrigger(job_name="pool", botocore_config={"max_pool_connections": 7})
    async with shared_client(configured.hook()) as client:
        assert client.meta.config.max_pool_connections == 7
    assert configured.serialize()[1]["botocore_config"] == {"max_pool_connections": 7}  # as given
