"""Model predictions for the engine: a codec composed with a transport, or an in-process callable.

Every predictor takes a 2-D feature array (rows = records, columns in model-input order) and returns
a checked :class:`~airflow_provider_clarify.engine.model_codec.ModelOutput` in row order:

* :class:`CallablePredictor`: a Python function or estimator, called in process (no serialisation);
* :class:`RemotePredictor`: a :class:`~airflow_provider_clarify.engine.model_codec.ModelCodec`
  (formats, batching under the payload limit, parsing, checks) composed with a
  :class:`~airflow_provider_clarify.engine.model_transports.Transport` (HTTP server or SageMaker
  endpoint); :class:`HttpPredictor` and :class:`SageMakerEndpointPredictor` build the usual pairs.

:func:`predictor_for_source` builds the predictor of a
:class:`~airflow_provider_clarify.analysis.model_source.ModelSource` (the one model-source type of
the operators' ``local_model``, ``run_analysis(model=...)`` and the CLI) with the formats of the
analysis_config's ``predictor`` block. The user-facing description is ``docs/engine.md``
("Predictions").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from airflow_provider_clarify.analysis.model_source import (
    DEFAULT_MODEL_RETRIES,
    DEFAULT_MODEL_TIMEOUT_SECONDS,
    ModelSource,
)
from airflow_provider_clarify.engine.errors import EngineConfigError
from airflow_provider_clarify.engine.model_codec import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    ModelCodec,
    ModelOutput,
    ModelOutputError,
    PredictorError,
    check_model_output,
    default_content_type,
)
from airflow_provider_clarify.engine.model_transports import (
    BACKOFF_FACTOR,
    HttpTransport,
    SageMakerEndpointTransport,
    Transport,
)

if TYPE_CHECKING:
    import numpy as np


@runtime_checkable
class Predictor(Protocol):
    """Anything that maps a 2-D feature array to a :class:`ModelOutput` in row order."""

    def predict(self, features: np.ndarray) -> ModelOutput: ...


# --------------------------------------------------------------------------------------------------
# In process
# --------------------------------------------------------------------------------------------------


def _coerce(fn_output: Any, n: int, label_headers: list[str] | None) -> ModelOutput:
    import numpy as np

    if isinstance(fn_output, ModelOutput):
        output = fn_output
    else:
        array = np.asarray(fn_output)
        if array.ndim == 0:
            raise PredictorError(
                "The model callable returned a scalar; it must return one prediction per row."
            )
        if array.dtype.kind in "biuf":
            scores = array.astype(np.float64).reshape(array.shape[0], -1)
            output = ModelOutput(scores, None, label_headers)
        elif array.ndim == 1:
            output = ModelOutput(None, array, label_headers)
        else:
            raise PredictorError(f"The model callable returned a {array.dtype} array of shape {array.shape}.")
    if len(output) != n:
        raise PredictorError(
            f"The model returned {len(output)} predictions for {n} records; it must return exactly one per record."
        )
    if output.label_headers is None and label_headers is not None:
        output.label_headers = label_headers
    return output


class CallablePredictor:
    """Call a Python function (or an object with ``predict_proba`` / ``predict``) in process.

    No serialisation: the function receives the feature array itself. It returns 1-D or 2-D scores,
    1-D labels (strings), or a :class:`ModelOutput`.

    :param fn: the model function ``fn(features_2d) -> predictions``.
    :param label_headers: names of the model's outputs.
    :param max_rows_per_call: split very large arrays into calls of at most this many rows.
    :param probabilities: whether the scores are probabilities (then checked to lie in [0, 1]).
    """

    def __init__(
        self,
        fn: Any,
        label_headers: Sequence | None = None,
        max_rows_per_call: int | None = None,
        *,
        probabilities: bool = False,
    ):
        if not callable(fn):
            fn = getattr(fn, "predict_proba", None) or getattr(fn, "predict", None)
        if not callable(fn):
            raise TypeError("CallablePredictor needs a callable or an object with predict_proba/predict.")
        self.fn: Callable = fn
        self.label_headers = [str(h) for h in label_headers] if label_headers else None
        self.max_rows_per_call = max_rows_per_call
        self.probabilities = probabilities
        self.calls = 0

    def predict(self, features: np.ndarray) -> ModelOutput:
        import numpy as np

        n = features.shape[0]
        step = self.max_rows_per_call or max(n, 1)
        parts = []
        for start in range(0, max(n, 1), step):
            chunk = features[start : start + step]
            self.calls += 1
            parts.append(_coerce(self.fn(chunk), chunk.shape[0], self.label_headers))
        if len(parts) == 1:
            output = parts[0]
        else:
            scores = None if parts[0].scores is None else np.concatenate([p.scores for p in parts])
            labels = None if parts[0].labels is None else np.concatenate([p.labels for p in parts])
            output = ModelOutput(scores, labels, parts[0].label_headers)
        output.probabilities = output.probabilities or self.probabilities
        return check_model_output(output)


# --------------------------------------------------------------------------------------------------
# Codec + transport
# --------------------------------------------------------------------------------------------------


class RemotePredictor:
    """A model behind a transport: the codec splits the rows into requests, the transport sends them
    (``max_concurrency`` in flight), the codec parses and checks the answers.

    :param codec: the request/response formats.
    :param transport: moves the bodies (``transport.invoke(body) -> body``).
    :param max_concurrency: requests in flight at once.
    """

    def __init__(self, codec: ModelCodec, transport: Transport, *, max_concurrency: int = 4) -> None:
        self.codec = codec
        self.transport = transport
        self.max_concurrency = max(1, int(max_concurrency))
        self.calls = 0

    @property
    def content_type(self) -> str:
        return self.codec.content_type

    @property
    def accept_type(self) -> str:
        return self.codec.accept_type

    def set_feature_names(self, names: Sequence[str]) -> None:
        """Feature names for ``$features_kvp`` / ``$feature_names`` / ``${name}``, unless given already."""
        self.codec.set_feature_names(names)

    def _call(self, request: tuple[bytes, int]) -> tuple[list | None, list | None]:
        body, records = request
        self.calls += 1
        return self.codec.parse(self.transport.invoke(body), records)

    def predict(self, features: np.ndarray) -> ModelOutput:
        requests = self.codec.requests(features)
        if self.max_concurrency > 1 and len(requests) > 1:
            pool = ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(requests)))
            try:
                answers = list(pool.map(self._call, requests))
            except BaseException:
                # A failed request or a stop (SIGTERM): do not wait for the requests still queued.
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown()
        else:
            answers = [self._call(r) for r in requests]
        return self.codec.output(answers, len(features))


def _codec(
    content_type: str,
    accept_type: str | None,
    content_template: str | None,
    record_template: str | None,
    label: Any,
    probability: Any,
    label_headers: Sequence | None,
    feature_names: Sequence[str] | None,
    max_payload_bytes: int,
    max_records_per_request: int | None,
) -> ModelCodec:
    return ModelCodec(
        content_type,
        accept_type,
        content_template,
        record_template,
        label,
        probability,
        label_headers,
        feature_names=feature_names,
        max_payload_bytes=max_payload_bytes,
        max_records_per_request=max_records_per_request,
    )


class HttpPredictor(RemotePredictor):
    """A model server speaking the SageMaker hosting contract (:class:`HttpTransport`) with a
    :class:`ModelCodec`. Parameters are those of the two (``timeout`` is the time limit of one attempt)."""

    def __init__(
        self,
        url: str,
        content_type: str = "text/csv",
        accept_type: str | None = None,
        content_template: str | None = None,
        record_template: str | None = None,
        label: Any = None,
        probability: Any = None,
        label_headers: Sequence | None = None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        retries: int = DEFAULT_MODEL_RETRIES,
        *,
        feature_names: Sequence[str] | None = None,
        max_records_per_request: int | None = None,
        backoff_factor: float = BACKOFF_FACTOR,
        timeout: float = DEFAULT_MODEL_TIMEOUT_SECONDS,
        max_concurrency: int = 4,
        custom_attributes: str | None = None,
        target_model: str | None = None,
    ) -> None:
        codec = _codec(
            content_type,
            accept_type,
            content_template,
            record_template,
            label,
            probability,
            label_headers,
            feature_names,
            max_payload_bytes,
            max_records_per_request,
        )
        transport = HttpTransport(
            url,
            content_type=codec.content_type,
            accept_type=codec.accept_type,
            timeout_seconds=timeout,
            retries=retries,
            max_connections=max_concurrency,
            custom_attributes=custom_attributes,
            target_model=target_model,
            backoff_factor=backoff_factor,
        )
        super().__init__(codec, transport, max_concurrency=max_concurrency)
        self.base_url = transport.base_url

    def ping(self) -> bool:
        """``GET /ping``: True when the server answers 200."""
        return self.transport.ping()


class SageMakerEndpointPredictor(RemotePredictor):
    """An existing SageMaker endpoint (:class:`SageMakerEndpointTransport`) with a :class:`ModelCodec`."""

    def __init__(
        self,
        endpoint_name: str,
        content_type: str = "text/csv",
        accept_type: str | None = None,
        content_template: str | None = None,
        record_template: str | None = None,
        label: Any = None,
        probability: Any = None,
        label_headers: Sequence | None = None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        retries: int = DEFAULT_MODEL_RETRIES,
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        feature_names: Sequence[str] | None = None,
        max_records_per_request: int | None = None,
        timeout: float = DEFAULT_MODEL_TIMEOUT_SECONDS,
        max_concurrency: int = 4,
        custom_attributes: str | None = None,
        target_model: str | None = None,
    ) -> None:
        codec = _codec(
            content_type,
            accept_type,
            content_template,
            record_template,
            label,
            probability,
            label_headers,
            feature_names,
            max_payload_bytes,
            max_records_per_request,
        )
        transport = SageMakerEndpointTransport(
            endpoint_name,
            content_type=codec.content_type,
            accept_type=codec.accept_type,
            timeout_seconds=timeout,
            retries=retries,
            client=client,
            endpoint_url=endpoint_url,
            region_name=region_name,
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
            max_connections=max_concurrency,
            custom_attributes=custom_attributes,
            target_model=target_model,
        )
        super().__init__(codec, transport, max_concurrency=max_concurrency)
        self.endpoint_name = endpoint_name


# --------------------------------------------------------------------------------------------------
# Trusted artifacts
# --------------------------------------------------------------------------------------------------


def load_artifact(path: str, fmt: str) -> Any:
    """Load a joblib/pickle file. This runs code from the file: the caller checked ``trust``."""
    if fmt == "joblib":
        import joblib

        return joblib.load(path)
    import pickle

    with open(path, "rb") as handle:
        return pickle.load(handle)  # trusted by the DAG author: ModelSource.from_artifact(trust=True)


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, str)


def estimator_callable(model: Any, method: str = "auto") -> tuple[Callable, list[str] | None, bool]:
    """Turn a scikit-learn style estimator into ``(fn, label_headers, probabilities)``.

    ``auto`` prefers ``predict_proba``. A binary classifier whose classes are 0/1 (or False/True)
    returns the probability of class 1 as one score per row, which is what Clarify expects from a
    binary model: ``probability_threshold`` turns it into a label and SHAP explains that one
    score. Other classifiers return every class probability, with ``classes_`` as label headers,
    so the arg-max class becomes the predicted label. Without ``predict_proba`` (regressors,
    some classifiers) ``predict`` is used.
    """
    import numpy as np

    has_proba = callable(getattr(model, "predict_proba", None))
    if method == "predict_proba" and not has_proba:
        raise ModelSourceLoadError(
            f"local_model.method is 'predict_proba' but {type(model).__name__} has no predict_proba; "
            "use method='predict' or 'auto'",
            field="local_model.method",
            value=method,
        )
    if method == "predict" or not has_proba:
        if not callable(getattr(model, "predict", None)):
            raise ModelSourceLoadError(
                f"the loaded object ({type(model).__name__}) has no predict() method",
                field="local_model.artifact",
                value=type(model).__name__,
            )

        def predict(features: Any) -> Any:
            return np.asarray(model.predict(features))

        return predict, None, False

    classes = list(getattr(model, "classes_", []))
    binary_01 = len(classes) == 2 and [float(c) for c in classes if _is_number(c)] == [0.0, 1.0]
    if binary_01:

        def positive_score(features: Any) -> Any:
            return np.asarray(model.predict_proba(features), dtype=np.float64)[:, 1]

        return positive_score, None, True

    def probabilities(features: Any) -> Any:
        return np.asarray(model.predict_proba(features), dtype=np.float64)

    return probabilities, [str(c) for c in classes] or None, True


def artifact_predictor(source: ModelSource, predictor_block: dict | None = None) -> CallablePredictor:
    """Load a trusted artifact (``source.kind == "artifact"``, a local path) into an in-process predictor.

    The config's ``predictor.label_headers`` win over the estimator's ``classes_``.
    """
    fn, model_headers, probabilities = estimator_callable(
        load_artifact(source.artifact, source.format), source.method
    )
    headers = (predictor_block or {}).get("label_headers") or model_headers
    return CallablePredictor(fn, label_headers=headers, probabilities=probabilities)


class ModelSourceLoadError(EngineConfigError):
    """The model artifact loaded but is not a usable estimator (names the field and the fix)."""


# --------------------------------------------------------------------------------------------------
# From a model source and the config's predictor block
# --------------------------------------------------------------------------------------------------


def _is_engine_predictor(obj: Any) -> bool:
    """An engine ``Predictor`` (``predict`` -> ModelOutput), not a scikit-learn style model."""
    return callable(getattr(obj, "predict", None)) and not (
        hasattr(obj, "predict_proba") or hasattr(obj, "fit")
    )


def _codec_options(block: dict, dataset_type: str | None, feature_names: Sequence[str] | None) -> dict:
    content_template = block.get("content_template")
    if isinstance(content_template, dict):
        raise PredictorError(
            "predictor.content_template as an object is not supported; give a string template."
        )
    return {
        "content_type": block.get("content_type") or default_content_type(dataset_type),
        "accept_type": block.get("accept_type"),
        "content_template": content_template,
        "record_template": block.get("record_template"),
        "label": block.get("label"),
        "probability": block.get("probability"),
        "label_headers": block.get("label_headers"),
        "feature_names": feature_names,
        "custom_attributes": block.get("custom_attributes"),
        "target_model": block.get("target_model"),
    }


def predictor_for_source(
    source: ModelSource,
    predictor_block: dict | None = None,
    *,
    dataset_type: str | None = None,
    feature_names: Sequence[str] | None = None,
    storage_options: dict | None = None,
    endpoint_url: str | None = None,
    **overrides: Any,
) -> Predictor:
    """The predictor of ``source``, with the formats of the config's ``predictor`` block.

    :param source: where predictions come from.
    :param predictor_block: the analysis_config's ``predictor`` object (formats, ``label_headers``).
    :param dataset_type: the config's ``dataset_type`` (the default request type).
    :param feature_names: model-input column names (for JSON templates that name features).
    :param storage_options: AWS credentials / region for SageMaker endpoints (``aws_access_key_id`` ...).
    :param endpoint_url: AWS endpoint URL for ``sagemaker-runtime`` (e.g. a local stand-in).
    :param overrides: keyword arguments for :class:`HttpPredictor` / :class:`SageMakerEndpointPredictor`
        (e.g. ``max_payload_bytes``).
    """
    block = dict(predictor_block or {})
    headers = block.get("label_headers")
    if source.kind == "callable":
        fn = source.fn
        if _is_engine_predictor(fn):
            if hasattr(fn, "set_feature_names") and feature_names is not None:
                fn.set_feature_names(feature_names)
            return fn
        return CallablePredictor(fn, label_headers=headers)
    if source.kind == "artifact":
        return artifact_predictor(source, block)
    options = {
        **_codec_options(block, dataset_type, feature_names),
        "timeout": source.timeout_seconds,
        "retries": source.retries,
        **overrides,
    }
    if source.kind == "http":
        return HttpPredictor(source.url, **options)
    aws = dict(storage_options or {})
    return SageMakerEndpointPredictor(
        source.endpoint_name,
        endpoint_url=endpoint_url,
        region_name=aws.get("region_name"),
        aws_access_key_id=aws.get("aws_access_key_id"),
        aws_secret_access_key=aws.get("aws_secret_access_key"),
        aws_session_token=aws.get("aws_session_token"),
        **options,
    )


def predictor_from_config(
    predictor_block: dict,
    *,
    dataset_type: str | None = None,
    feature_names: Sequence[str] | None = None,
    storage_options: dict | None = None,
    endpoint_url: str | None = None,
    client: Any = None,
    **overrides: Any,
) -> Predictor:
    """The predictor that the analysis_config's ``predictor`` block names (``endpoint_name``).

    ``model_name`` alone is refused: the open engine does not create shadow endpoints.
    """
    block = dict(predictor_block or {})
    if block.get("endpoint_name"):
        if client is not None:
            overrides["client"] = client
        return predictor_for_source(
            ModelSource.endpoint(str(block["endpoint_name"]), field_name="predictor"),
            block,
            dataset_type=dataset_type,
            feature_names=feature_names,
            storage_options=storage_options,
            endpoint_url=endpoint_url,
            **overrides,
        )
    if block.get("model_name"):
        raise MissingModelError(
            f"predictor.model_name={block['model_name']!r} needs a temporary (shadow) endpoint, which the open "
            "engine does not create. Deploy the model and set predictor.endpoint_name, or give a model: "
            "run_analysis(model=...) or the CLI's --model-url / --model-endpoint / --model-artifact.",
            field="predictor.model_name",
            value=block["model_name"],
        )
    raise MissingModelError(
        "The analysis needs model predictions but no model is given: add predictor.endpoint_name, pass "
        "run_analysis(model=...) or the CLI's --model-url / --model-endpoint / --model-artifact, or supply "
        "predicted labels with 'predicted_label' / 'predicted_label_dataset_uri'.",
        field="predictor",
    )


class MissingModelError(EngineConfigError):
    """The analysis needs a model and none is given (or only one the open engine cannot call)."""


__all__ = [
    "CallablePredictor",
    "HttpPredictor",
    "ModelOutput",
    "ModelOutputError",
    "Predictor",
    "PredictorError",
    "RemotePredictor",
    "artifact_predictor",
    "SageMakerEndpointPredictor",
    "check_model_output",
    "predictor_for_source",
    "predictor_from_config",
]
