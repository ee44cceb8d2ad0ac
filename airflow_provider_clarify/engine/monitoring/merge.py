"""Write the window's merged records (features, ground truth, prediction) to Parquet, streaming.

Rows are buffered ``batch_rows`` at a time; each column's type is fixed by the first batch (int64 when
every value is a whole number, float64 when every value is a number, else string: what pandas would
make of the same values as CSV, so labels ``0``/``1`` stay categorical for the bias metrics). A day of
capture never sits in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from airflow_provider_clarify.engine.monitoring.capture import ReadStats

DEFAULT_BATCH_ROWS = 65_536


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number
    return None


def _column_type(text):
    """int64 if every value is a whole number, float64 if a number, else string (pandas' CSV typing)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for candidate in (pa.int64(), pa.float64()):
        try:
            pc.cast(text, candidate)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return candidate
    return pa.string()


def _cast(text, target):
    """``text`` cast to ``target``; values that do not fit become null and their rows are returned."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if target == pa.string():
        return text, []
    try:
        return pc.cast(text, target), []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values, bad = [], []
    for row, value in enumerate(text.to_pylist()):
        number = _number(value)
        if number is None or (target == pa.int64() and not number.is_integer()):
            values.append(None)
            bad.append(row)
        else:
            values.append(int(number) if target == pa.int64() else number)
    return pa.array(values, type=target), bad


def merged_schema(columns: Sequence[str], texts: Sequence[Any]) -> Any:
    """The merged file's schema: each column typed by its values in the first batch written."""
    import pyarrow as pa

    return pa.schema([pa.field(n, _column_type(t)) for n, t in zip(columns, texts, strict=True)])


def typed_rows(texts: Sequence[Any], schema: Any, bad: Any) -> Any:
    """The rows of the string arrays ``texts`` as a table of ``schema``, without the rows holding a value
    that does not fit its column's type; ``bad(row, where, reason)`` is called for each such value."""
    import pyarrow as pa

    keep = None
    arrays = []
    for index, (text, target) in enumerate(zip(texts, schema.types, strict=True)):
        array, rows = _cast(text, target)
        for row in rows:
            bad(
                row,
                f"column {schema.names[index]}",
                f"{text[row].as_py()!r} is not {'a whole number' if target == pa.int64() else 'a number'} "
                "(the column's first values were)",
            )
        if rows:
            keep = [True] * len(text) if keep is None else keep
            for row in rows:
                keep[row] = False
        arrays.append(array)
    table = pa.Table.from_arrays(arrays, schema=schema)
    if keep is not None:
        table = table.filter(pa.array(keep))
    return table


class MergedWriter:
    """Collect rows of ``columns`` and write them as row groups of one Parquet file."""

    def __init__(
        self, path: str, columns: Sequence[str], stats: ReadStats, batch_rows: int = DEFAULT_BATCH_ROWS
    ):
        self.path = path
        self.columns = list(columns)
        self.stats = stats
        self.batch_rows = batch_rows
        self.rows_written = 0
        self._buffer: list[list[Any]] = []
        self._chunks: list[list[Any]] = []  # string arrays per column, in arrival order
        self._chunk_rows = 0
        self._writer = None
        self._schema = None

    def add(self, row: list[Any], where: str) -> None:
        if len(row) != len(self.columns):
            self.stats.bad(where, f"{len(row)} values for {len(self.columns)} columns {self.columns}")
            return
        self._buffer.append(row)
        if len(self._buffer) + self._chunk_rows >= self.batch_rows:
            self.flush()

    def add_columns(self, texts: Sequence[Any]) -> None:
        """Add rows given as one pyarrow string array per column (the columnar path; values are the
        text :meth:`add` would make of them)."""
        if len(texts) != len(self.columns):
            raise ValueError(f"{len(texts)} arrays for {len(self.columns)} columns")
        self._buffer_to_chunk()
        self._chunks.append(list(texts))
        self._chunk_rows += len(texts[0])
        if self._chunk_rows >= self.batch_rows:
            self.flush()

    def _buffer_to_chunk(self) -> None:
        if not self._buffer:
            return
        import pyarrow as pa

        columns = list(zip(*self._buffer, strict=True))
        self._chunks.append(
            [
                pa.array([None if v is None else str(v) for v in column], type=pa.string())
                for column in columns
            ]
        )
        self._chunk_rows += len(self._buffer)
        self._buffer = []

    def extend(self, rows: Iterable[tuple[list[Any], str]]) -> None:
        for row, where in rows:
            self.add(row, where)

    def flush(self) -> None:
        self._buffer_to_chunk()
        if not self._chunk_rows:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        texts = [
            pa.concat_arrays([chunk[index].cast(pa.string()) for chunk in self._chunks])
            for index in range(len(self.columns))
        ]
        self._chunks, self._chunk_rows = [], 0
        if self._schema is None:
            self._schema = merged_schema(self.columns, texts)
            self._writer = pq.ParquetWriter(self.path, self._schema)
        table = typed_rows(texts, self._schema, lambda _row, where, reason: self.stats.bad(where, reason))
        self._writer.write_table(table)
        self.rows_written += table.num_rows

    def close(self) -> int:
        self.flush()
        if self._writer is not None:
            self._writer.close()
        return self.rows_written
