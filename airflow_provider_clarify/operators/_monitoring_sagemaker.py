"""``compute="sagemaker"`` for one monitoring execution: a one-time Model Monitor schedule per task instance.

The life of the execution follows the Clarify operators' (``operators/_job_lifecycle.py``):

* **Names.** The job definition and the schedule are named
  :func:`~airflow_provider_clarify.operators._job_lifecycle.clarify_job_name` of the task instance
  (never the try number), fresh attempts ``<name>-2``, ``<name>-3``, ...
  (:func:`~airflow_provider_clarify.operators._job_lifecycle.attempt_name`).
* **Re-attaching.** A retry finds the schedule its earlier try created and adopts it when its job
  definition is this task's and its execution has not failed (:func:`resolve_schedule`).
* **Waiting.** In the worker (:func:`wait_in_worker`) or deferred to
  :class:`~airflow_provider_clarify.triggers.monitoring.ClarifyMonitoringExecutionTrigger`; a kill stops
  the execution's processing job and the schedule only on a user's kill or ``execution_timeout``
  (:mod:`airflow_provider_clarify.operators._kill`).
* **Results.** :func:`execution_summary` reads the execution's processing job output (the
  ``analysis.json`` and ``constraint_violations.json`` Model Monitor wrote) into the same summary
  ``compute="local"`` returns, so XCom and the task's outcome are the same on both paths.

Imported only when ``compute="sagemaker"`` runs; no numeric library.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_clarify.analysis.monitoring.one_time import OneTimeExecution
from airflow_provider_clarify.hooks.clarify import is_throttling_error, throttle_delay
from airflow_provider_clarify.operators._job_lifecycle import MAX_ATTEMPTS, attempt_name
from airflow_provider_clarify.triggers.monitoring import (
    TERMINAL_STATES,
    find_execution,
    list_executions_request,
    plain_summary,
    processing_job_name,
)

ANALYSIS_FILE = "analysis.json"
VIOLATIONS_FILE = "constraint_violations.json"
#: Longest pause between polls while ListMonitoringExecutions is being throttled.
MAX_THROTTLE_DELAY_SECONDS = 300
_IGNORED_IN_COMPARISON = {"JobDefinitionArn", "CreationTime", "Tags", "ResponseMetadata"}


def utc_now() -> datetime:
    """The time the one-time schedule's offsets count back from (a function, so tests can fix it)."""
    return datetime.now(UTC)


class ClarifyMonitoringWaitTimeout(AirflowException):
    """The execution did not end within ``max_wait_seconds``; it was stopped (a retry starts afresh)."""


def snake(kind: str) -> str:
    """``model_bias`` / ``model_explainability``: the boto3 method infix of a monitoring type."""
    return "model_bias" if kind == "ModelBias" else "model_explainability"


def _not_found(client: Any, call: Any, **kwargs: Any) -> dict | None:
    try:
        return call(**kwargs)
    except client.exceptions.ResourceNotFound:
        return None


def same_definition(described: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether a Describe*JobDefinition answer holds exactly the wanted request's settings."""
    keys = (set(described) | set(wanted)) - _IGNORED_IN_COMPARISON
    return all(described.get(key) == wanted.get(key) for key in keys)


def latest_execution(client: Any, schedule: str) -> dict[str, Any] | None:
    """The schedule's latest execution summary (a one-time schedule has one), or ``None`` yet."""
    return find_execution(client.list_monitoring_executions(**list_executions_request(schedule, None)), None)


def resolve_schedule(
    client: Any, base_name: str, build: Any, log: logging.Logger
) -> tuple[str, OneTimeExecution, bool]:
    """This task instance's schedule: ``(name, requests, adopted)``.

    Attempts are ``base``, ``base-2``, ...: the first name without a schedule is free. An existing
    schedule is adopted when its job definition equals this task's and its execution is not ``Failed``
    or ``Stopped`` (still to start, running, or finished with results). Others are skipped.

    :param build: ``name -> OneTimeExecution`` (the requests this task would send under that name).
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        name = attempt_name(base_name, attempt)
        requests = build(name)
        schedule = _not_found(client, client.describe_monitoring_schedule, MonitoringScheduleName=name)
        if schedule is None:
            return name, requests, False
        kind = requests.monitoring_type
        described = _not_found(
            client, getattr(client, f"describe_{snake(kind)}_job_definition"), JobDefinitionName=name
        )
        if described is None or not same_definition(described, requests.job_definition):
            log.info("Monitoring schedule %s belongs to another job definition; trying the next name.", name)
            continue
        execution = latest_execution(client, name)
        status = (execution or {}).get("MonitoringExecutionStatus")
        if status in ("Failed", "Stopped"):
            log.info("The execution of earlier schedule %s ended %s; starting a fresh one.", name, status)
            continue
        log.info("Re-attaching to monitoring schedule %s (execution %s).", name, status or "not started yet")
        return name, requests, True
    raise AirflowFailException(
        f"More than {MAX_ATTEMPTS} monitoring schedules exist for {base_name}; giving up."
    )


def create(client: Any, requests: OneTimeExecution, log: logging.Logger) -> None:
    """Create the job definition, then the one-time schedule; a failed schedule call deletes the
    definition it just created (the SDK's rollback)."""
    kind = snake(requests.monitoring_type)
    name = requests.job_definition["JobDefinitionName"]
    getattr(client, f"create_{kind}_job_definition")(**requests.job_definition)
    try:
        client.create_monitoring_schedule(**requests.schedule)
    except Exception:
        getattr(client, f"delete_{kind}_job_definition")(JobDefinitionName=name)
        raise
    log.info(
        "Created one-time monitoring schedule %s for %s .. %s (offsets %s .. %s from %s)",
        name,
        requests.window_start.isoformat(),
        requests.window_end.isoformat(),
        requests.schedule["MonitoringScheduleConfig"]["ScheduleConfig"]["DataAnalysisStartTime"],
        requests.schedule["MonitoringScheduleConfig"]["ScheduleConfig"]["DataAnalysisEndTime"],
        requests.created_at.isoformat(),
    )


def delete(client: Any, name: str, kind: str, log: logging.Logger) -> None:
    """Delete the one-time schedule and its job definition (an account holds a limited number)."""
    with contextlib.suppress(client.exceptions.ResourceNotFound):
        client.delete_monitoring_schedule(MonitoringScheduleName=name)
    with contextlib.suppress(client.exceptions.ResourceNotFound):
        getattr(client, f"delete_{snake(kind)}_job_definition")(JobDefinitionName=name)
    log.info("Deleted one-time monitoring schedule %s and its job definition", name)


def stop(client: Any, hook: Any, name: str, log: logging.Logger) -> None:
    """Stop the schedule's running execution (its processing job) and the schedule itself."""
    execution = latest_execution(client, name) or {}
    arn = execution.get("ProcessingJobArn")
    if arn and execution.get("MonitoringExecutionStatus") not in TERMINAL_STATES:
        hook.stop_processing_job(processing_job_name(arn))
        log.info("Stopped processing job %s of monitoring schedule %s", arn, name)
    with contextlib.suppress(client.exceptions.ClientError):
        client.stop_monitoring_schedule(MonitoringScheduleName=name)


def wait_in_worker(
    client: Any,
    hook: Any,
    name: str,
    *,
    check_interval: float,
    max_wait_seconds: float | None,
    log: logging.Logger,
) -> dict[str, Any]:
    """Poll ListMonitoringExecutions in the worker until the execution ends; its summary.

    Throttled polls back off exponentially; past ``max_wait_seconds`` the execution is stopped and the
    task fails (retryable), as the Clarify operators do with ``max_ingestion_time``.
    """
    started = time.monotonic()
    delay, throttles = 0.0, 0
    while True:
        if max_wait_seconds is not None and time.monotonic() - started >= max_wait_seconds:
            stop(client, hook, name, log)
            raise ClarifyMonitoringWaitTimeout(
                f"The execution of monitoring schedule {name} did not end within max_wait_seconds="
                f"{max_wait_seconds}; it was stopped (a retry starts a fresh one)."
            )
        time.sleep(delay)
        try:
            execution = latest_execution(client, name)
        except client.exceptions.ClientError as error:
            if not is_throttling_error(error):
                raise
            throttles += 1
            delay = throttle_delay(check_interval, throttles, MAX_THROTTLE_DELAY_SECONDS)
            continue
        delay, throttles = check_interval, 0
        status = (execution or {}).get("MonitoringExecutionStatus")
        log.info("Execution of monitoring schedule %s: %s", name, status or "not started yet")
        if status in TERMINAL_STATES:
            return plain_summary(execution)


def output_uri_of(hook: Any, execution: Mapping[str, Any]) -> str | None:
    """The S3 folder the execution's processing job wrote (its monitoring output)."""
    arn = execution.get("ProcessingJobArn")
    if not arn:
        return None
    described = hook.describe_processing_job(processing_job_name(arn))
    for output in (described.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
        uri = (output.get("S3Output") or {}).get("S3Uri")
        if uri:
            return uri.rstrip("/")
    return None


def execution_summary(
    hook: Any, execution: Mapping[str, Any], requests_window: tuple[str, str], kind: str, name: str
) -> dict[str, Any]:
    """The summary ``compute="local"`` returns, from a finished SageMaker execution.

    ``status`` is the execution's (``Stopped`` is reported as ``Failed`` with its reason); the record
    counts and reading statistics exist only in the open engine's ``monitoring_execution.json`` and
    are ``None`` here.
    """
    status = execution.get("MonitoringExecutionStatus")
    reason = execution.get("FailureReason")
    if status == "Stopped":
        status, reason = "Failed", f"The execution was stopped{': ' + reason if reason else ''}"
    output = output_uri_of(hook, execution) if status != "Failed" else None
    analysis_uri = f"{output}/{ANALYSIS_FILE}" if output else None
    violations: list[dict[str, Any]] = []
    violations_uri = None
    if output and status == "CompletedWithViolations":
        violations_uri = f"{output}/{VIOLATIONS_FILE}"
        if hook.exists(violations_uri):
            violations = list(hook.read_json(violations_uri).get("violations", []))
    if analysis_uri and not hook.exists(analysis_uri):
        status = "Failed"
        reason = (
            f"The execution ended {execution.get('MonitoringExecutionStatus')} but wrote no {analysis_uri}"
        )
        analysis_uri = None
    return {
        "status": status,
        "failure_reason": reason,
        "monitoring_type": kind,
        "window_start": requests_window[0],
        "window_end": requests_window[1],
        "records": None,
        "capture": None,
        "ground_truth": None,
        "analysis_uri": analysis_uri,
        "violations": violations,
        "violations_uri": violations_uri,
        "monitoring_schedule_name": name,
        "processing_job_arn": execution.get("ProcessingJobArn"),
        "compute": "sagemaker",
    }
