"""The CSV reader agrees with ``pandas.read_csv`` itself (the container's reader), on generated text.

pandas 2.x is the oracle (the ``test`` extra pins it below 3, whose float conversion differs from
the container's). Hypothesis generates cells of every kind the reading rules care about: decimal
numbers of up to 25 digits with and without exponents, pandas' missing-value tokens, boolean
tokens, integers and text; the engine's column types and values must be pandas' own.
"""

from __future__ import annotations

import io as stdio
import math
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, example, given, settings, strategies as st

from airflow_provider_clarify.engine.datasets import load_dataset, pandas_header_names
from airflow_provider_clarify.engine.pandas_csv import (
    FALSE_VALUES,
    NA_VALUES,
    TRUE_VALUES,
    overflows,
    pandas_float_values,
)

SETTINGS = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def decimal_texts(draw) -> str:
    """Decimal numbers as people and programs write them: long fractions, exponents, spaces."""
    sign = draw(st.sampled_from(["", "-", "+"]))
    whole = draw(st.text("0123456789", min_size=0, max_size=12))
    fraction = draw(st.text("0123456789", min_size=0, max_size=22))
    if not whole and not fraction:
        whole = "0"
    text = sign + whole + ("." + fraction if fraction or draw(st.booleans()) else "")
    if draw(st.booleans()):
        text += draw(st.sampled_from(["e", "E"])) + str(draw(st.integers(-330, 330)))
    return text


def _pandas_column(cells: list[str]) -> pd.Series:
    return pd.read_csv(stdio.StringIO("a\n" + "\n".join(cells) + "\n"))["a"]


def _same_float(engine: float | None, oracle: float) -> bool:
    if engine is None:
        return math.isnan(oracle)
    if math.isnan(oracle):
        return math.isnan(engine)
    return engine == oracle and math.copysign(1.0, engine) == math.copysign(1.0, oracle)


@SETTINGS
@given(st.lists(decimal_texts(), min_size=1, max_size=12))
@example(["186.63400000000001", "0.1234567890123456789012", "-3.9360000000000004", "  2.25 ", "inf"])
@example(["1e309", "1.5"])  # beyond the double range: pandas keeps the column as text
@example(["0", "0e309"])  # an exponent above 308 is out of range even for zero
@example(["100e307"])
@example(["1.5", "NAN"])  # pyarrow's NaN, no number for pandas: text
@example(["+nan"])
def test_float_text_is_converted_bit_for_bit_like_pandas(cells):
    oracle = _pandas_column(cells)
    text = pa.array(cells)
    values = pandas_float_values(text)
    if pd.api.types.is_object_dtype(
        oracle.dtype
    ):  # a number beyond the double range: pandas keeps the column as text
        assert overflows(text) is not None
        return
    assert overflows(text) is None
    if oracle.dtype != "float64":
        return  # integers only: read as int64 by both, no float conversion involved
    engine = values.to_pylist()
    for cell, got, want in zip(cells, engine, oracle, strict=True):
        assert _same_float(got, float(want)), (cell, got, float(want))


CELL = st.one_of(
    decimal_texts(),
    st.integers(-(10**12), 10**12).map(str),
    # beyond 2**53: pandas rounds them when a cell is missing; -2**63, pandas' own missing-value
    # marker for integers, is not reproduced (docs/parity.md)
    st.integers(-(2**63) + 1, 2**63 - 1).map(str),
    st.sampled_from(["-0", "+0", "9007199254740993", "999999999999999999"]),
    st.sampled_from(NA_VALUES),
    st.sampled_from(TRUE_VALUES + FALSE_VALUES),
    st.sampled_from(["1", "0", "yes", "no", "male", "female", "2020-01-02", "x y"]),
)


@st.composite
def csv_tables(draw) -> tuple[list[str], list[list[str]]]:
    """A header row and 1-12 rows of 2-4 columns; a column mixes at most four kinds of cell.

    (One column would make an empty cell a blank line, which pandas skips; bias data has at least
    a facet and a label column.)
    """
    width = draw(st.integers(2, 4))
    height = draw(st.integers(1, 12))
    columns = []
    for _ in range(width):
        kinds = draw(st.lists(CELL, min_size=1, max_size=4))
        columns.append([draw(st.sampled_from(kinds)) for _ in range(height)])
    names = [f"c{j}" for j in range(width)]
    return names, [[columns[j][i] for j in range(width)] for i in range(height)]


def _family(series: pd.Series) -> str:
    """The engine's family for a pandas column. A boolean column with missing values is an object
    column of bools and NaN in pandas; the engine keeps it boolean with nulls and its bias rules
    treat it as pandas does (docs/parity.md)."""
    dtype = series.dtype
    present = series.dropna().tolist()
    if pd.api.types.is_object_dtype(dtype) and present and all(isinstance(v, bool) for v in present):
        return "bool"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    return "str"


def _arrow_family(typ: pa.DataType) -> str:
    if pa.types.is_boolean(typ):
        return "bool"
    if pa.types.is_integer(typ):
        return "int"
    if pa.types.is_floating(typ):
        return "float"
    return "str"


def _assert_pandas_types_and_values(engine: pa.Table, oracle: pd.DataFrame, names: list[str], text: str):
    assert engine.column_names == list(oracle.columns)
    for name in names:
        want = oracle[name]
        got = engine.column(name)
        assert _arrow_family(got.type) == _family(want), (name, got.type, want.dtype, text)
        for cell_got, cell_want in zip(got.to_pylist(), want.tolist(), strict=True):
            if isinstance(cell_want, float):
                assert _same_float(cell_got, cell_want), (name, cell_got, cell_want, text)
            elif cell_want is None or (isinstance(cell_want, float) and math.isnan(cell_want)):
                assert cell_got is None
            else:
                assert cell_got == cell_want, (name, cell_got, cell_want, text)


@SETTINGS
@given(csv_tables())
@example((["c0", "c1"], [["-0", "9007199254740993"], ["", ""]]))  # pandas casts: 0.0, 9007199254740992.0
@example((["c0", "c1"], [["1.5", "NAN"], ["Nan", "2"]]))  # pyarrow's NaN, no number for pandas: text
def test_csv_columns_get_pandas_types_and_values(table):
    names, rows = table
    text = ",".join(names) + "\n" + "\n".join(",".join(row) for row in rows) + "\n"
    oracle = pd.read_csv(stdio.StringIO(text))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.csv"
        path.write_text(text)
        engine = load_dataset(str(path)).data.to_table()
    _assert_pandas_types_and_values(engine, oracle, names, text)


@SETTINGS
@given(csv_tables(), st.data())
@example((["c0", "c1"], [["+5", "x"], ["3", "y"], ["-2", "z"]]), None)  # "+5": an integer for pandas
@example((["c0", "c1"], [["1", "x"]] * 12 + [["+5", "y"]]), None)  # ... found after the first block
@example((["c0", "c1"], [["1.5", "x"], ["1e309", "y"]]), None)  # beyond the double range: text
@example((["c0", "c1"], [["1", "x"]] * 12 + [["1e309", "y"]]), None)
@example((["c0", "c1"], [["+5", "x"]] * 12 + [["", "y"]]), None)  # a missing cell: floats
@example((["c0", "c1"], [["1", "x"]] * 12 + [["-0", ""], ["", "999999999999999999"]]), None)
@example((["c0", "c1"], [["1.5", "x"]] * 12 + [["NAN", "y"]]), None)  # NaN spelling: text
def test_streamed_csv_columns_get_pandas_types_and_values(table, data):
    """The streamed reader (large files) follows the same rules as pandas, block after block.

    With blocks of the longest line (pyarrow needs a whole row in a block), a type decided from the first block meets cells that change it: ``2.5`` in an
    integer column, text in a float column, ``+5`` (an integer for pandas, a float for pyarrow) and
    numbers beyond the double range (text for pandas).
    """
    import pytest

    from airflow_provider_clarify.engine.datasets import _csv

    names, rows = table
    text = ",".join(names) + "\n" + "\n".join(",".join(row) for row in rows) + "\n"
    oracle = pd.read_csv(stdio.StringIO(text))
    subset = names if data is None else data.draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.setattr(_csv, "STREAM_BLOCK_BYTES", max(len(line) for line in text.splitlines()) + 1)
        path = Path(folder) / "d.csv"
        path.write_text(text)
        streamed = load_dataset(str(path), stream_threshold_bytes=0).data
        assert isinstance(streamed, _csv.CsvStreamData)
        first = streamed.to_table(subset)
        engine = streamed.to_table(names)  # a second request, with more columns
    _assert_pandas_types_and_values(first, oracle[subset], subset, text)
    _assert_pandas_types_and_values(engine, oracle, names, text)


HEADER_CELL = st.one_of(
    st.sampled_from(["", "a", "a.1", "a.2", "b", " b", "b.1"]), st.text("abc", max_size=2)
)


@SETTINGS
@given(st.lists(HEADER_CELL, min_size=1, max_size=7))
def test_header_names_follow_pandas(cells):
    if not any(cells):
        return  # an all-empty first line is no header row for pandas either
    text = ",".join(cells) + "\n" + ",".join("1" for _ in cells) + "\n"
    assert pandas_header_names(cells) == list(pd.read_csv(stdio.StringIO(text)).columns)


@SETTINGS
@given(st.lists(decimal_texts(), min_size=1, max_size=40))
@example(["1.5", "2.25", "186.63400000000001", "7", "1e309", "0.1234567890123456789"])
def test_float_text_converted_in_blocks_is_pandas_value_for_value(cells):
    """The C parser's arithmetic runs over blocks of cells; blocks of 3 give pandas' values too."""
    from unittest import mock

    from airflow_provider_clarify.engine import pandas_csv

    sizes = []
    xstrtod = pandas_csv._xstrtod

    def counted(text, fallback):
        sizes.append(len(text))
        return xstrtod(text, fallback)

    oracle = _pandas_column(cells)
    text = pa.array(cells)
    with (
        mock.patch.object(pandas_csv, "XSTRTOD_BLOCK_CELLS", 3),
        mock.patch.object(pandas_csv, "_xstrtod", counted),
    ):
        values, overflow = pandas_csv.pandas_float_column(text)
    assert all(size <= 3 for size in sizes)
    if pd.api.types.is_object_dtype(oracle.dtype):
        assert overflow is not None
        assert overflow == overflows(text)  # the same first out-of-range cell as in one block
        return
    assert overflow is None
    if oracle.dtype == "float64":
        for cell, got, want in zip(cells, values.to_pylist(), oracle, strict=True):
            assert _same_float(got, float(want)), (cell, got, float(want))


def test_float_text_conversion_memory_is_bounded_by_the_block():
    """numpy's traced allocations for 400,000 full-precision cells: a few arrays of 8 bytes a cell
    plus one block's temporaries. Converting the whole column at once took about 60 MB."""
    import tracemalloc

    import numpy as np

    from airflow_provider_clarify.engine import pandas_csv

    rng = np.random.default_rng(0)
    cells = 400_000
    text = pa.array([repr(float(x)) for x in rng.lognormal(10.5, 0.6, cells)])
    tracemalloc.start()
    try:
        values = pandas_float_values(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(values) == cells
    assert peak < 24 * cells + 250 * pandas_csv.XSTRTOD_BLOCK_CELLS, f"{peak / 2**20:.1f} MiB traced"
