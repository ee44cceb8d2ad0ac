"""Datasets as re-iterable streams of Arrow record batches, and the source the bias metrics read.

Every reader returns a :class:`TabularData`. Its :meth:`TabularData.batches` is the one place every
batch of every format passes through (readers implement ``_iter_batches``), so cross-cutting work
on the rows read (progress, limits) belongs there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from airflow_provider_clarify.engine.datasets._errors import DatasetError, DatasetMemoryError, out_of_memory

if TYPE_CHECKING:
    import pyarrow as pa

#: Rows per record batch handed to the metrics.
DEFAULT_BATCH_ROWS = 1 << 20


class TabularData:
    """Columns of one dataset, readable as a re-iterable stream of record batches.

    ``batches(columns)`` restarts from the first row on every call, which the bias metrics rely on
    (they may stream the data more than once).
    """

    column_names: list[str]
    #: what the data is, for messages (a URI, or a description)
    source: str = "the dataset"
    #: what the reader noticed and logged (e.g. a header row that looks like data), for the report
    warnings: list[str] = []

    def batches(
        self, columns: Sequence[str] | None = None, batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        """Stream (the given columns of) the dataset from its first row, ``batch_rows`` at most each.

        Every batch of every reader passes through here. Running out of memory becomes a
        :class:`DatasetMemoryError` with a hint; data pyarrow refuses, a :class:`DatasetError`.
        """
        import pyarrow as pa

        try:
            yield from self._iter_batches(columns, batch_rows)
        except DatasetMemoryError:
            raise
        except (MemoryError, pa.ArrowMemoryError) as exc:
            raise out_of_memory(f"reading {self.source} in batches of {batch_rows} rows", exc) from exc
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise DatasetError(f"Cannot read {self.source}: {exc}") from exc

    def _iter_batches(self, columns: Sequence[str] | None, batch_rows: int) -> Iterator[pa.RecordBatch]:
        """The reader's own batch iteration (see :meth:`batches`)."""
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

    def _iter_batches(self, columns, batch_rows):
        table = self.table if columns is None else self.table.select(list(columns))
        yield from table.to_batches(max_chunksize=batch_rows)

    def to_table(self, columns=None):
        return self.table if columns is None else self.table.select(list(columns))

    def type_of(self, column):
        return self.table.schema.field(column).type

    @property
    def num_rows(self) -> int:
        return self.table.num_rows


class ExtendedData(TabularData):
    """``base`` plus extra columns held in memory (e.g. predictions obtained from a model)."""

    def __init__(self, base: TabularData, extra: dict[str, pa.Array]) -> None:
        self.base = base
        self.extra = extra
        self.column_names = [*base.column_names, *extra]
        self.source = base.source
        self.warnings = base.warnings

    def type_of(self, column):
        return self.extra[column].type if column in self.extra else self.base.type_of(column)

    def _iter_batches(self, columns, batch_rows):
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
        for batch in self.base._iter_batches(base_columns, batch_rows):
            arrays = {name: batch.column(name) for name in base_columns}
            arrays.update({name: self.extra[name].slice(offset, batch.num_rows) for name in extra_columns})
            offset += batch.num_rows
            yield pa.record_batch([arrays[c] for c in columns], names=columns)

    @property
    def num_rows(self) -> int:
        return len(next(iter(self.extra.values()))) if self.extra else self.base.num_rows


BatchSource = Callable[[Sequence[str]], Iterator["pa.RecordBatch"]]


def batch_source(data: TabularData, batch_rows: int = DEFAULT_BATCH_ROWS) -> BatchSource:
    """The re-iterable ``batches(columns)`` callable that the bias metrics consume.

    Its ``warnings`` attribute holds the reader's warnings (:attr:`TabularData.warnings`); the bias
    sections list them (code ``dataset_read``).
    """

    def batches(columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        return data.batches(list(columns), batch_rows)

    # what the reader noticed travels with the source, so the bias sections can report it
    batches.warnings = tuple(data.warnings)  # type: ignore[attr-defined]
    return batches
