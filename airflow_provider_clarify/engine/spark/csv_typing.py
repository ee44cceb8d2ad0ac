"""The engine's CSV column typing, as a distributed first pass over text columns.

The executors read a CSV dataset as text (every column a string, :mod:`.sources`); this module
decides, like the single-machine reader (``engine/datasets/`` with
:mod:`~airflow_provider_clarify.engine.pandas_csv`), which type each column has over the *whole*
dataset, from per-segment states that merge:

* pandas' missing-value tokens are missing; a column of only missing values is float64;
* integers, then floats, then ``True``/``False`` tokens, otherwise text (dates stay text);
* integer and float together widen to float64; anything else mixed widens to text;
* an integer column with a missing value is float64 (pandas has no missing integer).

Second pass: :func:`convert_batch` turns a text batch into the typed batch the single-machine
engine would read (floats with pandas' own decimal conversion, :func:`pandas_float_values`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_clarify.engine import pandas_csv

if TYPE_CHECKING:
    import pyarrow as pa

NULL, INT, FLOAT, BOOL, STRING = "null", "int64", "float64", "bool", "string"


@dataclass(frozen=True)
class ColumnState:
    """What one part of the data says about a column: its narrowest type, and whether it had a gap."""

    kind: str = NULL
    has_nulls: bool = False

    def merge(self, other: ColumnState) -> ColumnState:
        return ColumnState(widen(self.kind, other.kind), self.has_nulls or other.has_nulls)


def widen(a: str, b: str) -> str:
    """The type holding both (the single-machine reader's widening)."""
    if a == b:
        return a
    if a == NULL:
        return b
    if b == NULL:
        return a
    if {a, b} == {INT, FLOAT}:
        return FLOAT
    return STRING


def missing_as_null(text: pa.Array) -> pa.Array:
    """``text`` with pandas' missing-value tokens (and Spark's nulls) as nulls."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = text.cast(pa.string())
    tokens = pa.array(pandas_csv.NA_VALUES, type=pa.string())
    return pc.if_else(pc.is_in(text, value_set=tokens), pa.scalar(None, pa.string()), text)


def _castable(values: pa.Array, target: pa.DataType) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def column_state(text: pa.Array) -> ColumnState:
    """The state of one column of one batch (``text``: the cells as Spark read them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = missing_as_null(text)
    has_nulls = cells.null_count > 0
    values = pc.unique(cells.drop_null())
    if len(values) == 0:
        return ColumnState(NULL, has_nulls)
    if _castable(values, pa.int64()):
        return ColumnState(INT, has_nulls)
    if _castable(values, pa.float64()):
        return ColumnState(FLOAT, has_nulls)
    tokens = pa.array((*pandas_csv.TRUE_VALUES, *pandas_csv.FALSE_VALUES), type=pa.string())
    if pc.all(pc.is_in(values, value_set=tokens)).as_py():
        return ColumnState(BOOL, has_nulls)
    return ColumnState(STRING, has_nulls)


def batch_states(batch: pa.RecordBatch, columns: list[str]) -> dict[str, ColumnState]:
    return {name: column_state(batch.column(batch.schema.get_field_index(name))) for name in columns}


def settle(states: dict[str, ColumnState]) -> dict[str, str]:
    """Final type per column: all-missing -> float64, integer with gaps -> float64 (pandas)."""
    types = {}
    for name, state in states.items():
        kind = state.kind
        if kind == NULL or (kind == INT and state.has_nulls):
            kind = FLOAT
        types[name] = kind
    return types


def convert_column(text: pa.Array, kind: str) -> pa.Array:
    """The typed column the single-machine reader gives for these cells."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = missing_as_null(text)
    if kind == INT:
        return pc.cast(cells, pa.int64())
    if kind == FLOAT:
        return pandas_csv.pandas_float_values(cells)
    if kind == BOOL:
        truth = pa.array(pandas_csv.TRUE_VALUES, type=pa.string())
        return pc.if_else(cells.is_null(), pa.scalar(None, pa.bool_()), pc.is_in(cells, value_set=truth))
    return cells


def convert_batch(batch: pa.RecordBatch, types: dict[str, str], columns: list[str]) -> pa.RecordBatch:
    """``columns`` of a text batch, typed by ``types``."""
    import pyarrow as pa

    arrays = [convert_column(batch.column(batch.schema.get_field_index(c)), types[c]) for c in columns]
    return pa.RecordBatch.from_arrays(arrays, names=list(columns))


__all__ = ["ColumnState", "batch_states", "convert_batch", "convert_column", "settle", "widen"]
