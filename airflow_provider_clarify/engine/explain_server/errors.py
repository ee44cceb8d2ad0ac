"""Errors of the open explainer, each mapped to the SageMaker Runtime error it stands for.

``InvokeEndpoint`` reports errors as an ``x-amzn-ErrorType`` header plus a JSON body (the botocore
service model of ``sagemaker-runtime``): ``ValidationError`` (400) for a bad request, ``ModelError``
(424) when the model container failed (with ``OriginalStatusCode`` / ``OriginalMessage``),
``InternalFailure`` (500) otherwise. A boto3 ``sagemaker-runtime`` client pointed at the server
(``endpoint_url``) therefore raises the same exception classes as against SageMaker.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_clarify.engine.errors import EngineConfigError, EngineRuntimeError


class ExplainerConfigError(EngineConfigError):
    """The server's ExplainerConfig / DataCaptureConfig or baseline cannot be used (at start-up)."""


class InvocationError(EngineRuntimeError):
    """An ``InvokeEndpoint`` call failed; carries the runtime error code and HTTP status."""

    error_code = "InternalFailure"
    status = 500

    def body(self) -> dict[str, Any]:
        return {"ErrorCode": self.error_code, "Message": str(self)}


class RequestValidationError(InvocationError):
    """The request is invalid (content type, size, records, EnableExplanations)."""

    error_code = "ValidationError"
    status = 400


class PayloadTooLargeError(RequestValidationError):
    status = 413


class ModelInvocationError(InvocationError):
    """The model container answered an error status, did not answer in time, or could not be reached."""

    error_code = "ModelError"
    status = 424

    def __init__(self, message: str, original_status: int | None = None, original_message: str = "") -> None:
        super().__init__(message)
        self.original_status = original_status
        self.original_message = original_message

    def body(self) -> dict[str, Any]:
        out = super().body()
        if self.original_status is not None:
            out["OriginalStatusCode"] = self.original_status
        out["OriginalMessage"] = self.original_message
        return out


class ModelResponseError(ModelInvocationError):
    """The model answered 2xx but with something the explainer cannot read."""
