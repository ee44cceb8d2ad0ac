"""CSV datasets: header detection, pandas' reading rules, and streaming of large files.

Column names come from the config's ``headers`` or from the file's header row; without either,
``column_0``, ``column_1``, ... A first row counts as a header row when none of its cells is a
number (or when it equals the configured ``headers``), as the Clarify container decides. Files over
``STREAM_THRESHOLD_BYTES`` are streamed (:class:`CsvStreamData`); smaller ones are read in one go.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_clarify.engine import io, pandas_csv
from airflow_provider_clarify.engine.datasets._batches import TabularData
from airflow_provider_clarify.engine.datasets._errors import DatasetError
from airflow_provider_clarify.engine.datasets._pandas_types import (
    pandas_cast,
    pandas_like_table,
    pandas_like_type,
    widen,
)
from airflow_provider_clarify.engine.io import EngineIOError

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

#: CSV inputs larger than this (bytes as stored) are streamed instead of read in one go. pyarrow's
#: one-go reader holds about three times the file while parsing (a 239 MiB file peaked at 763 MiB),
#: a streamed run a few blocks whatever the size (215-315 MiB peak RSS from 4M to 10M rows). At
#: 64 MiB the two peaks meet (a 60 MiB file read whole: 297 MiB), so peak memory stays flat in the
#: row count, and smaller files keep the one-go parse, which uses both cores (docs/performance.md).
STREAM_THRESHOLD_BYTES = 64 * 1024 * 1024
#: Bytes of CSV text per streamed block (pyarrow infers a streamed column's type from the first one;
#: a later block that disagrees restarts the typing pass). pyarrow's streaming reader reads up to 32
#: blocks ahead of the consumer, so this also caps the text held in memory: 2 MiB blocks hold at most
#: 64 MiB (8 MiB blocks held 256 MiB, most of the peak of a streamed run; docs/performance.md).
STREAM_BLOCK_BYTES = 2 << 20


class CsvStreamData(TabularData):
    """Large CSV files streamed with :func:`pyarrow.csv.open_csv`, parsed once per set of columns.

    Nothing is read when the data is opened. The first request for some columns parses only those
    columns (``include_columns``) in one pass that settles their types over the whole data (a column
    that looks integral in the first block but holds ``2.5`` later becomes float64, text later makes
    it a string column; such a change restarts the pass) and writes the typed batches to a spill
    file (Arrow IPC, in the temporary directory, removed with the object). Every later request for
    those columns streams the spill instead of parsing the CSV again, so the bias metrics' two
    passes cost one parse, and memory stays bounded by one block whatever the number of rows.

    Float columns are read as text and converted by :mod:`.pandas_csv`'s rules in the same pass;
    integer columns with a missing cell become float64 (pandas' dtype).
    """

    def __init__(self, files: list[str], layouts: list[CsvLayout], storage_options: dict | None = None):
        self.files = files
        self.layouts = layouts
        self.storage_options = storage_options
        self.column_names = list(layouts[0].names)
        #: settled pandas-like types of the columns read so far
        self.types: dict[str, pa.DataType] = {}
        #: settled int64 columns that pyarrow cannot parse as integers (``+5``): read as text
        self.integer_text: set[str] = set()
        #: settled float64 columns of integers with missing cells: read as integers, then cast
        self.integer_missing: set[str] = set()
        self._spill: _Spill | None = None
        #: full parses of the CSV data so far (each over the columns of one request)
        self.parses = 0

    def _open(self, index: int, column_types: dict | None, columns: list[str]):
        import pyarrow.csv as pacsv

        layout = self.layouts[index]
        return pacsv.open_csv(
            io.open_input(self.files[index], self.storage_options),
            read_options=pacsv.ReadOptions(
                column_names=layout.names,
                skip_rows=1 if layout.header_row else 0,
                block_size=STREAM_BLOCK_BYTES,
            ),
            convert_options=_csv_convert_options(column_types, columns),
        )

    def type_of(self, column):
        if column not in self.types:
            self._scan([column])
        return self.types[column]

    def _iter_batches(self, columns, batch_rows):
        columns = list(dict.fromkeys(self.column_names if columns is None else columns))
        for name in columns:
            if name not in self.column_names:
                raise KeyError(name)
        if self._spill is None or not set(columns) <= set(self._spill.columns):
            self._scan(columns)
        assert self._spill is not None
        yield from self._spill.batches(columns, self.types)

    def _scan(self, columns: list[str]) -> None:
        """Parse ``columns`` once over all files, settling their types, into a new spill file."""
        import pyarrow as pa

        columns = list(dict.fromkeys(columns))
        state = _ScanState(
            {name: self.types[name] for name in columns if name in self.types},
            integer_text=self.integer_text & set(columns),
            integer_missing=self.integer_missing & set(columns),
        )
        for _attempt in range(4 * len(columns) + 4):
            spill = _Spill(columns)
            index = 0
            try:
                for index in range(len(self.files)):
                    self._scan_file(index, columns, state, spill)
                spill.close()
            except _ColumnFailed as failed:
                spill.discard()
                state.fail(failed.name)
                continue
            except pa.ArrowInvalid as exc:
                spill.discard()
                name = _failed_csv_column(str(exc), self.column_names)
                if name is None or name not in columns:
                    raise malformed_csv_error(
                        self.files[index], self.layouts[index], self.storage_options, exc
                    ) from exc
                if not state.fail(name):  # already text: no wider type, a cell that is not UTF-8
                    if "UTF8" in str(exc):
                        raise invalid_utf8_error(self.files[index], self.storage_options) from exc
                    raise malformed_csv_error(
                        self.files[index], self.layouts[index], self.storage_options, exc
                    ) from exc
                continue
            except BaseException:
                spill.discard()
                raise
            retry = state.finish()
            if retry:
                spill.discard()
                continue
            break
        else:  # pragma: no cover - every restart settles one column for good
            raise DatasetError(f"Could not settle the column types of {self.source}.")
        self.types.update({name: state.types[name] for name in columns})
        self.integer_text = (self.integer_text - set(columns)) | state.integer_text
        self.integer_missing = (self.integer_missing - set(columns)) | state.integer_missing
        if self._spill is not None:
            self._spill.discard()
        self._spill = spill

    def _scan_file(self, index: int, columns: list[str], state: _ScanState, spill: _Spill) -> None:
        import pyarrow as pa

        self.parses += 1
        reader = self._open(index, state.read_types() or None, columns)
        if any(pa.types.is_binary(t) or pa.types.is_large_binary(t) for t in reader.schema.types):
            raise invalid_utf8_error(self.files[index], self.storage_options)
        if state.note_schema(reader.schema):
            # floats, dates or empty columns inferred from the first block: read them as text
            reader = self._open(index, state.read_types(), columns)
        for batch in reader:
            spill.write(state.convert(batch.select(columns)))


class _ColumnFailed(Exception):
    """A column read as float text holds a cell that is not a number: it becomes a string column."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _ScanState:
    """Column types being settled by one :meth:`CsvStreamData._scan` (kept across restarts).

    ``types`` are the pandas-like types decided so far. Float columns (and columns whose first block
    is empty, which pandas reads as float when every later cell is a number) are read as text and
    converted with pandas' float rules (``float_text``). Integer columns that pyarrow cannot parse
    (``+5``, which pandas reads as an integer) are read as text and converted to int64
    (``integer_text``). The rules match :func:`read_csv_file`'s for a file read in one go:

    * a float column holding a number beyond the double range (``1e309``) or a NaN spelling that
      is no missing-value token (``NAN``) is text, as in pandas;
    * a float column whose every present cell is an integer literal is int64, or float64 cast
      from the integers when a cell is missing, as in pandas (found by the first pass, then read
      again as integer text: a second parse, for such columns only).
    """

    def __init__(
        self, settled: dict, integer_text: set[str] = frozenset(), integer_missing: set[str] = frozenset()
    ) -> None:
        import pyarrow as pa

        self.types: dict[str, pa.DataType] = dict(settled)
        #: float64 columns that are integers with missing cells: read as int64, cast when read back
        self.integer_missing: set[str] = set(integer_missing)
        self.integer_text: set[str] = set(integer_text)
        self.float_text: set[str] = {
            n
            for n, t in settled.items()
            if pa.types.is_floating(t) and n not in self.integer_missing and n not in self.integer_text
        }
        #: float columns that proved to be floats for pandas, never integer literals
        self.never_integer: set[str] = set()
        #: columns whose first block was empty, read as floats until a cell says otherwise
        self.first_block_empty: set[str] = set()
        self._begin()

    def _begin(self) -> None:
        """Forget what one pass over the data observed (a restart reads everything again)."""
        self.has_nulls: set[str] = set()
        #: float-text columns seen in this pass with a cell that is not an integer literal
        self.not_integer: set[str] = set()
        #: float-text columns with a present cell in this pass, and with a missing one
        self.float_present: set[str] = set()
        self.float_missing: set[str] = set()

    def read_types(self) -> dict:
        import pyarrow as pa

        as_text = self.float_text | self.integer_text
        return {
            name: pa.string() if name in as_text else pa.int64() if name in self.integer_missing else typ
            for name, typ in self.types.items()
        }

    def note_schema(self, schema) -> bool:
        """Record the first block's inferred types; whether some must be re-read as text."""
        import pyarrow as pa

        reopen = False
        for name, typ in zip(schema.names, schema.types, strict=True):
            if name in self.types:
                continue
            if pa.types.is_floating(typ) or pa.types.is_null(typ):
                self.types[name] = pa.float64()
                self.float_text.add(name)
                if pa.types.is_null(typ):
                    self.first_block_empty.add(name)
                reopen = True
            elif pa.types.is_temporal(typ):
                self.types[name] = pa.string()
                reopen = True
            else:
                self.types[name] = pandas_like_type(typ)
        return reopen

    def fail(self, name: str) -> bool:
        """A cell of ``name`` did not convert: an integer column becomes float, anything else text.

        A column whose first block was empty (so with missing cells) is tried as float, then as
        boolean (pandas reads ``True``, empty, ``False`` as booleans with NaN), then as text.
        ``False`` when the column is read as text already: no type is wider, the cell is no typing
        question (a byte that is not UTF-8) and a restart would fail the same way.
        """
        import pyarrow as pa

        as_text = name not in self.float_text and name not in self.integer_text
        if as_text and pa.types.is_string(self.types.get(name, pa.null())):
            return False
        if name in self.first_block_empty and name in self.float_text:
            self.float_text.discard(name)
            self.types[name] = pa.bool_()
        elif name in self.integer_missing:
            self.integer_missing.discard(name)
            self.float_text.add(name)
        elif name in self.integer_text:
            self.integer_text.discard(name)
            self.never_integer.add(name)
            self.types[name] = pa.float64()
            self.float_text.add(name)
        elif pa.types.is_integer(self.types.get(name, pa.int64())) and name not in self.float_text:
            self.types[name] = pa.float64()
            self.float_text.add(name)
        else:
            self.types[name] = pa.string()
            self.float_text.discard(name)
        self._begin()
        return True

    def convert(self, batch):
        """Text -> pandas' doubles or integers; notes integer columns with missing cells."""
        import pyarrow as pa

        arrays = []
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            if name in self.float_text:
                column = self._float_text(name, column)
            elif name in self.integer_text:
                if len(column) > column.null_count:
                    ints = pandas_csv.pandas_integer_values(column, allow_missing=True)
                else:
                    ints = pa.nulls(len(column), pa.int64())
                if ints is None:
                    raise _ColumnFailed(name)
                column = pandas_cast(ints, self.types[name])
            elif pa.types.is_integer(column.type) and column.null_count:
                self.has_nulls.add(name)
            arrays.append(column)
        return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)

    def _float_text(self, name: str, text):
        """One batch of a float column read as text, as pandas' doubles.

        A cell that is not a number makes the column text, and so does a number beyond the double
        range or ``NAN`` (pandas' C parser refuses them and keeps the whole column as text): both
        restart the pass.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            exact = pc.cast(pc.utf8_trim(text, " \t"), pa.float64())  # pyarrow's float cells
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise _ColumnFailed(name) from None
        values, overflow = pandas_csv.pandas_float_column(text, correctly_rounded=exact)
        if overflow is not None:
            raise _ColumnFailed(name)
        if text.null_count:
            self.float_missing.add(name)
        if len(text) > text.null_count and name not in self.not_integer and name not in self.never_integer:
            self.float_present.add(name)
            if integer_cells(values, text) is None:
                self.not_integer.add(name)
        return values

    def finish(self) -> bool:
        """Settle the types one pass observed; whether the pass must run again.

        * Integer columns with missing cells become float64: pandas parses the integers, then casts
          them to the nearest doubles (``-0`` is ``0.0``), which is what reading the spill does.
        * Float columns whose every present cell was an integer literal (``+5``) become int64 (float64
          by a cast of the integers when a cell is missing) and are re-read as integer text: a
          second parse, for such columns only.
        """
        import pyarrow as pa

        for name in self.has_nulls:
            if pa.types.is_integer(self.types[name]):
                self.types[name] = pa.float64()
                self.integer_missing.add(name)
        retry = False
        for name in sorted(self.float_text & self.float_present - self.not_integer - self.never_integer):
            self.float_text.discard(name)
            self.integer_text.add(name)
            self.types[name] = pa.float64() if name in self.float_missing else pa.int64()
            retry = True
        if retry:
            self._begin()
        return retry


def _remove_file(path: str) -> None:
    import contextlib
    import os

    with contextlib.suppress(OSError):
        os.remove(path)


class _Spill:
    """Typed record batches of one scan, written to an Arrow IPC stream file (lz4-compressed
    buffers) and read back batch by batch (never memory-mapped, so memory stays one batch)."""

    def __init__(self, columns: list[str]) -> None:
        import os
        import tempfile
        import weakref

        self.columns = columns
        handle, self.path = tempfile.mkstemp(prefix="clarify-csv-", suffix=".arrows")
        os.close(handle)
        # removed when the spill is collected, and at interpreter exit at the latest
        self._remove = weakref.finalize(self, _remove_file, self.path)
        self._writer = None
        self._sink = None
        self._schema = None

    def write(self, batch) -> None:
        import pyarrow as pa

        try:
            if self._writer is None:
                self._schema = batch.schema
                self._sink = pa.OSFile(self.path, "wb")
                # lz4 frames: 40 % of the bytes for 0.04 s of CPU per million rows each way
                options = pa.ipc.IpcWriteOptions(compression="lz4")
                self._writer = pa.ipc.new_stream(self._sink, batch.schema, options=options)
            self._writer.write_batch(batch)
        except OSError as exc:
            raise EngineIOError(
                f"Cannot write the typed columns of a large CSV file to {self.path!r}: {exc}. The engine "
                "keeps the columns an analysis reads there (about 13 bytes a row for short text and small integers); free space in that "
                "directory or point TMPDIR at a larger disk."
            ) from exc

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = None

    def discard(self) -> None:
        import contextlib

        with contextlib.suppress(OSError):
            self.close()
        self._remove()

    def batches(self, columns: list[str], types: dict) -> Iterator:
        import pyarrow as pa

        if self._schema is None:  # no data row
            yield from ()
            return
        with pa.OSFile(self.path, "rb") as source:
            reader = pa.ipc.open_stream(source)
            for batch in reader:
                batch = batch.select(columns)
                arrays = [
                    column if column.type == types[name] else pandas_cast(column, types[name])
                    for name, column in zip(columns, batch.columns, strict=True)
                ]
                yield pa.RecordBatch.from_arrays(arrays, names=columns)


def _failed_csv_column(message: str, names: list[str]) -> str | None:
    import re

    match = re.search(r"In CSV column #(\d+)", message)
    if match and int(match.group(1)) < len(names):
        return names[int(match.group(1))]
    return None


@dataclass(frozen=True)
class CsvLayout:
    """One CSV file's column names, whether its first line is a header row, and a warning when
    that header row may be a data row (see :func:`csv_layouts`)."""

    names: list[str]
    header_row: bool
    warning: str | None = None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_rows(uri: str, storage_options: dict | None, count: int = 2) -> list[list[str]]:
    """The first ``count`` parsed rows of a (possibly gzipped) CSV file."""
    with io.open_input(uri, storage_options) as stream:
        head = stream.read(1 << 16)
    if len(head) == 1 << 16 and b"\n" in head:
        head = head[: head.rfind(b"\n")]  # the last line may be cut (even inside a character)
    try:
        text = head.decode("utf-8-sig")  # a byte-order mark is not part of a name
    except UnicodeDecodeError:
        raise invalid_utf8_error(uri, storage_options) from None
    lines = text.splitlines()
    return [row for row in csv.reader(lines[: count + 2]) if row][:count]


def invalid_utf8_error(uri: str, storage_options: dict | None) -> DatasetError:
    """A :class:`DatasetError` naming the line and column of the first byte that is not UTF-8.

    pandas (and so SageMaker Clarify) refuses such a file; pyarrow would read the column as bytes.
    """
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    line, column = 1, 1
    with io.open_input(uri, storage_options) as stream:
        while chunk := stream.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                before = chunk[: max(exc.start, 0)]
                newlines = before.count(b"\n")
                line += newlines
                column = len(before) - before.rfind(b"\n") if newlines else column + len(before)
                bad = chunk[exc.start : exc.start + 1]
                return DatasetError(
                    f"Line {line}, column {column} of {uri!r} is not UTF-8 (byte {bad!r}): CSV datasets "
                    "must be UTF-8 encoded, as pandas reads them. Re-encode the file (e.g. iconv -t UTF-8)."
                )
            newlines = chunk.count(b"\n")
            line += newlines
            column = len(chunk) - chunk.rfind(b"\n") if newlines else column + len(chunk)
    return DatasetError(f"{uri!r} is not UTF-8 encoded; CSV datasets must be UTF-8, as pandas reads them.")


def _looks_like_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns.

    It does when none of its cells is a number, or when a text cell stands over a number in the
    next row (a header with numeric names such as years, or an empty first cell over row numbers
    as written by R's ``write.csv`` and pandas' ``to_csv``).
    """
    first = [cell.strip() for cell in rows[0]]
    if not any(first):
        return False
    if not any(_is_number(c) for c in first if c):
        return True
    if len(rows) < 2:
        return False
    below = [cell.strip() for cell in rows[1]]
    return any(
        c not in pandas_csv.NA_VALUES and not _is_number(c) and j < len(below) and _is_number(below[j])
        for j, c in enumerate(first)
    )


def pandas_header_names(cells: Sequence[str]) -> list[str]:
    """Column names as ``pandas.read_csv`` makes them from a header row.

    Cells are kept as written (no stripping); an empty cell becomes ``Unnamed: <index>``; a repeated
    name gets ``.1``, ``.2`` ... appended, skipping suffixes that another column already uses, as
    pandas' C parser does.
    """
    names = [cell if cell != "" else f"Unnamed: {i}" for i, cell in enumerate(cells)]
    taken = set(names)
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        base = name
        while count > 0:
            seen[base] = count + 1
            name = f"{base}.{count}"
            count = count + 1 if name in taken else seen.get(name, 0)
        seen[name] = count + 1
        out.append(name)
    return out


#: Rows read from the top of a CSV file to decide whether its first row is a header row.
HEAD_ROWS = 50


def _header_row_warning(uri: str, rows: list[list[str]]) -> str | None:
    """A warning when the first row, taken as the header row, looks like data.

    It does when one of its cells also occurs further down the same column (``male`` over
    ``female``, ``male``): a header names a column, it is not one of its values.
    """
    first = rows[0]
    repeated = [
        cell
        for j, cell in enumerate(first)
        if cell.strip() and any(j < len(row) and row[j] == cell for row in rows[1:])
    ]
    if not repeated:
        return None
    return (
        f"The first row of {uri!r} ({first!r}) holds no number, so it was taken as the header row (as "
        f"SageMaker Clarify does), but its cells {repeated!r} also occur as values further down their "
        "columns: it may be a data row, now lost. If the file has no header row, give the column names "
        "in the analysis config's 'headers'."
    )


def csv_layout(uri: str, headers: Sequence[str] | None, storage_options: dict | None) -> CsvLayout:
    rows = _first_rows(uri, storage_options, HEAD_ROWS)
    if not rows:
        raise DatasetError(f"CSV file {uri!r} is empty.")
    first = [cell.strip() for cell in rows[0]]
    if headers is not None:
        # names come from the config: skip the first row only when it clearly is a header row
        looks_like_header = not any(_is_number(c) for c in first if c) and all(first)
        headers = [str(h) for h in headers]
        if len(headers) != len(first):
            raise DatasetError(
                "Headers in config do not match with the number of columns in the dataset: "
                f"'headers' lists {len(headers)} names but {uri!r} has {len(first)} columns. "
                "Give one name per column (or omit 'headers' to use the file's header row)."
            )
        header_row = first == headers or (
            looks_like_header and len(rows) > 1 and any(_is_number(c.strip()) for c in rows[1])
        )
        warning = _header_row_warning(uri, rows) if header_row and first != headers else None
        return CsvLayout(headers, header_row, warning)
    if _looks_like_header(rows):
        return CsvLayout(pandas_header_names(rows[0]), True, _header_row_warning(uri, rows))
    return CsvLayout([f"column_{i}" for i in range(len(first))], False)


def _csv_convert_options(column_types: dict | None = None, columns: Sequence[str] | None = None):
    """pyarrow conversion with pandas' missing-value and boolean tokens (see :mod:`.pandas_csv`),
    of ``columns`` only (all when ``None``)."""
    import pyarrow.csv as pacsv

    return pacsv.ConvertOptions(
        column_types=column_types,
        include_columns=list(columns) if columns is not None else None,
        strings_can_be_null=True,
        null_values=list(pandas_csv.NA_VALUES),
        true_values=list(pandas_csv.TRUE_VALUES),
        false_values=list(pandas_csv.FALSE_VALUES),
    )


def _pandas_floats(table, float_columns: Sequence[str]):
    """Convert the float columns read as text into the doubles ``pandas.read_csv`` would produce.

    A column with a number beyond the double range (or ``NAN``) stays text, as in pandas; a column
    of integer literals (``+5``) becomes int64, or float64 cast from the integers when a cell is
    missing, as in pandas.
    """
    import pyarrow as pa

    if not float_columns:
        return table
    names = table.schema.names
    arrays = []
    for i, name in enumerate(names):
        column = table.column(i)
        if name in float_columns:
            values, cell = pandas_csv.pandas_float_column(column)
            if cell is None:
                ints = integer_cells(values, column)  # "+5": integers for pandas
                column = (
                    values
                    if ints is None
                    else pandas_cast(ints, pa.float64() if ints.null_count else pa.int64())
                )
        arrays.append(column)
    return pa.table(arrays, names=names)


def integer_cells(values: pa.Array, text: pa.Array) -> pa.Array | None:
    """The integers (int64, missing cells null) of a column pyarrow read as floats, when pandas
    reads it as integers: every present cell an integer literal (``+5``, ``-0``), at least one.

    ``values`` are the column's doubles, ``text`` its cells; the doubles rule out most float columns
    (a present value that is not a finite whole number) before the text is scanned.
    """
    import numpy as np

    if len(values) == values.null_count:
        return None
    array = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    present = array[~np.isnan(array)]
    if not (np.all(np.isfinite(present)) and np.all(present == np.floor(present))):
        return None
    return pandas_csv.pandas_integer_values(text, allow_missing=True)


def malformed_csv_error(
    uri: str, layout: CsvLayout, storage_options: dict | None, exc: Exception
) -> DatasetError:
    """A :class:`DatasetError` for a CSV file pyarrow refused, naming the line that is wrong.

    pyarrow's fast (multi-threaded) reader does not know line numbers; on this error path only the
    file is parsed again single-threaded, as text, to find the first row with a wrong field count.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    found: list = []

    def first_invalid(row) -> str:
        found.append(row)
        return "error"

    try:
        with io.open_input(uri, storage_options) as stream:
            pacsv.read_csv(
                stream,
                read_options=pacsv.ReadOptions(
                    column_names=layout.names, skip_rows=1 if layout.header_row else 0, use_threads=False
                ),
                parse_options=pacsv.ParseOptions(invalid_row_handler=first_invalid),
                convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(layout.names, pa.string())),
            )
    except (pa.ArrowInvalid, OSError):
        pass
    expected = len(layout.names)
    if found and found[0].number is not None:
        row = found[0]
        return DatasetError(
            f"Malformed CSV data: line {row.number} of {uri!r} has {row.actual_columns} fields, expected "
            f"{expected}: {row.text!r}. Check that every row has {expected} fields, that the file is "
            "comma-separated and that quoted fields do not span lines."
        )
    return DatasetError(
        f"Malformed CSV file {uri!r}: {exc}. Check that every row has {expected} fields and that the "
        "file is comma-separated."
    )


def read_csv_file(
    uri: str, layout: CsvLayout, storage_options: dict | None, columns: Sequence[str] | None = None
) -> pa.Table:
    """Read ``columns`` (all when ``None``) of one CSV file in one go, typed as pandas would.

    One parse infers the types; float (and date) columns are then parsed again as text, alone, and
    converted with pandas' float rules (:mod:`.pandas_csv`).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read_options = pacsv.ReadOptions(column_names=layout.names, skip_rows=1 if layout.header_row else 0)

    def parse(column_types: dict | None, names: Sequence[str] | None) -> pa.Table:
        try:
            with io.open_input(uri, storage_options) as stream:
                return pacsv.read_csv(
                    stream,
                    read_options=read_options,
                    convert_options=_csv_convert_options(column_types, names),
                )
        except pa.ArrowInvalid as exc:
            raise malformed_csv_error(uri, layout, storage_options, exc) from exc

    table = parse(None, columns)
    if any(pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type) for f in table.schema):
        raise invalid_utf8_error(uri, storage_options)
    temporal = [f.name for f in table.schema if pa.types.is_temporal(f.type)]
    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    as_text = [*temporal, *floats]
    if as_text:
        text = parse(dict.fromkeys(as_text, pa.string()), as_text)
        for name in as_text:
            table = table.set_column(table.schema.get_field_index(name), name, text.column(name))
    return _pandas_floats(table, floats)


class CsvTableData(TabularData):
    """CSV files under the streaming threshold, each column parsed on first use and kept in memory.

    Nothing is read when the data is opened; a request for columns not read yet parses just those
    (``include_columns``), so a bias analysis reads its four or five columns once, however wide
    the file, and never converts the float columns no metric reads.
    """

    def __init__(self, files: list[str], layouts: list[CsvLayout], storage_options: dict | None = None):
        self.files = files
        self.layouts = layouts
        self.storage_options = storage_options
        self.column_names = list(layouts[0].names)
        self._table: pa.Table | None = None
        #: full parses of the CSV data so far (each over the columns of one request)
        self.parses = 0

    def _ensure(self, columns: Sequence[str]) -> pa.Table:
        have = set(self._table.column_names) if self._table is not None else set()
        missing = [c for c in dict.fromkeys(columns) if c not in have]
        for name in missing:
            if name not in self.column_names:
                raise KeyError(name)
        if missing or self._table is None:
            self.parses += 1
            tables = [
                read_csv_file(uri, layout, self.storage_options, missing)
                for uri, layout in zip(self.files, self.layouts, strict=True)
            ]
            new = pandas_like_table(_concat_unified(tables))
            if self._table is None:
                self._table = new
            else:
                for name in new.column_names:
                    self._table = self._table.append_column(name, new.column(name))
        assert self._table is not None
        return self._table.select(list(dict.fromkeys(columns)))

    def _iter_batches(self, columns, batch_rows):
        table = self._ensure(self.column_names if columns is None else columns)
        yield from table.to_batches(max_chunksize=batch_rows)

    def to_table(self, columns=None):
        return self._ensure(self.column_names if columns is None else columns)

    def type_of(self, column):
        return self._ensure([column]).schema.field(column).type

    @property
    def num_rows(self) -> int:
        if self._table is not None and self._table.num_columns:
            return self._table.num_rows
        return self._ensure(self.column_names[:1]).num_rows


def csv_layouts(
    files: list[str], headers: Sequence[str] | None, storage_options: dict | None
) -> list[CsvLayout]:
    """The layout of every part file of one CSV dataset, as the engine reads them.

    The first file decides the column names (``headers``, else its header row, else ``column_i``);
    a later part file without a header row takes them; part files with other columns are refused.
    """
    layouts = [csv_layout(files[0], headers, storage_options)]
    for uri in files[1:]:
        layout = csv_layout(uri, layouts[0].names if headers is None else headers, storage_options)
        if headers is None and not layout.header_row and layouts[0].header_row:
            layout = CsvLayout(layouts[0].names, False)
        if layout.names != layouts[0].names:
            raise DatasetError(f"Part file {uri!r} has columns {layout.names}, expected {layouts[0].names}.")
        layouts.append(layout)
    return layouts


#: A gzipped CSV file counts as this many times its stored size against ``STREAM_THRESHOLD_BYTES``:
#: the one-go reader holds the text, and CSV text compresses about 4-10 times.
GZIP_TEXT_FACTOR = 8


def _streams(files: list[str], storage_options: dict | None, stream_threshold: int) -> bool:
    """Whether the CSV text of ``files`` exceeds ``stream_threshold``: stored sizes, a gzipped file
    counting ``GZIP_TEXT_FACTOR`` times. The files' first bytes are read only when the stored sizes
    alone stay under the threshold (a folder of many large parts costs no extra request each)."""
    sizes = [io.file_size(uri, storage_options) for uri in files]
    if sum(sizes) > stream_threshold:
        return True
    text = (
        size * GZIP_TEXT_FACTOR if io.is_gzip(uri, storage_options) else size
        for uri, size in zip(files, sizes, strict=True)
    )
    return sum(text) > stream_threshold


def read_csv_files(files: list[str], headers, storage_options, stream_threshold: int) -> TabularData:
    layouts = csv_layouts(files, headers, storage_options)
    warnings = [layout.warning for layout in layouts if layout.warning]
    for warning in warnings:
        log.warning("%s", warning)
    data: TabularData
    if _streams(files, storage_options, stream_threshold):
        data = CsvStreamData(files, layouts, storage_options)
    else:
        data = CsvTableData(files, layouts, storage_options)
    data.warnings = warnings
    return data


def _concat_unified(tables: list[pa.Table]) -> pa.Table:
    import pyarrow as pa

    if len(tables) == 1:
        return tables[0]
    names = tables[0].column_names
    target = {}
    for name in names:
        typ = tables[0].schema.field(name).type
        for table in tables[1:]:
            typ = widen(typ, table.schema.field(name).type)
        target[name] = typ
    return pa.concat_tables(
        [pa.table([pandas_cast(t.column(n), target[n]) for n in names], names=names) for t in tables]
    )
