"""Operators that run SageMaker Clarify analyses (bias, explainability, Model Monitor baselines).

One base class, :class:`ClarifyBaseOperator`, does the work; the subclasses only say which analysis
config to build from which SDK-style config objects (``DataConfig``, ``BiasConfig``, ...; plain dicts
of the same keyword arguments work too). Every run goes through the same steps:

1. build the ``analysis_config`` dict and run its preflight (schema v1.0 plus the semantic checks of
   :mod:`airflow_provider_clarify.analysis.preflight`: metric names, bias inputs, predictor, join
   column, S3 URIs, ...) and validate the CreateProcessingJob request, *before any AWS call*: a bad
   config fails the task at once and is not retried; preflight warnings go to the task log;
2. pick the task instance's **deterministic job name** (from ``dag_id``, ``task_id``, ``run_id`` and
   ``map_index``, never ``try_number``) and look it up, so a retry re-attaches to the job its earlier try
   started (in progress or completed) instead of paying for a second one; only when that job
   ``Failed`` or was ``Stopped`` does a fresh job with a ``-2``, ``-3``, ... suffix start;
3. upload ``analysis_config.json`` and start the job (or, with ``compute="local"``, run the open engine
   on the worker through :func:`~airflow_provider_clarify.operators.local_compute.run_local_analysis`);
4. wait in the worker or deferred in the triggerer; ``Failed`` and ``Stopped`` fail the task with the
   job's ``FailureReason`` identically in both modes;
5. return the ``analysis_result`` URI (XCom ``return_value``) and push ``job_name``, ``job_arn`` and
   ``analysis_config_uri``.

Importing this module must stay cheap (DAG parsing imports it constantly): no numeric libraries, and
the config classes are only imported when a task runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, conf

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.processing_job import (
    analysis_config_upload_uri,
    processing_job_request,
    result_uri_from_description,
    validate_job_name,
)
from airflow_provider_clarify.history import record_analysis
from airflow_provider_clarify.hooks.clarify import ClarifyHook, ClarifyJobFailedException, job_completed
from airflow_provider_clarify.links.clarify import ClarifyAnalysisResultLink, ClarifyProcessingJobLink
from airflow_provider_clarify.operators import _job_lifecycle as lifecycle
from airflow_provider_clarify.operators._arguments import as_int, as_seconds
from airflow_provider_clarify.operators._job_lifecycle import ClarifyJobTimeoutException, clarify_job_name
from airflow_provider_clarify.operators._lineage import annotate_outlets, lineage_datasets, operator_lineage

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_clarify.analysis.analysis_config import AnalysisConfig

__all__ = [
    "ClarifyBaseOperator",
    "ClarifyBiasAndExplainabilityOperator",
    "ClarifyBiasOperator",
    "ClarifyExplainabilityOperator",
    "ClarifyInvalidConfigException",
    "ClarifyJobFailedException",
    "ClarifyJobTimeoutException",
    "ClarifyPostTrainingBiasOperator",
    "ClarifyPreTrainingBiasOperator",
    "ClarifySuggestBaselineOperator",
    "clarify_job_name",
]

_COMPUTE_CHOICES = ("sagemaker", "local")
#: The SDK config class each config-object argument becomes (a dict of its keyword arguments works too).
_CONFIG_CLASSES = {
    "data_config": "DataConfig",
    "bias_config": "BiasConfig",
    "model_config": "ModelConfig",
    "model_predicted_label_config": "ModelPredictedLabelConfig",
}


class ClarifyInvalidConfigException(AirflowFailException):
    """The analysis config or a job parameter is invalid; retrying cannot help, so no retry happens.

    ``__cause__`` is the :class:`~airflow_provider_clarify.analysis.errors.ClarifyConfigError` (with
    ``.field``, ``.value``, ``.accepted``) when there is one.
    """


# --- the base operator -------------------------------------------------------------------------------


class ClarifyBaseOperator(AwsBaseOperator[ClarifyHook]):
    """Run one SageMaker Clarify analysis and hand its ``analysis_result`` URI downstream.

    Use a subclass for the common analyses; use this class directly with ``analysis_config`` (a
    complete analysis_config dict, or an ``AnalysisConfig``) plus ``data_config`` (for the dataset and
    output locations) to run any analysis config as is.

    :param data_config: ``DataConfig`` (or a dict of its keyword arguments): dataset and output S3
        locations, label, headers, dataset type. Templated, including nested values.
    :param analysis_config: a ready analysis_config dict or ``AnalysisConfig`` (base class only).
    :param role: IAM role name or ARN that SageMaker assumes; a bare name is expanded to its ARN
        through IAM (as the SDK does). Required for ``compute="sagemaker"``.
    :param instance_count: processing instances (1-100); more than one runs Clarify's Spark mode.
    :param instance_type: processing instance type (default ``ml.c5.xlarge``; Clarify uses no GPUs).
    :param volume_size_in_gb: instance volume size (default 30).
    :param volume_kms_key: KMS key for the instance volume.
    :param output_kms_key: KMS key for the job's outputs.
    :param max_runtime_in_seconds: the job's ``StoppingCondition`` (at most 604800, 7 days).
    :param env: environment variables for the container.
    :param tags: ``{key: value}`` tags (or the API list form) for the job.
    :param network_config: ``{"EnableInterContainerTrafficEncryption": ..., "VpcConfig": ...}`` (API
        shape) or an object with ``to_request_dict()``; network isolation must stay off for Clarify.
    :param job_name: an explicit job name (templated); default: deterministic per task instance.
    :param job_name_prefix: prefix of the deterministic name (default: the SDK's name for the analysis,
        e.g. ``Clarify-Pretraining-Bias``).
    :param version: Clarify container image version (only ``"1.0"`` exists).
    :param image_uri: use this image instead of the region's Clarify image (e.g. a private mirror).
    :param kms_key: KMS key for the uploaded ``analysis_config.json`` (SSE-KMS).
    :param experiment_config: SageMaker Experiments association (``ExperimentName``, ``TrialName``, ...).
    :param wait_for_completion: wait until the job ends (default); ``False`` returns right after the
        job started (the return value is then the URI the job will write to).
    :param check_interval: seconds between DescribeProcessingJob polls (worker or triggerer).
    :param max_ingestion_time: longest wait in seconds; when exceeded the job is stopped and the task
        fails (``None``: wait until the job ends by itself).
    :param deferrable: wait in the triggerer instead of a worker slot (default from
        ``[operators] default_deferrable``).
    :param reuse_completed_job: on a retry or clear, adopt a ``Completed`` job of this task instance
        whose inputs and analysis config equal the current ones instead of running again (default).
    :param compute: ``"sagemaker"`` (the managed Clarify container) or ``"local"`` (the open engine on
        the worker; same files, same XCom).
    :param local_model: for ``compute="local"``: where predictions come from (a URL of a server that
        speaks the SageMaker hosting contract, or a model-artifact spec; see the local-compute docs).
    :param aws_conn_id: the Airflow ``aws`` connection (``endpoint_url`` in its extra is honoured).
    :param region_name: AWS region (default: the connection's).
    :param verify: TLS verification for AWS calls.
    :param botocore_config: botocore client configuration dict.
    """

    aws_hook_class = ClarifyHook
    operator_extra_links = (ClarifyProcessingJobLink(), ClarifyAnalysisResultLink())
    template_fields: Sequence[str] = aws_template_fields(
        "data_config",
        "analysis_config",
        "role",
        "instance_count",
        "instance_type",
        "volume_size_in_gb",
        "volume_kms_key",
        "output_kms_key",
        "max_runtime_in_seconds",
        "env",
        "tags",
        "network_config",
        "job_name",
        "job_name_prefix",
        "version",
        "image_uri",
        "kms_key",
        "experiment_config",
        "compute",
        "local_model",
        "check_interval",
        "max_ingestion_time",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "analysis_config": "json",
        "env": "json",
        "tags": "json",
        "network_config": "json",
        "experiment_config": "json",
    }
    template_ext: Sequence[str] = ()
    ui_color = "#c7e9f1"

    #: Which analysis the subclass builds (also selects the SDK's default job-name prefix).
    analysis_kind: ClassVar[str] = "custom"
    default_job_name_prefix: ClassVar[str] = "Clarify-Analysis"

    def __init__(
        self,
        *,
        data_config: Any = None,
        analysis_config: Any = None,
        role: str | None = None,
        instance_count: int = 1,
        instance_type: str = "ml.c5.xlarge",
        volume_size_in_gb: int = 30,
        volume_kms_key: str | None = None,
        output_kms_key: str | None = None,
        max_runtime_in_seconds: int | None = None,
        env: dict[str, str] | None = None,
        tags: dict[str, str] | list[dict[str, str]] | None = None,
        network_config: Any = None,
        job_name: str | None = None,
        job_name_prefix: str | None = None,
        version: str | None = None,
        image_uri: str | None = None,
        kms_key: str | None = None,
        experiment_config: dict[str, str] | None = None,
        wait_for_completion: bool = True,
        check_interval: int = 30,
        max_ingestion_time: int | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        reuse_completed_job: bool = True,
        compute: str = "sagemaker",
        local_model: str | dict | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.data_config = data_config
        self.analysis_config = analysis_config
        self.role = role
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.volume_size_in_gb = volume_size_in_gb
        self.volume_kms_key = volume_kms_key
        self.output_kms_key = output_kms_key
        self.max_runtime_in_seconds = max_runtime_in_seconds
        self.env = env
        self.tags = tags
        self.network_config = network_config
        self.job_name = job_name
        self.job_name_prefix = job_name_prefix
        self.version = version
        self.image_uri = image_uri
        self.kms_key = kms_key
        self.experiment_config = experiment_config
        self.wait_for_completion = wait_for_completion
        self.check_interval = check_interval
        self.max_ingestion_time = max_ingestion_time
        self.deferrable = deferrable
        self.reuse_completed_job = reuse_completed_job
        self.compute = compute
        self.local_model = local_model
        # Set while a job of this task is being waited for in the worker (on_kill stops it).
        self._running_job_name: str | None = None
        self._lineage_uris: dict[str, str | None] | None = None

    # -- building and validating (pure; no AWS) --------------------------------------------------------

    def build_analysis_config(self) -> AnalysisConfig:
        """Build the ``AnalysisConfig`` for this task from its (rendered) arguments.

        Subclasses override this; the base class uses ``analysis_config`` as given.
        """
        from airflow_provider_clarify.analysis.analysis_config import AnalysisConfig

        if isinstance(self.analysis_config, AnalysisConfig):
            return self.analysis_config
        if isinstance(self.analysis_config, Mapping):
            data_config = self._data_config()
            return AnalysisConfig.from_dict(
                dict(self.analysis_config),
                s3_data_input_path=getattr(data_config, "s3_data_input_path", None),
                s3_output_path=getattr(data_config, "s3_output_path", None),
                s3_analysis_config_output_path=getattr(data_config, "s3_analysis_config_output_path", None),
            )
        raise ClarifyConfigError(
            f"analysis_config is {self.analysis_config!r}; ClarifyBaseOperator needs a complete "
            "analysis_config dict or an AnalysisConfig (or use one of the Clarify*Operator subclasses)",
            field="analysis_config",
            value=self.analysis_config,
            accepted="a dict or AnalysisConfig",
        )

    def _config_object(self, field: str, value: Any, class_name: str) -> Any:
        """Turn a plain dict of SDK keyword arguments into the config class (objects pass through)."""
        from airflow_provider_clarify import analysis

        if value is None or not isinstance(value, Mapping):
            return value
        cls = getattr(analysis, class_name)
        try:
            return cls(**dict(value))
        except TypeError as err:
            raise ClarifyConfigError(
                f"{field} has an unknown or missing keyword for {class_name}: {err}",
                field=field,
                value=dict(value),
                accepted=f"the keyword arguments of {class_name}",
            ) from err

    def _data_config(self) -> Any:
        return self._config("data_config")

    def _config(self, name: str) -> Any:
        """The config-object argument ``name`` (``bias_config``, ...) as its SDK config class."""
        return self._config_object(name, getattr(self, name, None), _CONFIG_CLASSES[name])

    def _explainability_config(self) -> Any:
        """``explainability_config`` as ``SHAPConfig``/``PDPConfig`` object(s)."""
        return _explainability_configs(
            "explainability_config", getattr(self, "explainability_config", None), self._config_object
        )

    def _model_scores(self) -> Any:
        """``model_scores``: an index/JSONPath as given, a dict as ``ModelPredictedLabelConfig``."""
        model_scores = getattr(self, "model_scores", None)
        if isinstance(model_scores, Mapping):
            return self._config_object("model_scores", model_scores, "ModelPredictedLabelConfig")
        return model_scores

    def _locations(self, config: AnalysisConfig) -> tuple[str | None, str, str | None]:
        """``(dataset_uri, output_uri, s3_analysis_config_output_path)`` from the configs."""
        data_config = self._data_config()
        dataset_uri = getattr(config, "s3_data_input_path", None) or getattr(
            data_config, "s3_data_input_path", None
        )
        output_uri = getattr(config, "s3_output_path", None) or getattr(data_config, "s3_output_path", None)
        config_path = getattr(config, "s3_analysis_config_output_path", None) or getattr(
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

    def _validated_config(self, *, log_warnings: bool = False) -> tuple[AnalysisConfig, dict]:
        """Build the config and run its preflight (schema + semantic checks, both compute modes).

        Errors raise :class:`ClarifyConfigError` (all of them at once); warnings, such as CDDL
        requested without ``group_variable``, go to the task log when ``log_warnings``.
        """
        config = self.build_analysis_config()
        instance_count = (
            as_int("instance_count", self.instance_count, minimum=1) if self.compute == "sagemaker" else 1
        )
        warnings = config.preflight(instance_count=instance_count, compute=self.compute)
        if log_warnings:
            for warning in warnings:
                self.log.warning("Clarify preflight warning: %s", warning)
        return config, config.to_dict()

    def _job_settings(self) -> dict[str, Any]:
        """The CreateProcessingJob keyword arguments that come straight from this operator's parameters."""
        return {
            "instance_type": self.instance_type,
            "instance_count": as_int("instance_count", self.instance_count, minimum=1),
            "volume_size_in_gb": as_int("volume_size_in_gb", self.volume_size_in_gb, minimum=1),
            "volume_kms_key": self.volume_kms_key or None,
            "output_kms_key": self.output_kms_key or None,
            "max_runtime_in_seconds": as_int(
                "max_runtime_in_seconds", self.max_runtime_in_seconds, minimum=1, optional=True
            ),
            "env": self.env or None,
            "tags": self.tags or None,
            "network_config": self.network_config or None,
            "experiment_config": self.experiment_config or None,
            "version": self.version,
            "image_uri": self.image_uri or None,
        }

    def _check_wait_parameters(self) -> None:
        self.check_interval = as_seconds("check_interval", self.check_interval)
        self.max_ingestion_time = as_int(
            "max_ingestion_time", self.max_ingestion_time, minimum=1, optional=True
        )

    def _base_job_name(self, context: Context, config: AnalysisConfig) -> str:
        if self.job_name:
            return validate_job_name(self.job_name, field="job_name")
        ti = context["ti"]
        default_prefix = self.default_job_name_prefix
        if self.analysis_kind == "custom":
            default_prefix = getattr(config, "default_job_name_prefix", None) or default_prefix
        prefix = self.job_name_prefix or default_prefix
        if self.job_name_prefix:
            lifecycle.validate_prefix(str(prefix))
        return clarify_job_name(
            str(prefix),
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            run_id=ti.run_id,
            map_index=getattr(ti, "map_index", -1),
        )

    # -- execute -----------------------------------------------------------------------------------------

    def execute(self, context: Context) -> str:
        try:
            if self.compute not in _COMPUTE_CHOICES:
                raise ClarifyConfigError(
                    f"compute is {self.compute!r}; expected one of {', '.join(_COMPUTE_CHOICES)}",
                    field="compute",
                    value=self.compute,
                    accepted=" or ".join(_COMPUTE_CHOICES),
                )
            self._check_wait_parameters()
            config, config_dict = self._validated_config(log_warnings=True)
            dataset_uri, output_uri, config_path = self._locations(config)
            base_name = self._base_job_name(context, config)
            if self.compute == "local":
                return self._execute_local(context, config_dict, dataset_uri, output_uri, base_name)
            settings = self._job_settings()
            self._preflight(config_dict, dataset_uri, output_uri, config_path, base_name, settings)
            return self._execute_sagemaker(
                context, config_dict, dataset_uri, output_uri, config_path, base_name, settings
            )
        except ClarifyConfigError as err:
            raise ClarifyInvalidConfigException(f"Invalid Clarify configuration: {err}") from err

    def _preflight(
        self,
        config_dict: dict,
        dataset_uri: str | None,
        output_uri: str,
        config_path: str | None,
        base_name: str,
        settings: dict[str, Any],
    ) -> None:
        """Validate everything the CreateProcessingJob request needs, without any AWS call."""
        if not self.role:
            raise ClarifyConfigError(
                "role is missing; compute='sagemaker' needs the IAM role (name or ARN) SageMaker assumes",
                field="role",
                value=self.role,
                accepted="an IAM role name or ARN",
            )
        role = str(self.role)
        placeholder_role = role if role.startswith("arn:") else "arn:aws:iam::000000000000:role/preflight"
        self._request(
            config_dict,
            dataset_uri,
            output_uri,
            config_path,
            lifecycle.attempt_name(base_name, 2),
            placeholder_role,
            settings,
            # The connection's region picks the Clarify image; resolving it reads the Airflow
            # connection and builds a client, but sends no request to AWS.
            region=self.region_name or self.hook.conn_region_name,
        )

    def _request(
        self,
        config_dict: dict,
        dataset_uri: str | None,
        output_uri: str,
        config_path: str | None,
        job_name: str,
        role_arn: str,
        settings: dict[str, Any],
        region: str,
    ) -> dict[str, Any]:
        data_config = self._data_config()
        return processing_job_request(
            job_name=job_name,
            role_arn=role_arn,
            analysis_config_uri=analysis_config_upload_uri(config_path or output_uri, job_name),
            dataset_uri=dataset_uri,
            output_uri=output_uri,
            dataset_type=config_dict.get("dataset_type", "text/csv"),
            region=region,
            s3_compression_type=getattr(data_config, "s3_compression_type", None) or "None",
            **settings,
        )

    # -- SageMaker path ---------------------------------------------------------------------------------

    def _execute_sagemaker(
        self,
        context: Context,
        config_dict: dict,
        dataset_uri: str | None,
        output_uri: str,
        config_path: str | None,
        base_name: str,
        settings: dict[str, Any],
    ) -> str:
        hook = self.hook
        region = hook.conn_region_name
        role_arn = hook.expand_role(str(self.role))

        def request_for(name: str) -> dict[str, Any]:
            return self._request(
                config_dict, dataset_uri, output_uri, config_path, name, role_arn, settings, region
            )

        job_name, description = lifecycle.resolve_job(
            hook,
            base_name,
            config_dict=config_dict,
            request_for=request_for,
            reuse_completed_job=self.reuse_completed_job,
            log=self.log,
        )
        if description is None:
            request = request_for(job_name)
            config_uri = lifecycle.analysis_config_uri(request)
            hook.upload_analysis_config(config_dict, config_uri, kms_key=self.kms_key or None)
            response = hook.start_processing_job(request)
            job_arn = response.get("ProcessingJobArn")
            self.log.info("Started Clarify processing job %s (%s).", job_name, job_arn)
            result_uri = output_uri
        else:
            job_arn = description.get("ProcessingJobArn")
            config_uri = lifecycle.analysis_config_uri(description)
            result_uri = result_uri_from_description(description) or output_uri

        self._lineage_uris = {"dataset": dataset_uri, "config": config_uri, "result": result_uri}
        self._push(context, job_name=job_name, job_arn=job_arn, analysis_config_uri=config_uri)
        ClarifyProcessingJobLink.persist_job(
            context=context,
            operator=self,
            region_name=region,
            aws_partition=hook.conn_partition,
            job_name=job_name,
        )
        ClarifyAnalysisResultLink.persist_result(
            context=context,
            operator=self,
            region_name=region,
            aws_partition=hook.conn_partition,
            result_uri=result_uri,
        )
        self.log.info(
            "Clarify job console: %s",
            ClarifyProcessingJobLink().format_link(
                aws_domain=ClarifyProcessingJobLink.get_aws_domain(hook.conn_partition),
                region_name=region,
                job_name=job_name,
            ),
        )

        if not self.wait_for_completion:
            return result_uri
        self._running_job_name = job_name  # from here on, on_kill stops the job
        current = description or hook.describe_processing_job(job_name)
        if job_completed(job_name, current["ProcessingJobStatus"], current.get("FailureReason")):
            return self._finish(context, result_uri)
        if self.deferrable:
            self._defer(job_name, result_uri)
        return self._wait(context, job_name, result_uri)

    def _push(self, context: Context, **values: Any) -> None:
        if not self.do_xcom_push:
            return
        for key, value in values.items():
            context["ti"].xcom_push(key=key, value=value)

    def _wait(self, context: Context, job_name: str, result_uri: str) -> str:
        """Poll in the worker until the job ends (same outcome as the deferred wait); ``on_kill`` stops it meanwhile."""
        self._running_job_name = job_name
        try:
            lifecycle.poll_until_done(
                self.hook,
                job_name,
                check_interval=self.check_interval,
                max_ingestion_time=self.max_ingestion_time,
                log=self.log,
            )
        finally:
            self._running_job_name = None
        return self._finish(context, result_uri)

    def _defer(self, job_name: str, result_uri: str) -> None:
        from airflow_provider_clarify.triggers.clarify import ClarifyProcessingJobTrigger

        self.defer(
            trigger=ClarifyProcessingJobTrigger(
                job_name=job_name,
                analysis_result_uri=result_uri,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                botocore_config=self.botocore_config,
                check_interval=self.check_interval,
                max_ingestion_time=self.max_ingestion_time,
            ),
            method_name="execute_complete",
            timeout=lifecycle.deferral_timeout(self.check_interval, self.max_ingestion_time),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        """Resume after the trigger fired: same outcome and messages as the synchronous path.

        The event's job status goes through :func:`job_completed` and a timeout through
        :func:`~airflow_provider_clarify.operators._job_lifecycle.stop_for_timeout`, exactly as when
        the task waits in the worker.
        """
        if not event or "status" not in event:
            raise AirflowException(f"Clarify trigger returned no usable event: {event!r}")
        status = event["status"]
        job_name = event.get("job_name", "?")
        if status in ("success", "failed"):
            job_status = "Completed" if status == "success" else event.get("job_status", "Failed")
            job_completed(job_name, job_status, event.get("failure_reason"))
            return self._finish(context, event["analysis_result_uri"])
        if status == "timeout":
            self.max_ingestion_time = as_int(
                "max_ingestion_time", self.max_ingestion_time, minimum=1, optional=True
            )
            lifecycle.stop_for_timeout(self.hook, job_name, self.max_ingestion_time, self.log)
        raise AirflowException(f"Clarify trigger reported an error: {event.get('message', event)}")

    def _finish(self, context: Context, result_uri: str) -> str:
        """Record success: asset-event extras, lineage, subclass extras; return the result URI."""
        if self._lineage_uris is None:
            self._lineage_uris = self._lineage_from_arguments(result_uri)
        else:
            self._lineage_uris["result"] = result_uri
        annotate_outlets(context, self.outlets or [], result_uri, self.log)
        self.after_success(context, result_uri)
        record_analysis(context, result_uri, read_bytes=self.hook.read_bytes)  # fairness history
        self.log.info("Clarify analysis result: %s", result_uri)
        return result_uri

    def after_success(self, context: Context, result_uri: str) -> None:
        """Hook for subclasses that push more XCom after a successful analysis (default: nothing)."""

    # -- local path -------------------------------------------------------------------------------------

    def _execute_local(
        self,
        context: Context,
        config_dict: dict,
        dataset_uri: str | None,
        output_uri: str,
        run_name: str,
    ) -> str:
        from airflow_provider_clarify.operators.local_compute import run_local_analysis

        outcome = run_local_analysis(
            analysis_config=config_dict,
            dataset_uri=dataset_uri,
            output_uri=output_uri,
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            verify=self.verify,
            local_model=self.local_model,
            run_name=run_name,
            timeout_seconds=self.max_ingestion_time,
            logger=self.log,
        )
        self._lineage_uris = {
            "dataset": dataset_uri,
            "config": outcome.analysis_config_uri,
            "result": outcome.analysis_result_uri,
        }
        self._push(
            context,
            job_name=outcome.job_name,
            job_arn=None,
            analysis_config_uri=outcome.analysis_config_uri,
        )
        if outcome.analysis_result_uri.startswith("s3://") and self.do_xcom_push:
            ClarifyAnalysisResultLink.persist_result(
                context=context,
                operator=self,
                region_name=self.hook.conn_region_name,
                aws_partition=self.hook.conn_partition,
                result_uri=outcome.analysis_result_uri,
            )
        return self._finish(context, outcome.analysis_result_uri)

    # -- kill and lineage -------------------------------------------------------------------------------

    def on_kill(self) -> None:
        """Stop the processing job this task is waiting for, so it does not keep running (and billing)."""
        job_name = self._running_job_name
        if not job_name:
            return
        self.log.info("Task killed; stopping Clarify processing job %s.", job_name)
        try:
            self.hook.stop_processing_job(job_name)
        except Exception:
            self.log.exception("Could not stop Clarify processing job %s", job_name)

    def _lineage_from_arguments(self, result_uri: str | None) -> dict[str, str | None] | None:
        try:
            config = self.build_analysis_config()
            dataset_uri, output_uri, _ = self._locations(config)
        except Exception:
            return None
        return {"dataset": dataset_uri, "config": None, "result": result_uri or output_uri}

    def lineage_datasets(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """``(inputs, outputs)`` as OpenLineage ``(namespace, name)`` pairs: dataset (+ config) in, result out."""
        return lineage_datasets(self._lineage_uris or self._lineage_from_arguments(None) or {})

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage facets: the dataset (and analysis config) read, the analysis result written.

        Returns ``None`` when the OpenLineage provider is not installed (it is an optional extra).
        """
        return operator_lineage(*self.lineage_datasets())


# --- the analyses --------------------------------------------------------------------------------------


class ClarifyPreTrainingBiasOperator(ClarifyBaseOperator):
    """Measure bias in the training data itself (class imbalance, label proportions, ...), no model needed.

    :param data_config: ``DataConfig`` or dict (dataset, output, label, headers).
    :param bias_config: ``BiasConfig`` or dict (``label_values_or_threshold``, ``facet_name``,
        ``facet_values_or_threshold``, ``group_name``).
    :param methods: ``"all"`` or a list of pre-training metric names (e.g. ``["CI", "DPL"]``).

    All other parameters: :class:`ClarifyBaseOperator`.
    """

    template_fields: Sequence[str] = (*ClarifyBaseOperator.template_fields, "bias_config", "methods")
    analysis_kind = "pre_training_bias"
    default_job_name_prefix = "Clarify-Pretraining-Bias"

    def __init__(
        self, *, data_config: Any, bias_config: Any, methods: str | list[str] = "all", **kwargs: Any
    ):
        super().__init__(data_config=data_config, **kwargs)
        self.bias_config = bias_config
        self.methods = methods

    def build_analysis_config(self) -> AnalysisConfig:
        from airflow_provider_clarify.analysis.analysis_config import AnalysisConfig

        return AnalysisConfig.pre_training_bias(
            self._data_config(),
            self._config("bias_config"),
            methods=self.methods,
        )


class ClarifyPostTrainingBiasOperator(ClarifyBaseOperator):
    """Measure bias in a model's predictions (DPPL, DI, DCA, ...).

    Predictions come from ``model_config`` (a model or endpoint the job invokes) or from a predicted
    label column in the dataset (``DataConfig.predicted_label``).

    :param data_config: ``DataConfig`` or dict.
    :param bias_config: ``BiasConfig`` or dict.
    :param model_config: ``ModelConfig`` or dict (``model_name`` + instances, or ``endpoint_name``).
    :param model_predicted_label_config: ``ModelPredictedLabelConfig`` or dict (how to read the
        model's output: ``label``, ``probability``, ``probability_threshold``, ``label_headers``).
    :param methods: ``"all"`` or a list of post-training metric names.

    All other parameters: :class:`ClarifyBaseOperator`.
    """

    template_fields: Sequence[str] = (
        *ClarifyBaseOperator.template_fields,
        "bias_config",
        "model_config",
        "model_predicted_label_config",
        "methods",
    )
    analysis_kind = "post_training_bias"
    default_job_name_prefix = "Clarify-Posttraining-Bias"

    def __init__(
        self,
        *,
        data_config: Any,
        bias_config: Any,
        model_config: Any = None,
        model_predicted_label_config: Any = None,
        methods: str | list[str] = "all",
        **kwargs: Any,
    ):
        super().__init__(data_config=data_config, **kwargs)
        self.bias_config = bias_config
        self.model_config = model_config
        self.model_predicted_label_config = model_predicted_label_config
        self.methods = methods

    def build_analysis_config(self) -> AnalysisConfig:
        from airflow_provider_clarify.analysis.analysis_config import AnalysisConfig

        return AnalysisConfig.post_training_bias(
            self._data_config(),
            self._config("bias_config"),
            model_config=self._config("model_config"),
            model_predicted_label_config=self._config("model_predicted_label_config"),
            methods=self.methods,
        )


class ClarifyBiasOperator(ClarifyBaseOperator):
    """Pre- and post-training bias in one job (the SDK's ``run_bias``).

    :param data_config: ``DataConfig`` or dict.
    :param bias_config: ``BiasConfig`` or dict.
    :param model_config: ``ModelConfig`` or dict (optional when the dataset has predicted labels).
    :param model_predicted_label_config: ``ModelPredictedLabelConfig`` or dict.
    :param pre_training_methods: ``"all"``, a list of metric names, or ``None`` to skip.
    :param post_training_methods: ``"all"``, a list of metric names, or ``None`` to skip.

    All other parameters: :class:`ClarifyBaseOperator`.
    """

    template_fields: Sequence[str] = (
        *ClarifyBaseOperator.template_fields,
        "bias_config",
        "model_config",
        "model_predicted_label_config",
        "pre_training_methods",
        "post_training_methods",
    )
    analysis_kind = "bias"
    default_job_name_prefix = "Clarify-Bias"

    def __init__(
        self,
        *,
        data_config: Any,
        bias_config: Any,
        model_config: Any = None,
        model_predicted_label_config: Any = None,
        pre_training_methods: str | list[str] | None = "all",
        post_training_methods: str | list[str] | None = "all",
        **kwargs: Any,
    ):
        super().__init__(data_config=data_config, **kwargs)
        self.bias_config = bias_config
        self.model_config = model_config
        self.model_predicted_label_config = model_predicted_label_config
        self.pre_training_methods = pre_training_methods
        self.post_training_methods = post_training_methods

    def build_analysis_config(self) -> AnalysisConfig:
        from airflow_provider_clarify.analysis.analysis_config import AnalysisConfig

        return AnalysisConfig.bias(
            self._data_config(),
            self._config("bias_config"),
            model_config=self._config("model_config"),
            model_predicted_label_config=self._config("model_predicted_label_config"),
            pre_training_methods=self.pre_training_methods,
            post_training_methods=self.post_training_methods,
        )


def _explainability_configs(field: str, value: Any, coerce: Any) -> Any:
    """``SHAPConfig``/``PDPConfig`` objects, or dicts ``{"shap": {...}}`` / ``{"pdp": {...}}`` (or a list)."""

    classes = {"shap": "SHAPConfig", "pdp": "PDPConfig"}
    if isinstance(value, list | tuple):
        items: list[Any] = []
        for index, item in enumerate(value):
            converted = _explainability_configs(f"{field}[{index}]", item, coerce)
            items.extend(converted if isinstance(converted, list) else [converted])
        return items
    if not isinstance(value, Mapping):
        return value
    unknown = sorted(set(value) - set(classes))
    if unknown or not value:
        raise ClarifyConfigError(
            f"{field} has keys {sorted(value)}; expected a SHAPConfig/PDPConfig or a dict keyed by "
            "'shap' and/or 'pdp' with their keyword arguments",
            field=field,
            value=dict(value),
            accepted="{'shap': {...}} and/or {'pdp': {...}}",
        )
    converted = [coerce(f"{field}.{key}", dict(value[key]), classes[key]) for key in value]
    return converted[0] if len(converted) == 1 else converted


class ClarifyExplainabilityOperator(ClarifyBaseOperator):
    """Explain a model's predictions with Kernel SHAP and/or partial dependence plots.

    :param data_config: ``DataConfig`` or dict.
    :param model_config: ``ModelConfig`` or dict: the model or endpoint the job invokes.
    :param explainability_config: ``SHAPConfig``/``PDPConfig`` (or a list of them), or a dict
        ``{"shap": {...SHAPConfig kwargs}, "pdp": {...PDPConfig kwargs}}``.
    :param model_scores: which model output to explain: an index/JSONPath string, or a
        ``ModelPredictedLabelConfig`` (or dict).

    All other parameters: :class:`ClarifyBaseOperator`.
    """

    template_fields: Sequence[str] = (
        *ClarifyBaseOperator.template_fields,
        "model_config",
        "explainability_config",
        "model_scores",
    )
    analysis_kind = "explainability"
    default_job_name_prefix = "Clarify-Explainability"

    def __init__(
        self,
        *,
        data_config: Any,
        model_config: Any,
        explainability_config: Any,
        model_scores: Any = None,
        **kwargs: Any,
    ):
        super().__init__(data_config=data_config, **kwargs)
        self.model_config = model_config
        self.explainability_config = explainability_config
        self.model_scores = model_scores

    def build_analysis_config(self) -> AnalysisConfig:
        from airflow_provider_clarify.analysis.analysis_config import AnalysisConfig

        return AnalysisConfig.explainability(
            self._data_config(),
            self._config("model_config"),
            self._explainability_config(),
            model_scores=self._model_scores(),
        )


class ClarifyBiasAndExplainabilityOperator(ClarifyBaseOperator):
    """Bias (pre- and post-training) and explanations in a single job (the SDK's ``run_bias_and_explainability``).

    :param data_config: ``DataConfig`` or dict.
    :param model_config: ``ModelConfig`` or dict.
    :param explainability_config: as for :class:`ClarifyExplainabilityOperator`.
    :param bias_config: ``BiasConfig`` or dict.
    :param pre_training_methods: ``"all"``, a list of metric names, or ``None`` to skip.
    :param post_training_methods: ``"all"``, a list of metric names, or ``None`` to skip.
    :param model_predicted_label_config: ``ModelPredictedLabelConfig`` or dict.

    All other parameters: :class:`ClarifyBaseOperator`.
    """

    template_fields: Sequence[str] = (
        *ClarifyBaseOperator.template_fields,
        "model_config",
        "explainability_config",
        "bias_config",
        "pre_training_methods",
        "post_training_methods",
        "model_predicted_label_config",
    )
    analysis_kind = "bias_and_explainability"
    default_job_name_prefix = "Clarify-Bias-And-Explainability"

    def __init__(
        self,
        *,
        data_config: Any,
        model_config: Any,
        explainability_config: Any,
        bias_config: Any,
        pre_training_methods: str | list[str] | None = "all",
        post_training_methods: str | list[str] | None = "all",
        model_predicted_label_config: Any = None,
        **kwargs: Any,
    ):
        super().__init__(data_config=data_config, **kwargs)
        self.model_config = model_config
        self.explainability_config = explainability_config
        self.bias_config = bias_config
        self.pre_training_methods = pre_training_methods
        self.post_training_methods = post_training_methods
        self.model_predicted_label_config = model_predicted_label_config

    def build_analysis_config(self) -> AnalysisConfig:
        from airflow_provider_clarify.analysis.analysis_config import AnalysisConfig

        return AnalysisConfig.bias_and_explainability(
            data_config=self._data_config(),
            model_config=self._config("model_config"),
            explainability_config=self._explainability_config(),
            bias_config=self._config("bias_config"),
            pre_training_methods=self.pre_training_methods,
            post_training_methods=self.post_training_methods,
            model_predicted_label_config=self._config("model_predicted_label_config"),
        )


_MONITORING_TYPES = ("ModelBias", "ModelExplainability")


class ClarifySuggestBaselineOperator(ClarifyBaseOperator):
    """Compute a Model Monitor baseline, as the SDK's ``ModelBiasMonitor`` / ``ModelExplainabilityMonitor.suggest_baseline``.

    Runs a normal Clarify job (``ModelBias``: pre- and post-training bias, all metrics;
    ``ModelExplainability``: SHAP). Its ``analysis.json`` *is* the baseline constraints file.
    Besides the usual XCom it pushes:

    * ``constraints_uri``: ``<analysis_result>/analysis.json``;
    * ``monitoring_analysis_config``: the compact analysis config a monitoring job definition needs
      (``ModelBias``: ``label_values_or_threshold``, ``facet``, ``group_variable``, ``headers``,
      ``label``; ``ModelExplainability``: ``methods.shap``, ``predictor``, feature ``headers``);
    * ``monitoring_input_attributes``: the ``EndpointInput`` attributes the SDK derives
      (``features_attribute``, ``inference_attribute``, ``probability_attribute``,
      ``probability_threshold_attribute``), only those that are set.

    :param monitoring_type: ``"ModelBias"`` or ``"ModelExplainability"``.
    :param data_config: ``DataConfig`` or dict.
    :param model_config: ``ModelConfig`` or dict.
    :param bias_config: ``BiasConfig`` or dict (``ModelBias``).
    :param model_predicted_label_config: ``ModelPredictedLabelConfig`` or dict (``ModelBias``).
    :param explainability_config: ``SHAPConfig`` or ``{"shap": {...}}`` (``ModelExplainability``).
    :param model_scores: model output to explain (``ModelExplainability``).

    All other parameters: :class:`ClarifyBaseOperator` (default job-name prefix
    ``baseline-suggestion-job``, as the SDK).
    """

    template_fields: Sequence[str] = (
        *ClarifyBaseOperator.template_fields,
        "monitoring_type",
        "model_config",
        "bias_config",
        "model_predicted_label_config",
        "explainability_config",
        "model_scores",
    )
    analysis_kind = "suggest_baseline"
    default_job_name_prefix = "baseline-suggestion-job"

    def __init__(
        self,
        *,
        monitoring_type: str,
        data_config: Any,
        model_config: Any,
        bias_config: Any = None,
        model_predicted_label_config: Any = None,
        explainability_config: Any = None,
        model_scores: Any = None,
        **kwargs: Any,
    ):
        super().__init__(data_config=data_config, **kwargs)
        self.monitoring_type = monitoring_type
        self.model_config = model_config
        self.bias_config = bias_config
        self.model_predicted_label_config = model_predicted_label_config
        self.explainability_config = explainability_config
        self.model_scores = model_scores

    def _require(self, field: str) -> None:
        """Fail (ClarifyConfigError) when the argument ``field`` this monitoring type needs is missing."""

        if getattr(self, field) is None:
            raise ClarifyConfigError(
                f"{field} is required for monitoring_type={self.monitoring_type!r}",
                field=field,
                value=None,
                accepted=f"a {field} for the {self.monitoring_type} baseline",
            )

    def build_analysis_config(self) -> AnalysisConfig:
        from airflow_provider_clarify.analysis.analysis_config import AnalysisConfig

        data_config = self._data_config()
        model_config = self._config("model_config")
        if self.monitoring_type == "ModelBias":
            self._require("bias_config")
            return AnalysisConfig.bias(
                data_config,
                self._config("bias_config"),
                model_config=model_config,
                model_predicted_label_config=self._config("model_predicted_label_config"),
                pre_training_methods="all",
                post_training_methods="all",
            )
        if self.monitoring_type == "ModelExplainability":
            model_scores = self._model_scores()
            self._require("explainability_config")
            return AnalysisConfig.explainability(
                data_config, model_config, self._explainability_config(), model_scores=model_scores
            )
        raise ClarifyConfigError(
            f"monitoring_type is {self.monitoring_type!r}; expected one of {', '.join(_MONITORING_TYPES)}",
            field="monitoring_type",
            value=self.monitoring_type,
            accepted=" or ".join(_MONITORING_TYPES),
        )

    def monitoring_analysis_config(self, config_dict: Mapping[str, Any]) -> dict[str, Any]:
        """The compact monitoring analysis config (clarify-formats §6.3) derived from the job's config."""
        if self.monitoring_type == "ModelBias":
            compact = {
                k: config_dict[k]
                for k in ("label_values_or_threshold", "facet", "group_variable")
                if k in config_dict
            }
            for key in ("headers", "label"):
                if config_dict.get(key) is not None:
                    compact[key] = config_dict[key]
            return compact
        methods = config_dict.get("methods", {})
        compact = {"methods": {"shap": methods["shap"]}} if "shap" in methods else {"methods": {}}
        if "predictor" in config_dict:
            compact["predictor"] = {
                k: v for k, v in config_dict["predictor"].items() if k not in ("label", "probability")
            }
        headers = config_dict.get("headers")
        if headers is not None:
            label = config_dict.get("label")
            compact["headers"] = [h for h in headers if h != label]
        return compact

    def monitoring_input_attributes(self) -> dict[str, Any]:
        """The ``EndpointInput`` attributes ``suggest_baseline`` remembers (only those that are set)."""
        data_config = self._data_config()
        attributes: dict[str, Any] = {}
        features = getattr(data_config, "features", None)
        if features is not None:
            attributes["features_attribute"] = features
        if self.monitoring_type == "ModelBias":
            label_config = self._config("model_predicted_label_config")
            if label_config is not None:
                for source, target in (
                    ("label", "inference_attribute"),
                    ("probability", "probability_attribute"),
                ):
                    value = getattr(label_config, source, None)
                    if value is not None:
                        attributes[target] = str(value)
                threshold = getattr(label_config, "probability_threshold", None)
                if threshold is not None:
                    attributes["probability_threshold_attribute"] = threshold
        elif self.model_scores is not None:
            scores = self.model_scores
            if isinstance(scores, Mapping):
                scores = scores.get("label")
            elif not isinstance(scores, str | int):
                scores = getattr(scores, "label", None)
            attributes["inference_attribute"] = str(scores)
        return attributes

    def after_success(self, context: Context, result_uri: str) -> None:
        _config, config_dict = self._validated_config()
        self._push(
            context,
            constraints_uri=f"{result_uri.rstrip('/')}/analysis.json",
            monitoring_analysis_config=self.monitoring_analysis_config(config_dict),
            monitoring_input_attributes=self.monitoring_input_attributes(),
        )
