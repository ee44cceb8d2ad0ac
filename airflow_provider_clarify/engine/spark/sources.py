"""What the executors read: a dataset cut into segments, each read with pyarrow where it lives.

The Spark backend does not use Spark's own file readers: the driver lists the files with the engine's
I/O layer (:mod:`airflow_provider_clarify.engine.io`: local paths, ``file://``, ``s3://`` with an
``endpoint_url``) and cuts them into *segments*; each Spark task reads its segments itself, with
pyarrow, from wherever they are. So ``s3://`` needs no Hadoop S3A jars on the cluster, and every
format is parsed by the same library as on one machine.

* CSV (:class:`CsvSource`): byte ranges of a file (gzip files: the whole file). A segment owns the
  lines that *start* inside its range, so lines are never split or read twice; the cells are read as
  text and typed by :mod:`.csv_typing` over the whole dataset.
* Parquet (:class:`ParquetSource`): one row group. Column types are those of the single-machine
  reader (:class:`~airflow_provider_clarify.engine.datasets.ParquetData`, settled on the driver from the
  files' metadata).
* JSON Lines (:class:`JsonLinesSource`): one file, read by the single-machine reader
  (:func:`~airflow_provider_clarify.engine.datasets.load_dataset`); the files' column types are then
  unified on the driver (:func:`unify_json_types`).

A segment's key ``(file, block)`` orders it in the dataset: files in the engine's sorted order, then
the byte offset or row-group index.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_clarify.engine import io
from airflow_provider_clarify.engine.datasets import DatasetError

if TYPE_CHECKING:
    import pyarrow as pa

#: Rows per record batch handed to the kernels on an executor.
BATCH_ROWS = 1 << 16
_SCAN_CHUNK = 1 << 16


@dataclass(frozen=True)
class Segment:
    """One unit of reading: ``block`` is a byte offset (CSV), a row group (Parquet) or 0 (JSON Lines)."""

    file: str
    block: int
    end: int = -1  # CSV: end of the byte range (-1: to the end of the file)


def split_ranges(size: int, split_bytes: int) -> list[tuple[int, int]]:
    """``[start, end)`` byte ranges of at most ``split_bytes`` covering ``size`` bytes."""
    split_bytes = max(1, int(split_bytes))
    return [(start, min(start + split_bytes, size)) for start in range(0, max(size, 1), split_bytes)]


def owned_lines(handle: Any, start: int, end: int) -> bytes:
    """The bytes of the lines whose first byte lies in ``[start, end)`` of a random-access file.

    A line starts at 0 or right after a ``\\n``. The last owned line is read to its end even past
    ``end``; the next range's first line is the first one starting at or after its own start.
    """
    first = 0
    if start > 0:
        position = start - 1
        while True:
            chunk = handle.read_at(_SCAN_CHUNK, position)
            if not chunk:
                return b""
            newline = chunk.find(b"\n")
            if newline >= 0:
                first = position + newline + 1
                break
            position += len(chunk)
    if first >= end:
        return b""
    data = handle.read_at(end - first, first)
    if len(data) < end - first or data.endswith(b"\n"):
        return data
    tail = [data]
    position = end
    while True:
        chunk = handle.read_at(_SCAN_CHUNK, position)
        if not chunk:
            break
        newline = chunk.find(b"\n")
        if newline >= 0:
            tail.append(chunk[: newline + 1])
            break
        tail.append(chunk)
        position += len(chunk)
    return b"".join(tail)


@dataclass(frozen=True)
class CsvFile:
    """One CSV file's column names and whether its first line is a header row (the engine's rules)."""

    uri: str
    names: tuple[str, ...]
    header_row: bool
    gzip: bool
    size: int


@dataclass
class CsvSource:
    """CSV files as text batches (every cell a string, pandas' quoting), segment by segment."""

    files: list[CsvFile]
    storage_options: dict | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)

    @classmethod
    def open(cls, files: list[str], headers: Sequence[str] | None, storage_options: dict | None) -> CsvSource:
        """The layout of every file, as the single-machine reader decides it (header row, names)."""
        from airflow_provider_clarify.engine.datasets import csv_layouts

        layouts = csv_layouts(files, headers, storage_options)
        names = list(layouts[0].names)
        if len(set(names)) != len(names):
            raise DatasetError(f"The dataset has duplicate column names {names}.")
        return cls(
            [
                CsvFile(
                    uri,
                    tuple(layout.names),
                    layout.header_row,
                    io.is_gzip(uri, storage_options),
                    io.file_size(uri, storage_options),
                )
                for uri, layout in zip(files, layouts, strict=True)
            ],
            storage_options,
            [layout.warning for layout in layouts if layout.warning],
        )

    @property
    def column_names(self) -> list[str]:
        return list(self.files[0].names)

    def segments(self, split_bytes: int) -> list[Segment]:
        out = []
        for file in self.files:
            if file.gzip:
                out.append(Segment(file.uri, 0, -1))
            else:
                out.extend(Segment(file.uri, lo, hi) for lo, hi in split_ranges(file.size, split_bytes))
        return out

    def read(self, segment: Segment, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        """Text batches of ``columns`` of the lines ``segment`` owns."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        file = next(f for f in self.files if f.uri == segment.file)
        try:
            if file.gzip:
                with io.open_input(file.uri, self.storage_options) as stream:
                    data = stream.read()
            else:
                resolved = io.resolve(file.uri, self.storage_options)
                with resolved.filesystem.open_input_file(resolved.path) as handle:
                    data = owned_lines(handle, segment.block, segment.end)
        except OSError as exc:
            raise io.EngineIOError(f"Cannot read {file.uri!r}: {exc}") from exc
        skip_header = file.header_row and segment.block == 0
        newline = data.find(b"\n")
        if not data.strip() or (skip_header and (newline < 0 or not data[newline + 1 :].strip())):
            return  # no rows here (only the header row, or blank lines)
        names = list(file.names)
        reader = pacsv.open_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(
                column_names=names,
                skip_rows=1 if skip_header else 0,
                block_size=8 << 20,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                include_columns=list(columns),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        try:
            for batch in reader:
                yield batch.select(list(columns))
        except pa.ArrowInvalid as exc:
            raise DatasetError(
                f"Cannot read the CSV file {file.uri!r} (bytes from {segment.block}): {exc}. Every row "
                "needs the same number of cells; quoted cells may not span lines on the Spark backend."
            ) from exc


@dataclass
class ParquetSource:
    """Parquet files read row group by row group, typed as the single-machine reader types them."""

    files: list[str]
    file_columns: list[str]  # the names in the files
    column_names: list[str]  # the names the analysis sees (``headers`` may rename by position)
    types: dict[str, Any]  # analysis name -> pyarrow type
    row_groups: list[int]
    num_rows: int
    storage_options: dict | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)

    @classmethod
    def open(
        cls, files: list[str], headers: Sequence[str] | None, storage_options: dict | None
    ) -> ParquetSource:
        from airflow_provider_clarify.engine.datasets import ParquetData

        data = ParquetData(files, storage_options)
        file_columns = list(data.column_names)
        names = file_columns
        if headers is not None and list(headers) != file_columns:
            if len(headers) != len(file_columns):
                raise DatasetError(
                    f"'headers' lists {len(headers)} names but the Parquet data has columns {file_columns}."
                )
            names = [str(h) for h in headers]
        groups = [metadata.num_row_groups for metadata in data.file_metadata()]
        types = {name: data.type_of(column) for name, column in zip(names, file_columns, strict=True)}
        return cls(files, file_columns, names, types, groups, data.num_rows, storage_options)

    def segments(self, split_bytes: int) -> list[Segment]:
        return [
            Segment(uri, rg)
            for uri, count in zip(self.files, self.row_groups, strict=True)
            for rg in range(count)
        ]

    def read(self, segment: Segment, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        to_file = dict(zip(self.column_names, self.file_columns, strict=True))
        wanted = [to_file[c] for c in columns]
        resolved = io.resolve(segment.file, self.storage_options)
        try:
            with resolved.filesystem.open_input_file(resolved.path) as handle:
                reader = pq.ParquetFile(handle)
                for batch in reader.iter_batches(
                    batch_size=BATCH_ROWS, row_groups=[segment.block], columns=wanted, use_threads=False
                ):
                    arrays = [batch.column(i).cast(self.types[name]) for i, name in enumerate(columns)]
                    yield pa.RecordBatch.from_arrays(arrays, names=list(columns))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise DatasetError(f"Cannot read Parquet file {segment.file!r}: {exc}") from exc
        except OSError as exc:
            raise io.EngineIOError(f"Cannot read {segment.file!r}: {exc}") from exc


@dataclass
class JsonLinesSource:
    """JSON Lines files, one segment each, read by the single-machine reader and typed across files."""

    files: list[str]
    headers: list | None
    features: Any
    label: Any
    predicted_label: Any
    storage_options: dict | None = None
    column_names: list[str] = dataclasses.field(default_factory=list)
    types: dict[str, Any] = dataclasses.field(default_factory=dict)
    label_column: str | None = None
    predicted_label_column: str | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)

    def segments(self, split_bytes: int) -> list[Segment]:
        return [Segment(uri, 0) for uri in self.files]

    def load(self, uri: str):
        """The file as the single-machine reader reads it alone (``None``: no records in it)."""
        from airflow_provider_clarify.engine import datasets

        try:
            return datasets.load_dataset(
                uri,
                datasets.JSONLINES,
                headers=self.headers,
                features=self.features,
                label=self.label,
                predicted_label=self.predicted_label,
                storage_options=self.storage_options,
            )
        except DatasetError:
            if not io.read_bytes(uri, self.storage_options).strip():
                return None  # an empty part file: the dataset's other files hold the records
            raise

    def read(self, segment: Segment, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        loaded = self.load(segment.file)
        if loaded is None:
            return
        table = loaded.data.to_table(list(columns))
        yield from (to_json_types(batch, self.types) for batch in table.to_batches(BATCH_ROWS))


def json_file_facts(loaded: Any) -> dict:
    """What the driver needs from one JSON Lines file: names, types, which columns have gaps."""
    table = loaded.data.to_table()
    return {
        "names": list(table.column_names),
        "label": loaded.label_column,
        "predicted": loaded.predicted_label_column,
        "types": {name: table.schema.field(name).type for name in table.column_names},
        "all_null": [name for name in table.column_names if table.column(name).null_count == len(table)],
        "with_nulls": [name for name in table.column_names if table.column(name).null_count],
        "rows": table.num_rows,
    }


def unify_json_types(parts: list[tuple[str, dict]]) -> dict[str, Any]:
    """One type per column over all files, as reading them together would give.

    Each file was typed alone by the single-machine reader (pyarrow's inference, then pandas' rules:
    integers with gaps and all-missing columns are float64). Together: a column missing in a file
    takes the other files' type; otherwise the types widen as the single-machine reader widens part
    files' types (:func:`~airflow_provider_clarify.engine.datasets.widen`): integers and floats give
    float64; text and booleans or integers give text (written as JSON, like the single-machine
    reader); text and floats cannot be rebuilt exactly from typed files, so that is refused with a
    clear error.
    """
    import pyarrow as pa

    from airflow_provider_clarify.engine.datasets import widen

    types: dict[str, Any] = {}
    for _uri, facts in parts:
        for name, typ in facts["types"].items():
            if name in facts["all_null"]:
                continue
            types[name] = widen(types[name], typ) if name in types else typ
    names = parts[0][1]["names"]
    for name in names:
        types.setdefault(name, pa.float64())  # missing in every file
        if pa.types.is_integer(types[name]) and any(name in facts["with_nulls"] for _, facts in parts):
            types[name] = pa.float64()  # pandas has no integer with gaps
    for uri, facts in parts:
        for name, typ in facts["types"].items():
            if (
                pa.types.is_string(types[name])
                and name not in facts["all_null"]
                and pa.types.is_floating(typ)
            ):
                raise DatasetError(
                    f"Column {name!r} holds numbers with decimals in {uri!r} and text in other part files; "
                    "the Spark backend cannot type it as one column exactly. Make the column one type in "
                    "every file, or read the dataset with the single-machine engine (--backend local)."
                )
    return {name: types[name] for name in names}


def to_json_types(batch: pa.RecordBatch, types: dict[str, Any]) -> pa.RecordBatch:
    """A file's batch in the dataset's types (text from integers or booleans: their JSON text)."""
    import pyarrow as pa

    arrays = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        target = types[name]
        if column.type == target:
            arrays.append(column)
        elif pa.types.is_string(target) and not pa.types.is_null(column.type):
            values = [
                None if v is None else (v if isinstance(v, str) else json.dumps(v))
                for v in column.to_pylist()
            ]
            arrays.append(pa.array(values, type=pa.string()))
        else:
            arrays.append(column.cast(target))
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


__all__ = [
    "BATCH_ROWS",
    "CsvSource",
    "JsonLinesSource",
    "ParquetSource",
    "Segment",
    "json_file_facts",
    "owned_lines",
    "split_ranges",
    "to_json_types",
    "unify_json_types",
]
