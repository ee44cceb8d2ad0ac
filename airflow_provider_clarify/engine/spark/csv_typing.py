"""The engine's CSV column typing, as a distributed first pass over text columns.

The executors read a CSV dataset as text (every column a string, :mod:`.sources`); this module
decides, like the single-machine reader (``engine/datasets/`` with
:mod:`~airflow_provider_clarify.engine.pandas_csv`), which type each column has over the *whole*
dataset, from per-segment states that merge (each state says what *every* cell of its part is, so
merging is a logical and/or: associative and commutative):

* pandas' missing-value tokens are missing; a column of only missing values is float64;
* integers (pyarrow's, or pandas' integer literals such as ``+5`` and `` 5 ``) are int64; with a
  missing cell, float64: the parsed integers rounded to the nearest double, as pandas casts them
  (``-0`` is ``0.0``, ``999999999999999999`` is ``1e18``);
* other numbers are float64 with pandas' own decimal conversion (:func:`pandas_float_values`),
  unless a cell is beyond the double range (``1e309``): pandas then keeps the whole column as text;
* a column of ``True``/``False`` tokens (and gaps) is boolean; anything else is text (dates too).

Second pass: :func:`convert_batch` turns a text batch into the typed batch the single-machine
engine would read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_clarify.engine import pandas_csv
from airflow_provider_clarify.engine.datasets._pandas_types import pandas_cast

if TYPE_CHECKING:
    import pyarrow as pa

#: Settled kinds. ``INT_AS_FLOAT``: an integer column with a missing cell, float64 cast from the ints.
INT, INT_AS_FLOAT, FLOAT, BOOL, STRING = "int64", "int64 as float64", "float64", "bool", "string"

#: The blanks pyarrow's CSV number parsing skips around a cell.
_BLANKS = " \t"


@dataclass(frozen=True)
class ColumnState:
    """What one part of the data says about a column: facts about *every* present cell of the part
    (true when it has none), whether it has a present cell, a gap, a number pandas refuses
    (``overflow``: beyond the double range, or a NaN spelling such as ``NAN``).

    * ``pyarrow_int``: pyarrow's CSV reader parses the cell as int64 (it skips blanks, no ``+``);
    * ``number``: pyarrow's CSV reader parses the cell as float64 (``+5``, ``inf``, ``1e309`` too);
    * ``pandas_int``: a number that pandas reads as an integer (``+5``, `` 5 ``) within int64;
    * ``boolean``: one of pandas' ``True``/``False`` tokens.
    """

    present: bool = False
    has_nulls: bool = False
    pyarrow_int: bool = True
    number: bool = True
    pandas_int: bool = True
    boolean: bool = True
    overflow: bool = False

    def merge(self, other: ColumnState) -> ColumnState:
        return ColumnState(
            present=self.present or other.present,
            has_nulls=self.has_nulls or other.has_nulls,
            pyarrow_int=self.pyarrow_int and other.pyarrow_int,
            number=self.number and other.number,
            pandas_int=self.pandas_int and other.pandas_int,
            boolean=self.boolean and other.boolean,
            overflow=self.overflow or other.overflow,
        )

    @property
    def kind(self) -> str:
        """The column's type as the single-machine reader decides it (:func:`settle`)."""
        if not self.present:
            return FLOAT  # all missing: NaN floats for pandas
        if self.pyarrow_int or (self.number and self.pandas_int):
            return INT_AS_FLOAT if self.has_nulls else INT
        if self.number and not self.overflow:
            return FLOAT
        if self.boolean:
            return BOOL
        return STRING


def missing_as_null(text: pa.Array) -> pa.Array:
    """``text`` with pandas' missing-value tokens (and Spark's nulls) as nulls."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = text.cast(pa.string())
    tokens = pa.array(pandas_csv.NA_VALUES, type=pa.string())
    return pc.if_else(pc.is_in(text, value_set=tokens), pa.scalar(None, pa.string()), text)


def _cast(values: pa.Array, target: pa.DataType) -> pa.Array | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def column_state(text: pa.Array) -> ColumnState:
    """The state of one column of one batch (``text``: the cells as Spark read them).

    Vectorised over the batch's distinct cells: a few casts, one regex match, and pandas' float
    conversion of the cells with an exponent (to find a number beyond the double range).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = missing_as_null(text)
    has_nulls = cells.null_count > 0
    values = pc.unique(cells.drop_null())
    if len(values) == 0:
        return ColumnState(has_nulls=has_nulls)
    trimmed = pc.utf8_trim(values, _BLANKS)
    number = _cast(trimmed, pa.float64()) is not None
    overflow = False
    if number:
        # only a cell with an exponent, or with hundreds of digits, can be beyond the double range
        # (without an exponent pandas' parser scales by at most the digits beyond the 17th); a NaN
        # spelling that is no missing-value token (``NAN``) is no number for pandas either
        suspect = pc.or_(
            pc.or_(
                pc.match_substring(values, "e", ignore_case=True),
                pc.match_substring(values, "nan", ignore_case=True),
            ),
            pc.greater(pc.binary_length(values), 300),
        )
        overflow = pandas_csv.overflows(values.filter(suspect)) is not None
    tokens = pa.array((*pandas_csv.TRUE_VALUES, *pandas_csv.FALSE_VALUES), type=pa.string())
    return ColumnState(
        present=True,
        has_nulls=has_nulls,
        pyarrow_int=_cast(trimmed, pa.int64()) is not None,
        number=number,
        pandas_int=number and pandas_csv.pandas_integer_values(values) is not None,
        boolean=pc.all(pc.is_in(values, value_set=tokens)).as_py(),
        overflow=overflow,
    )


def batch_states(batch: pa.RecordBatch, columns: list[str]) -> dict[str, ColumnState]:
    return {name: column_state(batch.column(batch.schema.get_field_index(name))) for name in columns}


def settle(states: dict[str, ColumnState]) -> dict[str, str]:
    """Final kind per column (:attr:`ColumnState.kind`) from the states merged over all segments."""
    return {name: state.kind for name, state in states.items()}


def _integers(cells: pa.Array) -> pa.Array:
    """int64 of an integer column's cells: pandas' integer literals, else pyarrow's integers."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ints = pandas_csv.pandas_integer_values(cells, allow_missing=True)
    if ints is None:  # no present cell, or pyarrow's own integers (e.g. hexadecimal)
        ints = pc.cast(pc.utf8_trim(cells, _BLANKS), pa.int64())
    return ints


def convert_column(text: pa.Array, kind: str) -> pa.Array:
    """The typed column the single-machine reader gives for these cells."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = missing_as_null(text)
    if kind == INT:
        return _integers(cells)
    if kind == INT_AS_FLOAT:
        return pandas_cast(_integers(cells), pa.float64())
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


__all__ = [
    "BOOL",
    "FLOAT",
    "INT",
    "INT_AS_FLOAT",
    "STRING",
    "ColumnState",
    "batch_states",
    "convert_batch",
    "convert_column",
    "settle",
]
