"""Test DAG: one Clarify audit that waits for its job in the worker (tests/unit/operators/test_kill.py).

The test sends the task process a real SIGTERM while it waits, once as a worker shutdown would and once
after marking the task instance failed, as a user's "mark failed" does.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_clarify.analysis.configs import BiasConfig, DataConfig
from airflow_provider_clarify.operators.clarify import ClarifyPreTrainingBiasOperator

BUCKET = "clarify-test-bucket"

with DAG(dag_id="clarify_kill_test", start_date=datetime(2024, 1, 1), schedule=None):
    ClarifyPreTrainingBiasOperator(
        task_id="audit",
        data_config=DataConfig(
            s3_data_input_path=f"s3://{BUCKET}/credit/train.csv",
            s3_output_path=f"s3://{BUCKET}/clarify/kill",
            label="approved",
            headers=["sex", "age", "approved"],
            dataset_type="text/csv",
        ),
        bias_config=BiasConfig(
            label_values_or_threshold=[1], facet_name="sex", facet_values_or_threshold=["female"]
        ),
        role="ClarifyRole",
        check_interval=0.1,
        deferrable=False,
        retries=0,
    )
