"""Raw batch-transform output as monitoring records: ``BatchTransformInput.DatasetFormat`` CSV, JSON, Parquet.

A transform job that joins its output to its input (``DataProcessing.JoinSource="Input"``) writes one
record per input row: the features and the model's output side by side. With ``GenerateInferenceId`` it
also writes an inference id and time. Model Monitor reads such records from the window's hour folders
of ``DataCapturedDestinationS3Uri`` in the ``DatasetFormat`` the job definition names; this module reads
them the same way and hands each record to the execution as a :class:`CaptureEvent`, so the merge,
ground-truth join and metrics are those of endpoint capture.

Which value is which (the input's ``*Attribute`` fields, as for endpoint capture):

* ``Csv`` (``Header`` true: the first line of each file names the columns): column indexes, or names
  with a header. ``FeaturesAttribute`` lists the feature columns (comma-separated; default every
  column no other attribute uses), ``InferenceAttribute`` / ``ProbabilityAttribute`` one column each.
* ``Json`` (``Line`` true: JSON Lines; false: each file one JSON array of records, or one record):
  JMESPath expressions into each record; ``FeaturesAttribute`` must give the list of feature values.
* ``Parquet``: column names, as for CSV with a header.

The inference id is the record's ``SageMakerInferenceId`` / ``inferenceId`` / ``inference_id`` value
(a column or a key), else ``<file>#<record number>``; the inference time is ``SageMakerInferenceTime`` /
``inferenceTime`` / ``inference_time`` (ISO 8601), else the start of the record's hour folder. Records
whose time is outside the window are counted and left out; malformed ones are counted with a reason.
"""

from __future__ import annotations

import csv
import io as _stdio
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.monitoring import capture_format as cf
from airflow_provider_clarify.engine import io
from airflow_provider_clarify.engine.monitoring.capture import CaptureEvent, ReadStats, _hour_of
from airflow_provider_clarify.engine.monitoring.records import Attributes, RecordError, _search

ID_FIELDS = ("SageMakerInferenceId", "inferenceId", "inference_id")
TIME_FIELDS = ("SageMakerInferenceTime", "inferenceTime", "inference_time")
JSON = "application/json"
#: Parquet rows are read this many at a time (memory stays bounded by one batch).
PARQUET_BATCH_ROWS = 65_536


def dataset_kind(dataset_format: dict[str, Any]) -> tuple[str, bool]:
    """``("csv", header)``, ``("json", lines)`` or ``("parquet", False)`` of a ``DatasetFormat``."""
    if not isinstance(dataset_format, dict) or len(dataset_format) != 1:
        raise ClarifyConfigError.invalid(
            "BatchTransformInput.DatasetFormat",
            dataset_format,
            "{'Csv': {...}}, {'Json': {...}} or {'Parquet': {}}",
        )
    ((kind, body),) = dataset_format.items()
    body = body or {}
    if kind == "Csv":
        return "csv", bool(body.get("Header", True))
    if kind == "Json":
        return "json", bool(body.get("Line", True))
    if kind == "Parquet":
        return "parquet", False
    raise ClarifyConfigError.invalid(
        "BatchTransformInput.DatasetFormat",
        dataset_format,
        "{'Csv': {...}}, {'Json': {...}} or {'Parquet': {}}",
    )


def neutral_attributes(attributes: Attributes) -> Attributes:
    """The attributes the merge applies to the events this module makes (features already picked, the
    output as ``[label, score]``)."""
    return Attributes(
        features=None,
        inference="[0]" if attributes.inference else None,
        probability="[1]" if attributes.probability else None,
        threshold=attributes.threshold,
        exclude=attributes.exclude,
    )


def check_attributes(attributes: Attributes, kind: str, needs_prediction: bool) -> None:
    """What raw transform records cannot be read without (before any file is read)."""
    if needs_prediction and not (attributes.inference or attributes.probability):
        raise ClarifyConfigError(
            "BatchTransformInput needs InferenceAttribute or ProbabilityAttribute for bias monitoring: a raw "
            "transform record holds the features and the model output side by side, so the engine must be "
            "told which value is the prediction (a column index or name, or a JMESPath for JSON).",
            field="InferenceAttribute",
        )
    if kind == "json" and not attributes.features:
        raise ClarifyConfigError(
            "BatchTransformInput with DatasetFormat Json needs FeaturesAttribute, a JMESPath that gives the list "
            "of feature values of a record (e.g. 'features').",
            field="FeaturesAttribute",
        )


def _first(record: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if record.get(name) not in (None, ""):
            return record[name]
    return None


def _time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return cf.parse_inference_time(str(value))
    except (TypeError, ValueError) as exc:
        raise RecordError(f"inference time {value!r} is not ISO 8601") from exc


def _locator(locator: str, names: list[str] | None) -> int:
    """A column index from an index or (with a header) a name."""
    text = locator.strip()
    if text.isdigit():
        return int(text)
    if names is not None and text in names:
        return names.index(text)
    raise RecordError(
        f"{text!r} is neither a column index nor a column name of {names or 'the headerless file'}"
    )


class _Columns:
    """Where features, prediction, id and time are in a row of a tabular file (CSV or Parquet)."""

    def __init__(self, attributes: Attributes, names: list[str] | None, width: int) -> None:
        self.inference = _locator(attributes.inference, names) if attributes.inference else None
        self.probability = _locator(attributes.probability, names) if attributes.probability else None
        self.id = next((names.index(n) for n in ID_FIELDS if names and n in names), None)
        self.time = next((names.index(n) for n in TIME_FIELDS if names and n in names), None)
        used = {i for i in (self.inference, self.probability, self.id, self.time) if i is not None}
        if attributes.features:
            self.features = [_locator(part, names) for part in attributes.features.split(",") if part.strip()]
        else:
            self.features = [i for i in range(width) if i not in used]
        for index in [*self.features, *used]:
            if index >= width:
                raise RecordError(f"column {index} is past the record's {width} columns")

    def event(self, row: list[Any], where: str) -> tuple[Any, Any, list[Any], list[Any]]:
        if len(row) <= max([*self.features, self.inference or 0, self.probability or 0]):
            raise RecordError(f"{where} has {len(row)} value(s)")
        prediction = [
            row[self.inference] if self.inference is not None else None,
            row[self.probability] if self.probability is not None else None,
        ]
        return (
            row[self.id] if self.id is not None else None,
            row[self.time] if self.time is not None else None,
            [row[i] for i in self.features],
            prediction,
        )


def _event(
    uri: str, number: int, parts: tuple[Any, Any, list[Any], list[Any]], hour: datetime | None
) -> CaptureEvent:
    record_id, when, features, prediction = parts
    return CaptureEvent(
        event_id=f"{uri}#{number}",
        inference_id=None if record_id in (None, "") else str(record_id),
        inference_time=_time(when) or hour,
        input_content_type=JSON,
        input_payload=json.dumps(features).encode("utf-8"),
        output_content_type=JSON,
        output_payload=json.dumps(prediction).encode("utf-8"),
    )


def _csv_records(uri: str, data: bytes, header: bool, attributes: Attributes, stats: ReadStats, hour):
    reader = csv.reader(_stdio.StringIO(data.decode("utf-8")))
    names = None
    columns: _Columns | None = None
    for number, row in enumerate(reader, start=1):
        if not row:
            continue
        if header and names is None:
            names = [name.strip() for name in row]
            continue
        stats.lines += 1
        where = f"{uri} record {number}"
        try:
            if columns is None:
                columns = _Columns(attributes, names, len(row))
            yield _event(uri, number, columns.event(row, where), hour)
        except RecordError as exc:
            stats.bad(where, str(exc))


def _json_records(uri: str, data: bytes, lines: bool, attributes: Attributes, stats: ReadStats, hour):
    if lines:
        docs = ((n, line) for n, line in enumerate(data.splitlines(), start=1) if line.strip())
        parsed = ((n, _loads(line)) for n, line in docs)
    else:
        whole = _loads(data)
        records = whole if isinstance(whole, list) else [whole]
        parsed = enumerate(records, start=1)
    for number, record in parsed:
        stats.lines += 1
        where = f"{uri} record {number}"
        try:
            if isinstance(record, RecordError):
                raise record
            if not isinstance(record, dict):
                raise RecordError(f"a record is a JSON object, got {type(record).__name__}")
            features = _search(attributes.features, record)
            if not isinstance(features, list):
                raise RecordError(
                    f"FeaturesAttribute {attributes.features!r} gives {str(features)[:60]!r}, not a list"
                )
            prediction = [
                _search(attributes.inference, record) if attributes.inference else None,
                _search(attributes.probability, record) if attributes.probability else None,
            ]
            parts = (_first(record, ID_FIELDS), _first(record, TIME_FIELDS), features, prediction)
            yield _event(uri, number, parts, hour)
        except RecordError as exc:
            stats.bad(where, str(exc))


def _loads(text: bytes) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return RecordError(f"not JSON ({exc})")


def _parquet_records(uri: str, data: bytes, attributes: Attributes, stats: ReadStats, hour):
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = pq.ParquetFile(pa.BufferReader(data))
    names = source.schema_arrow.names
    try:
        columns = _Columns(attributes, names, len(names))
    except RecordError as exc:
        stats.lines += source.metadata.num_rows
        stats.bad(uri, str(exc))
        return
    number = 0
    for batch in source.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        values = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for row in zip(*values, strict=True):
            number += 1
            stats.lines += 1
            try:
                yield _event(uri, number, columns.event(list(row), f"{uri} row {number}"), hour)
            except RecordError as exc:
                stats.bad(f"{uri} row {number}", str(exc))


def is_capture_file(uri: str, storage_options: dict | None) -> bool:
    """Whether an object holds SageMaker capture records (JSON Lines with ``captureData``).

    Reads only the (un-gzipped) first 4 KiB, not the whole object: the reader reads it again anyway.
    """
    with io.open_input(uri, storage_options) as stream:
        head = stream.read(4096).lstrip()
    return head.startswith(b"{") and b'"captureData"' in head.split(b"\n", 1)[0]


def iter_batch_transform_events(
    files: list[str],
    dataset_format: dict[str, Any],
    attributes: Attributes,
    start: datetime,
    end: datetime,
    stats: ReadStats,
    storage_options: dict | None = None,
) -> Iterator[CaptureEvent]:
    """Every record of ``files`` in ``[start, end)`` as a :class:`CaptureEvent` (one file in memory at a
    time; Parquet a row batch at a time)."""
    kind, flag = dataset_kind(dataset_format)
    for uri in files:
        hour = _hour_of(uri)
        data = io.read_bytes(uri, storage_options)
        stats.files += 1
        if kind == "csv":
            records = _csv_records(uri, data, flag, attributes, stats, hour)
        elif kind == "json":
            records = _json_records(uri, data, flag, attributes, stats, hour)
        else:
            records = _parquet_records(uri, data, attributes, stats, hour)
        for event in records:
            when = event.inference_time
            if when is None or not start <= when < end:
                stats.outside_window += 1
                continue
            stats.in_window += 1
            yield event
