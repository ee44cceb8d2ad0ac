"""The Spark backend's CSV typing gives the single-machine reader's columns, bit for bit (no cluster).

The oracle is ``load_dataset(path).data.to_table()``, which ``tests/unit/engine/test_pandas_csv.py``
checks against ``pandas.read_csv``. The Spark side runs here without Spark, with the executors' own
code: the file is cut into byte-range segments and read as text by :class:`CsvSource` (what each
task does), the batches are cut again at random, every batch's states are merged in a random order
and grouping (the driver merges the segments' partials as they arrive), settled, and every batch
converted.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
from hypothesis import example, given, strategies as st

from airflow_provider_clarify.engine.datasets import load_dataset
from airflow_provider_clarify.engine.spark import csv_typing
from airflow_provider_clarify.engine.spark.sources import CsvSource
from tests.unit.engine.test_pandas_csv import CELL, SETTINGS, csv_tables

#: Cells the reading rules treat specially beyond ``CELL``: integers with blanks or a plus (int64
#: for pandas, floats for pyarrow), numbers beyond the double range (text for pandas), infinities.
SPECIAL_CELL = st.sampled_from(
    [
        " 5 ",
        "+5",
        "\t-3",
        "+0",
        " 7",
        "1e309",
        "100e307",
        "0e309",
        "-1e400",
        "2" * 309,
        "inf",
        "-Infinity",
        " 2.25 ",
        "NAN",  # pyarrow's NaN, no number for pandas (not one of its missing-value tokens)
    ]
)


@st.composite
def spark_csv_texts(draw) -> str:
    """``csv_tables`` with some columns' cells replaced by special ones, cells quoted at random."""
    names, rows = draw(csv_tables())
    for j in range(len(names)):
        if draw(st.booleans()):
            kinds = draw(st.lists(st.one_of(SPECIAL_CELL, CELL), min_size=1, max_size=3))
            for row in rows:
                if draw(st.booleans()):
                    row[j] = draw(st.sampled_from(kinds))
    quoted = [[f'"{cell}"' if draw(st.booleans()) else cell for cell in row] for row in rows]
    return ",".join(names) + "\n" + "\n".join(",".join(row) for row in quoted) + "\n"


def _spark_table(path: Path, split_bytes: int, rng: random.Random) -> pa.Table:
    """The file typed the Spark backend's way, its batches cut and their states merged at random."""
    source = CsvSource.open([str(path)], None, None)
    names = source.column_names
    batches = []
    for segment in source.segments(split_bytes):
        for batch in source.read(segment, names):
            cuts = sorted(rng.sample(range(1, batch.num_rows), rng.randint(0, batch.num_rows - 1)))
            bounds = [0, *cuts, batch.num_rows]
            batches.extend(batch.slice(lo, hi - lo) for lo, hi in zip(bounds, bounds[1:], strict=False))
    parts = [csv_typing.batch_states(batch, names) for batch in batches]
    parts.append({name: csv_typing.ColumnState() for name in names})  # the partials' starting state
    while len(parts) > 1:  # merge two random partials, in a random order, until one is left
        first, second = (parts.pop(rng.randrange(len(parts))) for _ in range(2))
        parts.append({name: first[name].merge(second[name]) for name in names})
    types = csv_typing.settle(parts[0])
    converted = [csv_typing.convert_batch(batch, types, names) for batch in batches]
    return pa.Table.from_batches(converted).combine_chunks()


def _assert_bit_for_bit(got: pa.Table, want: pa.Table, text: str) -> None:
    assert got.schema == want.schema, (got.schema, want.schema, text)
    for name in want.column_names:
        a, b = got.column(name), want.column(name)
        assert a.is_null().to_pylist() == b.is_null().to_pylist(), (name, a, b, text)
        if pa.types.is_floating(b.type):  # the doubles' bits: the sign of zero, NaN against null
            bits = [
                np.asarray(c.fill_null(0.0).to_numpy(zero_copy_only=False), dtype=np.float64).view(np.int64)
                for c in (a, b)
            ]
            assert np.array_equal(*bits), (name, a.to_pylist(), b.to_pylist(), text)
        else:
            assert a.to_pylist() == b.to_pylist(), (name, a.to_pylist(), b.to_pylist(), text)


@SETTINGS
@given(spark_csv_texts(), st.integers(1, 64), st.randoms(use_true_random=False))
# 1. integer literals with a plus or blanks are int64 (also found when another segment has them)
@example("c0,c1\n+5,x\n 5 ,y\n-2,z\n", 1, random.Random(0))
@example("c0,c1\n1,x\n2,y\n\t+7 ,z\n", 4, random.Random(1))
# 2. integers with a missing cell: the parsed integers cast to the nearest double
@example("c0,c1\n-0,999999999999999999\n,9007199254740993\n3,\n", 1, random.Random(2))
@example("c0,c1\n+5,x\n,y\n-0,z\n", 1, random.Random(3))
@example('c0,c1\n-9223372036854775808,x\n"",y\n', 1, random.Random(4))  # not pandas: see parity.md
# 3. a number beyond the double range makes the column text; infinities are numbers
@example("c0,c1\n1.5,x\n1e309,y\n", 1, random.Random(5))
@example("c0,c1\n1,100e307\n2,0e309\n3,-inf\n", 1, random.Random(6))
@example("c0,c1\ninf,1\nInfinity,2\n-Infinity,3\n", 1, random.Random(7))
@example("c0,c1\n1.5,NAN\n+nan,2\nNaN,3\n", 1, random.Random(10))  # NaN spellings: text, bar NaN
# 4. booleans with missing cells
@example("c0,c1\nTrue,x\n,y\nFalse,z\nNA,w\n", 1, random.Random(8))
@example('c0,c1\n"",1\n"True",2\n', 1, random.Random(9))
def test_spark_csv_typing_equals_the_single_machine_reader(text, split_bytes, rng):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.csv"
        path.write_text(text)
        want = load_dataset(str(path)).data.to_table().combine_chunks()
        got = _spark_table(path, split_bytes, rng)
    _assert_bit_for_bit(got, want, text)


def test_states_merge_in_any_order_and_grouping():
    """Merging is associative and commutative, with ``ColumnState()`` as the identity."""
    texts = [["+5", ""], ["1.5"], ["1e309"], ["True", "NA"], ["x"], ["0x10"], ["-0", "7"], []]
    states = [csv_typing.column_state(pa.array(cells, pa.string())) for cells in texts]
    for a in states:
        assert a.merge(csv_typing.ColumnState()) == a
        for b in states:
            assert a.merge(b) == b.merge(a)
            for c in states:
                assert a.merge(b).merge(c) == a.merge(b.merge(c))
