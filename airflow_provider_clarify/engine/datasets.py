"""Reading the analysis dataset(s) into Arrow columns, streaming when the data is large.

Formats (``dataset_type`` of the analysis_config):

* ``text/csv``: column names from the config's ``headers`` or from the file's header row; without
  either, ``column_0``, ``column_1``, ... A first row counts as a header row when none of its cells
  is a number (or when it equals the configured ``headers``).
* ``application/jsonlines``: one JSON value per line; ``features`` (JMESPath) yields the feature
  array of a line, ``label`` / ``predicted_label`` (JMESPath) yield its label / prediction. Column
  names: ``headers`` = feature names, then the label name, then the predicted-label name.
* ``application/json``: one JSON document; ``features`` yields a 2-D array, ``label`` a 1-D array.
* ``application/x-parquet``: columns by name (or 0-based index).

Every format may be one file, a folder, or a prefix of part files, gzip-compressed or not, on a local
disk, ``file://`` or ``s3://`` (see :mod:`.io`).

Column types follow what pandas (and therefore the Clarify container) would infer from the same
file, because the bias metrics treat integer, float and string columns differently: integers with
missing cells and all-empty columns become float64, empty strings are missing values, dates stay
strings.

Large CSV (over ``STREAM_THRESHOLD_BYTES``) and all Parquet input are streamed in record batches, so
memory does not grow with the number of rows; smaller CSV and JSON input is read in one go.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_clarify.engine import io, pandas_csv
from airflow_provider_clarify.engine.errors import EngineConfigError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

CSV = "text/csv"
JSONLINES = "application/jsonlines"
JSON = "application/json"
PARQUET = "application/x-parquet"
SUPPORTED_DATASET_TYPES = (CSV, JSONLINES, JSON, PARQUET)

#: CSV inputs larger than this (bytes as stored) are streamed instead of read in one go.
STREAM_THRESHOLD_BYTES = 256 * 1024 * 1024
#: Rows per record batch handed to the metrics.
DEFAULT_BATCH_ROWS = 1 << 20
ROW_INDEX_COLUMN = "__clarify_row__"


class DatasetError(EngineConfigError):
    """The dataset does not match the analysis_config (names the field, the value and the fix).

    A :class:`~airflow_provider_clarify.analysis.errors.ClarifyConfigError` (hence a ``ValueError``).
    """


# --------------------------------------------------------------------------------------------------
# Tabular data sources
# --------------------------------------------------------------------------------------------------


class TabularData:
    """Columns of one dataset, readable as a re-iterable stream of record batches.

    ``batches(columns)`` restarts from the first row on every call, which the bias metrics rely on
    (they may stream the data more than once).
    """

    column_names: list[str]

    def batches(
        self, columns: Sequence[str] | None = None, batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError

    def to_table(self, columns: Sequence[str] | None = None) -> pa.Table:
        """Materialise (the given columns of) the dataset."""
        import pyarrow as pa

        columns = list(self.column_names if columns is None else columns)
        batches = list(self.batches(columns))
        if not batches:
            return pa.table({c: pa.array([], type=self.type_of(c)) for c in columns})
        return pa.Table.from_batches(batches)

    def type_of(self, column: str) -> pa.DataType:
        raise NotImplementedError

    @property
    def num_rows(self) -> int:
        """Number of rows (may scan the data once)."""
        first = self.column_names[:1]
        return sum(b.num_rows for b in self.batches(first))


class TableData(TabularData):
    """A dataset already in memory as a :class:`pyarrow.Table`."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.column_names = list(table.column_names)

    def batches(self, columns=None, batch_rows=DEFAULT_BATCH_ROWS):
        table = self.table if columns is None else self.table.select(list(columns))
        yield from table.to_batches(max_chunksize=batch_rows)

    def to_table(self, columns=None):
        return self.table if columns is None else self.table.select(list(columns))

    def type_of(self, column):
        return self.table.schema.field(column).type

    @property
    def num_rows(self) -> int:
        return self.table.num_rows


class ParquetData(TabularData):
    """Parquet files read row group by row group (memory bounded by one row group of the columns read)."""

    def __init__(self, files: list[str], storage_options: dict | None = None) -> None:
        import pyarrow.parquet as pq

        self.files = files
        self.storage_options = storage_options
        first = io.resolve(files[0], storage_options)
        try:
            self.schema = pq.read_schema(first.path, filesystem=first.filesystem)
        except Exception as exc:
            raise DatasetError(f"Cannot read Parquet file {files[0]!r}: {exc}") from exc
        self.column_names = list(self.schema.names)
        self._casts = self._pandas_like_casts()

    def _pandas_like_casts(self) -> dict[str, pa.DataType]:
        """Integer columns holding nulls are float64 in pandas; the metadata's null counts tell us."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        casts: dict[str, pa.DataType] = {}
        candidates = {n for n in self.column_names if pa.types.is_integer(self.schema.field(n).type)}
        if not candidates:
            return casts
        for uri in self.files:
            resolved = io.resolve(uri, self.storage_options)
            metadata = pq.read_metadata(resolved.path, filesystem=resolved.filesystem)
            for rg in range(metadata.num_row_groups):
                group = metadata.row_group(rg)
                for ci in range(group.num_columns):
                    column = group.column(ci)
                    name = column.path_in_schema
                    if name in candidates and column.statistics is not None:
                        if column.statistics.has_null_count and column.statistics.null_count:
                            casts[name] = pa.float64()
        return casts

    def type_of(self, column):
        return self._casts.get(column, self.schema.field(column).type)

    def batches(self, columns=None, batch_rows=DEFAULT_BATCH_ROWS):
        import pyarrow.parquet as pq

        columns = list(self.column_names if columns is None else columns)
        for uri in self.files:
            resolved = io.resolve(uri, self.storage_options)
            with resolved.filesystem.open_input_file(resolved.path) as handle:
                reader = pq.ParquetFile(handle)
                for batch in reader.iter_batches(batch_size=batch_rows, columns=columns, use_threads=True):
                    yield _cast_batch(batch, {c: t for c, t in self._casts.items() if c in columns})

    @property
    def num_rows(self) -> int:
        import pyarrow.parquet as pq

        total = 0
        for uri in self.files:
            resolved = io.resolve(uri, self.storage_options)
            total += pq.read_metadata(resolved.path, filesystem=resolved.filesystem).num_rows
        return total


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
                    for name, typ in zip(reader.schema.names, reader.schema.types, strict=True):
                        if name not in types:
                            types[name] = _pandas_like_type(typ)
                        elif types[name] != typ:
                            types[name] = _widen(types[name], typ)
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

    def batches(self, columns=None, batch_rows=DEFAULT_BATCH_ROWS):
        import pyarrow as pa

        columns = list(self.column_names if columns is None else columns)
        floats = [c for c in columns if pa.types.is_floating(self.types[c])]
        for index in range(len(self.files)):
            reader = self._open(index, _text_types(self.types))
            for batch in reader:
                yield _pandas_floats(batch.select(columns), floats)


def _cast_batch(batch: pa.RecordBatch, casts: dict[str, pa.DataType]) -> pa.RecordBatch:
    import pyarrow as pa

    if not casts:
        return batch
    arrays = [
        batch.column(i).cast(casts[name]) if name in casts else batch.column(i)
        for i, name in enumerate(batch.schema.names)
    ]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _failed_csv_column(message: str, names: list[str]) -> str | None:
    import re

    match = re.search(r"In CSV column #(\d+)", message)
    if match and int(match.group(1)) < len(names):
        return names[int(match.group(1))]
    return None


def _widen(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    import pyarrow as pa

    if a == b:
        return a
    if pa.types.is_null(a):
        return _pandas_like_type(b)
    if pa.types.is_null(b):
        return a
    numeric = (pa.types.is_integer, pa.types.is_floating)
    if any(f(a) for f in numeric) and any(f(b) for f in numeric):
        return pa.float64()
    return pa.string()


def _pandas_like_type(typ: pa.DataType) -> pa.DataType:
    import pyarrow as pa

    if pa.types.is_null(typ):
        return pa.float64()
    if pa.types.is_temporal(typ):
        return pa.string()
    return typ


def _pandas_like_table(table: pa.Table) -> pa.Table:
    """Apply pandas' inference to an Arrow table: int with nulls / all-null -> float64, dates -> text."""
    import pyarrow as pa

    for i, name in enumerate(table.column_names):
        column = table.column(i)
        typ = column.type
        target = None
        if pa.types.is_null(typ) or (pa.types.is_integer(typ) and column.null_count):
            target = pa.float64()
        elif pa.types.is_temporal(typ):
            target = pa.string()
        if target is not None:
            table = table.set_column(i, name, column.cast(target))
    return table


# --------------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CsvLayout:
    names: list[str]
    header_row: bool


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
    text = head.decode("utf-8-sig", errors="replace")  # a byte-order mark is not part of a name
    lines = text.splitlines()
    if len(head) == 1 << 16 and lines:
        lines = lines[:-1] or lines  # the last line may be cut
    return [row for row in csv.reader(lines[: count + 2]) if row][:count]


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


def _csv_layout(uri: str, headers: Sequence[str] | None, storage_options: dict | None) -> _CsvLayout:
    rows = _first_rows(uri, storage_options)
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
        return _CsvLayout(headers, header_row)
    if _looks_like_header(rows):
        return _CsvLayout(pandas_header_names(rows[0]), True)
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


def _pandas_floats(batch, float_columns: Sequence[str]):
    """Convert the float columns read as text into the doubles ``pandas.read_csv`` would produce."""
    import pyarrow as pa

    if not float_columns:
        return batch
    names = batch.schema.names
    arrays = [
        pandas_csv.pandas_float_values(batch.column(i)) if name in float_columns else batch.column(i)
        for i, name in enumerate(names)
    ]
    if isinstance(batch, pa.Table):
        return pa.table(arrays, names=names)
    return pa.RecordBatch.from_arrays(arrays, names=names)


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


def _read_csv_file(uri: str, layout: _CsvLayout, storage_options: dict | None) -> pa.Table:
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
        temporal = [f.name for f in table.schema if pa.types.is_temporal(f.type)]
        floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
        if not temporal and not floats:
            break
        column_types.update({name: pa.string() for name in (*temporal, *floats)})
        float_columns.extend(floats)
    return _pandas_floats(table, float_columns)


def _read_csv(files: list[str], headers, storage_options, stream_threshold: int) -> TabularData:
    layouts = [_csv_layout(files[0], headers, storage_options)]
    for uri in files[1:]:
        layout = _csv_layout(uri, layouts[0].names if headers is None else headers, storage_options)
        if headers is None and not layout.header_row and layouts[0].header_row:
            layout = _CsvLayout(layouts[0].names, False)
        if layout.names != layouts[0].names:
            raise DatasetError(f"Part file {uri!r} has columns {layout.names}, expected {layouts[0].names}.")
        layouts.append(layout)
    total = sum(io.file_size(uri, storage_options) for uri in files)
    if total > stream_threshold:
        return CsvStreamData(files, layouts, storage_options)
    tables = [
        _read_csv_file(uri, layout, storage_options) for uri, layout in zip(files, layouts, strict=True)
    ]
    return TableData(_pandas_like_table(_concat_unified(tables)))


def _concat_unified(tables: list[pa.Table]) -> pa.Table:
    import pyarrow as pa

    if len(tables) == 1:
        return tables[0]
    names = tables[0].column_names
    target = {}
    for name in names:
        typ = tables[0].schema.field(name).type
        for table in tables[1:]:
            typ = _widen(typ, table.schema.field(name).type)
        target[name] = typ
    schema = pa.schema([(n, target[n]) for n in names])
    return pa.concat_tables([t.select(names).cast(schema) for t in tables])


# --------------------------------------------------------------------------------------------------
# JSON Lines / JSON
# --------------------------------------------------------------------------------------------------


def _compile(expression: Any, field_name: str):
    import jmespath

    if not isinstance(expression, str) or not expression:
        raise DatasetError(
            f"analysis_config field {field_name!r} must be a JMESPath string for JSON datasets, got {expression!r}."
        )
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.ParseError as exc:
        raise DatasetError(
            f"analysis_config field {field_name!r}: invalid JMESPath {expression!r}: {exc}"
        ) from exc


def _column_from_values(values: list, name: str) -> pa.Array:
    import pyarrow as pa

    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = pa.array(
            [None if v is None else (v if isinstance(v, str) else json.dumps(v)) for v in values]
        )
    if pa.types.is_struct(array.type) or pa.types.is_list(array.type):
        array = pa.array([None if v is None else json.dumps(v) for v in values])
    return array


@dataclass
class _JsonColumns:
    features: list[list] = field(default_factory=list)
    label: list = field(default_factory=list)
    predicted: list = field(default_factory=list)


def _json_table(
    collected: _JsonColumns, headers, label_expr, predicted_expr, feature_count: int
) -> tuple[pa.Table, str | None, str | None]:
    import pyarrow as pa

    headers = [str(h) for h in headers] if headers is not None else None
    extra = (1 if label_expr is not None else 0) + (1 if predicted_expr is not None else 0)
    if headers is not None and len(headers) not in (feature_count, feature_count + extra):
        raise DatasetError(
            f"'headers' lists {len(headers)} names but the data has {feature_count} features"
            f"{' plus label/predicted label' if extra else ''}. For JSON datasets give the feature "
            "names, then the label name, then the predicted-label name."
        )
    feature_names = headers[:feature_count] if headers else [f"column_{i}" for i in range(feature_count)]
    rest = headers[feature_count:] if headers and len(headers) > feature_count else []
    columns: dict[str, pa.Array] = {}
    for j, name in enumerate(feature_names):
        columns[name] = _column_from_values([row[j] for row in collected.features], name)
    label_name = predicted_name = None
    if label_expr is not None:
        label_name = rest[0] if rest else label_expr
        columns[label_name] = _column_from_values(collected.label, label_name)
        rest = rest[1:]
    if predicted_expr is not None:
        predicted_name = rest[0] if rest else predicted_expr
        if predicted_name in columns:
            predicted_name = "predicted_label"
        columns[predicted_name] = _column_from_values(collected.predicted, predicted_name)
    return _pandas_like_table(pa.table(columns)), label_name, predicted_name


def _read_jsonlines(files, features, label, predicted_label, headers, storage_options):
    features_q = _compile(features, "features")
    label_q = _compile(label, "label") if label is not None else None
    predicted_q = _compile(predicted_label, "predicted_label") if predicted_label is not None else None
    collected = _JsonColumns()
    width = None
    for uri in files:
        text = io.read_bytes(uri, storage_options).decode("utf-8")
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"Line {line_no} of {uri!r} is not valid JSON: {exc}") from exc
            row = features_q.search(record)
            if not isinstance(row, list):
                raise DatasetError(
                    f"Data must contain features: JMESPath 'features' = {features!r} gave {row!r} on line "
                    f"{line_no} of {uri!r}; it must give the feature array of each line."
                )
            if width is None:
                width = len(row)
            elif len(row) != width:
                raise DatasetError(
                    f"Line {line_no} of {uri!r} has {len(row)} features, earlier lines have {width}."
                )
            collected.features.append(row)
            if label_q is not None:
                collected.label.append(_required(label_q.search(record), "label", label, uri, line_no))
            if predicted_q is not None:
                collected.predicted.append(
                    _required(predicted_q.search(record), "predicted_label", predicted_label, uri, line_no)
                )
    if width is None:
        raise DatasetError(f"No records found in {files[0]!r}.")
    return _json_table(collected, headers, label, predicted_label, width)


def _required(value, field_name, expression, uri, line_no):
    if value is None:
        raise DatasetError(
            f"JMESPath {field_name!r} = {expression!r} found nothing on line {line_no} of {uri!r}."
        )
    return value


def _read_json(files, features, label, predicted_label, headers, storage_options):
    features_q = _compile(features, "features")
    collected = _JsonColumns()
    for uri in files:
        try:
            document = json.loads(io.read_bytes(uri, storage_options).decode("utf-8"))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{uri!r} is not valid JSON: {exc}") from exc
        rows = features_q.search(document)
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise DatasetError(
                f"Data must contain features: JMESPath 'features' = {features!r} must give a 2-D array in {uri!r}."
            )
        collected.features.extend(rows)
        for expr, name, target in (
            (label, "label", collected.label),
            (predicted_label, "predicted_label", collected.predicted),
        ):
            if expr is None:
                continue
            values = _compile(expr, name).search(document)
            if not isinstance(values, list) or len(values) != len(rows):
                raise DatasetError(
                    f"JMESPath {name!r} = {expr!r} must give one value per record ({len(rows)}) in {uri!r}."
                )
            target.extend(values)
    if not collected.features:
        raise DatasetError(f"No records found in {files[0]!r}.")
    width = len(collected.features[0])
    if any(len(r) != width for r in collected.features):
        raise DatasetError("Records of the JSON dataset have different numbers of features.")
    return _json_table(collected, headers, label, predicted_label, width)


# --------------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------------


@dataclass
class LoadedDataset:
    """A dataset plus the columns that JSON locators (JMESPath) turned into named columns."""

    data: TabularData
    uri: str
    dataset_type: str
    label_column: str | None = None
    predicted_label_column: str | None = None

    @property
    def column_names(self) -> list[str]:
        return self.data.column_names


def load_dataset(
    uri: str,
    dataset_type: str = CSV,
    *,
    headers: Sequence[str] | None = None,
    features: str | None = None,
    label: str | int | None = None,
    predicted_label: str | int | None = None,
    storage_options: dict | None = None,
    stream_threshold_bytes: int = STREAM_THRESHOLD_BYTES,
) -> LoadedDataset:
    """Open the dataset at ``uri`` (file, folder or prefix of part files).

    For CSV and Parquet ``label`` / ``predicted_label`` are column names or indices and are resolved
    later with :func:`resolve_column`; for JSON types they are JMESPath expressions evaluated here,
    and the resulting column names are returned in the :class:`LoadedDataset`.
    """
    dataset_type = (dataset_type or CSV).lower()
    if dataset_type not in SUPPORTED_DATASET_TYPES:
        raise DatasetError(
            f"dataset_type {dataset_type!r} is not supported by the open engine; use one of "
            f"{', '.join(SUPPORTED_DATASET_TYPES)}."
        )
    if headers is not None and not isinstance(headers, list | tuple):
        raise DatasetError(f"'headers' must be a list of column names, got {headers!r}.")
    files = io.list_files(uri, storage_options)
    if dataset_type == CSV:
        return LoadedDataset(
            _read_csv(files, headers, storage_options, stream_threshold_bytes), uri, dataset_type
        )
    if dataset_type == PARQUET:
        data: TabularData = ParquetData(files, storage_options)
        if headers is not None and list(headers) != data.column_names:
            if len(headers) != len(data.column_names):
                raise DatasetError(
                    f"'headers' lists {len(headers)} names but the Parquet data has columns {data.column_names}."
                )
            renamed = data.to_table().rename_columns([str(h) for h in headers])
            data = TableData(renamed)
        return LoadedDataset(data, uri, dataset_type)
    if features is None:
        raise DatasetError(
            f"analysis_config field 'features' (a JMESPath locating the feature array) is required for "
            f"dataset_type {dataset_type}."
        )
    reader = _read_jsonlines if dataset_type == JSONLINES else _read_json
    table, label_name, predicted_name = reader(
        files, features, label, predicted_label, headers, storage_options
    )
    return LoadedDataset(TableData(table), uri, dataset_type, label_name, predicted_name)


def resolve_column(
    name_or_index: str | int, column_names: Sequence[str], field_name: str, *, where: str = "the dataset"
) -> str:
    """The column name that ``name_or_index`` (a name or 0-based index) designates.

    Raises :class:`DatasetError` naming the config field, the value and the available columns.
    """
    names = list(column_names)
    if isinstance(name_or_index, bool):
        raise DatasetError(
            f"analysis_config field {field_name!r}: {name_or_index!r} is neither a name nor an index."
        )
    if isinstance(name_or_index, int):
        if 0 <= name_or_index < len(names):
            return names[name_or_index]
        raise DatasetError(
            f"analysis_config field {field_name!r}: index {name_or_index} is out of range; {where} has "
            f"{len(names)} columns {names} (indices are 0-based)."
        )
    if isinstance(name_or_index, str) and name_or_index in names:
        return name_or_index
    raise DatasetError(
        f"analysis_config field {field_name!r}: column {name_or_index!r} is not in {where}; its columns are "
        f"{names}. Fix the name (or 'headers'), or give a 0-based index."
    )


def join_columns(
    main: TabularData,
    side: TabularData,
    columns: Sequence[str],
    *,
    join_main: str | None,
    join_side: str | None,
    what: str,
) -> TableData:
    """Add ``columns`` of ``side`` to ``main``: an inner join on the join columns (row order of
    ``main`` kept), or, without a join column, side by side (both must have the same row count).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    main_table = main.to_table()
    clashes = [c for c in columns if c in main_table.column_names and c != join_main]
    if clashes:
        raise DatasetError(
            f"Columns {clashes} of the {what} dataset also exist in the main dataset; rename them "
            f"(e.g. with the {what} headers)."
        )
    if join_main is None:
        side_table = side.to_table(list(columns))
        if side_table.num_rows != main_table.num_rows:
            raise DatasetError(
                f"The {what} dataset has {side_table.num_rows} rows but the main dataset has "
                f"{main_table.num_rows}; without 'joinsource_name_or_index' they must have equal row counts."
            )
        for name in columns:
            main_table = main_table.append_column(name, side_table.column(name))
        return TableData(main_table)
    assert join_side is not None
    side_table = side.to_table([join_side, *[c for c in columns if c != join_side]])
    if join_side != join_main:
        side_table = side_table.rename_columns([join_main, *side_table.column_names[1:]])
    if pc.count_distinct(side_table.column(join_main)).as_py() != side_table.num_rows:
        raise DatasetError(
            f"The join column {join_main!r} of the {what} dataset holds duplicate values; each record "
            "must appear once."
        )
    indexed = main_table.append_column(ROW_INDEX_COLUMN, pa.array(range(main_table.num_rows), pa.int64()))
    try:
        joined = indexed.join(side_table, keys=join_main, join_type="inner", use_threads=False)
    except pa.ArrowInvalid as exc:
        raise DatasetError(f"Cannot join the {what} dataset on {join_main!r}: {exc}") from exc
    joined = joined.sort_by(ROW_INDEX_COLUMN)
    if joined.num_rows != main_table.num_rows:
        raise DatasetError(
            f"Only {joined.num_rows} of {main_table.num_rows} records of the main dataset have a match in the "
            f"{what} dataset on {join_main!r}."
        )
    order = [*main_table.column_names, *[c for c in columns if c != join_main]]
    return TableData(joined.select(order))


class ExtendedData(TabularData):
    """``base`` plus extra columns held in memory (e.g. predictions obtained from a model)."""

    def __init__(self, base: TabularData, extra: dict[str, pa.Array]) -> None:
        self.base = base
        self.extra = extra
        self.column_names = [*base.column_names, *extra]

    def type_of(self, column):
        return self.extra[column].type if column in self.extra else self.base.type_of(column)

    def batches(self, columns=None, batch_rows=DEFAULT_BATCH_ROWS):
        import pyarrow as pa

        columns = list(self.column_names if columns is None else columns)
        base_columns = [c for c in columns if c not in self.extra]
        extra_columns = [c for c in columns if c in self.extra]
        if not base_columns:
            length = len(next(iter(self.extra.values())))
            for start in range(0, length, batch_rows):
                yield pa.record_batch(
                    [self.extra[c].slice(start, batch_rows) for c in columns], names=columns
                )
            return
        offset = 0
        for batch in self.base.batches(base_columns, batch_rows):
            arrays = {name: batch.column(name) for name in base_columns}
            arrays.update({name: self.extra[name].slice(offset, batch.num_rows) for name in extra_columns})
            offset += batch.num_rows
            yield pa.record_batch([arrays[c] for c in columns], names=columns)

    @property
    def num_rows(self) -> int:
        return len(next(iter(self.extra.values()))) if self.extra else self.base.num_rows


# --------------------------------------------------------------------------------------------------
# Model input
# --------------------------------------------------------------------------------------------------


def features_to_numpy(data: pa.Table | pa.RecordBatch) -> np.ndarray:
    """Feature columns as a 2-D array in column order: float64 when every column is numeric or
    boolean (nulls become NaN), otherwise an object array of Python values (nulls become None).
    """
    import numpy as np
    import pyarrow as pa

    types = [data.schema.field(i).type for i in range(data.num_columns)]
    numeric = all(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) for t in types)
    if data.num_columns == 0:
        return np.empty((data.num_rows, 0), dtype=np.float64)
    if numeric:
        out = np.empty((data.num_rows, data.num_columns), dtype=np.float64)
        for j in range(data.num_columns):
            column = data.column(j)
            column = column.cast(pa.float64()) if column.type != pa.float64() else column
            out[:, j] = column.to_numpy(zero_copy_only=False)
        return out
    out = np.empty((data.num_rows, data.num_columns), dtype=object)
    for j in range(data.num_columns):
        out[:, j] = data.column(j).to_pylist()
    return out


def load_baseline(
    spec: Any,
    dataset_type: str,
    feature_names: Sequence[str],
    *,
    features: str | None = None,
    storage_options: dict | None = None,
) -> pa.Table:
    """The SHAP baseline (``methods.shap.baseline``) as a table of the feature columns.

    ``spec`` is a list of rows (CSV/Parquet: lists of values; JSON Lines: objects located with the
    ``features`` JMESPath) or a URI of a file in the dataset's format holding features only.
    """
    import pyarrow as pa

    names = list(feature_names)
    if isinstance(spec, str):
        dataset_type = (dataset_type or CSV).lower()
        if dataset_type == CSV:
            layout = _csv_layout(io.list_files(spec, storage_options)[0], names, storage_options)
            table = _read_csv_file(io.list_files(spec, storage_options)[0], layout, storage_options)
            return _pandas_like_table(table)
        if dataset_type == PARQUET:
            table = ParquetData(io.list_files(spec, storage_options), storage_options).to_table()
            if all(n in table.column_names for n in names):
                return table.select(names)
            if table.num_columns != len(names):
                raise DatasetError(
                    f"The baseline {spec!r} has {table.num_columns} columns; the model takes {len(names)} features."
                )
            return table.rename_columns(names)
        loaded = load_dataset(spec, dataset_type, features=features, storage_options=storage_options)
        table = loaded.data.to_table()
        if table.num_columns != len(names):
            raise DatasetError(
                f"The baseline {spec!r} has {table.num_columns} features; the model takes {len(names)}."
            )
        return table.rename_columns(names)
    if not isinstance(spec, list) or not spec:
        raise DatasetError(f"methods.shap.baseline must be a non-empty list of rows or a URI, got {spec!r}.")
    rows = spec
    if dataset_type in (JSONLINES, JSON) and all(isinstance(r, dict) for r in rows):
        query = _compile(features, "features")
        rows = [query.search(r) for r in rows]
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            raise DatasetError(
                f"methods.shap.baseline row {i} is {row!r}; each row must list the {len(names)} feature "
                f"values in model-input order {names}."
            )
    columns = {name: _column_from_values([row[j] for row in rows], name) for j, name in enumerate(names)}
    return _pandas_like_table(pa.table(columns))


BatchSource = Callable[[Sequence[str]], Iterator["pa.RecordBatch"]]


def batch_source(data: TabularData, batch_rows: int = DEFAULT_BATCH_ROWS) -> BatchSource:
    """The re-iterable ``batches(columns)`` callable that the bias metrics consume."""

    def batches(columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        return data.batches(list(columns), batch_rows)

    return batches


__all__ = [
    "CSV",
    "JSON",
    "JSONLINES",
    "PARQUET",
    "SUPPORTED_DATASET_TYPES",
    "CsvStreamData",
    "DatasetError",
    "ExtendedData",
    "LoadedDataset",
    "ParquetData",
    "TableData",
    "TabularData",
    "batch_source",
    "features_to_numpy",
    "join_columns",
    "load_baseline",
    "load_dataset",
    "resolve_column",
]
