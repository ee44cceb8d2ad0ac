"""ClarifyProcessingJobTrigger: wait for a Clarify processing job in the triggerer, not in a worker slot.

A polling loop rather than the amazon ``AwsBaseWaiterTrigger``, because it must:

* tell ``Failed`` from ``Stopped`` and carry the job's ``FailureReason`` in the event;
* back off exponentially (with a cap) while DescribeProcessingJob is throttled beyond botocore's own
  retries, without counting those calls as polls (``tenacity``);
* honour a total deadline taken from ``max_ingestion_time`` (Clarify SHAP jobs run for hours; there is
  no hidden 30-minute cap). The deadline is absolute and serialized, so a triggerer restart does not
  extend it, and it counts from the job's ``CreationTime``, so a retry does not restart it either;
* stay cheap when a triggerer holds a thousand of them: every trigger of a process shares one open
  aiobotocore client per connection and region, created outside the event loop (:mod:`._clients`);
  the first poll of each trigger falls at a point of its first interval taken from the job name
  (:mod:`._polling`: triggers created together do not poll together, and every first poll comes
  within one interval); a poll is one Describe call (the retry machinery is built only once a call
  was throttled), and the log gets a line when the status changes, not on every poll;
* stop the job only when a user really killed the task, not when the trigger moved to another
  triggerer (:mod:`airflow_provider_clarify.operators._kill`).

Events: ``success`` (with ``analysis_result_uri``), ``failed`` (``job_status`` Failed or
Stopped, ``failure_reason``), ``timeout`` and ``error``. The loop returns right after yielding, treats
``Stopped`` as terminal, is bounded, and never swallows ``asyncio.CancelledError``.
See docs/hooks-sensors-triggers.md for the event contract.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent
from botocore.exceptions import ClientError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential

from airflow_provider_clarify.analysis.processing_job import (
    MAX_CLARIFY_RUNTIME_SECONDS,
    result_uri_from_description,
)
from airflow_provider_clarify.hooks.clarify import (
    FAILED_STATES,
    ClarifyHook,
    ingestion_deadline,
    is_throttling_error,
    job_failure_message,
)
from airflow_provider_clarify.triggers._clients import shared_client, shared_client_config
from airflow_provider_clarify.triggers._kill_work import run_to_completion
from airflow_provider_clarify.triggers._polling import first_poll_delay

#: Without max_ingestion_time or max_attempts the wait is still bounded: a Clarify job cannot run longer
#: than 7 days, plus an hour for SageMaker to report the end.
DEFAULT_MAX_WAIT_SECONDS = MAX_CLARIFY_RUNTIME_SECONDS + 3600
#: While the status does not change, the log gets a line every this many polls (and on every change).
STATUS_LOG_EVERY = 30
#: How long on_kill may spend stopping the job.
ON_KILL_TIMEOUT_SECONDS = 30


class ClarifyProcessingJobTrigger(BaseTrigger):
    """Poll DescribeProcessingJob every ``check_interval`` seconds until the job ends or time runs out.

    :param job_name: the processing job to watch.
    :param analysis_result_uri: URI to hand back on success; when ``None`` it is read from the job's
        ``analysis_result`` output.
    :param aws_conn_id: Airflow AWS connection id.
    :param region_name: AWS region (defaults to the connection's).
    :param verify: SSL verification for boto3/aiobotocore.
    :param botocore_config: botocore client configuration dict.
    :param check_interval: seconds between polls (> 0).
    :param max_ingestion_time: total seconds to wait before a ``timeout`` event; the job keeps running.
    :param max_attempts: optional cap on the number of successful polls before a ``timeout`` event.
    :param max_throttle_delay: cap in seconds of the exponential back-off after throttling.
    :param stop_job_on_kill: stop the job when a user kills the deferred task (Airflow >= 3.3).
    :param budget_from_creation: count ``max_ingestion_time`` from the job's ``CreationTime`` (the
        operators: one budget per task instance across retries), not only from this trigger's creation
        (the sensor, which watches a job started elsewhere, turns it off).
    :param end_time: absolute deadline (Unix seconds); computed from ``max_ingestion_time`` when not
        given and serialized so a re-created trigger keeps the same deadline.
    :param waiter_delay: alias of ``check_interval`` (amazon provider vocabulary).
    :param waiter_max_attempts: alias of ``max_attempts`` (amazon provider vocabulary).
    """

    def __init__(
        self,
        job_name: str,
        analysis_result_uri: str | None = None,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict | None = None,
        check_interval: float = 30,
        max_ingestion_time: float | None = None,
        max_attempts: int | None = None,
        max_throttle_delay: float = 300,
        stop_job_on_kill: bool = True,
        end_time: float | None = None,
        budget_from_creation: bool = True,
        waiter_delay: float | None = None,
        waiter_max_attempts: int | None = None,
    ) -> None:
        super().__init__()
        if waiter_delay is not None:
            check_interval = waiter_delay
        if waiter_max_attempts is not None:
            max_attempts = waiter_max_attempts
        if not check_interval or check_interval <= 0:
            raise ValueError(f"check_interval must be a positive number of seconds, got {check_interval!r}")
        if max_attempts is not None and max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1 when given, got {max_attempts!r}")
        self.job_name = job_name
        self.analysis_result_uri = analysis_result_uri
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = botocore_config
        self.check_interval = check_interval
        self.max_ingestion_time = max_ingestion_time
        self.max_attempts = max_attempts
        self.max_throttle_delay = max_throttle_delay
        self.stop_job_on_kill = stop_job_on_kill
        self.budget_from_creation = budget_from_creation
        if end_time is None:
            wait = max_ingestion_time if max_ingestion_time is not None else DEFAULT_MAX_WAIT_SECONDS
            end_time = time.time() + wait
        self.end_time = end_time

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{self.__class__.__module__}.{self.__class__.__qualname__}",
            {
                "job_name": self.job_name,
                "analysis_result_uri": self.analysis_result_uri,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "verify": self.verify,
                "botocore_config": self.botocore_config,
                "check_interval": self.check_interval,
                "max_ingestion_time": self.max_ingestion_time,
                "max_attempts": self.max_attempts,
                "max_throttle_delay": self.max_throttle_delay,
                "stop_job_on_kill": self.stop_job_on_kill,
                "end_time": self.end_time,
                "budget_from_creation": self.budget_from_creation,
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

    def _timeout_payload(self, last_status: str | None, polls: int) -> dict[str, Any]:
        limit = (
            f"max_attempts={self.max_attempts}"
            if self.max_attempts is not None and polls >= self.max_attempts
            else f"max_ingestion_time={self.max_ingestion_time} s"
            if self.max_ingestion_time is not None
            else f"the {DEFAULT_MAX_WAIT_SECONDS} s Clarify maximum"
        )
        return {
            "status": "timeout",
            "job_name": self.job_name,
            "job_status": last_status,
            "message": f"Clarify job {self.job_name} still {last_status or 'unknown'} after {limit}; "
            "the job was left running",
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # The event is yielded after this trigger released the shared client, so nothing is held
        # while Airflow handles it (and an abandoned generator has nothing to clean up).
        try:
            payload = await self._poll_until_done()
        except ClientError as error:
            payload = {
                "status": "error",
                "job_name": self.job_name,
                "message": f"Could not describe Clarify job {self.job_name}: {error}",
            }
        yield TriggerEvent(payload)

    async def _poll_until_done(self) -> dict[str, Any]:
        """Poll until a terminal status or a limit; return the event payload."""
        polls = 0
        last_status: str | None = None
        if self.stop_job_on_kill:
            from airflow_provider_clarify.operators._kill import prime_state_lookup

            prime_state_lookup(self.task_instance)
        # Spread the first polls of triggers created together over one interval (deterministically),
        # counted from this trigger's start: the shared client opens (off the loop) during that wait.
        first_poll_at = time.time() + first_poll_delay(
            self.job_name, self.check_interval, self.end_time - time.time()
        )
        async with shared_client(self.hook()) as client:
            await self._pause(max(0.0, first_poll_at - time.time()))
            while True:
                try:
                    description = await self._describe(client)
                except ClientError as error:
                    if not is_throttling_error(error):
                        raise
                    return self._timeout_payload(last_status, polls)  # throttled until the deadline
                polls += 1
                status_changed = description["ProcessingJobStatus"] != last_status
                last_status = description["ProcessingJobStatus"]
                if last_status == "Completed":
                    uri = self.analysis_result_uri or result_uri_from_description(description)
                    return {"status": "success", "job_name": self.job_name, "analysis_result_uri": uri}
                if last_status in FAILED_STATES:
                    reason = description.get("FailureReason")
                    return {
                        "status": "failed",
                        "job_name": self.job_name,
                        "job_status": last_status,
                        "failure_reason": reason,
                        "message": job_failure_message(self.job_name, last_status, reason),
                    }
                if status_changed or polls % STATUS_LOG_EVERY == 0:
                    self.log.info("Clarify job %s is %s (poll %s)", self.job_name, last_status, polls)
                if self.max_attempts is not None and polls >= self.max_attempts:
                    return self._timeout_payload(last_status, polls)
                job_deadline = ingestion_deadline(description, self.max_ingestion_time)
                if self.budget_from_creation and job_deadline is not None and job_deadline < self.end_time:
                    self.end_time = job_deadline  # the budget started with the job, not this try
                remaining = self.end_time - time.time()
                if remaining <= 0:
                    return self._timeout_payload(last_status, polls)
                await self._pause(min(self.check_interval, remaining))

    async def _describe(self, client: Any) -> dict:
        """DescribeProcessingJob; while throttled (after botocore's own retries), back off exponentially
        from ``check_interval`` up to ``max_throttle_delay`` until the deadline.

        A poll is one call; the retry machinery (tenacity, about 0.15 ms a call) is only set up once a
        call came back throttled, which is rare, rather than around each of the thousands of polls.
        """
        try:
            return await client.describe_processing_job(ProcessingJobName=self.job_name)
        except ClientError as error:
            if not is_throttling_error(error):
                raise
            return await self._describe_after_throttle(client, error)

    async def _describe_after_throttle(self, client: Any, throttled: ClientError) -> dict:
        """The back-off of :meth:`_describe`, starting from the throttled answer already received."""

        def past_deadline(state: RetryCallState) -> bool:
            return time.time() + (state.upcoming_sleep or 0) >= self.end_time

        def log_throttle(state: RetryCallState) -> None:
            self.log.warning(
                "DescribeProcessingJob throttled (%s in a row); retrying in %.1f s",
                state.attempt_number,
                state.upcoming_sleep,
            )

        retrying = AsyncRetrying(
            retry=retry_if_exception(is_throttling_error),
            wait=wait_exponential(multiplier=self.check_interval, max=self.max_throttle_delay),
            stop=past_deadline,
            sleep=self._pause,
            before_sleep=log_throttle,
            reraise=True,
        )

        pending = [throttled]  # tenacity's first attempt is the call that was already throttled

        async def describe() -> dict:
            if pending:
                raise pending.pop()
            return await client.describe_processing_job(ProcessingJobName=self.job_name)

        return await retrying(describe)

    async def _pause(self, seconds: float) -> None:
        """Sleep between polls (one place, so tests can observe the back-off)."""
        await asyncio.sleep(seconds)

    async def on_kill(self) -> None:
        """Stop the job when a user marks the deferred task failed/success or clears it (Airflow 3.3+).

        Airflow also calls this when the trigger merely moved to another triggerer; then the task
        instance is still ``deferred`` and the job is left to the trigger's new home. Not called on
        triggerer shutdown or timeouts; older Airflow versions never call it.

        The work runs in a task of its own, shielded: Airflow 3.3 cancels a killed trigger again on
        every loop of the triggerer (about once a second) until it has finished, which would otherwise
        interrupt the state lookup or the StopProcessingJob call half-way.
        """
        if not self.stop_job_on_kill:
            return
        await run_to_completion(self._stop_if_really_killed())

    async def _stop_if_really_killed(self) -> None:
        from airflow_provider_clarify.operators._kill import deferred_kill_cause

        cause = await deferred_kill_cause(self.task_instance, self.log)
        if not cause.stops_job:
            self.log.info(
                "Trigger cancelled (%s): leaving Clarify job %s running", cause.value, self.job_name
            )
            return
        self.log.info("Task killed while deferred (%s): stopping Clarify job %s", cause.value, self.job_name)
        hook = self.hook()
        async with shared_client(hook) as client:
            await asyncio.wait_for(
                hook.stop_processing_job_async(self.job_name, client=client), timeout=ON_KILL_TIMEOUT_SECONDS
            )
        self.log.info("Requested the stop of Clarify job %s", self.job_name)
