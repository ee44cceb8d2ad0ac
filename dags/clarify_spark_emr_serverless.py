"""Recipe: a weekly bias audit on EMR Serverless (the open engine's Spark backend, no SageMaker).

EMR Serverless takes a job of its own rather than a ``spark-submit`` from the worker, so the DAG
stages the job and hands it to the amazon provider's ``EmrServerlessStartJobOperator``
(docs/scale-out.md, "Recipes"):

1. ``stage_audit`` builds the run's plan exactly as ``ClarifyBiasOperator(compute="spark")`` would
   (the SDK-equal config, preflight, what the Spark backend cannot run refused here, before any spend)
   and uploads the driver application, this package (a zip for ``--py-files``) and the config
   (``stage_spark_job``);
2. ``bias_audit`` runs it on the EMR Serverless application (deferrable; cancelled on kill);
3. ``fairness_gate`` reads ``analysis.json`` from the output, as after any other audit.

Once per environment: an EMR Serverless Spark application (``CLARIFY_EMR_APPLICATION_ID``), a job
role that reads the data and writes the output and staging prefixes (``CLARIFY_EMR_ROLE_ARN``), and a
Python environment with the engine's libraries packed with ``venv-pack`` on Amazon Linux
(``pip install 'airflow-provider-clarify[engine]' venv-pack``), uploaded to ``CLARIFY_EMR_PYTHON_ENV``.
"""

from __future__ import annotations

import os

import pendulum
from airflow.providers.amazon.aws.operators.emr import EmrServerlessStartJobOperator
from airflow.sdk import dag, task

from airflow_provider_clarify.operators.checks import ClarifyCheckOperator

BUCKET = os.environ.get("CLARIFY_EMR_BUCKET", "my-clarify-bucket")
APPLICATION_ID = os.environ.get("CLARIFY_EMR_APPLICATION_ID", "00example0application")
ROLE_ARN = os.environ.get(
    "CLARIFY_EMR_ROLE_ARN", "arn:aws:iam::123456789012:role/ClarifyEmrServerlessJobRole"
)
PYTHON_ENV = os.environ.get("CLARIFY_EMR_PYTHON_ENV", f"s3://{BUCKET}/clarify/env/clarify_engine_env.tar.gz")
DATASET = f"s3://{BUCKET}/scored/applications/"
OUTPUT = f"s3://{BUCKET}/clarify/emr-serverless"
STAGING = f"s3://{BUCKET}/clarify/staging"
#: The packed environment is unpacked as ./environment on the driver and every executor.
PYTHON = "./environment/bin/python"
SPARK_CONF = {
    "spark.archives": f"{PYTHON_ENV}#environment",
    "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON": PYTHON,
    "spark.emr-serverless.driverEnv.PYSPARK_PYTHON": PYTHON,
    "spark.executorEnv.PYSPARK_PYTHON": PYTHON,
}


def audit_arguments(ds: str) -> dict:
    """The audit's operator arguments (what ClarifyBiasOperator would be given)."""
    return {
        "data_config": {
            "s3_data_input_path": DATASET,
            "s3_output_path": f"{OUTPUT}/{ds}",
            "label": "approved",
            "predicted_label": "predicted",
            "dataset_type": "text/csv",
        },
        "bias_config": {
            "label_values_or_threshold": [1],
            "facet_name": "sex",
            "facet_values_or_threshold": ["female"],
            "group_name": "housing",
        },
        "pre_training_methods": "all",
        "post_training_methods": "all",
    }


@dag(
    schedule="@weekly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["clarify", "spark", "emr-serverless"],
)
def clarify_spark_emr_serverless():
    @task
    def stage_audit(ds: str | None = None, run_id: str | None = None) -> dict:
        """The EMR Serverless ``jobDriver`` of this run (files uploaded under the staging prefix)."""
        from airflow_provider_clarify.operators.clarify import clarify_job_name
        from airflow_provider_clarify.operators.spark_compute import make_spark_plan, stage_spark_job

        plan = make_spark_plan("bias", audit_arguments(ds))
        run_name = clarify_job_name(
            "Clarify-Bias", dag_id="clarify_spark_emr_serverless", task_id="bias_audit", run_id=run_id
        )
        staged = stage_spark_job(plan, run_name=run_name, staging_uri=STAGING)
        return {
            "sparkSubmit": {
                "entryPoint": staged.application_uri,
                "entryPointArguments": staged.arguments,
                "sparkSubmitParameters": staged.spark_submit_parameters(SPARK_CONF),
            }
        }

    audit = EmrServerlessStartJobOperator(
        task_id="bias_audit",
        application_id=APPLICATION_ID,
        execution_role_arn=ROLE_ARN,
        job_driver=stage_audit(),
        configuration_overrides={
            "monitoringConfiguration": {
                "s3MonitoringConfiguration": {"logUri": f"s3://{BUCKET}/clarify/emr-logs/"}
            }
        },
        name="clarify-bias-{{ ds }}",
        deferrable=True,
    )
    gate = ClarifyCheckOperator(
        task_id="fairness_gate",
        analysis_result_uri=OUTPUT + "/{{ ds }}",
        thresholds={"DI": "[0.8, 1.25]", "DPPL": (-0.1, 0.1)},
    )
    audit >> gate


clarify_spark_emr_serverless()
