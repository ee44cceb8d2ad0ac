"""Model Monitor from Airflow: run a monitoring execution for a DAG run's data interval with the open
engine, and create/update/delete Model Monitor job definitions and schedules on SageMaker.

* :class:`ClarifyMonitoringExecutionOperator`: the same execution a Model Monitor schedule runs, for
  the window ``scheduled_time`` (default: the data interval's end) + the job definition's offsets.
  ``compute="local"`` runs it in the local-compute child process on the worker
  (:func:`~airflow_provider_clarify.operators.local_compute.run_local_engine`: crash, out-of-memory
  and time-out handling, ``memory_limit_mb``), so an ``@hourly`` DAG is a Model Monitor schedule
  anyone can run; ``compute="sagemaker"`` runs it on SageMaker as a one-time (``NOW``) schedule of the
  same job definition over the same window (``operators/_monitoring_sagemaker.py``).
* :class:`ClarifyCreateMonitoringScheduleOperator` / :class:`ClarifyDeleteMonitoringScheduleOperator`:
  the SageMaker path, sending exactly what the SDK sends (see docs/monitoring.md).

Imports no numeric library (DAG parsing stays cheap).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, conf

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.hooks.clarify import ClarifyHook

if TYPE_CHECKING:
    from airflow.sdk import Context

XCOM_STATUS = "monitoring_execution_status"
XCOM_VIOLATIONS = "violations"
XCOM_SUMMARY = "monitoring_execution"
XCOM_SCHEDULE = "monitoring_schedule_name"
COMPUTE_CHOICES = ("local", "sagemaker")


class ClarifyMonitoringViolationError(AirflowFailException):
    """The execution completed with violations (``CompletedWithViolations``); not retried."""


class ClarifyMonitoringExecutionFailed(AirflowFailException):
    """The execution failed (no data in the window, no labels, bad setup); not retried."""


class ClarifyMonitoringSetupError(AirflowFailException):
    """The job definition, its config or the operator's arguments cannot work; not retried.

    ``__cause__`` is the :class:`~airflow_provider_clarify.analysis.errors.ClarifyConfigError` naming
    the field and the fix.
    """


class ClarifyMonitoringExecutionOperator(AwsBaseOperator[ClarifyHook]):
    """Run one Model Monitor execution (bias drift or feature-attribution drift) with the open engine.

    :param job_definition: the CreateModelBiasJobDefinition / CreateModelExplainabilityJobDefinition
        request (a dict, or a path / ``s3://`` URI of its JSON); local paths, ``file://`` and ``s3://``
        are accepted for every location in it. (templated)
    :param data_capture_uri: the endpoint's ``DataCaptureConfig.DestinationS3Uri``. (templated)
    :param scheduled_time: the execution's scheduled time (default ``{{ data_interval_end }}``: offsets
        ``-PT1H``/``-PT0H`` then select the run's data interval of an ``@hourly`` DAG). (templated)
    :param output_uri: output folder (default: the job definition's MonitoringOutputs URI +
        ``/<endpoint>/yyyy/mm/dd/hh``). (templated)
    :param fail_on_violation: fail when the execution is ``CompletedWithViolations`` (violations are in
        XCom first). With ``False`` the task succeeds and downstream tasks can branch on XCom.
    :param fail_on_no_data: fail when the window has no usable data (``Failed``); with ``False`` the task
        succeeds and pushes the status (an hour without traffic is not an incident everywhere).
    :param model_url: an HTTP model server (SageMaker hosting contract) for SHAP.
    :param endpoint_url: AWS endpoint URL for S3 (e.g. a local S3); default from the connection.
    :param execution_timeout_seconds: stop the child after this many seconds (SIGTERM, then SIGKILL).
    :param memory_limit_mb: cap the engine child's address space (a runaway window fails with a
        memory error instead of the out-of-memory killer); ``None``: no cap.
    :param publish_cloudwatch_metrics: publish the metrics in Model Monitor's CloudWatch namespaces and
        dimensions (off by default: the open path usually has no CloudWatch).
    :param monitoring_schedule_name: the ``MonitoringSchedule`` dimension (default: the DAG id).
    :param compute: ``"local"`` (the open engine on the worker) or ``"sagemaker"``: a one-time (``NOW``)
        Model Monitor schedule of the job definition, named after the task instance, whose window is
        the same absolute window (its offsets count back from the schedule's creation); the task waits
        for its execution, reads its results into the same XCom and deletes the schedule and its job
        definition afterwards (``delete_schedule``). Every location must then be on S3 and the
        definition needs ``RoleArn`` and ``ImageUri``. See docs/monitoring.md.
    :param deferrable: (``compute="sagemaker"``) wait in the triggerer instead of a worker slot.
    :param check_interval: (``compute="sagemaker"``) seconds between polls of the execution.
    :param max_wait_seconds: (``compute="sagemaker"``) stop the execution and fail (retryable) when it
        has not ended after this long; default: no limit but the trigger's own (a day and an hour).
    :param delete_schedule: (``compute="sagemaker"``) delete the one-time schedule and its job
        definition once the execution ended (an account holds a limited number of schedules).
    :param job_name_prefix: (``compute="sagemaker"``) prefix of the schedule and job-definition names.
    :returns: the URI of ``analysis.json`` (None when the window had no data and ``fail_on_no_data``
        is False).
    """

    aws_hook_class = ClarifyHook
    template_fields: Sequence[str] = aws_template_fields(
        "job_definition", "data_capture_uri", "scheduled_time", "output_uri", "model_url"
    )
    template_fields_renderers = {"job_definition": "json"}

    def __init__(
        self,
        *,
        job_definition: dict | str,
        data_capture_uri: str | None = None,
        scheduled_time: str = "{{ data_interval_end }}",
        output_uri: str | None = None,
        compute: str = "local",
        fail_on_violation: bool = True,
        fail_on_no_data: bool = True,
        model_url: str | None = None,
        endpoint_url: str | None = None,
        execution_timeout_seconds: float | None = None,
        memory_limit_mb: int | None = None,
        publish_cloudwatch_metrics: bool = False,
        monitoring_schedule_name: str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        check_interval: float = 60,
        max_wait_seconds: float | None = None,
        delete_schedule: bool = True,
        job_name_prefix: str = "monitoring-execution",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.deferrable = deferrable
        self.check_interval = check_interval
        self.max_wait_seconds = max_wait_seconds
        self.delete_schedule = delete_schedule
        self.job_name_prefix = job_name_prefix
        self._running_schedule: str | None = None
        self.publish_cloudwatch_metrics = publish_cloudwatch_metrics
        self.monitoring_schedule_name = monitoring_schedule_name
        if compute not in COMPUTE_CHOICES:
            raise ClarifyConfigError.invalid(
                "compute",
                compute,
                "'local' or 'sagemaker'",
                "Accepted: 'local' (the open engine on the worker) or 'sagemaker' (a one-time Model Monitor "
                "schedule). For recurring executions on SageMaker use ClarifyCreateMonitoringScheduleOperator "
                "and wait with ClarifyMonitoringExecutionSensor.",
            )
        self.job_definition = job_definition
        self.data_capture_uri = data_capture_uri
        self.scheduled_time = scheduled_time
        self.output_uri = output_uri
        self.compute = compute
        self.fail_on_violation = fail_on_violation
        self.fail_on_no_data = fail_on_no_data
        self.model_url = model_url
        self.endpoint_url = endpoint_url
        self.execution_timeout_seconds = execution_timeout_seconds
        self.memory_limit_mb = memory_limit_mb

    def _uses_s3(self, *more: Any) -> bool:
        places = [self.job_definition, self.data_capture_uri, self.output_uri, *more]
        return "s3://" in json.dumps(places, default=str)

    def _definition(self) -> dict[str, Any]:
        if isinstance(self.job_definition, dict):
            return self.job_definition
        text = str(self.job_definition)
        if text.lstrip().startswith("{"):
            return json.loads(text)
        if text.startswith("s3://"):
            return self.hook.read_json(text)
        with open(text.removeprefix("file://"), encoding="utf-8") as handle:
            return json.load(handle)

    def _baseline_uri(self) -> str | None:
        """The constraints of a baseline named by ``BaseliningJobName``: its job's ``analysis.json``
        (DescribeProcessingJob with the task's connection), so drift is checked against it."""
        from airflow_provider_clarify.analysis.monitoring.baseline import (
            baseline_config,
            constraints_uri_from_processing_job,
        )
        from airflow_provider_clarify.analysis.monitoring.requests import monitoring_type_of

        definition = self._definition()
        config = baseline_config(definition, monitoring_type_of(definition))
        job = config.get("BaseliningJobName")
        if not job or (config.get("ConstraintsResource") or {}).get("S3Uri"):
            return None
        client = self.hook.conn
        try:
            described = client.describe_processing_job(ProcessingJobName=job)
        except client.exceptions.ClientError as error:
            raise ClarifyConfigError(
                f"BaseliningJobName {job!r} cannot be described ({error}); give the baseline analysis.json as "
                "ConstraintsResource.S3Uri or fix the job name.",
                field="BaseliningJobName",
                value=job,
            ) from error
        uri = constraints_uri_from_processing_job(described)
        self.log.info("Baseline of baselining job %s: %s", job, uri)
        return uri

    def _run_local(self) -> dict[str, Any]:
        """The execution in the local-compute child (crash / OOM / time-out handling, memory limit)."""
        from airflow_provider_clarify.operators.local_compute import run_local_engine

        arguments = {
            "job_definition": self.job_definition,
            "scheduled_time": str(self.scheduled_time),
            "data_capture_uri": self.data_capture_uri,
            "output": self.output_uri,
            "model_url": self.model_url,
            "endpoint_url": self.endpoint_url,
            "baseline_uri": self._baseline_uri(),
        }
        self.log.info(
            "Running the monitoring execution at %s with the open engine in a child process",
            self.scheduled_time,
        )
        payload = run_local_engine(
            "monitor",
            {"monitor": arguments},
            aws_conn_id=self.aws_conn_id if self._uses_s3(arguments["baseline_uri"]) else None,
            region_name=self.region_name,
            verify=self.verify,
            run_name=f"monitoring-{self.task_id}",
            timeout_seconds=self.execution_timeout_seconds,
            memory_limit_mb=self.memory_limit_mb,
            logger=self.log,
        )
        return payload["result"]

    def execute(self, context: Context) -> str | None:
        try:
            if self.compute == "sagemaker":
                return self._execute_sagemaker(context)
            summary = self._run_local()
        except ClarifyConfigError as err:  # will fail the same way again: no retries
            raise ClarifyMonitoringSetupError(f"Invalid monitoring setup: {err}") from err
        return self._conclude(context, summary)

    # -- compute="sagemaker" -------------------------------------------------------------------------

    def _one_time_requests(self, definition: dict[str, Any], name: str) -> Any:
        from airflow_provider_clarify.analysis.monitoring.one_time import one_time_execution
        from airflow_provider_clarify.operators._monitoring_sagemaker import utc_now

        return one_time_execution(
            definition,
            name=name,
            scheduled_time=str(self.scheduled_time),
            now=utc_now(),
            output_uri=self.output_uri,
        )

    def _execute_sagemaker(self, context: Context) -> str | None:
        from airflow_provider_clarify.operators import _monitoring_sagemaker as remote
        from airflow_provider_clarify.operators._arguments import as_seconds
        from airflow_provider_clarify.operators._job_lifecycle import clarify_job_name, validate_prefix

        validate_prefix(self.job_name_prefix)
        self.check_interval = as_seconds("check_interval", self.check_interval)
        if self.max_wait_seconds is not None:
            self.max_wait_seconds = as_seconds("max_wait_seconds", self.max_wait_seconds)
        ti = context["ti"]
        base = clarify_job_name(
            self.job_name_prefix,
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            run_id=ti.run_id,
            map_index=getattr(ti, "map_index", -1),
        )
        client = self.hook.conn
        definition = self._definition()
        name, requests, adopted = remote.resolve_schedule(
            client, base, lambda candidate: self._one_time_requests(definition, candidate), self.log
        )
        if not adopted:
            self._check_sagemaker_inputs(requests)
            remote.create(client, requests, self.log)
        ti.xcom_push(key=XCOM_SCHEDULE, value=name)
        self._running_schedule = name  # from here on, on_kill stops the execution
        window = (requests.window_start.isoformat(), requests.window_end.isoformat())
        execution = remote.latest_execution(client, name)
        if execution is None or execution.get("MonitoringExecutionStatus") not in remote.TERMINAL_STATES:
            if self.deferrable:
                self._defer_sagemaker(name)
            try:
                execution = remote.wait_in_worker(
                    client,
                    self.hook,
                    name,
                    check_interval=float(self.check_interval),
                    max_wait_seconds=self.max_wait_seconds,
                    log=self.log,
                )
            finally:
                self._running_schedule = None
        return self._finish_sagemaker(context, name, window, requests.monitoring_type, execution)

    def _check_sagemaker_inputs(self, requests: Any) -> None:
        """The analysis config and the baseline must exist before anything is created (no spend)."""
        kind = requests.monitoring_type
        definition = requests.job_definition
        places = [(f"{kind}AppSpecification.ConfigUri", definition[f"{kind}AppSpecification"]["ConfigUri"])]
        constraints = ((definition.get(f"{kind}BaselineConfig") or {}).get("ConstraintsResource") or {}).get(
            "S3Uri"
        )
        if constraints:
            places.append((f"{kind}BaselineConfig.ConstraintsResource.S3Uri", constraints))
        for field, uri in places:
            if not self.hook.exists(uri):
                raise ClarifyConfigError.invalid(
                    field,
                    uri,
                    "an existing S3 object",
                    f"{uri} does not exist: upload it first, or fix the URI.",
                )

    def _defer_sagemaker(self, name: str) -> None:
        from datetime import timedelta

        from airflow_provider_clarify.triggers.monitoring import ClarifyMonitoringExecutionTrigger

        self.defer(
            trigger=ClarifyMonitoringExecutionTrigger(
                monitor_schedule_name=name,
                scheduled_time=None,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                botocore_config=self.botocore_config,
                check_interval=float(self.check_interval),
                timeout=self.max_wait_seconds,
                stop_on_kill=True,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.max_wait_seconds + 300) if self.max_wait_seconds else None,
        )

    def execute_complete(
        self,
        context: Context,
        event: dict[str, Any] | None = None,
        **_deferral: Any,
    ) -> str | None:
        """Resume after the trigger fired: the same outcome as the wait in the worker.

        The resumed task rebuilds what it needs instead of trusting the deferral's kwargs (``dag.test``
        and some Airflow versions hand back only the event): the schedule name pushed to XCom before
        deferring (else the one the execution names), the window and type from the job definition.
        """
        from airflow_provider_clarify.operators import _monitoring_sagemaker as remote

        if not event:
            raise AirflowException("The monitoring execution trigger returned no event")
        execution = event.get("execution") or {}
        ti = context["ti"]
        schedule = (
            ti.xcom_pull(task_ids=ti.task_id, key=XCOM_SCHEDULE, map_indexes=getattr(ti, "map_index", -1))
            or execution.get("MonitoringScheduleName")
            or ""
        )
        if event.get("status") == "timeout":
            remote.stop(self.hook.conn, self.hook, schedule, self.log)
            raise remote.ClarifyMonitoringWaitTimeout(f"{event.get('message')} The execution was stopped.")
        if event.get("status") != "done":
            raise AirflowException(
                event.get("message", f"Waiting for the monitoring execution failed: {event}")
            )
        kind, window = self._kind_and_window()
        return self._finish_sagemaker(context, schedule, window, kind, execution)

    def _kind_and_window(self) -> tuple[str, tuple[str, str]]:
        from airflow_provider_clarify.analysis.monitoring.one_time import monitoring_input
        from airflow_provider_clarify.analysis.monitoring.requests import monitoring_type_of
        from airflow_provider_clarify.analysis.monitoring.schedule import analysis_window

        definition = self._definition()
        kind = monitoring_type_of(definition)
        _, body = monitoring_input(definition, kind)
        start, end = analysis_window(
            str(self.scheduled_time), body.get("StartTimeOffset"), body.get("EndTimeOffset")
        )
        return kind, (start.isoformat(), end.isoformat())

    def _finish_sagemaker(
        self, context: Context, name: str, window: tuple[str, str], kind: str, execution: dict[str, Any]
    ) -> str | None:
        from airflow_provider_clarify.operators import _monitoring_sagemaker as remote

        summary = remote.execution_summary(self.hook, execution, window, kind, name)
        if self.delete_schedule:
            remote.delete(self.hook.conn, name, kind, self.log)
        return self._conclude(context, summary)

    def on_kill(self) -> None:
        """A user's kill (or ``execution_timeout``) stops the SageMaker execution and its schedule; a
        worker shutdown leaves them for the retry to re-attach to (``operators/_kill.py``)."""
        name = self._running_schedule
        if not name:
            return
        from airflow_provider_clarify.operators import _monitoring_sagemaker as remote
        from airflow_provider_clarify.operators._kill import stop_job_on_worker_kill

        stop_job_on_worker_kill(
            self.hook,
            name,
            self.log,
            stop=lambda: remote.stop(self.hook.conn, self.hook, name, self.log),
            what="monitoring schedule",
        )

    # -- the outcome, the same for both computes -------------------------------------------------------

    def _conclude(self, context: Context, summary: dict[str, Any]) -> str | None:
        ti = context["ti"]
        ti.xcom_push(key=XCOM_STATUS, value=summary["status"])
        ti.xcom_push(key=XCOM_VIOLATIONS, value=summary["violations"])
        ti.xcom_push(key=XCOM_SUMMARY, value=summary)
        self.log.info(
            "Monitoring execution %s: %s records in %s .. %s; capture %s; ground truth %s",
            summary["status"], summary["records"], summary["window_start"], summary["window_end"],
            summary["capture"], summary["ground_truth"],
        )  # fmt: skip
        # On SageMaker the execution publishes its own metrics (the definition's publish_cloudwatch_metrics).
        if self.publish_cloudwatch_metrics and self.compute == "local" and summary.get("analysis_uri"):
            self._publish(context, summary)
        if summary["status"] == "Failed":
            if self.fail_on_no_data:
                raise ClarifyMonitoringExecutionFailed(summary["failure_reason"])
            self.log.warning("Monitoring execution failed: %s", summary["failure_reason"])
            return None
        if summary["status"] == "CompletedWithViolations":
            lines = [
                f"  {v.get('metric_name')} {v.get('facet', v.get('label', ''))}={v.get('facet_value', '')}: "
                f"{v.get('description')}"
                for v in summary["violations"]
            ]
            message = (
                f"Model Monitor drift: {len(lines)} violation(s) in {summary['window_start']} .. "
                f"{summary['window_end']}\n" + "\n".join(lines) + f"\nReport: {summary['violations_uri']}"
            )
            if self.fail_on_violation:
                raise ClarifyMonitoringViolationError(message)
            self.log.warning(message)
        return summary["analysis_uri"]

    def _publish(self, context: Context, summary: dict[str, Any]) -> None:
        from airflow_provider_clarify.analysis.monitoring import cloudwatch

        definition = self.job_definition
        if not isinstance(definition, dict):
            definition = self.hook.read_json(str(definition))
        kind = summary["monitoring_type"]
        endpoint = (definition.get(f"{kind}JobInput") or {}).get("EndpointInput", {}).get("EndpointName")
        analysis = self.hook.read_json(summary["analysis_uri"])
        schedule = self.monitoring_schedule_name or context["dag"].dag_id
        data = cloudwatch.metric_data(analysis, kind, monitoring_schedule=schedule, endpoint_name=endpoint)
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        client = AwsBaseHook(
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            verify=self.verify,
            config=self.botocore_config,
            client_type="cloudwatch",
        ).conn
        for chunk in cloudwatch.batches(data):
            client.put_metric_data(Namespace=cloudwatch.namespace(kind, endpoint), MetricData=chunk)
        self.log.info("Published %d metrics to %s", len(data), cloudwatch.namespace(kind, endpoint))


class ClarifyCreateMonitoringScheduleOperator(AwsBaseOperator[ClarifyHook]):
    """Create or update a Model Monitor job definition and schedule on SageMaker, idempotently.

    :param requests: a :class:`~airflow_provider_clarify.analysis.monitoring.requests.MonitoringRequests`
        (from ``create_monitoring_requests(...)`` with explicit ``monitor_schedule_name`` and
        ``job_definition_name``) or a dict ``{"job_definition": ..., "schedule": ...,
        "analysis_config_upload": [uri, config] | None}``. (templated)

    :param check_data_capture: before anything is created, check that the monitored endpoint exists and
        captures data (DescribeEndpoint); without capture every execution fails with "Job inputs had no
        data". Batch-transform inputs are not checked.

    Same name and same definition: nothing is sent. A schedule that exists with another definition is
    pointed at the new definition (UpdateMonitoringSchedule), as the SDK's update does; a failed
    schedule call deletes the definition this task created (the SDK's rollback).
    :returns: the schedule name.
    """

    aws_hook_class = ClarifyHook
    template_fields: Sequence[str] = aws_template_fields("requests")

    def __init__(self, *, requests: Any, check_data_capture: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.requests = requests
        self.check_data_capture = check_data_capture

    def _check_capture(self, client: Any, endpoint_name: str) -> None:
        try:
            endpoint = client.describe_endpoint(EndpointName=endpoint_name)
        except client.exceptions.ClientError as error:
            raise ClarifyConfigError(
                f"The monitored endpoint {endpoint_name!r} cannot be described ({error}); create it first or fix "
                "EndpointInput.endpoint_name.",
                field="endpoint_name",
                value=endpoint_name,
            ) from error
        capture = endpoint.get("DataCaptureConfig") or {}
        if not capture.get("EnableCapture") or not capture.get("CurrentSamplingPercentage", 1):
            raise ClarifyConfigError(
                f"Endpoint {endpoint_name!r} does not capture data (DataCaptureConfig {capture or 'absent'}): every "
                "monitoring execution would fail with 'Job inputs had no data'. Enable data capture on the "
                "endpoint config (DataCaptureConfig with EnableCapture=True, InitialSamplingPercentage > 0, both "
                "Input and Output capture modes), or pass check_data_capture=False.",
                field="endpoint_name",
                value=endpoint_name,
            )

    def _parts(self) -> tuple[dict, dict, Any]:
        requests = self.requests
        if hasattr(requests, "job_definition"):
            return requests.job_definition, requests.schedule, requests.analysis_config_upload
        return requests["job_definition"], requests["schedule"], requests.get("analysis_config_upload")

    def execute(self, context: Context) -> str:
        from airflow_provider_clarify.analysis.monitoring.requests import monitoring_type_of

        definition, schedule, upload = self._parts()
        kind = monitoring_type_of(definition)
        snake = "model_bias" if kind == "ModelBias" else "model_explainability"
        client = self.hook.conn
        endpoint = (definition.get(f"{kind}JobInput") or {}).get("EndpointInput", {}).get("EndpointName")
        if self.check_data_capture and endpoint:
            self._check_capture(client, endpoint)
        name = definition["JobDefinitionName"]
        created = False
        try:
            existing = getattr(client, f"describe_{snake}_job_definition")(JobDefinitionName=name)
        except client.exceptions.ResourceNotFound:
            existing = None
        if existing is None:
            if upload:
                self.hook.write_json(upload[0], upload[1])
            getattr(client, f"create_{snake}_job_definition")(**definition)
            created = True
            self.log.info("Created %s job definition %s", kind, name)
        elif not _same_definition(existing, definition):
            raise ClarifyConfigError(
                f"Job definition {name!r} exists with different settings; SageMaker cannot update a job "
                "definition in place. Give the changed definition a new job_definition_name (the schedule is "
                "then pointed at it) or delete the old one first.",
                field="job_definition_name",
                value=name,
            )
        schedule_name = schedule["MonitoringScheduleName"]
        try:
            try:
                current = client.describe_monitoring_schedule(MonitoringScheduleName=schedule_name)
            except client.exceptions.ResourceNotFound:
                current = None
            if current is None:
                client.create_monitoring_schedule(**schedule)
                self.log.info("Created monitoring schedule %s", schedule_name)
            elif current.get("MonitoringScheduleConfig") != schedule["MonitoringScheduleConfig"]:
                client.update_monitoring_schedule(
                    MonitoringScheduleName=schedule_name,
                    MonitoringScheduleConfig=schedule["MonitoringScheduleConfig"],
                )
                self.log.info("Updated monitoring schedule %s", schedule_name)
            else:
                self.log.info("Monitoring schedule %s is up to date; nothing sent", schedule_name)
        except Exception:
            if created:
                getattr(client, f"delete_{snake}_job_definition")(JobDefinitionName=name)
            raise
        return schedule_name


def _same_definition(described: dict, wanted: dict) -> bool:
    """Whether a Describe*JobDefinition answer holds exactly the wanted request's settings."""
    ignored = {"JobDefinitionArn", "CreationTime", "Tags", "ResponseMetadata"}
    keys = (set(described) | set(wanted)) - ignored
    return all(described.get(key) == wanted.get(key) for key in keys)


class ClarifyDeleteMonitoringScheduleOperator(AwsBaseOperator[ClarifyHook]):
    """Delete a monitoring schedule and its job definition (a missing one is not an error).

    :param monitor_schedule_name: the schedule. (templated)
    """

    aws_hook_class = ClarifyHook
    template_fields: Sequence[str] = aws_template_fields("monitor_schedule_name")

    def __init__(self, *, monitor_schedule_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.monitor_schedule_name = monitor_schedule_name

    def execute(self, context: Context) -> None:
        client = self.hook.conn
        try:
            described = client.describe_monitoring_schedule(MonitoringScheduleName=self.monitor_schedule_name)
        except client.exceptions.ResourceNotFound:
            self.log.info(
                "Monitoring schedule %s does not exist; nothing to delete", self.monitor_schedule_name
            )
            return
        config = described["MonitoringScheduleConfig"]
        client.delete_monitoring_schedule(MonitoringScheduleName=self.monitor_schedule_name)
        kind = config.get("MonitoringType")
        definition = config.get("MonitoringJobDefinitionName")
        if definition and kind in ("ModelBias", "ModelExplainability"):
            snake = "model_bias" if kind == "ModelBias" else "model_explainability"
            with contextlib.suppress(client.exceptions.ResourceNotFound):
                getattr(client, f"delete_{snake}_job_definition")(JobDefinitionName=definition)
