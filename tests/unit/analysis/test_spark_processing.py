"""The open engine's SageMaker Spark job request, field by field against the SDK's PySparkProcessor.

Oracle: ``tests/data/sdk/spark_processing_fixtures.json``, written by
``tests/data/sdk/make_spark_processing_fixtures.py`` with the real SageMaker SDK (requests captured
from ``PySparkProcessor.run`` on a session that sends nothing to AWS, and ``image_uris.retrieve`` for
every region of the SDK's Spark config).
"""

from __future__ import annotations

import json

import pytest

from airflow_provider_clarify.analysis.capabilities import spark_problems
from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.spark_images import SPARK_IMAGE_REGISTRIES
from airflow_provider_clarify.analysis.spark_processing import (
    bundle_key,
    default_dependencies_uri,
    spark_image_uri,
    spark_processing_job_request,
    staging_uris,
)
from tests.support.paths import TEST_DATA

FIXTURES = json.loads((TEST_DATA / "sdk" / "spark_processing_fixtures.json").read_text())
CASES = FIXTURES["requests"]


def _ours(arguments: dict) -> dict:
    given = dict(arguments)
    bucket, prefix = given.pop("staging_bucket"), given.pop("staging_prefix")
    given["staging_base_uri"] = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
    return spark_processing_job_request(**given)


def test_every_sdk_region_has_the_sdk_image_uri():
    assert set(FIXTURES["image_uris"]) == set(SPARK_IMAGE_REGISTRIES)
    for region, uri in FIXTURES["image_uris"].items():
        assert spark_image_uri(region) == uri, region


@pytest.mark.parametrize("name", sorted(CASES))
def test_request_equals_the_sdk_request_field_by_field(name):
    case = CASES[name]
    ours, sdk = _ours(case["arguments"]), case["request"]
    assert set(ours) == set(sdk)
    for key in sdk:
        assert ours[key] == sdk[key], key
    assert ours == sdk


@pytest.mark.parametrize("name", sorted(CASES))
def test_staged_files_go_where_the_sdk_uploads_them(name):
    arguments = CASES[name]["arguments"]
    prefix = arguments["staging_prefix"]
    base = f"s3://{arguments['staging_bucket']}" + (f"/{prefix}" if prefix else "")
    staged = staging_uris(base, arguments["job_name"])
    assert sorted(CASES[name]["uploaded"]) == sorted([staged["code"], staged["package"]])


def test_other_spark_versions_and_regions_are_refused_by_name():
    with pytest.raises(ClarifyConfigError) as old:
        spark_image_uri("us-east-1", "3.3")
    assert old.value.field == "version"
    assert "Python" in str(old.value)
    with pytest.raises(ClarifyConfigError) as region:
        spark_image_uri("mars-east-1")
    assert region.value.field == "region"
    assert "us-east-1" in str(region.value)


def test_bad_arguments_fail_naming_the_field():
    arguments = dict(CASES["minimal"]["arguments"])
    for field, value in (
        ("instance_count", 0),
        ("max_runtime_in_seconds", 777_601),
        ("dependencies_uri", "/local/deps.zip"),
        ("s3_data_type", "S3Object"),
    ):
        with pytest.raises(ClarifyConfigError) as failure:
            _ours({**arguments, field: value})
        assert field.split("_uri")[0] in str(failure.value.field), field


def test_network_isolation_is_allowed_unlike_clarify():
    arguments = dict(CASES["minimal"]["arguments"], network_config={"EnableNetworkIsolation": True})
    assert _ours(arguments)["NetworkConfig"] == {"EnableNetworkIsolation": True}


def test_bundle_location_is_content_addressed():
    assert (
        default_dependencies_uri("s3://b/p/")
        == f"s3://b/p/spark-dependencies/{bundle_key()}/clarify-spark-deps.zip"
    )
    assert bundle_key(("numpy>=2.3",)) != bundle_key()
    assert bundle_key(python_version="3.11") != bundle_key()


# --- the Spark backend's limits: the same verdicts as the engine's own check --------------------------------

_BIAS = {
    "dataset_type": "text/csv",
    "label": "y",
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "sex"}],
    "predicted_label": "p",
    "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}},
}
_VARIANTS = {
    "bias": _BIAS,
    "bias_with_report": {**_BIAS, "methods": {**_BIAS["methods"], "report": {"name": "report"}}},
    "jsonlines": {**_BIAS, "dataset_type": "application/jsonlines"},
    "json": {**_BIAS, "dataset_type": "application/json", "features": "features"},
    "shap": {**_BIAS, "methods": {"shap": {"baseline": [[0]]}}},
    "side_dataset": {**_BIAS, "facet_dataset_uri": "s3://b/facets.csv"},
    "no_predicted_label": {k: v for k, v in _BIAS.items() if k != "predicted_label"},
    "pre_training_only_without_predictions": {
        **{k: v for k, v in _BIAS.items() if k != "predicted_label"},
        "methods": {"pre_training_bias": {"methods": "all"}},
    },
}


@pytest.mark.parametrize("name", sorted(_VARIANTS))
def test_backend_limits_match_the_engine(name):
    from airflow_provider_clarify.engine.errors import EngineConfigError
    from airflow_provider_clarify.engine.spark.runner import check_spark_config

    config = _VARIANTS[name]
    problems = spark_problems(config)
    if not problems:
        check_spark_config(dict(config))  # the engine accepts it too
        return
    with pytest.raises(EngineConfigError) as engine_error:
        check_spark_config(dict(config))
    assert engine_error.value.field in problems[0][0], (engine_error.value.field, problems)


# --- the plan of a compute="sagemaker_spark" run ------------------------------------------------------------


def _plan(region: str = "us-east-1", data: dict | None = None, **settings):
    from airflow_provider_clarify.analysis.plan import JobSettings, build_plan

    arguments = {
        "data_config": {
            "s3_data_input_path": "s3://b/data/train.csv",
            "s3_output_path": "s3://b/out/",
            "label": "y",
            "headers": ["sex", "y", "p"],
            "predicted_label": "p",
            "dataset_type": "text/csv",
            **(data or {}),
        },
        "bias_config": {"label_values_or_threshold": [1], "facet_name": "sex"},
    }
    return build_plan(
        "bias",
        arguments,
        compute="sagemaker_spark",
        job_settings=JobSettings(instance_type="ml.m5.xlarge", instance_count=3, **settings),
        region=region,
        role="arn:aws:iam::111122223333:role/R",
    )


def test_the_plan_request_is_the_builders_request_for_the_job():
    plan = _plan()
    request = plan.request("job-1", "arn:aws:iam::111122223333:role/R", "us-east-1")
    assert request == spark_processing_job_request(
        job_name="job-1",
        role_arn="arn:aws:iam::111122223333:role/R",
        analysis_config_uri="s3://b/out/job-1/analysis_config.json",
        dataset_uri="s3://b/data/train.csv",
        output_uri="s3://b/out",
        dependencies_uri=default_dependencies_uri("s3://b/out"),
        staging_base_uri="s3://b/out",
        instance_type="ml.m5.xlarge",
        instance_count=3,
        region="us-east-1",
    )
    # another job of the same plan gets its own staged code; another region its own Spark image
    other = plan.request("job-2", "arn:aws:iam::111122223333:role/R", "ap-southeast-2")
    assert {i["InputName"]: i["S3Input"]["S3Uri"] for i in other["ProcessingInputs"]}["code"] == (
        staging_uris("s3://b/out", "job-2")["code"]
    )
    assert other["AppSpecification"]["ImageUri"] == spark_image_uri("ap-southeast-2")


@pytest.mark.parametrize(
    ("data", "refused"),
    [
        ({"dataset_type": "application/x-parquet", "s3_data_input_path": "s3://b/data/parquet/"}, False),
        ({"dataset_type": "application/jsonlines", "features": "features", "headers": None}, False),
        ({"dataset_type": "application/json", "features": "features", "headers": None}, True),
    ],
    ids=["parquet", "jsonlines", "json"],
)
def test_the_job_takes_the_dataset_types_the_spark_backend_reads(data, refused):
    """The plan follows the engine's rule: JSON Lines and Parquet are planned, one-document JSON is not."""
    if refused:
        with pytest.raises(ClarifyConfigError) as caught:
            _plan(data=data)
        assert caught.value.field == "dataset_type"
        assert "compute='sagemaker_spark'" in str(caught.value)
        return
    plan = _plan(data=data)
    assert plan.config["dataset_type"] == data["dataset_type"]
    request = plan.request("job-1", "arn:aws:iam::111122223333:role/R")
    assert {i["InputName"]: i["S3Input"]["S3Uri"] for i in request["ProcessingInputs"]}["dataset"] == (
        plan.dataset_uri
    )


def test_a_given_bundle_goes_into_the_request():
    plan = _plan(spark_dependencies_uri="s3://b/deps/bundle.zip")
    request = plan.request("job-1", "arn:aws:iam::111122223333:role/R")
    assert {i["InputName"]: i["S3Input"]["S3Uri"] for i in request["ProcessingInputs"]}["dependencies"] == (
        "s3://b/deps/bundle.zip"
    )
