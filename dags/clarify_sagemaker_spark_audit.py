"""A daily bias audit on SageMaker without the Clarify image: the open engine on SageMaker's Spark image.

For AWS accounts that cannot use SageMaker Clarify. ``compute="sagemaker_spark"`` runs the open
engine's Spark backend as a SageMaker Processing job on the image the SDK's ``PySparkProcessor`` uses
(``sagemaker-spark-processing:3.5-cpu-py312-v1``), spread over ``instance_count`` instances, with the
same lifecycle as the Clarify operators: a deterministic job name, re-attaching on retry, a deferrable
wait, stopping the job when the task is killed, and the ``analysis_result`` URI in XCom.

1. ``bias``: pre- and post-training bias of the day's scored credit data
   (``s3://<bucket>/credit/<date>/scored.csv``, the model's decisions in the ``predicted`` column);
   results under ``s3://<bucket>/clarify-spark/<run id>/bias``.
2. ``summarize``: reads ``analysis.json`` from the URI in XCom and keeps the headline metrics.

The job has no internet access; the libraries the Spark image lacks travel with it as a dependency
bundle. Leave the ``dependencies`` param empty and the first run builds it on the worker (with pip,
once; later runs reuse it), or build it yourself (``python -m airflow_provider_clarify.spark_bundle
--output clarify-spark-deps.zip``), upload it and give its S3 URI. See docs/scale-out.md
("On SageMaker without Clarify").
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_clarify.analysis.configs import BiasConfig, DataConfig
from airflow_provider_clarify.operators.clarify import ClarifyBiasOperator

HEADERS = ["sex", "age", "job", "housing", "credit_amount", "duration", "approved", "score", "predicted"]
#: The day's data: the logical date of a scheduled run, or the trigger time of a manual run.
DATA = "s3://{{ params.bucket }}/credit/{{ (dag_run.logical_date or dag_run.run_after) | ds }}"
#: One result folder per DAG run, named after the run id (``:`` and ``+`` replaced).
RESULTS = "s3://{{ params.bucket }}/clarify-spark/{{ run_id | replace(':', '-') | replace('+', '-') }}"

with DAG(
    dag_id="clarify_sagemaker_spark_audit",
    description="Daily bias audit with the open engine on SageMaker's Spark image (no Clarify needed)",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["clarify", "fairness", "spark", "example"],
    params={
        "bucket": Param("my-clarify-bucket", type="string", description="S3 bucket with data and results"),
        "role": Param("ClarifySageMakerRole", type="string", description="IAM role name or ARN for the job"),
        "instance_count": Param(2, type="integer", minimum=1, description="Instances of the Spark cluster"),
        "dependencies": Param(
            "", type="string", description="S3 URI of a dependency bundle ('': built once by the worker)"
        ),
        "check_interval": Param(60, type="number", description="Seconds between job status polls"),
    },
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=5)},
) as dag:
    bias = ClarifyBiasOperator(
        task_id="bias",
        compute="sagemaker_spark",
        data_config=DataConfig(
            s3_data_input_path=f"{DATA}/scored.csv",
            s3_output_path=f"{RESULTS}/bias",
            label="approved",
            headers=HEADERS,
            predicted_label="predicted",
            excluded_columns=["score"],
            dataset_type="text/csv",
        ),
        bias_config=BiasConfig(
            label_values_or_threshold=[1],
            facet_name="sex",
            facet_values_or_threshold=["female"],
            group_name="housing",
        ),
        aws_conn_id="aws_default",
        role="{{ params.role }}",
        instance_type="ml.m5.xlarge",
        instance_count="{{ params.instance_count }}",
        spark_dependencies_uri="{{ params.dependencies }}",
        deferrable=True,
        check_interval="{{ params.check_interval }}",
        max_ingestion_time=6 * 3600,
    )

    @task
    def summarize(result_uri: str) -> dict:
        """The headline metrics of the audit (small enough for XCom)."""
        from airflow_provider_clarify.hooks.clarify import ClarifyHook

        result = ClarifyHook(aws_conn_id="aws_default").read_analysis_result(result_uri)
        return {
            "metrics": {f"{row.stage}.{row.metric}": row.value for row in result.metrics_table()},
            "result": result_uri,
        }

    summarize(bias.output)
