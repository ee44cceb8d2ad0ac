"""ClarifyProcessingJobSensor: wait for a Clarify job started elsewhere and hand on its result URI.

Works in ``poke``, ``reschedule`` or deferrable mode. A job that ends ``Failed`` or ``Stopped`` fails the
task with the job's ``FailureReason`` in every mode (``ClarifyJobFailedException``, not retried). The
return value (XCom) is the ``analysis_result`` URI: the one given, or the S3 URI of the job's output
named ``analysis_result``.
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
from botocore.exceptions import ClientError

from airflow_provider_clarify.analysis.processing_job import result_uri_from_description
from airflow_provider_clarify.hooks.clarify import ClarifyHook, is_throttling_error, job_completed
from airflow_provider_clarify.triggers.clarify import ClarifyProcessingJobTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class ClarifyProcessingJobSensor(AwsBaseSensor[ClarifyHook]):
    """Wait until a SageMaker Clarify processing job completes; return its ``analysis_result`` URI.

    :param job_name: name of the processing job to watch (templated).
    :param analysis_result_uri: URI to return; by default the job's ``analysis_result`` output (templated).
    :param deferrable: wait in the triggerer instead of a worker slot (default from
        ``[operators] default_deferrable``). The trigger polls every ``poke_interval`` seconds and gives
        up after ``timeout`` seconds. Killing the deferred sensor does not stop the job (it was started
        elsewhere).
    :param aws_conn_id: Airflow AWS connection id.
    :param region_name: AWS region (defaults to the connection's).
    :param verify: SSL verification for boto3.
    :param botocore_config: botocore client configuration dict.

    Other keywords are those of ``BaseSensorOperator`` (``poke_interval``, ``timeout``, ``mode``,
    ``soft_fail``, ...).

    Throttled DescribeProcessingJob calls are retried by botocore (see :class:`ClarifyHook`); one that
    is still throttled after that counts as "not done yet", so a throttling storm delays the sensor but
    does not fail it before its ``timeout``.
    """

    aws_hook_class = ClarifyHook
    template_fields: Sequence[str] = aws_template_fields("job_name", "analysis_result_uri")
    ui_color = "#66c3ff"

    def __init__(
        self,
        *,
        job_name: str,
        analysis_result_uri: str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name
        self.analysis_result_uri = analysis_result_uri
        self.deferrable = deferrable

    def _result_uri(self, description: dict) -> str:
        uri = self.analysis_result_uri or result_uri_from_description(description)
        if not uri:
            raise AirflowFailException(
                f"Processing job {self.job_name} has no output named 'analysis_result', so it does not look "
                "like a Clarify job; pass analysis_result_uri to the sensor"
            )
        return uri

    def poke(self, context: Context) -> PokeReturnValue | bool:
        try:
            description = self.hook.describe_processing_job(self.job_name)
        except ClientError as error:
            if not is_throttling_error(error):
                raise
            # Still throttled after botocore's retries: the next poke asks again (within ``timeout``).
            self.log.warning("DescribeProcessingJob of %s throttled; asking again next poke", self.job_name)
            return False
        status = description["ProcessingJobStatus"]
        if job_completed(self.job_name, status, description.get("FailureReason")):
            return PokeReturnValue(is_done=True, xcom_value=self._result_uri(description))
        self.log.info("Clarify job %s is %s", self.job_name, status)
        return False

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        done = self.poke(context)  # finished already, or failed: no need to defer
        if done:
            return done.xcom_value  # type: ignore[union-attr]
        self.defer(
            trigger=ClarifyProcessingJobTrigger(
                job_name=self.job_name,
                analysis_result_uri=self.analysis_result_uri,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                botocore_config=self.botocore_config,
                check_interval=self.poke_interval,
                max_ingestion_time=self.timeout,
                stop_job_on_kill=False,
                budget_from_creation=False,  # ``timeout`` counts from the sensor's start
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )
        return None  # not reached: defer() raises TaskDeferred

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        if not event:
            raise AirflowException(f"Trigger for Clarify job {self.job_name} returned no event")
        status = event.get("status")
        if status == "success":
            uri = event.get("analysis_result_uri") or self.analysis_result_uri
            if not uri:
                uri = self._result_uri(self.hook.describe_processing_job(self.job_name))
            return uri
        if status == "failed":
            job_completed(
                event.get("job_name", self.job_name),
                event.get("job_status", "Failed"),
                event.get("failure_reason"),
            )
        if status == "timeout":
            raise AirflowSensorTimeout(
                event.get("message", f"Timed out waiting for Clarify job {self.job_name}")
            )
        raise AirflowException(
            event.get("message", f"Waiting for Clarify job {self.job_name} failed: {event}")
        )
