"""The ``CreateEndpointConfig`` request of a deployment with explanations and data capture (pure).

:func:`endpoint_config_request` validates everything the API would reject (names, instance count,
``ExplainerConfig``, ``DataCaptureConfig``) and names the config after its content
(``<endpoint>-<12 hex of the request's SHA-256>``), so deploying the same thing twice reuses the same
endpoint config and an endpoint already on it is left alone.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.online.explainer_config import ExplainerConfig

#: SageMaker's pattern for endpoint, endpoint-config, model and variant names.
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
CAPTURE_MODES = ("Input", "Output")
CAPTURE_KEYS = (
    "EnableCapture",
    "InitialSamplingPercentage",
    "DestinationS3Uri",
    "KmsKeyId",
    "CaptureOptions",
    "CaptureContentTypeHeader",
)


def check_name(field: str, value: Any) -> None:
    if not isinstance(value, str) or not NAME_PATTERN.match(value):
        raise ClarifyConfigError.invalid(
            field, value, "1-63 letters, digits and hyphens, starting and ending with a letter or digit"
        )


def as_request_dict(value: Any, field: str) -> dict[str, Any] | None:
    """A config object (``to_request_dict()`` / the SDK's ``_to_request_dict()``) or a dict, as a dict."""
    if value is None:
        return None
    for method in ("to_request_dict", "_to_request_dict"):
        if hasattr(value, method):
            value = getattr(value, method)()
            break
    if not isinstance(value, dict):
        raise ClarifyConfigError.invalid(field, value, "an object with to_request_dict() or a request dict")
    return value


def explainer_request(explainer_config: Any) -> dict[str, Any] | None:
    """``ExplainerConfig`` request dict, validated (objects and plain dicts alike)."""
    if explainer_config is None:
        return None
    if isinstance(explainer_config, ExplainerConfig):
        return explainer_config.to_request_dict()
    request = as_request_dict(explainer_config, "explainer_config")
    return ExplainerConfig.from_request_dict(request).to_request_dict()


def check_data_capture(config: dict[str, Any]) -> None:
    """What ``CreateEndpointConfig`` would reject in a ``DataCaptureConfig``."""
    unknown = [key for key in config if key not in CAPTURE_KEYS]
    if unknown:
        raise ClarifyConfigError(
            f"DataCaptureConfig has unknown key(s) {unknown}; accepted: {', '.join(CAPTURE_KEYS)}.",
            field=f"DataCaptureConfig.{unknown[0]}",
            value=config[unknown[0]],
            accepted=", ".join(CAPTURE_KEYS),
        )
    percentage = config.get("InitialSamplingPercentage")
    if not isinstance(percentage, int) or isinstance(percentage, bool) or not 0 <= percentage <= 100:
        raise ClarifyConfigError.invalid(
            "DataCaptureConfig.InitialSamplingPercentage", percentage, "an integer from 0 to 100 (required)"
        )
    destination = config.get("DestinationS3Uri")
    if (
        not isinstance(destination, str)
        or not destination.startswith(("s3://", "https://"))
        or len(destination) > 512
    ):
        raise ClarifyConfigError.invalid(
            "DataCaptureConfig.DestinationS3Uri",
            destination,
            "an s3:// URI of at most 512 characters (required)",
        )
    options = config.get("CaptureOptions")
    modes = [o.get("CaptureMode") if isinstance(o, dict) else o for o in options or []]
    if not modes or len(modes) > 2 or any(mode not in CAPTURE_MODES for mode in modes):
        raise ClarifyConfigError.invalid(
            "DataCaptureConfig.CaptureOptions",
            options,
            "[{'CaptureMode': 'Input'}, {'CaptureMode': 'Output'}] (one or both; required)",
        )
    header = config.get("CaptureContentTypeHeader")
    if header is not None:
        if not isinstance(header, dict) or set(header) - {"CsvContentTypes", "JsonContentTypes"}:
            raise ClarifyConfigError.invalid(
                "DataCaptureConfig.CaptureContentTypeHeader",
                header,
                "{'CsvContentTypes': [...], 'JsonContentTypes': [...]}",
            )
        for key, types in header.items():
            if not isinstance(types, list) or not 1 <= len(types) <= 10:
                raise ClarifyConfigError.invalid(
                    f"DataCaptureConfig.CaptureContentTypeHeader.{key}", types, "a list of 1-10 MIME types"
                )


def endpoint_config_request(
    *,
    endpoint_name: str,
    model_name: str,
    instance_type: str,
    initial_instance_count: int = 1,
    variant_name: str = "AllTraffic",
    explainer_config: Any = None,
    data_capture_config: Any = None,
    kms_key_id: str | None = None,
    tags: dict[str, str] | list[dict[str, str]] | None = None,
    endpoint_config_name: str | None = None,
) -> dict[str, Any]:
    """The validated ``CreateEndpointConfig`` request (see the module docstring for the name)."""
    check_name("endpoint_name", endpoint_name)
    check_name("model_name", model_name)
    check_name("variant_name", variant_name)
    if not isinstance(instance_type, str) or not instance_type.startswith("ml."):
        raise ClarifyConfigError.invalid(
            "instance_type", instance_type, "an ml.* instance type, e.g. ml.m5.xlarge"
        )
    count = initial_instance_count
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ClarifyConfigError.invalid("initial_instance_count", count, "an integer >= 1")
    request: dict[str, Any] = {
        "EndpointConfigName": "",
        "ProductionVariants": [
            {
                "VariantName": variant_name,
                "ModelName": model_name,
                "InitialInstanceCount": count,
                "InstanceType": instance_type,
            }
        ],
    }
    capture = as_request_dict(data_capture_config, "data_capture_config")
    if capture is not None:
        check_data_capture(capture)
        request["DataCaptureConfig"] = capture
    if kms_key_id:
        request["KmsKeyId"] = kms_key_id
    explainer = explainer_request(explainer_config)
    if explainer:
        request["ExplainerConfig"] = explainer
    if tags:
        pairs = [{"Key": k, "Value": v} for k, v in tags.items()] if isinstance(tags, dict) else list(tags)
        request["Tags"] = pairs
    if endpoint_config_name is None:
        digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:12]
        endpoint_config_name = f"{endpoint_name[:50].rstrip('-')}-{digest}"
    check_name("endpoint_config_name", endpoint_config_name)
    request["EndpointConfigName"] = endpoint_config_name
    return request


__all__ = ["check_data_capture", "endpoint_config_request", "explainer_request"]
