"""ClarifyMonitoringExecutionTrigger: wait in the triggerer for a Model Monitor schedule's execution.

Polls ListMonitoringExecutions for the execution of ``monitor_schedule_name`` scheduled at
``scheduled_time`` (or, without one, the schedule's latest execution: a one-time ``NOW`` schedule has
exactly one) until it is terminal (``Completed``, ``CompletedWithViolations``, ``Failed``,
``Stopped``) or the absolute deadline passes; throttling backs off without counting as a poll. Events:
``done`` (with the execution summary), ``timeout`` and ``error``. The decision (pass, fail, branch) is
made by the sensor in the worker, the same way for poke and deferred mode.

Like :class:`~airflow_provider_clarify.triggers.clarify.ClarifyProcessingJobTrigger` it shares one
aiobotocore client per connection and region with every trigger of the process (:mod:`._clients`) and
spreads its first poll over one interval (:mod:`._polling`).
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
from airflow_provider_clarify.triggers._clients import shared_client, shared_client_config
from airflow_provider_clarify.triggers._kill_work import run_to_completion
from airflow_provider_clarify.triggers._polling import first_poll_delay

TERMINAL_STATES = frozenset({"Completed", "CompletedWithViolations", "Failed", "Stopped"})
DEFAULT_MAX_WAIT_SECONDS = 24 * 3600 + 3600  # a monitoring job runs at most a day
#: How long on_kill may spend stopping the execution.
ON_KILL_TIMEOUT_SECONDS = 30


def list_executions_request(monitor_schedule_name: str, scheduled_time: datetime | None) -> dict[str, Any]:
    """The ListMonitoringExecutions request that finds the execution scheduled at ``scheduled_time``
    (``None``: the schedule's latest executions)."""
    request: dict[str, Any] = {"MonitoringScheduleName": monitor_schedule_name}
    if scheduled_time is not None:
        request["ScheduledTimeBefore"] = scheduled_time.timestamp() + 1
        request["ScheduledTimeAfter"] = scheduled_time.timestamp() - 1
    return {**request, "SortBy": "ScheduledTime", "SortOrder": "Descending", "MaxResults": 10}


def find_execution(response: dict[str, Any], scheduled_time: datetime | None) -> dict[str, Any] | None:
    """The execution summary whose ``ScheduledTime`` equals ``scheduled_time`` (to the second); without
    a time, the latest one listed (the request sorts them newest first)."""
    for summary in response.get("MonitoringExecutionSummaries", []):
        if scheduled_time is None:
            return summary
        when = summary.get("ScheduledTime")
        if isinstance(when, datetime) and abs(when.timestamp() - scheduled_time.timestamp()) < 1:
            return summary
    return None


def plain_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A JSON-serialisable copy (datetimes as ISO text) for trigger events and XCom."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in summary.items()}


class ClarifyMonitoringExecutionTrigger(BaseTrigger):
    """Poll until the execution of ``monitor_schedule_name`` at ``scheduled_time`` (ISO text) ends.

    :param scheduled_time: ISO text; ``None``: the schedule's latest execution (one-time schedules).
    :param check_interval: seconds between polls (> 0).
    :param stop_on_kill: when a user kills the deferred task (Airflow >= 3.3), stop the execution's
        processing job and the schedule (``compute="sagemaker"`` executions of the operator; the sensor
        watches schedules it does not own and leaves this off).
    :param end_time: absolute deadline (Unix seconds), serialized so a triggerer restart keeps it;
        default now + ``timeout`` (or a day and an hour).
    """

    def __init__(
        self,
        monitor_schedule_name: str,
        scheduled_time: str | None,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict | None = None,
        check_interval: float = 60,
        timeout: float | None = None,
        max_throttle_delay: float = 300,
        end_time: float | None = None,
        stop_on_kill: bool = False,
    ) -> None:
        super().__init__()
        self.stop_on_kill = stop_on_kill
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
                "stop_on_kill": self.stop_on_kill,
            },
        )

    def hook(self) -> ClarifyHook:
        """The hook whose (shared) client the trigger uses; its pool serves many triggers at once."""
        return ClarifyHook(
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            verify=self.verify,
            config=shared_client_config(self.botocore_config),
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            payload = await self._poll_until_done()
        except ClientError as error:
            payload = {"status": "error", "message": f"Could not list monitoring executions: {error}"}
        yield TriggerEvent(payload)

    async def _poll_until_done(self) -> dict[str, Any]:
        moment = datetime.fromisoformat(self.scheduled_time) if self.scheduled_time else None
        request = list_executions_request(self.monitor_schedule_name, moment)
        throttles = 0
        last: dict[str, Any] | None = None
        if self.stop_on_kill:
            from airflow_provider_clarify.operators._kill import prime_state_lookup

            prime_state_lookup(getattr(self, "task_instance", None))
        # Spread the first polls of triggers created together over one interval (deterministically).
        first_poll_at = time.time() + first_poll_delay(
            f"{self.monitor_schedule_name}@{self.scheduled_time or ''}",
            self.check_interval,
            self.end_time - time.time(),
        )
        async with shared_client(self.hook()) as client:
            await self._pause(max(0.0, first_poll_at - time.time()))
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
                        self.scheduled_time or "its latest run",
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

    async def on_kill(self) -> None:
        """With ``stop_on_kill``: a user's kill of the deferred task stops the execution and its schedule.

        A trigger that merely moved to another triggerer leaves both running (the task instance is still
        ``deferred``; :mod:`airflow_provider_clarify.operators._kill`). The work is shielded, as in
        :class:`~airflow_provider_clarify.triggers.clarify.ClarifyProcessingJobTrigger`.
        """
        if not self.stop_on_kill:
            return
        await run_to_completion(self._stop_if_really_killed())

    async def _stop_if_really_killed(self) -> None:
        from airflow_provider_clarify.operators._kill import deferred_kill_cause

        cause = await deferred_kill_cause(getattr(self, "task_instance", None), self.log)
        if not cause.stops_job:
            self.log.info(
                "Trigger cancelled (%s): leaving %s running", cause.value, self.monitor_schedule_name
            )
            return
        moment = datetime.fromisoformat(self.scheduled_time) if self.scheduled_time else None
        hook = self.hook()
        async with shared_client(hook) as client:
            await asyncio.wait_for(
                stop_execution_async(hook, client, self.monitor_schedule_name, moment, self.log),
                timeout=ON_KILL_TIMEOUT_SECONDS,
            )


def processing_job_name(arn: str) -> str:
    """The processing job's name at the end of its ARN (``...:processing-job/<name>``)."""
    return arn.rsplit("/", 1)[-1]


async def stop_execution_async(
    hook: ClarifyHook, client: Any, schedule: str, moment: datetime | None, log: Any
) -> None:
    """Stop the schedule (no further execution starts) and its running execution's processing job."""
    response = await client.list_monitoring_executions(**list_executions_request(schedule, moment))
    summary = find_execution(response, moment) or {}
    arn = summary.get("ProcessingJobArn")
    if arn and summary.get("MonitoringExecutionStatus") not in TERMINAL_STATES:
        await hook.stop_processing_job_async(processing_job_name(arn), client=client)
        log.info("Task killed: stopped processing job %s of %s", arn, schedule)
    try:
        await client.stop_monitoring_schedule(MonitoringScheduleName=schedule)
    except ClientError as error:  # already stopped or gone: nothing left to stop
        log.info("Could not stop monitoring schedule %s: %s", schedule, error)
