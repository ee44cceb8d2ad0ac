"""pandas' dtype inference applied to Arrow data, so that the bias rules see what the container sees.

Integers with missing values and all-empty columns become float64, dates stay text (see
docs/parity.md, "Reading data like the container").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def pandas_cast(column, target: pa.DataType):
    """``column`` as ``target`` the way pandas converts it.

    An integer column becomes float64 by rounding each value to the nearest double (pandas casts
    the parsed integers, so ``9007199254740993`` is ``9007199254740992.0`` and ``-0`` is ``0.0``);
    Arrow's default safe cast would refuse integers beyond 2**53 instead.
    """
    import pyarrow as pa

    return column.cast(target, safe=not (pa.types.is_integer(column.type) and pa.types.is_floating(target)))


def cast_batch(batch: pa.RecordBatch, casts: dict[str, pa.DataType]) -> pa.RecordBatch:
    import pyarrow as pa

    if not casts:
        return batch
    arrays = [
        pandas_cast(batch.column(i), casts[name]) if name in casts else batch.column(i)
        for i, name in enumerate(batch.schema.names)
    ]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def widen(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    """One type for a column typed ``a`` in one part file and ``b`` in another, as pandas reading
    them together gives: a missing (null) side takes the other, integers and floats give float64,
    anything else mixed gives text."""
    import pyarrow as pa

    if a == b:
        return a
    if pa.types.is_null(a):
        return pandas_like_type(b)
    if pa.types.is_null(b):
        return a
    numeric = (pa.types.is_integer, pa.types.is_floating)
    if any(f(a) for f in numeric) and any(f(b) for f in numeric):
        return pa.float64()
    return pa.string()


def pandas_like_type(typ: pa.DataType) -> pa.DataType:
    import pyarrow as pa

    if pa.types.is_null(typ):
        return pa.float64()
    if pa.types.is_temporal(typ):
        return pa.string()
    return typ


def pandas_like_table(table: pa.Table) -> pa.Table:
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
            table = table.set_column(i, name, pandas_cast(column, target))
    return table
