"""A weekly bias audit submitted to a Spark cluster by the Clarify operator itself (``compute="spark"``).

The same ``ClarifyBiasOperator`` that runs a SageMaker Clarify job (``compute="sagemaker"``) or the
open engine on the worker (``compute="local"``) here submits the open engine's Spark backend to the
cluster of the apache-spark provider's connection ``clarify_spark`` (docs/scale-out.md):

* a connection of type ``spark`` (``spark://master:7077``, ``yarn``, ``k8s://...``) runs
  ``spark-submit`` with this package sent along as ``--py-files``;
* a connection of type ``spark_connect`` (``sc://host:15002``) runs the driver program on the worker
  as a Spark Connect client.

The audit reads the week's scored applications (CSV, with the model's predictions in the
``predicted`` column: the Spark backend calls no model), writes ``analysis.json``,
``report.html`` and ``analysis_config.json`` under the output location, and the gate reads them
from the task's XCom exactly as after a SageMaker job.

Set ``CLARIFY_SPARK_DATASET`` and ``CLARIFY_SPARK_OUTPUT`` (``s3://`` on a real cluster: the driver
and the executors read and write it with the cluster's own credentials).
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import dag

from airflow_provider_clarify.analysis import BiasConfig, DataConfig
from airflow_provider_clarify.operators.checks import ClarifyCheckOperator
from airflow_provider_clarify.operators.clarify import ClarifyBiasOperator

DATASET = os.environ.get("CLARIFY_SPARK_DATASET", "s3://my-bucket/scored/applications/")
OUTPUT = os.environ.get("CLARIFY_SPARK_OUTPUT", "s3://my-bucket/clarify/spark-audit")


@dag(
    schedule="@weekly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["clarify", "spark"],
)
def clarify_spark_compute_audit():
    audit = ClarifyBiasOperator(
        task_id="bias_audit",
        compute="spark",
        spark_conn_id="clarify_spark",
        # Settings for this job; the master and the deploy mode come from the connection.
        spark_options={"conf": {"spark.sql.shuffle.partitions": "8"}},
        data_config=DataConfig(
            s3_data_input_path=DATASET,
            s3_output_path=OUTPUT + "/{{ ds }}",
            label="approved",
            predicted_label="predicted",
            dataset_type="text/csv",
        ),
        bias_config=BiasConfig(
            label_values_or_threshold=[1],
            facet_name="sex",
            facet_values_or_threshold=["female"],
            group_name="housing",
        ),
    )
    ClarifyCheckOperator(
        task_id="fairness_gate",
        analysis_result_uri=audit.output,
        thresholds={"DI": "[0.8, 1.25]", "DPPL": (-0.1, 0.1)},
        fail_on_violation=False,
    )


clarify_spark_compute_audit()
