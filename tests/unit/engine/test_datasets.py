from __future__ import annotations

import gzip
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.engine import datasets
from airflow_provider_clarify.engine.datasets import DatasetError, load_dataset, resolve_column

ROWS = [("male", 37, 1, 0.5), ("female", 22, 0, 1.5), ("female", 51, 1, 2.5)]


def _csv(rows, header=True):
    lines = ["sex,age,approved,score"] if header else []
    lines += [",".join(str(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def test_csv_with_header_row_keeps_names_and_pandas_like_types(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(_csv(ROWS))
    loaded = load_dataset(str(path))
    table = loaded.data.to_table()
    assert loaded.column_names == ["sex", "age", "approved", "score"]
    assert table.column("age").to_pylist() == [37, 22, 51]
    assert table.schema.field("age").type == pa.int64()
    assert table.schema.field("score").type == pa.float64()
    assert table.schema.field("sex").type == pa.string()


def test_csv_without_header_gets_generated_names_or_config_headers(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(_csv(ROWS, header=False))
    assert load_dataset(str(path)).column_names == ["column_0", "column_1", "column_2", "column_3"]
    loaded = load_dataset(str(path), headers=["s", "a", "y", "p"])
    assert loaded.column_names == ["s", "a", "y", "p"]
    assert loaded.data.num_rows == 3


def test_config_headers_skip_a_matching_header_row(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(_csv(ROWS))
    loaded = load_dataset(str(path), headers=["sex", "age", "approved", "score"])
    assert loaded.data.num_rows == 3
    assert loaded.data.to_table().schema.field("age").type == pa.int64()


def test_config_headers_of_the_wrong_length_are_a_clear_error(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(_csv(ROWS, header=False))
    with pytest.raises(DatasetError, match="'headers' lists 3 names but .* has 4 columns"):
        load_dataset(str(path), headers=["a", "b", "c"])


def test_missing_values_follow_pandas_inference(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,c,d\n1,x,,2020-01-01\n,,,2020-01-02\n3,y,,2020-01-03\n")
    table = load_dataset(str(path)).data.to_table()
    assert table.schema.field("a").type == pa.float64()  # int with a gap -> float64, as pandas
    assert table.column("a").to_pylist()[0] == 1.0
    assert table.column("b").to_pylist() == ["x", None, "y"]  # empty string -> missing
    assert table.schema.field("c").type == pa.float64()  # all empty -> float64 NaN column
    assert table.column("d").to_pylist() == ["2020-01-01", "2020-01-02", "2020-01-03"]  # dates stay text


def test_gzip_and_folder_of_part_files(tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "part-0.csv.gz").write_bytes(gzip.compress(_csv(ROWS[:2]).encode()))
    (folder / "part-1.csv").write_text(_csv(ROWS[2:]))
    (folder / "_SUCCESS").write_text("")
    table = load_dataset(str(folder)).data.to_table()
    assert table.column("age").to_pylist() == [37, 22, 51]
    prefix = load_dataset(str(folder / "part-1")).data.to_table()
    assert prefix.column("age").to_pylist() == [51]


def test_a_gzipped_csv_counts_its_text_against_the_streaming_threshold(tmp_path):
    """The one-go reader holds the text, not the compressed bytes: a gzipped file counts as
    GZIP_TEXT_FACTOR times its size, so a small .gz of a large text streams."""
    from airflow_provider_clarify.engine.datasets import _csv

    text = ("a,b\n" + "1,x\n" * 20_000).encode()
    plain, packed = tmp_path / "d.csv", tmp_path / "d.csv.gz"
    plain.write_bytes(text)
    packed.write_bytes(gzip.compress(text))
    threshold = packed.stat().st_size * _csv.GZIP_TEXT_FACTOR - 1
    assert threshold < plain.stat().st_size  # the plain file of this size still streams ...
    assert isinstance(load_dataset(str(plain), stream_threshold_bytes=threshold).data, datasets.CsvStreamData)
    # ... and so does the gzipped one, whose stored size alone is far below the threshold
    assert isinstance(
        load_dataset(str(packed), stream_threshold_bytes=threshold).data, datasets.CsvStreamData
    )
    bigger = threshold + 1
    assert not isinstance(
        load_dataset(str(packed), stream_threshold_bytes=bigger).data, datasets.CsvStreamData
    )


def test_part_files_with_different_numeric_types_are_unified(tmp_path):
    (tmp_path / "p0.csv").write_text("a,b\n1,x\n")
    (tmp_path / "p1.csv").write_text("a,b\n2.5,y\n")
    table = load_dataset(str(tmp_path)).data.to_table()
    assert table.schema.field("a").type == pa.float64()
    assert table.column("a").to_pylist() == [1.0, 2.5]


def test_large_csv_streams_with_types_settled_over_the_whole_file(tmp_path):
    path = tmp_path / "big.csv"
    body = "a,b,c\n" + "1,x,7\n" * 50_000 + "2.5,y,\n"
    path.write_text(body)
    loaded = load_dataset(str(path), stream_threshold_bytes=0)
    assert isinstance(loaded.data, datasets.CsvStreamData)
    assert loaded.data.type_of("a") == pa.float64()  # int in the first block, 2.5 at the end
    assert loaded.data.type_of("c") == pa.float64()  # int column with a missing cell
    total = 0
    last = None
    for batch in loaded.data.batches(["a", "c"], batch_rows=10_000):
        total += batch.num_rows
        assert batch.schema.names == ["a", "c"]
        last = batch
    assert total == 50_001
    assert last.column(0).to_pylist()[-1] == 2.5


def test_jsonlines_features_label_and_prediction_by_jmespath(tmp_path):
    path = tmp_path / "d.jsonl"
    lines = [
        {"data": {"x": [37, "male"]}, "y": 1, "pred": {"label": 0}},
        {"data": {"x": [22, "female"]}, "y": 0, "pred": {"label": 0}},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    loaded = load_dataset(
        str(path),
        "application/jsonlines",
        headers=["age", "sex", "approved", "predicted"],
        features="data.x",
        label="y",
        predicted_label="pred.label",
    )
    assert loaded.column_names == ["age", "sex", "approved", "predicted"]
    assert loaded.label_column == "approved"
    assert loaded.predicted_label_column == "predicted"
    assert loaded.data.to_table().column("sex").to_pylist() == ["male", "female"]
    without_headers = load_dataset(str(path), "application/jsonlines", features="data.x", label="y")
    assert without_headers.column_names == ["column_0", "column_1", "y"]


def test_jsonlines_line_without_features_names_the_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"features": [1, 2], "label": 1}\n{"feats": [3, 4], "label": 0}\n')
    with pytest.raises(DatasetError, match="line 2"):
        load_dataset(str(path), "application/jsonlines", features="features", label="label")


def test_jsonlines_requires_features(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"features": [1, 2]}\n')
    with pytest.raises(ClarifyConfigError, match="'features'"):
        load_dataset(str(path), "application/jsonlines")


def test_json_document_with_2d_features(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"rows": [[1, 2.5], [3, 4.5]], "labels": [1, 0]}))
    loaded = load_dataset(
        str(path), "application/json", headers=["a", "b", "y"], features="rows", label="labels"
    )
    assert loaded.data.to_table().to_pydict() == {"a": [1, 3], "b": [2.5, 4.5], "y": [1, 0]}


def test_parquet_streams_row_groups_and_counts_rows_from_metadata(tmp_path):
    table = pa.table({"sex": ["m", "f"] * 50, "age": list(range(100)), "y": [1, 0] * 50})
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=30)
    loaded = load_dataset(str(tmp_path / "d.parquet"), "application/x-parquet")
    assert loaded.column_names == ["sex", "age", "y"]
    assert loaded.data.num_rows == 100
    sizes = [b.num_rows for b in loaded.data.batches(["age"], batch_rows=25)]
    assert sum(sizes) == 100
    assert max(sizes) <= 25
    assert loaded.data.to_table(["y", "age"]).column_names == ["y", "age"]


def test_parquet_int_column_with_nulls_reads_as_float64(tmp_path):
    pq.write_table(pa.table({"a": pa.array([1, None, 3], pa.int64())}), tmp_path / "d.parquet")
    loaded = load_dataset(str(tmp_path / "d.parquet"), "application/x-parquet")
    assert loaded.data.type_of("a") == pa.float64()
    assert loaded.data.to_table().schema.field("a").type == pa.float64()


def test_csv_on_s3_through_the_moto_server(s3_options, s3_client, s3_bucket):
    s3_client.put_object(Bucket=s3_bucket, Key="in/part-0.csv", Body=_csv(ROWS[:1]).encode())
    s3_client.put_object(
        Bucket=s3_bucket, Key="in/part-1.csv.gz", Body=gzip.compress(_csv(ROWS[1:]).encode())
    )
    loaded = load_dataset(f"s3://{s3_bucket}/in/", storage_options=s3_options)
    assert loaded.data.to_table().column("sex").to_pylist() == ["male", "female", "female"]


def test_parquet_on_s3_through_the_moto_server(s3_options, s3_client, s3_bucket, tmp_path):
    pq.write_table(pa.table({"a": [1, 2, 3]}), tmp_path / "d.parquet")
    s3_client.put_object(Bucket=s3_bucket, Key="pq/d.parquet", Body=(tmp_path / "d.parquet").read_bytes())
    loaded = load_dataset(f"s3://{s3_bucket}/pq", "application/x-parquet", storage_options=s3_options)
    assert loaded.data.to_table().column("a").to_pylist() == [1, 2, 3]


def test_resolve_column_by_name_or_index_and_clear_errors():
    names = ["sex", "age", "approved"]
    assert resolve_column("age", names, "label") == "age"
    assert resolve_column(2, names, "label") == "approved"
    with pytest.raises(DatasetError, match="'label': column 'Target' is not in the dataset.*'sex', 'age'"):
        resolve_column("Target", names, "label")
    with pytest.raises(DatasetError, match="index 3 is out of range"):
        resolve_column(3, names, "facet[0].name_or_index")


def test_join_with_joinsource_keeps_main_row_order_and_rejects_missing_ids():
    main = datasets.TableData(pa.table({"id": [3, 1, 2], "x": [30, 10, 20]}))
    side = datasets.TableData(pa.table({"id": [1, 2, 3], "sex": ["a", "b", "c"]}))
    joined = datasets.join_columns(
        main, side, ["sex"], join_main="id", join_side="id", what="facet"
    ).to_table()
    assert joined.to_pydict() == {"id": [3, 1, 2], "x": [30, 10, 20], "sex": ["c", "a", "b"]}
    partial = datasets.TableData(pa.table({"id": [1, 2], "sex": ["a", "b"]}))
    with pytest.raises(DatasetError, match="Only 2 of 3 records"):
        datasets.join_columns(main, partial, ["sex"], join_main="id", join_side="id", what="facet")


def test_join_without_joinsource_needs_equal_row_counts():
    main = datasets.TableData(pa.table({"x": [1, 2]}))
    side = datasets.TableData(pa.table({"p": [0, 1]}))
    joined = datasets.join_columns(main, side, ["p"], join_main=None, join_side=None, what="predicted-label")
    assert joined.to_table().to_pydict() == {"x": [1, 2], "p": [0, 1]}
    with pytest.raises(DatasetError, match="has 3 rows but the main dataset has 2"):
        datasets.join_columns(
            main,
            datasets.TableData(pa.table({"p": [0, 1, 1]})),
            ["p"],
            join_main=None,
            join_side=None,
            what="x",
        )


def test_features_to_numpy_numeric_and_mixed():
    numeric = pa.table({"a": [1, 2], "b": [0.5, None], "c": [True, False]})
    assert np.array_equal(
        datasets.features_to_numpy(numeric), np.array([[1.0, 0.5, 1.0], [2.0, np.nan, 0.0]]), equal_nan=True
    )
    mixed = datasets.features_to_numpy(pa.table({"a": [1, 2], "s": ["x", None]}))
    assert mixed.dtype == object
    assert mixed.tolist() == [[1, "x"], [2, None]]


def test_extended_data_appends_in_memory_columns_batch_by_batch():
    base = datasets.TableData(pa.table({"x": list(range(10))}))
    data = datasets.ExtendedData(base, {"p": pa.array([i % 2 for i in range(10)])})
    batches = list(data.batches(["p", "x"], batch_rows=4))
    assert [b.num_rows for b in batches] == [4, 4, 2]
    assert pa.Table.from_batches(batches).to_pydict() == {"p": [0, 1] * 5, "x": list(range(10))}


def test_baseline_inline_rows_and_jsonlines_rows():
    table = datasets.load_baseline([[35, 0.5], [40, 1.5]], "text/csv", ["age", "amount"])
    assert table.to_pydict() == {"age": [35, 40], "amount": [0.5, 1.5]}
    table = datasets.load_baseline(
        [{"features": [1, 2]}], "application/jsonlines", ["a", "b"], features="features"
    )
    assert table.to_pydict() == {"a": [1], "b": [2]}
    with pytest.raises(DatasetError, match="row 0"):
        datasets.load_baseline([[1]], "text/csv", ["a", "b"])


def test_baseline_from_a_csv_file(tmp_path):
    (tmp_path / "baseline.csv").write_text("1,2.5\n3,4.5\n")
    table = datasets.load_baseline(str(tmp_path / "baseline.csv"), "text/csv", ["a", "b"])
    assert table.to_pydict() == {"a": [1, 3], "b": [2.5, 4.5]}


def test_unsupported_dataset_type_is_named(tmp_path):
    (tmp_path / "x").write_text("a\n1\n")
    with pytest.raises(DatasetError, match="application/x-image"):
        load_dataset(str(tmp_path / "x"), "application/x-image")


@pytest.mark.parametrize("stream_threshold", [None, 0])
def test_malformed_csv_message_names_the_line(tmp_path, stream_threshold):
    path = tmp_path / "d.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n")
    kwargs = {} if stream_threshold is None else {"stream_threshold_bytes": stream_threshold}
    with pytest.raises(DatasetError, match=r"line 3 of .*d\.csv.* has 2 fields, expected 3: '4,5'"):
        load_dataset(str(path), **kwargs).data.to_table()


def test_malformed_gzipped_part_file_names_its_line(tmp_path):
    (tmp_path / "p0.csv").write_text("a,b\n1,2\n")
    (tmp_path / "p1.csv.gz").write_bytes(gzip.compress(b"a,b\n3,4\n5,6\n7\n"))
    with pytest.raises(DatasetError, match=r"line 4 of .*p1\.csv\.gz"):
        load_dataset(str(tmp_path)).data.to_table()


def test_headerless_file_whose_first_row_has_no_numbers_warns_that_the_row_became_the_header(
    tmp_path, caplog
):
    import logging

    caplog.set_level(logging.WARNING)
    path = tmp_path / "d.csv"
    path.write_text("male,yes,A\nfemale,no,B\nmale,no,A\n")
    loaded = load_dataset(str(path))
    assert loaded.column_names == ["male", "yes", "A"]  # as the Clarify container reads it
    assert loaded.data.num_rows == 2
    (warning,) = loaded.warnings
    assert "first row" in warning
    assert "'male'" in warning
    assert "'headers'" in warning
    assert warning in caplog.text


def test_a_real_header_row_gives_no_warning(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(_csv(ROWS))
    assert load_dataset(str(path)).warnings == []


def test_reader_warnings_reach_analysis_json_through_the_bias_sections(tmp_path):
    from airflow_provider_clarify.engine import run_analysis

    rows = ["male,approved"] + ["female,denied", "male,approved", "female,approved", "male,denied"] * 15
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    config = {
        "dataset_type": "text/csv",
        "label": 1,
        "label_values_or_threshold": ["approved"],
        "facet": [{"name_or_index": 0, "value_or_threshold": ["female"]}],
        "methods": {"pre_training_bias": {"methods": ["CI"]}},
    }
    run_analysis(config, str(tmp_path / "d.csv"), str(tmp_path / "out"))
    section = json.loads((tmp_path / "out" / "analysis.json").read_text())["pre_training_bias_metrics"]
    (warning,) = section["warnings"]
    assert warning["code"] == "dataset_read"
    assert "may be a data row" in warning["message"]


@pytest.mark.parametrize("use_dictionary", [True, False])
def test_parquet_string_columns_stay_plain_strings_whatever_their_encoding(tmp_path, use_dictionary):
    rng = np.random.default_rng(0)
    sex = rng.choice(["female", "male", None], 5000).tolist()
    table = pa.table(
        {"sex": pa.array(sex, pa.string()), "cat": pa.array(["a", "b"] * 2500).dictionary_encode()}
    )
    pq.write_table(table, tmp_path / "d.parquet", use_dictionary=use_dictionary, row_group_size=1000)
    data = load_dataset(str(tmp_path / "d.parquet"), "application/x-parquet").data
    assert ("sex" in data._dictionary_columns()) is use_dictionary  # read from its dictionary pages
    batches = list(data.batches(["sex", "cat"], batch_rows=700))
    assert all(b.schema.field("sex").type == pa.string() for b in batches)
    assert pa.types.is_dictionary(batches[0].schema.field("cat").type)  # a pandas category stays one
    assert pa.Table.from_batches(batches).column("sex").to_pylist() == sex
