"""Recipe: a weekly bias audit on Databricks (the open engine's Spark backend as a job run).

Like the EMR Serverless recipe (``dags/clarify_spark_emr_serverless.py``): ``stage_audit`` builds
the run's plan as ``ClarifyBiasOperator(compute="spark")`` would and uploads the driver application
and the config; the Databricks provider's ``DatabricksSubmitRunOperator`` runs them as a
``spark_python_task`` on a new job cluster with this package installed as a cluster library (so no
``--py-files``); the gate reads ``analysis.json`` from the output (docs/scale-out.md, "Recipes").

Needs ``apache-airflow-providers-databricks`` and a ``databricks`` connection
(``databricks_default``). Without the provider this file defines no DAG (it still imports cleanly).
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import dag, task

from airflow_provider_clarify.operators.checks import ClarifyCheckOperator

try:
    from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator
except ImportError:  # the provider is optional: this recipe is then left out
    DatabricksSubmitRunOperator = None

BUCKET = os.environ.get("CLARIFY_DATABRICKS_BUCKET", "my-clarify-bucket")
DATASET = f"s3://{BUCKET}/scored/applications/"
OUTPUT = f"s3://{BUCKET}/clarify/databricks"
STAGING = f"s3://{BUCKET}/clarify/staging"
#: The job cluster: any runtime with Spark 4 (pyspark>=4) and Python 3.11+.
NEW_CLUSTER = {
    "spark_version": os.environ.get("CLARIFY_DATABRICKS_RUNTIME", "17.3.x-scala2.13"),
    "node_type_id": os.environ.get("CLARIFY_DATABRICKS_NODE_TYPE", "m5d.xlarge"),
    "num_workers": 4,
}
#: The engine's libraries and this package, installed on the cluster (a wheel on a volume works too).
LIBRARIES = [{"pypi": {"package": "airflow-provider-clarify[engine]"}}]


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
        },
        "pre_training_methods": "all",
        "post_training_methods": "all",
    }


def submit_run_json(python_task: dict, ds: str) -> dict:
    """The Jobs API ``runs/submit`` request: one ``spark_python_task`` on a new job cluster."""
    return {
        "run_name": f"clarify-bias-{ds}",
        "tasks": [
            {
                "task_key": "clarify_bias",
                "new_cluster": NEW_CLUSTER,
                "libraries": LIBRARIES,
                "spark_python_task": python_task,
            }
        ],
    }


@task
def stage_audit(ds: str | None = None, run_id: str | None = None) -> dict:
    """``spark_python_task`` of this run: the staged driver application and its arguments."""
    from airflow_provider_clarify.operators.clarify import clarify_job_name
    from airflow_provider_clarify.operators.spark_compute import make_spark_plan, stage_spark_job

    plan = make_spark_plan("bias", audit_arguments(ds))
    run_name = clarify_job_name(
        "Clarify-Bias", dag_id="clarify_spark_databricks", task_id="bias_audit", run_id=run_id
    )
    staged = stage_spark_job(plan, run_name=run_name, staging_uri=STAGING, ship_package=False)
    return {"python_file": staged.application_uri, "parameters": staged.arguments}


if DatabricksSubmitRunOperator is not None:

    @dag(
        schedule="@weekly",
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        tags=["clarify", "spark", "databricks"],
    )
    def clarify_spark_databricks():
        audit = DatabricksSubmitRunOperator(
            task_id="bias_audit",
            databricks_conn_id="databricks_default",
            json=submit_run_json(stage_audit(), "{{ ds }}"),
        )
        gate = ClarifyCheckOperator(
            task_id="fairness_gate",
            analysis_result_uri=OUTPUT + "/{{ ds }}",
            thresholds={"DI": "[0.8, 1.25]", "DPPL": (-0.1, 0.1)},
        )
        audit >> gate

    clarify_spark_databricks()
