"""The open engine on Apache Spark (``pip install airflow-provider-clarify[spark]``).

Imported only when used: ``run_analysis_spark(spark, analysis_config, dataset, output)``,
``run_monitoring_execution_spark(spark, job_definition, scheduled_time, ...)`` or the CLI's
``--backend spark`` (``analyze`` and ``monitor``). See ``docs/scale-out.md``.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("run_analysis_spark", "ship_package", "check_spark_config"):
        from airflow_provider_clarify.engine.spark import runner

        return getattr(runner, name)
    if name == "run_monitoring_execution_spark":
        from airflow_provider_clarify.engine.spark import capture

        return capture.run_monitoring_execution_spark
    raise AttributeError(name)


__all__ = ["check_spark_config", "run_analysis_spark", "run_monitoring_execution_spark", "ship_package"]
