"""SageMaker data-capture files written by the open explainer, so its traffic feeds Model Monitor.

Configured with the ``DataCaptureConfig`` request dict of ``CreateEndpointConfig``
(``EnableCapture``, ``InitialSamplingPercentage``, ``DestinationS3Uri``, ``CaptureOptions``,
``CaptureContentTypeHeader``). One JSON line per captured invocation::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "1,2,3", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                        "data": "{...}", "encoding": "JSON"}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceTime": "2024-03-01T12:00:00.123Z"},
     "eventVersion": "0"}

``encoding`` is ``CSV`` / ``JSON`` for the content types listed in ``CaptureContentTypeHeader`` (by
default ``text/csv`` and ``application/json`` / ``application/jsonlines``), else ``BASE64``. A caller's
``X-Amzn-SageMaker-Inference-Id`` is kept as ``eventMetadata.inferenceId``. The output captured is the
endpoint's response (with explanations), as the client received it.

Files land where SageMaker puts them, ``{destination}/{endpoint}/{variant}/yyyy/mm/dd/hh/`` named
``{mm-ss-mmm}-{uuid}.jsonl`` (UTC, the time of the file's first record); each file is written whole
(atomically) when :data:`FLUSH_RECORDS` records are buffered, the buffered records are older than
:data:`FLUSH_SECONDS`, or the server stops.

Kept independent of the monitoring module's capture format on purpose (a separate branch defined it
in parallel); the record layout follows the same SageMaker documentation.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from airflow_provider_clarify.engine.explain_server.codec import base_type
from airflow_provider_clarify.engine.explain_server.errors import ExplainerConfigError

FLUSH_RECORDS = 1000
FLUSH_SECONDS = 60.0
DEFAULT_CSV_TYPES = ("text/csv",)
DEFAULT_JSON_TYPES = ("application/json", "application/jsonlines")


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class CaptureWriter:
    """Buffers capture records and writes them as JSON Lines files (see the module docstring)."""

    def __init__(
        self,
        data_capture_config: dict[str, Any],
        *,
        endpoint_name: str,
        variant_name: str = "AllTraffic",
        storage_options: dict | None = None,
        flush_records: int = FLUSH_RECORDS,
        flush_seconds: float = FLUSH_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        config = data_capture_config
        destination = config.get("DestinationS3Uri")
        if not isinstance(destination, str) or not destination:
            raise ExplainerConfigError(
                "DataCaptureConfig.DestinationS3Uri is required (an s3:// URI or a path)."
            )
        percentage = config.get("InitialSamplingPercentage", 100)
        if not isinstance(percentage, int) or not 0 <= percentage <= 100:
            raise ExplainerConfigError(
                f"DataCaptureConfig.InitialSamplingPercentage is {percentage!r}; give an integer 0-100."
            )
        modes = {option.get("CaptureMode") for option in config.get("CaptureOptions", [])}
        if not modes or not modes <= {"Input", "Output"}:
            raise ExplainerConfigError(
                f"DataCaptureConfig.CaptureOptions is {config.get('CaptureOptions')!r}; give "
                "[{'CaptureMode': 'Input'}, {'CaptureMode': 'Output'}] (one or both)."
            )
        header = config.get("CaptureContentTypeHeader") or {}
        self.enabled = bool(config.get("EnableCapture", True))
        self.percentage = percentage
        self.modes = modes
        self.csv_types = tuple(header.get("CsvContentTypes") or DEFAULT_CSV_TYPES)
        self.json_types = tuple(header.get("JsonContentTypes") or DEFAULT_JSON_TYPES)
        self.prefix = f"{endpoint_name}/{variant_name}"
        self.flush_records = flush_records
        self.flush_seconds = flush_seconds
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._buffer: list[str] = []
        self._first: datetime | None = None
        self._first_clock = 0.0
        from airflow_provider_clarify.engine.io import OutputLocation

        self._location = OutputLocation(destination, storage_options)
        self.files: list[str] = []

    def _encoding(self, content_type: str) -> str:
        kind = base_type(content_type)
        if kind in self.csv_types:
            return "CSV"
        if kind in self.json_types:
            return "JSON"
        return "BASE64"

    def _payload(self, mode: str, content_type: str, body: bytes) -> dict[str, str]:
        encoding = self._encoding(content_type)
        data = base64.b64encode(body).decode() if encoding == "BASE64" else body.decode("utf-8", "replace")
        return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}

    def capture(
        self,
        request_type: str,
        request_body: bytes,
        response_type: str,
        response_body: bytes,
        *,
        inference_id: str | None = None,
        moment: datetime | None = None,
    ) -> bool:
        """Record one invocation (subject to the sampling percentage); True when it was kept."""
        if not self.enabled or self._rng.uniform(0, 100) >= self.percentage:
            return False
        moment = moment or datetime.now(UTC)
        data: dict[str, Any] = {}
        if "Input" in self.modes:
            data["endpointInput"] = self._payload("INPUT", request_type, request_body)
        if "Output" in self.modes:
            data["endpointOutput"] = self._payload("OUTPUT", response_type, response_body)
        metadata = {"eventId": str(uuid.uuid4()), "inferenceTime": _timestamp(moment)}
        if inference_id:
            metadata["inferenceId"] = inference_id
        line = json.dumps({"captureData": data, "eventMetadata": metadata, "eventVersion": "0"})
        with self._lock:
            if not self._buffer:
                self._first, self._first_clock = moment, time.monotonic()
            self._buffer.append(line)
            due = (
                len(self._buffer) >= self.flush_records
                or time.monotonic() - self._first_clock >= self.flush_seconds
            )
        if due:
            self.flush()
        return True

    def flush(self) -> str | None:
        """Write the buffered records as one file; returns its URI (None when nothing was buffered)."""
        with self._lock:
            lines, first = self._buffer, self._first
            self._buffer, self._first = [], None
        if not lines or first is None:
            return None
        relpath = (
            f"{self.prefix}/{first:%Y/%m/%d/%H}/{first:%M-%S}-{first.microsecond // 1000:03d}-"
            f"{uuid.uuid4()}.jsonl"
        )
        uri = self._location.write_text(relpath, "\n".join(lines) + "\n")
        self.files.append(uri)
        return uri
