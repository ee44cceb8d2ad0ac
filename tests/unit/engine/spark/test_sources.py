"""What the executors read, checked without Spark against the single-machine readers.

* CSV byte ranges: whatever the split size, the ranges' owned lines are the file, each line once.
* JSON Lines: files typed alone and unified give the table that reading them together gives
  (``load_dataset`` on the folder is the oracle), or a clear error where that cannot be exact.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from airflow_provider_clarify.engine import datasets
from airflow_provider_clarify.engine.spark.sources import (
    JsonLinesSource,
    json_file_facts,
    owned_lines,
    split_ranges,
    to_json_types,
    unify_json_types,
)

TEXTS = [
    b"a,b\n1,2\n3,4\n",
    b"a,b\n1,2\n3,4",  # no newline at the end
    b"a,b\r\n10,20\r\n\r\n30,40\r\n",  # CRLF and an empty line
    b'x\n"quoted, comma",1\n' + b"long line " * 40 + b"\n\n\nz\n",
    b"\n",
    b"one line without newline",
]


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_byte_ranges_own_every_line_exactly_once(text):
    handle = pa.BufferReader(text)
    for split in range(1, len(text) + 2):
        pieces = [owned_lines(handle, lo, hi) for lo, hi in split_ranges(len(text), split)]
        assert b"".join(pieces) == text, split
        for piece in pieces:  # a piece is whole lines: it starts a line and ends one (or the file)
            assert not piece or piece.endswith(b"\n") or text.endswith(piece)


def _write_parts(folder, parts: list[list[dict]]) -> None:
    folder.mkdir()
    for i, records in enumerate(parts):
        (folder / f"part-{i}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def _spark_like_table(folder, **config) -> pa.Table:
    """The folder read the Spark backend's way: each file alone, then unified and converted."""
    files = [str(p) for p in sorted(folder.iterdir())]
    source = JsonLinesSource(files, config.get("headers"), "f", config.get("label"), None)
    loaded = [(uri, source.load(uri)) for uri in files]
    parts = [(uri, json_file_facts(one)) for uri, one in loaded if one is not None]
    types = unify_json_types(parts)
    tables = [
        pa.Table.from_batches([to_json_types(b, types) for b in one.data.to_table().to_batches()])
        for _, one in loaded
        if one is not None
    ]
    return pa.concat_tables(tables)


CASES = {
    "int-and-float": [[{"f": [1, "a"], "y": 1}], [{"f": [2.5, "b"], "y": 0}]],
    "int-then-missing": [[{"f": [1, "a"], "y": 1}], [{"f": [None, "b"], "y": 0}]],
    "all-missing-then-bool": [[{"f": [None, True], "y": 1}], [{"f": [None, False], "y": 0}]],
    "bool-with-gap-in-one-file": [[{"f": [3, True], "y": 1}], [{"f": [4, None], "y": 0}]],
    "text-and-int": [[{"f": ["x", 1], "y": 1}], [{"f": [7, 2], "y": 0}]],
    "text-and-bool": [[{"f": [True, 1], "y": 1}], [{"f": ["no", 2], "y": 0}]],
    "list-and-text": [[{"f": [[1, 2], 1], "y": 1}], [{"f": ["plain", 2], "y": 0}]],
    "empty-part-file": [[{"f": [1, "a"], "y": 1}], [], [{"f": [2, "b"], "y": 0}]],
}


@pytest.mark.parametrize("name", list(CASES))
def test_json_lines_files_unify_like_one_read(tmp_path, name):
    folder = tmp_path / "data"
    _write_parts(folder, CASES[name])
    expected = datasets.load_dataset(str(folder), datasets.JSONLINES, features="f", label="y").data.to_table()
    got = _spark_like_table(folder, label="y")
    assert got.schema == expected.schema
    assert got.equals(expected)


def test_json_lines_float_and_text_across_files_is_refused(tmp_path):
    folder = tmp_path / "data"
    _write_parts(folder, [[{"f": [1.5], "y": 1}], [{"f": ["text"], "y": 0}]])
    with pytest.raises(datasets.DatasetError) as failure:
        _spark_like_table(folder, label="y")
    assert "'column_0'" in str(failure.value)
    assert "--backend local" in str(failure.value)


@pytest.mark.parametrize("text", [b"a,b\n1,x\n2,y\n", b"a,b\r\n1,x\r\n\r\n2,y", b"a,b\n", b"a,b"])
def test_csv_ranges_read_the_rows_once_with_the_header_skipped(tmp_path, text):
    from airflow_provider_clarify.engine.spark.sources import CsvSource

    path = tmp_path / "data.csv"
    path.write_bytes(text)
    source = CsvSource.open([str(path)], None, None)
    assert source.column_names == ["a", "b"]
    for split in range(1, len(text) + 2):
        rows = [
            row
            for segment in source.segments(split)
            for batch in source.read(segment, ["a", "b"])
            for row in zip(*batch.to_pydict().values(), strict=True)
        ]
        assert rows == [("1", "x"), ("2", "y")][: text.count(b",") - 1], split
