"""Fixtures of the engine tests: S3 storage options for the moto server, and a model server."""

from __future__ import annotations

import pytest

from tests.support.aws import REGION


@pytest.fixture
def s3_options(moto_endpoint, s3_bucket):
    """storage_options that point the engine's S3 layer at the moto server (bucket created)."""
    return {
        "endpoint_url": moto_endpoint,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "region_name": REGION,
    }


@pytest.fixture
def s3_client(moto_endpoint, s3_bucket):
    import boto3

    return boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
