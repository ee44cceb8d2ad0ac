"""CSV read once, only the columns asked for (docs/performance.md, "Reading CSV and Parquet once").

* The streamed reader's typing decisions and values, for any subset of columns, are those of the
  previous reader, which settled every column of the file in a pass of its own and read all of them
  again for each request (kept below as the oracle ``_old_streamed``).
* The values of float columns are ``pandas.read_csv``'s, bit for bit, on the restricted path (only
  cells whose text can round differently go through the pandas arithmetic).
* A bias analysis parses a streamed file once, and an in-memory one once per set of columns.
"""

from __future__ import annotations

import io as stdio
import math
import re
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from airflow_provider_clarify.engine import pandas_csv
from airflow_provider_clarify.engine.bias import compute_bias_sections
from airflow_provider_clarify.engine.datasets import DatasetError, _csv, batch_source, load_dataset
from airflow_provider_clarify.engine.datasets._pandas_types import pandas_like_type, widen
from tests.unit.engine.test_pandas_csv import decimal_texts

SETTINGS = settings(
    max_examples=80, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)
#: small blocks, so that type changes after the first block (restarts) happen in small files
BLOCK = 64


def _old_streamed(path: Path, names: list[str], columns: list[str]) -> pa.Table:
    """The previous streamed reader: settle all columns over the file, then read floats as text."""
    options = dict(
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=BLOCK),
    )

    def convert(types):
        return pacsv.ConvertOptions(
            column_types=types,
            strings_can_be_null=True,
            null_values=list(pandas_csv.NA_VALUES),
            true_values=list(pandas_csv.TRUE_VALUES),
            false_values=list(pandas_csv.FALSE_VALUES),
        )

    types: dict = {}
    has_nulls: set = set()
    for _ in range(4 * len(names) + 4):
        try:
            reader = pacsv.open_csv(str(path), convert_options=convert(types or None), **options)
            for name, typ in zip(reader.schema.names, reader.schema.types, strict=True):
                types[name] = (
                    pandas_like_type(typ)
                    if name not in types
                    else (types[name] if types[name] == typ else widen(types[name], typ))
                )
            for batch in reader:
                has_nulls.update(
                    n for n, c in zip(batch.schema.names, batch.columns, strict=True) if c.null_count
                )
            break
        except pa.ArrowInvalid as exc:
            name = names[int(re.search(r"In CSV column #(\d+)", str(exc)).group(1))]
            types[name] = pa.float64() if pa.types.is_integer(types.get(name, pa.int64())) else pa.string()
    for name in has_nulls:
        if pa.types.is_integer(types[name]) or pa.types.is_null(types[name]):
            types[name] = pa.float64()
    text_types = {n: pa.string() if pa.types.is_floating(t) else t for n, t in types.items()}
    reader = pacsv.open_csv(str(path), convert_options=convert(text_types), **options)
    batches = []
    for batch in reader:
        arrays = []
        for name in columns:
            column = batch.column(name)
            if pa.types.is_floating(types[name]):
                column, cell = pandas_csv.pandas_float_column(column)
                if cell is not None:
                    raise DatasetError(f"overflow in {name}")
            arrays.append(column)
        batches.append(pa.RecordBatch.from_arrays(arrays, names=columns))
    return pa.Table.from_batches(batches).cast(pa.schema([(c, types[c]) for c in columns]))


FIRST = st.sampled_from(["1", "7", "2.5", "0.1000000000000000055511", "x", "True", "-3"])
LATER = st.one_of(
    st.sampled_from(["1", "22", "2.5", "", "NA", "None", "x", "True", "false", "+4", " 5 ", "1e5"]),
    st.sampled_from(
        ["186.63400000000001", "0.15000000000000002", "3e25", "999999999999999999", "-0", "1e309"]
    ),
    st.sampled_from(["5\u00a0", "\t6"]),  # only spaces and tabs around a number are trimmed
)


@st.composite
def files(draw):
    """3 columns; the first row fills every column, so no column's first block is empty."""
    width = 3
    rows = [[draw(FIRST) for _ in range(width)]]
    rows += draw(st.lists(st.lists(LATER, min_size=width, max_size=width), min_size=1, max_size=40))
    subset = draw(st.lists(st.sampled_from(["c0", "c1", "c2"]), min_size=1, max_size=3, unique=True))
    return rows, subset


def _write(folder: str, rows: list[list[str]]) -> Path:
    path = Path(folder) / "d.csv"
    path.write_text("c0,c1,c2\n" + "\n".join(",".join(r) for r in rows) + "\n")
    return path


def _same(got: pa.Table, want: pa.Table) -> None:
    assert got.schema == want.schema
    for name in want.column_names:
        for a, b in zip(got.column(name).to_pylist(), want.column(name).to_pylist(), strict=True):
            if isinstance(b, float):
                assert (math.isnan(a) and math.isnan(b)) or (
                    a == b and math.copysign(1, a) == math.copysign(1, b)
                )
            else:
                assert a == b


@SETTINGS
@given(files())
@example(([["1", "x", "2.5"], ["2.5", "y", ""], ["", "z", "7"]], ["c0", "c2"]))
@example(([["1", "x", "7"]] + [["2", "y", "8"]] * 12 + [["", "z", "999999999999999999"]], ["c0", "c2"]))
@example(([["1", "x", "2.5"]] + [["2", "y", "8"]] * 12 + [["3", "z", "5\u00a0"]], ["c2"]))
@example(([["1", "x", "7"]] + [["+4", "y", "8"]] * 12 + [["3", "z", "1e309"]], ["c0", "c2"]))
@example(([["1", "1", "1"]] * 3 + [["1", "", "-0"], ["1", "999999999999999999", ""]], ["c1", "c2"]))
def test_streamed_columns_keep_the_previous_typing_decisions_and_values(monkeypatch, case):
    """The previous reader's decisions, but for its differences from pandas, now closed: a number
    beyond the double range (it raised an error; pandas keeps the column as text), a column of
    integer literals such as ``+4`` (it read floats; pandas reads int64) and integers with missing
    cells beyond 2**53 or zero (it parsed them as float text; pandas casts the integers)."""
    rows, subset = case
    monkeypatch.setattr(_csv, "STREAM_BLOCK_BYTES", BLOCK)
    with tempfile.TemporaryDirectory() as folder:
        path = _write(folder, rows)
        oracle = pd.read_csv(path)
        data = load_dataset(str(path), stream_threshold_bytes=0).data
        got = data.to_table(subset)
        try:
            want = _old_streamed(path, ["c0", "c1", "c2"], subset)
        except DatasetError:  # an overflowing cell: pandas' text, as written
            for name in subset:
                if oracle[name].dtype == object:
                    assert got.column(name).type == pa.string()
            return
    for name in subset:
        if oracle[name].dtype == "int64" and pa.types.is_floating(want.schema.field(name).type):
            assert got.column(name).type == pa.int64()
            assert got.column(name).to_pylist() == oracle[name].tolist()
            want = want.set_column(want.schema.get_field_index(name), name, got.column(name))
        elif oracle[name].dtype == "float64":
            # pandas' own doubles; the previous reader parsed integers with missing cells as float
            # text when one was beyond 2**53 or zero (1.0000000000000001e18, -0.0), pandas casts
            # the integers (1e18, 0.0)
            pandas_values = [None if math.isnan(v) else v for v in oracle[name].tolist()]
            _same(got.select([name]), pa.table({name: pa.array(pandas_values, pa.float64())}))
            want = want.set_column(want.schema.get_field_index(name), name, got.column(name))
    _same(got, want)
    assert [data.type_of(c) for c in subset] == [want.schema.field(c).type for c in subset]


def _pandas(text: str, column: str) -> pd.Series:
    return pd.read_csv(stdio.StringIO(text))[column]


@SETTINGS
@given(st.lists(decimal_texts(), min_size=1, max_size=30), st.booleans())
@example(["186.63400000000001", "0.1234567890123456789012", "-3.9360000000000004", "  2.25 ", "inf"], True)
@example(["0.8234512345123451", "12345678901234567", "1e-5", "5e-324"], False)
def test_a_float_column_read_alone_has_pandas_values_bit_for_bit(cells, streamed):
    text = "facet,score,other\n" + "".join(f"a,{c},{c}x\n" for c in cells)
    oracle = _pandas(text, "score")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.csv"
        path.write_text(text)
        data = load_dataset(str(path), stream_threshold_bytes=0 if streamed else 1 << 30).data
        if oracle.dtype == object:  # a number beyond the double range: pandas keeps the text
            assert data.type_of("score") == pa.string()
            assert data.to_table(["score"]).column("score").to_pylist() == oracle.tolist()
            return
        got = data.to_table(["score"]).column("score")
    if oracle.dtype == "int64":
        assert got.to_pylist() == oracle.tolist()
        return
    assert got.type == pa.float64()
    for value, want in zip(got.to_pylist(), oracle.tolist(), strict=True):
        if math.isnan(want):
            assert value is None or math.isnan(value)
        else:
            assert value == want
            assert math.copysign(1, value) == math.copysign(1, want)


def test_a_first_block_without_values_is_a_float_column_when_every_later_cell_is_a_number(monkeypatch):
    monkeypatch.setattr(_csv, "STREAM_BLOCK_BYTES", BLOCK)
    rows = ["a,"] * 40 + ["b,2.5", "c,7"]
    text = "f,x\n" + "\n".join(rows) + "\n"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.csv"
        path.write_text(text)
        data = load_dataset(str(path), stream_threshold_bytes=0).data
        assert data.type_of("x") == pa.float64()
        assert data.to_table(["x"]).column("x").to_pylist()[-2:] == [2.5, 7.0]
    assert _pandas(text, "x").dtype == "float64"


@pytest.mark.parametrize("first", ["x", "2", "2.5"])
def test_a_streamed_byte_that_is_not_utf8_after_the_first_blocks_is_one_clear_error(monkeypatch, tmp_path, first):
    """A byte that is not UTF-8 far into a text, integer or float column: the error names its line
    after at most one restart per type change, where every restart used to fail the same way until
    the attempts ran out ('Could not settle the column types', after 12 parses)."""
    monkeypatch.setattr(_csv, "STREAM_BLOCK_BYTES", 1 << 12)
    path = tmp_path / "d.csv"
    # past the 64 KiB that header detection reads (it would find the byte itself)
    path.write_bytes(b"f,x\n" + f"a,{first}\n".encode() * 20000 + b"b,\xff\n")
    data = load_dataset(str(path), stream_threshold_bytes=0).data
    with pytest.raises(DatasetError, match=r"Line 20002, column 3 of .* is not UTF-8"):
        data.to_table(["f", "x"])
    assert data.parses <= 3


def _credit_csv(folder: str, rows: int) -> Path:
    path = Path(folder) / "credit.csv"
    lines = ["sex,income,score,approved,predicted,note"]
    for i in range(rows):
        lines.append(
            f"{'male' if i % 3 else 'female'},{1000 + i * 0.1234567890123456789},{i / 7:.17g},"
            f"{int(i % 5 < 2)},{int(i % 4 < 2)},{'x' if i % 11 else 'y'}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


#: The bias analysis run on :func:`_credit_csv`, read lazily and as one whole table.
_CREDIT_ANALYSIS = dict(
    label="approved",
    label_values=[1],
    facets=[{"name_or_index": "sex", "value_or_threshold": ["female"]}],
    predicted_label="predicted",
    pre_training_methods="all",
    post_training_methods=["DPPL", "DI", "AD", "GE"],
)


@pytest.mark.parametrize("streamed", [True, False])
def test_a_bias_analysis_parses_the_csv_once_and_only_its_columns(monkeypatch, streamed):
    monkeypatch.setattr(_csv, "STREAM_BLOCK_BYTES", 4096)
    with tempfile.TemporaryDirectory() as folder:
        path = _credit_csv(folder, 3000)
        data = load_dataset(str(path), stream_threshold_bytes=0 if streamed else 1 << 30).data
        result = compute_bias_sections(batch_source(data), **_CREDIT_ANALYSIS)
        assert data.parses == 1
        if streamed:
            assert set(data.types) == {"sex", "approved", "predicted"}  # income, score, note never typed
        else:
            assert set(data._table.column_names) == {"sex", "approved", "predicted"}
        whole = load_dataset(str(path)).data.to_table()  # every column, read the old way
    reference = compute_bias_sections(
        lambda cols: whole.select(list(cols)).to_batches(max_chunksize=500), **_CREDIT_ANALYSIS
    )
    assert result == reference


_READAHEAD_CHILD = """
import sys
import pyarrow as pa
pool = pa.proxy_memory_pool(pa.default_memory_pool())  # counts what the reader allocates
pa.set_memory_pool(pool)
from airflow_provider_clarify.engine.datasets import load_dataset
data = load_dataset(sys.argv[1], stream_threshold_bytes=0).data
rows = sum(b.num_rows for b in data.batches(["sex", "approved", "predicted", "housing"]))
print(rows, pool.max_memory())
"""


def test_a_streamed_scan_holds_a_few_small_blocks_of_text(tmp_path):
    """Arrow memory at its peak while a 1M-row CSV (about 60 MiB) is streamed, in a fresh process.

    pyarrow's streaming reader keeps several blocks of text in flight; with the 8 MiB blocks of
    before that was about 40 MiB for four small columns (and up to 32 blocks, 256 MiB, in a full
    run), with 2 MiB blocks about 9 MiB.
    """
    import subprocess
    import sys

    import numpy as np

    rng = np.random.default_rng(0)
    rows = 1_000_000
    table = pa.table(
        {
            "sex": pa.array(np.where(rng.random(rows) < 0.6, "male", "female")),
            "age": rng.integers(18, 90, rows),
            "income": rng.lognormal(10.5, 0.6, rows),
            "housing": rng.integers(0, 3, rows),
            "score": rng.random(rows),
            "approved": rng.integers(0, 2, rows),
            "predicted": rng.integers(0, 2, rows),
        }
    )
    path = tmp_path / "credit.csv"
    pacsv.write_csv(table, path)
    assert path.stat().st_size > 6 * _csv.STREAM_BLOCK_BYTES
    done = subprocess.run(
        [sys.executable, "-c", _READAHEAD_CHILD, str(path)], capture_output=True, text=True, check=True
    )
    count, peak = (int(v) for v in done.stdout.split())
    assert count == rows
    assert peak < 24 << 20, f"{peak / 2**20:.1f} MiB of Arrow memory while streaming"
