"""The SageMaker data-capture and ground-truth record formats, in one place.

Writers (the online explainer, the test model server) and readers (the monitoring engine) import
the field names and helpers from here, so a capture file written by one is always readable by the
other. Pure standard library.

A captured endpoint request is one JSON line::

    {"captureData": {"endpointInput":  {"observedContentType": "text/csv", "mode": "INPUT",
                                        "data": "1,2,3", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "text/csv; charset=utf-8",
                                        "mode": "OUTPUT", "data": "0.02", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "aaaa-...", "inferenceId": "optional", "inferenceTime": "2022-02-14T17:25:06Z"},
     "eventVersion": "0"}

in an object ``{destination}/{endpoint}/{variant}/yyyy/mm/dd/hh/{mm-ss-mmm}-{uuid}.jsonl`` (the hour
folder is the capture time, UTC). A ground-truth label is one JSON line::

    {"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "aaaa-..."},
     "eventVersion": "0"}

under ``{ground_truth_uri}/yyyy/mm/dd/hh/*.jsonl`` (the hour the labels were collected); its
``eventId`` is the captured record's ``inferenceId`` when the caller sent one, else its ``eventId``.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

# --- field names -----------------------------------------------------------------------------------
CAPTURE_DATA = "captureData"
ENDPOINT_INPUT = "endpointInput"
ENDPOINT_OUTPUT = "endpointOutput"
OBSERVED_CONTENT_TYPE = "observedContentType"
MODE = "mode"
DATA = "data"
ENCODING = "encoding"
EVENT_METADATA = "eventMetadata"
EVENT_ID = "eventId"
INFERENCE_ID = "inferenceId"
INFERENCE_TIME = "inferenceTime"
EVENT_VERSION = "eventVersion"
GROUND_TRUTH_DATA = "groundTruthData"

MODE_INPUT = "INPUT"
MODE_OUTPUT = "OUTPUT"
EVENT_VERSION_0 = "0"

# --- encodings ---------------------------------------------------------------------------------------
ENCODING_CSV = "CSV"
ENCODING_JSON = "JSON"
ENCODING_BASE64 = "BASE64"
ENCODINGS: tuple[str, ...] = (ENCODING_CSV, ENCODING_JSON, ENCODING_BASE64)

#: ``DataCaptureConfig``'s default ``CaptureContentTypeHeader`` (the SDK's defaults): payloads of these
#: content types are captured as text, every other one as base64.
DEFAULT_CSV_CONTENT_TYPES: tuple[str, ...] = ("text/csv",)
DEFAULT_JSON_CONTENT_TYPES: tuple[str, ...] = ("application/json",)

#: Capture files end with this suffix; the hour folders are ``yyyy/mm/dd/hh``.
CAPTURE_FILE_SUFFIX = ".jsonl"
HOUR_FOLDER_FORMAT = "%Y/%m/%d/%H"
INFERENCE_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def base_content_type(content_type: str | None) -> str:
    """``"text/csv; charset=utf-8"`` -> ``"text/csv"`` (lower case, parameters dropped)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def encoding_for(
    content_type: str | None,
    csv_content_types: tuple[str, ...] | list[str] = DEFAULT_CSV_CONTENT_TYPES,
    json_content_types: tuple[str, ...] | list[str] = DEFAULT_JSON_CONTENT_TYPES,
) -> str:
    """The capture ``encoding`` SageMaker uses for a payload of ``content_type``."""
    base = base_content_type(content_type)
    if base in {base_content_type(t) for t in csv_content_types}:
        return ENCODING_CSV
    if base in {base_content_type(t) for t in json_content_types}:
        return ENCODING_JSON
    return ENCODING_BASE64


def encode_payload(payload: bytes | str, encoding: str) -> str:
    """The ``data`` string of a capture block: text as is for CSV/JSON, base64 otherwise."""
    raw = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
    if encoding == ENCODING_BASE64:
        return base64.b64encode(raw).decode("ascii")
    if encoding in (ENCODING_CSV, ENCODING_JSON):
        return raw.decode("utf-8")
    raise ValueError(f"unknown capture encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}")


def decode_payload(data: str, encoding: str | None) -> bytes:
    """The payload bytes of a capture or ground-truth block (inverse of :func:`encode_payload`).

    Raises ``ValueError`` for an unknown encoding or bad base64 (readers count such lines as malformed).
    """
    if not isinstance(data, str):
        raise ValueError(f"capture 'data' must be a string, got {type(data).__name__}")
    kind = (encoding or ENCODING_CSV).upper()
    if kind == ENCODING_BASE64:
        return base64.b64decode(data, validate=True)
    if kind in (ENCODING_CSV, ENCODING_JSON):
        return data.encode("utf-8")
    raise ValueError(f"unknown capture encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}")


def format_inference_time(moment: datetime) -> str:
    """``inferenceTime`` text: UTC, second precision, ``Z`` suffix (as SageMaker writes it)."""
    return moment.astimezone(UTC).strftime(INFERENCE_TIME_FORMAT)


def parse_inference_time(text: str) -> datetime:
    """Parse an ``inferenceTime`` (``...Z`` or any ISO 8601 offset; fractional seconds allowed)."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"inferenceTime must be an ISO 8601 string, got {text!r}")
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _block(payload: bytes | str, content_type: str, mode: str, encoding: str | None) -> dict[str, str]:
    kind = encoding or encoding_for(content_type)
    return {
        OBSERVED_CONTENT_TYPE: content_type,
        MODE: mode,
        DATA: encode_payload(payload, kind),
        ENCODING: kind,
    }


def capture_record(
    *,
    request: bytes | str,
    request_content_type: str,
    response: bytes | str,
    response_content_type: str,
    inference_time: datetime,
    event_id: str | None = None,
    inference_id: str | None = None,
    input_encoding: str | None = None,
    output_encoding: str | None = None,
) -> dict[str, Any]:
    """One captured request/response as SageMaker writes it (``eventId`` defaults to a new UUID)."""
    metadata: dict[str, str] = {EVENT_ID: event_id or str(uuid.uuid4())}
    if inference_id is not None:
        metadata[INFERENCE_ID] = inference_id
    metadata[INFERENCE_TIME] = format_inference_time(inference_time)
    return {
        CAPTURE_DATA: {
            ENDPOINT_INPUT: _block(request, request_content_type, MODE_INPUT, input_encoding),
            ENDPOINT_OUTPUT: _block(response, response_content_type, MODE_OUTPUT, output_encoding),
        },
        EVENT_METADATA: metadata,
        EVENT_VERSION: EVENT_VERSION_0,
    }


def ground_truth_record(event_id: str, label: Any, encoding: str = ENCODING_CSV) -> dict[str, Any]:
    """One ground-truth label line for the captured record ``event_id`` (its inference id if any)."""
    data = label if isinstance(label, str) else json.dumps(label) if encoding == ENCODING_JSON else str(label)
    return {
        GROUND_TRUTH_DATA: {DATA: data, ENCODING: encoding},
        EVENT_METADATA: {EVENT_ID: event_id},
        EVENT_VERSION: EVENT_VERSION_0,
    }


def hour_folder(moment: datetime) -> str:
    """``yyyy/mm/dd/hh`` of ``moment`` in UTC."""
    return moment.astimezone(UTC).strftime(HOUR_FOLDER_FORMAT)


def capture_object_key(
    endpoint_name: str, variant_name: str, moment: datetime, unique: str | None = None
) -> str:
    """Key of a capture file below the capture destination: ``{endpoint}/{variant}/yyyy/mm/dd/hh/{name}``."""
    moment = moment.astimezone(UTC)
    name = f"{moment:%M-%S}-{moment.microsecond // 1000:03d}-{unique or uuid.uuid4()}{CAPTURE_FILE_SUFFIX}"
    return f"{endpoint_name}/{variant_name}/{hour_folder(moment)}/{name}"


def ground_truth_object_key(moment: datetime, unique: str | None = None) -> str:
    """Key of a ground-truth file below the ground-truth prefix: ``yyyy/mm/dd/hh/{name}``."""
    return f"{hour_folder(moment)}/{unique or uuid.uuid4()}{CAPTURE_FILE_SUFFIX}"


def record_line(record: dict[str, Any]) -> str:
    """A record as one JSON line (compact, newline-terminated)."""
    return json.dumps(record, separators=(",", ":")) + "\n"
