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
        self._numeric: list[bool] | None = None
        self._writer = None
        self._schema = None

    def add(self, row: list[Any], where: str) -> None:
        if len(row) != len(self.columns):
            self.stats.bad(where, f"{len(row)} values for {len(self.columns)} columns {self.columns}")
            return
        self._buffer.append(row)
        if len(self._buffer) >= self.batch_rows:
            self.flush()

    def extend(self, rows: Iterable[tuple[list[Any], str]]) -> None:
        for row, where in rows:
            self.add(row, where)

    def flush(self) -> None:
        if not self._buffer:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = list(zip(*self._buffer, strict=True))
        self._buffer = []
        if self._numeric is None:
            self._numeric = [all(_number(v) is not None for v in column) for column in columns]
            types = []
            for column, numeric in zip(columns, self._numeric, strict=True):
                whole = numeric and all(float(_number(v)).is_integer() for v in column)
                types.append(pa.int64() if whole else pa.float64() if numeric else pa.string())
            self._schema = pa.schema([pa.field(n, t) for n, t in zip(self.columns, types, strict=True)])
            self._writer = pq.ParquetWriter(self.path, self._schema)
        keep = [True] * len(columns[0])
        converted: list[list[Any]] = []
        for index, (column, numeric) in enumerate(zip(columns, self._numeric, strict=True)):
            if numeric:
                whole = self._schema.field(index).type == pa.int64()
                values = [_number(v) for v in column]
                for row, value in enumerate(values):
                    if (value is None or (whole and not value.is_integer())) and keep[row]:
                        keep[row] = False
                        kind = "a whole number" if whole else "a number"
                        self.stats.bad(
                            f"column {self.columns[index]}",
                            f"{column[row]!r} is not {kind} (the column's first values were)",
                        )
                converted.append([int(v) if whole and v is not None else v for v in values])
            else:
                converted.append([None if v is None else str(v) for v in column])
        if not all(keep):
            converted = [[v for v, k in zip(values, keep, strict=True) if k] for values in converted]
        table = pa.Table.from_arrays(
            [pa.array(values, type=f.type) for values, f in zip(converted, self._schema, strict=True)],
            schema=self._schema,
        )
        self._writer.write_table(table)
        self.rows_written += table.num_rows

    def close(self) -> int:
        self.flush()
        if self._writer is not None:
            self._writer.close()
        return self.rows_written
