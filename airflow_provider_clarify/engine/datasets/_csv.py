"""CSV datasets: header detection, pandas' reading rules, and streaming of large files.

Column names come from the config's ``headers`` or from the file's header row; without either,
``column_0``, ``column_1``, ... A first row counts as a header row when none of its cells is a
number (or when it equals the configured ``headers``), as the Clarify container decides. Files over
``STREAM_THRESHOLD_BYTES`` are streamed (:class:`CsvStreamData`); smaller ones are read in one go.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_clarify.engine import io, pandas_csv
from airflow_provider_clarify.engine.datasets._batches import TableData, TabularData
from airflow_provider_clarify.engine.datasets._errors import DatasetError
from airflow_provider_clarify.engine.datasets._pandas_types import (
    pandas_like_table,
    pandas_like_type,
    widen,
)

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

#: CSV inputs larger than this (bytes as stored) are streamed instead of read in one go.
STREAM_THRESHOLD_BYTES = 256 * 1024 * 1024


class CsvStreamData(TabularData):
    """Large CSV files streamed with :func:`pyarrow.csv.open_csv`.

    A first pass settles the column types over the whole data (a column that looks integral in the
    first block but holds ``2.5`` later becomes float64, text later makes it a string column), so
    every later pass yields batches of one stable schema.
    """

    def __init__(self, files: list[str], layouts: list[_CsvLayout], storage_options: dict | None = None):
        self.files = files
        self.layouts = layouts
        self.storage_options = storage_options
        self.column_names = list(layouts[0].names)
        self.types = self._settle_types()

    def _open(self, index: int, column_types: dict | None):
        import pyarrow.csv as pacsv

        layout = self.layouts[index]
        return pacsv.open_csv(
            io.open_input(self.files[index], self.storage_options),
            read_options=pacsv.ReadOptions(
                column_names=layout.names, skip_rows=1 if layout.header_row else 0, block_size=8 << 20
            ),
            convert_options=_csv_convert_options(column_types),
        )

    def _settle_types(self) -> dict[str, pa.DataType]:
        import pyarrow as pa

        types: dict[str, pa.DataType] = {}
        has_nulls: set[str] = set()
        for _attempt in range(4 * len(self.column_names) + 4):
            index = 0
            try:
                for index in range(len(self.files)):
                    reader = self._open(index, types or None)
                    if any(pa.types.is_binary(t) or pa.types.is_large_binary(t) for t in reader.schema.types):
                        raise invalid_utf8_error(self.files[index], self.storage_options)
                    for name, typ in zip(reader.schema.names, reader.schema.types, strict=True):
                        if name not in types:
                            types[name] = pandas_like_type(typ)
                        elif types[name] != typ:
                            types[name] = widen(types[name], typ)
                    for batch in reader:
                        for name, column in zip(batch.schema.names, batch.columns, strict=True):
                            if column.null_count:
                                has_nulls.add(name)
                break
            except pa.ArrowInvalid as exc:
                name = _failed_csv_column(str(exc), self.column_names)
                if name is None:
                    raise malformed_csv_error(
                        self.files[index], self.layouts[index], self.storage_options, exc
                    ) from exc
                types[name] = (
                    pa.float64() if pa.types.is_integer(types.get(name, pa.int64())) else pa.string()
                )
        for name in has_nulls:
            if pa.types.is_integer(types[name]) or pa.types.is_null(types[name]):
                types[name] = pa.float64()
        return types

    def type_of(self, column):
        return self.types[column]

    def _iter_batches(self, columns, batch_rows):
        import pyarrow as pa

        columns = list(self.column_names if columns is None else columns)
        floats = [c for c in columns if pa.types.is_floating(self.types[c])]
        for index in range(len(self.files)):
            reader = self._open(index, _text_types(self.types))
            for batch in reader:
                yield _pandas_floats(batch.select(columns), floats, streamed=True)


def _failed_csv_column(message: str, names: list[str]) -> str | None:
    import re

    match = re.search(r"In CSV column #(\d+)", message)
    if match and int(match.group(1)) < len(names):
        return names[int(match.group(1))]
    return None


@dataclass(frozen=True)
class _CsvLayout:
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


def csv_layout(uri: str, headers: Sequence[str] | None, storage_options: dict | None) -> _CsvLayout:
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
        return _CsvLayout(headers, header_row, warning)
    if _looks_like_header(rows):
        return _CsvLayout(pandas_header_names(rows[0]), True, _header_row_warning(uri, rows))
    return _CsvLayout([f"column_{i}" for i in range(len(first))], False)


def _csv_convert_options(column_types: dict | None = None):
    """pyarrow conversion with pandas' missing-value and boolean tokens (see :mod:`.pandas_csv`)."""
    import pyarrow.csv as pacsv

    return pacsv.ConvertOptions(
        column_types=column_types,
        strings_can_be_null=True,
        null_values=list(pandas_csv.NA_VALUES),
        true_values=list(pandas_csv.TRUE_VALUES),
        false_values=list(pandas_csv.FALSE_VALUES),
    )


def _text_types(types: dict[str, pa.DataType]) -> dict[str, pa.DataType]:
    """Column types to read with: float64 columns as text, converted by :func:`_pandas_floats`."""
    import pyarrow as pa

    return {name: pa.string() if pa.types.is_floating(typ) else typ for name, typ in types.items()}


def _pandas_floats(batch, float_columns: Sequence[str], *, streamed: bool = False):
    """Convert the float columns read as text into the doubles ``pandas.read_csv`` would produce.

    A column with a number beyond the double range stays text, as in pandas; in a streamed file,
    whose types were settled beforehand, that is a :class:`DatasetError` naming the cell.
    """
    import pyarrow as pa

    if not float_columns:
        return batch
    names = batch.schema.names
    arrays = []
    for i, name in enumerate(names):
        column = batch.column(i)
        if name in float_columns:
            values, cell = pandas_csv.pandas_float_column(column)
            ints = None
            if cell is None and not streamed and _whole_numbers(values):
                ints = pandas_csv.pandas_integer_values(column)  # "+5": integers for pandas
            if ints is not None:
                column = ints
            elif cell is None:
                column = values
            elif streamed:
                raise DatasetError(
                    f"Column {name!r} holds {cell!r}, a number beyond the range of a double: pandas (and so "
                    "SageMaker Clarify) would read the whole column as text. Fix the value, or read the "
                    "column as text on purpose by quoting a non-number in it."
                )
        arrays.append(column)
    if isinstance(batch, pa.Table):
        return pa.table(arrays, names=names)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _whole_numbers(values: pa.Array) -> bool:
    """No missing value and every value a finite whole number (cheap test before a text scan)."""
    import numpy as np

    if values.null_count or not len(values):
        return False
    array = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    return bool(np.all(np.isfinite(array)) and np.all(array == np.floor(array)))


def malformed_csv_error(
    uri: str, layout: _CsvLayout, storage_options: dict | None, exc: Exception
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


def read_csv_file(uri: str, layout: _CsvLayout, storage_options: dict | None) -> pa.Table:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read_options = pacsv.ReadOptions(column_names=layout.names, skip_rows=1 if layout.header_row else 0)
    column_types: dict[str, pa.DataType] = {}
    float_columns: list[str] = []  # read as text, converted like pandas (see .pandas_csv)
    for _attempt in range(3):
        try:
            with io.open_input(uri, storage_options) as stream:
                table = pacsv.read_csv(
                    stream,
                    read_options=read_options,
                    convert_options=_csv_convert_options(column_types or None),
                )
        except pa.ArrowInvalid as exc:
            raise malformed_csv_error(uri, layout, storage_options, exc) from exc
        if any(pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type) for f in table.schema):
            raise invalid_utf8_error(uri, storage_options)
        temporal = [f.name for f in table.schema if pa.types.is_temporal(f.type)]
        floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
        if not temporal and not floats:
            break
        column_types.update({name: pa.string() for name in (*temporal, *floats)})
        float_columns.extend(floats)
    return _pandas_floats(table, float_columns)


def read_csv_files(files: list[str], headers, storage_options, stream_threshold: int) -> TabularData:
    layouts = [csv_layout(files[0], headers, storage_options)]
    for uri in files[1:]:
        layout = csv_layout(uri, layouts[0].names if headers is None else headers, storage_options)
        if headers is None and not layout.header_row and layouts[0].header_row:
            layout = _CsvLayout(layouts[0].names, False)
        if layout.names != layouts[0].names:
            raise DatasetError(f"Part file {uri!r} has columns {layout.names}, expected {layouts[0].names}.")
        layouts.append(layout)
    warnings = [layout.warning for layout in layouts if layout.warning]
    for warning in warnings:
        log.warning("%s", warning)
    total = sum(io.file_size(uri, storage_options) for uri in files)
    if total > stream_threshold:
        data: TabularData = CsvStreamData(files, layouts, storage_options)
    else:
        tables = [
            read_csv_file(uri, layout, storage_options) for uri, layout in zip(files, layouts, strict=True)
        ]
        data = TableData(pandas_like_table(_concat_unified(tables)))
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
    schema = pa.schema([(n, target[n]) for n in names])
    return pa.concat_tables([t.select(names).cast(schema) for t in tables])
