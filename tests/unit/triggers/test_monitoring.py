"""ClarifyMonitoringExecutionTrigger against AioStubber (real service model; moto has no executions)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from aiobotocore.stub import AioStubber

from airflow_provider_clarify.hooks.clarify import ClarifyHook
from airflow_provider_clarify.triggers._polling import SPREAD_FRACTION
from airflow_provider_clarify.triggers.monitoring import (
    ClarifyMonitoringExecutionTrigger,
    list_executions_request,
)

SCHEDULED = datetime(2024, 5, 1, 13, tzinfo=UTC)


def summary(status: str) -> dict:
    return {
        "MonitoringScheduleName": "credit-bias",
        "ScheduledTime": SCHEDULED,
        "CreationTime": SCHEDULED,
        "LastModifiedTime": SCHEDULED,
        "MonitoringExecutionStatus": status,
    }


def listed(*summaries) -> dict:
    return {"MonitoringExecutionSummaries": list(summaries)}


def serve(monkeypatch, client) -> None:
    """Make the trigger's (shared) client the stubbed ``client``."""

    @asynccontextmanager
    async def reuse():
        yield client

    async def get_async_conn(self):
        return reuse()

    monkeypatch.setattr(ClarifyHook, "get_async_conn", get_async_conn)


def expected_list() -> dict:
    return list_executions_request("credit-bias", SCHEDULED)


@pytest.mark.asyncio
async def test_trigger_polls_until_terminal_and_yields_the_summary(aws_conn, monkeypatch):
    trigger = ClarifyMonitoringExecutionTrigger("credit-bias", SCHEDULED.isoformat(), check_interval=5)
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(trigger, "_pause", pause)
    hook = ClarifyHook(aws_conn_id="aws_default")
    async with await hook.get_async_conn() as client:
        stub = AioStubber(client)
        stub.add_response("list_monitoring_executions", listed(summary("Pending")), expected_list())
        stub.add_client_error("list_monitoring_executions", service_error_code="ThrottlingException")
        stub.add_response(
            "list_monitoring_executions", listed(summary("CompletedWithViolations")), expected_list()
        )
        stub.activate()
        serve(monkeypatch, client)
        events = [event async for event in trigger.run()]
        stub.assert_no_pending_responses()
    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == "done"
    assert payload["execution"]["MonitoringExecutionStatus"] == "CompletedWithViolations"
    assert payload["execution"]["ScheduledTime"] == SCHEDULED.isoformat()
    # the first poll's spread (within the interval), after Pending, after the throttled call (not a poll)
    assert len(pauses) == 3
    assert 0 <= pauses[0] <= 5 * SPREAD_FRACTION


def test_trigger_serializes_its_absolute_deadline():
    trigger = ClarifyMonitoringExecutionTrigger("credit-bias", SCHEDULED.isoformat(), timeout=600)
    path, kwargs = trigger.serialize()
    again = ClarifyMonitoringExecutionTrigger(**kwargs)
    assert path.endswith("ClarifyMonitoringExecutionTrigger")
    assert again.end_time == trigger.end_time


@pytest.mark.asyncio
async def test_without_a_time_the_trigger_waits_for_the_schedules_latest_execution(aws_conn, monkeypatch):
    """One-time (NOW) schedules: the execution's time is not known in advance; the latest one is taken."""
    trigger = ClarifyMonitoringExecutionTrigger("one-time", None, check_interval=5)
    latest = {"MonitoringScheduleName": "one-time", "SortBy": "ScheduledTime", "SortOrder": "Descending",
              "MaxResults": 10}  # fmt: skip
    assert list_executions_request("one-time", None) == latest

    async def pause(seconds: float) -> None:
        pass

    monkeypatch.setattr(trigger, "_pause", pause)
    hook = ClarifyHook(aws_conn_id="aws_default")
    async with await hook.get_async_conn() as client:
        stub = AioStubber(client)
        stub.add_response("list_monitoring_executions", listed(), latest)
        done = {**summary("Completed"), "MonitoringScheduleName": "one-time"}
        stub.add_response("list_monitoring_executions", listed(done), latest)
        stub.activate()
        serve(monkeypatch, client)
        events = [event async for event in trigger.run()]
        stub.assert_no_pending_responses()
    assert events[0].payload["execution"]["MonitoringExecutionStatus"] == "Completed"


@pytest.mark.asyncio
async def test_a_users_kill_of_the_deferred_task_stops_the_execution_and_the_schedule(aws_conn, monkeypatch):
    trigger = ClarifyMonitoringExecutionTrigger("one-time", None, stop_on_kill=True)
    latest = list_executions_request("one-time", None)
    arn = "arn:aws:sagemaker:us-east-1:123456789012:processing-job/model-bias-monitoring-1"
    hook = ClarifyHook(aws_conn_id="aws_default")
    async with await hook.get_async_conn() as client:
        stub = AioStubber(client)
        running = {**summary("InProgress"), "MonitoringScheduleName": "one-time", "ProcessingJobArn": arn}
        stub.add_response("list_monitoring_executions", listed(running), latest)
        stub.add_response("stop_processing_job", {}, {"ProcessingJobName": "model-bias-monitoring-1"})
        stub.add_response("stop_monitoring_schedule", {}, {"MonitoringScheduleName": "one-time"})
        stub.activate()
        serve(monkeypatch, client)
        await trigger.on_kill()  # outside a triggerer: an explicit kill
        stub.assert_no_pending_responses()
