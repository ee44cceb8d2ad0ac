"""Hourly bias-drift monitoring of live traffic, offline: a Model Monitor schedule run by Airflow.

An endpoint (here a local model server speaking the SageMaker hosting contract) writes data capture
(``{capture}/{endpoint}/AllTraffic/yyyy/mm/dd/hh/*.jsonl``); the true outcomes of its decisions arrive
about an hour later as ground-truth records (``{ground_truth}/yyyy/mm/dd/hh/*.jsonl``). Every hour this
DAG runs one Model Monitor bias execution with the open engine (``monitor_bias``) over the traffic of
the hour *before* the data interval (offsets ``-PT2H`` .. ``-PT1H`` from the interval's end, so the
labels have arrived); it writes Model Monitor's files and status (with ``constraint_violations.json``
by Model Monitor's literal rule, ``|current| > |baseline|``). The ``bias_drift_gate`` then fails, with
the violations in XCom, when DPPL, DI or DPL moves more than 0.1 farther from "no bias" than in the
baseline: for example when the served population shifts.

The job definition below is the same CreateModelBiasJobDefinition document SageMaker takes; with
``s3://`` locations and ``ClarifyCreateMonitoringScheduleOperator`` it becomes a managed Model Monitor
schedule instead (see docs/monitoring.md). Locations come from ``$CLARIFY_MONITOR_ROOT`` (default
``demo-output/monitoring`` in the project): ``capture/``, ``ground-truth/``, ``baseline/analysis.json``
(a ClarifySuggestBaselineOperator result or an earlier execution's ``analysis.json``), ``results/``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pendulum
from airflow.sdk import dag

from airflow_provider_clarify.operators.checks import ClarifyCheckOperator
from airflow_provider_clarify.operators.monitoring import ClarifyMonitoringExecutionOperator

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ROOT = Path(os.environ.get("CLARIFY_MONITOR_ROOT") or PROJECT_ROOT / "demo-output" / "monitoring").resolve()
ENDPOINT = "credit-endpoint"
#: The gate: these metrics may move at most this much farther from "no bias" than in the baseline
#: (Model Monitor's own rule, tolerance 0, also fires on an hour's sampling noise).
GATED_METRICS = ["DPPL", "DI", "DPL"]
DRIFT_TOLERANCE = 0.1

#: The monitoring analysis config (BiasAnalysisConfig(...).to_dict()): features then the label.
ANALYSIS_CONFIG = {
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "gender", "value_or_threshold": [0]}],
    "headers": ["gender", "age", "income", "approved"],
    "label": "approved",
}


def job_definition() -> dict:
    """The CreateModelBiasJobDefinition request, with local locations."""
    config_file = ROOT / "config" / "analysis_config.json"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(json.dumps(ANALYSIS_CONFIG))
    return {
        "JobDefinitionName": "credit-bias-hourly",
        "ModelBiasAppSpecification": {
            "ImageUri": "306415355426.dkr.ecr.us-west-2.amazonaws.com/sagemaker-clarify-processing:1.0",
            "ConfigUri": str(config_file),
            "Environment": {"publish_cloudwatch_metrics": "Disabled"},
        },
        "ModelBiasJobInput": {
            "EndpointInput": {
                "EndpointName": ENDPOINT,
                "LocalPath": "/opt/ml/processing/input/endpoint",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
                "StartTimeOffset": "-PT2H",
                "EndTimeOffset": "-PT1H",
                "ProbabilityThresholdAttribute": 0.5,
            },
            "GroundTruthS3Input": {"S3Uri": str(ROOT / "ground-truth")},
        },
        "ModelBiasJobOutputConfig": {
            "MonitoringOutputs": [
                {"S3Output": {"S3Uri": str(ROOT / "results"), "LocalPath": "/opt/ml/processing/output"}}
            ]
        },
        "JobResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
        },
        "RoleArn": "arn:aws:iam::111122223333:role/MonitorRole",
        "ModelBiasBaselineConfig": {
            "ConstraintsResource": {"S3Uri": str(ROOT / "baseline" / "analysis.json")}
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
    }


@dag(
    dag_id="clarify_monitoring_hourly",
    schedule="@hourly",
    start_date=pendulum.datetime(2024, 5, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    tags=["clarify", "monitoring", "example"],
    doc_md=__doc__,
)
def clarify_monitoring_hourly():
    monitor = ClarifyMonitoringExecutionOperator(
        task_id="monitor_bias",
        job_definition=job_definition(),
        data_capture_uri=str(ROOT / "capture"),
        scheduled_time="{{ data_interval_end }}",
        output_uri=str(ROOT / "results" / "{{ data_interval_start.strftime('%Y/%m/%d/%H') }}"),
        fail_on_violation=False,  # Model Monitor's literal rule flags sampling noise; the gate decides
        aws_conn_id=None,
        retries=0,
    )
    ClarifyCheckOperator(
        task_id="bias_drift_gate",
        analysis_result_uri=monitor.output,
        supplied_baseline_constraints=str(ROOT / "baseline" / "analysis.json"),
        drift_metrics=GATED_METRICS,
        drift_tolerance=DRIFT_TOLERANCE,
        drift_neutral_values={"DI": 1.0},
        aws_conn_id=None,
        retries=0,
    )


clarify_monitoring_hourly()
