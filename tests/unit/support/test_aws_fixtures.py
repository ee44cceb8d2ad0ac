"""The fake-AWS fixtures behave as the operator and trigger tests rely on."""

from __future__ import annotations

import boto3

from tests.support.aws import REGION

ROLE = "arn:aws:iam::123456789012:role/clarify"


def _start(client, name):
    client.create_processing_job(
        ProcessingJobName=name,
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
        },
        AppSpecification={
            "ImageUri": "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0"
        },
        RoleArn=ROLE,
    )


def test_scripted_status_steps_through_the_script(aws_conn, moto_endpoint, scripted_status):
    client = boto3.client("sagemaker", endpoint_url=moto_endpoint, region_name=REGION)
    scripted_status("job-a", ["InProgress", "Failed"], failure_reason="ClientError: facet missing")
    _start(client, "job-a")
    first = client.describe_processing_job(ProcessingJobName="job-a")
    second = client.describe_processing_job(ProcessingJobName="job-a")
    third = client.describe_processing_job(ProcessingJobName="job-a")
    assert first["ProcessingJobStatus"] == "InProgress"
    assert second["ProcessingJobStatus"] == "Failed"
    assert second["FailureReason"] == "ClientError: facet missing"
    assert third["ProcessingJobStatus"] == "Failed"
    assert scripted_status.calls["job-a"] == 3


def test_s3_bucket_is_reachable_through_the_server(s3_bucket, moto_endpoint):
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    client.put_object(Bucket=s3_bucket, Key="a/b.json", Body=b"{}")
    assert client.get_object(Bucket=s3_bucket, Key="a/b.json")["Body"].read() == b"{}"
