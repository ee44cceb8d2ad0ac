"""The open engine on Apache Spark (``pip install airflow-provider-clarify[spark]``).

Imported only when used: ``run_analysis_spark(spark, analysis_config, dataset, output)`` or the CLI's
``--backend spark``. See ``docs/scale-out.md``.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("run_analysis_spark", "ship_package", "check_spark_config"):
        from airflow_provider_clarify.engine.spark import runner

        return getattr(runner, name)
    raise AttributeError(name)


__all__ = ["check_spark_config", "run_analysis_spark", "ship_package"]
