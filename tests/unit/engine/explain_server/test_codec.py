"""Records to and from the model: exact round trips, and the fast paths agree with the general ones."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from airflow_provider_clarify.engine.explain_server.codec import OutputParser, RowEncoder, parse_records
from airflow_provider_clarify.engine.explain_server.errors import ModelResponseError, RequestValidationError
from airflow_provider_clarify.engine.explain_server.model_client import split_requests


@pytest.mark.parametrize("repeat", [1, 50])  # mostly distinct values / the cached-strings path
def test_float_rows_round_trip_exactly(repeat):
    rng = np.random.default_rng(0)
    rows = np.repeat(rng.normal(size=(4, 6)) * 10.0 ** rng.integers(-8, 8, size=(4, 6)), repeat, axis=0)
    rows[0, 0], rows[1, 1] = np.nan, np.inf
    lines = RowEncoder("text/csv").encode(rows)
    back = np.array([[float(v) for v in line.decode().split(",")] for line in lines])
    np.testing.assert_array_equal(back, rows)


def test_object_rows_are_quoted_and_jsonlines_use_the_template():
    rows = np.array([[1.5, 'say "hi", bye', None]], dtype=object)
    (line,) = RowEncoder("text/csv").encode(rows)
    assert next(csv.reader(io.StringIO(line.decode()))) == ["1.5", 'say "hi", bye', ""]
    (record,) = RowEncoder("application/jsonlines", '{"in":{"f":$features}}').encode(rows)
    assert json.loads(record) == {"in": {"f": [1.5, 'say "hi", bye', None]}}


def test_fast_csv_scores_equal_the_general_parser():
    body = b"0.25,0.75\n0.5,0.5\n1e-3,0.999\n"
    for index in (None, 1):
        parser = OutputParser(probability_index=index)
        fast = parser.fast_csv_scores(body, "text/csv; charset=utf-8", 3)
        assert fast is not None
        np.testing.assert_array_equal(fast, parser.parse(body, "text/csv", 3).scores)
    labelled = OutputParser(probability_index=1, label_index=0)
    body = b'"cat,dog","[0.1,0.9]"\n'
    assert labelled.fast_csv_scores(body, "text/csv", 1) is None
    parsed = labelled.parse(body, "text/csv", 1)
    assert parsed.label_headers == ["cat,dog"]
    np.testing.assert_array_equal(parsed.scores, [[0.1, 0.9]])
    with pytest.raises(ModelResponseError, match="2 predictions for 3 records"):
        OutputParser().parse_scores(b"1\n2\n", "text/csv", 3)
    with pytest.raises(ModelResponseError, match="ProbabilityAttribute"):
        OutputParser().parse(b'{"label": "x"}\n', "application/jsonlines", 1)


def test_requests_respect_record_and_byte_limits():
    records = [b"x" * 9] * 10  # 10 bytes each with the newline
    assert [len(g) for g in split_requests(records, 4, 1000)] == [4, 4, 2]
    assert [len(g) for g in split_requests(records, None, 35)] == [3, 3, 3, 1]
    with pytest.raises(RequestValidationError, match="MaxPayloadInMB"):
        split_requests([b"x" * 100], None, 50)


def test_request_parsing():
    assert parse_records(b'1,"a b",3\n', "text/csv", None) == [[1.0, "a b", 3.0]]
    assert parse_records(b'{"f": [1, 2]}\n\n', "application/jsonlines", "f") == [[1, 2]]
    with pytest.raises(RequestValidationError, match="FeaturesAttribute"):
        parse_records(b'{"g": [1, 2]}\n', "application/jsonlines", "f")
