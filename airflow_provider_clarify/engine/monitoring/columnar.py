"""Columnar (pyarrow) reading of capture and ground-truth JSON Lines: the fast path of the readers.

A capture object is read in blocks of about :data:`BLOCK_BYTES` of whole lines (memory stays bounded
by the block, never by the object or the window). Each block is parsed at once by
``pyarrow.json.read_json`` with an explicit schema of the record envelope (fields the schema does not
name are ignored). Rows the columnar path cannot decide exactly as the line-by-line parser
(:func:`~airflow_provider_clarify.engine.monitoring.capture.parse_capture_line`) would - a missing
``eventId`` or ``data``, a ``BASE64`` or unknown encoding, an ``inferenceTime`` that is not
``yyyy-mm-ddThh:mm:ssZ`` - go through that parser one by one, and a block that pyarrow cannot parse
at all (a line that is not a JSON object, a field of another JSON type) goes through it entirely.
So the counts and reasons of malformed lines are exactly those of the line-by-line path.

Then :func:`csv_predictions` decodes the payloads of a block of CSV requests and responses at once
(one record per request, the common case); requests it cannot decode exactly are handed back to the
per-record decoder of :mod:`~airflow_provider_clarify.engine.monitoring.records`.
"""

from __future__ import annotations

import io as _stdio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from airflow_provider_clarify.analysis.monitoring import capture_format as cf
from airflow_provider_clarify.engine import io

#: Bytes of whole lines parsed at once (the reader's memory bound per object being read).
BLOCK_BYTES = 8 << 20
_READ_BYTES = 1 << 20


_WHITESPACE = b" \t\r\x0b\x0c"
#: A blank line after the first (the regex starts with a literal, so the scan is a fast search).
_BLANK_LINE = re.compile(rb"\n[ \t\r\x0b\x0c]*(?:\n|\Z)")


@dataclass
class Block:
    """Whole lines of an object: ``data`` (without its last newline), the first line's number."""

    first: int
    data: bytes
    _lines: tuple[list[int], list[bytes]] | None = None

    @property
    def has_blank_lines(self) -> bool:
        first_line = self.data.lstrip(_WHITESPACE)[:1]
        return first_line in (b"", b"\n") or _BLANK_LINE.search(self.data) is not None

    def lines(self) -> tuple[list[int], list[bytes]]:
        """``(line_numbers, lines)`` of the non-blank lines (what the line-by-line reader reads)."""
        if self._lines is None:
            numbers, lines = [], []
            for offset, line in enumerate(self.data.split(b"\n")):
                if line.strip():
                    numbers.append(self.first + offset)
                    lines.append(line)
            self._lines = (numbers, lines)
        return self._lines


def line_blocks(uri: str, storage_options: dict | None, block_bytes: int = BLOCK_BYTES) -> Iterator[Block]:
    """The object as :class:`Block` objects of about ``block_bytes`` of whole lines (gzip is decompressed)."""
    first = 1
    buffer = b""
    with io.open_input(uri, storage_options) as stream:
        while True:
            chunk = stream.read(min(_READ_BYTES, block_bytes))
            buffer += chunk
            while len(buffer) >= block_bytes or (not chunk and buffer):
                if chunk:
                    cut = buffer.find(b"\n", block_bytes - 1)
                    if cut < 0:
                        break  # the line goes on in the next chunk
                else:  # the rest of the object; a final newline ends the last line, it starts none
                    cut = len(buffer) - 1 if buffer.endswith(b"\n") else len(buffer)
                data = buffer[:cut]
                buffer = buffer[cut + 1 :]
                yield Block(first, data)
                first += data.count(b"\n") + 1
            if not chunk:
                break


def _schemas():
    import pyarrow as pa

    block = pa.struct(
        [(cf.OBSERVED_CONTENT_TYPE, pa.string()), (cf.DATA, pa.string()), (cf.ENCODING, pa.string())]
    )
    metadata = pa.struct(
        [(cf.EVENT_ID, pa.string()), (cf.INFERENCE_ID, pa.string()), (cf.INFERENCE_TIME, pa.string())]
    )
    capture = pa.schema(
        [
            (cf.CAPTURE_DATA, pa.struct([(cf.ENDPOINT_INPUT, block), (cf.ENDPOINT_OUTPUT, block)])),
            (cf.EVENT_METADATA, metadata),
        ]
    )
    truth = pa.schema(
        [
            (cf.GROUND_TRUTH_DATA, pa.struct([(cf.DATA, pa.string()), (cf.ENCODING, pa.string())])),
            (cf.EVENT_METADATA, pa.struct([(cf.EVENT_ID, pa.string())])),
        ]
    )
    return capture, truth


def _read_json(data: bytes, schema) -> Any:
    import pyarrow as pa
    import pyarrow.json as pj

    try:
        return pj.read_json(
            _stdio.BytesIO(data),
            read_options=pj.ReadOptions(block_size=max(1 << 20, len(data) + 1)),
            parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def parse_block(block: Block, schema) -> tuple[Any, int]:
    """``(table, lines)``: the block's non-blank lines as one table of ``schema`` row for row, or
    ``(None, lines)`` when pyarrow cannot parse them so (then every line goes the line-by-line way).

    pyarrow splits objects at newlines (an object spanning lines fails), so when no line is blank,
    one row per line is exactly "one object per line"; a line holding two objects shows as an extra row.
    """
    if not block.has_blank_lines:
        count = block.data.count(b"\n") + 1
        table = _read_json(block.data, schema)
        return (table if table is not None and table.num_rows == count else None), count
    _, lines = block.lines()
    table = _read_json(b"\n".join(lines), schema) if lines else None
    return (table if table is not None and table.num_rows == len(lines) else None), len(lines)


def _field(table, *path: str):
    import pyarrow.compute as pc

    column = table.column(path[0])
    for name in path[1:]:
        column = pc.struct_field(column, name)
    return column.combine_chunks() if hasattr(column, "combine_chunks") else column


def _text_encoding(encoding) -> Any:
    """True where the encoding is CSV or JSON (or absent, which means CSV) - payload is the text itself."""
    import pyarrow.compute as pc

    upper = pc.utf8_upper(encoding)
    return pc.fill_null(pc.is_in(upper, value_set=_text_encodings()), True)


def _text_encodings():
    import pyarrow as pa

    return pa.array([cf.ENCODING_CSV, cf.ENCODING_JSON])


def _present(column) -> Any:
    import pyarrow.compute as pc

    return pc.fill_null(pc.not_equal(column, ""), False)


@dataclass
class CaptureBatch:
    """Captured events of one block, in the window, decoded by the columnar path (string columns)."""

    event_id: Any
    join_id: Any
    input_content_type: Any
    input_data: Any
    output_content_type: Any
    output_data: Any

    def __len__(self) -> int:
        return len(self.event_id)


def capture_block(
    block: Block, folder_hour: datetime | None, start: datetime, end: datetime
) -> tuple[CaptureBatch | None, list[int], Any, int]:
    """Parse one block of capture lines.

    :returns: ``(batch, slow_rows, outside, lines)``: the batch of fast rows in the window (``None``
        when the block must be parsed line by line), the indexes (in ``block.lines()``) of the lines to
        parse line by line, the number of fast rows outside the window, and the non-blank lines read.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    schema, _ = _schemas()
    table, count = parse_block(block, schema)
    if table is None:
        return None, list(range(count)), 0, count
    event_id = _field(table, cf.EVENT_METADATA, cf.EVENT_ID)
    inference_id = _field(table, cf.EVENT_METADATA, cf.INFERENCE_ID)
    when = _field(table, cf.EVENT_METADATA, cf.INFERENCE_TIME)
    in_type = _field(table, cf.CAPTURE_DATA, cf.ENDPOINT_INPUT, cf.OBSERVED_CONTENT_TYPE)
    in_data = _field(table, cf.CAPTURE_DATA, cf.ENDPOINT_INPUT, cf.DATA)
    out_type = _field(table, cf.CAPTURE_DATA, cf.ENDPOINT_OUTPUT, cf.OBSERVED_CONTENT_TYPE)
    out_data = _field(table, cf.CAPTURE_DATA, cf.ENDPOINT_OUTPUT, cf.DATA)
    moment = pc.strptime(when, format=cf.INFERENCE_TIME_FORMAT, unit="s", error_is_null=True)
    fast = pc.and_(
        pc.and_(_present(event_id), pc.and_(pc.is_valid(in_data), pc.is_valid(out_data))),
        pc.and_(
            pc.and_(
                _text_encoding(_field(table, cf.CAPTURE_DATA, cf.ENDPOINT_INPUT, cf.ENCODING)),
                _text_encoding(_field(table, cf.CAPTURE_DATA, cf.ENDPOINT_OUTPUT, cf.ENCODING)),
            ),
            pc.or_(pc.is_null(when), pc.is_valid(moment)),
        ),
    )
    fast = pc.fill_null(fast, False)
    slow_rows = pc.indices_nonzero(pc.invert(fast)).to_pylist()
    if folder_hour is None:
        timed = pc.is_valid(moment)
        moment = moment.cast(pa.timestamp("s", tz="UTC"))
    else:
        timed = None
        moment = pc.fill_null(
            moment.cast(pa.timestamp("s", tz="UTC")), pa.scalar(folder_hour, pa.timestamp("s", tz="UTC"))
        )
    inside = pc.and_(
        pc.greater_equal(moment, pa.scalar(start.astimezone(UTC), pa.timestamp("s", tz="UTC"))),
        pc.less(moment, pa.scalar(end.astimezone(UTC), pa.timestamp("s", tz="UTC"))),
    )
    if timed is not None:
        inside = pc.and_(inside, timed)
    inside = pc.fill_null(inside, False)
    keep = pc.and_(fast, inside)
    outside = pc.sum(pc.and_(fast, pc.invert(inside))).as_py() or 0
    join = pc.if_else(_present(inference_id), inference_id, event_id)
    batch = CaptureBatch(
        event_id=pc.filter(event_id, keep),
        join_id=pc.filter(join, keep),
        input_content_type=pc.filter(pc.fill_null(in_type, ""), keep),
        input_data=pc.filter(in_data, keep),
        output_content_type=pc.filter(pc.fill_null(out_type, ""), keep),
        output_data=pc.filter(out_data, keep),
    )
    return batch, slow_rows, outside, count


def ground_truth_block(block: Block) -> tuple[list[Any] | None, list[Any] | None, int]:
    """``(ids, labels, lines)`` of one block of ground-truth lines, ``None`` entries where a line must
    be parsed line by line (both lists ``None`` when the whole block must), and the lines read."""
    import pyarrow.compute as pc

    _, schema = _schemas()
    table, count = parse_block(block, schema)
    if table is None:
        return None, None, count
    event_id = _field(table, cf.EVENT_METADATA, cf.EVENT_ID)
    data = _field(table, cf.GROUND_TRUTH_DATA, cf.DATA)
    encoding = pc.utf8_upper(_field(table, cf.GROUND_TRUTH_DATA, cf.ENCODING))
    csv = pc.fill_null(pc.equal(encoding, cf.ENCODING_CSV), True)
    fast = pc.fill_null(pc.and_(pc.and_(_present(event_id), pc.is_valid(data)), csv), False)
    ids = pc.if_else(fast, event_id, None).to_pylist()
    labels = pc.if_else(fast, pc.utf8_trim_whitespace(data), None).to_pylist()
    return ids, labels, count


# --- vectorized decode of CSV payloads -----------------------------------------------------------


def _single_line(data) -> Any:
    """True where a CSV payload is one non-empty line without quoting (a plain split is exact)."""
    import pyarrow.compute as pc

    plain = pc.invert(pc.match_substring_regex(data, r'["\n\r]'))
    return pc.and_(plain, pc.not_equal(data, ""))


def csv_decode(batch: CaptureBatch, kinds: dict[str, str], attributes: Any, width: int | None, bias: bool):
    """Decode the CSV requests (and responses, for bias) of ``batch`` at once.

    :param kinds: ``records._kind``'s answer per content type seen in the batch (``"csv"``, ``"json"``,
        ``"jsonlines"`` or ``"?"`` when the payload decides).
    :param width: the feature count fixed by the first record, or ``None`` (taken from this batch).
    :returns: ``(features, labels, probabilities, fast_mask)``: ``features`` a list of string
        arrays (one per captured feature) of the fast rows, ``labels`` the predicted labels (strings) of
        the fast rows (``None`` for explainability), and the boolean mask of the fast rows within
        ``batch``; every other row is decoded record by record.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    def kind_mask(types, wanted: str):
        matching = [t for t, k in kinds.items() if k == wanted]
        return pc.is_in(types, value_set=pa.array(matching, pa.string()))

    fast = pc.and_(kind_mask(batch.input_content_type, "csv"), _single_line(batch.input_data))
    split = pc.split_pattern(batch.input_data, ",")
    lengths = pc.list_value_length(split)
    if width is None:
        candidates = pc.filter(lengths, fast)
        if len(candidates) == 0:
            return [], None, pc.fill_null(fast, False)
        width = candidates[0].as_py()
    fast = pc.and_(fast, pc.equal(lengths, width))
    labels = None
    if bias:
        fast = pc.and_(
            fast, pc.and_(kind_mask(batch.output_content_type, "csv"), _single_line(batch.output_data))
        )
        out = pc.split_pattern(batch.output_data, ",")
        out_lengths = pc.list_value_length(out)
        picked = []
        for locator in (attributes.probability, attributes.inference):
            if locator is None:
                picked.append(None)
                continue
            if not str(locator).isdigit():  # a negative or non-numeric index: the record path says why
                return [], None, _nothing(fast)
            index = int(locator)
            fast = pc.and_(fast, pc.greater(out_lengths, index))
            picked.append(index)
        fast = pc.fill_null(fast, False)
        if picked == [None, None]:
            fast = pc.and_(fast, pc.equal(out_lengths, 1))
            scores = _element(pc.filter(out, fast), 0)
        elif picked[1] is not None:
            scores = None
        else:
            scores = _element(pc.filter(out, fast), picked[0])
        if scores is not None:
            numbers = _numbers(scores)
            if numbers is None:  # some score is not a number: the record path reports which
                return [], None, _nothing(fast)
            labels = pc.if_else(pc.greater(numbers, attributes.threshold), "1", "0")
        else:
            labels = _element(pc.filter(out, fast), picked[1])
    fast = pc.fill_null(fast, False)
    rows = pc.filter(split, fast)
    features = [_element(rows, i) for i in range(width)]
    return features, labels, fast


def _element(lists, index: int):
    import pyarrow.compute as pc

    return pc.list_element(lists, index)


def _numbers(values):
    """The values as float64 (as Python's ``float()`` reads them), or ``None`` if one is not a number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return pc.cast(pc.utf8_trim_whitespace(values), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _nothing(mask):
    """An all-false mask as long as ``mask``."""
    import pyarrow as pa

    return pa.array([False] * len(mask), pa.bool_())
