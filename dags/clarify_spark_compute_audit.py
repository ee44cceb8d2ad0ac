"""A weekly bias audit submitted to a Spark cluster by the Clarify operator itself (``compute="spark"``).

The same ``ClarifyBiasOperator`` that runs a SageMaker Clarify job (``compute="sagemaker"``) or the
open engine on the worker (``compute="local"``) here submits the open engine's Spark backend to the
cluster of the apache-spark provider's connection ``clarify_spark`` (docs/scale-out.md):

* a connection of type ``spark`` (``spark://master:7077``, ``yarn``, ``k8s://...``) runs
  ``spark-submit`` with this package sent along as ``--py-files``;
* a connection of type ``spark_connect`` (``sc://host:15002``) runs the driver program on the worker
  as a Spark Connect client.

The audit reads the week's scored applications (CSV, with the model's predictions in the
``predicted`` column: the Spark backend calls a model only for explanations), writes ``analysis.json``,
``report.html`` and ``analysis_config.json`` under the output location, and the gate reads them
from the task's XCom exactly as after a SageMaker job.

The same week's applications are explained (Kernel SHAP and PDP) on the cluster too: the
``ClarifyExplainabilityOperator`` with ``compute="spark"`` takes ``local_model`` as with
``compute="local"``; here a trusted joblib artifact of the pipeline that trained the model, which the
driver loads and broadcasts to the executors (an ``s3://`` artifact is downloaded to the worker with
the task's AWS connection first). A model behind a URL (the SageMaker hosting contract) or a
SageMaker endpoint (``{"endpoint_name": ...}``, or none at all with ``ModelConfig(endpoint_name=...)``)
is called from the executors instead, with the cluster's own AWS credentials.

Set ``CLARIFY_SPARK_DATASET``, ``CLARIFY_SPARK_OUTPUT`` (``s3://`` on a real cluster: the driver
and the executors read and write it with the cluster's own credentials) and ``CLARIFY_SPARK_MODEL``.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import dag

from airflow_provider_clarify.analysis import BiasConfig, DataConfig, ModelConfig, PDPConfig, SHAPConfig
from airflow_provider_clarify.operators.checks import ClarifyCheckOperator
from airflow_provider_clarify.operators.clarify import ClarifyBiasOperator, ClarifyExplainabilityOperator

DATASET = os.environ.get("CLARIFY_SPARK_DATASET", "s3://my-bucket/scored/applications/")
OUTPUT = os.environ.get("CLARIFY_SPARK_OUTPUT", "s3://my-bucket/clarify/spark-audit")
MODEL_ARTIFACT = os.environ.get("CLARIFY_SPARK_MODEL", "s3://my-bucket/models/credit/model.joblib")


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
    ClarifyExplainabilityOperator(
        task_id="explain",
        compute="spark",
        spark_conn_id="clarify_spark",
        spark_options={"conf": {"spark.sql.shuffle.partitions": "8"}},
        data_config=DataConfig(
            s3_data_input_path=DATASET,
            s3_output_path=OUTPUT + "/{{ ds }}/explanations",
            label="approved",
            excluded_columns=["score", "predicted"],  # the model reads the six applicant columns
            dataset_type="text/csv",
        ),
        # On SageMaker this names the model; with compute="spark" the local_model below is called.
        model_config=ModelConfig(
            model_name="credit-model", instance_type="ml.m5.xlarge", instance_count=1, accept_type="text/csv"
        ),
        explainability_config=[
            SHAPConfig(num_samples=24, num_clusters=1, seed=7, agg_method="mean_abs"),
            PDPConfig(features=["age", "job"], grid_resolution=6),
        ],
        local_model={"artifact": MODEL_ARTIFACT, "format": "joblib", "trust": True},
    )
    ClarifyCheckOperator(
        task_id="fairness_gate",
        analysis_result_uri=audit.output,
        thresholds={"DI": "[0.8, 1.25]", "DPPL": (-0.1, 0.1)},
        fail_on_violation=False,
    )


clarify_spark_compute_audit()
