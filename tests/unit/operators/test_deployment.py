"""ClarifyDeployEndpointOperator against botocore's Stubber with the real SageMaker service model.

moto keeps no ExplainerConfig and has no UpdateEndpoint, so the SageMaker calls are stubbed; the
Stubber checks every request against the service model (names, types, required members) and the
exact parameters the tests expect.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from botocore.stub import Stubber

from airflow_provider_clarify.analysis.online import (
    ClarifyExplainerConfig,
    ClarifyShapBaselineConfig,
    ClarifyShapConfig,
    ExplainerConfig,
)
from airflow_provider_clarify.analysis.online.endpoint_config import endpoint_config_request
from airflow_provider_clarify.operators.deployment import (
    ClarifyDeployEndpointOperator,
    EndpointDeploymentFailed,
)
from tests.support.paths import TEST_DATA

SDK_CASE = json.loads((TEST_DATA / "explainer" / "sdk_request_dicts.json").read_text())[0]
CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 20,
    "DestinationS3Uri": "s3://bucket/capture",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
}
ARN = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/credit"
CONFIG_ARN = "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/credit"
NOT_FOUND = "Could not find endpoint"


def operator(**kwargs) -> ClarifyDeployEndpointOperator:
    settings = {
        "task_id": "deploy", "endpoint_name": "credit", "model_name": "credit-model",
        "explainer_config": SDK_CASE["expected"], "data_capture_config": CAPTURE, "check_interval": 0,
        "tags": {"team": "risk"},
    }  # fmt: skip
    return ClarifyDeployEndpointOperator(**{**settings, **kwargs})


def endpoint(status: str, config: str, **extra) -> dict:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    return {
        "EndpointName": "credit", "EndpointArn": ARN, "EndpointConfigName": config, "EndpointStatus": status,
        "CreationTime": now, "LastModifiedTime": now, **extra,
    }  # fmt: skip


def expected_request() -> dict:
    return endpoint_config_request(
        endpoint_name="credit", model_name="credit-model", instance_type="ml.m5.xlarge",
        explainer_config=SDK_CASE["expected"], data_capture_config=CAPTURE, tags={"team": "risk"},
    )  # fmt: skip


def test_the_request_carries_the_sdk_explainer_dict_and_capture():
    request = expected_request()
    assert request["ExplainerConfig"] == SDK_CASE["expected"]
    assert request["DataCaptureConfig"] == CAPTURE
    assert request["ProductionVariants"] == [
        {"VariantName": "AllTraffic", "ModelName": "credit-model", "InitialInstanceCount": 1, "InstanceType": "ml.m5.xlarge"}
    ]  # fmt: skip
    assert request["EndpointConfigName"].startswith("credit-")
    assert expected_request()["EndpointConfigName"] == request["EndpointConfigName"]  # content-named
    other = endpoint_config_request(
        endpoint_name="credit", model_name="credit-model-2", instance_type="ml.m5.xlarge"
    )
    assert other["EndpointConfigName"] != request["EndpointConfigName"]


def test_creates_config_and_endpoint_then_waits(aws_conn):
    op = operator()
    request = expected_request()
    name = request["EndpointConfigName"]
    with Stubber(op.hook.conn) as stub:
        stub.add_client_error(
            "describe_endpoint_config", "ValidationException", "Could not find endpoint configuration"
        )
        stub.add_response("create_endpoint_config", {"EndpointConfigArn": CONFIG_ARN}, request)
        stub.add_client_error("describe_endpoint", "ValidationException", NOT_FOUND)
        stub.add_response(
            "create_endpoint", {"EndpointArn": ARN},
            {"EndpointName": "credit", "EndpointConfigName": name, "Tags": [{"Key": "team", "Value": "risk"}]},
        )  # fmt: skip
        stub.add_response("describe_endpoint", endpoint("Creating", name))
        stub.add_response("describe_endpoint", endpoint("InService", name))
        stub.add_response("describe_endpoint", endpoint("InService", name))
        result = op.execute({})
        stub.assert_no_pending_responses()
    assert result == {
        "endpoint_name": "credit",
        "endpoint_config_name": name,
        "endpoint_arn": ARN,
        "action": "created",
    }


def test_a_rerun_changes_nothing(aws_conn):
    op = operator()
    name = expected_request()["EndpointConfigName"]
    with Stubber(op.hook.conn) as stub:
        stub.add_response(
            "describe_endpoint_config",
            {"EndpointConfigName": name, "EndpointConfigArn": CONFIG_ARN,
             "ProductionVariants": expected_request()["ProductionVariants"],
             "CreationTime": datetime(2024, 1, 1, tzinfo=UTC)},
            {"EndpointConfigName": name},
        )  # fmt: skip
        stub.add_response("describe_endpoint", endpoint("InService", name), {"EndpointName": "credit"})
        stub.add_response("describe_endpoint", endpoint("InService", name))
        assert op.execute({})["action"] == "unchanged"
        stub.assert_no_pending_responses()


def test_a_retry_waits_for_an_endpoint_still_creating_on_its_config(aws_conn):
    op = operator()
    name = expected_request()["EndpointConfigName"]
    with Stubber(op.hook.conn) as stub:
        stub.add_client_error(
            "describe_endpoint_config", "ValidationException", "Could not find endpoint configuration"
        )
        stub.add_response("create_endpoint_config", {"EndpointConfigArn": CONFIG_ARN})
        stub.add_response("describe_endpoint", endpoint("Creating", name))
        stub.add_response("describe_endpoint", endpoint("InService", name))  # the waiter
        stub.add_response("describe_endpoint", endpoint("InService", name))
        assert op.execute({})["action"] == "unchanged"
        stub.assert_no_pending_responses()


def test_an_endpoint_on_another_config_is_updated_after_it_settles(aws_conn):
    op = operator()
    request = expected_request()
    name = request["EndpointConfigName"]
    with Stubber(op.hook.conn) as stub:
        stub.add_client_error(
            "describe_endpoint_config", "ValidationException", "Could not find endpoint configuration"
        )
        stub.add_response("create_endpoint_config", {"EndpointConfigArn": CONFIG_ARN}, request)
        stub.add_response("describe_endpoint", endpoint("Updating", "credit-old"))
        stub.add_response("describe_endpoint", endpoint("InService", "credit-old"))  # waiter before update
        stub.add_response(
            "update_endpoint", {"EndpointArn": ARN}, {"EndpointName": "credit", "EndpointConfigName": name}
        )
        stub.add_response("describe_endpoint", endpoint("InService", name))
        stub.add_response("describe_endpoint", endpoint("InService", name))
        assert op.execute({})["action"] == "updated"
        stub.assert_no_pending_responses()


def test_failed_endpoints_fail_clearly(aws_conn):
    op = operator()
    name = expected_request()["EndpointConfigName"]
    with Stubber(op.hook.conn) as stub:
        stub.add_client_error(
            "describe_endpoint_config", "ValidationException", "Could not find endpoint configuration"
        )
        stub.add_response("create_endpoint_config", {"EndpointConfigArn": CONFIG_ARN})
        stub.add_response("describe_endpoint", endpoint("Failed", "credit-old", FailureReason="bad image"))
        with pytest.raises(EndpointDeploymentFailed, match="bad image.*delete it"):
            op.execute({})
    op = operator()
    with Stubber(op.hook.conn) as stub:
        stub.add_client_error(
            "describe_endpoint_config", "ValidationException", "Could not find endpoint configuration"
        )
        stub.add_response("create_endpoint_config", {"EndpointConfigArn": CONFIG_ARN})
        stub.add_client_error("describe_endpoint", "ValidationException", NOT_FOUND)
        stub.add_response("create_endpoint", {"EndpointArn": ARN})
        stub.add_response(
            "describe_endpoint", endpoint("Failed", name, FailureReason="explainer baseline unreadable")
        )
        with pytest.raises(EndpointDeploymentFailed, match="explainer baseline unreadable"):
            op.execute({})


def test_other_aws_errors_are_raised(aws_conn):
    op = operator()
    with Stubber(op.hook.conn) as stub:
        stub.add_client_error("describe_endpoint_config", "AccessDeniedException", "no")
        with pytest.raises(Exception, match="AccessDenied"):
            op.execute({})


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"explainer_config": {"ClarifyExplainerConfig": {"ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": "1"}},
                                                          "EnableExplanations": "score > 0.5"}}}, "not valid JMESPath"),
        ({"explainer_config": ExplainerConfig(ClarifyExplainerConfig(ClarifyShapConfig(
            ClarifyShapBaselineConfig(shap_baseline="{{ params.baseline }}"))))}, "4,096"),
        ({"data_capture_config": {**CAPTURE, "InitialSamplingPercentage": 120}}, "InitialSamplingPercentage"),
        ({"data_capture_config": {**CAPTURE, "CaptureOptions": []}}, "CaptureOptions"),
        ({"data_capture_config": {**CAPTURE, "DestinationS3Uri": "/tmp/x"}}, "DestinationS3Uri"),
        ({"data_capture_config": {**CAPTURE, "Capture": True}}, "unknown key"),
        ({"endpoint_name": "credit_endpoint"}, "endpoint_name"),
        ({"initial_instance_count": 0}, "initial_instance_count"),
        ({"instance_type": "m5.large"}, "instance_type"),
    ],
)  # fmt: skip
def test_invalid_input_fails_before_any_aws_call(aws_conn, change, match):
    op = operator(**change)
    op.render_template_fields({"params": {"baseline": "1," * 3000}})
    with Stubber(op.hook.conn):  # no responses queued: any AWS call would raise
        with pytest.raises(AirflowFailException, match=match):
            op.execute({})


def test_sdk_style_capture_objects_are_accepted():
    class DataCaptureConfig:  # the SDK's interface: _to_request_dict()
        def _to_request_dict(self):
            return CAPTURE

    request = endpoint_config_request(
        endpoint_name="credit",
        model_name="m",
        instance_type="ml.m5.xlarge",
        data_capture_config=DataCaptureConfig(),
    )
    assert request["DataCaptureConfig"] == CAPTURE
    assert "ExplainerConfig" not in request
