"""Deploy a model to a SageMaker endpoint with online explanations (``ExplainerConfig``) and data capture.

:class:`ClarifyDeployEndpointOperator` ends a training DAG with "deploy with explanations and capture
on": it creates an endpoint config holding the ``ExplainerConfig`` and the ``DataCaptureConfig`` (the
capture Model Monitor reads), then creates the endpoint or points it at the new config. It is
idempotent:

* the endpoint config is named after its content (``<endpoint>-<hash>``), so a retry or re-run finds
  the config it created and does not create another;
* an endpoint already on that config is left alone; an endpoint on another config is updated
  (``UpdateEndpoint``); a missing endpoint is created.

Everything is validated before the first AWS call (names, instance count, the explainer config with
the checks of :mod:`airflow_provider_clarify.analysis.online`, the capture config); a bad value fails
the task at once without retries. docs/online-explainability.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_clarify.analysis.errors import ClarifyConfigError

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["ClarifyDeployEndpointOperator", "EndpointDeploymentFailed"]

#: Endpoint states in which UpdateEndpoint is rejected until the endpoint settles.
_BUSY = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")


class EndpointDeploymentFailed(AirflowException):
    """The endpoint did not reach ``InService`` (carries SageMaker's ``FailureReason``)."""


class ClarifyDeployEndpointOperator(AwsBaseOperator[SageMakerHook]):
    """Create or update a SageMaker endpoint whose config carries ``ExplainerConfig`` and ``DataCaptureConfig``.

    :param endpoint_name: the endpoint to create or update.
    :param model_name: an existing SageMaker model (e.g. from ``SageMakerModelOperator``).
    :param instance_type: hosting instance type (default ``ml.m5.xlarge``).
    :param initial_instance_count: instances (default 1).
    :param variant_name: production variant name (default ``AllTraffic``).
    :param explainer_config: an :class:`~airflow_provider_clarify.analysis.online.ExplainerConfig`, or its
        request dict (e.g. from XCom); templated, including the fields inside the config objects.
    :param data_capture_config: the ``DataCaptureConfig`` request dict (``EnableCapture``,
        ``InitialSamplingPercentage``, ``DestinationS3Uri``, ``CaptureOptions``, ...) or an object with
        ``to_request_dict()`` / ``_to_request_dict()`` (the SDK's ``DataCaptureConfig``).
    :param kms_key_id: KMS key for the endpoint's storage volume.
    :param tags: ``{key: value}`` (or the API list form) for the endpoint config and endpoint.
    :param endpoint_config_name: explicit config name (default: named after the content).
    :param wait_for_completion: wait until the endpoint is ``InService`` (default).
    :param check_interval: seconds between DescribeEndpoint polls.
    :param max_attempts: polls before giving up.
    :return: (XCom) ``{"endpoint_name", "endpoint_config_name", "endpoint_arn", "action"}`` with
        ``action`` one of ``created``, ``updated``, ``unchanged``.
    """

    aws_hook_class = SageMakerHook
    template_fields: Sequence[str] = aws_template_fields(
        "endpoint_name",
        "model_name",
        "instance_type",
        "initial_instance_count",
        "variant_name",
        "explainer_config",
        "data_capture_config",
        "kms_key_id",
        "tags",
        "endpoint_config_name",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"data_capture_config": "json", "tags": "json"}
    ui_color = "#c7e9f1"

    def __init__(
        self,
        *,
        endpoint_name: str,
        model_name: str,
        instance_type: str = "ml.m5.xlarge",
        initial_instance_count: int = 1,
        variant_name: str = "AllTraffic",
        explainer_config: Any = None,
        data_capture_config: Any = None,
        kms_key_id: str | None = None,
        tags: dict[str, str] | list[dict[str, str]] | None = None,
        endpoint_config_name: str | None = None,
        wait_for_completion: bool = True,
        check_interval: int = 30,
        max_attempts: int = 120,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.endpoint_name = endpoint_name
        self.model_name = model_name
        self.instance_type = instance_type
        self.initial_instance_count = initial_instance_count
        self.variant_name = variant_name
        self.explainer_config = explainer_config
        self.data_capture_config = data_capture_config
        self.kms_key_id = kms_key_id
        self.tags = tags
        self.endpoint_config_name = endpoint_config_name
        self.wait_for_completion = wait_for_completion
        self.check_interval = check_interval
        self.max_attempts = max_attempts

    def build_request(self) -> dict[str, Any]:
        """The validated CreateEndpointConfig request (no AWS call); bad input fails without retry."""
        from airflow_provider_clarify.analysis.online.endpoint_config import endpoint_config_request

        try:
            return endpoint_config_request(
                endpoint_name=self.endpoint_name,
                model_name=self.model_name,
                instance_type=self.instance_type,
                initial_instance_count=int(self.initial_instance_count),
                variant_name=self.variant_name,
                explainer_config=self.explainer_config,
                data_capture_config=self.data_capture_config,
                kms_key_id=self.kms_key_id,
                tags=self.tags,
                endpoint_config_name=self.endpoint_config_name,
            )
        except (ClarifyConfigError, ValueError) as err:
            raise AirflowFailException(
                f"Invalid deployment of endpoint {self.endpoint_name!r}: {err}"
            ) from err

    def execute(self, context: Context) -> dict[str, str]:
        from botocore.exceptions import ClientError

        request = self.build_request()
        config_name = request["EndpointConfigName"]
        client = self.hook.conn
        try:
            client.describe_endpoint_config(EndpointConfigName=config_name)
            self.log.info("Endpoint config %s exists already (same content); reusing it.", config_name)
        except ClientError as err:
            if not _not_found(err):
                raise
            client.create_endpoint_config(**request)
            self.log.info("Created endpoint config %s.", config_name)

        endpoint = self._describe(client)
        tags = request.get("Tags")
        if endpoint is None:
            client.create_endpoint(
                EndpointName=self.endpoint_name,
                EndpointConfigName=config_name,
                **({"Tags": tags} if tags else {}),
            )
            action = "created"
        elif endpoint.get("EndpointConfigName") == config_name and endpoint["EndpointStatus"] != "Failed":
            action = "unchanged"
        elif endpoint["EndpointStatus"] == "Failed":
            raise EndpointDeploymentFailed(
                f"Endpoint {self.endpoint_name!r} is Failed ({endpoint.get('FailureReason', 'no reason given')}); "
                "SageMaker cannot update a failed endpoint: delete it, then run this task again."
            )
        else:
            if endpoint["EndpointStatus"] in _BUSY:
                self.log.info(
                    "Endpoint %s is %s; waiting before the update.",
                    self.endpoint_name,
                    endpoint["EndpointStatus"],
                )
                self._wait(client)
            client.update_endpoint(EndpointName=self.endpoint_name, EndpointConfigName=config_name)
            action = "updated"
        self.log.info("Endpoint %s: %s (config %s).", self.endpoint_name, action, config_name)
        # an unchanged endpoint may still be Creating/Updating (e.g. a retry after a timed-out wait)
        if self.wait_for_completion and (action != "unchanged" or endpoint["EndpointStatus"] != "InService"):
            self._wait(client)
        arn = (self._describe(client) or {}).get("EndpointArn", "")
        return {
            "endpoint_name": self.endpoint_name,
            "endpoint_config_name": config_name,
            "endpoint_arn": arn,
            "action": action,
        }

    def _describe(self, client: Any) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return client.describe_endpoint(EndpointName=self.endpoint_name)
        except ClientError as err:
            if _not_found(err):
                return None
            raise

    def _wait(self, client: Any) -> None:
        from botocore.exceptions import WaiterError

        try:
            client.get_waiter("endpoint_in_service").wait(
                EndpointName=self.endpoint_name,
                WaiterConfig={"Delay": self.check_interval, "MaxAttempts": self.max_attempts},
            )
        except WaiterError as err:
            reason = (getattr(err, "last_response", None) or {}).get("FailureReason", str(err))
            raise EndpointDeploymentFailed(
                f"Endpoint {self.endpoint_name!r} did not reach InService: {reason}"
            ) from err


def _not_found(err: Any) -> bool:
    error = err.response.get("Error", {})
    return error.get("Code") in ("ValidationException", "ResourceNotFound") and "Could not find" in error.get(
        "Message", ""
    )
