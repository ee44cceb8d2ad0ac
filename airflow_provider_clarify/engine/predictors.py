"""Where model predictions come from: an in-process callable, an HTTP server that speaks the
SageMaker hosting contract, or a SageMaker endpoint (boto3 ``InvokeEndpoint``).

Every predictor takes a 2-D feature array (rows = records, columns in model-input order) and returns
a :class:`ModelOutput` in row order. Remote predictors put as many records into one request as the
payload limit allows (SageMaker's limit is 6 MB), so the number of model calls grows with
``rows / records-per-request``, not with ``rows``; Kernel SHAP's coalition rows of many records
travel together. A response with the wrong number of predictions raises :class:`PredictorError`.

Request formats (``content_type``):

* ``text/csv``: one CSV line per record.
* ``application/jsonlines``: one line per record, ``content_template`` with ``$features`` (default
  ``$features``, i.e. a bare JSON array), e.g. ``{"features":$features}``.
* ``application/json``: ``content_template`` with ``$records`` (all records of the request, a JSON
  array) or ``$record`` (one record per request); each record rendered from ``record_template``
  with ``$features`` (JSON array), ``$feature_names``, ``$features_kvp`` (``{"name": value}``) or
  ``${name}`` (one feature's value).

Response formats (``accept_type``, default ``content_type``) and extraction:

* ``text/csv``: one line per record; ``label`` / ``probability`` are 0-based column indices;
  without them the whole line is the score (or score list). A cell may hold a JSON list.
* ``application/jsonlines``: one JSON value per line; ``label`` / ``probability`` are JMESPath.
* ``application/json``: one document; the JMESPath is applied to the document (it must give one
  value per record) or, if the document is a list of records, to each record.

When ``label`` yields every class label of a multiclass model and ``probability`` the matching
scores, the label with the highest score is the prediction (first maximum on ties).
"""

from __future__ import annotations

import csv
import io as _stdio
import json
import math
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from airflow_provider_clarify.engine.errors import EngineRuntimeError

if TYPE_CHECKING:
    import numpy as np

CSV = "text/csv"
JSONLINES = "application/jsonlines"
JSON = "application/json"
SUPPORTED_CONTENT_TYPES = (CSV, JSONLINES, JSON)
#: SageMaker's InvokeEndpoint body limit.
DEFAULT_MAX_PAYLOAD_BYTES = 6_000_000
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


class PredictorError(EngineRuntimeError):
    """The model could not be called or answered something unusable (says what and how to fix)."""


@dataclass
class ModelOutput:
    """Predictions for ``n`` records.

    :param scores: float64 array of shape ``(n, k)`` (probabilities / scores per output), or None.
    :param labels: array of shape ``(n,)`` with the predicted label of each record, when the model
        returns labels, or None.
    :param label_headers: names of the ``k`` outputs, when known.
    """

    scores: np.ndarray | None
    labels: np.ndarray | None
    label_headers: list[str] | None = None

    def __len__(self) -> int:
        if self.scores is not None:
            return int(self.scores.shape[0])
        if self.labels is not None:
            return int(self.labels.shape[0])
        return 0


@runtime_checkable
class Predictor(Protocol):
    """Anything that maps a 2-D feature array to a :class:`ModelOutput` in row order."""

    def predict(self, features: np.ndarray) -> ModelOutput: ...


# --------------------------------------------------------------------------------------------------
# Assembling outputs
# --------------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_labels(values: list) -> np.ndarray:
    import numpy as np

    if all(_is_number(v) for v in values):
        array = np.asarray(values)
        return array if array.dtype.kind in "if" else array.astype(np.float64)
    return np.asarray(values, dtype=object)


def assemble_output(
    labels: list | None, scores: list | None, label_headers: Sequence | None = None
) -> ModelOutput:
    """Build a :class:`ModelOutput` from per-record labels and/or scores.

    Scores are numbers or equal-length lists of numbers. Labels are scalars, or per-record lists of
    all class labels, in which case the label with the highest score is taken.
    """
    import numpy as np

    headers = [str(h) for h in label_headers] if label_headers else None
    score_array = None
    if scores is not None:
        rows = [s if isinstance(s, list) else [s] for s in scores]
        widths = {len(r) for r in rows}
        if len(widths) > 1:
            raise PredictorError(f"The model returned score lists of different lengths {sorted(widths)}.")
        try:
            score_array = np.asarray(rows, dtype=np.float64).reshape(len(rows), -1 if rows else 0)
        except (TypeError, ValueError) as exc:
            raise PredictorError(
                f"The model's scores are not numbers (first record: {scores[0]!r}); check 'probability'."
            ) from exc
    label_array = None
    if labels is not None:
        if labels and all(isinstance(v, list) for v in labels):
            if score_array is None or score_array.shape[1] != len(labels[0]):
                raise PredictorError(
                    "The model returned a list of class labels per record; set 'probability' to locate the "
                    "matching scores so that the label with the highest score can be picked."
                )
            best = np.argmax(score_array, axis=1)
            if headers is None:
                headers = [str(v) for v in labels[0]]
            label_array = _as_labels([row[i] for row, i in zip(labels, best.tolist(), strict=True)])
        else:
            label_array = _as_labels(list(labels))
    if score_array is not None and label_array is not None and len(score_array) != len(label_array):
        raise PredictorError(f"The model returned {len(label_array)} labels but {len(score_array)} scores.")
    return ModelOutput(score_array, label_array, headers)


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
    """

    def __init__(self, fn: Any, label_headers: Sequence | None = None, max_rows_per_call: int | None = None):
        if not callable(fn):
            fn = getattr(fn, "predict_proba", None) or getattr(fn, "predict", None)
        if not callable(fn):
            raise TypeError("CallablePredictor needs a callable or an object with predict_proba/predict.")
        self.fn: Callable = fn
        self.label_headers = [str(h) for h in label_headers] if label_headers else None
        self.max_rows_per_call = max_rows_per_call
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
            return parts[0]
        scores = None if parts[0].scores is None else np.concatenate([p.scores for p in parts])
        labels = None if parts[0].labels is None else np.concatenate([p.labels for p in parts])
        return ModelOutput(scores, labels, parts[0].label_headers)


# --------------------------------------------------------------------------------------------------
# Request serialisation
# --------------------------------------------------------------------------------------------------


def _json_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return "null"
    return json.dumps(value, ensure_ascii=False)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if value != value else repr(value)
    if isinstance(value, str):
        if any(c in value for c in ',"\n\r'):
            return '"' + value.replace('"', '""') + '"'
        return value
    if hasattr(value, "item"):
        return _csv_cell(value.item())
    return str(value)


_PLACEHOLDER = re.compile(r"\$features_kvp|\$feature_names|\$features|\$\{([^}]+)\}")


class RequestSerializer:
    """Turns feature rows into request bodies of one content type."""

    def __init__(
        self,
        content_type: str = CSV,
        content_template: str | None = None,
        record_template: str | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        content_type = (content_type or CSV).lower()
        if content_type not in SUPPORTED_CONTENT_TYPES:
            raise PredictorError(
                f"predictor.content_type {content_type!r} is not supported by the open engine; use one of "
                f"{', '.join(SUPPORTED_CONTENT_TYPES)}."
            )
        self.content_type = content_type
        self.feature_names = [str(n) for n in feature_names] if feature_names is not None else None
        self.one_record_per_request = False
        if content_type == JSONLINES:
            template = content_template or "$features"
            if "$features" not in template:
                raise PredictorError(
                    f"Invalid content_template {template!r}. Please include a placeholder $features."
                )
            self.record_template = template
            self.prefix, self.suffix, self.separator = b"", b"", b"\n"
        elif content_type == JSON:
            template = content_template or "$records"
            if "$records" in template:
                head, _, tail = template.partition("$records")
                self.prefix, self.suffix = (head + "[").encode(), ("]" + tail).encode()
            elif "$record" in template:
                head, _, tail = template.partition("$record")
                self.prefix, self.suffix = head.encode(), tail.encode()
                self.one_record_per_request = True
            else:
                raise PredictorError(
                    f"Invalid content_template {template!r}. Please include either placeholder $records or $record."
                )
            self.separator = b","
            self.record_template = record_template or "$features"
        else:
            self.record_template = None
            self.prefix, self.suffix, self.separator = b"", b"", b"\n"

    def records(self, features: np.ndarray) -> list[bytes]:
        """One serialised record per row."""
        rows = features.tolist()
        if self.content_type == CSV:
            return [",".join(_csv_cell(v) for v in row).encode() for row in rows]
        return [self._render(row).encode() for row in rows]

    def _render(self, row: list) -> str:
        names = self.feature_names
        if names is None and any(
            t in self.record_template for t in ("$feature_names", "$features_kvp", "${")
        ):
            raise PredictorError(
                f"record_template {self.record_template!r} uses feature names but none are known; give "
                "'headers' in the analysis_config (or feature_names to the predictor)."
            )

        def replace(match: re.Match) -> str:
            token = match.group(0)
            if token == "$features":
                return "[" + ",".join(_json_value(v) for v in row) + "]"
            if token == "$feature_names":
                return json.dumps(names)
            if token == "$features_kvp":
                return (
                    "{"
                    + ",".join(f"{json.dumps(n)}:{_json_value(v)}" for n, v in zip(names, row, strict=True))
                    + "}"
                )
            name = match.group(1)
            if name not in names:
                raise PredictorError(
                    f"record_template placeholder ${{{name}}} is not a feature name {names}."
                )
            return _json_value(row[names.index(name)])

        return _PLACEHOLDER.sub(replace, self.record_template)

    def payload(self, records: Sequence[bytes]) -> bytes:
        body = self.separator.join(records)
        if self.content_type != JSON:
            body += b"\n"
        return self.prefix + body + self.suffix


def plan_requests(
    sizes: Sequence[int], *, overhead: int, separator: int, max_payload_bytes: int, max_records: int | None
) -> list[tuple[int, int]]:
    """Greedy split of records (with serialised ``sizes``) into ``[start, end)`` request ranges whose
    bodies stay within ``max_payload_bytes`` and ``max_records``."""
    ranges: list[tuple[int, int]] = []
    start, used = 0, overhead
    for i, size in enumerate(sizes):
        if overhead + size > max_payload_bytes:
            raise PredictorError(
                f"Record {i} alone serialises to {size + overhead} bytes, over the payload limit of "
                f"{max_payload_bytes} bytes; raise max_payload_bytes or reduce the record."
            )
        count = i - start
        extra = size + (separator if count else 0)
        if count and (used + extra > max_payload_bytes or (max_records and count >= max_records)):
            ranges.append((start, i))
            start, used, extra = i, overhead, size
        used += extra
    if start < len(sizes):
        ranges.append((start, len(sizes)))
    return ranges


# --------------------------------------------------------------------------------------------------
# Response parsing
# --------------------------------------------------------------------------------------------------


def _parse_cell(cell: str) -> Any:
    text = cell.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            try:
                return json.loads(text.replace("'", '"'))
            except json.JSONDecodeError:
                return text
    try:
        return float(text)
    except ValueError:
        return text


class ResponseParser:
    """Extracts labels / scores per record from response bodies of one accept type."""

    def __init__(self, accept_type: str = CSV, label: Any = None, probability: Any = None):
        import jmespath

        accept_type = (accept_type or CSV).lower()
        if accept_type not in SUPPORTED_CONTENT_TYPES:
            raise PredictorError(
                f"predictor.accept_type {accept_type!r} is not supported; use one of {', '.join(SUPPORTED_CONTENT_TYPES)}."
            )
        self.accept_type = accept_type
        self.label = label
        self.probability = probability
        if accept_type == CSV:
            for name, value in (("label", label), ("probability", probability)):
                if value is not None and not (isinstance(value, int) and not isinstance(value, bool)):
                    raise PredictorError(
                        f"predictor.{name} must be a 0-based column index for accept_type text/csv, got {value!r}."
                    )
            self._label_q = self._prob_q = None
        else:
            self._label_q = jmespath.compile(str(label)) if label is not None else None
            self._prob_q = jmespath.compile(str(probability)) if probability is not None else None

    def parse(self, body: bytes, expected: int) -> tuple[list | None, list | None]:
        """``(labels, scores)`` lists of ``expected`` records (either may be None)."""
        text = body.decode("utf-8")
        if self.accept_type == CSV:
            values = self._csv_values(text, expected)
        elif self.accept_type == JSONLINES:
            values = self._jsonlines_values(text, expected)
        else:
            values = self._json_values(text, expected)
        if len(values) != expected:
            raise PredictorError(
                f"The model returned {len(values)} predictions for a request of {expected} records; it must "
                "return exactly one per record (check accept_type and the label/probability locators)."
            )
        return self._split(values)

    def _csv_values(self, text: str, expected: int) -> list:
        rows = [r for r in csv.reader(_stdio.StringIO(text)) if r]
        if (
            len(rows) == 1
            and expected > 1
            and len(rows[0]) == expected
            and self.label is None
            and self.probability is None
        ):
            rows = [[cell] for cell in rows[0]]  # one line of comma-separated scores (e.g. XGBoost)
        out = []
        for row in rows:
            cells = [_parse_cell(c) for c in row]
            if self.label is None and self.probability is None:
                out.append(("scores", cells[0] if len(cells) == 1 else cells))
                continue
            try:
                label = cells[self.label] if self.label is not None else None
                prob = cells[self.probability] if self.probability is not None else None
            except IndexError as exc:
                raise PredictorError(
                    f"The model's CSV response line {row!r} has no column {self.label if self.label is not None else self.probability}."
                ) from exc
            out.append(("pair", label, prob))
        return out

    def _locate(self, record: Any) -> tuple:
        if self._label_q is None and self._prob_q is None:
            return ("scores", record)
        label = self._label_q.search(record) if self._label_q is not None else None
        prob = self._prob_q.search(record) if self._prob_q is not None else None
        if (self._label_q is not None and label is None) or (self._prob_q is not None and prob is None):
            raise PredictorError(
                f"predictor.label={self.label!r} / probability={self.probability!r} found nothing in the "
                f"model's response record {json.dumps(record)[:200]}."
            )
        return ("pair", label, prob)

    def _jsonlines_values(self, text: str, expected: int) -> list:
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            records = [json.loads(line) for line in lines]
        except json.JSONDecodeError as exc:
            raise PredictorError(f"The model's JSON Lines response is not valid JSON: {exc}") from exc
        if (
            len(records) == 1
            and isinstance(records[0], list)
            and len(records[0]) == expected
            and expected > 1
        ):
            records = records[0]
        return [self._locate(r) for r in records]

    def _json_values(self, text: str, expected: int) -> list:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PredictorError(f"The model's JSON response is not valid JSON: {exc}") from exc
        if self._label_q is not None or self._prob_q is not None:
            labels = self._label_q.search(document) if self._label_q is not None else None
            probs = self._prob_q.search(document) if self._prob_q is not None else None
            whole = [v for v in (labels, probs) if v is not None]
            if (
                whole
                and all(isinstance(v, list) and len(v) == expected for v in whole)
                and not isinstance(document, list)
            ):
                return [
                    (
                        "pair",
                        labels[i] if labels is not None else None,
                        probs[i] if probs is not None else None,
                    )
                    for i in range(expected)
                ]
        if isinstance(document, dict):
            for key in ("predictions", "outputs", "results"):
                if isinstance(document.get(key), list):
                    document = document[key]
                    break
        if not isinstance(document, list):
            raise PredictorError(
                "The model's JSON response is not a list of records; set predictor.label / probability to "
                "JMESPath expressions that give one value per record."
            )
        return [self._locate(r) for r in document]

    @staticmethod
    def _split(values: list) -> tuple[list | None, list | None]:
        if all(v[0] == "scores" for v in values):
            payload = [v[1] for v in values]
            if all(_is_number(p) or (isinstance(p, list) and all(_is_number(x) for x in p)) for p in payload):
                return None, payload
            return payload, None  # labels (e.g. strings)
        labels = [v[1] for v in values]
        probs = [v[2] for v in values]
        return (None if all(v is None for v in labels) else labels), (
            None if all(p is None for p in probs) else probs
        )


# --------------------------------------------------------------------------------------------------
# Remote predictors
# --------------------------------------------------------------------------------------------------


class _BatchingPredictor:
    """Shared logic: serialise, split under the payload limit, invoke (in parallel), parse, check."""

    def __init__(
        self,
        *,
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
        max_concurrency: int,
    ) -> None:
        self.serializer = RequestSerializer(content_type, content_template, record_template, feature_names)
        self.content_type = self.serializer.content_type
        self.accept_type = (accept_type or self.content_type).lower()
        self.parser = ResponseParser(self.accept_type, label, probability)
        self.label_headers = [str(h) for h in label_headers] if label_headers else None
        self.max_payload_bytes = int(max_payload_bytes)
        self.max_records_per_request = (
            1 if self.serializer.one_record_per_request else max_records_per_request
        )
        self.max_concurrency = max(1, int(max_concurrency))
        self.calls = 0

    def _invoke(self, payload: bytes) -> bytes:
        raise NotImplementedError

    def set_feature_names(self, names: Sequence[str]) -> None:
        """Feature names for ``$features_kvp`` / ``$feature_names`` / ``${name}``, unless given already."""
        if self.serializer.feature_names is None:
            self.serializer.feature_names = [str(n) for n in names]

    def _call(self, records: list[bytes]) -> tuple[list | None, list | None]:
        self.calls += 1
        body = self._invoke(self.serializer.payload(records))
        return self.parser.parse(body, len(records))

    def predict(self, features: np.ndarray) -> ModelOutput:
        import numpy as np

        features = np.asarray(features)
        if features.ndim != 2:
            raise PredictorError(
                f"features must be a 2-D array (records x features), got shape {features.shape}."
            )
        records = self.serializer.records(features)
        overhead = len(self.serializer.prefix) + len(self.serializer.suffix) + 1
        ranges = plan_requests(
            [len(r) for r in records],
            overhead=overhead,
            separator=len(self.serializer.separator),
            max_payload_bytes=self.max_payload_bytes,
            max_records=self.max_records_per_request,
        )
        chunks = [records[a:b] for a, b in ranges]
        if self.max_concurrency > 1 and len(chunks) > 1:
            with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(chunks))) as pool:
                results = list(pool.map(self._call, chunks))
        else:
            results = [self._call(c) for c in chunks]
        labels = None if any(r[0] is None for r in results) else [x for r in results for x in r[0]]
        scores = None if any(r[1] is None for r in results) else [x for r in results for x in r[1]]
        output = assemble_output(labels, scores, self.label_headers)
        if len(output) != features.shape[0]:
            raise PredictorError(
                f"The model returned {len(output)} predictions for {features.shape[0]} records."
            )
        return output


class HttpPredictor(_BatchingPredictor):
    """A model server that speaks the SageMaker hosting contract: ``POST {url}/invocations`` with the
    records in the body, ``GET {url}/ping`` for health.

    Transient failures (connection errors, HTTP 429 and 5xx) are retried with exponential back-off by
    :class:`urllib3.util.Retry`; other HTTP errors fail at once with the server's message.

    :param url: base URL of the server (``/invocations`` is appended unless already present).
    :param content_type: request MIME type (``text/csv``, ``application/jsonlines``, ``application/json``).
    :param accept_type: response MIME type (default: ``content_type``).
    :param content_template: request template (``$features`` / ``$records`` / ``$record``).
    :param record_template: per-record template for ``application/json``.
    :param label: where the predicted label is in a response record (CSV index or JMESPath).
    :param probability: where the score(s) are (CSV index or JMESPath).
    :param label_headers: names of the model's outputs / classes.
    :param feature_names: feature names for ``$features_kvp`` / ``$feature_names`` / ``${name}``.
    :param max_payload_bytes: request body limit (default 6,000,000 as SageMaker).
    :param max_records_per_request: optional cap on records per request.
    :param retries: retries of a transient failure per request.
    :param backoff_factor: back-off base in seconds (sleep ``factor * 2**(retry-1)``, capped).
    :param timeout: read timeout of one request in seconds.
    :param max_concurrency: requests in flight at once.
    :param custom_attributes: sent as ``X-Amzn-SageMaker-Custom-Attributes``.
    """

    def __init__(
        self,
        url: str,
        content_type: str = CSV,
        accept_type: str | None = None,
        content_template: str | None = None,
        record_template: str | None = None,
        label: Any = None,
        probability: Any = None,
        label_headers: Sequence | None = None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        retries: int = 5,
        *,
        feature_names: Sequence[str] | None = None,
        max_records_per_request: int | None = None,
        backoff_factor: float = 0.2,
        backoff_max: float = 10.0,
        timeout: float = 60.0,
        max_concurrency: int = 4,
        custom_attributes: str | None = None,
        target_model: str | None = None,
    ) -> None:
        import urllib3

        super().__init__(
            content_type=content_type,
            accept_type=accept_type,
            content_template=content_template,
            record_template=record_template,
            label=label,
            probability=probability,
            label_headers=label_headers,
            feature_names=feature_names,
            max_payload_bytes=max_payload_bytes,
            max_records_per_request=max_records_per_request,
            max_concurrency=max_concurrency,
        )
        base = url.rstrip("/")
        if base.endswith("/invocations"):
            base = base[: -len("/invocations")]
        self.base_url = base
        self.retry = urllib3.util.Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            allowed_methods=None,  # POST /invocations is safe to repeat: predictions have no side effects
            status_forcelist=TRANSIENT_STATUS,
            backoff_factor=backoff_factor,
            backoff_max=backoff_max,
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        self.http = urllib3.PoolManager(
            num_pools=2,
            maxsize=self.max_concurrency,
            retries=self.retry,
            timeout=urllib3.Timeout(connect=10.0, read=timeout),
        )
        self.headers = {"Content-Type": self.content_type, "Accept": self.accept_type}
        if custom_attributes:
            self.headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
        if target_model:
            self.headers["X-Amzn-SageMaker-Target-Model"] = target_model

    def _request(self, method: str, path: str, body: bytes | None = None):
        import urllib3

        url = f"{self.base_url}{path}"
        try:
            return self.http.request(
                method, url, body=body, headers=self.headers if body is not None else None
            )
        except urllib3.exceptions.MaxRetryError as exc:
            raise PredictorError(
                f"Model server {url} is unreachable after {self.retry.total} retries: {exc.reason}. Check that "
                "it runs and that the URL is right."
            ) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise PredictorError(f"Request to model server {url} failed: {exc}") from exc

    def ping(self) -> bool:
        """``GET /ping``: True when the server answers 200."""
        return self._request("GET", "/ping").status == 200

    def _invoke(self, payload: bytes) -> bytes:
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


class SageMakerEndpointPredictor(_BatchingPredictor):
    """An existing SageMaker endpoint called through boto3 ``sagemaker-runtime`` ``InvokeEndpoint``.

    Throttling and transient errors are retried by botocore's ``standard`` retry mode.

    :param endpoint_name: the endpoint.
    :param client: a ``sagemaker-runtime`` client to use (default: a new one).
    :param region_name: region for a new client; credentials come from ``storage_options``-style
        keys (``aws_access_key_id`` ...) or the environment.
    Other parameters as :class:`HttpPredictor`.
    """

    def __init__(
        self,
        endpoint_name: str,
        content_type: str = CSV,
        accept_type: str | None = None,
        content_template: str | None = None,
        record_template: str | None = None,
        label: Any = None,
        probability: Any = None,
        label_headers: Sequence | None = None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        retries: int = 5,
        *,
        client: Any = None,
        region_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        feature_names: Sequence[str] | None = None,
        max_records_per_request: int | None = None,
        max_concurrency: int = 4,
        custom_attributes: str | None = None,
        target_model: str | None = None,
    ) -> None:
        super().__init__(
            content_type=content_type,
            accept_type=accept_type,
            content_template=content_template,
            record_template=record_template,
            label=label,
            probability=probability,
            label_headers=label_headers,
            feature_names=feature_names,
            max_payload_bytes=max_payload_bytes,
            max_records_per_request=max_records_per_request,
            max_concurrency=max_concurrency,
        )
        self.endpoint_name = endpoint_name
        self.custom_attributes = custom_attributes
        self.target_model = target_model
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "sagemaker-runtime",
                region_name=region_name,
                aws_access_key_id=aws_access_key_id,
                aws_secret_access_key=aws_secret_access_key,
                aws_session_token=aws_session_token,
                config=Config(retries={"mode": "standard", "max_attempts": retries + 1}),
            )
        self.client = client

    def _invoke(self, payload: bytes) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

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
        except (ClientError, BotoCoreError) as exc:
            raise PredictorError(f"InvokeEndpoint on endpoint {self.endpoint_name!r} failed: {exc}") from exc
        body = response["Body"]
        return body.read() if hasattr(body, "read") else body


def default_content_type(dataset_type: str | None) -> str:
    """The request type Clarify uses when ``predictor.content_type`` is absent."""
    dataset_type = (dataset_type or CSV).lower()
    return dataset_type if dataset_type in SUPPORTED_CONTENT_TYPES else CSV


def predictor_from_config(
    predictor_block: dict,
    *,
    dataset_type: str | None = None,
    feature_names: Sequence[str] | None = None,
    endpoint_url: str | None = None,
    storage_options: dict | None = None,
    client: Any = None,
    **overrides: Any,
) -> HttpPredictor | SageMakerEndpointPredictor:
    """Build the predictor that the analysis_config's ``predictor`` block describes.

    ``endpoint_url`` (an HTTP model server speaking the SageMaker contract) wins over the block's
    ``endpoint_name``. ``model_name`` alone is refused: the open engine does not create shadow
    endpoints. ``overrides`` go to the predictor's constructor (e.g. ``max_payload_bytes``).
    """
    block = dict(predictor_block or {})
    content_type = block.get("content_type") or default_content_type(dataset_type)
    content_template = block.get("content_template")
    if isinstance(content_template, dict):
        raise PredictorError(
            "predictor.content_template as an object is not supported; give a string template."
        )
    common: dict[str, Any] = {
        "content_type": content_type,
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
    common.update(overrides)
    if endpoint_url:
        return HttpPredictor(endpoint_url, **common)
    if block.get("endpoint_name"):
        options = dict(storage_options or {})
        return SageMakerEndpointPredictor(
            block["endpoint_name"],
            client=client,
            region_name=options.get("region_name"),
            aws_access_key_id=options.get("aws_access_key_id"),
            aws_secret_access_key=options.get("aws_secret_access_key"),
            aws_session_token=options.get("aws_session_token"),
            **common,
        )
    if block.get("model_name"):
        raise PredictorError(
            f"predictor.model_name={block['model_name']!r} needs a temporary (shadow) endpoint, which the open "
            "engine does not create. Deploy the model and set predictor.endpoint_name, or pass an HTTP model "
            "server with endpoint_url / --endpoint-url, or pass a predictor to run_analysis."
        )
    raise PredictorError(
        "The analysis needs model predictions but no model is given: add predictor.endpoint_name, pass "
        "endpoint_url / --endpoint-url, or pass predictor= to run_analysis (or supply predicted labels with "
        "'predicted_label' / 'predicted_label_dataset_uri')."
    )


__all__ = [
    "CallablePredictor",
    "HttpPredictor",
    "ModelOutput",
    "Predictor",
    "PredictorError",
    "RequestSerializer",
    "ResponseParser",
    "SageMakerEndpointPredictor",
    "assemble_output",
    "plan_requests",
    "predictor_from_config",
]
