"""ClarifyMonitoringExecutionSensor: wait for a Model Monitor schedule's execution at a given time.

``Completed`` passes; ``CompletedWithViolations`` pushes the violations (read from the execution's
``constraint_violations.json``) to XCom first, then fails the task (``fail_on_violation=True``) or
passes with ``violations`` set for a downstream branch; ``Failed`` / ``Stopped`` fail with the
execution's ``FailureReason``. Poke, reschedule and deferrable modes decide identically.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.sensors.base_aws import AwsBaseSensor
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    PokeReturnValue,
    conf,
)

from airflow_provider_clarify.analysis.monitoring.schedule import as_utc
from airflow_provider_clarify.hooks.clarify import ClarifyHook
from airflow_provider_clarify.triggers.monitoring import (
    TERMINAL_STATES,
    ClarifyMonitoringExecutionTrigger,
    find_execution,
    list_executions_request,
    plain_summary,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

XCOM_VIOLATIONS = "violations"
XCOM_STATUS = "monitoring_execution_status"


class ClarifyMonitoringViolationError(AirflowFailException):
    """The execution ended ``CompletedWithViolations`` (violations are in XCom); not retried."""


class ClarifyMonitoringExecutionSensor(AwsBaseSensor[ClarifyHook]):
    """Wait for the execution of ``monitor_schedule_name`` scheduled at ``scheduled_time``.

    :param monitor_schedule_name: the Model Monitor schedule. (templated)
    :param scheduled_time: the execution's scheduled time (default ``{{ data_interval_end }}``, the top
        of the hour after an hourly DAG run's interval). (templated)
    :param fail_on_violation: fail on ``CompletedWithViolations`` (default); with ``False`` succeed and
        leave the decision to a branch reading XCom ``violations``.
    :param deferrable: wait in the triggerer (polls every ``poke_interval`` s, gives up after ``timeout``).
    :returns: the execution summary (JSON-serialisable).
    """

    aws_hook_class = ClarifyHook
    template_fields: Sequence[str] = aws_template_fields("monitor_schedule_name", "scheduled_time")

    def __init__(
        self,
        *,
        monitor_schedule_name: str,
        scheduled_time: str = "{{ data_interval_end }}",
        fail_on_violation: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", 300)
        kwargs.setdefault("timeout", 2 * 3600)
        super().__init__(**kwargs)
        self.monitor_schedule_name = monitor_schedule_name
        self.scheduled_time = scheduled_time
        self.fail_on_violation = fail_on_violation
        self.deferrable = deferrable

    def _violations(self, summary: dict[str, Any]) -> list[dict[str, Any]]:
        arn = summary.get("ProcessingJobArn")
        if not arn:
            return []
        description = self.hook.describe_processing_job(arn.rsplit("/", 1)[-1])
        outputs = (description.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        for output in outputs:
            uri = (output.get("S3Output") or {}).get("S3Uri")
            if uri:
                report = uri.rstrip("/") + "/constraint_violations.json"
                if self.hook.exists(report):
                    return list(self.hook.read_json(report).get("violations", []))
        return []

    def _decide(self, context: Context, summary: dict[str, Any]) -> dict[str, Any]:
        status = summary.get("MonitoringExecutionStatus")
        ti = context["ti"]
        ti.xcom_push(key=XCOM_STATUS, value=status)
        if status in ("Failed", "Stopped"):
            raise AirflowFailException(
                f"Monitoring execution of {self.monitor_schedule_name} at {self.scheduled_time} is {status}: "
                f"{summary.get('FailureReason') or 'no failure reason given'}"
            )
        violations = self._violations(summary) if status == "CompletedWithViolations" else []
        ti.xcom_push(key=XCOM_VIOLATIONS, value=violations)
        if status == "CompletedWithViolations" and self.fail_on_violation:
            lines = "\n".join(f"  {v.get('metric_name')}: {v.get('description')}" for v in violations)
            raise ClarifyMonitoringViolationError(
                f"Monitoring execution of {self.monitor_schedule_name} at {self.scheduled_time} completed with "
                f"{len(violations)} violation(s):\n{lines}"
            )
        return plain_summary(summary)

    def poke(self, context: Context) -> PokeReturnValue | bool:
        moment = as_utc(self.scheduled_time)
        response = self.hook.conn.list_monitoring_executions(
            **list_executions_request(self.monitor_schedule_name, moment)
        )
        summary = find_execution(response, moment)
        if summary is None or summary.get("MonitoringExecutionStatus") not in TERMINAL_STATES:
            self.log.info(
                "Execution of %s at %s: %s",
                self.monitor_schedule_name,
                moment.isoformat(),
                (summary or {}).get("MonitoringExecutionStatus", "not started yet"),
            )
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._decide(context, summary))

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        done = self.poke(context)
        if done:
            return done.xcom_value  # type: ignore[union-attr]
        self.defer(
            trigger=ClarifyMonitoringExecutionTrigger(
                monitor_schedule_name=self.monitor_schedule_name,
                scheduled_time=as_utc(self.scheduled_time).isoformat(),
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                botocore_config=self.botocore_config,
                check_interval=self.poke_interval,
                timeout=self.timeout,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )
        return None

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        if not event:
            raise AirflowException("The monitoring execution trigger returned no event")
        if event.get("status") == "done":
            return self._decide(context, event["execution"])
        if event.get("status") == "timeout":
            raise AirflowSensorTimeout(event.get("message"))
        raise AirflowException(event.get("message", f"Waiting for the monitoring execution failed: {event}"))
