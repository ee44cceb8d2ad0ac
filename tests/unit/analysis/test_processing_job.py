"""The CreateProcessingJob request, image URIs and job names (docs/job-request.md)."""

from __future__ import annotations

import copy
import re

import pytest
from hypothesis import given, settings, strategies as st

from airflow_provider_clarify.analysis.constants import JOB_NAME_BASES
from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.processing_job import (
    CLARIFY_IMAGE_ACCOUNTS,
    analysis_config_upload_uri,
    clarify_image_uri,
    job_analysis_config_uri,
    processing_job_request,
    result_uri_from_description,
    stable_job_name,
    validate_job_name,
)

# --- image URIs: the complete region table (docs/job-request.md) ------------------------------------------

REFERENCE_IMAGE_URIS = {
    "af-south-1": "811711786498.dkr.ecr.af-south-1.amazonaws.com/sagemaker-clarify-processing:1.0",
    "ap-east-1": "098760798382.dkr.ecr.ap-east-1.amazonaws.com/sagemaker-clarify-processing:1.0",
    "ap-northeast-1": "377024640650.dkr.ecr.ap-northeast-1.amazonaws.com/sagemaker-clarify-processing:1.0",
    "ap-northeast-2": "263625296855.dkr.ecr.ap-northeast-2.amazonaws.com/sagemaker-clarify-processing:1.0",
    "ap-northeast-3": "912233562940.dkr.ecr.ap-northeast-3.amazonaws.com/sagemaker-clarify-processing:1.0",
    "ap-south-1": "452307495513.dkr.ecr.ap-south-1.amazonaws.com/sagemaker-clarify-processing:1.0",
    "ap-southeast-1": "834264404009.dkr.ecr.ap-southeast-1.amazonaws.com/sagemaker-clarify-processing:1.0",
    "ap-southeast-2": "007051062584.dkr.ecr.ap-southeast-2.amazonaws.com/sagemaker-clarify-processing:1.0",
    "ap-southeast-3": "705930551576.dkr.ecr.ap-southeast-3.amazonaws.com/sagemaker-clarify-processing:1.0",
    "ca-central-1": "675030665977.dkr.ecr.ca-central-1.amazonaws.com/sagemaker-clarify-processing:1.0",
    "cn-north-1": "122526803553.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-clarify-processing:1.0",
    "cn-northwest-1": "122578899357.dkr.ecr.cn-northwest-1.amazonaws.com.cn/sagemaker-clarify-processing:1.0",
    "eu-central-1": "017069133835.dkr.ecr.eu-central-1.amazonaws.com/sagemaker-clarify-processing:1.0",
    "eu-central-2": "730335477804.dkr.ecr.eu-central-2.amazonaws.com/sagemaker-clarify-processing:1.0",
    "eu-north-1": "763603941244.dkr.ecr.eu-north-1.amazonaws.com/sagemaker-clarify-processing:1.0",
    "eu-south-1": "638885417683.dkr.ecr.eu-south-1.amazonaws.com/sagemaker-clarify-processing:1.0",
    "eu-west-1": "131013547314.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-clarify-processing:1.0",
    "eu-west-2": "440796970383.dkr.ecr.eu-west-2.amazonaws.com/sagemaker-clarify-processing:1.0",
    "eu-west-3": "341593696636.dkr.ecr.eu-west-3.amazonaws.com/sagemaker-clarify-processing:1.0",
    "me-south-1": "835444307964.dkr.ecr.me-south-1.amazonaws.com/sagemaker-clarify-processing:1.0",
    "sa-east-1": "520018980103.dkr.ecr.sa-east-1.amazonaws.com/sagemaker-clarify-processing:1.0",
    "us-east-1": "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0",
    "us-east-2": "211330385671.dkr.ecr.us-east-2.amazonaws.com/sagemaker-clarify-processing:1.0",
    "us-gov-west-1": "598674086554.dkr.ecr.us-gov-west-1.amazonaws.com/sagemaker-clarify-processing:1.0",
    "us-isof-east-1": "579539705040.dkr.ecr.us-isof-east-1.csp.hci.ic.gov/sagemaker-clarify-processing:1.0",
    "us-isof-south-1": "411392592546.dkr.ecr.us-isof-south-1.csp.hci.ic.gov/sagemaker-clarify-processing:1.0",
    "us-west-1": "740489534195.dkr.ecr.us-west-1.amazonaws.com/sagemaker-clarify-processing:1.0",
    "us-west-2": "306415355426.dkr.ecr.us-west-2.amazonaws.com/sagemaker-clarify-processing:1.0",
}


def test_the_region_table_has_the_28_reference_regions():
    assert len(REFERENCE_IMAGE_URIS) == 28
    assert set(CLARIFY_IMAGE_ACCOUNTS) == set(REFERENCE_IMAGE_URIS)


@pytest.mark.parametrize(("region", "uri"), sorted(REFERENCE_IMAGE_URIS.items()))
def test_image_uri_per_region(region, uri):
    assert clarify_image_uri(region) == uri
    assert clarify_image_uri(region, "1.0") == uri


def test_unknown_region_lists_the_supported_regions():
    with pytest.raises(ClarifyConfigError) as err:
        clarify_image_uri("mars-north-1")
    assert err.value.field == "region"
    assert err.value.value == "mars-north-1"
    message = str(err.value)
    assert "mars-north-1" in message
    for region in REFERENCE_IMAGE_URIS:
        assert region in message


def test_an_image_version_other_than_1_0_is_rejected():
    with pytest.raises(ClarifyConfigError) as err:
        clarify_image_uri("us-east-1", "2.0")
    assert err.value.field == "version"
    assert "1.0" in str(err.value)


# --- the request, field by field (docs/job-request.md) ----------------------------------------------------------

REFERENCE_REQUEST = {
    "ProcessingJobName": "Clarify-Bias-2024-05-01-12-30-45-123",
    "ProcessingResources": {
        "ClusterConfig": {
            "InstanceType": "ml.c5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
            "VolumeKmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/volume-key",
        }
    },
    "AppSpecification": {
        "ImageUri": "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0"
    },
    "RoleArn": "arn:aws:iam::111122223333:role/ClarifyRole",
    "ProcessingInputs": [
        {
            "InputName": "dataset",
            "AppManaged": False,
            "S3Input": {
                "S3Uri": "s3://bkt/data/train.csv",
                "LocalPath": "/opt/ml/processing/input/data",
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
                "S3CompressionType": "None",
            },
        },
        {
            "InputName": "analysis_config",
            "AppManaged": False,
            "S3Input": {
                "S3Uri": "s3://bkt/clarify/out/analysis_config.json",
                "LocalPath": "/opt/ml/processing/input/config",
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
                "S3CompressionType": "None",
            },
        },
    ],
    "ProcessingOutputConfig": {
        "Outputs": [
            {
                "OutputName": "analysis_result",
                "AppManaged": False,
                "S3Output": {
                    "S3Uri": "s3://bkt/clarify/out",
                    "LocalPath": "/opt/ml/processing/output",
                    "S3UploadMode": "EndOfJob",
                },
            }
        ],
        "KmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/output-key",
    },
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    "Environment": {"MY_VAR": "x"},
    "NetworkConfig": {
        "EnableNetworkIsolation": False,
        "EnableInterContainerTrafficEncryption": True,
        "VpcConfig": {"SecurityGroupIds": ["sg-0123"], "Subnets": ["subnet-a", "subnet-b"]},
    },
    "Tags": [{"Key": "team", "Value": "ml"}],
    "ExperimentConfig": {"ExperimentName": "my-exp"},
}

REFERENCE_KWARGS = dict(
    job_name="Clarify-Bias-2024-05-01-12-30-45-123",
    role_arn="arn:aws:iam::111122223333:role/ClarifyRole",
    analysis_config_uri="s3://bkt/clarify/out/analysis_config.json",
    dataset_uri="s3://bkt/data/train.csv",
    output_uri="s3://bkt/clarify/out",
    dataset_type="text/csv",
    region="us-east-1",
    instance_count=1,
    instance_type="ml.c5.xlarge",
    volume_size_in_gb=30,
    volume_kms_key="arn:aws:kms:us-east-1:111122223333:key/volume-key",
    output_kms_key="arn:aws:kms:us-east-1:111122223333:key/output-key",
    max_runtime_in_seconds=3600,
    env={"MY_VAR": "x"},
    tags=[{"Key": "team", "Value": "ml"}],
    network_config={
        "EnableNetworkIsolation": False,
        "EnableInterContainerTrafficEncryption": True,
        "VpcConfig": {"SecurityGroupIds": ["sg-0123"], "Subnets": ["subnet-a", "subnet-b"]},
    },
    experiment_config={"ExperimentName": "my-exp"},
)


def build(**overrides):
    return processing_job_request(**{**REFERENCE_KWARGS, **overrides})


@pytest.mark.parametrize("field", sorted(REFERENCE_REQUEST))
def test_request_matches_the_reference_field_by_field(field):
    request = build()
    assert request[field] == REFERENCE_REQUEST[field]


def test_request_has_exactly_the_reference_fields_in_order():
    request = build()
    assert list(request) == list(REFERENCE_REQUEST)
    assert request == REFERENCE_REQUEST
    assert [i["InputName"] for i in request["ProcessingInputs"]] == ["dataset", "analysis_config"]


def test_app_specification_has_only_the_image():
    assert build()["AppSpecification"] == {"ImageUri": REFERENCE_IMAGE_URIS["us-east-1"]}
    assert build(region="eu-west-1")["AppSpecification"]["ImageUri"] == REFERENCE_IMAGE_URIS["eu-west-1"]
    assert build(image_uri="my.registry/clarify:1.0", region=None)["AppSpecification"] == {
        "ImageUri": "my.registry/clarify:1.0"
    }


def test_minimal_request_omits_every_optional_block():
    request = processing_job_request(
        job_name="j",
        role_arn="arn:aws:iam::111122223333:role/ClarifyRole",
        analysis_config_uri="s3://b/o/analysis_config.json",
        dataset_uri="s3://b/d.csv",
        output_uri="s3://b/o",
        instance_type="ml.m5.large",
        region="us-west-2",
    )
    assert set(request) == {
        "ProcessingJobName",
        "ProcessingResources",
        "AppSpecification",
        "RoleArn",
        "ProcessingInputs",
        "ProcessingOutputConfig",
    }
    assert request["ProcessingResources"]["ClusterConfig"] == {
        "InstanceType": "ml.m5.large",
        "InstanceCount": 1,
        "VolumeSizeInGB": 30,
    }
    assert request["ProcessingOutputConfig"] == {
        "Outputs": [
            {
                "OutputName": "analysis_result",
                "AppManaged": False,
                "S3Output": {
                    "S3Uri": "s3://b/o",
                    "LocalPath": "/opt/ml/processing/output",
                    "S3UploadMode": "EndOfJob",
                },
            }
        ]
    }


def test_image_datasets_upload_continuously():
    output = build(dataset_type="application/x-image")["ProcessingOutputConfig"]["Outputs"][0]
    assert output["S3Output"]["S3UploadMode"] == "Continuous"
    for dataset_type in ("text/csv", "application/jsonlines", "application/x-parquet", "application/json"):
        output = build(dataset_type=dataset_type)["ProcessingOutputConfig"]["Outputs"][0]
        assert output["S3Output"]["S3UploadMode"] == "EndOfJob"


def test_dataset_input_options_and_omission():
    request = build(
        s3_data_distribution_type="ShardedByS3Key", s3_compression_type="Gzip", s3_data_type="ManifestFile"
    )
    dataset = request["ProcessingInputs"][0]["S3Input"]
    assert (dataset["S3DataDistributionType"], dataset["S3CompressionType"], dataset["S3DataType"]) == (
        "ShardedByS3Key",
        "Gzip",
        "ManifestFile",
    )
    config_input = request["ProcessingInputs"][1]["S3Input"]
    assert (config_input["S3DataDistributionType"], config_input["S3CompressionType"]) == (
        "FullyReplicated",
        "None",
    )
    assert [i["InputName"] for i in build(dataset_uri=None)["ProcessingInputs"]] == ["analysis_config"]


def test_stopping_condition_cap_is_seven_days():
    assert build(max_runtime_in_seconds=604_800)["StoppingCondition"] == {"MaxRuntimeInSeconds": 604_800}
    assert build(max_runtime_in_seconds="7200")["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200}
    assert "StoppingCondition" not in build(max_runtime_in_seconds=None)
    with pytest.raises(ClarifyConfigError) as err:
        build(max_runtime_in_seconds=604_801)
    assert err.value.field == "max_runtime_in_seconds"
    assert err.value.value == 604_801
    assert "604800" in str(err.value)
    with pytest.raises(ClarifyConfigError):
        build(max_runtime_in_seconds=0)


def test_tags_as_a_dict_and_network_config_object():
    class SdkNetworkConfig:
        def to_request_dict(self):
            return {"EnableNetworkIsolation": False}

    request = build(tags={"team": "ml", "cost": "42"}, network_config=SdkNetworkConfig())
    assert request["Tags"] == [{"Key": "team", "Value": "ml"}, {"Key": "cost", "Value": "42"}]
    assert request["NetworkConfig"] == {"EnableNetworkIsolation": False}


def test_numeric_strings_from_jinja_are_cast():
    cluster = build(instance_count="2", volume_size_in_gb="100")["ProcessingResources"]["ClusterConfig"]
    assert (cluster["InstanceCount"], cluster["VolumeSizeInGB"]) == (2, 100)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"job_name": "clarify_bias"}, "job_name"),
        ({"job_name": "a" * 64}, "job_name"),
        ({"job_name": "-leading"}, "job_name"),
        ({"role_arn": "ClarifyRole"}, "role_arn"),
        ({"role_arn": "arn:aws:iam::1234:role/x"}, "role_arn"),
        ({"dataset_uri": "/tmp/train.csv"}, "dataset_uri"),
        ({"output_uri": "bucket/prefix"}, "output_uri"),
        ({"output_uri": "s3://b/" + "k" * 1020}, "output_uri"),
        ({"analysis_config_uri": None}, "analysis_config_uri"),
        ({"instance_type": "c5.xlarge"}, "instance_type"),
        ({"instance_count": 0}, "instance_count"),
        ({"instance_count": 101}, "instance_count"),
        ({"instance_count": True}, "instance_count"),
        ({"instance_count": 1.5}, "instance_count"),
        ({"volume_size_in_gb": 16385}, "volume_size_in_gb"),
        ({"volume_kms_key": ""}, "volume_kms_key"),
        ({"region": None}, "region"),
        ({"region": "xx-nowhere-1"}, "region"),
        ({"version": "0.9"}, "version"),
        ({"env": {"1BAD": "x"}}, "env['1BAD']"),
        ({"env": {"N": 3}}, "env['N']"),
        ({"env": ["A=1"]}, "env"),
        ({"env": {f"V{i}": "x" for i in range(101)}}, "env"),
        ({"tags": [{"key": "a", "value": "b"}]}, "tags[0]"),
        ({"tags": {f"t{i}": "v" for i in range(51)}}, "tags"),
        ({"tags": {"": "v"}}, "tags['']"),
        ({"tags": "team=ml"}, "tags"),
        ({"network_config": {"EnableNetworkIsolation": True}}, "network_config.EnableNetworkIsolation"),
        ({"network_config": {"Isolation": False}}, "network_config.Isolation"),
        ({"network_config": {"VpcConfig": {"Subnets": ["s"]}}}, "network_config.VpcConfig"),
        (
            {"network_config": {"VpcConfig": {"SecurityGroupIds": [], "Subnets": ["s"]}}},
            "network_config.VpcConfig.SecurityGroupIds",
        ),
        ({"experiment_config": {"Experiment": "x"}}, "experiment_config.Experiment"),
        ({"experiment_config": {"ExperimentName": "has_underscore"}}, "experiment_config.ExperimentName"),
        ({"s3_data_distribution_type": "Sharded"}, "s3_data_distribution_type"),
        ({"s3_compression_type": "gzip"}, "s3_compression_type"),
        ({"s3_data_type": "S3Object"}, "s3_data_type"),
        ({"dataset_type": ""}, "dataset_type"),
    ],
)
def test_invalid_arguments_name_the_field(overrides, field):
    with pytest.raises(ClarifyConfigError) as err:
        build(**overrides)
    assert err.value.field == field
    assert str(err.value)  # a readable message


def test_no_argument_is_mutated():
    kwargs = copy.deepcopy(REFERENCE_KWARGS)
    processing_job_request(**kwargs)
    assert kwargs == REFERENCE_KWARGS


_TEXT = st.one_of(
    st.none(), st.text(max_size=12), st.integers(-5, 200), st.booleans(), st.lists(st.text(max_size=3))
)


@settings(max_examples=150, deadline=None)
@given(
    job_name=_TEXT,
    instance_count=_TEXT,
    max_runtime=_TEXT,
    env=st.one_of(st.none(), st.dictionaries(st.text(max_size=5), _TEXT, max_size=3)),
    tags=st.one_of(_TEXT, st.dictionaries(st.text(max_size=5), _TEXT, max_size=3)),
    network=st.one_of(
        _TEXT, st.dictionaries(st.sampled_from(["EnableNetworkIsolation", "VpcConfig", "X"]), _TEXT)
    ),
)
def test_fuzzed_arguments_raise_only_clarify_config_error(
    job_name, instance_count, max_runtime, env, tags, network
):
    try:
        request = build(
            job_name=job_name,
            instance_count=instance_count,
            max_runtime_in_seconds=max_runtime,
            env=env,
            tags=tags,
            network_config=network,
        )
    except ClarifyConfigError:
        return
    assert validate_job_name(request["ProcessingJobName"]) == job_name


# --- job names -----------------------------------------------------------------------------------


def test_sdk_default_job_name_bases():
    assert JOB_NAME_BASES == {
        "pre_training_bias": "Clarify-Pretraining-Bias",
        "post_training_bias": "Clarify-Posttraining-Bias",
        "bias": "Clarify-Bias",
        "explainability": "Clarify-Explainability",
        "bias_and_explainability": "Clarify-Bias-And-Explainability",
    }


def test_invalid_prefixes_fail_before_any_call():
    for prefix in ("my_prefix", "a.b"):
        with pytest.raises(ClarifyConfigError) as err:
            stable_job_name(prefix, "dag|task|run|-1")
        assert err.value.field == "job_name_prefix"


def test_each_job_has_its_own_config_location():
    assert job_analysis_config_uri("s3://bkt/out/", "job-1") == "s3://bkt/out/job-1/analysis_config.json"
    assert job_analysis_config_uri("s3://bkt", "job-1-2") == "s3://bkt/job-1-2/analysis_config.json"
    with pytest.raises(ClarifyConfigError):
        job_analysis_config_uri("s3://bkt/out", "bad_name")


def test_job_name_limits():
    assert validate_job_name("a" * 63) == "a" * 63
    assert validate_job_name("a--b") == "a--b"
    for bad in ("a" * 64, "a-", "", "a b", "a_b", 12):
        with pytest.raises(ClarifyConfigError):
            validate_job_name(bad)


def test_stable_job_names_are_deterministic_and_short():
    key = "dag|task|manual__2024-03-01T00:00:00+00:00|-1"
    first = stable_job_name("Clarify-Pretraining-Bias", key)
    assert first == stable_job_name("Clarify-Pretraining-Bias", key)
    assert first != stable_job_name("Clarify-Pretraining-Bias", key + "x")
    assert re.fullmatch(r"Clarify-Pretraining-Bias-[0-9a-f]{12}", first)
    long_name = stable_job_name("p" * 100, key)
    assert len(long_name) == 63
    assert validate_job_name(long_name) == long_name
    assert not stable_job_name("abc-" + "-" * 60, key).startswith("abc--")


# --- analysis config location ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("s3://bkt/clarify/out", "s3://bkt/clarify/out/analysis_config.json"),
        ("s3://bkt/clarify/out/", "s3://bkt/clarify/out/analysis_config.json"),
        ("s3://bkt/clarify//out//", "s3://bkt/clarify/out/analysis_config.json"),
        ("s3://bkt", "s3://bkt/analysis_config.json"),
        ("s3://bkt/", "s3://bkt/analysis_config.json"),
    ],
)
def test_analysis_config_upload_uri_has_no_double_slash(base, expected):
    assert analysis_config_upload_uri(base) == expected
    assert analysis_config_upload_uri(base, "job-1") == expected
    assert "//" not in expected.removeprefix("s3://")


def test_analysis_config_upload_uri_rejects_non_s3():
    with pytest.raises(ClarifyConfigError) as err:
        analysis_config_upload_uri("/local/out", "job-7")
    assert "job-7" in err.value.field


def test_result_uri_from_description():
    description = {
        "ProcessingOutputConfig": {
            "Outputs": [
                {"OutputName": "other", "S3Output": {"S3Uri": "s3://b/other"}},
                {"OutputName": "analysis_result", "S3Output": {"S3Uri": "s3://b/out"}},
            ]
        }
    }
    assert result_uri_from_description(description) == "s3://b/out"
    assert result_uri_from_description({}) is None
    assert result_uri_from_description({"ProcessingOutputConfig": {"Outputs": []}}) is None
