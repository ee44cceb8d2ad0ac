"""Calls to the model container (SageMaker hosting contract: ``POST /invocations``).

One :class:`ModelClient` per server: a thread-safe ``urllib3`` connection pool (keep-alive; about a
third of httpx's CPU per request, which matters because one explanation makes several model requests)
and a thread pool that sends the requests of the synthetic dataset concurrently. :class:`SyntheticPredictor` is the predictor the
engine's Kernel SHAP calls (``predict(rows) -> scores``): it splits the rows into requests of at most
``MaxRecordCount`` records and ``MaxPayloadInMB`` bytes, sends them in parallel, and reads the scores.

Every call has a timeout: the model timeout, shortened to what is left of the invocation's deadline.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from airflow_provider_clarify.engine.explain_server.errors import ModelInvocationError, PayloadTooLargeError
from airflow_provider_clarify.engine.model_codec import PredictorError, RequestPlanner

if TYPE_CHECKING:
    from airflow_provider_clarify.engine.explain_server.settings import ExplainerSettings

DEFAULT_MODEL_TIMEOUT = 60.0
DEFAULT_MODEL_CONCURRENCY = 16
OUT_OF_TIME = (
    "The invocation exceeded its time limit while waiting for the model; reduce the baseline rows or "
    "NumberOfSamples, raise MaxRecordCount, or scale the model."
)


@dataclass
class ModelReply:
    content_type: str
    body: bytes


class ModelClient:
    """HTTP client of one model server.

    :param model_url: base URL of the model server (``/invocations`` is appended).
    :param timeout: seconds one model call may take.
    :param concurrency: model requests in flight at once (across all invocations).
    """

    def __init__(
        self,
        model_url: str,
        *,
        timeout: float = DEFAULT_MODEL_TIMEOUT,
        concurrency: int = DEFAULT_MODEL_CONCURRENCY,
    ) -> None:
        import urllib3

        base = model_url.rstrip("/")
        self.url = base + "/invocations"
        self.timeout = timeout
        # non-blocking pool: extra connections beyond maxsize are opened and discarded after use
        self._http = urllib3.connection_from_url(base, maxsize=concurrency * 2, block=False)
        self._path = urllib3.util.parse_url(base).path or ""
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="model-call")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    def invoke(
        self,
        body: bytes,
        content_type: str,
        accept: str,
        *,
        deadline: float | None = None,
        custom_attributes: str | None = None,
    ) -> ModelReply:
        """One ``POST /invocations``; raises :class:`ModelInvocationError` on error status or timeout."""
        from urllib3.exceptions import (
            HTTPError,
            NewConnectionError,
            ProtocolError,
            TimeoutError as UrllibTimeout,
        )

        timeout = self.timeout
        # the invocation's deadline, not the model timeout, limits this call (1 % slack: equal defaults)
        by_deadline = deadline is not None and deadline - time.monotonic() < 0.99 * timeout
        if by_deadline:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                raise ModelInvocationError(OUT_OF_TIME, original_status=408, original_message="timeout")
        headers = {"Content-Type": content_type, "Accept": accept}
        if custom_attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
        try:
            try:
                response = self._post(body, headers, timeout)
            except ProtocolError:  # a kept-alive connection the server had closed: once more, fresh
                response = self._post(body, headers, timeout)
        except NewConnectionError as err:  # (a ConnectTimeoutError subclass in urllib3 2)
            raise ModelInvocationError(f"Cannot reach the model at {self.url}: {err}.") from None
        except UrllibTimeout:
            message = OUT_OF_TIME if by_deadline else f"The model did not answer within {self.timeout:g} s."
            raise ModelInvocationError(message, original_status=408, original_message="timeout") from None
        except (HTTPError, OSError) as err:
            raise ModelInvocationError(f"Cannot reach the model at {self.url}: {err}.") from None
        if response.status >= 300:
            kind = "client" if response.status < 500 else "server"
            text = response.data.decode("utf-8", "replace")[:1000]
            raise ModelInvocationError(
                f'Received {kind} error ({response.status}) from model with message "{text}".',
                original_status=response.status,
                original_message=text,
            )
        return ModelReply(response.headers.get("content-type", ""), response.data)

    def submit(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Run ``fn`` on the model-call pool; returns its future."""
        return self._pool.submit(fn, *args, **kwargs)

    def map(self, fn, items):  # type: ignore[no-untyped-def]
        """``[fn(item) ...]`` run concurrently on the model-call pool (first error is raised)."""
        if len(items) == 1:
            return [fn(items[0])]
        # the caller's thread takes the first item itself: one thread hand-off fewer per invocation
        pending = [self._pool.submit(fn, item) for item in items[1:]]
        try:
            first = fn(items[0])
        except BaseException:
            for future in pending:
                future.cancel()
            raise
        return [first, *(future.result() for future in pending)]

    def _post(self, body: bytes, headers: dict[str, str], timeout: float):  # type: ignore[no-untyped-def]
        return self._http.urlopen(
            "POST", self._path + "/invocations", body=body, headers=headers, timeout=timeout, retries=False
        )

    def ping(self) -> bool:
        from urllib3.exceptions import HTTPError

        try:
            return self._http.urlopen("GET", self._path + "/ping", timeout=5, retries=False).status == 200
        except (HTTPError, OSError):
            return False


class SyntheticScores:
    """What the engine's ``ModelCaller`` reads from a predictor: ``scores`` ``(n, k)``."""

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores
        self.label_headers = None


def _planner(max_records: int | None, max_bytes: int) -> RequestPlanner:
    # each record is sent with its newline: size + 1 bytes, no separator, no framing
    return RequestPlanner(overhead=0, separator=0, max_payload_bytes=max_bytes, max_records=max_records)


def _too_large(err: PredictorError, max_bytes: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"One synthetic record is larger than MaxPayloadInMB ({max_bytes:,} bytes): {err}"
    )


def split_requests(records: list[bytes], max_records: int | None, max_bytes: int) -> list[list[bytes]]:
    """Consecutive groups of records, each within ``max_records`` and ``max_bytes`` (newline-joined)."""
    planner = _planner(max_records, max_bytes)
    try:
        ranges = planner.add([len(r) + 1 for r in records]) + planner.finish()
    except PredictorError as err:
        raise _too_large(err, max_bytes) from None
    return [records[a:b] for a, b in ranges]


#: Rows serialised at a time while earlier requests are already with the model.
PIPELINE_ROWS = 128


class SyntheticPredictor:
    """The predictor Kernel SHAP calls within one invocation (see the module docstring).

    The rows are serialised :data:`PIPELINE_ROWS` at a time and each request is sent as soon as it is
    complete, so the model works on the first requests while the explainer still writes the later
    ones; the requests are exactly those of serialising all rows first (:class:`RequestPlanner`).
    """

    def __init__(
        self, client: ModelClient, settings: ExplainerSettings, accept: str, deadline: float | None
    ) -> None:
        self.client = client
        self.settings = settings
        self.accept = accept
        self.deadline = deadline
        self.requests = 0

    def _call(self, group: list[bytes]) -> np.ndarray:
        settings = self.settings
        reply = self.client.invoke(
            b"\n".join(group) + b"\n", settings.mime_type, self.accept, deadline=self.deadline
        )
        return settings.parser.parse_scores(reply.body, reply.content_type, len(group))

    def predict(self, rows: np.ndarray) -> SyntheticScores:
        settings = self.settings
        planner = _planner(settings.max_record_count, settings.max_payload_bytes)
        encoded: list[bytes] = []
        pending = []
        try:
            for start in range(0, len(rows), PIPELINE_ROWS):
                piece = settings.encoder.encode(rows[start : start + PIPELINE_ROWS])
                encoded.extend(piece)
                try:
                    closed = planner.add([len(r) + 1 for r in piece])
                except PredictorError as err:
                    raise _too_large(err, settings.max_payload_bytes) from None
                pending += [self.client.submit(self._call, encoded[a:b]) for a, b in closed]
            last = [self._call(encoded[a:b]) for a, b in planner.finish()]  # on this thread
        except BaseException:
            for future in pending:
                future.cancel()
            raise
        parts = [future.result() for future in pending] + last
        if not parts:
            return SyntheticScores(np.empty((0, 0)))
        self.requests += len(parts)
        return SyntheticScores(np.concatenate(parts) if len(parts) > 1 else parts[0])
