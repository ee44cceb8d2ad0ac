"""ClarifyHook: the AWS calls of a SageMaker Clarify audit, on the amazon provider's SageMakerHook.

It uploads the analysis config (SSE-KMS when a key is given), checks that a job's inputs exist,
starts, describes and stops processing jobs, and reads what a job wrote under its ``analysis_result`` prefix (``analysis.json`` into
:class:`~airflow_provider_clarify.analysis.results.AnalysisResult`). Results can also be read from a
local path or ``file://`` URI, which is where the open engine (``compute="local"``) may write them.

Async variants for the trigger use the hook's aiobotocore client (``get_async_conn()``).
No numeric library is imported here: DAG parsing imports this module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from airflow.providers.common.compat.sdk import AirflowFailException
from botocore.config import Config
from botocore.exceptions import ClientError

from airflow_provider_clarify.locations import (
    analysis_file_uri,
    is_s3,
    join,
    local_path,
    result_folder_uri,
    write_local_atomic,
)

if TYPE_CHECKING:
    from airflow_provider_clarify.analysis.results import AnalysisResult
    from airflow_provider_clarify.analysis.uncertainty import IntervalsResult

__all__ = ["ClarifyHook", "ClarifyJobFailedException", "job_failure_message"]

NON_TERMINAL_STATES = frozenset({"InProgress", "Stopping"})
FAILED_STATES = frozenset({"Failed", "Stopped"})
TERMINAL_STATES = frozenset({"Completed", *FAILED_STATES})
#: Error codes AWS uses for rate limiting; callers back off and retry on these.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)


#: botocore retry settings of every ClarifyHook client (and of its S3 hook) unless the connection's
#: ``config_kwargs`` or the hook's ``config`` set ``retries`` themselves. botocore's ``standard`` mode
#: retries throttling (``ThrottlingException``, ``SlowDown``, ...) and transient errors (5xx, timeouts)
#: with exponential back-off and full jitter (at most 20 s a pause); other client errors, such as
#: ``ValidationException``, are not retried. Twenty attempts: under a storm that throttles 80 % of the
#: calls regardless of rate, a call still fails after all of them about once in 90 (0.8**20), against
#: one in three with botocore's default of 5; a call keeps retrying for at most about 5 minutes, and
#: ``execution_timeout`` interrupts it like any other work of the task. What still fails after creating
#: a job re-attaches on the task's retry. See docs/hooks-sensors-triggers.md#throttling.
DEFAULT_RETRIES: dict[str, Any] = {"mode": "standard", "total_max_attempts": 20}


def with_default_retries(config: Config | None) -> Config:
    """``config`` plus :data:`DEFAULT_RETRIES` when it does not configure ``retries`` itself."""
    config = config or Config()
    if config.retries:
        return config
    return Config(retries=dict(DEFAULT_RETRIES)).merge(config)


class _ThrottleRetries:
    """Mixin for amazon hooks: the botocore client config gets :data:`DEFAULT_RETRIES` by default."""

    @property
    def config(self) -> Config:
        return with_default_retries(super().config)  # type: ignore[misc]


class _ClarifyS3Hook(_ThrottleRetries, S3Hook):
    """The S3 hook of :class:`ClarifyHook`: same retry settings as the SageMaker calls."""


#: Error codes S3 answers with for a key that does not exist.
_S3_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


def is_throttling_error(error: BaseException) -> bool:
    """Whether ``error`` is an AWS rate-limit response (worth retrying after a pause)."""
    return isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in THROTTLING_CODES


def job_failure_message(job_name: str, job_status: str, failure_reason: str | None) -> str:
    """The one message used by the sensor, trigger events and operators for a job that did not complete."""
    reason = failure_reason or ("stopped before completion" if job_status == "Stopped" else "no reason given")
    return f"Clarify processing job {job_name} ended with status {job_status}: {reason}"


def job_completed(job_name: str, job_status: str, failure_reason: str | None = None) -> bool:
    """Whether the job ``Completed``; ``False`` while it runs.

    The one place that turns a job status (from DescribeProcessingJob or a trigger event) into the
    task's outcome, so the sensor, the operators' worker wait and their deferred resume fail alike.

    :raises ClarifyJobFailedException: when the job ended ``Failed`` or ``Stopped``.
    """
    if job_status in FAILED_STATES:
        raise ClarifyJobFailedException(job_name, job_status, failure_reason)
    return job_status == "Completed"


def ingestion_deadline(description: Mapping[str, Any], max_ingestion_time: float | None) -> float | None:
    """Unix time at which the described job outlives ``max_ingestion_time`` (``None``: no limit).

    Counted from the job's ``CreationTime``, not from the start of the current try: every try of a task
    instance re-attaches to the same job, so ``max_ingestion_time`` is one budget per task instance and
    a retry after a shutdown or a triggerer move does not restart the clock.
    """
    created = description.get("CreationTime")
    if max_ingestion_time is None or created is None:
        return None
    if isinstance(created, datetime):
        created = created.timestamp()
    return float(created) + max_ingestion_time


class ClarifyJobFailedException(AirflowFailException):
    """A Clarify job ended Failed or Stopped. Not retried: re-running the same job would fail the same way.

    Carries ``job_name``, ``job_status`` and the job's ``failure_reason``.
    """

    def __init__(self, job_name: str, job_status: str, failure_reason: str | None = None) -> None:
        super().__init__(job_failure_message(job_name, job_status, failure_reason))
        self.job_name = job_name
        self.job_status = job_status
        self.failure_reason = failure_reason


class ClarifyHook(_ThrottleRetries, SageMakerHook):
    """Interact with SageMaker Clarify processing jobs and their results.

    Takes the usual AWS hook keywords (``aws_conn_id``, ``region_name``, ``verify``, ``config``); the S3
    calls use an :class:`S3Hook` built from the same keywords, so an ``endpoint_url`` or region set on
    the connection applies to both.

    :param aws_conn_id: Airflow AWS connection id.
    :param region_name: AWS region (defaults to the connection's).
    :param verify: SSL verification for boto3 (bool or CA bundle path).
    :param config: botocore client configuration (dict or ``botocore.config.Config``). Unless it (or
        the connection's ``config_kwargs``) sets ``retries``, clients retry throttling in botocore's
        ``standard`` mode with :data:`DEFAULT_RETRIES`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # SageMakerHook builds its S3Hook from aws_conn_id only; use the region/verify/config too.
        self.s3_hook = self._new_s3_hook()

    def _new_s3_hook(self, extra_args: dict[str, Any] | None = None) -> S3Hook:
        return _ClarifyS3Hook(
            aws_conn_id=self.aws_conn_id,
            region_name=self._region_name,
            verify=self._verify,
            config=self._config,
            extra_args=extra_args,
        )

    # --- analysis config ------------------------------------------------------------------------------

    def upload_analysis_config(self, config: dict, s3_uri: str, kms_key: str | None = None) -> str:
        """Write ``config`` as JSON to ``s3_uri`` (replacing an existing object) and return the URI.

        With ``kms_key`` the object is encrypted with SSE-KMS using that key, as the SDK's ``kms_key``
        argument does.
        """
        self.write_json(s3_uri, config, kms_key=kms_key)
        self.log.info("Uploaded the Clarify analysis config to %s", s3_uri)
        return s3_uri

    # --- files: s3:// through the S3 hook; file:// and local paths on disk ----------------------------

    def read_bytes(self, uri: str) -> bytes:
        """The whole object or file at ``uri`` (``s3://``, ``file://`` or a local path).

        :raises FileNotFoundError: when there is nothing at ``uri``.
        """
        if is_s3(uri):
            bucket, key = S3Hook.parse_s3_url(uri)
            try:
                return self.s3_hook.get_key(key, bucket_name=bucket).get()["Body"].read()
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in _S3_NOT_FOUND_CODES:
                    raise FileNotFoundError(f"No object at {uri}") from error
                raise
        path = local_path(uri)
        if not path.is_file():
            raise FileNotFoundError(f"No file at {uri} (local path {path})")
        return path.read_bytes()

    def write_bytes(self, uri: str, data: bytes, *, kms_key: str | None = None) -> str:
        """Write the whole object or file at ``uri``, replacing what was there; returns ``uri``.

        One PUT on S3 (SSE-KMS with ``kms_key`` when given); temp file + rename locally, so a reader
        never sees a half-written file.
        """
        if is_s3(uri):
            extra_args = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else None
            s3_hook = self._new_s3_hook(extra_args) if extra_args else self.s3_hook
            bucket, key = S3Hook.parse_s3_url(uri)
            s3_hook.load_bytes(data, key=key, bucket_name=bucket, replace=True)
        else:
            write_local_atomic(local_path(uri), data)
        return uri

    def read_json(self, uri: str) -> Any:
        """The JSON document at ``uri`` (see :meth:`read_bytes`)."""
        return json.loads(self.read_bytes(uri))

    def write_json(
        self, uri: str, document: Any, *, indent: int | None = None, kms_key: str | None = None
    ) -> str:
        """Write ``document`` as UTF-8 JSON to ``uri`` (see :meth:`write_bytes`); returns ``uri``."""
        return self.write_bytes(uri, json.dumps(document, indent=indent).encode("utf-8"), kms_key=kms_key)

    def exists(self, uri: str) -> bool:
        """Whether an object or file exists at ``uri``."""
        if is_s3(uri):
            bucket, key = S3Hook.parse_s3_url(uri)
            return bool(self.s3_hook.check_for_key(key, bucket_name=bucket))
        return local_path(uri).is_file()

    def s3_input_problem(self, uri: str) -> str | None:
        """Why a job could not read the ``s3://`` object or prefix ``uri`` (``None``: it is there and readable).

        One ListObjectsV2 (an object or any object under the prefix) and one HEAD of the first object
        found, so a missing file, an empty prefix, a missing bucket and a denied read are all caught.
        Other URIs are not checked here (preflight already requires S3 for SageMaker jobs).
        """
        if not is_s3(uri):
            return None
        bucket, key = S3Hook.parse_s3_url(uri)
        try:
            listed = self.s3_hook.get_conn().list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
            contents = listed.get("Contents") or []
            if not contents:
                return "no object at or under this location"
            self.s3_hook.get_conn().head_object(Bucket=bucket, Key=contents[0]["Key"])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in ("NoSuchBucket", *_S3_NOT_FOUND_CODES):
                return f"bucket {bucket!r} or object not found ({code})"
            if code in ("AccessDenied", "403", "Forbidden"):
                return f"not readable with the task's AWS connection ({code})"
            raise
        return None

    def model_problem(self, kind: str, name: str) -> str | None:
        """Why the SageMaker ``kind`` (``"model"`` or ``"endpoint"``) ``name`` cannot serve a Clarify job."""
        try:
            if kind == "model":
                self.conn.describe_model(ModelName=name)
                return None
            status = self.conn.describe_endpoint(EndpointName=name).get("EndpointStatus")
        except ClientError as error:
            details = error.response.get("Error", {})
            if details.get("Code") == "ValidationException" and "not" in details.get("Message", "").lower():
                return f"no SageMaker {kind} of that name"
            raise
        if status in ("Failed", "Deleting", "OutOfService"):
            return f"the endpoint is {status}"
        return None

    def delete(self, uri: str) -> None:
        """Remove the object or file at ``uri`` (nothing happens when there is none)."""
        if is_s3(uri):
            bucket, key = S3Hook.parse_s3_url(uri)
            self.s3_hook.delete_objects(bucket=bucket, keys=[key])
        else:
            local_path(uri).unlink(missing_ok=True)

    # --- processing jobs ------------------------------------------------------------------------------

    def start_processing_job(self, request: dict) -> dict:
        """Send CreateProcessingJob with ``request`` (see ``processing_job_request``); returns the response."""
        response = self.conn.create_processing_job(**request)
        self.log.info(
            "Started Clarify processing job %s (%s).",
            request.get("ProcessingJobName"),
            response.get("ProcessingJobArn"),
        )
        return response

    def stop_processing_job(self, job_name: str) -> None:
        """Ask SageMaker to stop ``job_name``; a job that already finished (or is stopping) is left alone."""
        try:
            self.conn.stop_processing_job(ProcessingJobName=job_name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ValidationException":
                raise
            try:
                status = self.describe_processing_job(job_name)["ProcessingJobStatus"]
            except ClientError:
                raise error from None
            if status not in TERMINAL_STATES and status != "Stopping":
                raise
            self.log.info("Clarify job %s is already %s; nothing to stop", job_name, status)
            return
        self.log.info("Requested stop of Clarify processing job %s", job_name)

    # --- async, for the trigger -----------------------------------------------------------------------

    async def describe_processing_job_async(self, job_name: str, client: Any = None) -> dict:
        """DescribeProcessingJob through aiobotocore (pass an open ``client`` to reuse it)."""
        if client is not None:
            return await client.describe_processing_job(ProcessingJobName=job_name)
        async with await self.get_async_conn() as own_client:
            return await own_client.describe_processing_job(ProcessingJobName=job_name)

    async def stop_processing_job_async(self, job_name: str, client: Any = None) -> None:
        """StopProcessingJob through aiobotocore (pass an open ``client`` to reuse it); finished jobs are
        left alone, as in the sync version."""
        if client is None:
            async with await self.get_async_conn() as own_client:
                return await self.stop_processing_job_async(job_name, client=own_client)
        try:
            await client.stop_processing_job(ProcessingJobName=job_name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ValidationException":
                raise
            description = await client.describe_processing_job(ProcessingJobName=job_name)
            status = description["ProcessingJobStatus"]
            if status not in TERMINAL_STATES and status != "Stopping":
                raise
            self.log.info("Clarify job %s is already %s; nothing to stop", job_name, status)
            return
        self.log.info("Requested stop of Clarify processing job %s", job_name)

    # --- results ------------------------------------------------------------------------------------

    def read_intervals(self, result_uri: str) -> IntervalsResult | None:
        """The ``confidence_intervals.json`` next to the result's ``analysis.json`` (``None``: the
        analysis ran without ``confidence_intervals``; see ``docs/uncertainty.md``).

        :raises ClarifyConfigError: the document is there but is not one the engine writes.
        """
        from airflow_provider_clarify.analysis.uncertainty import CONFIDENCE_INTERVALS_FILE, IntervalsResult

        try:
            body = self.read_bytes(join(result_folder_uri(result_uri), CONFIDENCE_INTERVALS_FILE))
        except FileNotFoundError:
            return None
        return IntervalsResult.from_json(body)

    def read_analysis_result(self, result_uri: str, *, intervals: bool = True) -> AnalysisResult:
        """Read ``analysis.json`` under ``result_uri`` (s3://, file:// or a local path) and parse it.

        ``result_uri`` is the ``analysis_result`` prefix (what the operators return) or the
        ``analysis.json`` file itself. With ``intervals`` (default) the ``confidence_intervals.json``
        of the same run is attached as ``AnalysisResult.intervals`` when it exists (one more read).

        :raises FileNotFoundError: when there is no analysis.json there (e.g. the job was stopped).
        :raises ClarifyConfigError: analysis.json (or its intervals document) is malformed.
        """
        from airflow_provider_clarify.analysis.results import AnalysisResult

        file_uri = analysis_file_uri(result_uri)
        try:
            body = self.read_bytes(file_uri)
        except FileNotFoundError as error:
            if is_s3(file_uri):
                raise FileNotFoundError(
                    f"No analysis.json at {file_uri}: the job has not written results there "
                    "(still running, failed, stopped, or a different output prefix)"
                ) from error
            raise FileNotFoundError(
                f"No analysis.json at {file_uri} (local path {local_path(file_uri)})"
            ) from error
        result = AnalysisResult.from_json(body)
        return result.with_intervals(self.read_intervals(result_uri)) if intervals else result

    def list_result_files(self, result_uri: str) -> list[str]:
        """URIs of every file under the ``analysis_result`` prefix (s3://, file:// or local), sorted."""
        if is_s3(result_uri):
            bucket, key = S3Hook.parse_s3_url(result_uri)
            prefix = f"{key.rstrip('/')}/" if key else ""
            keys = self.s3_hook.list_keys(bucket_name=bucket, prefix=prefix)
            return sorted(f"s3://{bucket}/{k}" for k in keys if not k.endswith("/"))
        root = local_path(result_uri)
        if not root.is_dir():
            return []
        files = sorted(p for p in root.rglob("*") if p.is_file())
        if result_uri.startswith("file://"):
            return [p.resolve().as_uri() for p in files]
        return [str(p) for p in files]


def throttle_delay(base_interval: float, consecutive_throttles: int, cap: float) -> float:
    """Exponential back-off after the n-th consecutive throttle: ``base * 2**(n-1)``, at most ``cap``."""
    return float(min(cap, base_interval * 2 ** max(0, consecutive_throttles - 1)))
