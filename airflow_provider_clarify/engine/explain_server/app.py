"""The open explainer as an ASGI app: a SageMaker endpoint with ``ExplainerConfig``, in front of any model.

Routes:

* ``POST /invocations`` (the hosting contract) and ``POST /endpoints/{name}/invocations`` (the
  SageMaker Runtime ``InvokeEndpoint`` path, so a boto3 ``sagemaker-runtime`` client with
  ``endpoint_url`` works unchanged);
* ``GET /ping``: 200 when the model server answers its own ``/ping``.

An invocation: the request (``Content-Type`` and ``Accept``: ``text/csv`` or ``application/jsonlines``;
body at most 6 MB) is forwarded to the model as is; each record's output is tested with
``EnableExplanations`` (the ``X-Amzn-SageMaker-Enable-Explanations`` header overrides the configured
expression); the selected records are explained with Kernel SHAP; the answer is the explainer's JSON
document (``application/json``)::

    {"version": "1.0",
     "predictions": {"content_type": "<model's type>", "data": "<model's answer>"},
     "label_headers": [...],                       # LabelHeaders, else read from the model output
     "explanations": {"kernel_shap": [[{"feature_header": "age", "feature_type": "numerical",
                                        "attributions": [{"attribution": [0.12]}]}, ...],
                                      null, ...]}}  # null: record not selected; {} if none was

Text features give one attribution per unit, with ``description: {"partial_text", "start_idx"}``, in
text order. Errors follow the SageMaker Runtime (:mod:`.errors`). Work that blocks (model calls,
SHAP) runs in worker threads, so invocations are served concurrently.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from airflow_provider_clarify.engine.explain_server.codec import (
    MIME_TYPES,
    base_type,
    parse_records,
    to_matrix,
)
from airflow_provider_clarify.engine.explain_server.errors import (
    InvocationError,
    PayloadTooLargeError,
    RequestValidationError,
)
from airflow_provider_clarify.engine.explain_server.model_client import (
    DEFAULT_MODEL_CONCURRENCY,
    DEFAULT_MODEL_TIMEOUT,
    ModelClient,
    SyntheticPredictor,
)
from airflow_provider_clarify.engine.explain_server.settings import ExplainerSettings, load_settings

log = logging.getLogger(__name__)

#: InvokeEndpoint's body limit.
MAX_REQUEST_BYTES = 6 * 1024 * 1024
#: InvokeEndpoint's time limit for one invocation (seconds).
DEFAULT_INVOCATION_TIMEOUT = 60.0
ENABLE_HEADER = "x-amzn-sagemaker-enable-explanations"
VARIANT_HEADER = "x-Amzn-Invoked-Production-Variant"


class Explainer:
    """The invocation logic, independent of the web framework (one per server)."""

    def __init__(
        self,
        settings: ExplainerSettings,
        client: ModelClient,
        *,
        invocation_timeout: float = DEFAULT_INVOCATION_TIMEOUT,
        capture: Any = None,
    ) -> None:
        import jmespath

        self.settings = settings
        self.client = client
        self.invocation_timeout = invocation_timeout
        self.capture = capture
        self._default_rule = (
            jmespath.compile(settings.enable_explanations) if settings.enable_explanations else None
        )

    def _rule(self, header: str | None) -> Any:
        if header is None:
            return self._default_rule
        import jmespath
        from jmespath.exceptions import JMESPathError

        if not 1 <= len(header) <= 64:
            raise RequestValidationError(
                f"X-Amzn-SageMaker-Enable-Explanations has {len(header)} characters; it must have 1-64."
            )
        try:
            return jmespath.compile(header)
        except JMESPathError as err:
            raise RequestValidationError(
                f"X-Amzn-SageMaker-Enable-Explanations {header!r} is not a valid JMESPath expression "
                f"({' '.join(str(err).split())}); literals need back-ticks, e.g. `true`."
            ) from None

    def invoke(
        self,
        body: bytes,
        content_type: str | None,
        accept: str | None,
        *,
        enable_explanations: str | None = None,
        custom_attributes: str | None = None,
    ) -> bytes:
        """Answer one invocation; raises an :class:`InvocationError` subclass on failure."""
        deadline = time.monotonic() + self.invocation_timeout
        settings = self.settings
        if len(body) > MAX_REQUEST_BYTES:
            raise PayloadTooLargeError(
                f"The request body has {len(body):,} bytes; InvokeEndpoint accepts at most {MAX_REQUEST_BYTES:,}."
            )
        kind = base_type(content_type)
        answer_kind = base_type(accept)
        if answer_kind in ("", "*/*"):  # no preference: the model answers in the request's type
            answer_kind, accept = kind, None
        for name, value in (("ContentType", kind), ("Accept", answer_kind)):
            if value not in MIME_TYPES:
                raise RequestValidationError(
                    f"{name} {value or None!r} is not supported by the explainer; use text/csv or "
                    "application/jsonlines."
                )
        rule = self._rule(enable_explanations)
        rows = parse_records(body, kind, settings.features_attribute)
        if not rows:
            raise RequestValidationError("The request has no records.")
        records = to_matrix(rows, settings.num_features, "Record")
        if settings.text_columns:
            records = records.astype(object)

        def forward() -> Any:
            return self.client.invoke(
                body,
                content_type or kind,
                accept or kind,
                deadline=deadline,
                custom_attributes=custom_attributes,
            )

        explained = None
        if rule is None:  # every record is explained: no need to wait for the predictions first
            pending = self.client.submit(forward)
            try:
                explained = self._explain(records, answer_kind, deadline)
            finally:
                reply = pending.result()
        else:
            reply = forward()
        outputs = settings.parser.values(reply.body, reply.content_type, len(rows))
        selected = [i for i, value in enumerate(outputs) if self._selected(rule, value, i)]
        label_headers = settings.label_headers or (settings.parser.labels_of(outputs[0]) if outputs else None)

        document: dict[str, Any] = {
            "version": "1.0",
            "predictions": {
                "content_type": reply.content_type,
                "data": reply.body.decode("utf-8", "replace"),
            },
        }
        if label_headers:
            document["label_headers"] = label_headers
        document["explanations"] = {}
        if selected:
            if explained is None:
                explained = self._explain(records[selected], answer_kind, deadline)
            per_record: list[Any] = [None] * len(rows)
            for i, explanation in zip(selected, explained):
                per_record[i] = explanation
            document["explanations"] = {"kernel_shap": per_record}
        return json.dumps(document).encode()

    @staticmethod
    def _selected(rule: Any, value: Any, index: int) -> bool:
        if rule is None:
            return True
        result = rule.search(value)
        if not isinstance(result, bool):
            raise RequestValidationError(
                f"EnableExplanations {rule.expression!r} gave {result!r} (not true/false) for record {index} "
                f"whose model output is {value!r}; write a boolean expression such as [0]>`0.5`."
            )
        return result

    def _explain(self, records: Any, accept: str, deadline: float) -> list[list[dict]]:
        from airflow_provider_clarify.engine.explain.model_calls import ModelCaller
        from airflow_provider_clarify.engine.explain_server.shap import explain_records

        settings = self.settings
        caller = ModelCaller(SyntheticPredictor(self.client, settings, accept, deadline))
        explanations = explain_records(
            records,
            settings.baseline,
            caller,
            num_samples=settings.num_samples,
            seed=settings.seed,
            use_logit=settings.use_logit,
            granularity=settings.granularity,
            text_columns=settings.text_columns,
        )
        return [self._features_document(e) for e in explanations]

    def _features_document(self, explanation: Any) -> list[dict]:
        settings = self.settings
        out = []
        for j in range(settings.num_features):
            entry: dict[str, Any] = {}
            if settings.feature_headers:
                entry["feature_header"] = settings.feature_headers[j]
            if settings.feature_types:
                entry["feature_type"] = settings.feature_types[j]
            elif j in explanation.text:
                entry["feature_type"] = "text"
            if j in explanation.text:
                entry["attributions"] = [
                    {
                        "attribution": unit.values.tolist(),
                        "description": {"partial_text": unit.text, "start_idx": unit.start},
                    }
                    for unit in explanation.text[j]
                ]
            else:
                entry["attributions"] = [{"attribution": explanation.tabular[j].tolist()}]
            out.append(entry)
        return out


def _error_response(err: InvocationError) -> Response:
    return JSONResponse(err.body(), status_code=err.status, headers={"x-amzn-ErrorType": err.error_code})


def create_app(
    explainer_config: dict | str,
    model_url: str,
    *,
    data_capture_config: dict | None = None,
    endpoint_name: str = "open-explainer",
    variant_name: str = "AllTraffic",
    model_timeout: float = DEFAULT_MODEL_TIMEOUT,
    invocation_timeout: float = DEFAULT_INVOCATION_TIMEOUT,
    model_concurrency: int = DEFAULT_MODEL_CONCURRENCY,
    max_concurrent_invocations: int = 64,
    storage_options: dict | None = None,
) -> Starlette:
    """The ASGI app (serve it with uvicorn, or ``python -m airflow_provider_clarify.engine explain-server``).

    :param explainer_config: the ``ExplainerConfig`` request dict (or its JSON), exactly as sent to
        ``CreateEndpointConfig`` (``{"ClarifyExplainerConfig": {...}}`` or the inner object).
    :param model_url: base URL of the model server (SageMaker hosting contract).
    :param data_capture_config: the ``DataCaptureConfig`` request dict; captures go to its
        ``DestinationS3Uri`` (``s3://`` or, for local runs, a path).
    :param model_timeout: seconds one model call may take.
    :param invocation_timeout: seconds one invocation may take in all (SageMaker: 60).
    :param model_concurrency: model requests in flight at once.
    :param max_concurrent_invocations: invocations processed at once (others wait).
    :raises ExplainerConfigError: invalid config or unreadable baseline (at start-up, not per call).
    """
    settings = load_settings(explainer_config, storage_options=storage_options)
    client = ModelClient(model_url, timeout=model_timeout, concurrency=model_concurrency)
    capture = None
    if data_capture_config:
        from airflow_provider_clarify.engine.explain_server.capture import CaptureWriter

        capture = CaptureWriter(
            data_capture_config,
            endpoint_name=endpoint_name,
            variant_name=variant_name,
            storage_options=storage_options,
        )
    explainer = Explainer(settings, client, invocation_timeout=invocation_timeout, capture=capture)
    limiter = anyio.CapacityLimiter(max_concurrent_invocations)

    async def invocations(request: Request) -> Response:
        headers = request.headers
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
            return _error_response(
                PayloadTooLargeError(
                    f"The request body has {int(declared):,} bytes; InvokeEndpoint accepts at most "
                    f"{MAX_REQUEST_BYTES:,}."
                )
            )
        body = await request.body()
        try:
            payload = await anyio.to_thread.run_sync(
                lambda: explainer.invoke(
                    body,
                    headers.get("content-type"),
                    headers.get("accept"),
                    enable_explanations=headers.get(ENABLE_HEADER),
                    custom_attributes=headers.get("x-amzn-sagemaker-custom-attributes"),
                ),
                limiter=limiter,
            )
        except InvocationError as err:
            log.info("invocation failed: %s: %s", err.error_code, err)
            return _error_response(err)
        except Exception as err:  # a bug must not take the server down: answer InternalFailure
            log.exception("invocation failed")
            failure = InvocationError(f"The explainer failed: {type(err).__name__}: {err}")
            return _error_response(failure)
        if capture is not None:
            inference_id = headers.get("x-amzn-sagemaker-inference-id")
            await anyio.to_thread.run_sync(
                lambda: capture.capture(
                    headers.get("content-type", ""),
                    body,
                    "application/json",
                    payload,
                    inference_id=inference_id,
                )
            )
        return Response(payload, media_type="application/json", headers={VARIANT_HEADER: variant_name})

    async def ping(request: Request) -> Response:
        healthy = await anyio.to_thread.run_sync(client.ping)
        return Response(b"", status_code=200 if healthy else 503)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if capture is not None:
                await anyio.to_thread.run_sync(capture.flush)
            client.close()

    app = Starlette(
        routes=[
            Route("/invocations", invocations, methods=["POST"]),
            Route("/endpoints/{name}/invocations", invocations, methods=["POST"]),
            Route("/ping", ping, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.explainer = explainer
    app.state.capture = capture
    return app


def app_from_env() -> Starlette:
    """App factory for ``uvicorn --factory airflow_provider_clarify.engine.explain_server.app:app_from_env``.

    Reads ``CLARIFY_EXPLAINER_CONFIG`` (JSON text or a file path), ``CLARIFY_MODEL_URL`` and optionally
    ``CLARIFY_DATA_CAPTURE_CONFIG`` (JSON text or a file path) and ``CLARIFY_ENDPOINT_NAME``.
    """
    import os
    from pathlib import Path

    def read(name: str) -> str | None:
        value = os.environ.get(name)
        if value and not value.lstrip().startswith("{") and Path(value).is_file():
            return Path(value).read_text()
        return value

    capture = read("CLARIFY_DATA_CAPTURE_CONFIG")
    return create_app(
        read("CLARIFY_EXPLAINER_CONFIG") or "",
        os.environ["CLARIFY_MODEL_URL"],
        data_capture_config=json.loads(capture) if capture else None,
        endpoint_name=os.environ.get("CLARIFY_ENDPOINT_NAME", "open-explainer"),
    )
