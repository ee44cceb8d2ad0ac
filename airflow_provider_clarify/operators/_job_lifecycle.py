"""The life of one task instance's SageMaker Clarify job: its name, re-attaching to it, waiting for it.

* **Naming.** Every try of a task instance computes the same job name (:func:`clarify_job_name`, from
  ``dag_id``, ``task_id``, ``run_id`` and ``map_index``, never ``try_number``); fresh attempts after a
  failed job are ``<name>-2``, ``<name>-3``, ... (:func:`attempt_name`).
* **Re-attaching.** :func:`resolve_job` looks those names up so a retry adopts the job its earlier try
  started (running, or completed, with the same config and inputs) instead of paying for a second
  one. Each job reads its own ``<job name>/analysis_config.json``, so the comparison is against what
  that job was started with (:func:`same_job`).
* **Before starting.** :func:`check_inputs` fails the task, before CreateProcessingJob, when an input
  is missing; after success :func:`publish_config` puts the job's config beside its results.
* **Waiting.** :func:`poll_until_done` polls in the worker (backing off while throttled) and stops the
  job when ``max_ingestion_time`` passes (:func:`stop_for_timeout`, also used when the deferred wait
  times out), so both ways of waiting end the same way. Both count ``max_ingestion_time`` from the
  job's ``CreationTime`` (:func:`~airflow_provider_clarify.hooks.clarify.ingestion_deadline`): it is
  one budget per job, carried across retries, deferrals, worker shutdowns and triggerer moves that
  re-attach to it; only a fresh job (after the earlier one failed, was stopped or timed out) gets a
  fresh budget.

Imported when DAGs are parsed: no numeric library, no AWS call at import.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
from botocore.exceptions import ClientError

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.processing_job import stable_job_name, validate_job_name
from airflow_provider_clarify.hooks.clarify import (
    ClarifyHook,
    ingestion_deadline,
    is_throttling_error,
    job_completed,
    throttle_delay,
)

if TYPE_CHECKING:
    from airflow_provider_clarify.analysis.plan import AnalysisPlan

#: Job names keep this many characters free for a ``-<n>`` suffix of a fresh attempt.
SUFFIX_ROOM = 4
#: Most fresh attempts one task instance may start.
MAX_ATTEMPTS = 999
#: Extra seconds the task deferral may last beyond ``max_ingestion_time``, so that the trigger's own
#: clean timeout event (which stops the job) arrives before Airflow's hard deferral timeout.
DEFERRAL_GRACE_SECONDS = 120
#: Longest pause between polls while DescribeProcessingJob is being throttled.
MAX_THROTTLE_DELAY_SECONDS = 300


class ClarifyJobTimeoutException(AirflowException):
    """The job did not finish within ``max_ingestion_time``; it was stopped (a retry starts a fresh job)."""


# --- names -------------------------------------------------------------------------------------------


def _name_part(text: str) -> str:
    """Letters, digits and single hyphens only (the ProcessingJobName alphabet)."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-zA-Z0-9-]", "-", text)).strip("-")


def clarify_job_name(prefix: str, *, dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> str:
    """The deterministic processing-job name of one task instance.

    ``<prefix>-<12 hex digits of sha256(dag_id|task_id|run_id|map_index)>``, at most 59 characters so a
    ``-<n>`` suffix for a fresh attempt still fits in SageMaker's 63. ``try_number`` is deliberately not
    part of it: every try of a task instance computes the same name and so finds the same job.

    :param prefix: the ``job_name_prefix`` (or the SDK default such as ``Clarify-Pretraining-Bias``);
        characters SageMaker does not allow become hyphens.
    """
    digest_length = 13  # "-" + 12 hex digits
    base = _name_part(prefix)[: 63 - SUFFIX_ROOM - digest_length] or "Clarify"
    return stable_job_name(base, f"{dag_id}|{task_id}|{run_id}|{map_index}")


def validate_prefix(prefix: str) -> None:
    """Fail early (ClarifyConfigError) on a ``job_name_prefix`` that leaves no valid name."""
    validate_job_name(_name_part(prefix) or prefix, field="job_name_prefix")


def attempt_name(base: str, attempt: int) -> str:
    """The job name of fresh attempt ``attempt`` (1 is the base name itself)."""
    if attempt == 1:
        return base
    return f"{base[: 63 - len(str(attempt)) - 1].rstrip('-')}-{attempt}"


# --- finding this task instance's job ----------------------------------------------------------------


def _is_not_found(error: ClientError) -> bool:
    details = error.response.get("Error", {})
    return details.get("Code") in ("ValidationException", "ResourceNotFound") and (
        "not find" in details.get("Message", "").lower() or "not found" in details.get("Message", "").lower()
    )


def describe_or_none(hook: ClarifyHook, job_name: str) -> dict | None:
    """DescribeProcessingJob, or ``None`` when there is no job of that name."""
    try:
        return hook.describe_processing_job(job_name)
    except ClientError as err:
        if _is_not_found(err):
            return None
        raise


def _input_uris(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``{input name: S3 URI}`` of a CreateProcessingJob request or its description."""
    return {i["InputName"]: i.get("S3Input", {}).get("S3Uri") for i in spec.get("ProcessingInputs", [])}


def analysis_config_uri(spec: Mapping[str, Any]) -> str | None:
    """The ``analysis_config`` input URI of a CreateProcessingJob request or its description."""
    return _input_uris(spec).get("analysis_config")


def same_job(
    hook: ClarifyHook, description: Mapping[str, Any], name: str, plan: AnalysisPlan, log: logging.Logger
) -> bool:
    """Whether job ``name`` was started with this plan's container, dataset, output and analysis config.

    Compares against what the job itself read: its own config location (``<name>/analysis_config.json``,
    written only by the attempt that created it) and the inputs and output in its description; never
    against a file a later attempt may have rewritten. The container's entry point tells
    ``compute="sagemaker"`` and ``compute="sagemaker_spark"`` jobs of the same inputs apart.
    """
    template = json.loads(plan.request_template_json)["AppSpecification"]
    if description["AppSpecification"].get("ContainerEntrypoint") != template.get("ContainerEntrypoint"):
        return False
    inputs = _input_uris(description)
    outputs = [o.get("S3Output", {}).get("S3Uri") for o in description["ProcessingOutputConfig"]["Outputs"]]
    config_uri = plan.config_uri(name)
    if (inputs.get("dataset"), inputs.get("analysis_config"), outputs) != (
        plan.dataset_uri,
        config_uri,
        [plan.output_uri],
    ):
        return False
    try:
        stored = hook.read_json(config_uri)
    except Exception:  # unreadable config: be safe and run again
        log.warning("Could not read %s to compare configs; starting a fresh job.", config_uri)
        return False
    return stored == plan.config


def resolve_job(
    hook: ClarifyHook,
    base_name: str,
    *,
    plan: AnalysisPlan,
    reuse_completed_job: bool,
    log: logging.Logger,
) -> tuple[str, dict | None]:
    """Find this task instance's job: ``(name, description)`` to adopt, or ``(free name, None)``.

    Attempts are ``base``, ``base-2``, ``base-3``, ...: the first name that does not exist yet is
    free. An existing job started with this plan's config and inputs is adopted when ``InProgress``,
    or when ``Completed`` and ``reuse_completed_job``. An ``InProgress`` job started with another
    config is stopped (its results would be stale) and skipped, as are ``Failed``/``Stopped``/
    ``Stopping`` jobs and completed jobs of another config.
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        name = attempt_name(base_name, attempt)
        description = describe_or_none(hook, name)
        if description is None:
            return name, None
        status = description["ProcessingJobStatus"]
        if status == "InProgress":
            if same_job(hook, description, name, plan, log):
                log.info("Re-attaching to Clarify processing job %s (InProgress).", name)
                return name, description
            log.warning(
                "Clarify processing job %s is running with another config or inputs; stopping it and "
                "starting a fresh job.",
                name,
            )
            hook.stop_processing_job(name)
            continue
        if status == "Completed":
            if reuse_completed_job and same_job(hook, description, name, plan, log):
                log.info("Clarify processing job %s already Completed; reusing its results.", name)
                return name, description
            log.info(
                "Clarify processing job %s Completed with other inputs or reuse is off; starting a fresh job.",
                name,
            )
            continue
        log.info("Earlier Clarify processing job %s ended %s; starting a fresh job.", name, status)
    raise AirflowFailException(f"More than {MAX_ATTEMPTS} Clarify jobs exist for {base_name}; giving up.")


def check_inputs(hook: ClarifyHook, plan: AnalysisPlan) -> None:
    """Fail before CreateProcessingJob when an input of the plan is missing or unreadable.

    Checks the dataset, facet and predicted-label datasets and a SHAP baseline file on S3 (one
    listing, and one HEAD of the first object, each), and the predictor's SageMaker model or endpoint.

    :raises ClarifyConfigError: naming every missing or unreadable input at once.
    """
    problems = [
        (field, f"{uri}: {reason}")
        for field, uri in plan.input_uris()
        if (reason := hook.s3_input_problem(uri)) is not None
    ]
    predictor = plan.config.get("predictor")
    if plan.model_methods and isinstance(predictor, Mapping):
        for key, kind in (("model_name", "model"), ("endpoint_name", "endpoint")):
            name = predictor.get(key)
            if isinstance(name, str) and name and (reason := hook.model_problem(kind, name)) is not None:
                problems.append((f"predictor.{key}", f"{name}: {reason}"))
    if problems:
        lines = "\n".join(f"  - {field}: {detail}" for field, detail in problems)
        raise ClarifyConfigError(
            f"{len(problems)} input(s) of the Clarify job are missing or unreadable, so no job was started:\n"
            f"{lines}\nUpload them (or fix the URIs / the connection's permissions) and run the task again.",
            field=problems[0][0],
            value=problems[0][1],
            accepted="an existing, readable S3 object or prefix (and an existing model or endpoint)",
            problems=problems,
        )


def publish_config(
    hook: ClarifyHook, plan: AnalysisPlan, job_name: str, *, kms_key: str | None, log: logging.Logger
) -> None:
    """Copy the config job ``job_name`` ran to ``analysis_config.json`` beside its results (the SDK's place).

    Only after the job ``Completed``, so that file always describes the results next to it.
    """
    source = plan.config_uri(job_name)
    target = plan.published_config_uri
    try:
        hook.write_bytes(target, hook.read_bytes(source), kms_key=kms_key)
    except FileNotFoundError:
        log.warning("Clarify job %s has no config at %s; not copying it to %s.", job_name, source, target)


# --- waiting -----------------------------------------------------------------------------------------


def stop_for_timeout(
    hook: ClarifyHook, job_name: str, max_ingestion_time: int | None, log: logging.Logger
) -> None:
    """Stop a job that outlived ``max_ingestion_time`` and fail the task.

    :raises ClarifyJobTimeoutException: always.
    """
    log.warning(
        "Clarify processing job %s still running after max_ingestion_time=%ss; stopping it.",
        job_name,
        max_ingestion_time,
    )
    hook.stop_processing_job(job_name)
    raise ClarifyJobTimeoutException(
        f"Clarify processing job {job_name} did not finish within max_ingestion_time="
        f"{max_ingestion_time}s; the job was stopped (a retry starts a fresh job)."
    )


def poll_until_done(
    hook: ClarifyHook,
    job_name: str,
    *,
    check_interval: float,
    max_ingestion_time: int | None,
    log: logging.Logger,
) -> dict:
    """Poll in the worker until the job ``Completed``; return that description.

    ``max_ingestion_time`` counts from the job's ``CreationTime``, as in the deferred wait, so a try
    that re-attaches to a job an earlier try started gets what is left of that job's budget, not a new
    one. Until a Describe has answered it is at most ``max_ingestion_time`` from now. Throttled polls
    back off exponentially (up to :data:`MAX_THROTTLE_DELAY_SECONDS`).

    :raises ClarifyJobFailedException: the job ended ``Failed`` or ``Stopped``.
    :raises ClarifyJobTimeoutException: ``max_ingestion_time`` passed first (the job is stopped).
    """
    deadline = None if max_ingestion_time is None else time.time() + max_ingestion_time
    delay = check_interval
    throttles = 0
    while True:
        if deadline is not None and time.time() >= deadline:
            stop_for_timeout(hook, job_name, max_ingestion_time, log)
        time.sleep(delay if deadline is None else max(0.0, min(delay, deadline - time.time())))
        try:
            description = hook.describe_processing_job(job_name)
        except ClientError as err:
            if not is_throttling_error(err):
                raise
            throttles += 1
            delay = throttle_delay(check_interval, throttles, MAX_THROTTLE_DELAY_SECONDS)
            log.warning("DescribeProcessingJob throttled; next poll in %.1f s", delay)
            continue
        delay, throttles = check_interval, 0
        status = description["ProcessingJobStatus"]
        log.info("Clarify processing job %s: %s", job_name, status)
        if job_completed(job_name, status, description.get("FailureReason")):
            return description
        job_deadline = ingestion_deadline(description, max_ingestion_time)
        if deadline is not None and job_deadline is not None:
            deadline = min(deadline, job_deadline)  # the budget started with the job, not this try


def deferral_timeout(check_interval: float, max_ingestion_time: int | None) -> timedelta | None:
    """How long the task may stay deferred: past ``max_ingestion_time`` by one poll and a grace period."""
    if max_ingestion_time is None:
        return None
    return timedelta(seconds=max_ingestion_time + check_interval + DEFERRAL_GRACE_SECONDS)
