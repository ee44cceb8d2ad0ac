"""``python -m airflow_provider_clarify.engine --backend spark``: the CLI's Spark path."""

from __future__ import annotations

import argparse
from typing import Any

from airflow_provider_clarify.engine.errors import EngineConfigError


def require_pyspark() -> None:
    """Raise a clear error when the ``spark`` extra is not installed."""
    try:
        import pyspark  # noqa: F401
    except ModuleNotFoundError:
        raise EngineConfigError(
            "--backend spark needs pyspark: pip install 'airflow-provider-clarify[spark]' (and a Java 17+ "
            "runtime for a local or standalone master).",
            field="--backend",
            value="spark",
            accepted="local, or spark with the 'spark' extra installed",
        ) from None


def run_spark_backend(
    args: argparse.Namespace, config: dict, dataset: str, model: Any, storage_options: dict | None
) -> str:
    """Run the analysis on the Spark session of ``--spark-master`` (stopped afterwards if we made it).

    ``model`` (the ``--model-*`` options) is the model SHAP and PDP explain: a URL or endpoint is
    called from the executors, a trusted artifact is loaded on the driver and broadcast.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    from airflow_provider_clarify.engine.spark.runner import check_spark_config, run_analysis_spark

    check_spark_config(config, model_given=model is not None)  # before a session starts
    from airflow_provider_clarify.engine.spark.session import build_session

    existing = SparkSession.getActiveSession()
    spark = existing or build_session(args.spark_master)
    try:
        return run_analysis_spark(
            spark,
            config,
            dataset,
            args.output,
            storage_options=storage_options,
            endpoint_url=args.endpoint_url,
            output_kms_key=args.output_kms_key,
            model=model,
        )
    finally:
        if existing is None:
            spark.stop()


__all__ = ["require_pyspark", "run_spark_backend"]
