"""CreateModelBiasJobDefinition / CreateModelExplainabilityJobDefinition / Create- and
UpdateMonitoringSchedule requests, equal to what ``ModelBiasMonitor`` / ``ModelExplainabilityMonitor``
send for the same inputs (see docs/monitoring.md).

Every rule the API or the SDK enforces is checked here, before any AWS call: exactly one of endpoint
or batch-transform input, ground truth for bias, offsets, ``MaxRuntimeInSeconds`` against the
schedule period, name patterns, URI limits, one-time (``NOW``) windows.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.monitoring.inputs import (
    OUTPUT_LOCAL_PATH,
    BatchTransformInput,
    EndpointInput,
    MonitoringOutput,
    check_s3_uri,
)
from airflow_provider_clarify.analysis.monitoring.schedule import (
    check_max_runtime,
    check_one_time_window,
    schedule_period_seconds,
)
from airflow_provider_clarify.analysis.processing_job import name_from_base

MODEL_BIAS = "ModelBias"
MODEL_EXPLAINABILITY = "ModelExplainability"
MONITORING_TYPES: tuple[str, ...] = (MODEL_BIAS, MODEL_EXPLAINABILITY)
#: The SDK's default base names.
JOB_DEFINITION_BASE_NAMES: dict[str, str] = {
    MODEL_BIAS: "model-bias-job-definition",
    MODEL_EXPLAINABILITY: "model-explainability-job-definition",
}
SCHEDULE_BASE_NAME = "monitoring-schedule"
PUBLISH_CLOUDWATCH_METRICS = "publish_cloudwatch_metrics"
ANALYSIS_CONFIG_FILE = "analysis_config.json"
NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_ROLE_ARN = re.compile(r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")
_ENV_KEY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def check_monitoring_type(value: Any) -> str:
    if value not in MONITORING_TYPES:
        raise ClarifyConfigError.invalid("monitoring_type", value, "'ModelBias' or 'ModelExplainability'")
    return value


def check_name(field: str, value: Any) -> str:
    """A job-definition or schedule name: 1-63 letters, digits and hyphens."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise ClarifyConfigError.invalid(
            field,
            value,
            "1-63 characters matching [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
            "Use 1-63 letters, digits and hyphens, starting and ending with a letter or digit "
            "(no underscores, dots or spaces).",
        )
    return value


def default_job_definition_name(
    monitoring_type: str, base_job_name: str | None = None, moment: datetime | None = None
) -> str:
    """The SDK's default: ``name_from_base(base_job_name or "model-bias-job-definition")``."""
    base = base_job_name or JOB_DEFINITION_BASE_NAMES[check_monitoring_type(monitoring_type)]
    return check_name("job_definition_name", name_from_base(base, moment))


def default_schedule_name(base_job_name: str | None = None, moment: datetime | None = None) -> str:
    """The SDK's default: ``name_from_base(base_job_name or "monitoring-schedule")``."""
    return check_name("monitor_schedule_name", name_from_base(base_job_name or SCHEDULE_BASE_NAME, moment))


def default_output_s3_uri(bucket: str, schedule: str, bucket_prefix: str | None = None) -> str:
    """``s3://<bucket>/<prefix?>/model-monitor/monitoring/<schedule>/results`` (the SDK's default)."""
    parts = [bucket, bucket_prefix, "model-monitor", "monitoring", schedule, "results"]
    return "s3://" + "/".join(p.strip("/") for p in parts if p)


def analysis_config_upload_uri(output_s3_uri: str, job_definition: str, unique: str | None = None) -> str:
    """Where the SDK uploads a config object: ``<output>/<job definition>/<uuid4>/analysis_config.json``."""
    return "/".join(
        (output_s3_uri.rstrip("/"), job_definition, unique or str(uuid.uuid4()), ANALYSIS_CONFIG_FILE)
    )


def environment(env: Mapping[str, str] | None, enable_cloudwatch_metrics: bool | None) -> dict[str, str]:
    """The SDK's ``_generate_env_map``: ``env`` plus ``publish_cloudwatch_metrics`` Enabled/Disabled."""
    out = dict(env or {})
    if enable_cloudwatch_metrics is not None:
        if not isinstance(enable_cloudwatch_metrics, bool):
            raise ClarifyConfigError.invalid(
                "enable_cloudwatch_metrics", enable_cloudwatch_metrics, "True or False"
            )
        out[PUBLISH_CLOUDWATCH_METRICS] = "Enabled" if enable_cloudwatch_metrics else "Disabled"
    if len(out) > 50:
        raise ClarifyConfigError.invalid("env", f"<{len(out)} entries>", "at most 50 environment entries")
    for key, value in out.items():
        if not isinstance(key, str) or not _ENV_KEY.fullmatch(key) or len(key) > 256:
            raise ClarifyConfigError.invalid(f"env[{key!r}]", key, "a name matching [a-zA-Z_][a-zA-Z0-9_]*")
        if not isinstance(value, str) or len(value) > 256:
            raise ClarifyConfigError.invalid(f"env[{key!r}]", value, "a string of at most 256 characters")
    return out


def _int(field: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ClarifyConfigError.invalid(field, value, f"an integer from {low} to {high}")
    return value


def _tags(tags: Any) -> list[dict[str, str]] | None:
    if tags is None:
        return None
    items = [{"Key": k, "Value": v} for k, v in tags.items()] if isinstance(tags, Mapping) else tags
    if not isinstance(items, list | tuple) or len(items) > 50:
        raise ClarifyConfigError.invalid(
            "tags", tags, 'at most 50 tags, as {key: value} or [{"Key", "Value"}]'
        )
    out = []
    for tag in items:
        if not isinstance(tag, Mapping) or set(tag) != {"Key", "Value"} or not isinstance(tag["Key"], str):
            raise ClarifyConfigError.invalid("tags", tag, 'a {"Key": str, "Value": str} dict')
        out.append({"Key": tag["Key"], "Value": tag["Value"]})
    return out


def _network(network_config: Any) -> dict[str, Any] | None:
    if network_config is None:
        return None
    if hasattr(network_config, "_to_request_dict"):
        network_config = network_config._to_request_dict()
    if not isinstance(network_config, Mapping):
        raise ClarifyConfigError.invalid(
            "network_config", network_config, "a NetworkConfig dict in the API shape"
        )
    allowed = {"EnableInterContainerTrafficEncryption", "EnableNetworkIsolation", "VpcConfig"}
    unknown = sorted(set(network_config) - allowed)
    if unknown:
        raise ClarifyConfigError.invalid(
            f"network_config.{unknown[0]}", network_config[unknown[0]], ", ".join(sorted(allowed))
        )
    return dict(network_config)


def job_definition_request(
    monitoring_type: str,
    *,
    job_definition_name: str,
    image_uri: str,
    analysis_config_uri: str,
    role: str,
    output_s3_uri: str,
    endpoint_input: EndpointInput | str | None = None,
    batch_transform_input: BatchTransformInput | None = None,
    ground_truth_input: str | None = None,
    constraints: str | None = None,
    baselining_job_name: str | None = None,
    enable_cloudwatch_metrics: bool | None = True,
    env: Mapping[str, str] | None = None,
    instance_count: int = 1,
    instance_type: str = "ml.m5.xlarge",
    volume_size_in_gb: int = 30,
    volume_kms_key: str | None = None,
    output_kms_key: str | None = None,
    max_runtime_in_seconds: int | None = None,
    tags: Any = None,
    network_config: Any = None,
    schedule_cron_expression: str | None = None,
) -> dict[str, Any]:
    """The Create<monitoring_type>JobDefinition request (keyword names of the SDK monitor).

    :param endpoint_input: an :class:`EndpointInput` or an endpoint name (exactly one of this and
        ``batch_transform_input``).
    :param ground_truth_input: S3 prefix of the ground-truth labels (required for ``ModelBias``).
    :param constraints: S3 URI of the baseline ``analysis.json`` (``ConstraintsResource``); else
        ``baselining_job_name`` names the baselining job.
    :param schedule_cron_expression: the schedule the definition will run on, to check
        ``max_runtime_in_seconds`` against its period.
    """
    kind = check_monitoring_type(monitoring_type)
    check_name("job_definition_name", job_definition_name)
    if (endpoint_input is None) == (batch_transform_input is None):
        raise ClarifyConfigError(
            "Need to have either batch_transform_input or endpoint_input to create an Amazon Model Monitoring "
            "Schedule. Please provide only one of the above required inputs (endpoint_input=EndpointInput(...) "
            "for a real-time endpoint's data capture, batch_transform_input=BatchTransformInput(...) for a "
            "batch transform's).",
            field="endpoint_input",
            value=endpoint_input,
            accepted="exactly one of endpoint_input and batch_transform_input",
        )
    if kind == MODEL_BIAS and not ground_truth_input:
        raise ClarifyConfigError(
            "ground_truth_input can not be None: bias monitoring compares the model's captured predictions "
            "with ground-truth labels. Pass the S3 prefix that receives the labels "
            "(yyyy/mm/dd/hh/*.jsonl of {'groundTruthData': ..., 'eventMetadata': {'eventId': ...}}).",
            field="ground_truth_input",
            value=ground_truth_input,
            accepted="an s3:// prefix",
        )
    if kind == MODEL_EXPLAINABILITY and ground_truth_input:
        raise ClarifyConfigError.invalid(
            "ground_truth_input",
            ground_truth_input,
            "None for ModelExplainability",
            "Feature-attribution monitoring needs no labels; drop ground_truth_input.",
        )
    if not isinstance(image_uri, str) or not image_uri:
        raise ClarifyConfigError.invalid("image_uri", image_uri, "the Clarify image URI of the region")
    check_s3_uri("analysis_config", analysis_config_uri, limit=1024)
    check_s3_uri("output_s3_uri", output_s3_uri)
    if ground_truth_input:
        check_s3_uri("ground_truth_input", ground_truth_input)
    if constraints is not None:
        check_s3_uri("constraints", constraints, limit=1024)
    if not isinstance(role, str) or not _ROLE_ARN.fullmatch(role):
        raise ClarifyConfigError.invalid(
            "role", role, "an IAM role ARN such as arn:aws:iam::111122223333:role/Monitor"
        )
    if schedule_cron_expression is not None:
        schedule_period_seconds(schedule_cron_expression)
    max_runtime = check_max_runtime(max_runtime_in_seconds, schedule_cron_expression, kind)

    app: dict[str, Any] = {"ConfigUri": analysis_config_uri, "ImageUri": image_uri}
    env_map = environment(env, enable_cloudwatch_metrics)
    if env_map:
        app["Environment"] = env_map
    if isinstance(endpoint_input, str):
        endpoint_input = EndpointInput(endpoint_input)
    job_input = (endpoint_input or batch_transform_input).to_request_dict()  # type: ignore[union-attr]
    if ground_truth_input:
        job_input["GroundTruthS3Input"] = {"S3Uri": ground_truth_input}
    job_output: dict[str, Any] = {
        "MonitoringOutputs": [MonitoringOutput(OUTPUT_LOCAL_PATH, output_s3_uri).to_request_dict()]
    }
    if output_kms_key is not None:
        job_output["KmsKeyId"] = output_kms_key
    if not isinstance(instance_type, str) or not instance_type.startswith("ml."):
        raise ClarifyConfigError.invalid(
            "instance_type", instance_type, "an instance type such as 'ml.m5.xlarge'"
        )
    cluster: dict[str, Any] = {
        "InstanceCount": _int("instance_count", instance_count, 1, 100),
        "InstanceType": instance_type,
        "VolumeSizeInGB": _int("volume_size_in_gb", volume_size_in_gb, 1, 16384),
    }
    if volume_kms_key is not None:
        cluster["VolumeKmsKeyId"] = volume_kms_key
    request: dict[str, Any] = {
        "JobDefinitionName": job_definition_name,
        f"{kind}AppSpecification": app,
        f"{kind}JobInput": job_input,
        f"{kind}JobOutputConfig": job_output,
        "JobResources": {"ClusterConfig": cluster},
        "RoleArn": role,
    }
    if constraints:
        request[f"{kind}BaselineConfig"] = {"ConstraintsResource": {"S3Uri": constraints}}
    elif baselining_job_name:
        request[f"{kind}BaselineConfig"] = {
            "BaseliningJobName": check_name("baselining_job_name", baselining_job_name)
        }
    network = _network(network_config)
    if network is not None:
        request["NetworkConfig"] = network
    if max_runtime is not None:
        request["StoppingCondition"] = {"MaxRuntimeInSeconds": max_runtime}
    tag_list = _tags(tags)
    if tag_list is not None:
        request["Tags"] = tag_list
    return request


def _schedule_config(
    job_definition: str,
    monitoring_type: str,
    schedule_cron_expression: str | None,
    data_analysis_start_time: str | None,
    data_analysis_end_time: str | None,
) -> dict[str, Any]:
    check_name("job_definition_name", job_definition)
    check_monitoring_type(monitoring_type)
    check_one_time_window(schedule_cron_expression, data_analysis_start_time, data_analysis_end_time)
    config: dict[str, Any] = {
        "MonitoringJobDefinitionName": job_definition,
        "MonitoringType": monitoring_type,
    }
    if schedule_cron_expression is not None:
        schedule_period_seconds(schedule_cron_expression)
        schedule: dict[str, Any] = {"ScheduleExpression": schedule_cron_expression}
        if data_analysis_start_time is not None:
            schedule["DataAnalysisStartTime"] = data_analysis_start_time
        if data_analysis_end_time is not None:
            schedule["DataAnalysisEndTime"] = data_analysis_end_time
        config["ScheduleConfig"] = schedule
    return config


def create_schedule_request(
    monitor_schedule_name: str,
    job_definition_name: str,
    monitoring_type: str,
    *,
    schedule_cron_expression: str | None = None,
    data_analysis_start_time: str | None = None,
    data_analysis_end_time: str | None = None,
    tags: Any = None,
) -> dict[str, Any]:
    """The CreateMonitoringSchedule request the SDK sends (``Tags`` always present, maybe empty)."""
    return {
        "MonitoringScheduleName": check_name("monitor_schedule_name", monitor_schedule_name),
        "MonitoringScheduleConfig": _schedule_config(
            job_definition_name,
            monitoring_type,
            schedule_cron_expression,
            data_analysis_start_time,
            data_analysis_end_time,
        ),
        "Tags": _tags(tags) or [],
    }


def update_schedule_request(
    monitor_schedule_name: str,
    job_definition_name: str,
    monitoring_type: str,
    *,
    schedule_cron_expression: str | None = None,
    data_analysis_start_time: str | None = None,
    data_analysis_end_time: str | None = None,
) -> dict[str, Any]:
    """The UpdateMonitoringSchedule request the SDK sends."""
    return {
        "MonitoringScheduleName": check_name("monitor_schedule_name", monitor_schedule_name),
        "MonitoringScheduleConfig": _schedule_config(
            job_definition_name,
            monitoring_type,
            schedule_cron_expression,
            data_analysis_start_time,
            data_analysis_end_time,
        ),
    }


def monitoring_type_of(job_definition: Mapping[str, Any]) -> str:
    """``ModelBias`` or ``ModelExplainability`` from a job-definition request or description."""
    for kind in MONITORING_TYPES:
        if f"{kind}AppSpecification" in job_definition:
            return kind
    raise ClarifyConfigError.invalid(
        "job_definition",
        sorted(job_definition),
        "a CreateModelBiasJobDefinition or CreateModelExplainabilityJobDefinition request "
        "(with ModelBiasAppSpecification or ModelExplainabilityAppSpecification)",
    )


@dataclass(frozen=True)
class MonitoringRequests:
    """Everything ``create_monitoring_schedule`` sends: the config upload (if any) and two API calls."""

    job_definition: dict[str, Any]
    schedule: dict[str, Any]
    #: ``(s3_uri, analysis_config_dict)`` when a config object is uploaded; None when a URI was given.
    analysis_config_upload: tuple[str, dict[str, Any]] | None = None

    @property
    def monitoring_type(self) -> str:
        return monitoring_type_of(self.job_definition)


def create_monitoring_requests(
    monitoring_type: str,
    *,
    role: str,
    image_uri: str,
    analysis_config: Any,
    endpoint_input: EndpointInput | str | None = None,
    batch_transform_input: BatchTransformInput | None = None,
    ground_truth_input: str | None = None,
    output_s3_uri: str | None = None,
    default_bucket: str | None = None,
    default_bucket_prefix: str | None = None,
    constraints: str | None = None,
    baselining_job_name: str | None = None,
    monitor_schedule_name: str | None = None,
    job_definition_name: str | None = None,
    base_job_name: str | None = None,
    schedule_cron_expression: str | None = None,
    enable_cloudwatch_metrics: bool = True,
    data_analysis_start_time: str | None = None,
    data_analysis_end_time: str | None = None,
    moment: datetime | None = None,
    config_uuid: str | None = None,
    **resources: Any,
) -> MonitoringRequests:
    """The requests of ``ModelBiasMonitor`` / ``ModelExplainabilityMonitor.create_monitoring_schedule``.

    ``analysis_config`` is a URI (used as ``ConfigUri``) or a ``BiasAnalysisConfig`` /
    ``ExplainabilityAnalysisConfig`` / dict (uploaded to ``<output>/<job definition>/<uuid>/
    analysis_config.json``). ``resources`` are the monitor's constructor settings (``instance_count``,
    ``instance_type``, ``volume_size_in_gb``, ``volume_kms_key``, ``output_kms_key``,
    ``max_runtime_in_seconds``, ``env``, ``tags``, ``network_config``). ``moment`` fixes the clock of
    generated names (the SDK uses "now"); give explicit names for idempotent definitions.
    """
    kind = check_monitoring_type(monitoring_type)
    check_one_time_window(schedule_cron_expression, data_analysis_start_time, data_analysis_end_time)
    schedule = monitor_schedule_name or default_schedule_name(base_job_name, moment)
    definition = job_definition_name or default_job_definition_name(kind, base_job_name, moment)
    if output_s3_uri is None:
        if not default_bucket:
            raise ClarifyConfigError(
                "output_s3_uri is not set and there is no default bucket: pass output_s3_uri='s3://bucket/prefix' "
                "(where each execution writes analysis.json and constraint_violations.json).",
                field="output_s3_uri",
            )
        output_s3_uri = default_output_s3_uri(default_bucket, schedule, default_bucket_prefix)
    check_s3_uri("output_s3_uri", output_s3_uri)
    upload = None
    if analysis_config is None:
        raise ClarifyConfigError(
            "analysis_config is mandatory: pass a BiasAnalysisConfig / ExplainabilityAnalysisConfig or the S3 URI "
            "of an uploaded monitoring analysis config.",
            field="analysis_config",
        )
    if isinstance(analysis_config, str):
        config_uri = analysis_config
    else:
        body = analysis_config if isinstance(analysis_config, dict) else analysis_config.to_dict()
        config_uri = analysis_config_upload_uri(output_s3_uri, definition, config_uuid)
        upload = (config_uri, body)
    request = job_definition_request(
        kind,
        job_definition_name=definition,
        image_uri=image_uri,
        analysis_config_uri=config_uri,
        role=role,
        output_s3_uri=output_s3_uri,
        endpoint_input=endpoint_input,
        batch_transform_input=batch_transform_input,
        ground_truth_input=ground_truth_input,
        constraints=constraints,
        baselining_job_name=baselining_job_name,
        enable_cloudwatch_metrics=enable_cloudwatch_metrics,
        schedule_cron_expression=schedule_cron_expression,
        **resources,
    )
    schedule_request = create_schedule_request(
        schedule,
        definition,
        kind,
        schedule_cron_expression=schedule_cron_expression,
        data_analysis_start_time=data_analysis_start_time,
        data_analysis_end_time=data_analysis_end_time,
        tags=resources.get("tags"),
    )
    return MonitoringRequests(request, schedule_request, upload)
