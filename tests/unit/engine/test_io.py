from __future__ import annotations

import gzip

import pytest

from airflow_provider_clarify.engine import io
from airflow_provider_clarify.engine.io import EngineIOError, OutputLocation


def test_list_files_of_a_single_file_a_folder_and_a_prefix(tmp_path):
    (tmp_path / "data").mkdir()
    for name in ("part-0001.csv", "part-0000.csv", "_SUCCESS", ".hidden", "other.csv"):
        (tmp_path / "data" / name).write_text("a\n1\n")
    (tmp_path / "data" / "sub").mkdir()
    (tmp_path / "data" / "sub" / "part-0002.csv").write_text("a\n2\n")
    folder = str(tmp_path / "data")
    assert io.list_files(folder + "/part-0000.csv") == [folder + "/part-0000.csv"]
    assert io.list_files(folder) == [
        folder + "/other.csv",
        folder + "/part-0000.csv",
        folder + "/part-0001.csv",
        folder + "/sub/part-0002.csv",
    ]
    assert io.list_files(folder + "/part-") == [folder + "/part-0000.csv", folder + "/part-0001.csv"]
    assert io.list_files(f"file://{folder}/other.csv") == [folder + "/other.csv"]


def test_missing_input_names_the_uri(tmp_path):
    with pytest.raises(EngineIOError, match="No data files found at .*nothing-here"):
        io.list_files(str(tmp_path / "nothing-here"))


def test_unsupported_scheme_is_refused():
    with pytest.raises(EngineIOError, match="Unsupported URI scheme"):
        io.resolve("gs://bucket/key")


def test_gzip_is_detected_by_content_not_name(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    assert io.read_bytes(str(path)) == b"a,b\n1,2\n"
    with io.open_input(str(path)) as stream:
        assert stream.read() == b"a,b\n1,2\n"
    assert io.read_bytes(str(path), decompress=False)[:2] == b"\x1f\x8b"


def _crash_while_writing(out: OutputLocation, relpath: str, data: bytes) -> None:
    with out.open_atomic(relpath) as stream:
        stream.write(data)
        raise RuntimeError("crash while writing")


def test_output_location_writes_atomically_and_leaves_nothing_on_failure(tmp_path):
    out = OutputLocation(str(tmp_path / "out"))
    assert out.write_text("analysis.json", "{}") == f"{tmp_path}/out/analysis.json"
    assert (tmp_path / "out" / "analysis.json").read_text() == "{}"
    with pytest.raises(RuntimeError):
        _crash_while_writing(out, "explanations_shap/out.csv", b"half a file")
    assert not (tmp_path / "out" / "explanations_shap" / "out.csv").exists()
    assert [p.name for p in (tmp_path / "out" / "explanations_shap").iterdir()] == []
    # an existing file is replaced whole, never truncated by a failed rewrite
    with pytest.raises(RuntimeError):
        _crash_while_writing(out, "analysis.json", b'{"partial')
    assert (tmp_path / "out" / "analysis.json").read_text() == "{}"


def test_uri_for_joins_without_double_slashes():
    assert (
        OutputLocation("s3://bucket/prefix/").uri_for("analysis.json") == "s3://bucket/prefix/analysis.json"
    )
    assert io.join_uri("/tmp/x/", "/a/b") == "/tmp/x/a/b"


def test_s3_read_list_and_atomic_write_against_moto(s3_options, s3_client, s3_bucket):
    s3_client.put_object(Bucket=s3_bucket, Key="data/part-0.csv", Body=b"a\n1\n")
    s3_client.put_object(Bucket=s3_bucket, Key="data/part-1.csv.gz", Body=gzip.compress(b"a\n2\n"))
    files = io.list_files(f"s3://{s3_bucket}/data", s3_options)
    assert files == [f"s3://{s3_bucket}/data/part-0.csv", f"s3://{s3_bucket}/data/part-1.csv.gz"]
    assert io.list_files(f"s3://{s3_bucket}/data/part-1", s3_options) == [files[1]]
    assert io.read_bytes(files[1], s3_options) == b"a\n2\n"

    out = OutputLocation(f"s3://{s3_bucket}/results/", s3_options)
    uri = out.write_text("analysis.json", '{"version": "1.0"}')
    assert uri == f"s3://{s3_bucket}/results/analysis.json"
    body = s3_client.get_object(Bucket=s3_bucket, Key="results/analysis.json")["Body"].read()
    assert body == b'{"version": "1.0"}'
    with pytest.raises(RuntimeError):
        _crash_while_writing(out, "report.html", b"<html>")
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="results/")["Contents"]]
    assert keys == ["results/analysis.json"]


def test_unknown_storage_option_is_refused():
    with pytest.raises(EngineIOError, match="Unknown storage_options keys \\['profile'\\]"):
        io.resolve("s3://bucket/key", {"profile": "x"})
