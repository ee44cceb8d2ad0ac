"""ClarifyMonitoringExecutionTrigger: wait in the triggerer for a Model Monitor schedule's execution.

Polls ListMonitoringExecutions for the execution of ``monitor_schedule_name`` scheduled at
``scheduled_time`` until it is terminal (``Completed``, ``CompletedWithViolations``, ``Failed``,
``Stopped``) or the absolute deadline passes; throttling backs off without counting as a poll. Events:
``done`` (with the execution summary), ``timeout`` and ``error``. The decision (pass, fail, branch) is
made by the sensor in the worker, the same way for poke and deferred mode.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent
from botocore.exceptions import ClientError

from airflow_provider_clarify.hooks.clarify import ClarifyHook, is_throttling_error, throttle_delay

TERMINAL_STATES = frozenset({"Completed", "CompletedWithViolations", "Failed", "Stopped"})
DEFAULT_MAX_WAIT_SECONDS = 24 * 3600 + 3600  # a monitoring job runs at most a day


def list_executions_request(monitor_schedule_name: str, scheduled_time: datetime) -> dict[str, Any]:
    """The ListMonitoringExecutions request that finds the execution scheduled at ``scheduled_time``."""
    return {
        "MonitoringScheduleName": monitor_schedule_name,
        "ScheduledTimeBefore": scheduled_time.timestamp() + 1,
        "ScheduledTimeAfter": scheduled_time.timestamp() - 1,
        "SortBy": "ScheduledTime",
        "SortOrder": "Descending",
        "MaxResults": 10,
    }


def find_execution(response: dict[str, Any], scheduled_time: datetime) -> dict[str, Any] | None:
    """The execution summary whose ``ScheduledTime`` equals ``scheduled_time`` (to the second)."""
    for summary in response.get("MonitoringExecutionSummaries", []):
        when = summary.get("ScheduledTime")
        if isinstance(when, datetime) and abs(when.timestamp() - scheduled_time.timestamp()) < 1:
            return summary
    return None


def plain_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A JSON-serialisable copy (datetimes as ISO text) for trigger events and XCom."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in summary.items()}


class ClarifyMonitoringExecutionTrigger(BaseTrigger):
    """Poll until the execution of ``monitor_schedule_name`` at ``scheduled_time`` (ISO text) ends.

    :param check_interval: seconds between polls (> 0).
    :param end_time: absolute deadline (Unix seconds), serialized so a triggerer restart keeps it;
        default now + ``timeout`` (or a day and an hour).
    """

    def __init__(
        self,
        monitor_schedule_name: str,
        scheduled_time: str,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict | None = None,
        check_interval: float = 60,
        timeout: float | None = None,
        max_throttle_delay: float = 300,
        end_time: float | None = None,
    ) -> None:
        super().__init__()
        if not check_interval or check_interval <= 0:
            raise ValueError(f"check_interval must be a positive number of seconds, got {check_interval!r}")
        self.monitor_schedule_name = monitor_schedule_name
        self.scheduled_time = scheduled_time
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = botocore_config
        self.check_interval = check_interval
        self.timeout = timeout
        self.max_throttle_delay = max_throttle_delay
        self.end_time = (
            end_time if end_time is not None else time.time() + (timeout or DEFAULT_MAX_WAIT_SECONDS)
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{self.__class__.__module__}.{self.__class__.__qualname__}",
            {
                "monitor_schedule_name": self.monitor_schedule_name,
                "scheduled_time": self.scheduled_time,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "verify": self.verify,
                "botocore_config": self.botocore_config,
                "check_interval": self.check_interval,
                "timeout": self.timeout,
                "max_throttle_delay": self.max_throttle_delay,
                "end_time": self.end_time,
            },
        )

    def hook(self) -> ClarifyHook:
        return ClarifyHook(
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            verify=self.verify,
            config=self.botocore_config,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            payload = await self._poll_until_done()
        except ClientError as error:
            payload = {"status": "error", "message": f"Could not list monitoring executions: {error}"}
        yield TriggerEvent(payload)

    async def _poll_until_done(self) -> dict[str, Any]:
        moment = datetime.fromisoformat(self.scheduled_time)
        request = list_executions_request(self.monitor_schedule_name, moment)
        throttles = 0
        last: dict[str, Any] | None = None
        hook = self.hook()
        async with await hook.get_async_conn() as client:
            while True:
                try:
                    response = await client.list_monitoring_executions(**request)
                except ClientError as error:
                    if not is_throttling_error(error):
                        raise
                    throttles += 1
                    delay = throttle_delay(self.check_interval, throttles, self.max_throttle_delay)
                else:
                    throttles = 0
                    delay = self.check_interval
                    last = find_execution(response, moment)
                    if last is not None and last.get("MonitoringExecutionStatus") in TERMINAL_STATES:
                        return {"status": "done", "execution": plain_summary(last)}
                    self.log.info(
                        "Execution of %s at %s: %s",
                        self.monitor_schedule_name,
                        self.scheduled_time,
                        (last or {}).get("MonitoringExecutionStatus", "not started yet"),
                    )
                remaining = self.end_time - time.time()
                if remaining <= 0:
                    return {
                        "status": "timeout",
                        "message": f"The execution of {self.monitor_schedule_name} scheduled at {self.scheduled_time} "
                        f"is still {(last or {}).get('MonitoringExecutionStatus', 'not started')} at the deadline "
                        "(executions may start up to 20 minutes late).",
                    }
                await self._pause(min(delay, remaining))

    async def _pause(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
