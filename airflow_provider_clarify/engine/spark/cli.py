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
    """Run the analysis on the Spark session of ``--spark-master`` (stopped afterwards if we made it)."""
    if model is not None:
        raise EngineConfigError(
            "--backend spark computes bias metrics from dataset columns; the --model-* options are not "
            "used by it. Put the model's predictions in a column named by 'predicted_label'.",
            field="--backend",
            value="spark",
        )
    require_pyspark()
    from pyspark.sql import SparkSession

    from airflow_provider_clarify.engine.spark.runner import run_analysis_spark
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
        )
    finally:
        if existing is None:
            spark.stop()


__all__ = ["require_pyspark", "run_spark_backend"]
