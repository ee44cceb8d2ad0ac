"""AnalysisPlan: built once from operator arguments, frozen, and the only source of the job request."""

from __future__ import annotations

import dataclasses

import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.plan import JobSettings, build_plan
from airflow_provider_clarify.analysis.processing_job import clarify_image_uri

DATA = {
    "s3_data_input_path": "s3://bkt/data/train.csv",
    "s3_output_path": "s3://bkt/out/",
    "label": "approved",
    "headers": ["sex", "age", "approved"],
}
BIAS = {"label_values_or_threshold": [1], "facet_name": "sex", "facet_values_or_threshold": ["female"]}
ROLE = "arn:aws:iam::111122223333:role/ClarifyRole"


def pre_training_plan(**overrides):
    arguments = {"data_config": dict(DATA), "bias_config": dict(BIAS), "methods": "all"}
    return build_plan("pre_training_bias", arguments, region="us-east-1", **overrides)


def test_the_plan_holds_the_config_locations_and_a_validated_request():
    plan = pre_training_plan()
    assert plan.config["methods"]["pre_training_bias"] == {"methods": "all"}
    assert (plan.dataset_uri, plan.output_uri) == ("s3://bkt/data/train.csv", "s3://bkt/out")
    assert plan.config_uri("job-1") == "s3://bkt/out/job-1/analysis_config.json"
    assert plan.published_config_uri == "s3://bkt/out/analysis_config.json"
    assert plan.model_methods == ()
    assert plan.default_job_name_prefix == "Clarify-Pretraining-Bias"

    request = plan.request("job-1", ROLE, "us-east-1")
    assert request["ProcessingJobName"] == "job-1"
    assert request["RoleArn"] == ROLE
    assert request["ProcessingInputs"][1]["S3Input"]["S3Uri"] == "s3://bkt/out/job-1/analysis_config.json"
    assert request["AppSpecification"]["ImageUri"] == clarify_image_uri("us-east-1")
    assert plan.request("job-1", ROLE, "eu-west-1")["AppSpecification"]["ImageUri"] == clarify_image_uri(
        "eu-west-1"
    )


def test_the_plan_is_frozen_and_hands_out_copies():
    plan = pre_training_plan()
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.output_uri = "s3://elsewhere"  # type: ignore[misc]
    plan.config["methods"].clear()
    plan.request("job-1", ROLE)["ProcessingInputs"].clear()
    assert plan.config["methods"]
    assert len(plan.request("job-1", ROLE)["ProcessingInputs"]) == 2


def test_bad_job_settings_and_request_values_fail_with_the_field():
    with pytest.raises(ClarifyConfigError) as err:
        pre_training_plan(job_settings=JobSettings(volume_size_in_gb=0))
    assert err.value.field == "volume_size_in_gb"
    with pytest.raises(ClarifyConfigError) as err:
        pre_training_plan(role="arn:aws:iam::bad")
    assert err.value.field == "role_arn"
    plan = pre_training_plan()
    with pytest.raises(ClarifyConfigError) as err:
        plan.request("bad_name", ROLE)
    assert err.value.field == "job_name"


def test_a_local_plan_has_no_request_and_needs_no_region():
    plan = build_plan(
        "pre_training_bias",
        {"data_config": {**DATA, "s3_output_path": "/tmp/out"}, "bias_config": BIAS},
        compute="local",
    )
    assert plan.output_uri == "/tmp/out"
    with pytest.raises(ClarifyConfigError, match="compute='local'"):
        plan.request("job-1", ROLE, "us-east-1")


def test_input_uris_name_every_input_a_job_reads():
    config = {
        "dataset_type": "text/csv",
        "label": "approved",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex"}],
        "facet_dataset_uri": "s3://bkt/facets.csv",
        "predicted_label_dataset_uri": "s3://bkt/predictions.csv",
        "predicted_label": "p",
        "joinsource_name_or_index": "id",
        "methods": {"post_training_bias": {"methods": "all"}, "shap": {"baseline": "s3://bkt/baseline.csv"}},
        "predictor": {"model_name": "m", "instance_type": "ml.m5.xlarge", "initial_instance_count": 1},
    }
    plan = build_plan("custom", {"analysis_config": config, "data_config": DATA}, region="us-east-1")
    assert plan.input_uris() == [
        ("data_config.s3_data_input_path", "s3://bkt/data/train.csv"),
        ("facet_dataset_uri", "s3://bkt/facets.csv"),
        ("predicted_label_dataset_uri", "s3://bkt/predictions.csv"),
        ("methods.shap.baseline", "s3://bkt/baseline.csv"),
    ]
    assert plan.model_methods == ("shap",)


def test_a_baseline_plan_carries_the_monitoring_config():
    arguments = {
        "monitoring_type": "ModelBias",
        "data_config": DATA,
        "bias_config": BIAS,
        "model_config": {"model_name": "m", "instance_count": 1, "instance_type": "ml.m5.xlarge"},
        "model_predicted_label_config": {"probability_threshold": 0.6},
    }
    plan = build_plan("suggest_baseline", arguments, region="us-east-1")
    assert plan.config["methods"]["post_training_bias"] == {"methods": "all"}
    assert plan.monitoring == {
        "monitoring_analysis_config": {
            "label_values_or_threshold": [1],
            "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
            "headers": ["sex", "age", "approved"],
            "label": "approved",
        },
        "monitoring_input_attributes": {"probability_threshold_attribute": 0.6},
    }
    with pytest.raises(ClarifyConfigError) as err:
        build_plan("suggest_baseline", {**arguments, "monitoring_type": "DataQuality"}, region="us-east-1")
    assert err.value.field == "monitoring_type"
    with pytest.raises(ClarifyConfigError) as err:
        build_plan("suggest_baseline", {**arguments, "bias_config": None}, region="us-east-1")
    assert err.value.field == "bias_config"


def test_unknown_keywords_of_a_dict_argument_name_the_argument():
    with pytest.raises(ClarifyConfigError) as err:
        build_plan(
            "pre_training_bias",
            {"data_config": DATA, "bias_config": {**BIAS, "facet": "sex"}},
            region="us-east-1",
        )
    assert err.value.field == "bias_config"
