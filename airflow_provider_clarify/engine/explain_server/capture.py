"""SageMaker data-capture files written by the open explainer, so its traffic feeds Model Monitor.

Configured with the ``DataCaptureConfig`` request dict of ``CreateEndpointConfig``
(``EnableCapture``, ``InitialSamplingPercentage``, ``DestinationS3Uri``, ``CaptureOptions``,
``CaptureContentTypeHeader``). One JSON line per captured invocation::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "1,2,3", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                        "data": "{...}", "encoding": "JSON"}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceTime": "2024-03-01T12:00:00Z"},
     "eventVersion": "0"}

The record layout, encodings, ``inferenceTime`` text and object keys are those of
:mod:`airflow_provider_clarify.analysis.monitoring.capture_format`, the one definition the monitoring
engine reads, so the explainer's traffic feeds monitoring. ``encoding`` is ``CSV`` / ``JSON`` for the
content types listed in ``CaptureContentTypeHeader`` (by default ``text/csv`` and ``application/json``
/ ``application/jsonlines``), else ``BASE64`` (also for a CSV/JSON body that is not UTF-8 text). A
caller's ``X-Amzn-SageMaker-Inference-Id`` is kept as ``eventMetadata.inferenceId``. The output
captured is the endpoint's response (with explanations), as the client received it.

Files land where SageMaker puts them, ``{destination}/{endpoint}/{variant}/yyyy/mm/dd/hh/`` named
``{mm-ss-mmm}-{uuid}.jsonl`` (UTC, the time of the file's first record); each file is written whole
(atomically) when :data:`FLUSH_RECORDS` records are buffered, the buffered records are older than
:data:`FLUSH_SECONDS`, or the server stops. This module only owns that file handling (sampling,
buffering, rotation, threads).
"""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime
from typing import Any

from airflow_provider_clarify.analysis.monitoring import capture_format as fmt
from airflow_provider_clarify.engine.explain_server.errors import ExplainerConfigError

FLUSH_RECORDS = 1000
FLUSH_SECONDS = 60.0
DEFAULT_CSV_TYPES = fmt.DEFAULT_CSV_CONTENT_TYPES
#: The explainer answers JSON Lines too, so it is captured as text by default.
DEFAULT_JSON_TYPES = (*fmt.DEFAULT_JSON_CONTENT_TYPES, "application/jsonlines")


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
        self.endpoint_name, self.variant_name = endpoint_name, variant_name
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

    def _encoding(self, content_type: str, body: bytes) -> str:
        encoding = fmt.encoding_for(content_type, self.csv_types, self.json_types)
        if encoding != fmt.ENCODING_BASE64:
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:  # declared text but is not: keep the bytes exactly
                return fmt.ENCODING_BASE64
        return encoding

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
        request = request_body if "Input" in self.modes else None
        response = response_body if "Output" in self.modes else None
        record = fmt.capture_record(
            request=request,
            request_content_type=request_type,
            response=response,
            response_content_type=response_type,
            inference_time=moment,
            inference_id=inference_id or None,
            input_encoding=self._encoding(request_type, request_body) if request is not None else None,
            output_encoding=self._encoding(response_type, response_body) if response is not None else None,
        )
        line = fmt.record_line(record)
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
        relpath = fmt.capture_object_key(self.endpoint_name, self.variant_name, first)
        uri = self._location.write_text(relpath, "".join(lines))
        self.files.append(uri)
        return uri
