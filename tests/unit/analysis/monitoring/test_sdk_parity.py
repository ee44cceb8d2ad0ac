"""The Model Monitor requests equal what the SageMaker SDK v2 sends (fixtures from make_fixtures.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from airflow_provider_clarify.analysis.configs import BiasConfig, ModelConfig, SHAPConfig
from airflow_provider_clarify.analysis.monitoring import (
    BatchTransformInput,
    BiasAnalysisConfig,
    CronExpressionGenerator,
    EndpointInput,
    ExplainabilityAnalysisConfig,
    MonitoringDatasetFormat,
    create_monitoring_requests,
    update_schedule_request,
)
from tests.support.paths import TEST_DATA

FIXTURES = json.loads((TEST_DATA / "monitoring" / "sdk_requests.json").read_text())
INPUTS = FIXTURES["inputs"]
MOMENT = datetime.fromtimestamp(FIXTURES["fixed_time"], UTC)
UUID = FIXTURES["fixed_uuid"]
IMAGE = "306415355426.dkr.ecr.us-west-2.amazonaws.com/sagemaker-clarify-processing:1.0"


def sdk_calls(case: str) -> dict[str, list[dict]]:
    calls: dict[str, list[dict]] = {}
    for call in FIXTURES["cases"][case]:
        calls.setdefault(call["operation"], []).append(call["params"])
    return calls


def full_resources() -> dict:
    monitor = INPUTS["monitor"]
    net = monitor["network"]
    return {
        "instance_count": monitor["instance_count"],
        "instance_type": monitor["instance_type"],
        "volume_size_in_gb": monitor["volume_size_in_gb"],
        "volume_kms_key": monitor["volume_kms_key"],
        "output_kms_key": monitor["output_kms_key"],
        "max_runtime_in_seconds": monitor["max_runtime_in_seconds"],
        "env": monitor["env"],
        "tags": monitor["tags"],
        "network_config": {
            "EnableNetworkIsolation": net["enable_network_isolation"],
            "VpcConfig": {"SecurityGroupIds": net["security_group_ids"], "Subnets": net["subnets"]},
        },
    }


def common(**kwargs) -> dict:
    return {"role": INPUTS["role"], "image_uri": IMAGE, "moment": MOMENT, "config_uuid": UUID, **kwargs}


def test_bias_endpoint_full_equals_sdk():
    sdk = sdk_calls("bias_endpoint_full")
    config = BiasAnalysisConfig(
        BiasConfig(**INPUTS["bias_config"]),
        headers=["fraud", "customer_gender_female", "occupation", "f2"],
        label="fraud",
    )
    ours = create_monitoring_requests(
        "ModelBias",
        **common(),
        analysis_config=config,
        endpoint_input=EndpointInput(**INPUTS["endpoint_input"]),
        ground_truth_input="s3://bkt/ground-truth",
        output_s3_uri="s3://bkt/monitor/output",
        constraints="s3://bkt/baseline/analysis.json",
        monitor_schedule_name="bias-schedule",
        schedule_cron_expression=CronExpressionGenerator.hourly(),
        **full_resources(),
    )
    assert ours.job_definition == sdk["create_model_bias_job_definition"][0]
    assert list(ours.job_definition) == list(sdk["create_model_bias_job_definition"][0])
    assert ours.schedule == sdk["create_monitoring_schedule"][0]
    upload = sdk["upload"][0]
    assert ours.analysis_config_upload == (upload["uri"], upload["body"])
    assert json.dumps(ours.analysis_config_upload[1]) == json.dumps(upload["body"])  # key order too


def test_bias_defaults_equal_sdk():
    sdk = sdk_calls("bias_defaults")
    ours = create_monitoring_requests(
        "ModelBias",
        **common(),
        analysis_config="s3://bkt/configs/analysis_config.json",
        endpoint_input="my-endpoint",
        ground_truth_input="s3://bkt/ground-truth",
        default_bucket="bkt",
        baselining_job_name="baseline-suggestion-job-1",
        schedule_cron_expression=CronExpressionGenerator.daily(6),
    )
    assert ours.job_definition == sdk["create_model_bias_job_definition"][0]
    assert ours.schedule == sdk["create_monitoring_schedule"][0]
    assert ours.analysis_config_upload is None


def test_base_job_name_and_cron_only_update_equal_sdk():
    sdk = sdk_calls("bias_base_name_and_update")
    ours = create_monitoring_requests(
        "ModelBias",
        **common(),
        base_job_name="fraud-bias",
        analysis_config="s3://bkt/configs/analysis_config.json",
        endpoint_input="my-endpoint",
        ground_truth_input="s3://bkt/ground-truth",
        output_s3_uri="s3://bkt/out",
        schedule_cron_expression=CronExpressionGenerator.daily_every_x_hours(6, 2),
        enable_cloudwatch_metrics=False,
    )
    assert ours.job_definition == sdk["create_model_bias_job_definition"][0]
    assert ours.schedule == sdk["create_monitoring_schedule"][0]
    update = update_schedule_request(
        ours.schedule["MonitoringScheduleName"],
        ours.job_definition["JobDefinitionName"],
        "ModelBias",
        schedule_cron_expression=CronExpressionGenerator.hourly(),
    )
    assert update == sdk["update_monitoring_schedule"][0]


def test_explainability_batch_transform_now_equals_sdk():
    sdk = sdk_calls("explainability_batch_now")
    batch = dict(INPUTS["batch_input"], dataset_format=MonitoringDatasetFormat.json(lines=True))
    config = ExplainabilityAnalysisConfig(
        SHAPConfig(**INPUTS["shap_config"]),
        ModelConfig(**INPUTS["model_config"]),
        headers=["customer_gender_female", "f2"],
        label_headers=["fraud_prob"],
    )
    ours = create_monitoring_requests(
        "ModelExplainability",
        **common(),
        analysis_config=config,
        batch_transform_input=BatchTransformInput(**batch),
        output_s3_uri="s3://bkt/explain/output",
        monitor_schedule_name="explain-once",
        schedule_cron_expression=CronExpressionGenerator.now(),
        data_analysis_start_time="-PT5H",
        data_analysis_end_time="-PT1H",
    )
    assert ours.job_definition == sdk["create_model_explainability_job_definition"][0]
    assert ours.schedule == sdk["create_monitoring_schedule"][0]
    upload = sdk["upload"][0]
    assert ours.analysis_config_upload == (upload["uri"], upload["body"])
    assert json.dumps(ours.analysis_config_upload[1]) == json.dumps(upload["body"])


def test_explainability_endpoint_with_constraints_equals_sdk():
    sdk = sdk_calls("explainability_endpoint_uri")
    endpoint = dict(INPUTS["endpoint_input"], probability_attribute=None)
    ours = create_monitoring_requests(
        "ModelExplainability",
        **common(),
        analysis_config="s3://bkt/configs/explain.json",
        endpoint_input=EndpointInput(**endpoint),
        output_s3_uri="s3://bkt/explain/output",
        constraints="s3://bkt/baseline/analysis.json",
        monitor_schedule_name="explain-hourly",
        schedule_cron_expression=CronExpressionGenerator.hourly(),
        **full_resources(),
    )
    assert ours.job_definition == sdk["create_model_explainability_job_definition"][0]
    assert ours.schedule == sdk["create_monitoring_schedule"][0]


@pytest.mark.parametrize(
    ("method", "args", "expected"),
    [
        ("hourly", (), "cron(0 * ? * * *)"),
        ("daily", (), "cron(0 0 ? * * *)"),
        ("daily", (17,), "cron(0 17 ? * * *)"),
        ("daily_every_x_hours", (10,), "cron(0 0/10 ? * * *)"),
        ("daily_every_x_hours", (2, 3), "cron(0 3/2 ? * * *)"),
        ("now", (), "NOW"),
    ],
)
def test_cron_expressions_match_the_sdk_strings(method, args, expected):
    assert getattr(CronExpressionGenerator, method)(*args) == expected


BATCH_FORMATS = {
    "csv_header": lambda: MonitoringDatasetFormat.csv(header=True),
    "csv_no_header": lambda: MonitoringDatasetFormat.csv(header=False),
    "json_document": lambda: MonitoringDatasetFormat.json(lines=False),
    "parquet": lambda: MonitoringDatasetFormat.parquet(),
}


@pytest.mark.parametrize("format_name", sorted(BATCH_FORMATS))
def test_bias_batch_transform_input_in_each_dataset_format_equals_sdk(format_name):
    sdk = sdk_calls(f"bias_batch_{format_name}")
    batch = dict(
        INPUTS["batch_input"],
        dataset_format=BATCH_FORMATS[format_name](),
        probability_attribute="score",
        probability_threshold_attribute=0.4,
    )
    ours = create_monitoring_requests(
        "ModelBias",
        **common(),
        analysis_config="s3://bkt/configs/analysis_config.json",
        batch_transform_input=BatchTransformInput(**batch),
        ground_truth_input="s3://bkt/ground-truth",
        output_s3_uri="s3://bkt/batch/output",
        monitor_schedule_name=f"bias-batch-{format_name.replace('_', '-')}",
        schedule_cron_expression=CronExpressionGenerator.hourly(),
    )
    assert ours.job_definition == sdk["create_model_bias_job_definition"][0]
    assert ours.schedule == sdk["create_monitoring_schedule"][0]
