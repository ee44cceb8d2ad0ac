"""A weekly bias audit of a large dataset on a Spark cluster (the open engine's Spark backend).

The audit reads the week's scored applications (CSV part files, with the model's predictions in the
``predicted`` column) and writes ``analysis.json`` and ``report.html`` exactly as the single-machine
engine would (see docs/scale-out.md). The task builds a Spark session on ``$SPARK_MASTER``
(``spark://host:7077``, ``sc://host:15002`` for Spark Connect, or ``local[*]`` by default); inside
``@task.pyspark`` (apache-spark provider) pass its ``spark`` argument to ``run_analysis_spark``
instead. On EMR, EMR Serverless or Databricks, submit the same call with ``spark-submit`` (the
engine's CLI: ``python -m airflow_provider_clarify.engine --backend spark ...``).

Set ``CLARIFY_SPARK_DATASET`` and ``CLARIFY_SPARK_OUTPUT`` (local paths or ``s3://``).
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import dag, task

ANALYSIS_CONFIG = {
    "dataset_type": "text/csv",
    "label": "approved",
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
    "group_variable": "housing",
    "predicted_label": "predicted",
    "methods": {
        "pre_training_bias": {"methods": "all"},
        "post_training_bias": {"methods": "all"},
        "report": {"name": "report", "title": "Weekly bias audit (Spark)"},
    },
}


@dag(
    schedule="@weekly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["clarify", "spark"],
)
def clarify_spark_audit():
    @task
    def bias_audit_on_spark(ds: str | None = None) -> str:
        from airflow_provider_clarify.engine.spark import run_analysis_spark
        from airflow_provider_clarify.engine.spark.session import build_session

        spark = build_session(os.environ.get("SPARK_MASTER"), app_name="clarify-weekly-audit")
        try:
            return run_analysis_spark(
                spark,
                ANALYSIS_CONFIG,
                os.environ.get("CLARIFY_SPARK_DATASET", "tests/data/golden/synthetic_credit.csv"),
                os.path.join(os.environ.get("CLARIFY_SPARK_OUTPUT", "spark-audit-output"), ds or "manual"),
            )
        finally:
            spark.stop()

    bias_audit_on_spark()


clarify_spark_audit()
