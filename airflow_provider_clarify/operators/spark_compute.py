"""``compute="spark"``: the analysis operators run the open engine's Spark backend on a Spark cluster.

The task submits the engine's CLI (``--backend spark``) through the apache-spark provider's
connection (``spark_conn_id``) and writes the same files to the same output location as the other
modes (``analysis.json``, ``report.html``, then ``analysis_config.json`` beside them once the run
succeeded), returning the same ``analysis_result`` URI.

Two kinds of connection are accepted, told apart by the connection's type:

* ``spark`` (``spark-submit``): :class:`~airflow.providers.apache.spark.hooks.spark_submit.SparkSubmitHook`
  runs ``spark-submit`` with the connection's master (``spark://``, ``yarn``, ``k8s://``, ``local[N]``)
  and deploy mode. The application is a two-line file that runs
  :mod:`~airflow_provider_clarify.operators._spark_driver`; this package goes along as a zip of the
  installed package (``--py-files``), so the cluster needs only pyspark and the engine's libraries
  (numpy, pyarrow) in its Python, not this provider.
* ``spark_connect`` (Spark Connect, ``sc://``): the worker runs the same driver program in a child
  process as a Connect client (``$SPARK_REMOTE``, with the connection's token, is given in its
  environment, never on a command line); the package is added to the session as an artifact.

Before anything is submitted the plan is validated for what the Spark backend computes
(:func:`~airflow_provider_clarify.analysis.capabilities.spark_problems`, the engine's own rule: CSV,
JSON Lines and Parquet datasets, pre- and post-training bias from dataset columns, the report, Kernel
SHAP and PDP of tabular records; no text or image explanations, no side datasets); literal arguments
are checked when the DAG is parsed (:func:`check_spark_arguments`, :func:`check_spark_explanations`).

The model the explanations call: ``local_model`` (as with ``compute="local"``: a URL of a server
speaking the SageMaker hosting contract, ``{"endpoint_name": ...}``, or a trusted joblib/pickle
``{"artifact": ..., "trust": True}``) becomes the engine CLI's ``--model-*`` arguments
(:func:`model_arguments`); without it the config's ``predictor.endpoint_name`` is called. A URL or an
endpoint is called from the executors (an endpoint with the executors' own AWS credentials: nothing
of the task's AWS connection is put on the command line); an artifact is loaded by the driver and
broadcast, so its path must be one the driver reads (an ``s3://`` artifact is downloaded with the
task's AWS connection to the worker first, which suits ``spark-submit`` in client mode and Spark
Connect, whose driver program runs on the worker). Each problem is a :class:`ClarifyConfigError` naming the field and
the fix, and the task fails without retries. A driver that exits with the engine's configuration
status (2) fails the same way (:class:`SparkAnalysisConfigError`); anything else is a
:class:`SparkAnalysisError` (retryable) quoting the last lines of the driver's output.

``on_kill`` (and ``max_ingestion_time``) stop the run: the hook's kill (the ``spark-submit`` process,
a standalone-cluster driver, a YARN application) and then the whole process group of ``spark-submit``
or of the Connect client, so no driver is left running. The engine writes ``analysis.json`` only after
every Spark job finished, so a stopped run leaves none.

Imported when DAGs are parsed (only with ``compute="spark"``): no pyspark, no numeric library and no
provider hook at module level.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_clarify.analysis.capabilities import SPARK_DATASET_TYPES, spark_problems
from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.engine.exit_codes import EXIT_CONFIG
from airflow_provider_clarify.locations import ANALYSIS_FILE, join, scheme
from airflow_provider_clarify.operators._arguments import has_template

#: The plan kinds whose configs hold explanations: the kinds that call a model (``local_model``).
EXPLANATION_KINDS = ("explainability", "bias_and_explainability")

#: ``spark_options`` keys passed to ``SparkSubmitHook`` as they are (its keyword arguments).
SUBMIT_OPTIONS = frozenset(
    {
        "files",
        "py_files",
        "archives",
        "driver_class_path",
        "jars",
        "packages",
        "exclude_packages",
        "repositories",
        "total_executor_cores",
        "executor_cores",
        "executor_memory",
        "driver_memory",
        "keytab",
        "principal",
        "proxy_user",
        "num_executors",
        "env_vars",
        "verbose",
        "spark_binary",
        "properties_file",
        "yarn_queue",
        "deploy_mode",
        "status_poll_interval",
    }
)
#: ``spark_options`` keys of ours, used with both kinds of connection.
COMMON_OPTIONS = frozenset({"conf", "ship_package"})
SPARK_CONN_TYPE = "spark"
CONNECT_CONN_TYPE = "spark_connect"
#: Module the driver program runs (no Airflow import; see ``_spark_driver``).
DRIVER_MODULE = "airflow_provider_clarify.operators._spark_driver"
#: Lines of the driver's output quoted in an error.
OUTPUT_TAIL_LINES = 30
#: Seconds between SIGTERM and SIGKILL when a run is stopped.
KILL_GRACE_SECONDS = 10.0

_DRIVER_APPLICATION = (
    '"""clarify compute="spark": runs the open engine\'s CLI with --backend spark (see _spark_driver)."""\n'
    "import runpy\n\n"
    f'runpy.run_module("{DRIVER_MODULE}", run_name="__main__", alter_sys=True)\n'
)


class SparkAnalysisError(AirflowException):
    """The Spark run failed, was stopped or timed out (worth a retry unless it is a config error).

    :param exit_code: the exit status of ``spark-submit`` or of the Connect client, when it ended.
    :param output_tail: the last lines it wrote.
    """

    def __init__(self, message: str, *, exit_code: int | None = None, output_tail: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.output_tail = output_tail


class SparkAnalysisConfigError(SparkAnalysisError, ClarifyConfigError):
    """The engine on the cluster rejected the configuration or the dataset: not retried."""

    def __init__(self, message: str, *, exit_code: int | None = None, output_tail: str = "") -> None:
        ClarifyConfigError.__init__(self, message, field="analysis_config")
        self.exit_code = exit_code
        self.output_tail = output_tail

    __str__ = ClarifyConfigError.__str__


def make_spark_plan(kind: str, arguments: Mapping[str, Any], *, model_given: bool = False) -> Any:
    """The run's :class:`~airflow_provider_clarify.analysis.plan.AnalysisPlan` for ``compute="spark"``.

    Preflight as for the open engine, then the Spark backend's limits
    (:func:`~airflow_provider_clarify.analysis.capabilities.spark_problems`; ``model_given``: a
    ``local_model`` goes along, so explanations need no ``predictor.endpoint_name``).

    :raises ClarifyConfigError: every problem at once, each with its JSON path.
    """
    from airflow_provider_clarify.analysis.plan import build_plan

    return build_plan(kind, arguments, compute="spark", model_given=model_given)


def check_spark_options(spark_options: Any, conn_type: str | None = None) -> dict[str, Any]:
    """``spark_options`` as a dict, every key known (for ``conn_type``, when known)."""
    if spark_options is None:
        return {}
    if not isinstance(spark_options, Mapping):
        raise ClarifyConfigError(
            f"spark_options is {spark_options!r}; give a dict such as "
            "{'conf': {'spark.executor.memory': '4g'}, 'num_executors': 4}",
            field="spark_options",
            value=spark_options,
            accepted="a dict of SparkSubmitHook arguments plus 'conf' and 'ship_package'",
        )
    options = dict(spark_options)
    allowed = COMMON_OPTIONS if conn_type == CONNECT_CONN_TYPE else COMMON_OPTIONS | SUBMIT_OPTIONS
    for key in options:
        if key not in allowed:
            how = (
                "a spark-submit argument, but the connection is Spark Connect (only 'conf' and "
                "'ship_package' apply)"
                if key in SUBMIT_OPTIONS
                else "not an option of compute='spark'"
            )
            raise ClarifyConfigError(
                f"spark_options[{key!r}] is {how}",
                field=f"spark_options.{key}",
                value=options[key],
                accepted=", ".join(sorted(allowed)),
            )
    conf = options.get("conf")
    if conf is not None and not (isinstance(conf, Mapping) or has_template(conf)):
        raise ClarifyConfigError(
            f"spark_options['conf'] is {conf!r}; give a dict of Spark settings",
            field="spark_options.conf",
            value=conf,
            accepted="a dict such as {'spark.executor.memory': '4g'}",
        )
    if "ship_package" in options and not isinstance(options["ship_package"], bool):
        if not has_template(options["ship_package"]):
            raise ClarifyConfigError(
                f"spark_options['ship_package'] is {options['ship_package']!r}; give True or False",
                field="spark_options.ship_package",
                value=options["ship_package"],
                accepted="True (default: send this package with the job) or False (the cluster has it)",
            )
    return options


def check_spark_arguments(
    *,
    analysis_kind: str,
    data_config: Any,
    local_model: Any,
    spark_conn_id: Any,
    spark_options: Any,
) -> None:
    """Parse-time checks of an operator with ``compute="spark"`` (literal values only).

    :raises ClarifyConfigError: naming the argument and the fix.
    """
    if local_model is not None and analysis_kind not in EXPLANATION_KINDS:
        raise ClarifyConfigError(
            f"local_model is not used by the {analysis_kind} analysis with compute='spark': the Spark "
            "backend computes bias from the dataset's columns and calls the model only for SHAP and "
            "PDP. Add the model's predictions as a dataset column named in "
            "DataConfig(predicted_label=...).",
            field="local_model",
            value=local_model,
            accepted="None with compute='spark' (a model only for explanations)",
        )
    if local_model is not None and not _renders_later(local_model):
        spark_model_source(local_model)
    if not isinstance(spark_conn_id, str) or not spark_conn_id.strip():
        raise ClarifyConfigError(
            f"spark_conn_id is {spark_conn_id!r}; name an Airflow connection of type 'spark' "
            "(spark-submit) or 'spark_connect'",
            field="spark_conn_id",
            value=spark_conn_id,
            accepted="a connection id",
        )
    check_spark_options(spark_options)
    dataset_type = (
        data_config.get("dataset_type")
        if isinstance(data_config, Mapping)
        else getattr(data_config, "dataset_type", None)
    )
    if isinstance(dataset_type, str) and not has_template(dataset_type):
        problems = spark_problems({"dataset_type": dataset_type})
        if problems:
            raise ClarifyConfigError(
                f"data_config.dataset_type: {problems[0][1]}",
                field="data_config.dataset_type",
                value=dataset_type,
                accepted=", ".join(SPARK_DATASET_TYPES),
            )


def _renders_later(value: Any) -> bool:
    """Whether ``value`` holds a Jinja template or an XCom reference (checked after rendering)."""
    if isinstance(value, Mapping):
        return any(_renders_later(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_renders_later(v) for v in value)
    return has_template(value) or (hasattr(value, "resolve") and hasattr(value, "iter_references"))


def spark_model_source(local_model: Any) -> Any:
    """``local_model`` as a :class:`~airflow_provider_clarify.analysis.model_source.ModelSource` the
    engine CLI can be given (``None``: no model given; the config's ``predictor.endpoint_name`` is called).

    :raises ClarifyConfigError: what ``compute="local"`` refuses (an in-process object, an untrusted
        artifact, an unknown key), and an artifact ``method`` other than ``"auto"`` (the CLI has no flag for it).
    """
    from airflow_provider_clarify.analysis.model_source import ModelSource

    source = ModelSource.parse(local_model, field_name="local_model")
    if source is None:
        return None
    if source.kind == "callable":
        raise ClarifyConfigError(
            "local_model is an in-process Python object, which cannot be sent to a Spark cluster. Save "
            "it with joblib.dump and pass local_model={'artifact': path, 'format': 'joblib', 'trust': "
            "True}, or serve it over HTTP (a URL) or as a SageMaker endpoint ({'endpoint_name': ...}).",
            field="local_model",
            value=type(source.fn).__name__,
            accepted="a URL, {'endpoint_name': ...} or {'artifact': ..., 'trust': True}",
        )
    if source.kind == "http" and (urlsplit(source.url).password or urlsplit(source.url).query):
        raise ClarifyConfigError(
            "local_model's URL holds a password or a query string; compute='spark' puts the URL on "
            "the driver's command line, which spark-submit and the cluster log. Give the server's URL "
            "without secrets (authenticate the executors by their network or the cluster's identity).",
            field="local_model.url",
            value="<redacted>",
            accepted="http(s)://host:port[/path] without user:password@ or ?query",
        )
    if source.kind == "artifact" and source.method != "auto":
        raise ClarifyConfigError(
            f"local_model.method {source.method!r} is not passed to the Spark driver (the engine CLI "
            "explains with predict_proba when the model has it, else predict); drop 'method', or run "
            "with compute='local'.",
            field="local_model.method",
            value=source.method,
            accepted="'auto' with compute='spark'",
        )
    return source


def _explanation_methods(explainability_config: Any) -> dict[str, Any]:
    """The ``methods`` entries a literal ``explainability_config`` writes (SHAPConfig/PDPConfig, a list, a dict)."""
    if isinstance(explainability_config, list | tuple):
        merged: dict[str, Any] = {}
        for item in explainability_config:
            merged.update(_explanation_methods(item))
        return merged
    if isinstance(explainability_config, Mapping):
        return dict(explainability_config)
    to_dict = getattr(explainability_config, "to_dict", None)
    if callable(to_dict):
        written = to_dict()
        return dict(written) if isinstance(written, Mapping) else {}
    return {}


def check_spark_explanations(explainability_config: Any) -> None:
    """Parse-time check of a literal ``explainability_config`` against the Spark backend's rule
    (:func:`~airflow_provider_clarify.analysis.capabilities.spark_problems`): no text or image
    explanations, only the methods it computes. Templated values are checked when the plan is built.

    :raises ClarifyConfigError: naming ``explainability_config.<method>...`` and the fix.
    """
    if explainability_config is None or _renders_later(explainability_config):
        return
    try:
        methods = _explanation_methods(explainability_config)
    except ClarifyConfigError:
        return  # the config's own error is reported, with its path, when the plan is built
    problems = [
        (path, message)
        for path, message in spark_problems(
            {"dataset_type": "text/csv", "methods": methods}, model_given=True
        )
        if path.startswith("methods.")
    ]
    if problems:
        path, message = problems[0]
        field = "explainability_config." + path.removeprefix("methods.")
        raise ClarifyConfigError(
            f"{field}: {message}",
            field=field,
            value="spark",
            accepted="tabular SHAP and PDP with compute='spark'",
        )


# --------------------------------------------------------------------------------------------
# What is sent: the package, the driver application, the command


def _cache_dir() -> Path:
    folder = Path(tempfile.gettempdir()) / "clarify-spark"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _write_once(path: Path, data: bytes) -> None:
    if path.is_file() and path.read_bytes() == data:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def package_archive(cache_dir: Path | None = None) -> str:
    """A zip of the installed ``airflow_provider_clarify`` package for ``--py-files`` (written once per content).

    The bytes are :func:`~airflow_provider_clarify.spark_bundle.package_zip`'s (the zip
    ``compute="sagemaker_spark"`` ships too: fixed timestamps, so equal sources give equal bytes),
    named by their digest, so an upgraded package gets a new archive and an unchanged one is reused.
    """
    from airflow_provider_clarify.spark_bundle import package_zip

    data = package_zip()
    folder = cache_dir or _cache_dir()
    archive = folder / f"airflow_provider_clarify-{hashlib.sha256(data).hexdigest()[:16]}.zip"
    _write_once(archive, data)
    return str(archive)


def driver_application(cache_dir: Path | None = None) -> str:
    """The ``spark-submit`` application: a file that runs :mod:`._spark_driver` (from the shipped package)."""
    path = (cache_dir or _cache_dir()) / "clarify_spark_driver.py"
    _write_once(path, _DRIVER_APPLICATION.encode())
    return str(path)


def model_arguments(model: Any) -> list[str]:
    """The engine CLI's ``--model-*`` arguments for a :class:`ModelSource` (``[]`` for ``None``).

    Only names and locations go on the command line: an endpoint is called with the executors' own
    AWS credentials, never with secrets of the task's connection.
    """
    if model is None:
        return []
    from airflow_provider_clarify.analysis.model_source import (
        DEFAULT_MODEL_RETRIES,
        DEFAULT_MODEL_TIMEOUT_SECONDS,
    )

    if model.kind == "artifact":
        return [
            "--model-artifact",
            model.artifact,
            "--model-artifact-format",
            model.format,
            "--trust-model-artifact",
        ]
    if model.kind == "http":
        args = ["--model-url", model.url]
    elif model.kind == "endpoint":
        args = ["--model-endpoint", model.endpoint_name]
    else:  # refused earlier by spark_model_source
        raise ClarifyConfigError(
            f"a {model.kind} model cannot be sent to a Spark cluster",
            field="local_model",
            value=model.kind,
            accepted="a URL, {'endpoint_name': ...} or {'artifact': ..., 'trust': True}",
        )
    if model.timeout_seconds != DEFAULT_MODEL_TIMEOUT_SECONDS:
        args += ["--model-timeout", f"{model.timeout_seconds:g}"]
    if model.retries != DEFAULT_MODEL_RETRIES:
        args += ["--model-retries", str(model.retries)]
    return args


def engine_arguments(
    config_uri: str,
    dataset_uri: str,
    output_uri: str,
    *,
    output_kms_key: str | None = None,
    model: Any = None,
) -> list[str]:
    """The engine CLI's arguments (``--backend spark`` is added by the driver); ``model``: the
    :class:`~airflow_provider_clarify.analysis.model_source.ModelSource` explanations call (:func:`model_arguments`)."""
    args = ["--analysis-config", config_uri, "--dataset", dataset_uri, "--output", output_uri]
    if output_kms_key:
        args += ["--output-kms-key", output_kms_key]
    return [*args, *model_arguments(model)]


def submit_hook_arguments(
    options: Mapping[str, Any],
    *,
    conn_id: str,
    run_name: str,
    engine_args: list[str],
    package_zip: str | None,
) -> dict[str, Any]:
    """Keyword arguments of ``SparkSubmitHook`` for one run (``conf``, ``--py-files``, app arguments)."""
    kwargs = {key: value for key, value in options.items() if key in SUBMIT_OPTIONS}
    py_files = [p for p in (package_zip, kwargs.pop("py_files", None)) if p]
    kwargs.update(
        conn_id=conn_id,
        conf={str(k): str(v) for k, v in (options.get("conf") or {}).items()},
        name=run_name,
        py_files=",".join(py_files) or None,
        application_args=["--app-name", run_name, "--", *engine_args],
    )
    return kwargs


def connect_command(options: Mapping[str, Any], *, run_name: str, engine_args: list[str]) -> list[str]:
    """The Spark Connect client's command line (the URL travels in ``$SPARK_REMOTE``, not here)."""
    command = [sys.executable, "-m", DRIVER_MODULE, "--app-name", run_name]
    if options.get("ship_package", True):
        command.append("--ship-package")
    for key, value in (options.get("conf") or {}).items():
        command += ["--conf", f"{key}={value}"]
    return [*command, "--", *engine_args]


@dataclass(frozen=True)
class StagedSparkJob:
    """What a Spark service's own job API needs to run one audit (EMR Serverless, Databricks, Glue, ...).

    :param application_uri: the driver application (``entryPoint`` / ``python_file``).
    :param package_uri: this package as a zip, for ``--py-files`` (``None`` when not shipped).
    :param config_uri: the analysis config the driver reads.
    :param arguments: the application's arguments (``entryPointArguments`` / ``parameters``).
    :param output_uri: where ``analysis.json`` will be (the ``analysis_result`` of the other modes).
    """

    application_uri: str
    package_uri: str | None
    config_uri: str
    arguments: list[str]
    output_uri: str

    def spark_submit_parameters(self, conf: Mapping[str, Any] | None = None) -> str:
        """``--py-files <package> --conf k=v ...`` (EMR Serverless' ``sparkSubmitParameters``)."""
        parts = ["--py-files", self.package_uri] if self.package_uri else []
        for key, value in (conf or {}).items():
            parts += ["--conf", f"{key}={value}"]
        return " ".join(parts)


def stage_spark_job(
    plan: Any,
    *,
    run_name: str,
    staging_uri: str,
    ship_package: bool = True,
    aws_conn_id: str | None = "aws_default",
    region_name: str | None = None,
    kms_key: str | None = None,
    output_kms_key: str | None = None,
) -> StagedSparkJob:
    """Upload the driver application, this package and the plan's config under ``staging_uri``.

    For services that take a job of their own instead of a ``spark-submit`` from the worker (the
    recipes in ``dags/clarify_spark_emr_serverless.py`` and ``dags/clarify_spark_databricks.py``).
    ``plan``: from :func:`make_spark_plan`. The package archive keeps its content-addressed name, so
    a later run uploads the same object again only when the package changed.
    """
    from airflow_provider_clarify.hooks.clarify import ClarifyHook

    hook = ClarifyHook(aws_conn_id=aws_conn_id, region_name=region_name)
    config = plan.config
    output_uri = plan.output_uri
    dataset_uri = plan.dataset_uri or config.get("dataset_uri")
    if not dataset_uri:
        raise ClarifyConfigError(
            "no dataset location: set DataConfig(s3_data_input_path=...)",
            field="data_config.s3_data_input_path",
            value=dataset_uri,
            accepted="an s3:// URI the cluster can read",
        )
    root = staging_uri.rstrip("/")
    config_uri = hook.write_json(
        join(join(root, run_name), "analysis_config.json"), config, indent=2, kms_key=kms_key or None
    )
    application = Path(driver_application())
    application_uri = hook.write_bytes(
        join(root, application.name), application.read_bytes(), kms_key=kms_key
    )
    package_uri = None
    if ship_package:
        archive = Path(package_archive())
        package_uri = join(root, archive.name)
        if not hook.exists(package_uri):
            hook.write_bytes(package_uri, archive.read_bytes(), kms_key=kms_key)
    engine_args = engine_arguments(config_uri, dataset_uri, output_uri, output_kms_key=output_kms_key)
    return StagedSparkJob(
        application_uri=application_uri,
        package_uri=package_uri,
        config_uri=config_uri,
        arguments=["--app-name", run_name, "--", *engine_args],
        output_uri=output_uri,
    )


# --------------------------------------------------------------------------------------------
# Running and stopping


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid`` (Linux ``/proc``; elsewhere: the leader if alive)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended meanwhile
        if fields[0] != "Z" and int(fields[2]) == pgid:  # state, ppid, pgrp
            members.append(int(entry.name))
    return members


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group ended meanwhile
        os.killpg(pgid, sig)


def _wait_group(pgid: int, process: subprocess.Popen, seconds: float) -> bool:
    """Whether every process of the group ended within ``seconds`` (reaping our own child meanwhile)."""
    deadline = time.monotonic() + seconds
    while True:
        process.poll()
        if not group_members(pgid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _stop_group(
    process: subprocess.Popen, grace_seconds: float, then: Callable[[], None] | None = None
) -> None:
    """SIGTERM to the process group ``process`` leads (spark-submit's JVM and the Python driver it
    started, which outlives a killed JVM), ``then()`` (the hook's own kill), SIGKILL to what is left.

    SIGTERM first lets the JVM stop its SparkContext, so the cluster ends the application at once.
    """
    pgid = process.pid
    _signal_group(pgid, signal.SIGTERM)
    _wait_group(pgid, process, grace_seconds)
    if then is not None:
        then()
    if group_members(pgid):
        _signal_group(pgid, signal.SIGKILL)
        _wait_group(pgid, process, grace_seconds)
    process.poll()


class SparkRun:
    """One submission in flight: what ``on_kill`` and the time-out stop."""

    def __init__(self, run_name: str, logger: logging.Logger) -> None:
        self.run_name = run_name
        self.log = logger
        self.hook: Any = None  # SparkSubmitHook (spark-submit)
        self.process: subprocess.Popen | None = None  # Connect client
        self.stopped_because: str | None = None
        self._lock = threading.Lock()

    def stop(self, reason: str = "the task was killed", grace_seconds: float = KILL_GRACE_SECONDS) -> None:
        """Stop the submission: the hook's own kill, then the whole process group."""
        with self._lock:
            if self.stopped_because is None:
                self.stopped_because = reason
        self.log.info("Stopping Spark run %s: %s", self.run_name, reason)
        if self.hook is not None:
            process = getattr(self.hook, "_submit_sp", None)
            if process is not None:
                _stop_group(process, grace_seconds, then=self._hook_kill)
            else:  # not started yet, or a cluster deploy mode after spark-submit returned
                self._hook_kill()
        if self.process is not None:
            _stop_group(self.process, grace_seconds)

    def _hook_kill(self) -> None:
        """The provider's kill: spark-submit itself, a standalone-cluster driver, a YARN application."""
        try:
            self.hook.on_kill()
        except Exception:  # the group is signalled anyway
            self.log.exception("SparkSubmitHook.on_kill failed")


@dataclass(frozen=True)
class SparkRunOutcome:
    """Where the run put its results (the URIs the other compute modes push to XCom).

    :param mode: ``"spark-submit"`` or ``"spark-connect"``.
    """

    analysis_result_uri: str
    analysis_config_uri: str
    job_name: str
    analysis_json_uri: str
    mode: str


def _conn_type(conn_id: str) -> str:
    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook

    conn = SparkSubmitHook.get_connection(conn_id)
    return (conn.conn_type or "").replace("-", "_")


def _failure(run: SparkRun, what: str, code: int | None, tail: str, detail: str = "") -> SparkAnalysisError:
    if run.stopped_because:
        message = f"Spark run {run.run_name} was stopped: {run.stopped_because}."
        return SparkAnalysisError(message, exit_code=code, output_tail=tail)
    message = f"Spark run {run.run_name}: {what} exited with status {code}.{detail}"
    if tail:
        message += f"\nLast driver output:\n{tail}"
    if code == EXIT_CONFIG:
        return SparkAnalysisConfigError(
            f"{message}\nThe engine rejected the configuration or the dataset; fix it (retrying cannot help).",
            exit_code=code,
            output_tail=tail,
        )
    return SparkAnalysisError(message, exit_code=code, output_tail=tail)


def _submit(run: SparkRun, hook_kwargs: dict[str, Any], application: str) -> None:
    """``spark-submit`` through the provider's hook (it logs the output and quotes its tail on failure)."""
    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook

    hook = SparkSubmitHook(**hook_kwargs)
    run.hook = hook
    try:
        # A session of its own: on_kill signals spark-submit's JVM and the Python driver it started.
        hook.submit(application, start_new_session=True)
    except AirflowException as err:
        process = getattr(hook, "_submit_sp", None)
        code = process.returncode if process is not None else None
        raise _failure(run, "spark-submit", code, "", f"\n{err}") from None
    if run.stopped_because:
        raise _failure(run, "spark-submit", 0, "")


def _connect(run: SparkRun, command: list[str], url: str) -> None:
    import airflow_provider_clarify

    root = str(Path(airflow_provider_clarify.__file__).resolve().parents[1])
    env = {**os.environ, "SPARK_REMOTE": url, "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([root, *env.get("PYTHONPATH", "").split(os.pathsep)]))
    env["PYTHONPATH"] = env["PYTHONPATH"].rstrip(os.pathsep)
    tail: collections.deque[str] = collections.deque(maxlen=OUTPUT_TAIL_LINES)
    run.log.info("Spark Connect client: %s", " ".join(command))
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    run.process = process
    try:
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            tail.append(line)
            run.log.info("[spark] %s", line)
        code = process.wait()
    except BaseException:
        _stop_group(process, KILL_GRACE_SECONDS)  # the task is going away: so does its client
        raise
    if code != 0 or run.stopped_because:
        raise _failure(run, "the Spark Connect client", code, "\n".join(tail))


def _run_on_cluster(
    run_name: str,
    *,
    conn_type: str,
    spark_conn_id: str,
    options: Mapping[str, Any],
    engine_args: list[str],
    output_uri: str,
    timeout_seconds: float | None,
    logger: logging.Logger,
    on_start: Callable[[SparkRun], None] | None,
) -> str:
    """Submit the driver (spark-submit or Spark Connect) and wait for it; the mode it ran in."""
    run = SparkRun(run_name, logger)
    if on_start is not None:
        on_start(run)
    timer = None
    if timeout_seconds:
        timer = threading.Timer(
            timeout_seconds,
            run.stop,
            kwargs={"reason": f"it did not finish within max_ingestion_time={timeout_seconds:g} s"},
        )
        timer.daemon = True
        timer.start()
    try:
        if conn_type == SPARK_CONN_TYPE:
            package_zip = package_archive() if options.get("ship_package", True) else None
            kwargs = submit_hook_arguments(
                options,
                conn_id=spark_conn_id,
                run_name=run_name,
                engine_args=engine_args,
                package_zip=package_zip,
            )
            logger.info("Spark run %s: spark-submit through %r -> %s", run_name, spark_conn_id, output_uri)
            _submit(run, kwargs, driver_application())
            mode = "spark-submit"
        else:
            from airflow.providers.apache.spark.hooks.spark_connect import SparkConnectHook

            url = SparkConnectHook(conn_id=spark_conn_id).get_connection_url()
            logger.info("Spark run %s: Spark Connect through %r -> %s", run_name, spark_conn_id, output_uri)
            _connect(run, connect_command(options, run_name=run_name, engine_args=engine_args), url)
            mode = "spark-connect"
    finally:
        if timer is not None:
            timer.cancel()

    return mode


def run_spark_analysis(
    plan: Any,
    *,
    run_name: str,
    spark_conn_id: str = "spark_default",
    spark_options: Mapping[str, Any] | None = None,
    aws_conn_id: str | None = "aws_default",
    region_name: str | None = None,
    verify: bool | str | None = None,
    kms_key: str | None = None,
    output_kms_key: str | None = None,
    timeout_seconds: float | None = None,
    logger: logging.Logger | None = None,
    on_start: Callable[[SparkRun], None] | None = None,
    local_model: Any = None,
) -> SparkRunOutcome:
    """Run ``plan`` (built by :func:`make_spark_plan`) on the cluster of ``spark_conn_id``.

    The config is written to ``<config base>/<run name>/analysis_config.json`` (where
    ``compute="sagemaker"`` uploads a job's config), read from there by the driver; ``analysis_config.json`` is written beside the
    results only after the run succeeded and its ``analysis.json`` exists. Locations on ``s3://`` are
    read and written by the cluster with its own credentials (instance profile, ``spark.hadoop.fs.s3a.*``
    or the AWS environment of the driver); the task's AWS connection writes the two config files.

    :param local_model: the model SHAP and PDP call (see :func:`spark_model_source`; ``None``: the
        config's ``predictor.endpoint_name``). A URL or endpoint is called from the executors; an
        artifact is loaded by the driver (an ``s3://`` one is downloaded to the worker first).
    :param on_start: called with the :class:`SparkRun` before anything starts (``on_kill`` stops it).
    :param timeout_seconds: stop the run after this many seconds (``None``: no limit).
    :raises ClarifyConfigError: unknown ``spark_options``, an unusable connection, a bad location, or
        (:class:`SparkAnalysisConfigError`) the engine on the cluster rejected the config or data.
    :raises SparkAnalysisError: the run failed otherwise, was stopped or timed out.
    """
    from airflow_provider_clarify.hooks.clarify import ClarifyHook
    from airflow_provider_clarify.operators.local_compute import _check_location

    logger = logger or logging.getLogger(__name__)
    config = plan.config
    model = spark_model_source(local_model)
    output_uri = _check_location("s3_output_path", plan.output_uri, written=True)
    dataset_uri = _check_location("s3_data_input_path", plan.dataset_uri or config.get("dataset_uri"))
    try:
        conn_type = _conn_type(spark_conn_id)
    except AirflowException as err:
        raise ClarifyConfigError(
            f"spark_conn_id {spark_conn_id!r}: {err}",
            field="spark_conn_id",
            value=spark_conn_id,
            accepted="an Airflow connection of type 'spark' or 'spark_connect'",
        ) from None
    if conn_type not in (SPARK_CONN_TYPE, CONNECT_CONN_TYPE):
        raise ClarifyConfigError(
            f"spark_conn_id {spark_conn_id!r} is a connection of type {conn_type!r}; compute='spark' "
            "submits through a 'spark' connection (spark-submit, master in host/port) or a "
            "'spark_connect' connection (sc://host:port)",
            field="spark_conn_id",
            value=spark_conn_id,
            accepted="a connection of type 'spark' or 'spark_connect'",
        )
    options = check_spark_options(spark_options, conn_type)

    hook = ClarifyHook(aws_conn_id=aws_conn_id, region_name=region_name, verify=verify)
    staged = (
        plan.config_uri(run_name)
        if scheme(plan.config_base_uri) == "s3"
        else join(join(plan.config_base_uri, run_name), "analysis_config.json")
    )
    config_uri = hook.write_json(staged, config, indent=2, kms_key=kms_key or None)
    with tempfile.TemporaryDirectory(prefix="clarify-spark-model-") as workdir:
        if model is not None and model.kind == "artifact":
            from airflow_provider_clarify.operators.local_compute import _fetch_artifact

            model = dataclasses.replace(model, artifact=_fetch_artifact(model.artifact, workdir, hook))
        if model is not None:
            logger.info("Spark run %s explains the model %s", run_name, model.describe())
        engine_args = engine_arguments(
            config_uri, dataset_uri, output_uri, output_kms_key=output_kms_key, model=model
        )
        mode = _run_on_cluster(
            run_name,
            conn_type=conn_type,
            spark_conn_id=spark_conn_id,
            options=options,
            engine_args=engine_args,
            output_uri=output_uri,
            timeout_seconds=timeout_seconds,
            logger=logger,
            on_start=on_start,
        )

    analysis_json = join(output_uri, ANALYSIS_FILE)
    if not hook.exists(analysis_json):
        raise SparkAnalysisError(
            f"Spark run {run_name} ended successfully but wrote no {analysis_json}: with a cluster deploy "
            "mode the driver writes to its own file system, so give an output location the cluster and "
            "the worker share (s3://)."
            if scheme(output_uri) != "s3"
            else f"Spark run {run_name} ended successfully but wrote no {analysis_json}."
        )
    published = hook.write_json(
        join(output_uri, "analysis_config.json"), config, indent=2, kms_key=kms_key or None
    )
    logger.info("Spark run %s finished (%s): %s", run_name, mode, output_uri)
    return SparkRunOutcome(
        analysis_result_uri=output_uri,
        analysis_config_uri=published,
        job_name=run_name,
        analysis_json_uri=analysis_json,
        mode=mode,
    )


__all__ = [
    "SparkAnalysisConfigError",
    "SparkAnalysisError",
    "SparkRun",
    "SparkRunOutcome",
    "StagedSparkJob",
    "check_spark_arguments",
    "check_spark_explanations",
    "check_spark_options",
    "engine_arguments",
    "make_spark_plan",
    "model_arguments",
    "package_archive",
    "run_spark_analysis",
    "spark_model_source",
    "stage_spark_job",
]
