"""ClarifyMonitoringExecutionTrigger against AioStubber (real service model; moto has no executions)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from aiobotocore.stub import AioStubber

from airflow_provider_clarify.hooks.clarify import ClarifyHook
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

        @asynccontextmanager
        async def reuse():
            yield client

        async def get_async_conn(self):
            return reuse()

        monkeypatch.setattr(ClarifyHook, "get_async_conn", get_async_conn)
        events = [event async for event in trigger.run()]
        stub.assert_no_pending_responses()
    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == "done"
    assert payload["execution"]["MonitoringExecutionStatus"] == "CompletedWithViolations"
    assert payload["execution"]["ScheduledTime"] == SCHEDULED.isoformat()
    assert len(pauses) == 2  # after Pending, after the throttled call (not counted as a poll)


def test_trigger_serializes_its_absolute_deadline():
    trigger = ClarifyMonitoringExecutionTrigger("credit-bias", SCHEDULED.isoformat(), timeout=600)
    path, kwargs = trigger.serialize()
    again = ClarifyMonitoringExecutionTrigger(**kwargs)
    assert path.endswith("ClarifyMonitoringExecutionTrigger")
    assert again.end_time == trigger.end_time
