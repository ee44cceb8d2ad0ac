"""One monitoring execution on SageMaker: a one-time (``NOW``) schedule over an absolute window.

A Model Monitor schedule's execution is not a processing job anyone can start: the managed schedule
hands the Clarify image its window, the ground-truth merge and the baseline in ways the public API
and documentation do not describe (docs/monitoring.md, "Why a one-time schedule"). What the API does
offer is a one-time schedule: ``ScheduleExpression`` ``NOW`` with ``DataAnalysisStartTime`` /
``DataAnalysisEndTime`` as offsets back from the time the execution runs. This module turns a job
definition (the same CreateModelBiasJobDefinition / CreateModelExplainabilityJobDefinition document
``compute="local"`` runs) and an absolute window (scheduled time + the input's offsets, exactly as
the open engine computes it) into the two requests for such a schedule.

Pure: no Airflow, no AWS. The operator sends the requests and waits for the execution.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.monitoring.requests import (
    check_name,
    create_schedule_request,
    monitoring_type_of,
)
from airflow_provider_clarify.analysis.monitoring.schedule import (
    MAX_ONE_TIME_WINDOW,
    NOW,
    analysis_window,
    as_utc,
    format_offset,
)

_INPUT_KINDS = ("EndpointInput", "BatchTransformInput")
_OFFSETS = ("StartTimeOffset", "EndTimeOffset")


@dataclass(frozen=True)
class OneTimeExecution:
    """The requests of one execution and the absolute window they analyse.

    ``window_start`` / ``window_end`` are what ``compute="local"`` analyses for the same scheduled time;
    the schedule's offsets point at them from ``created_at`` (SageMaker counts them from the time the
    execution runs, so a late start shifts the window by that delay).
    """

    job_definition: dict[str, Any]
    schedule: dict[str, Any]
    monitoring_type: str
    window_start: datetime
    window_end: datetime
    created_at: datetime


def monitoring_input(definition: Mapping[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    """``(input kind, input body)`` of a job definition (``EndpointInput`` or ``BatchTransformInput``)."""
    job_input = definition.get(f"{kind}JobInput") or {}
    for name in _INPUT_KINDS:
        if isinstance(job_input.get(name), Mapping):
            return name, dict(job_input[name])
    raise ClarifyConfigError.invalid(
        f"{kind}JobInput",
        sorted(job_input),
        "a job input with EndpointInput or BatchTransformInput",
    )


def _s3_locations(definition: Mapping[str, Any], kind: str) -> list[tuple[str, Any]]:
    app = definition.get(f"{kind}AppSpecification") or {}
    job_input = definition.get(f"{kind}JobInput") or {}
    outputs = (definition.get(f"{kind}JobOutputConfig") or {}).get("MonitoringOutputs") or [{}]
    places = [
        (f"{kind}AppSpecification.ConfigUri", app.get("ConfigUri")),
        (
            f"{kind}JobOutputConfig.MonitoringOutputs[0].S3Output.S3Uri",
            (outputs[0].get("S3Output") or {}).get("S3Uri"),
        ),
    ]
    if "GroundTruthS3Input" in job_input:
        places.append(
            (f"{kind}JobInput.GroundTruthS3Input.S3Uri", (job_input["GroundTruthS3Input"] or {}).get("S3Uri"))
        )
    batch = job_input.get("BatchTransformInput")
    if isinstance(batch, Mapping):
        places.append(
            (
                f"{kind}JobInput.BatchTransformInput.DataCapturedDestinationS3Uri",
                batch.get("DataCapturedDestinationS3Uri"),
            )
        )
    constraints = ((definition.get(f"{kind}BaselineConfig") or {}).get("ConstraintsResource") or {}).get(
        "S3Uri"
    )
    if constraints is not None:
        places.append((f"{kind}BaselineConfig.ConstraintsResource.S3Uri", constraints))
    return places


def one_time_execution(
    definition: Mapping[str, Any],
    *,
    name: str,
    scheduled_time: datetime | str,
    now: datetime,
    output_uri: str | None = None,
    tags: Any = None,
) -> OneTimeExecution:
    """The job-definition and one-time schedule requests of the execution scheduled at ``scheduled_time``.

    :param definition: the CreateModel*JobDefinition request (``RoleArn``, ``ImageUri`` and every
        location on S3: the job runs on SageMaker).
    :param name: the job-definition and schedule name (the operator's deterministic per-task name).
    :param scheduled_time: the execution's scheduled time; the window is that time plus the input's
        ``StartTimeOffset`` / ``EndTimeOffset`` (default ``-PT1H`` .. ``-PT0H``), as with ``compute="local"``.
    :param now: when the schedule is created (the offsets are counted back from it).
    :param output_uri: replaces the MonitoringOutputs S3 URI (SageMaker writes below it).
    :raises ClarifyConfigError: a location that is not on S3, a window that ends after ``now`` or spans
        more than 24 hours, offsets too long for the API, a bad name.
    """
    kind = monitoring_type_of(definition)
    check_name("job_definition_name", name)
    request = copy.deepcopy(dict(definition))
    request["JobDefinitionName"] = name
    if output_uri:
        outputs = request.setdefault(f"{kind}JobOutputConfig", {}).setdefault("MonitoringOutputs", [{}])
        outputs[0].setdefault("S3Output", {})["S3Uri"] = output_uri.rstrip("/")
    for field, value in [
        ("RoleArn", request.get("RoleArn")),
        (f"{kind}AppSpecification.ImageUri", (request.get(f"{kind}AppSpecification") or {}).get("ImageUri")),
    ]:
        if not value:
            raise ClarifyConfigError.invalid(
                field, value, "a value: compute='sagemaker' sends the job definition to SageMaker as it is"
            )
    for field, value in _s3_locations(request, kind):
        if not isinstance(value, str) or not value.startswith("s3://"):
            raise ClarifyConfigError.invalid(
                field,
                value,
                "an s3:// URI",
                "compute='sagemaker' runs the execution on SageMaker, which reads and writes only S3: upload "
                "the file (or use compute='local', which also reads local paths and file:// URIs).",
            )

    input_kind, body = monitoring_input(request, kind)
    start, end = analysis_window(scheduled_time, body.get("StartTimeOffset"), body.get("EndTimeOffset"))
    moment = as_utc(now).replace(microsecond=0)
    if end > moment:
        raise ClarifyConfigError(
            f"The analysis window {start.isoformat()} .. {end.isoformat()} ends after now ({moment.isoformat()}): "
            "a one-time schedule only looks back, and the data of the window is not complete yet. Run the "
            "task at or after the window's end (an Airflow DAG run starts after its data interval ends).",
            field="scheduled_time",
            value=str(scheduled_time),
            accepted="a scheduled time whose window has ended",
        )
    if end - start > MAX_ONE_TIME_WINDOW:
        raise ClarifyConfigError(
            f"The analysis window {start.isoformat()} .. {end.isoformat()} is longer than 24 hours, the most a "
            "one-time schedule analyses; shorten the offsets or run one execution per day.",
            field="StartTimeOffset",
            value=body.get("StartTimeOffset"),
            accepted="a window of at most 24 hours",
        )
    # The schedule's one-time window replaces the input's offsets (which count from a cron tick).
    for key in _OFFSETS:
        body.pop(key, None)
    request[f"{kind}JobInput"][input_kind] = body
    schedule = create_schedule_request(
        name,
        name,
        kind,
        schedule_cron_expression=NOW,
        data_analysis_start_time=format_offset(start - moment),
        data_analysis_end_time=format_offset(end - moment),
        tags=tags,
    )
    return OneTimeExecution(request, schedule, kind, start, end, moment)
