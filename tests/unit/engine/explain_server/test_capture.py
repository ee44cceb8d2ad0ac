"""Data capture by the open explainer: SageMaker's capture records and file layout, sampling, S3."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime

import pytest

from airflow_provider_clarify.engine.explain_server.capture import CaptureWriter
from airflow_provider_clarify.engine.explain_server.errors import ExplainerConfigError
from tests.unit.engine.explain_server.conftest import explainer_config, invoke, running
from tests.unit.engine.explain_server.test_app import BASELINE_CSV, model


def capture_config(destination, percentage=100, modes=("Input", "Output")) -> dict:
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": percentage,
        "DestinationS3Uri": str(destination),
        "CaptureOptions": [{"CaptureMode": mode} for mode in modes],
        "CaptureContentTypeHeader": {
            "CsvContentTypes": ["text/csv"],
            "JsonContentTypes": ["application/json"],
        },
    }


def test_invocations_are_captured_in_sagemaker_layout(tmp_path):
    config = explainer_config(BASELINE_CSV, probability_index=0)
    with running(model, config, data_capture_config=capture_config(tmp_path), endpoint_name="credit-ep") as (
        _,
        url,
    ):
        first = invoke(url, "1,2,3,4\n", **{"X-Amzn-SageMaker-Inference-Id": "req-1"})
        invoke(url, "4,3,2,1\n")
    files = sorted(tmp_path.rglob("*.jsonl"))  # written when the server stopped
    assert len(files) == 1
    parts = files[0].relative_to(tmp_path).parts
    assert parts[:2] == ("credit-ep", "AllTraffic")
    now = datetime.now(UTC)
    assert parts[2] == f"{now:%Y}"
    assert len(parts) == 7  # endpoint/variant/yyyy/mm/dd/hh/file
    lines = [json.loads(line) for line in files[0].read_text().splitlines()]
    assert len(lines) == 2
    record = lines[0]
    assert list(record) == ["captureData", "eventMetadata", "eventVersion"]
    assert record["eventVersion"] == "0"
    assert record["captureData"]["endpointInput"] == {
        "observedContentType": "text/csv", "mode": "INPUT", "data": "1,2,3,4\n", "encoding": "CSV",
    }  # fmt: skip
    output = record["captureData"]["endpointOutput"]
    assert output["mode"] == "OUTPUT"
    assert output["encoding"] == "JSON"
    assert json.loads(output["data"]) == first.json()
    assert record["eventMetadata"]["inferenceId"] == "req-1"
    assert record["eventMetadata"]["inferenceTime"].endswith("Z")
    assert "inferenceId" not in lines[1]["eventMetadata"]


def test_sampling_modes_and_base64_for_other_types(tmp_path):
    writer = CaptureWriter(
        capture_config(tmp_path, percentage=30, modes=("Input",)), endpoint_name="ep", rng=random.Random(1)
    )
    kept = sum(writer.capture("text/csv", b"1", "application/json", b"{}") for _ in range(1000))
    assert 250 < kept < 350  # 30 % of 1000 with a seeded generator
    writer.capture("application/x-npy", b"\x93NUMPY", "application/json", b"{}")
    writer.percentage = 100
    writer.capture("application/x-npy", b"\x93NUMPY", "application/json", b"{}")
    uri = writer.flush()
    last = json.loads(open(uri).read().splitlines()[-1])
    assert "endpointOutput" not in last["captureData"]
    assert last["captureData"]["endpointInput"]["encoding"] == "BASE64"
    assert base64.b64decode(last["captureData"]["endpointInput"]["data"]) == b"\x93NUMPY"
    assert writer.flush() is None


def test_flush_by_record_count(tmp_path):
    writer = CaptureWriter(capture_config(tmp_path), endpoint_name="ep", flush_records=3)
    moment = datetime(2024, 3, 1, 12, 5, 7, 123000, tzinfo=UTC)
    for _ in range(7):
        writer.capture("text/csv", b"1", "application/json", b"{}", moment=moment)
    assert len(writer.files) == 2
    assert "/ep/AllTraffic/2024/03/01/12/05-07-123-" in writer.files[0]


def test_capture_files_go_to_s3(moto_endpoint, s3_bucket):
    import boto3

    options = {
        "endpoint_url": moto_endpoint, "aws_access_key_id": "testing", "aws_secret_access_key": "testing",
        "region_name": "us-east-1",
    }  # fmt: skip
    writer = CaptureWriter(
        capture_config(f"s3://{s3_bucket}/capture"), endpoint_name="ep", storage_options=options
    )
    writer.capture("text/csv", b"1,2", "application/json", b'{"version": "1.0"}')
    uri = writer.flush()
    key = uri.removeprefix(f"s3://{s3_bucket}/")
    assert key.startswith("capture/ep/AllTraffic/")
    body = boto3.client("s3", **options).get_object(Bucket=s3_bucket, Key=key)["Body"].read()
    assert json.loads(body)["captureData"]["endpointInput"]["data"] == "1,2"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"DestinationS3Uri": ""}, "DestinationS3Uri"),
        ({"InitialSamplingPercentage": 101}, "0-100"),
        ({"CaptureOptions": [{"CaptureMode": "Both"}]}, "CaptureOptions"),
    ],
)
def test_bad_capture_config_is_rejected(tmp_path, change, match):
    with pytest.raises(ExplainerConfigError, match=match):
        CaptureWriter({**capture_config(tmp_path), **change}, endpoint_name="ep")
