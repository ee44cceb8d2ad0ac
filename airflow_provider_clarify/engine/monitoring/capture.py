"""Read SageMaker data capture and ground truth for one analysis window, streaming.

* :func:`capture_files` lists the capture objects of the hour folders a window touches
  (``{destination}/{endpoint}/{variant}/yyyy/mm/dd/hh/*.jsonl``);
* :func:`iter_capture_events` parses them line by line, keeping records whose ``inferenceTime`` lies in
  ``[start, end)`` (a record without one belongs to its hour folder); :func:`iter_capture_items` does
  the same with the columnar fast path (:mod:`~airflow_provider_clarify.engine.monitoring.columnar`),
  yielding whole blocks of events at once and single events only for lines that need the slow path;
* :func:`read_ground_truth` maps event ids to labels from ``{ground_truth}/yyyy/mm/dd/hh/*.jsonl``.

A line that cannot be parsed is never dropped silently: it is counted in :class:`ReadStats` with the
first few reasons, and the execution reports the counts.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider_clarify.analysis.monitoring import capture_format as cf
from airflow_provider_clarify.engine import io

MAX_REASONS = 5


@dataclass
class ReadStats:
    """What the readers saw: files, lines, records kept, and malformed lines with sample reasons."""

    files: int = 0
    lines: int = 0
    in_window: int = 0
    outside_window: int = 0
    malformed: int = 0
    reasons: list[str] = field(default_factory=list)

    def bad(self, where: str, reason: str) -> None:
        self.malformed += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(f"{where}: {reason}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "lines": self.lines,
            "records_in_window": self.in_window,
            "records_outside_window": self.outside_window,
            "malformed_lines": self.malformed,
            "malformed_examples": list(self.reasons),
        }


@dataclass(frozen=True)
class CaptureEvent:
    """One captured request/response, decoded."""

    event_id: str
    inference_id: str | None
    inference_time: datetime | None
    input_content_type: str
    input_payload: bytes
    output_content_type: str
    output_payload: bytes

    @property
    def join_id(self) -> str:
        """The id ground truth refers to: the caller's inference id if any, else the event id."""
        return self.inference_id or self.event_id


def hours_between(start: datetime, end: datetime) -> list[datetime]:
    """The hour marks ``h`` with ``floor_hour(start) <= h < end`` (the hour folders a window reads)."""
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    out = []
    while hour < end:
        out.append(hour)
        hour += timedelta(hours=1)
    return out


def _list_dir(uri: str, storage_options: dict | None) -> list[tuple[str, bool]]:
    """``(uri, is_directory)`` of the direct children of ``uri`` (empty if it does not exist)."""
    import pyarrow.fs as pafs

    resolved = io.resolve(uri, storage_options)
    try:
        infos = resolved.filesystem.get_file_info(pafs.FileSelector(resolved.path, allow_not_found=True))
    except OSError as exc:
        raise io.EngineIOError(f"Cannot list {uri!r}: {exc}") from exc
    return sorted(
        (resolved.uri(i.path), i.type == pafs.FileType.Directory)
        for i in infos
        if i.type in (pafs.FileType.File, pafs.FileType.Directory)
        and not posixpath.basename(i.path).startswith((".", "_"))
    )


def _hour_files(root: str, hours: list[datetime], storage_options: dict | None) -> list[str]:
    files: list[str] = []
    for hour in hours:
        files += [
            uri
            for uri, is_dir in _list_dir(io.join_uri(root, cf.hour_folder(hour)), storage_options)
            if not is_dir
        ]
    return files


def capture_root(data_capture_uri: str, endpoint_name: str | None, storage_options: dict | None) -> str:
    """``{destination}/{endpoint}`` when the destination holds the endpoint's folder, else the URI itself."""
    if endpoint_name:
        candidate = io.join_uri(data_capture_uri, endpoint_name)
        if _list_dir(candidate, storage_options):
            return candidate
    return data_capture_uri


def capture_files(
    data_capture_uri: str,
    endpoint_name: str | None,
    start: datetime,
    end: datetime,
    storage_options: dict | None = None,
) -> list[str]:
    """Capture objects of every variant in the hour folders of ``[start, end)``.

    ``data_capture_uri`` is the endpoint's ``DataCaptureConfig.DestinationS3Uri`` (the endpoint name is
    appended when that folder exists), or directly an endpoint's or a variant's folder.
    """
    root = capture_root(data_capture_uri, endpoint_name, storage_options)
    hours = hours_between(start, end)
    children = _list_dir(root, storage_options)
    if any(posixpath.basename(uri).isdigit() and len(posixpath.basename(uri)) == 4 for uri, _ in children):
        return _hour_files(root, hours, storage_options)  # a variant folder (yyyy/...) was given
    files: list[str] = []
    for variant, is_dir in children:
        if is_dir:
            files += _hour_files(variant, hours, storage_options)
    return files


CHUNK_BYTES = 1 << 20


def _lines(uri: str, storage_options: dict | None) -> Iterator[tuple[int, bytes]]:
    """``(line_number, line)`` of an object, read in 1 MiB chunks (gzip is decompressed)."""
    number = 0
    rest = b""
    with io.open_input(uri, storage_options) as stream:
        while True:
            chunk = stream.read(CHUNK_BYTES)
            if not chunk:
                break
            parts = (rest + chunk).split(b"\n")
            rest = parts.pop()
            for line in parts:
                number += 1
                yield number, line
    if rest:
        yield number + 1, rest


def _block(capture: dict, key: str) -> tuple[str, bytes]:
    block = capture[key]
    return block.get(cf.OBSERVED_CONTENT_TYPE) or "", cf.decode_payload(
        block[cf.DATA], block.get(cf.ENCODING)
    )


def parse_capture_line(line: bytes) -> CaptureEvent:
    """One capture JSON line as a :class:`CaptureEvent`; ``ValueError``/``KeyError`` when malformed."""
    record = json.loads(line)
    if not isinstance(record, dict):
        raise ValueError("a capture line must be a JSON object")
    capture = record[cf.CAPTURE_DATA]
    metadata = record.get(cf.EVENT_METADATA) or {}
    input_type, input_payload = _block(capture, cf.ENDPOINT_INPUT)
    output_type, output_payload = _block(capture, cf.ENDPOINT_OUTPUT)
    event_id = metadata.get(cf.EVENT_ID)
    if not event_id:
        raise KeyError("eventMetadata.eventId")
    when = metadata.get(cf.INFERENCE_TIME)
    return CaptureEvent(
        event_id=str(event_id),
        inference_id=metadata.get(cf.INFERENCE_ID) or None,
        inference_time=cf.parse_inference_time(when) if when else None,
        input_content_type=input_type,
        input_payload=input_payload,
        output_content_type=output_type,
        output_payload=output_payload,
    )


def _hour_of(uri: str) -> datetime | None:
    parts = uri.rstrip("/").split("/")[-5:-1]
    try:
        return datetime(int(parts[0]), int(parts[1]), int(parts[2]), int(parts[3]), tzinfo=UTC)
    except (ValueError, IndexError):
        return None


def iter_capture_events(
    files: list[str],
    start: datetime,
    end: datetime,
    stats: ReadStats,
    storage_options: dict | None = None,
) -> Iterator[CaptureEvent]:
    """The captured events of ``files`` whose inference time lies in ``[start, end)``."""
    for uri in files:
        stats.files += 1
        folder_hour = _hour_of(uri)
        for number, line in _lines(uri, storage_options):
            if not line.strip():
                continue
            stats.lines += 1
            try:
                event = parse_capture_line(line)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                stats.bad(f"{uri}:{number}", f"{type(exc).__name__}: {exc}")
                continue
            moment = event.inference_time or folder_hour
            if moment is None or not start <= moment < end:
                stats.outside_window += 1
                continue
            stats.in_window += 1
            yield event


def iter_capture_items(
    files: list[str],
    start: datetime,
    end: datetime,
    stats: ReadStats,
    storage_options: dict | None = None,
    block_bytes: int | None = None,
) -> Iterator[Any]:
    """Like :func:`iter_capture_events`, but blocks of lines are parsed at once: yields
    :class:`~airflow_provider_clarify.engine.monitoring.columnar.CaptureBatch` objects for the lines the
    columnar path decodes, and :class:`CaptureEvent` objects for the others (parsed line by line, so
    malformed lines are counted with the same reasons)."""
    from airflow_provider_clarify.engine.monitoring import columnar

    for uri in files:
        stats.files += 1
        folder_hour = _hour_of(uri)
        for block in columnar.line_blocks(uri, storage_options, block_bytes or columnar.BLOCK_BYTES):
            batch, slow_rows, outside, count = columnar.capture_block(block, folder_hour, start, end)
            stats.lines += count
            stats.outside_window += outside
            if batch is not None and len(batch):
                stats.in_window += len(batch)
                yield batch
            numbers, lines = block.lines() if slow_rows else ([], [])
            for row in slow_rows:
                try:
                    event = parse_capture_line(lines[row])
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    stats.bad(f"{uri}:{numbers[row]}", f"{type(exc).__name__}: {exc}")
                    continue
                moment = event.inference_time or folder_hour
                if moment is None or not start <= moment < end:
                    stats.outside_window += 1
                    continue
                stats.in_window += 1
                yield event


def parse_ground_truth_line(line: bytes) -> tuple[str, Any]:
    """``(event_id, label)`` of one ground-truth line; the label is decoded per its encoding."""
    record = json.loads(line)
    block = record[cf.GROUND_TRUTH_DATA]
    event_id = (record.get(cf.EVENT_METADATA) or {}).get(cf.EVENT_ID)
    if not event_id:
        raise KeyError("eventMetadata.eventId")
    encoding = (block.get(cf.ENCODING) or cf.ENCODING_CSV).upper()
    text = cf.decode_payload(block[cf.DATA], encoding).decode("utf-8").strip()
    if encoding == cf.ENCODING_JSON or (encoding == cf.ENCODING_BASE64 and text[:1] in '[{"'):
        value = json.loads(text)
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, dict | list):
            raise ValueError(f"ground truth must be one label value, got {text[:80]!r}")
        return str(event_id), value
    return str(event_id), text


def read_ground_truth(
    ground_truth_uri: str,
    start: datetime,
    until: datetime,
    stats: ReadStats,
    storage_options: dict | None = None,
    labels: Any = None,
    columnar: bool = True,
) -> Any:
    """Labels by event id from the hour folders ``floor_hour(start) <= h < until`` (later label wins).

    ``labels`` receives them (anything with ``labels[id] = label`` or ``put``, e.g. a
    :class:`~airflow_provider_clarify.engine.monitoring.labels.LabelStore`); default a new dict.
    ``columnar``: parse blocks of lines with pyarrow (CSV-encoded labels; every other line, and every
    line of a block pyarrow cannot parse, line by line), else every line by line.
    """
    labels = {} if labels is None else labels
    for uri in ground_truth_files(ground_truth_uri, start, until, storage_options):
        read_ground_truth_file(uri, stats, storage_options, labels, columnar=columnar)
    return labels


def ground_truth_files(
    ground_truth_uri: str, start: datetime, until: datetime, storage_options: dict | None = None
) -> list[str]:
    """The ground-truth objects of the hour folders ``floor_hour(start) <= h < until``, in reading order."""
    return _hour_files(ground_truth_uri, hours_between(start, until), storage_options)


def read_ground_truth_file(
    uri: str, stats: ReadStats, storage_options: dict | None, labels: Any, *, columnar: bool = True
) -> None:
    """The labels of one ground-truth object into ``labels`` (in line order; see :func:`read_ground_truth`)."""
    stats.files += 1
    if columnar:
        _read_ground_truth_blocks(uri, stats, storage_options, labels)
        return
    put = getattr(labels, "put", None) or labels.__setitem__
    for number, line in _lines(uri, storage_options):
        if not line.strip():
            continue
        stats.lines += 1
        try:
            event_id, label = parse_ground_truth_line(line)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            stats.bad(f"{uri}:{number}", f"{type(exc).__name__}: {exc}")
            continue
        put(event_id, label)


def _read_ground_truth_blocks(uri: str, stats: ReadStats, storage_options: dict | None, labels: Any) -> None:
    from airflow_provider_clarify.engine.monitoring import columnar

    put = getattr(labels, "put", None) or labels.__setitem__
    put_many = getattr(labels, "put_many", None) or (lambda ids, values: labels.update(zip(ids, values)))
    for block in columnar.line_blocks(uri, storage_options):
        ids, values, count = columnar.ground_truth_block(block)
        stats.lines += count
        if ids is None:
            ids, values = [None] * count, [None] * count
        elif None not in ids:
            put_many(ids, values)
            continue
        numbers, lines = block.lines()
        for row, (event_id, label) in enumerate(zip(ids, values, strict=True)):
            if event_id is None:  # the line-by-line path, in line order (a later label wins)
                try:
                    event_id, label = parse_ground_truth_line(lines[row])
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    stats.bad(f"{uri}:{numbers[row]}", f"{type(exc).__name__}: {exc}")
                    continue
            put(event_id, label)
