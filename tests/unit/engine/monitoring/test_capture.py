"""Capture and ground-truth parsing: every encoding and content type, malformed lines, hour folders."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from airflow_provider_clarify.analysis.monitoring import capture_format as cf
from airflow_provider_clarify.engine.monitoring.capture import (
    ReadStats,
    capture_files,
    hours_between,
    iter_capture_events,
    parse_capture_line,
    parse_ground_truth_line,
    read_ground_truth,
)
from airflow_provider_clarify.engine.monitoring.records import (
    Attributes,
    RecordError,
    input_rows,
    output_predictions,
)

WHEN = datetime(2024, 5, 1, 12, 30, 5, tzinfo=UTC)


def event(request, request_type, response, response_type, **kwargs):
    record = cf.capture_record(
        request=request,
        request_content_type=request_type,
        response=response,
        response_content_type=response_type,
        inference_time=WHEN,
        event_id="e1",
        **kwargs,
    )
    return parse_capture_line(cf.record_line(record).encode())


@pytest.mark.parametrize("encoding", [None, "CSV", "BASE64"])
def test_csv_capture_in_every_encoding(encoding):
    e = event("1,25,50.5\n0,40,30", "text/csv", "0.7\n0.2", "text/csv; charset=utf-8",
              input_encoding=encoding, output_encoding=encoding)  # fmt: skip
    assert input_rows(e, Attributes()) == [["1", "25", "50.5"], ["0", "40", "30"]]
    assert output_predictions(e, Attributes(), 2) == [(1, "0.7"), (0, "0.2")]
    assert output_predictions(e, Attributes(threshold=0.75), 2)[0][0] == 0


def test_encodings_follow_the_capture_content_type_header():
    assert cf.encoding_for("text/csv; charset=utf-8") == "CSV"
    assert cf.encoding_for("application/json") == "JSON"
    assert cf.encoding_for("application/jsonlines") == "BASE64"
    assert cf.encoding_for("application/jsonlines", json_content_types=["application/jsonlines"]) == "JSON"
    record = cf.capture_record(request=b"\x00\x01", request_content_type="application/x-npy", response="1",
                               response_content_type="text/csv", inference_time=WHEN)  # fmt: skip
    assert record["captureData"]["endpointInput"]["data"] == base64.b64encode(b"\x00\x01").decode()


def test_json_capture_with_jmespath_attributes():
    request = json.dumps({"instances": [{"features": [1, 2]}, {"features": [3, 4]}]})
    response = json.dumps({"predictions": [{"label": 1, "score": 0.9}, {"label": 0, "score": 0.1}]})
    e = event(request, "application/json", response, "application/json")
    attributes = Attributes(features="instances[*].features", inference="label", probability="score")
    assert input_rows(e, attributes) == [[1, 2], [3, 4]]
    assert output_predictions(e, attributes, 2) == [(1, 0.9), (0, 0.1)]


def test_jsonlines_capture_with_a_probability_attribute_and_threshold():
    request = '{"features": [1, 2]}\n{"features": [3, 4]}\n'
    response = '{"score": 0.61}\n{"score": 0.4}\n'
    e = event(request, "application/jsonlines", response, "application/jsonlines", input_encoding="BASE64")
    attributes = Attributes(features="features", probability="score", threshold=0.6)
    assert input_rows(e, attributes) == [[1, 2], [3, 4]]
    assert output_predictions(e, attributes, 2) == [(1, 0.61), (0, 0.4)]


def test_csv_response_with_label_and_score_columns():
    e = event("5,6", "text/csv", "1,0.8", "text/csv")
    assert output_predictions(e, Attributes(inference="0", probability="1"), 1) == [("1", "0.8")]
    with pytest.raises(RecordError, match="column index"):
        output_predictions(e, Attributes(inference="3"), 1)


def test_prediction_count_must_match_the_request():
    e = event("1,2\n3,4", "text/csv", "0.5", "text/csv")
    with pytest.raises(RecordError, match="1 predictions for 2"):
        output_predictions(e, Attributes(inference="0"), 2)


def test_features_attribute_that_finds_nothing_is_a_record_error():
    e = event('{"x": 1}', "application/json", "[0.5]", "application/json")
    with pytest.raises(RecordError, match="FeaturesAttribute"):
        input_rows(e, Attributes(features="features"))


@pytest.mark.parametrize(
    "line",
    [
        b"{not json",
        b"[]",
        b'{"eventMetadata": {"eventId": "x"}}',
        (
            b'{"captureData": {"endpointInput": {"data": "1", "encoding": "XML"}, "endpointOutput": {"data": "1"}},'
            b' "eventMetadata": {"eventId": "x"}}'
        ),
        (
            b'{"captureData": {"endpointInput": {"data": "%%%", "encoding": "BASE64"}, "endpointOutput": {"data": "1"}},'
            b' "eventMetadata": {"eventId": "x"}}'
        ),
        b'{"captureData": {"endpointInput": {"data": "1"}, "endpointOutput": {"data": "1"}}, "eventMetadata": {}}',
    ],
)
def test_malformed_capture_lines_raise(line):
    with pytest.raises((ValueError, KeyError, TypeError, AttributeError)):
        parse_capture_line(line)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (
            {"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "a"}},
            ("a", "1"),
        ),
        (
            {"groundTruthData": {"data": "[0]", "encoding": "JSON"}, "eventMetadata": {"eventId": "b"}},
            ("b", 0),
        ),
        (
            {
                "groundTruthData": {"data": base64.b64encode(b"yes").decode(), "encoding": "BASE64"},
                "eventMetadata": {"eventId": "c"},
            },
            ("c", "yes"),
        ),  # fmt: skip
    ],
)
def test_ground_truth_encodings(record, expected):
    assert parse_ground_truth_line(json.dumps(record).encode()) == expected


def test_files_are_read_from_the_hour_folders_of_the_window_across_days(tmp_path):
    root = tmp_path / "capture"
    for hour in (22, 23):
        path = root / "ep" / "AllTraffic" / f"2024/02/29/{hour:02d}" / "a.jsonl"
        path.parent.mkdir(parents=True)
        path.write_text("")
    nextday = root / "ep" / "AllTraffic" / "2024/03/01/00" / "b.jsonl"
    nextday.parent.mkdir(parents=True)
    nextday.write_text("")
    other_variant = root / "ep" / "Shadow" / "2024/02/29/23" / "c.jsonl"
    other_variant.parent.mkdir(parents=True)
    other_variant.write_text("")
    start = datetime(2024, 2, 29, 23, 30, tzinfo=UTC)
    files = capture_files(str(root), "ep", start, start + timedelta(hours=1))
    names = sorted(f.split("/")[-1] for f in files)
    assert names == ["a.jsonl", "b.jsonl", "c.jsonl"]
    assert [h.hour for h in hours_between(start, start + timedelta(hours=1))] == [23, 0]


def test_malformed_lines_are_counted_with_examples(tmp_path):
    path = tmp_path / "ep" / "v" / "2024/05/01/12" / "x.jsonl"
    path.parent.mkdir(parents=True)
    good = cf.record_line(
        cf.capture_record(
            request="1",
            request_content_type="text/csv",
            response="0.5",
            response_content_type="text/csv",
            inference_time=WHEN,
        )  # fmt: skip
    )
    path.write_text(good + "garbage\n\n" + good)
    stats = ReadStats()
    events = list(
        iter_capture_events([str(path)], WHEN - timedelta(hours=1), WHEN + timedelta(hours=1), stats)
    )
    assert len(events) == 2
    assert stats.malformed == 1
    assert stats.lines == 3
    assert stats.reasons[0].startswith(f"{path}:2")


def test_ground_truth_later_label_wins_and_is_read_until_the_given_time(tmp_path):
    for hour, label in ((12, "0"), (13, "1"), (14, "0")):
        path = tmp_path / f"2024/05/01/{hour}" / "gt.jsonl"
        path.parent.mkdir(parents=True)
        path.write_text(cf.record_line(cf.ground_truth_record("e1", label)))
    stats = ReadStats()
    labels = read_ground_truth(str(tmp_path), WHEN, datetime(2024, 5, 1, 14, tzinfo=UTC), stats)
    assert labels == {"e1": "1"}
    assert stats.files == 2
