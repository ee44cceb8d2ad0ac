"""Fuzzed datasets end in a result or in a typed engine error, never a raw library exception.

Hypothesis writes CSV, JSON Lines, JSON and Parquet files with broken encodings, ragged rows, deep
nesting, truncated bytes and unusual Arrow types, then reads them and runs the bias metrics on their
first columns. Anything that escapes as something other than an
:class:`~airflow_provider_clarify.engine.errors.EngineError` (``ArrowInvalid``,
``UnicodeDecodeError``, ``RecursionError``...) is a failure: users must get a message naming the
file and the fix, and the task must know whether a retry can help. Deterministic and bounded.
"""

from __future__ import annotations

import gzip
import io as stdio
import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from airflow_provider_clarify.engine.bias import compute_bias_sections
from airflow_provider_clarify.engine.datasets import batch_source, load_dataset
from airflow_provider_clarify.engine.errors import EngineError

#: deterministic and bounded; 400 random examples per test also passed when this was written
FUZZ = settings(
    max_examples=60, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)

CELLS = st.one_of(
    st.sampled_from(["1", "0", "2.5", "-3", "1e309", "+7", "", "NA", "None", "true", "False", "x", "Y"]),
    st.sampled_from(['"a,b"', '"', "\x00", "é", "\u2028", "thirty", " 5 ", "2020-01-01", "1,5"]),
    st.text(max_size=4),
)


def _run(path: Path, dataset_type: str, **read) -> None:
    """Read the file and run the pre-training bias metrics on its first two columns."""
    try:
        loaded = load_dataset(str(path), dataset_type, **read)
        names = loaded.column_names
        label = loaded.label_column or names[0]
        facet = next((n for n in names if n != label), names[0])
        first = loaded.data.to_table([label]).column(0).to_pylist()
        value = next((v for v in first if v is not None), 1)
        compute_bias_sections(
            batch_source(loaded.data),
            label=label,
            label_values=[value if isinstance(value, int | float | str) else str(value)],
            facets=[{"name_or_index": facet}],
            pre_training_methods="all",
            available_columns=names,
        )
    except EngineError:
        pass


def _write(data: bytes, name: str, compress: bool) -> tuple[tempfile.TemporaryDirectory, Path]:
    folder = tempfile.TemporaryDirectory()
    path = Path(folder.name) / name
    path.write_bytes(gzip.compress(data) if compress else data)
    return folder, path


@FUZZ
@given(
    rows=st.lists(st.lists(CELLS, min_size=1, max_size=4), min_size=1, max_size=8),
    junk=st.sampled_from([b"", b"\xff\xfe", b"\n\n", b"\xc3(", b"a,b\n"]),
    compress=st.booleans(),
    stream=st.booleans(),
)
@example(rows=[["a", "b"], ["1", "x"]], junk=b"\xff\xfe", compress=False, stream=False)
@example(rows=[["a", "b"], ["1", "2"], ["3"]], junk=b"", compress=True, stream=True)
@example(rows=[["a", "b"], ["1", "1e309"]], junk=b"", compress=False, stream=True)
def test_fuzzed_csv(rows, junk, compress, stream):
    text = "\n".join(",".join(row) for row in rows).encode("utf-8", "surrogatepass") + b"\n" + junk
    folder, path = _write(text, "d.csv", compress)
    with folder:
        _run(path, "text/csv", **({"stream_threshold_bytes": 0} if stream else {}))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=True) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3),
    max_leaves=8,
)


@FUZZ
@given(
    records=st.lists(
        st.fixed_dictionaries(
            {"features": st.lists(JSON_VALUES, min_size=1, max_size=3), "label": JSON_VALUES}
        ),
        min_size=1,
        max_size=6,
    ),
    extra=st.sampled_from([b"", b"{not json}\n", b"\xff\n", b"[" * 100_000 + b"\n", b"[]\n", b"3\n"]),
)
@example(records=[{"features": [1, 2], "label": 1}], extra=b"[" * 100_000 + b"\n")
@example(records=[{"features": [1, 2], "label": 1}], extra=b"\xff\n")
def test_fuzzed_jsonlines(records, extra):
    data = b"".join(json.dumps(r).encode() + b"\n" for r in records) + extra
    folder, path = _write(data, "d.jsonl", False)
    with folder:
        _run(path, "application/jsonlines", features="features", label="label")


@FUZZ
@given(
    rows=st.lists(st.lists(JSON_VALUES, min_size=1, max_size=3), min_size=1, max_size=5),
    wrap=st.sampled_from(["plain", "deep", "bad-utf8", "truncated"]),
)
@example(rows=[[1, 2]], wrap="deep")
def test_fuzzed_json_document(rows, wrap):
    document = json.dumps({"rows": rows, "labels": [r[0] if r else None for r in rows]}).encode()
    if wrap == "deep":
        document = b"[" * 100_000 + b"]" * 100_000
    elif wrap == "bad-utf8":
        document = document[:-1] + b"\xff}"
    elif wrap == "truncated":
        document = document[: len(document) // 2]
    folder, path = _write(document, "d.json", False)
    with folder:
        _run(path, "application/json", features="rows", label="labels")


ARROW_COLUMNS = st.sampled_from(
    [
        pa.array([1, 2, None, 4], pa.int32()),
        pa.array([[1], [2, 3], None, []], pa.list_(pa.int64())),
        pa.array([{"a": 1}, {"a": 2}, None, {"a": 4}], pa.struct([("a", pa.int64())])),
        pa.array(["x", "y", "x", None]).dictionary_encode(),
        pa.array([b"\xff", b"a", None, b"b"], pa.binary()),
        pa.array([0, 1, 2, 3], pa.timestamp("ms")),
        pa.array([None] * 4, pa.null()),
        pa.array([1.5, float("nan"), float("inf"), None]),
        pa.array([True, False, None, True]),
        pa.array([1, 2, 3, 4], pa.decimal128(10, 2)) if False else pa.array(["1.5", "a", "", None]),
    ]
)


@FUZZ
@given(
    columns=st.lists(ARROW_COLUMNS, min_size=1, max_size=3),
    damage=st.sampled_from(["none", "truncate", "garbage"]),
)
def test_fuzzed_parquet(columns, damage):
    buffer = stdio.BytesIO()
    pq.write_table(pa.table({f"c{i}": c for i, c in enumerate(columns)}), buffer)
    data = buffer.getvalue()
    if damage == "truncate":
        data = data[: len(data) * 2 // 3]
    elif damage == "garbage":
        data = data[:8] + bytes(range(256)) + data[8:]
    folder, path = _write(data, "d.parquet", False)
    with folder:
        _run(path, "application/x-parquet")


@pytest.mark.parametrize(
    ("name", "data", "dataset_type", "read", "fragment"),
    [
        ("d.csv", b"a,b\n1,2\n\xff\xfe,3\n", "text/csv", {}, "line 3"),
        ("d.jsonl", b'{"f": [1], "y": 1}\n\xff\n', "application/jsonlines", {"features": "f"}, "line 2"),
        ("d.jsonl", b"[" * 100_000 + b"\n", "application/jsonlines", {"features": "f"}, "nested"),
        ("d.json", b"[" * 100_000, "application/json", {"features": "f"}, "nested"),
    ],
)
def test_broken_files_name_the_file_and_place(tmp_path, name, data, dataset_type, read, fragment):
    from airflow_provider_clarify.engine.errors import EngineConfigError

    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(EngineConfigError) as err:
        load_dataset(str(path), dataset_type, **read).data.to_table()
    assert name in str(err.value)
    assert fragment in str(err.value).lower()


def test_running_out_of_memory_in_the_batch_loop_is_a_retryable_error_with_a_memory_hint():
    from airflow_provider_clarify.engine.datasets import DatasetMemoryError, TabularData
    from airflow_provider_clarify.engine.errors import EngineRuntimeError

    class Exhausted(TabularData):
        """A source whose allocation fails the way pyarrow's memory pool does."""

        column_names = ["a"]
        source = "'s3://bucket/huge.parquet'"

        def _iter_batches(self, columns, batch_rows):
            yield pa.record_batch([pa.array([1])], names=["a"])
            raise pa.ArrowMemoryError("malloc of size 4294967296 failed")

    with pytest.raises(DatasetMemoryError) as err:
        list(Exhausted().batches(["a"], batch_rows=1000))
    assert isinstance(err.value, EngineRuntimeError)
    message = str(err.value)
    assert "huge.parquet" in message
    assert "memory_limit_mb" in message
    assert "smaller part files" in message
