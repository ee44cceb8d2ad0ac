"""A small ``SparkSession`` for the CLI and the tests: UI off, little memory, this Python on executors."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Settings that keep Spark light on a shared machine; the caller's ``conf`` and what
#: ``spark-submit`` was given (``--conf``, ``spark-defaults.conf``) win.
LIGHT_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "512m",
    "spark.executor.memory": "512m",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "65536",
    "spark.task.maxFailures": "4",
}


def package_root() -> str:
    """The folder holding the ``airflow_provider_clarify`` package (put on the executors' path)."""
    import airflow_provider_clarify

    return os.path.dirname(os.path.dirname(os.path.abspath(airflow_provider_clarify.__file__)))


def build_session(
    master: str | None = None, app_name: str = "clarify-engine", conf: dict | None = None
) -> SparkSession:
    """A session on ``master`` (``local[2]``, ``spark://host:7077``, ``sc://host`` for Spark Connect;
    default: ``$SPARK_MASTER``, else what ``spark-submit`` configured, else ``local[*]``)."""
    from pyspark.sql import SparkSession

    master = master or os.environ.get("SPARK_MASTER")
    if master and master.startswith("sc://"):
        return SparkSession.builder.remote(master).appName(app_name).getOrCreate()
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    settings = dict(LIGHT_CONF)
    # PySpark starts its Python workers with $PYSPARK_PYTHON (default "python3", often not this venv)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings["spark.pyspark.python"] = os.environ["PYSPARK_PYTHON"]
    path = os.pathsep.join(p for p in (package_root(), os.environ.get("PYTHONPATH", "")) if p)
    settings["spark.executorEnv.PYTHONPATH"] = path
    for key in _submitted_keys():
        settings.pop(key, None)
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _submitted_keys() -> set[str]:
    """The settings ``spark-submit`` gave the JVM it started this Python from (none otherwise).

    A session builder's settings override them, so :func:`build_session` leaves these keys alone.
    Only a running gateway (``$PYSPARK_GATEWAY_PORT``, set by ``spark-submit``) is asked: starting
    one here would fix the driver's memory before the settings are applied.
    """
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return set()
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # joins spark-submit's gateway
    return {key for key, _value in SparkConf().getAll()}


__all__ = ["LIGHT_CONF", "build_session", "package_root"]
