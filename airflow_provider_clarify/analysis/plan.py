"""The plan of one Clarify task run: built once from the rendered operator arguments, then only read.

:func:`build_plan` turns an operator's arguments (config objects or plain dicts, job settings) into a
frozen :class:`AnalysisPlan`: the composed ``analysis_config`` (composed and preflighted exactly
once), the dataset / output / config locations, the job settings, the methods that need a model and,
for a Model Monitor baseline, what the monitoring schedule will need. The SageMaker path, the local
path and the operators' success step all read the same plan; nothing is rebuilt on the way.

:meth:`AnalysisPlan.request` gives the CreateProcessingJob request for a job name, role and region.
The request was built and validated once, when the plan was made (with a placeholder name and
role), so a bad job parameter fails before any AWS call and later calls only fill in the three
run-time values.

Each job gets its own config location (:meth:`AnalysisPlan.config_uri`), so re-attaching to an
earlier job compares against the config that job was really started with. See
``docs/architecture.md`` (the plan) and ``docs/operators.md`` (retries and re-attaching).

Pure Python: no Airflow, no AWS SDK, no numeric library.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_clarify.analysis import coercion
from airflow_provider_clarify.analysis.analysis_config import AnalysisConfig
from airflow_provider_clarify.analysis.capabilities import model_methods, spark_problems
from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.preflight import check_preflight
from airflow_provider_clarify.analysis.processing_job import (
    analysis_config_upload_uri,
    clarify_image_uri,
    job_analysis_config_uri,
    processing_job_request,
    validate_job_name,
    validate_role_arn,
)
from airflow_provider_clarify.analysis.spark_processing import (
    default_dependencies_uri,
    spark_image_uri,
    spark_processing_job_request,
    staging_uris,
)
from airflow_provider_clarify.analysis.suggest_baseline import (
    MONITORING_TYPES,
    monitoring_analysis_config,
    monitoring_input_attributes,
)

__all__ = ["PLAN_KINDS", "AnalysisPlan", "JobSettings", "build_plan", "uncertainty_options"]

#: What an operator may ask for: the SDK run methods, a ready config (``custom``) and a baseline.
PLAN_KINDS: tuple[str, ...] = (
    "pre_training_bias",
    "post_training_bias",
    "bias",
    "explainability",
    "bias_and_explainability",
    "custom",
    "suggest_baseline",
)
#: Name and role that stand in while the request is validated at plan time.
_PLACEHOLDER_JOB = "clarify-plan-placeholder"
_PLACEHOLDER_ROLE = "arn:aws:iam::000000000000:role/clarify-plan-placeholder"


@dataclass(frozen=True)
class JobSettings:
    """The CreateProcessingJob settings that come straight from operator arguments (already cast)."""

    instance_type: str = "ml.c5.xlarge"
    instance_count: int = 1
    volume_size_in_gb: int = 30
    volume_kms_key: str | None = None
    output_kms_key: str | None = None
    max_runtime_in_seconds: int | None = None
    env: Mapping[str, str] | None = None
    tags: Any = None
    network_config: Any = None
    experiment_config: Mapping[str, str] | None = None
    version: str | None = None
    image_uri: str | None = None
    #: ``compute="sagemaker_spark"``: the dependency bundle (``None``: the operator builds it once).
    spark_dependencies_uri: str | None = None

    def as_request_arguments(self) -> dict[str, Any]:
        """The keyword arguments of :func:`~.processing_job.processing_job_request` they fill."""
        return {
            "instance_type": self.instance_type,
            "instance_count": self.instance_count,
            "volume_size_in_gb": self.volume_size_in_gb,
            "volume_kms_key": self.volume_kms_key or None,
            "output_kms_key": self.output_kms_key or None,
            "max_runtime_in_seconds": self.max_runtime_in_seconds,
            "env": self.env or None,
            "tags": self.tags or None,
            "network_config": self.network_config or None,
            "experiment_config": self.experiment_config or None,
            "version": self.version,
            "image_uri": self.image_uri or None,
        }


@dataclass(frozen=True)
class AnalysisPlan:
    """Everything one run of a Clarify task needs, decided before any AWS call.

    Immutable: the config and request are held as JSON text and handed out as fresh copies.

    :param kind: one of :data:`PLAN_KINDS`.
    :param compute: ``"sagemaker"``, ``"sagemaker_spark"`` (the open engine on the Spark image) or ``"local"``.
    :param config_json: the composed, preflighted ``analysis_config`` (JSON text).
    :param dataset_uri: the dataset location (``None``: the config's own ``dataset_uri``).
    :param output_uri: the ``analysis_result`` location (no trailing slash).
    :param config_base_uri: where configs are uploaded (``s3_analysis_config_output_path`` or the output).
    :param job_settings: the job's instance, volume, KMS, network, ... settings.
    :param model_methods: the requested methods that call a model.
    :param warnings: preflight warnings, for the task log.
    :param default_job_name_prefix: the SDK's job-name base for this analysis.
    :param region: the region the request was validated for (picks the Clarify image).
    :param monitoring_json: for a baseline: ``{"monitoring_analysis_config", "monitoring_input_attributes"}``.
    :param confidence_intervals_json: the coerced ``confidence_intervals`` option (``.to_dict()``).
    :param intersections_json: the coerced ``intersections`` option (``.to_dict()``).
    """

    kind: str
    compute: str
    config_json: str
    dataset_uri: str | None
    output_uri: str
    config_base_uri: str
    job_settings: JobSettings = field(default_factory=JobSettings)
    model_methods: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    default_job_name_prefix: str = "Clarify-Analysis"
    region: str | None = None
    request_template_json: str | None = None
    monitoring_json: str | None = None
    confidence_intervals_json: str | None = None
    intersections_json: str | None = None

    # -- the config --------------------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        """The ``analysis_config`` dict (a fresh copy; what the job reads)."""
        return json.loads(self.config_json)

    @property
    def config_digest(self) -> str:
        """sha256 of the config's canonical JSON (sorted keys): equal configs, equal digests."""
        return hashlib.sha256(json.dumps(self.config, sort_keys=True).encode("utf-8")).hexdigest()

    @property
    def monitoring(self) -> dict[str, Any] | None:
        """For a baseline: the monitoring analysis config and ``EndpointInput`` attributes (else ``None``)."""
        return None if self.monitoring_json is None else json.loads(self.monitoring_json)

    @property
    def confidence_intervals(self) -> dict[str, Any] | None:
        """The ``ConfidenceIntervalConfig`` fields asked for (``compute="local"`` only), else ``None``."""
        return None if self.confidence_intervals_json is None else json.loads(self.confidence_intervals_json)

    @property
    def intersections(self) -> dict[str, Any] | None:
        """The ``IntersectionConfig`` fields asked for (``compute="local"`` only), else ``None``."""
        return None if self.intersections_json is None else json.loads(self.intersections_json)

    # -- locations ---------------------------------------------------------------------------------
    def config_uri(self, job_name: str) -> str:
        """Where the config of job ``job_name`` is uploaded (one location per job)."""
        return job_analysis_config_uri(self.config_base_uri, job_name)

    @property
    def published_config_uri(self) -> str:
        """``<config base>/analysis_config.json``: the SDK's place, written only after a job completed."""
        return analysis_config_upload_uri(self.config_base_uri)

    def input_uris(self) -> list[tuple[str, str]]:
        """``(field, uri)`` of every input the analysis reads: dataset, facet and predicted-label
        datasets, SHAP baseline file (model artifacts are the operator's ``local_model``)."""
        config = self.config
        uris: list[tuple[str, Any]] = [("data_config.s3_data_input_path", self.dataset_uri)]
        if self.dataset_uri is None:
            uris = [("dataset_uri", config.get("dataset_uri"))]
        uris += [(key, config.get(key)) for key in ("facet_dataset_uri", "predicted_label_dataset_uri")]
        methods = config.get("methods") if isinstance(config.get("methods"), Mapping) else {}
        for method in ("shap", "asymmetric_shapley_value"):
            block = methods.get(method)
            baseline = block.get("baseline") if isinstance(block, Mapping) else None
            if isinstance(baseline, str) and "://" in baseline:
                uris.append((f"methods.{method}.baseline", baseline))
        return [(name, uri) for name, uri in uris if isinstance(uri, str) and uri]

    # -- the job request ---------------------------------------------------------------------------
    def request(self, job_name: str, role_arn: str, region: str | None = None) -> dict[str, Any]:
        """The CreateProcessingJob request for ``job_name`` (validated; only name, role and region vary).

        :raises ClarifyConfigError: a bad job name or role ARN, or a plan made for ``compute="local"``.
        """
        if self.request_template_json is None:
            raise ClarifyConfigError(
                "this plan was made for compute='local'; it has no processing-job request",
                field="compute",
                value=self.compute,
                accepted="sagemaker",
            )
        request = json.loads(self.request_template_json)
        request["ProcessingJobName"] = validate_job_name(job_name)
        request["RoleArn"] = validate_role_arn(role_arn)
        staged = staging_uris(self.config_base_uri, job_name) if self.compute == "sagemaker_spark" else {}
        for item in request["ProcessingInputs"]:
            if item["InputName"] == "analysis_config":
                item["S3Input"]["S3Uri"] = self.config_uri(job_name)
            elif item["InputName"] in staged:  # the Spark job's entry script and package, per job
                item["S3Input"]["S3Uri"] = staged[item["InputName"]]
        if region is not None and region != self.region and not self.job_settings.image_uri:
            image = spark_image_uri if self.compute == "sagemaker_spark" else clarify_image_uri
            request["AppSpecification"]["ImageUri"] = image(region, self.job_settings.version)
        return request


# --- building ---------------------------------------------------------------------------------------


def _require(arguments: Mapping[str, Any], name: str, monitoring_type: str) -> None:
    if arguments.get(name) is None:
        raise ClarifyConfigError(
            f"{name} is required for monitoring_type={monitoring_type!r}",
            field=name,
            value=None,
            accepted=f"a {name} for the {monitoring_type} baseline",
        )


def _analysis_config(kind: str, arguments: Mapping[str, Any], converted: dict[str, Any]) -> AnalysisConfig:
    """The :class:`AnalysisConfig` of ``kind`` from the converted config objects."""
    data = converted.get("data_config")
    if kind == "custom":
        given = arguments.get("analysis_config")
        if isinstance(given, AnalysisConfig):
            return given
        if isinstance(given, Mapping):
            return AnalysisConfig.from_dict(
                given,
                s3_data_input_path=getattr(data, "s3_data_input_path", None),
                s3_output_path=getattr(data, "s3_output_path", None),
                s3_analysis_config_output_path=getattr(data, "s3_analysis_config_output_path", None),
            )
        raise ClarifyConfigError(
            f"analysis_config is {given!r}; ClarifyBaseOperator needs a complete analysis_config dict or an "
            "AnalysisConfig (or use one of the Clarify*Operator subclasses)",
            field="analysis_config",
            value=given,
            accepted="a dict or AnalysisConfig",
        )
    parts: dict[str, Any] = {"data_config": data, "model_config": converted.get("model_config")}
    if kind in ("pre_training_bias", "post_training_bias", "bias", "bias_and_explainability"):
        parts["bias_config"] = converted.get("bias_config")
    if kind in ("post_training_bias", "bias", "bias_and_explainability"):
        parts["model_predicted_label_config"] = converted.get("model_predicted_label_config")
    if kind == "pre_training_bias":
        parts["pre_training_methods"] = arguments.get("methods", "all")
    elif kind == "post_training_bias":
        parts["post_training_methods"] = arguments.get("methods", "all")
    elif kind in ("bias", "bias_and_explainability"):
        parts["pre_training_methods"] = arguments.get("pre_training_methods", "all")
        parts["post_training_methods"] = arguments.get("post_training_methods", "all")
    if kind in ("explainability", "bias_and_explainability"):
        parts["explainability_config"] = converted.get("explainability_config")
    if kind == "explainability":
        parts["model_predicted_label_config"] = converted.get("model_scores")
    return AnalysisConfig(kind, **parts, _precheck=False)


def _baseline_kind(arguments: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A baseline runs bias (all metrics) or SHAP: the run kind and its arguments."""
    monitoring_type = arguments.get("monitoring_type")
    if monitoring_type == "ModelBias":
        _require(arguments, "bias_config", monitoring_type)
        return "bias", {**arguments, "pre_training_methods": "all", "post_training_methods": "all"}
    if monitoring_type == "ModelExplainability":
        _require(arguments, "explainability_config", monitoring_type)
        return "explainability", dict(arguments)
    raise ClarifyConfigError(
        f"monitoring_type is {monitoring_type!r}; expected one of {', '.join(MONITORING_TYPES)}",
        field="monitoring_type",
        value=monitoring_type,
        accepted=" or ".join(MONITORING_TYPES),
    )


def _convert(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Every config-object argument as its config class, each converted exactly once."""
    converted = {name: coercion.config_object(name, arguments.get(name)) for name in coercion.CONFIG_CLASSES}
    converted["explainability_config"] = coercion.explainability_configs(
        arguments.get("explainability_config")
    )
    converted["model_scores"] = coercion.model_scores(arguments.get("model_scores"))
    return converted


def _locations(config: AnalysisConfig, data_config: Any) -> tuple[str | None, str, str | None]:
    """``(dataset_uri, output_uri, config output path)`` from the config, else its ``DataConfig``."""
    dataset_uri = config.s3_data_input_path or getattr(data_config, "s3_data_input_path", None)
    output_uri = config.s3_output_path or getattr(data_config, "s3_output_path", None)
    config_path = config.s3_analysis_config_output_path or getattr(
        data_config, "s3_analysis_config_output_path", None
    )
    if not output_uri:
        raise ClarifyConfigError(
            "data_config.s3_output_path is missing; give a DataConfig with the output location",
            field="data_config.s3_output_path",
            value=output_uri,
            accepted="an s3:// URI (or, with compute='local', a local path)",
        )
    return dataset_uri, str(output_uri).rstrip("/"), config_path


def uncertainty_options(arguments: Mapping[str, Any], compute: str) -> tuple[str | None, str | None]:
    """The ``confidence_intervals`` / ``intersections`` options as JSON (``None``: off), coerced.

    Rendered templates arrive as text, so a string is read as JSON (``"true"``, ``'{"level": 0.9}'``).
    Only the open engine computes them: with ``compute="sagemaker"`` they are refused, because the
    Clarify container would silently ignore them.

    :raises ClarifyConfigError: an invalid option (naming the field), or an option with SageMaker.
    """
    from airflow_provider_clarify.analysis.uncertainty import ConfidenceIntervalConfig, IntersectionConfig

    found: dict[str, str | None] = {}
    for name, config_class in (
        ("confidence_intervals", ConfidenceIntervalConfig),
        ("intersections", IntersectionConfig),
    ):
        value = arguments.get(name)
        if isinstance(value, str):
            text = value.strip()
            try:
                value = json.loads(text) if text else None
            except ValueError:
                raise ClarifyConfigError(
                    f"{name} is {value!r}, which is not JSON; give a dict of the "
                    f"{config_class.__name__} fields (or True for confidence_intervals)",
                    field=name,
                    value=value,
                    accepted=f"a {config_class.__name__}, a dict of its fields, JSON text of one, or None",
                ) from None
        coerced = config_class.coerce(value)
        if coerced is not None and compute != "local":
            raise ClarifyConfigError(
                f"{name} needs compute='local': the SageMaker Clarify container does not compute it "
                "(see docs/uncertainty.md)",
                field=name,
                value=compute,
                accepted="compute='local', or remove the option",
            )
        found[name] = None if coerced is None else json.dumps(coerced.to_dict())
    return found["confidence_intervals"], found["intersections"]


def build_plan(
    kind: str,
    arguments: Mapping[str, Any],
    *,
    compute: str = "sagemaker",
    job_settings: JobSettings | None = None,
    region: str | None = None,
    role: str | None = None,
    model_given: bool = False,
) -> AnalysisPlan:
    """Compose, preflight and plan one run from rendered operator arguments (no AWS call).

    :param kind: one of :data:`PLAN_KINDS`.
    :param arguments: the operator's rendered arguments by name: ``data_config``, ``analysis_config``,
        ``bias_config``, ``model_config``, ``model_predicted_label_config``, ``explainability_config``,
        ``model_scores``, ``methods``, ``pre_training_methods``, ``post_training_methods``,
        ``monitoring_type`` (those the kind uses; config objects or dicts of their keyword arguments),
        and the open engine's ``confidence_intervals`` / ``intersections`` (see :func:`uncertainty_options`).
    :param compute: ``"sagemaker"`` (the request is built and validated), ``"sagemaker_spark"`` (the
        open engine's Spark backend as a job on the SageMaker Spark image; the config must be one the
        Spark backend computes), ``"spark"`` (the same check; the operators submit to a cluster) or
        ``"local"``.
    :param job_settings: the job's settings (``compute="sagemaker"``).
    :param region: the region of the job; picks the Clarify image (``compute="sagemaker"``).
    :param role: the role as given; an ARN is validated now, a bare name is expanded later.
    :param model_given: ``compute="spark"``: the operator passes a model (``local_model``) to the
        Spark backend, so its explanations need no ``predictor.endpoint_name``.
    :raises ClarifyConfigError: every problem of the config (all preflight errors at once), or of a
        job setting, naming the field.
    """
    if kind not in PLAN_KINDS:
        raise ClarifyConfigError.invalid("kind", kind, ", ".join(PLAN_KINDS))
    intervals_json, intersections_json = uncertainty_options(arguments, compute)
    job_settings = job_settings or JobSettings()
    run_kind, run_arguments = _baseline_kind(arguments) if kind == "suggest_baseline" else (kind, arguments)
    converted = _convert(run_arguments)
    analysis = _analysis_config(run_kind, run_arguments, converted)
    config = analysis.to_dict()
    dataset_uri, output_uri, config_path = _locations(analysis, converted["data_config"])
    instance_count = job_settings.instance_count if compute == "sagemaker" else 1
    warnings = check_preflight(
        config,
        instance_count=instance_count,
        # the Spark job reads S3 inputs like the Clarify container, then the engine's Spark limits apply
        compute="sagemaker" if compute == "sagemaker_spark" else compute,
        dataset_uri=dataset_uri,
    )
    if compute in ("spark", "sagemaker_spark"):
        problems = spark_problems(config, model_given=model_given and compute == "spark")
        if problems:
            raise ClarifyConfigError.from_problems(
                problems, subject=f"analysis_config (compute={compute!r})", values=config
            )
    config_json = json.dumps(config)
    base_uri = str(config_path or output_uri)
    request_template = None
    if compute == "sagemaker":
        role_arn = role if isinstance(role, str) and role.startswith("arn:") else _PLACEHOLDER_ROLE
        request_template = processing_job_request(
            job_name=_PLACEHOLDER_JOB,
            role_arn=role_arn,
            analysis_config_uri=job_analysis_config_uri(base_uri, _PLACEHOLDER_JOB),
            dataset_uri=dataset_uri,
            output_uri=output_uri,
            dataset_type=config.get("dataset_type", "text/csv"),
            region=region,
            s3_compression_type=getattr(converted["data_config"], "s3_compression_type", None) or "None",
            **job_settings.as_request_arguments(),
        )
    elif compute == "sagemaker_spark":
        role_arn = role if isinstance(role, str) and role.startswith("arn:") else _PLACEHOLDER_ROLE
        request_template = spark_processing_job_request(
            job_name=_PLACEHOLDER_JOB,
            role_arn=role_arn,
            analysis_config_uri=job_analysis_config_uri(base_uri, _PLACEHOLDER_JOB),
            dataset_uri=dataset_uri,
            output_uri=output_uri,
            dependencies_uri=job_settings.spark_dependencies_uri or default_dependencies_uri(base_uri),
            staging_base_uri=base_uri,
            region=region,
            **job_settings.as_request_arguments(),
        )
    monitoring = None
    if kind == "suggest_baseline":
        monitoring_type = arguments["monitoring_type"]
        monitoring = {
            "monitoring_analysis_config": monitoring_analysis_config(monitoring_type, config),
            "monitoring_input_attributes": monitoring_input_attributes(
                monitoring_type,
                data_config=converted["data_config"],
                label_config=converted["model_predicted_label_config"],
                model_scores=arguments.get("model_scores"),
            ),
        }
    return AnalysisPlan(
        kind=kind,
        compute=compute,
        config_json=config_json,
        dataset_uri=dataset_uri,
        output_uri=output_uri,
        config_base_uri=base_uri,
        job_settings=job_settings,
        model_methods=model_methods(config),
        warnings=tuple(str(w) for w in warnings),
        default_job_name_prefix=analysis.default_job_name_prefix,
        region=region,
        request_template_json=None if request_template is None else json.dumps(request_template),
        monitoring_json=None if monitoring is None else json.dumps(monitoring),
        confidence_intervals_json=intervals_json,
        intersections_json=intersections_json,
    )
