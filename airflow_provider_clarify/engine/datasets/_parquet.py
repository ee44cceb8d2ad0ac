"""Parquet datasets, read row group by row group."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from airflow_provider_clarify.engine import io
from airflow_provider_clarify.engine.datasets._batches import TabularData
from airflow_provider_clarify.engine.datasets._errors import DatasetError
from airflow_provider_clarify.engine.datasets._pandas_types import cast_batch
from airflow_provider_clarify.engine.io import EngineIOError

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

#: Words of pyarrow's messages for a file that is damaged or not Parquet (as opposed to storage failing).
_DAMAGED = ("thrift", "deserializ", "parquet", "magic", "footer", "corrupt", "page", "invalid", "eof")


@contextlib.contextmanager
def _reading(uri: str) -> Iterator[None]:
    """Turn pyarrow's failures on ``uri`` into typed errors: a damaged file is a
    :class:`DatasetError` (retrying cannot help), a storage failure an :class:`EngineIOError`."""
    import pyarrow as pa

    try:
        yield
    except (DatasetError, EngineIOError):
        raise
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise DatasetError(f"Cannot read Parquet file {uri!r}: {exc}") from exc
    except OSError as exc:
        if any(word in str(exc).lower() for word in _DAMAGED):
            raise DatasetError(
                f"Cannot read Parquet file {uri!r}: {exc}. The file is damaged or not a Parquet file."
            ) from exc
        raise EngineIOError(f"Cannot read {uri!r}: {exc}") from exc


class ParquetData(TabularData):
    """Parquet files read row group by row group (memory bounded by one row group of the columns read)."""

    def __init__(self, files: list[str], storage_options: dict | None = None) -> None:
        import pyarrow.parquet as pq

        self.files = files
        self.storage_options = storage_options
        first = io.resolve(files[0], storage_options)
        with _reading(files[0]):
            self.schema = pq.read_schema(first.path, filesystem=first.filesystem)
        self.column_names = list(self.schema.names)
        self._footers: list[pq.FileMetaData] | None = None
        self._casts = self._pandas_like_casts()
        self._dictionary_strings: set[str] | None = None

    def file_metadata(self) -> list[pq.FileMetaData]:
        """Each file's footer (row groups, column chunk statistics), read once and kept."""
        import pyarrow.parquet as pq

        if self._footers is None:
            footers = []
            for uri in self.files:
                resolved = io.resolve(uri, self.storage_options)
                with _reading(uri):
                    footers.append(pq.read_metadata(resolved.path, filesystem=resolved.filesystem))
            self._footers = footers
        return self._footers

    def _column_chunks(self) -> Iterator:
        """The metadata of every column chunk of every row group of every file."""
        for metadata in self.file_metadata():
            for rg in range(metadata.num_row_groups):
                group = metadata.row_group(rg)
                for ci in range(group.num_columns):
                    yield group.column(ci)

    def _pandas_like_casts(self) -> dict[str, pa.DataType]:
        """Integer columns holding nulls are float64 in pandas; the metadata's null counts tell us."""
        import pyarrow as pa

        casts: dict[str, pa.DataType] = {}
        candidates = {n for n in self.column_names if pa.types.is_integer(self.schema.field(n).type)}
        if not candidates:
            return casts
        for column in self._column_chunks():
            name = column.path_in_schema
            if name in candidates and column.statistics is not None:
                if column.statistics.has_null_count and column.statistics.null_count:
                    casts[name] = pa.float64()
        return casts

    def _dictionary_columns(self) -> set[str]:
        """String columns stored with a dictionary page in every row group of every file.

        Read as Arrow dictionaries (``read_dictionary``), their values are decoded once per row group
        and each row costs an index instead of a string copy from the page; they are turned back into
        plain strings (a ``take``) before anyone sees them, so the column types are unchanged.
        """
        import pyarrow as pa

        if self._dictionary_strings is not None:
            return self._dictionary_strings
        candidates = {
            n
            for n in self.column_names
            if pa.types.is_string(self.schema.field(n).type)
            or pa.types.is_large_string(self.schema.field(n).type)
        }
        if candidates:
            for column in self._column_chunks():
                if column.path_in_schema in candidates and not column.has_dictionary_page:
                    candidates.discard(column.path_in_schema)
        self._dictionary_strings = candidates
        return candidates

    def type_of(self, column):
        return self._casts.get(column, self.schema.field(column).type)

    def _iter_batches(self, columns, batch_rows):
        import pyarrow.parquet as pq

        columns = list(self.column_names if columns is None else columns)
        casts = {c: t for c, t in self._casts.items() if c in columns}
        dictionaries = [c for c in columns if c in self._dictionary_columns()]
        casts.update({c: self.schema.field(c).type for c in dictionaries})
        for uri in self.files:
            resolved = io.resolve(uri, self.storage_options)
            with _reading(uri), resolved.filesystem.open_input_file(resolved.path) as handle:
                reader = pq.ParquetFile(handle, read_dictionary=dictionaries or None)
                for batch in reader.iter_batches(batch_size=batch_rows, columns=columns, use_threads=True):
                    yield cast_batch(batch, casts)

    @property
    def num_rows(self) -> int:
        return sum(metadata.num_rows for metadata in self.file_metadata())
