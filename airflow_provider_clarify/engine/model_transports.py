"""How request bodies reach a model and answers come back: the transports of model calls.

A transport moves bytes only (``invoke(body) -> body``); the formats are the codec's job
(:mod:`airflow_provider_clarify.engine.model_codec`) and :mod:`airflow_provider_clarify.engine.predictors`
composes the two. Two transports exist:

* :class:`HttpTransport`: a server speaking the SageMaker hosting contract, ``POST {url}/invocations``
  (``GET {url}/ping`` for health);
* :class:`SageMakerEndpointTransport`: ``InvokeEndpoint`` of ``sagemaker-runtime`` through boto3.

Both bound the time of one request: each attempt may take ``timeout_seconds`` (connect and read
together) and a transient failure (connection error, time-out, HTTP 429/5xx, throttling) is retried
``retries`` times with exponential back-off, so a hung model fails after at most
:attr:`~airflow_provider_clarify.analysis.model_source.ModelSource.max_seconds_per_request`
instead of hanging the analysis. Other errors fail at once with the model's message.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from airflow_provider_clarify.analysis.model_source import (
    BACKOFF_FACTOR,
    DEFAULT_MODEL_RETRIES,
    DEFAULT_MODEL_TIMEOUT_SECONDS,
    MAX_BACKOFF_SECONDS,
)
from airflow_provider_clarify.engine.model_codec import CSV, PredictorError

#: HTTP statuses worth retrying.
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
#: Longest wait for a TCP connection, whatever the request time-out.
MAX_CONNECT_SECONDS = 10.0

_TUNING_HINT = (
    "Raise the model time-out if the model is slow (local_model={'url': ..., 'timeout_seconds': N}, "
    "ModelSource.http(url, timeout_seconds=N) or the CLI's --model-timeout N)."
)


@runtime_checkable
class Transport(Protocol):
    """Sends one request body to the model and returns the response body."""

    content_type: str
    accept_type: str

    def invoke(self, payload: bytes) -> bytes: ...


class HttpTransport:
    """``POST {url}/invocations`` with pooled connections, bounded time-outs and retries.

    :param url: base URL of the server (``/invocations`` is appended unless already present).
    :param content_type: the request's ``Content-Type``.
    :param accept_type: the request's ``Accept`` (default: ``content_type``).
    :param timeout_seconds: time limit of one attempt (connect + read).
    :param retries: retries of a transient failure.
    :param max_connections: connections kept open (requests in flight at once).
    :param custom_attributes: sent as ``X-Amzn-SageMaker-Custom-Attributes``.
    :param target_model: sent as ``X-Amzn-SageMaker-Target-Model``.
    :param backoff_factor: the n-th retry waits ``backoff_factor * 2 ** (n - 1)`` seconds (capped).
    """

    def __init__(
        self,
        url: str,
        *,
        content_type: str = CSV,
        accept_type: str | None = None,
        timeout_seconds: float = DEFAULT_MODEL_TIMEOUT_SECONDS,
        retries: int = DEFAULT_MODEL_RETRIES,
        max_connections: int = 4,
        custom_attributes: str | None = None,
        target_model: str | None = None,
        backoff_factor: float = BACKOFF_FACTOR,
    ) -> None:
        import urllib3

        base = url.rstrip("/")
        if base.endswith("/invocations"):
            base = base[: -len("/invocations")]
        self.base_url = base
        self.content_type = content_type
        self.accept_type = accept_type or content_type
        self.timeout_seconds = float(timeout_seconds)
        self.retries = int(retries)
        self.retry = urllib3.util.Retry(
            total=self.retries,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            other=0,
            allowed_methods=None,  # POST /invocations is safe to repeat: predictions have no side effects
            status_forcelist=TRANSIENT_STATUS,
            backoff_factor=backoff_factor,
            backoff_max=MAX_BACKOFF_SECONDS,
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        self.http = urllib3.PoolManager(
            num_pools=2,
            maxsize=max(1, int(max_connections)),
            retries=self.retry,
            timeout=urllib3.Timeout(
                total=self.timeout_seconds, connect=min(MAX_CONNECT_SECONDS, self.timeout_seconds)
            ),
        )
        self.headers = {"Content-Type": self.content_type, "Accept": self.accept_type}
        if custom_attributes:
            self.headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
        if target_model:
            self.headers["X-Amzn-SageMaker-Target-Model"] = target_model

    def _request(self, method: str, path: str, body: bytes | None = None) -> Any:
        import urllib3

        url = f"{self.base_url}{path}"
        attempts = self.retries + 1
        try:
            return self.http.request(
                method, url, body=body, headers=self.headers if body is not None else None
            )
        except urllib3.exceptions.MaxRetryError as exc:
            timed_out = isinstance(exc.reason, urllib3.exceptions.TimeoutError) and not isinstance(
                exc.reason,
                urllib3.exceptions.NewConnectionError,  # "connection refused" subclasses it
            )
            if timed_out:
                raise PredictorError(
                    f"Model server {url} did not answer within {self.timeout_seconds:g} s, {attempts} "
                    f"attempt(s). {_TUNING_HINT}"
                ) from exc
            raise PredictorError(
                f"Model server {url} is unreachable after {attempts} attempt(s): {exc.reason}. Check that "
                "it runs and that the URL is right."
            ) from exc
        except urllib3.exceptions.TimeoutError as exc:
            raise PredictorError(
                f"Model server {url} did not answer within {self.timeout_seconds:g} s. {_TUNING_HINT}"
            ) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise PredictorError(f"Request to model server {url} failed: {exc}") from exc

    def ping(self) -> bool:
        """``GET /ping``: True when the server answers 200."""
        return self._request("GET", "/ping").status == 200

    def invoke(self, payload: bytes) -> bytes:
        response = self._request("POST", "/invocations", payload)
        if response.status != 200:
            detail = response.data[:500].decode("utf-8", errors="replace")
            kind = (
                "a transient error (retries exhausted)" if response.status in TRANSIENT_STATUS else "an error"
            )
            raise PredictorError(
                f"Model server {self.base_url}/invocations answered HTTP {response.status}, {kind}: {detail}"
            )
        return response.data


class SageMakerEndpointTransport:
    """``InvokeEndpoint`` on an existing SageMaker endpoint (boto3 ``sagemaker-runtime``).

    Throttling and transient errors are retried by botocore's ``standard`` retry mode.

    :param endpoint_name: the endpoint.
    :param client: a ``sagemaker-runtime`` client to use (default: a new one, built with the
        time-outs and retries below).
    :param endpoint_url: AWS endpoint URL for a new client (e.g. a local stand-in).
    :param region_name: region for a new client; credentials come from the ``aws_*`` keys or the
        environment.
    Other parameters as :class:`HttpTransport`.
    """

    def __init__(
        self,
        endpoint_name: str,
        *,
        content_type: str = CSV,
        accept_type: str | None = None,
        timeout_seconds: float = DEFAULT_MODEL_TIMEOUT_SECONDS,
        retries: int = DEFAULT_MODEL_RETRIES,
        client: Any = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        max_connections: int = 4,
        custom_attributes: str | None = None,
        target_model: str | None = None,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.content_type = content_type
        self.accept_type = accept_type or content_type
        self.timeout_seconds = float(timeout_seconds)
        self.custom_attributes = custom_attributes
        self.target_model = target_model
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "sagemaker-runtime",
                endpoint_url=endpoint_url,
                region_name=region_name,
                aws_access_key_id=aws_access_key_id,
                aws_secret_access_key=aws_secret_access_key,
                aws_session_token=aws_session_token,
                config=Config(
                    retries={"mode": "standard", "total_max_attempts": int(retries) + 1},
                    connect_timeout=min(MAX_CONNECT_SECONDS, self.timeout_seconds),
                    read_timeout=self.timeout_seconds,
                    max_pool_connections=max(1, int(max_connections)),
                ),
            )
        self.client = client

    def invoke(self, payload: bytes) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

        kwargs: dict[str, Any] = {
            "EndpointName": self.endpoint_name,
            "Body": payload,
            "ContentType": self.content_type,
            "Accept": self.accept_type,
        }
        if self.custom_attributes:
            kwargs["CustomAttributes"] = self.custom_attributes
        if self.target_model:
            kwargs["TargetModel"] = self.target_model
        try:
            response = self.client.invoke_endpoint(**kwargs)
        except ReadTimeoutError as exc:
            raise PredictorError(
                f"SageMaker endpoint {self.endpoint_name!r} did not answer within {self.timeout_seconds:g} s. "
                + _TUNING_HINT.replace("'url'", "'endpoint_name'")
            ) from exc
        except (ClientError, BotoCoreError) as exc:
            raise PredictorError(f"InvokeEndpoint on endpoint {self.endpoint_name!r} failed: {exc}") from exc
        body = response["Body"]
        return body.read() if hasattr(body, "read") else body


__all__ = ["HttpTransport", "SageMakerEndpointTransport", "Transport"]
