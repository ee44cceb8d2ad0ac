"""Turn captured requests/responses (+ ground truth) into merged tabular records.

The Features / Inference / Probability / ProbabilityThreshold attributes of the job definition's
``EndpointInput`` say where things are: an index for CSV payloads, a JMESPath for JSON / JSON Lines.
A request may carry several records (CSV or JSON Lines lines, a JSON list); its response must then
carry as many predictions.
"""

from __future__ import annotations

import csv
import io as _stdio
import json
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_clarify.analysis.monitoring import capture_format as cf
from airflow_provider_clarify.engine.monitoring.capture import CaptureEvent

CSV_TYPES = frozenset({"text/csv", "text/plain"})
JSONLINES_TYPES = frozenset({"application/jsonlines", "application/x-jsonlines", "application/jsonl"})


class RecordError(ValueError):
    """A captured record that cannot be read with the job definition's attributes."""


def _jmespath(expression: str):
    import jmespath

    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        raise RecordError(f"invalid JMESPath {expression!r}: {exc}") from exc


@dataclass
class Attributes:
    """The ``*Attribute`` fields of an ``EndpointInput`` / ``BatchTransformInput``."""

    features: str | None = None
    inference: str | None = None
    probability: str | None = None
    threshold: float = 0.5
    exclude: list[str] = field(default_factory=list)

    @classmethod
    def from_input(cls, body: dict[str, Any]) -> Attributes:
        exclude = body.get("ExcludeFeaturesAttribute") or ""
        threshold = body.get("ProbabilityThresholdAttribute")
        return cls(
            features=body.get("FeaturesAttribute"),
            inference=body.get("InferenceAttribute"),
            probability=body.get("ProbabilityAttribute"),
            threshold=0.5 if threshold is None else float(threshold),
            exclude=[part.strip() for part in exclude.split(",") if part.strip()],
        )


def payload_kind(content_type: str, payload: bytes) -> str:
    """`"csv"`, `"jsonlines"` or `"json"`: by content type, else by the payload's first byte."""
    base = cf.base_content_type(content_type)
    if base in CSV_TYPES:
        return "csv"
    if base in JSONLINES_TYPES:
        return "jsonlines"
    if base.endswith("json"):
        return "json"
    text = payload.lstrip()[:1]
    return "json" if text in (b"{", b"[") else "csv"


def _csv_rows(payload: bytes) -> list[list[str]]:
    text = payload.decode("utf-8")
    if '"' not in text:  # fast path: no quoting, so a plain split is exactly what csv.reader does
        return [line.split(",") for line in text.splitlines() if line]
    return [row for row in csv.reader(_stdio.StringIO(text)) if row]


def _json_docs(payload: bytes, kind: str) -> list[Any]:
    if kind == "jsonlines":
        return [json.loads(line) for line in payload.splitlines() if line.strip()]
    return [json.loads(payload)]


def _search(expression: str, doc: Any) -> Any:
    return _jmespath(expression).search(doc)


def _is_row(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, list | dict) for v in value)


def input_rows(event: CaptureEvent, attributes: Attributes) -> list[list[Any]]:
    """The feature rows of a captured request."""
    kind = payload_kind(event.input_content_type, event.input_payload)
    if kind == "csv":
        return _csv_rows(event.input_payload)
    rows: list[list[Any]] = []
    for doc in _json_docs(event.input_payload, kind):
        value = _search(attributes.features, doc) if attributes.features else doc
        if _is_row(value):
            rows.append(value)
        elif isinstance(value, list) and all(_is_row(v) for v in value):
            rows.extend(value)
        else:
            where = f"FeaturesAttribute {attributes.features!r}" if attributes.features else "the request"
            raise RecordError(f"{where} does not give a list of feature values (got {str(value)[:80]!r})")
    return rows


def _pick(values: list[Any] | Any, locator: str, kind: str, name: str) -> Any:
    if kind == "csv":
        try:
            return values[int(locator)]
        except (ValueError, IndexError) as exc:
            raise RecordError(f"{name} {locator!r} is not a column index of the response {values!r}") from exc
    result = _search(locator, values)
    if result is None:
        raise RecordError(f"{name} {locator!r} finds nothing in the response {str(values)[:80]!r}")
    return result


def _score_label(score: Any, threshold: float) -> int:
    try:
        return 1 if float(score) > threshold else 0
    except (TypeError, ValueError) as exc:
        raise RecordError(f"the score {score!r} is not a number") from exc


def output_predictions(event: CaptureEvent, attributes: Attributes, count: int) -> list[tuple[Any, Any]]:
    """``(predicted_label, probability)`` per record of a captured response.

    The label is the InferenceAttribute value; without one, the ProbabilityAttribute score (or, for a
    single-value response, the value itself) is turned into 1/0 by ``> ProbabilityThresholdAttribute``.
    """
    kind = payload_kind(event.output_content_type, event.output_payload)
    if kind == "csv":
        units: list[Any] = _csv_rows(event.output_payload)
        if (
            count > 1
            and len(units) == 1
            and len(units[0]) == count
            and not (attributes.inference or attributes.probability)
        ):
            units = [[v] for v in units[0]]  # one score per record on a single line
    else:
        docs = _json_docs(event.output_payload, kind)
        units = docs
        if kind == "json" and count > 1 and len(docs) == 1:
            doc = docs[0]
            if isinstance(doc, dict) and len(doc) == 1 and isinstance(next(iter(doc.values())), list):
                doc = next(iter(doc.values()))  # {"predictions": [...]}
            if isinstance(doc, list) and len(doc) == count:
                units = doc
    if len(units) != count:
        raise RecordError(f"the response has {len(units)} predictions for {count} request records")
    out = []
    for unit in units:
        probability = (
            _pick(unit, attributes.probability, kind, "ProbabilityAttribute")
            if attributes.probability
            else None
        )
        if attributes.inference:
            label = _pick(unit, attributes.inference, kind, "InferenceAttribute")
        elif probability is not None:
            label = _score_label(probability, attributes.threshold)
        else:
            scalar = unit[0] if isinstance(unit, list) and len(unit) == 1 else unit
            if isinstance(scalar, list | dict):
                raise RecordError(
                    "the response holds several values: set InferenceAttribute or ProbabilityAttribute"
                )
            label = _score_label(scalar, attributes.threshold)
            probability = scalar
        out.append((label, probability))
    return out
