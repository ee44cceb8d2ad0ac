"""Operators that run SageMaker Clarify analyses (bias, explainability, Model Monitor baselines).

One base class, :class:`ClarifyBaseOperator`, does the work; the subclasses only say which analysis
they run (``analysis_kind``) and which SDK-style config objects it is built from
(``config_arguments``: ``DataConfig``, ``BiasConfig``, ...; plain dicts of the same keyword arguments
work too). Every run goes through the same steps:

1. build the run's **plan** once (:func:`~airflow_provider_clarify.analysis.plan.build_plan`): the
   ``analysis_config`` dict composed and preflighted (schema plus the semantic checks of
   :mod:`airflow_provider_clarify.analysis.preflight`; with ``compute="local"`` also what the open
   engine cannot run), the locations and the validated CreateProcessingJob request, *before any AWS
   call*: a bad config fails the task at once and is not retried; preflight warnings go to the task log;
2. pick the task instance's **deterministic job name** (from ``dag_id``, ``task_id``, ``run_id`` and
   ``map_index``, never ``try_number`` or the logical date) and look it up, so a retry re-attaches to
   the job its earlier try started (running, or completed with the same config and inputs) instead of
   paying for a second one; a ``Failed``/``Stopped`` job or one started with another config moves on
   to a fresh job with a ``-2``, ``-3``, ... suffix;
3. check that the inputs exist, upload the job's own ``<job name>/analysis_config.json`` and start the
   job (or, with ``compute="local"``, run the open engine on the worker through
   :func:`~airflow_provider_clarify.operators.local_compute.run_local_analysis`);
4. wait in the worker or deferred in the triggerer; ``Failed`` and ``Stopped`` fail the task with the
   job's ``FailureReason`` identically in both modes;
5. on success copy the job's config to ``analysis_config.json`` beside its results, return the
   ``analysis_result`` URI (XCom ``return_value``) and push ``job_name``, ``job_arn`` and
   ``analysis_config_uri`` (the config the job read).

Importing this module must stay cheap (DAG parsing imports it constantly): no numeric libraries, and
the config classes are only imported when a task runs. See ``docs/operators.md`` and
``docs/architecture.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, conf

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.processing_job import result_uri_from_description, validate_job_name
from airflow_provider_clarify.history import record_analysis
from airflow_provider_clarify.hooks.clarify import ClarifyHook, ClarifyJobFailedException, job_completed
from airflow_provider_clarify.links.clarify import (
    ClarifyAnalysisResultLink,
    ClarifyProcessingJobLink,
    record_persisted_links,
)
from airflow_provider_clarify.operators import _job_lifecycle as lifecycle
from airflow_provider_clarify.operators._arguments import as_int, as_seconds
from airflow_provider_clarify.operators._job_lifecycle import ClarifyJobTimeoutException, clarify_job_name
from airflow_provider_clarify.operators._lineage import annotate_outlets, lineage_datasets, operator_lineage

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_clarify.analysis.plan import AnalysisPlan

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

_COMPUTE_CHOICES = ("sagemaker", "local", "spark", "sagemaker_spark")
#: The compute modes that run a SageMaker Processing job (same lifecycle, hook and trigger).
_SAGEMAKER_JOBS = ("sagemaker", "sagemaker_spark")


def _renders_later(value: Any) -> bool:
    """Whether ``value`` is (or holds) a Jinja template or an XCom reference, known only at run time."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(_renders_later(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_renders_later(v) for v in value)
    return hasattr(value, "resolve") and hasattr(value, "iter_references")


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
    :param max_runtime_in_seconds: the job's ``StoppingCondition`` (at most 604800, 7 days, for Clarify;
        777600 with ``compute="sagemaker_spark"``).
    :param env: environment variables for the container.
    :param tags: ``{key: value}`` tags (or the API list form) for the job.
    :param network_config: ``{"EnableInterContainerTrafficEncryption": ..., "VpcConfig": ...}`` (API
        shape) or an object with ``to_request_dict()``; network isolation must stay off for Clarify.
    :param job_name: an explicit job name (templated); default: deterministic per task instance.
    :param job_name_prefix: prefix of the deterministic name (default: the SDK's name for the analysis,
        e.g. ``Clarify-Pretraining-Bias``).
    :param version: Clarify container image version (only ``"1.0"`` exists); with
        ``compute="sagemaker_spark"`` the Spark image version (only ``"3.5"``).
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
    :param compute: ``"sagemaker"`` (the managed Clarify container), ``"local"`` (the open engine on
        the worker), ``"spark"`` (the open engine's Spark backend on a Spark cluster: bias metrics,
        tabular Kernel SHAP and PDP; docs/scale-out.md) or ``"sagemaker_spark"`` (the open engine's Spark backend as a
        SageMaker Processing job on the SDK's Spark image, for accounts without Clarify; bias metrics
        from dataset columns, see docs/scale-out.md); same files, same XCom.
    :param spark_dependencies_uri: for ``compute="sagemaker_spark"``: S3 URI of a prebuilt dependency
        bundle (``python -m airflow_provider_clarify.spark_bundle``); ``None`` (default): the worker
        builds it once with pip and keeps it under the config location.
    :param local_model: for ``compute="local"``: where predictions come from (a URL of a server that
        speaks the SageMaker hosting contract, or a model-artifact spec; see the local-compute docs).
        For ``compute="spark"``: the model the explanations call (the same forms; a URL or an endpoint
        is called from the executors, an artifact is loaded by the driver and broadcast);
        ``None``: the config's ``predictor.endpoint_name``.
    :param memory_limit_mb: for ``compute="local"``: cap the engine's address space at this many MiB
        (at least 256), so a runaway analysis fails with a memory error instead of swapping the worker.
        ``None`` (default): no cap.
    :param spark_conn_id: for ``compute="spark"``: the apache-spark provider's connection, of type
        ``spark`` (``spark-submit`` to its master) or ``spark_connect`` (``sc://``). Templated.
    :param spark_options: for ``compute="spark"``: ``conf`` (Spark settings), ``ship_package``
        (default ``True``: send this package with the job) and, with ``spark-submit``,
        ``SparkSubmitHook`` arguments (``executor_memory``, ``num_executors``, ``archives``,
        ``deploy_mode``, ...). Templated.
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
        "memory_limit_mb",
        "spark_dependencies_uri",
        "spark_conn_id",
        "spark_options",
        "check_interval",
        "max_ingestion_time",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "analysis_config": "json",
        "env": "json",
        "tags": "json",
        "network_config": "json",
        "experiment_config": "json",
        "spark_options": "json",
    }
    template_ext: Sequence[str] = ()
    ui_color = "#c7e9f1"

    #: Which analysis the subclass builds (a kind of :func:`~airflow_provider_clarify.analysis.plan.build_plan`).
    analysis_kind: ClassVar[str] = "custom"
    #: The operator attributes the plan is built from (config objects or dicts, method lists).
    config_arguments: ClassVar[tuple[str, ...]] = ("data_config", "analysis_config")
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
        memory_limit_mb: int | None = None,
        spark_dependencies_uri: str | None = None,
        spark_conn_id: str = "spark_default",
        spark_options: dict[str, Any] | None = None,
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
        self.memory_limit_mb = memory_limit_mb
        self.spark_dependencies_uri = spark_dependencies_uri
        self.spark_conn_id = spark_conn_id
        self.spark_options = spark_options
        if compute == "spark":  # what can be checked now fails the DAG import, not the run
            from airflow_provider_clarify.operators.spark_compute import check_spark_arguments

            check_spark_arguments(
                analysis_kind=self.analysis_kind,
                data_config=data_config,
                local_model=local_model,
                spark_conn_id=spark_conn_id,
                spark_options=spark_options,
            )
        self._spark_run: Any = None  # the compute="spark" submission in flight (on_kill stops it)
        # Set while a job of this task is being waited for in the worker (on_kill stops it).
        self._running_job_name: str | None = None
        self._lineage_uris: dict[str, str | None] | None = None

    # -- open-engine options: confidence intervals, intersections ---------------------------------------

    def _set_uncertainty_options(self, confidence_intervals: Any, intersections: Any = None) -> None:
        """Keep the options (templated) and, when given as literals, check them now (at DAG parse time)."""
        self.confidence_intervals = confidence_intervals
        self.intersections = intersections
        given = {"confidence_intervals": confidence_intervals, "intersections": intersections}
        if any(_renders_later(value) for value in given.values()):
            return  # checked after rendering, when the plan is built
        from airflow_provider_clarify.analysis.plan import uncertainty_options

        compute = (
            self.compute if isinstance(self.compute, str) and not _renders_later(self.compute) else "local"
        )
        uncertainty_options(given, compute)

    # -- the plan (pure; no AWS call) ------------------------------------------------------------------

    def plan_arguments(self) -> tuple[str, dict[str, Any]]:
        """``(plan kind, rendered arguments)`` this task's plan is built from.

        Subclasses name their arguments in :attr:`config_arguments`; a subclass that still overrides
        ``build_analysis_config()`` (returning an ``AnalysisConfig``) runs that config as is.
        """
        legacy = getattr(self, "build_analysis_config", None)
        if callable(legacy):
            return "custom", {"analysis_config": legacy(), "data_config": self.data_config}
        return self.analysis_kind, {name: getattr(self, name, None) for name in self.config_arguments}

    def make_plan(self) -> AnalysisPlan:
        """Build this run's :class:`~airflow_provider_clarify.analysis.plan.AnalysisPlan` (once per run).

        Composes and preflights the config (schema and semantic checks, the open engine's limits
        with ``compute="local"``) and validates the job request, all before any AWS call.

        :raises ClarifyConfigError: every problem at once, naming the field.
        """
        from airflow_provider_clarify.analysis.plan import JobSettings, build_plan

        if self.compute not in _COMPUTE_CHOICES:
            raise ClarifyConfigError(
                f"compute is {self.compute!r}; expected one of {', '.join(_COMPUTE_CHOICES)}",
                field="compute",
                value=self.compute,
                accepted=" or ".join(_COMPUTE_CHOICES),
            )
        kind, arguments = self.plan_arguments()
        if self.compute == "spark":  # the open engine's Spark backend; local_model explains
            from airflow_provider_clarify.operators.spark_compute import make_spark_plan

            return make_spark_plan(kind, arguments, model_given=self.local_model not in (None, "", {}))
        if self.compute == "local":  # the open engine on the worker
            return build_plan(kind, arguments, compute=self.compute)
        settings = JobSettings(
            instance_type=self.instance_type,
            instance_count=as_int("instance_count", self.instance_count, minimum=1),
            volume_size_in_gb=as_int("volume_size_in_gb", self.volume_size_in_gb, minimum=1),
            volume_kms_key=self.volume_kms_key or None,
            output_kms_key=self.output_kms_key or None,
            max_runtime_in_seconds=as_int(
                "max_runtime_in_seconds", self.max_runtime_in_seconds, minimum=1, optional=True
            ),
            env=self.env or None,
            tags=self.tags or None,
            network_config=self.network_config or None,
            experiment_config=self.experiment_config or None,
            version=self.version,
            image_uri=self.image_uri or None,
            spark_dependencies_uri=self.spark_dependencies_uri or None,
        )
        plan = build_plan(
            kind,
            arguments,
            compute=self.compute,
            job_settings=settings,
            # The connection's region picks the Clarify image; resolving it reads the Airflow
            # connection but sends no request to AWS.
            region=self.region_name or self.hook.conn_region_name,
            role=str(self.role) if self.role else None,
        )
        if not self.role:
            raise ClarifyConfigError(
                f"role is missing; compute={self.compute!r} needs the IAM role (name or ARN) SageMaker assumes",
                field="role",
                value=self.role,
                accepted="an IAM role name or ARN",
            )
        return plan

    def _check_wait_parameters(self) -> None:
        self.check_interval = as_seconds("check_interval", self.check_interval)
        self.max_ingestion_time = as_int(
            "max_ingestion_time", self.max_ingestion_time, minimum=1, optional=True
        )
        self.memory_limit_mb = as_int("memory_limit_mb", self.memory_limit_mb, minimum=256, optional=True)

    def _base_job_name(self, context: Context, plan: AnalysisPlan) -> str:
        if self.job_name:
            return validate_job_name(self.job_name, field="job_name")
        ti = context["ti"]
        default_prefix = self.default_job_name_prefix
        if self.analysis_kind == "custom":
            default_prefix = plan.default_job_name_prefix or default_prefix
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
            self._check_wait_parameters()
            plan = self.make_plan()
            for warning in plan.warnings:
                self.log.warning("Clarify preflight warning: %s", warning)
            base_name = self._base_job_name(context, plan)
            if plan.compute == "local":
                return self._execute_local(context, plan, base_name)
            if plan.compute == "spark":
                return self._execute_spark(context, plan, base_name)
            return self._execute_sagemaker(context, plan, base_name)
        except ClarifyConfigError as err:
            raise ClarifyInvalidConfigException(f"Invalid Clarify configuration: {err}") from err

    # -- SageMaker path ---------------------------------------------------------------------------------

    def _execute_sagemaker(self, context: Context, plan: AnalysisPlan, base_name: str) -> str:
        hook = self.hook
        region = hook.conn_region_name
        role_arn = hook.expand_role(str(self.role))
        job_name, description = lifecycle.resolve_job(
            hook, base_name, plan=plan, reuse_completed_job=self.reuse_completed_job, log=self.log
        )
        if description is None:
            lifecycle.check_inputs(hook, plan)
            request = plan.request(job_name, role_arn, region)
            if plan.compute == "sagemaker_spark":
                from airflow_provider_clarify.operators import sagemaker_spark

                kms_key = self.kms_key or None
                sagemaker_spark.ensure_dependency_bundle(hook, plan, request, kms_key=kms_key, log=self.log)
                sagemaker_spark.stage_job_code(hook, plan, job_name, kms_key=kms_key, log=self.log)
            config_uri = plan.config_uri(job_name)
            hook.upload_analysis_config(plan.config, config_uri, kms_key=self.kms_key or None)
            job_arn = hook.start_processing_job(request).get("ProcessingJobArn")
            result_uri = plan.output_uri
        else:
            job_arn = description.get("ProcessingJobArn")
            config_uri = lifecycle.analysis_config_uri(description)
            result_uri = result_uri_from_description(description) or plan.output_uri

        self._lineage_uris = {"dataset": plan.dataset_uri, "config": config_uri, "result": result_uri}
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
            return self._finish(context, result_uri, plan, job_name)
        if self.deferrable:
            self._defer(job_name, result_uri)
        return self._wait(context, job_name, result_uri, plan)

    def _push(self, context: Context, **values: Any) -> None:
        if not self.do_xcom_push:
            return
        for key, value in values.items():
            context["ti"].xcom_push(key=key, value=value)

    def _wait(self, context: Context, job_name: str, result_uri: str, plan: AnalysisPlan) -> str:
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
        return self._finish(context, result_uri, plan, job_name)

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
        the task waits in the worker. The resumed task builds its plan once (it runs in a new process).
        """
        if not event or "status" not in event:
            raise AirflowException(f"Clarify trigger returned no usable event: {event!r}")
        status = event["status"]
        job_name = event.get("job_name", "?")
        if status in ("success", "failed"):
            job_status = "Completed" if status == "success" else event.get("job_status", "Failed")
            job_completed(job_name, job_status, event.get("failure_reason"))
            # The links were stored before the deferral; the resumed process formats them.
            record_persisted_links(self, ClarifyProcessingJobLink, ClarifyAnalysisResultLink)
            try:
                plan = self.make_plan()
            except ClarifyConfigError as err:
                raise ClarifyInvalidConfigException(f"Invalid Clarify configuration: {err}") from err
            return self._finish(context, event["analysis_result_uri"], plan, job_name)
        if status == "timeout":
            self.max_ingestion_time = as_int(
                "max_ingestion_time", self.max_ingestion_time, minimum=1, optional=True
            )
            lifecycle.stop_for_timeout(self.hook, job_name, self.max_ingestion_time, self.log)
        raise AirflowException(f"Clarify trigger reported an error: {event.get('message', event)}")

    def _finish(self, context: Context, result_uri: str, plan: AnalysisPlan, job_name: str | None) -> str:
        """Record success: the config beside the results, asset-event extras, lineage, subclass extras."""
        if job_name is not None and plan.compute in _SAGEMAKER_JOBS:
            lifecycle.publish_config(self.hook, plan, job_name, kms_key=self.kms_key or None, log=self.log)
        if self._lineage_uris is None:
            self._lineage_uris = {"dataset": plan.dataset_uri, "config": None, "result": result_uri}
        else:
            self._lineage_uris["result"] = result_uri
        annotate_outlets(context, self.outlets or [], result_uri, self.log)
        self.after_success(context, result_uri, plan)
        record_analysis(context, result_uri, read_bytes=self.hook.read_bytes)  # fairness history
        self.log.info("Clarify analysis result: %s", result_uri)
        return result_uri

    def after_success(self, context: Context, result_uri: str, plan: AnalysisPlan) -> None:
        """Hook for subclasses that push more XCom after a successful analysis (default: nothing)."""

    # -- local path -------------------------------------------------------------------------------------

    def _execute_local(self, context: Context, plan: AnalysisPlan, run_name: str) -> str:
        from airflow_provider_clarify.operators.local_compute import run_local_analysis

        outcome = run_local_analysis(
            analysis_config=plan.config,
            dataset_uri=plan.dataset_uri,
            output_uri=plan.output_uri,
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            verify=self.verify,
            local_model=self.local_model,
            run_name=run_name,
            timeout_seconds=self.max_ingestion_time,
            memory_limit_mb=self.memory_limit_mb,
            confidence_intervals=plan.confidence_intervals,
            intersections=plan.intersections,
            logger=self.log,
        )
        return self._finish_engine_run(context, plan, outcome)

    def _execute_spark(self, context: Context, plan: AnalysisPlan, run_name: str) -> str:
        from airflow_provider_clarify.operators.spark_compute import run_spark_analysis

        outcome = run_spark_analysis(
            plan,
            run_name=run_name,
            spark_conn_id=self.spark_conn_id,
            spark_options=self.spark_options,
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            verify=self.verify,
            kms_key=self.kms_key or None,
            output_kms_key=self.output_kms_key or None,
            timeout_seconds=self.max_ingestion_time,
            logger=self.log,
            on_start=lambda run: setattr(self, "_spark_run", run),
            local_model=self.local_model,
        )
        self._spark_run = None
        return self._finish_engine_run(context, plan, outcome)

    def _finish_engine_run(self, context: Context, plan: AnalysisPlan, outcome: Any) -> str:
        """XCom, links and lineage of an open-engine run (``compute="local"`` or ``"spark"``), then success."""
        self._lineage_uris = {
            "dataset": plan.dataset_uri,
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
        return self._finish(context, outcome.analysis_result_uri, plan, None)

    # -- kill and lineage -------------------------------------------------------------------------------

    def on_kill(self) -> None:
        """Stop the job this task waits for on a user kill or ``execution_timeout``; a shutdown leaves it.

        See :mod:`airflow_provider_clarify.operators._kill` for how the two are told apart.
        """
        if self._spark_run is not None:
            self._spark_run.stop()
        if self._running_job_name:
            from airflow_provider_clarify.operators._kill import stop_job_on_worker_kill

            stop_job_on_worker_kill(self.hook, self._running_job_name, self.log)

    def _lineage_from_arguments(self, result_uri: str | None) -> dict[str, str | None] | None:
        try:
            plan = self.make_plan()
        except Exception:
            return None
        return {"dataset": plan.dataset_uri, "config": None, "result": result_uri or plan.output_uri}

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
    :param confidence_intervals: ``compute="local"`` only: a confidence interval per bias metric in
        ``confidence_intervals.json`` next to ``analysis.json`` and as error bars in the report
        (``True``, a dict of ``level``/``resamples``/``seed``, or a ``ConfidenceIntervalConfig``;
        see ``docs/uncertainty.md``). ``analysis.json`` and the XCom are unchanged. Templated.
    :param intersections: ``compute="local"`` only: intersectional facets and the scan, in
        ``intersectional_bias.json`` and the report (an ``IntersectionConfig`` or a dict of its
        fields). Templated.

    All other parameters: :class:`ClarifyBaseOperator`.
    """

    template_fields: Sequence[str] = (
        *ClarifyBaseOperator.template_fields,
        "bias_config",
        "methods",
        "confidence_intervals",
        "intersections",
    )
    analysis_kind = "pre_training_bias"
    config_arguments = ("data_config", "bias_config", "methods", "confidence_intervals", "intersections")
    default_job_name_prefix = "Clarify-Pretraining-Bias"

    def __init__(
        self,
        *,
        data_config: Any,
        bias_config: Any,
        methods: str | list[str] = "all",
        confidence_intervals: Any = None,
        intersections: Any = None,
        **kwargs: Any,
    ):
        super().__init__(data_config=data_config, **kwargs)
        self.bias_config = bias_config
        self.methods = methods
        self._set_uncertainty_options(confidence_intervals, intersections)


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
    :param confidence_intervals: ``compute="local"`` only: a confidence interval per bias metric in
        ``confidence_intervals.json`` next to ``analysis.json`` and as error bars in the report
        (``True``, a dict of ``level``/``resamples``/``seed``, or a ``ConfidenceIntervalConfig``;
        see ``docs/uncertainty.md``). ``analysis.json`` and the XCom are unchanged. Templated.
    :param intersections: ``compute="local"`` only: intersectional facets and the scan, in
        ``intersectional_bias.json`` and the report (an ``IntersectionConfig`` or a dict of its
        fields). Templated.

    All other parameters: :class:`ClarifyBaseOperator`.
    """

    template_fields: Sequence[str] = (
        *ClarifyBaseOperator.template_fields,
        "bias_config",
        "model_config",
        "model_predicted_label_config",
        "methods",
        "confidence_intervals",
        "intersections",
    )
    analysis_kind = "post_training_bias"
    config_arguments = (
        "data_config",
        "bias_config",
        "model_config",
        "model_predicted_label_config",
        "methods",
        "confidence_intervals",
        "intersections",
    )
    default_job_name_prefix = "Clarify-Posttraining-Bias"

    def __init__(
        self,
        *,
        data_config: Any,
        bias_config: Any,
        model_config: Any = None,
        model_predicted_label_config: Any = None,
        methods: str | list[str] = "all",
        confidence_intervals: Any = None,
        intersections: Any = None,
        **kwargs: Any,
    ):
        super().__init__(data_config=data_config, **kwargs)
        self.bias_config = bias_config
        self.model_config = model_config
        self.model_predicted_label_config = model_predicted_label_config
        self.methods = methods
        self._set_uncertainty_options(confidence_intervals, intersections)


class ClarifyBiasOperator(ClarifyBaseOperator):
    """Pre- and post-training bias in one job (the SDK's ``run_bias``).

    :param data_config: ``DataConfig`` or dict.
    :param bias_config: ``BiasConfig`` or dict.
    :param model_config: ``ModelConfig`` or dict (optional when the dataset has predicted labels).
    :param model_predicted_label_config: ``ModelPredictedLabelConfig`` or dict.
    :param pre_training_methods: ``"all"``, a list of metric names, or ``None`` to skip.
    :param post_training_methods: ``"all"``, a list of metric names, or ``None`` to skip.
    :param confidence_intervals: ``compute="local"`` only: a confidence interval per bias metric in
        ``confidence_intervals.json`` next to ``analysis.json`` and as error bars in the report
        (``True``, a dict of ``level``/``resamples``/``seed``, or a ``ConfidenceIntervalConfig``;
        see ``docs/uncertainty.md``). ``analysis.json`` and the XCom are unchanged. Templated.
    :param intersections: ``compute="local"`` only: intersectional facets and the scan, in
        ``intersectional_bias.json`` and the report (an ``IntersectionConfig`` or a dict of its
        fields). Templated.

    All other parameters: :class:`ClarifyBaseOperator`.
    """

    template_fields: Sequence[str] = (
        *ClarifyBaseOperator.template_fields,
        "bias_config",
        "model_config",
        "model_predicted_label_config",
        "pre_training_methods",
        "post_training_methods",
        "confidence_intervals",
        "intersections",
    )
    analysis_kind = "bias"
    config_arguments = (
        "data_config",
        "bias_config",
        "model_config",
        "model_predicted_label_config",
        "pre_training_methods",
        "post_training_methods",
        "confidence_intervals",
        "intersections",
    )
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
        confidence_intervals: Any = None,
        intersections: Any = None,
        **kwargs: Any,
    ):
        super().__init__(data_config=data_config, **kwargs)
        self.bias_config = bias_config
        self.model_config = model_config
        self.model_predicted_label_config = model_predicted_label_config
        self.pre_training_methods = pre_training_methods
        self.post_training_methods = post_training_methods
        self._set_uncertainty_options(confidence_intervals, intersections)


class ClarifyExplainabilityOperator(ClarifyBaseOperator):
    """Explain a model's predictions with Kernel SHAP and/or partial dependence plots.

    :param data_config: ``DataConfig`` or dict.
    :param model_config: ``ModelConfig`` or dict: the model or endpoint the job invokes.
    :param explainability_config: ``SHAPConfig``/``PDPConfig`` (or a list of them), or a dict
        ``{"shap": {...SHAPConfig kwargs}, "pdp": {...PDPConfig kwargs}}``.
    :param model_scores: which model output to explain: an index/JSONPath string, or a
        ``ModelPredictedLabelConfig`` (or dict).
    :param confidence_intervals: ``compute="local"`` only: intervals of the global SHAP values in
        ``confidence_intervals.json`` (``True``, a dict of ``level``/``resamples``/``seed``, or a
        ``ConfidenceIntervalConfig``; see ``docs/uncertainty.md``). Templated.

    All other parameters: :class:`ClarifyBaseOperator`.
    """

    template_fields: Sequence[str] = (
        *ClarifyBaseOperator.template_fields,
        "model_config",
        "explainability_config",
        "model_scores",
        "confidence_intervals",
    )
    analysis_kind = "explainability"
    config_arguments = (
        "data_config",
        "model_config",
        "explainability_config",
        "model_scores",
        "confidence_intervals",
    )
    default_job_name_prefix = "Clarify-Explainability"

    def __init__(
        self,
        *,
        data_config: Any,
        model_config: Any,
        explainability_config: Any,
        model_scores: Any = None,
        confidence_intervals: Any = None,
        **kwargs: Any,
    ):
        super().__init__(data_config=data_config, **kwargs)
        self.model_config = model_config
        self.explainability_config = explainability_config
        if self.compute == "spark":  # text/image explanations fail the DAG import, not the run
            from airflow_provider_clarify.operators.spark_compute import check_spark_explanations

            check_spark_explanations(explainability_config)
        self.model_scores = model_scores
        self._set_uncertainty_options(confidence_intervals)


class ClarifyBiasAndExplainabilityOperator(ClarifyBaseOperator):
    """Bias (pre- and post-training) and explanations in a single job (the SDK's ``run_bias_and_explainability``).

    :param data_config: ``DataConfig`` or dict.
    :param model_config: ``ModelConfig`` or dict.
    :param explainability_config: as for :class:`ClarifyExplainabilityOperator`.
    :param bias_config: ``BiasConfig`` or dict.
    :param pre_training_methods: ``"all"``, a list of metric names, or ``None`` to skip.
    :param post_training_methods: ``"all"``, a list of metric names, or ``None`` to skip.
    :param model_predicted_label_config: ``ModelPredictedLabelConfig`` or dict.
    :param confidence_intervals: ``compute="local"`` only: a confidence interval per bias metric in
        ``confidence_intervals.json`` next to ``analysis.json`` and as error bars in the report
        (``True``, a dict of ``level``/``resamples``/``seed``, or a ``ConfidenceIntervalConfig``;
        see ``docs/uncertainty.md``). ``analysis.json`` and the XCom are unchanged. Templated.
    :param intersections: ``compute="local"`` only: intersectional facets and the scan, in
        ``intersectional_bias.json`` and the report (an ``IntersectionConfig`` or a dict of its
        fields). Templated.

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
        "confidence_intervals",
        "intersections",
    )
    analysis_kind = "bias_and_explainability"
    config_arguments = (
        "data_config",
        "model_config",
        "explainability_config",
        "bias_config",
        "pre_training_methods",
        "post_training_methods",
        "model_predicted_label_config",
        "confidence_intervals",
        "intersections",
    )
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
        confidence_intervals: Any = None,
        intersections: Any = None,
        **kwargs: Any,
    ):
        super().__init__(data_config=data_config, **kwargs)
        self.model_config = model_config
        self.explainability_config = explainability_config
        if self.compute == "spark":  # text/image explanations fail the DAG import, not the run
            from airflow_provider_clarify.operators.spark_compute import check_spark_explanations

            check_spark_explanations(explainability_config)
        self.bias_config = bias_config
        self.pre_training_methods = pre_training_methods
        self.post_training_methods = post_training_methods
        self.model_predicted_label_config = model_predicted_label_config
        self._set_uncertainty_options(confidence_intervals, intersections)


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
    config_arguments = (
        "monitoring_type",
        "data_config",
        "model_config",
        "bias_config",
        "model_predicted_label_config",
        "explainability_config",
        "model_scores",
    )
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

    def after_success(self, context: Context, result_uri: str, plan: AnalysisPlan) -> None:
        monitoring = plan.monitoring or {}
        self._push(
            context,
            constraints_uri=f"{result_uri.rstrip('/')}/analysis.json",
            monitoring_analysis_config=monitoring.get("monitoring_analysis_config"),
            monitoring_input_attributes=monitoring.get("monitoring_input_attributes"),
        )
