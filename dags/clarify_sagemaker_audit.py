"""A recurring fairness and explainability audit of a credit model on SageMaker Clarify.

Every day (``catchup=False``: only the latest interval runs when the DAG is switched on) the DAG
audits that day's scored credit data, stored under ``s3://<bucket>/credit/<date>/``, and writes the
results under ``s3://<bucket>/clarify/<run id>/``. Manual runs (which have no logical date on
Airflow 3) audit the data of the day they were triggered:

1. ``pre_training_bias``: is the training data itself skewed against a group (``sex == female``)?
2. ``post_training_bias``: are the model's decisions (the ``predicted`` column) skewed?
3. ``explainability``: which features drive the model (Kernel SHAP on the deployed model)?
4. ``summarize``: reads the three ``analysis_result`` URIs from XCom, loads each ``analysis.json``
   and returns a compact summary (and records the results on an Asset so a reporting DAG can be
   scheduled on it).

The analysis tasks are deferrable: while a Clarify job runs, the task waits in the triggerer, not in
a worker slot. A retry re-attaches to the job the first try started (no second bill).

AWS access goes through the ``aws_default`` connection. Set the DAG params (or trigger with a conf)
for your bucket, IAM role (name or ARN) and model name.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, Param, task

from airflow_provider_clarify.analysis.configs import BiasConfig, DataConfig, ModelConfig, SHAPConfig
from airflow_provider_clarify.operators.clarify import (
    ClarifyExplainabilityOperator,
    ClarifyPostTrainingBiasOperator,
    ClarifyPreTrainingBiasOperator,
)

HEADERS = ["sex", "age", "job", "housing", "credit_amount", "duration", "approved", "score", "predicted"]
FEATURES = ["sex", "age", "job", "housing", "credit_amount", "duration"]
#: The day's data: the logical date of a scheduled run, or the trigger time of a manual run (Airflow 3
#: manual runs have no logical date, so ``{{ ds }}`` would be undefined there).
DATA = "s3://{{ params.bucket }}/credit/{{ (dag_run.logical_date or dag_run.run_after) | ds }}"
#: One result folder per DAG run, named after the run id (``:`` and ``+`` replaced), which every run has.
RESULTS = "s3://{{ params.bucket }}/clarify/{{ run_id | replace(':', '-') | replace('+', '-') }}"

#: Downstream DAGs can be scheduled on this asset (data-aware scheduling); each event's ``extra``
#: carries the run's ``analysis_result`` URIs.
CLARIFY_AUDIT_ASSET = Asset("s3://clarify-audit/credit-model/analysis")

with DAG(
    dag_id="clarify_sagemaker_audit",
    description="Daily SageMaker Clarify bias and explainability audit of the credit model",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["clarify", "fairness", "example"],
    params={
        "bucket": Param("my-clarify-bucket", type="string", description="S3 bucket with data and results"),
        "role": Param("ClarifySageMakerRole", type="string", description="IAM role name or ARN for the jobs"),
        "model_name": Param("credit-model", type="string", description="SageMaker model to explain"),
        "check_interval": Param(60, type="number", description="Seconds between job status polls"),
    },
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=5)},
) as dag:
    common = {
        "aws_conn_id": "aws_default",
        "role": "{{ params.role }}",
        "instance_type": "ml.c5.xlarge",
        "deferrable": True,
        "check_interval": "{{ params.check_interval }}",
        "max_ingestion_time": 6 * 3600,
    }
    bias_config = BiasConfig(
        label_values_or_threshold=[1],
        facet_name="sex",
        facet_values_or_threshold=["female"],
        group_name="housing",
    )

    pre_training_bias = ClarifyPreTrainingBiasOperator(
        task_id="pre_training_bias",
        data_config=DataConfig(
            s3_data_input_path=f"{DATA}/train.csv",
            s3_output_path=f"{RESULTS}/pre-training",
            label="approved",
            headers=HEADERS,
            excluded_columns=["score", "predicted"],
            dataset_type="text/csv",
        ),
        bias_config=bias_config,
        **common,
    )

    post_training_bias = ClarifyPostTrainingBiasOperator(
        task_id="post_training_bias",
        data_config=DataConfig(
            s3_data_input_path=f"{DATA}/scored.csv",
            s3_output_path=f"{RESULTS}/post-training",
            label="approved",
            headers=HEADERS,
            predicted_label="predicted",
            excluded_columns=["score"],
            dataset_type="text/csv",
        ),
        bias_config=bias_config,
        **common,
    )

    explainability = ClarifyExplainabilityOperator(
        task_id="explainability",
        data_config=DataConfig(
            s3_data_input_path=f"{DATA}/features.csv",
            s3_output_path=f"{RESULTS}/explainability",
            headers=FEATURES,
            dataset_type="text/csv",
        ),
        model_config=ModelConfig(
            model_name="{{ params.model_name }}",
            instance_count=1,
            instance_type="ml.m5.xlarge",
            content_type="text/csv",
            accept_type="text/csv",
        ),
        explainability_config=SHAPConfig(num_samples=100, agg_method="mean_abs", seed=7),
        **common,
    )

    @task(outlets=[CLARIFY_AUDIT_ASSET])
    def summarize(pre_uri: str, post_uri: str, explain_uri: str, *, outlet_events=None) -> dict:
        """Load each analysis.json and keep the headline numbers (small enough for XCom)."""
        from airflow_provider_clarify.hooks.clarify import ClarifyHook

        hook = ClarifyHook(aws_conn_id="aws_default")
        pre = hook.read_analysis_result(pre_uri)
        post = hook.read_analysis_result(post_uri)
        explanations = hook.read_analysis_result(explain_uri)
        summary = {
            "pre_training": {
                row.metric: row.value for row in pre.metrics_table() if row.stage == "pre_training"
            },
            "post_training": {
                row.metric: row.value for row in post.metrics_table() if row.stage == "post_training"
            },
            "top_features": [
                {"feature": name, "global_shap": value}
                for name, value in sorted(
                    next(iter(explanations.kernel_shap.values())).global_shap_values.items(),
                    key=lambda item: abs(item[1]),
                    reverse=True,
                )[:3]
            ]
            if explanations.kernel_shap
            else [],
            "results": {"pre_training": pre_uri, "post_training": post_uri, "explainability": explain_uri},
        }
        if outlet_events is not None:
            outlet_events[CLARIFY_AUDIT_ASSET].extra = {"analysis_results": summary["results"]}
        return summary

    summary = summarize(pre_training_bias.output, post_training_bias.output, explainability.output)
    pre_training_bias >> post_training_bias >> explainability >> summary
