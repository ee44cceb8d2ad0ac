"""Start a Clarify processing job on the fake AWS, for tests that wait for one (sensor, trigger)."""

from __future__ import annotations

from airflow_provider_clarify.analysis.processing_job import processing_job_request
from airflow_provider_clarify.hooks.clarify import ClarifyHook
from tests.support.aws import BUCKET, REGION

ROLE = "arn:aws:iam::123456789012:role/ClarifyRole"


def start_job(name: str, bucket: str = BUCKET) -> str:
    """Start processing job ``name`` through :class:`ClarifyHook`; return its ``analysis_result`` URI."""
    output = f"s3://{bucket}/clarify/{name}"
    ClarifyHook().start_processing_job(
        processing_job_request(
            job_name=name,
            role_arn=ROLE,
            analysis_config_uri=f"{output}/analysis_config.json",
            dataset_uri=f"s3://{bucket}/data/train.csv",
            output_uri=output,
            instance_type="ml.c5.xlarge",
            region=REGION,
        )
    )
    return output
