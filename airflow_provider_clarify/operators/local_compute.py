"""``compute="local"``: run the open engine on the Airflow worker, in a child process.

The analysis operators call :func:`run_local_analysis` instead of starting a SageMaker Processing
job. It writes the same files to the same output location (``analysis_config.json`` next to
``analysis.json``, ``report.html``, explanation files) and returns the same ``analysis_result`` URI,
so a DAG moves between SageMaker and local compute by changing one argument.

Why a child process: the engine loads whole columns into memory and calls native code (numpy,
pyarrow, scikit-learn). A segfault, an ``abort()`` or the kernel's out-of-memory killer would take a
worker that ran it in-process down with it, losing the task's log and heartbeat. Here the engine
runs in ``python -m airflow_provider_clarify.operators._local_child``; whatever happens to it, this
process survives and fails the task with :class:`LocalAnalysisError` naming the exit code or
signal and quoting the last lines the engine wrote to stderr. An optional address-space limit
(``memory_limit_mb``) turns a runaway analysis into a ``MemoryError`` before the machine swaps, and
``timeout_seconds`` stops a run that takes too long: SIGTERM, on which the child removes what it was
writing and exits, then SIGKILL after ``kill_grace_seconds``.

Before anything runs, :func:`run_local_analysis` checks the locations (no ``..`` in the output
path), ``local_model`` (parsed into a :class:`~airflow_provider_clarify.analysis.model_source.ModelSource`)
and that the ``engine`` extra is installed; each failure is a :class:`ClarifyConfigError`, which the
operators fail without retries. Errors of the engine are classified by its hierarchy
(:mod:`airflow_provider_clarify.engine.errors`): an ``EngineConfigError`` becomes
:class:`LocalAnalysisConfigError` (not retried), anything else :class:`LocalAnalysisError`.
``kms_key`` / ``output_kms_key`` encrypt the config and every result object written to S3 (SSE-KMS).

Credentials for ``s3://`` come from the task's AWS connection (``endpoint_url`` included, so a
local S3 such as MinIO or moto works) and reach the child on its standard input, never on its
command line.

This module is imported when DAGs are parsed: it imports no numeric library and no AWS SDK at
module level.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.model_source import ModelSource, resolve_model_source
from airflow_provider_clarify.locations import ANALYSIS_FILE, join, local_path, scheme

if TYPE_CHECKING:
    from airflow_provider_clarify.hooks.clarify import ClarifyHook

#: Module the child interpreter runs.
CHILD_MODULE = "airflow_provider_clarify.operators._local_child"
#: Lines of the child's stderr quoted in an error message.
STDERR_TAIL_LINES = 25
#: Seconds between SIGTERM and SIGKILL when a run is stopped.
KILL_GRACE_SECONDS = 5.0


class LocalAnalysisError(AirflowException):
    """The local engine failed: it raised, crashed, ran out of memory or timed out.

    :param message: what happened and what to do about it.
    :param exit_code: the child's exit status (negative: killed by that signal), when it ended.
    :param stderr_tail: the last lines the engine wrote to stderr.
    """

    def __init__(self, message: str, *, exit_code: int | None = None, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail


class LocalAnalysisConfigError(LocalAnalysisError, ClarifyConfigError):
    """The engine rejected the configuration or the dataset (a missing column, a bad value, ...).

    Both a :class:`LocalAnalysisError` and a :class:`ClarifyConfigError`, so the operators treat it
    like any other bad configuration: the task fails without retries (retrying cannot help).
    """

    def __init__(
        self, message: str, *, exit_code: int | None = None, stderr_tail: str = "", **config_error: Any
    ) -> None:
        """``config_error``: the :class:`ClarifyConfigError` keywords (``field``, ``value``, ...)."""
        ClarifyConfigError.__init__(self, message, **config_error)
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail

    __str__ = ClarifyConfigError.__str__


@dataclass(frozen=True)
class LocalRunOutcome:
    """Where a local run put its results (the same URIs SageMaker mode pushes to XCom).

    :param analysis_result_uri: the output location holding ``analysis.json`` (as given, like the
        ``analysis_result`` output of a processing job).
    :param analysis_config_uri: where ``analysis_config.json`` was written.
    :param job_name: the run's name (the name SageMaker mode would have given the job).
    :param analysis_json_uri: the ``analysis.json`` file itself.
    :param duration_seconds: wall-clock time of the engine run (child process start to exit).
    :param engine_seconds: of that, the time spent in ``run_analysis`` itself; the rest is the
        child's start-up (interpreter and imports), the task's overhead.
    :param imported_modules: top-level modules the child had imported when it finished (to check
        that a run loads only what its methods need).
    """

    analysis_result_uri: str
    analysis_config_uri: str
    job_name: str
    analysis_json_uri: str = ""
    duration_seconds: float = 0.0
    engine_seconds: float = 0.0
    imported_modules: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Locations


def _check_location(field: str, uri: Any, *, written: bool = False) -> str:
    """``uri`` when compute='local' can use it; ``written``: it is an output folder, which must not
    climb out of where it points (a templated ``..`` segment)."""
    if not isinstance(uri, str) or not uri.strip():
        raise ClarifyConfigError(
            f"{field} is {uri!r}; compute='local' needs an s3:// URI, a file:// URI or a local path",
            field=field,
            value=uri,
            accepted="an s3:// URI, a file:// URI or a local path",
        )
    if scheme(uri) not in ("", "s3", "file"):
        raise ClarifyConfigError(
            f"{field} {uri!r} uses the scheme {scheme(uri)!r}; compute='local' reads and writes "
            "s3:// URIs (through the task's AWS connection), file:// URIs and local paths",
            field=field,
            value=uri,
            accepted="an s3:// URI, a file:// URI or a local path",
        )
    path = uri.split("://", 1)[1] if "://" in uri else uri
    if written and ".." in path.replace("\\", "/").split("/"):
        raise ClarifyConfigError(
            f"{field} {uri!r} has a '..' segment, so results would land outside the folder it names "
            "(often a templated value such as {{ params.name }} that contains '../'). Give the output "
            "folder without '..'.",
            field=field,
            value=uri,
            accepted="an output location without '..' segments",
        )
    return uri


def _uses_s3(*uris: str | None) -> bool:
    return any(isinstance(u, str) and scheme(u) == "s3" for u in uris)


# --------------------------------------------------------------------------------------------
# Models


def resolve_local_model(local_model: Any, analysis_config: dict) -> ModelSource | None:
    """Check the operators' ``local_model`` and return its :class:`ModelSource` (``None``: no model needed).

    Accepted forms (see :class:`~airflow_provider_clarify.analysis.model_source.ModelSource`):

    * ``"http://host:port"`` / ``{"url": "http://host:port", "timeout_seconds": 30, "retries": 2}``:
      a server speaking the SageMaker hosting contract (``POST /invocations``). Request/response
      formats come from the config's ``predictor`` block (``content_type``, ``accept_type``,
      ``label``, ``probability``, ...).
    * ``{"endpoint_name": "name", "timeout_seconds": ..., "retries": ...}``: a deployed SageMaker
      endpoint, invoked with the task's AWS connection. Without ``local_model``,
      ``predictor.endpoint_name`` of the config is used.
    * ``{"artifact": path_or_uri, "format": "joblib" | "pickle", "trust": True, "method": "auto"}``:
      a scikit-learn style estimator file. Loading it **runs code from the file**, hence ``trust``.

    An in-process callable cannot be used here: the engine runs in a child process.
    """
    source = resolve_model_source(local_model, analysis_config, field_name="local_model")
    if source is not None:
        source.to_spec(field_name="local_model")  # refuses in-process objects before anything runs
    return source


# --------------------------------------------------------------------------------------------
# AWS


def _aws_settings(aws_conn_id: str | None, region_name: str | None, verify: Any) -> dict:
    """Credentials, region and S3 endpoint of the task's AWS connection as engine storage options."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    hook = AwsBaseHook(aws_conn_id=aws_conn_id, region_name=region_name, verify=verify, client_type="s3")
    try:
        creds = hook.get_credentials()  # also masks the secret in task logs
    except AttributeError:  # boto3 found no credentials at all
        creds = None
    if creds is None:
        raise LocalAnalysisError(
            f"compute='local' needs AWS credentials for s3:// locations or SageMaker endpoints, and the "
            f"AWS connection {aws_conn_id!r} provides none. Set login/password (or a role) on the "
            "connection, or use local paths."
        )
    options: dict[str, Any] = {
        "aws_access_key_id": creds.access_key,
        "aws_secret_access_key": creds.secret_key,
        "region_name": region_name or hook.conn_config.region_name or hook.conn_region_name,
    }
    if creds.token:
        options["aws_session_token"] = creds.token
    endpoint_url = hook.conn_config.get_service_endpoint_url("s3")
    if endpoint_url:
        options["endpoint_url"] = endpoint_url
    runtime_endpoint = hook.conn_config.get_service_endpoint_url("sagemaker-runtime")
    return {"storage_options": options, "runtime_endpoint_url": runtime_endpoint}


def _fetch_artifact(uri: str, workdir: str, hook: ClarifyHook) -> str:
    """Return a local path of the model artifact (downloading it from S3 into ``workdir``)."""
    if scheme(uri) != "s3":
        path = local_path(uri)
        if not path.is_file():
            raise ClarifyConfigError(
                f"local_model.artifact {uri!r} does not exist or is not a file",
                field="local_model.artifact",
                value=uri,
                accepted="an existing model file (joblib/pickle)",
            )
        return str(path)
    s3_hook = hook.s3_hook
    bucket, key = s3_hook.parse_s3_url(uri)
    return s3_hook.download_file(
        key=key,
        bucket_name=bucket,
        local_path=workdir,
        preserve_file_name=True,
        use_autogenerated_subdir=False,
    )


# --------------------------------------------------------------------------------------------
# The child process


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = ""
        if -code == signal.SIGKILL:
            hint = (
                " - most often the kernel's out-of-memory killer: give the worker more memory, "
                "sample the dataset, or lower methods.shap.num_samples / the baseline size"
            )
        elif -code == signal.SIGSEGV:
            hint = " - a native library crashed"
        return f"was killed by {name}{hint}"
    if code == 128 + signal.SIGTERM:
        return "stopped after SIGTERM (the task was stopped or the worker is shutting down)"
    return f"exited with status {code}"


def _drain(stream: Any, tail: collections.deque, logger: logging.Logger) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\n")
        tail.append(line)
        logger.info("[local engine] %s", line)
    stream.close()


def _stop(process: subprocess.Popen, grace_seconds: float = KILL_GRACE_SECONDS) -> None:
    """SIGTERM (the child removes half-written files and exits), then SIGKILL after ``grace_seconds``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _child_environment() -> dict[str, str]:
    """The worker's environment, with this package importable wherever the child starts."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    package_root = str(Path(__file__).resolve().parents[2])
    paths = [package_root, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def _run_child(
    spec: dict,
    *,
    timeout_seconds: float | None,
    kill_grace_seconds: float = KILL_GRACE_SECONDS,
    logger: logging.Logger,
    run_name: str,
) -> dict:
    """Start the child, feed it ``spec``, stream its log, and return its result payload."""
    with tempfile.TemporaryDirectory(prefix="clarify-local-") as tmp:
        result_file = os.path.join(tmp, "result.json")
        spec = {**spec, "result_file": result_file, "parent_pid": os.getpid()}
        env = _child_environment()
        process = subprocess.Popen(
            [sys.executable, "-m", CHILD_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp,
        )
        tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        reader = threading.Thread(target=_drain, args=(process.stdout, tail, logger), daemon=True)
        reader.start()
        try:
            try:
                process.stdin.write(json.dumps(spec).encode("utf-8"))
                process.stdin.close()
            except BrokenPipeError:
                pass  # the child died at start-up; its exit status says why
            try:
                code = process.wait(timeout_seconds)
            except subprocess.TimeoutExpired:
                _stop(process, kill_grace_seconds)
                reader.join(5)
                raise LocalAnalysisError(
                    f"Local Clarify analysis {run_name} did not finish within {timeout_seconds:g} s and was "
                    "stopped. Raise the operator's max_ingestion_time, sample the dataset, or lower "
                    "methods.shap.num_samples.\nLast engine output:\n" + "\n".join(tail),
                    exit_code=process.returncode,
                    stderr_tail="\n".join(tail),
                ) from None
        except BaseException:
            _stop(process, kill_grace_seconds)  # the task was killed: never leave the child running
            raise
        reader.join(10)
        stderr_tail = "\n".join(tail)
        payload: dict = {}
        if os.path.exists(result_file):
            with open(result_file, encoding="utf-8") as handle:
                try:
                    payload = json.load(handle)
                except ValueError:
                    payload = {}
        if code == 0 and payload.get("ok"):
            return payload
        if payload.get("terminated"):
            message = (
                f"Local Clarify analysis {run_name}: the engine process was stopped by SIGTERM (the task "
                "was stopped or the worker is shutting down); its partial output was removed."
            )
        elif payload.get("ok") is False:
            error_type = payload.get("error_type", "Exception")
            hint = ""
            if payload.get("out_of_memory") or error_type == "MemoryError":
                hint = (
                    " The engine ran out of memory (memory_limit_mb or the machine's memory): sample the "
                    "dataset, give the worker more memory, or lower methods.shap.num_samples."
                )
            message = (
                f"Local Clarify analysis {run_name} failed: {error_type}: {payload.get('message')}.{hint}"
            )
        else:
            message = f"Local Clarify analysis {run_name}: the engine process {_describe_exit(code)}."
        if stderr_tail:
            message = f"{message}\nLast engine output:\n{stderr_tail}"
        if payload.get("config_error"):
            raise LocalAnalysisConfigError(
                message, field=payload.get("field"), exit_code=code, stderr_tail=stderr_tail
            )
        raise LocalAnalysisError(message, exit_code=code, stderr_tail=stderr_tail)


# --------------------------------------------------------------------------------------------
# Public entry point


def run_local_analysis(
    analysis_config: dict,
    dataset_uri: str | None,
    output_uri: str,
    *,
    aws_conn_id: str | None = "aws_default",
    region_name: str | None = None,
    verify: bool | str | None = None,
    local_model: ModelSource | str | dict | None = None,
    run_name: str = "clarify-local",
    timeout_seconds: float | None = None,
    memory_limit_mb: int | None = None,
    kms_key: str | None = None,
    output_kms_key: str | None = None,
    kill_grace_seconds: float = KILL_GRACE_SECONDS,
    logger: logging.Logger | None = None,
    confidence_intervals: Any = None,
    intersections: Any = None,
) -> LocalRunOutcome:
    """Run one Clarify analysis with the open engine in a child process.

    :param analysis_config: the validated analysis_config dict (the one SageMaker mode uploads).
    :param dataset_uri: dataset location (``s3://``, ``file://`` or a local path); ``None`` uses
        ``analysis_config["dataset_uri"]``.
    :param output_uri: output location (``s3://``, ``file://`` or a local path); receives
        ``analysis_config.json``, ``analysis.json``, ``report.html`` and explanation files. Every
        file is written inside it (a ``..`` segment is refused).
    :param aws_conn_id: AWS connection for ``s3://`` locations and SageMaker endpoints
        (its ``endpoint_url`` extra is honoured). Only read when something is on S3 or an endpoint is used.
    :param region_name: AWS region (default: the connection's).
    :param verify: TLS verification for S3 (as in the amazon provider's hooks).
    :param local_model: where predictions come from; see :func:`resolve_local_model`.
    :param run_name: name of this run in logs and in the outcome (SageMaker mode's job name).
    :param timeout_seconds: stop the engine and fail after this many seconds (``None``: no limit).
    :param memory_limit_mb: cap the engine's address space (``RLIMIT_AS``); ``None``: no cap.
    :param kms_key: KMS key for the uploaded ``analysis_config.json`` (SSE-KMS), as in SageMaker mode.
    :param output_kms_key: KMS key for every result object written to an ``s3://`` output (SSE-KMS).
    :param kill_grace_seconds: when the run is stopped (time-out, task killed), seconds between the
        child's SIGTERM (it removes half-written files and exits) and SIGKILL.
    :param logger: where the engine's log lines go (the task log).
    :param confidence_intervals: opt-in intervals (``confidence_intervals.json``): ``True``, a dict
        of the ``ConfidenceIntervalConfig`` fields, or one; checked here, before anything runs.
    :param intersections: opt-in intersectional facets and scan (``intersectional_bias.json``): a
        dict of the ``IntersectionConfig`` fields, or one.
    :raises ClarifyConfigError: bad locations or ``local_model``, or the ``engine`` extra is not
        installed, before anything runs; also a configuration or data error the engine found
        (:class:`LocalAnalysisConfigError`). Not worth retrying.
    :raises LocalAnalysisError: the engine failed otherwise, crashed, was killed or timed out (retryable).
    """
    logger = logger or logging.getLogger(__name__)
    if not isinstance(analysis_config, dict):
        raise ClarifyConfigError(
            f"analysis_config must be a dict, not {type(analysis_config).__name__}",
            field="analysis_config",
            value=type(analysis_config).__name__,
            accepted="the analysis_config dict",
        )
    output_uri = _check_location("s3_output_path", output_uri, written=True)
    dataset_uri = dataset_uri or analysis_config.get("dataset_uri")
    dataset_uri = _check_location("s3_data_input_path", dataset_uri)
    if memory_limit_mb is not None and (not isinstance(memory_limit_mb, int) or memory_limit_mb < 256):
        raise ClarifyConfigError(
            f"memory_limit_mb={memory_limit_mb!r} is too small to load the engine",
            field="memory_limit_mb",
            value=memory_limit_mb,
            accepted="None or an int >= 256 (MiB of address space; numeric libraries need ~1000+)",
        )
    model = resolve_local_model(local_model, analysis_config)
    from airflow_provider_clarify.analysis.schema import validate_analysis_config
    from airflow_provider_clarify.analysis.uncertainty import ConfidenceIntervalConfig, IntersectionConfig

    intervals = ConfidenceIntervalConfig.coerce(confidence_intervals)
    intersection_config = IntersectionConfig.coerce(intersections)
    from airflow_provider_clarify.engine._extra import check_engine_installed

    # Here, where Airflow has loaded jsonschema already: a bad config fails before the child starts,
    # and the child skips the schema (and the 0.4 s of CPU importing jsonschema costs it).
    validate_analysis_config(analysis_config)

    check_engine_installed(field="compute")  # before the config is written or the child started

    other_uris = [
        analysis_config.get("facet_dataset_uri"),
        analysis_config.get("predicted_label_dataset_uri"),
        ((analysis_config.get("methods") or {}).get("shap") or {}).get("baseline"),
        model.artifact if model else None,
    ]
    spec: dict[str, Any] = {
        "analysis_config": analysis_config,
        "dataset": dataset_uri,
        "output": output_uri,
        "output_kms_key": output_kms_key or None,
        "memory_limit_bytes": memory_limit_mb * 1024 * 1024 if memory_limit_mb else None,
        "schema_checked": True,
    }
    if intervals is not None:
        spec["confidence_intervals"] = intervals.to_dict()
    if intersection_config is not None:
        spec["intersections"] = intersection_config.to_dict()
    uses_endpoint = model is not None and model.kind == "endpoint"
    if _uses_s3(dataset_uri, output_uri, *other_uris) or uses_endpoint:
        aws = _aws_settings(aws_conn_id, region_name, verify)
        spec["storage_options"] = aws["storage_options"]
        if uses_endpoint:
            spec["model_endpoint_url"] = aws["runtime_endpoint_url"]

    from airflow_provider_clarify.hooks.clarify import ClarifyHook

    # Reads and writes the s3:// locations of this run (local paths need no AWS at all).
    hook = ClarifyHook(aws_conn_id=aws_conn_id, region_name=region_name, verify=verify)
    with tempfile.TemporaryDirectory(prefix="clarify-model-") as workdir:
        if model is not None and model.kind == "artifact":
            model = dataclasses.replace(model, artifact=_fetch_artifact(model.artifact, workdir, hook))
        spec["model"] = model.to_spec() if model is not None else None
        logger.info(
            "Local Clarify analysis %s: dataset %s -> %s (model: %s)",
            run_name,
            dataset_uri,
            output_uri,
            model.describe() if model is not None else "none needed",
        )
        started = time.monotonic()
        payload = _run_child(
            spec,
            timeout_seconds=timeout_seconds,
            kill_grace_seconds=kill_grace_seconds,
            logger=logger,
            run_name=run_name,
        )
        duration = time.monotonic() - started
    # analysis_config.json goes next to the output, as SageMaker mode places it there, and only once
    # the run succeeded: a failed run never leaves a config beside results it did not produce.
    config_uri = hook.write_json(
        join(output_uri, "analysis_config.json"), analysis_config, indent=2, kms_key=kms_key or None
    )
    logger.info("Local Clarify analysis %s finished in %.1f s: %s", run_name, duration, output_uri)
    return LocalRunOutcome(
        analysis_result_uri=output_uri,
        analysis_config_uri=config_uri,
        job_name=run_name,
        analysis_json_uri=payload.get("analysis_json_uri") or join(output_uri, ANALYSIS_FILE),
        duration_seconds=duration,
        engine_seconds=float(payload.get("engine_seconds") or 0.0),
        imported_modules=tuple(payload.get("modules") or ()),
    )


def run_local_engine(
    kind: str,
    spec: dict[str, Any],
    *,
    aws_conn_id: str | None = None,
    region_name: str | None = None,
    verify: bool | str | None = None,
    run_name: str = "clarify-local",
    timeout_seconds: float | None = None,
    memory_limit_mb: int | None = None,
    kill_grace_seconds: float = KILL_GRACE_SECONDS,
    logger: logging.Logger | None = None,
) -> dict[str, Any]:
    """Run one engine task of ``kind`` (a kind of ``_local_child``, e.g. ``"monitor"``) in the child
    process, with the same crash / out-of-memory / time-out handling, ``memory_limit_mb``, SIGTERM
    grace, ``engine``-extra check and error classification as :func:`run_local_analysis`.

    :param spec: the kind's run spec (see ``_local_child``); credentials are added from
        ``aws_conn_id`` as ``storage_options`` when it is given (they travel on the child's stdin).
    :returns: the child's success payload.
    :raises ClarifyConfigError: a bad ``memory_limit_mb`` or a missing ``engine`` extra before anything
        runs, or a configuration error the engine found (:class:`LocalAnalysisConfigError`).
    :raises LocalAnalysisError: the engine failed otherwise, crashed, was killed or timed out.
    """
    if memory_limit_mb is not None and (not isinstance(memory_limit_mb, int) or memory_limit_mb < 256):
        raise ClarifyConfigError(
            f"memory_limit_mb={memory_limit_mb!r} is too small to load the engine",
            field="memory_limit_mb",
            value=memory_limit_mb,
            accepted="None or an int >= 256 (MiB of address space; numeric libraries need ~1000+)",
        )
    from airflow_provider_clarify.engine._extra import check_engine_installed

    check_engine_installed(field="compute")
    spec = {
        **spec,
        "kind": kind,
        "memory_limit_bytes": memory_limit_mb * 1024 * 1024 if memory_limit_mb else None,
    }
    if aws_conn_id is not None:
        spec["storage_options"] = _aws_settings(aws_conn_id, region_name, verify)["storage_options"]
    return _run_child(
        spec,
        timeout_seconds=timeout_seconds,
        kill_grace_seconds=kill_grace_seconds,
        logger=logger or logging.getLogger(__name__),
        run_name=run_name,
    )


__all__ = [
    "LocalAnalysisConfigError",
    "LocalAnalysisError",
    "LocalRunOutcome",
    "resolve_local_model",
    "run_local_analysis",
    "run_local_engine",
]
