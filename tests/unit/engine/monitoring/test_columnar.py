"""The columnar fast path gives exactly what the line-by-line reference path gives.

A capture hour mixing every case (CSV decoded a block at once; BASE64, JSON, multi-record and
fractional-time lines that need the slow path; malformed lines; a line that is not a JSON object,
which makes pyarrow refuse its whole block; blank lines; records outside the window or without a
label) is merged both ways and compared record for record, with the reading statistics.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest

from airflow_provider_clarify.analysis.monitoring import capture_format as cf
from airflow_provider_clarify.engine.monitoring import execution
from airflow_provider_clarify.engine.monitoring.capture import (
    CaptureEvent,
    ReadStats,
    iter_capture_events,
    iter_capture_items,
    read_ground_truth,
)
from airflow_provider_clarify.engine.monitoring.labels import LabelStore

HOUR = datetime(2024, 5, 1, 10, tzinfo=UTC)
CONFIG = {"label_values_or_threshold": [1], "facet": [{"name_or_index": "a", "value_or_threshold": [1]}],
          "headers": ["a", "b", "c", "label"], "label": "label"}  # fmt: skip


def _output(score: float, attributes: dict) -> str:
    if attributes.get("InferenceAttribute") is not None:
        return f"{int(score > 0.5)},{score}"
    if attributes.get("ProbabilityAttribute") is not None:
        return f"x,{score}"
    return f"{score}"


def _line(request, response, *, event_id, when=None, in_type="text/csv", out_type="text/csv", **kwargs) -> str:
    record = cf.capture_record(
        request=request, request_content_type=in_type, response=response, response_content_type=out_type,
        inference_time=when or HOUR + timedelta(minutes=5), event_id=event_id, **kwargs,
    )  # fmt: skip
    return cf.record_line(record)


def _capture(attributes: dict) -> tuple[str, list[tuple[str, object]]]:
    lines, labels = [], []
    for i in range(40):  # the fast path: one CSV record per request
        lines.append(_line(f"{i % 2},{i},{i * 1.5}", _output((i % 10) / 10, attributes), event_id=f"e{i}",
                           inference_id=f"inf{i}" if i % 3 == 0 else None))  # fmt: skip
        labels.append((f"inf{i}" if i % 3 == 0 else f"e{i}", i % 2))
    out2 = _output(0.9, attributes)
    lines += [
        _line("1,2,3", out2, event_id="b64", input_encoding="BASE64", output_encoding="BASE64"),
        _line("[0,5,6]", out2, event_id="json", in_type="application/json"),
        _line("1,7,8\n0,9,10", _output(0.2, attributes) + "\n" + out2, event_id="multi"),
        _line('1,"7",8', out2, event_id="quoted"),
        _line("1,2,3", out2, event_id="frac").replace(":05:00Z", ":05:00.250Z"),
        _line("1,2", out2, event_id="short"),  # one feature short: malformed
        _line("1,2,3", "abc" if not attributes else "abc,def", event_id="nan"),  # not a score
        _line("1,2,3", out2, event_id="late", when=HOUR + timedelta(hours=1, minutes=1)),  # outside
        _line("1,2,3", out2, event_id="early", when=HOUR - timedelta(seconds=1)),  # outside
        _line("1,2,3", out2, event_id="nolabel"),
        "\n",
        '{"captureData": {"endpointInput": {"data": "1,2,3"}}, "eventMetadata": {"eventId": "x"}}\n',
        '{"captureData": {}, "eventMetadata": {}}\n',
        "[1, 2]\n",  # not an object: pyarrow refuses the block
        "{not json\n",
    ]
    lines += [_line(f"0,{i},1", _output(0.6, attributes), event_id=f"t{i}") for i in range(10)]
    labels += [("b64", 1), ("json", 0), ("multi", 1), ("quoted", 0), ("frac", 1), ("short", 1), ("nan", 0)]
    labels += [(f"t{i}", "1") for i in range(10)]
    return "".join(lines), labels


def _write(tmp_path, attributes):
    text, labels = _capture(attributes)
    folder = tmp_path / "capture" / cf.hour_folder(HOUR)
    folder.mkdir(parents=True)
    (folder / "part.jsonl").write_text(text)
    gt = tmp_path / "gt" / cf.hour_folder(HOUR)
    gt.mkdir(parents=True)
    rows = [cf.record_line(cf.ground_truth_record(i, label)) for i, label in labels]
    rows += [cf.record_line(cf.ground_truth_record("e1", 1, encoding="JSON"))]  # later label wins
    rows += ['{"groundTruthData": {"data": "1"}}\n', "\n", "[0]\n", cf.record_line(cf.ground_truth_record("e2", "0"))]
    (gt / "labels.jsonl").write_text("".join(rows))
    return [str(folder / "part.jsonl")]


def _merged(tmp_path, name, plan, items, labels):
    stats, gt_stats = ReadStats(), ReadStats()
    path = str(tmp_path / f"{name}.parquet")
    columns, _, count = execution._merge(plan, items(stats), labels, path, stats, gt_stats)
    table = pq.read_table(path)
    rows = sorted(json.dumps(r, sort_keys=True) for r in table.to_pylist())
    return rows, count, stats.to_dict() | {"examples": sorted(stats.reasons)}, gt_stats.outside_window, table.schema


@pytest.mark.parametrize(
    "attributes", [{}, {"ProbabilityAttribute": "1", "ProbabilityThresholdAttribute": 0.55}, {"InferenceAttribute": "0"}]
)
def test_columnar_merge_equals_the_line_by_line_merge(tmp_path, attributes):
    files = _write(tmp_path, attributes)
    plan = execution._Plan("ModelBias", CONFIG, attributes, "EndpointInput", None, None, None, None)
    start, end = HOUR, HOUR + timedelta(hours=1)
    labels = LabelStore(str(tmp_path))
    read_ground_truth(str(tmp_path / "gt"), start, end, ReadStats(), labels=labels)

    seen = []

    def fast(stats):
        for item in iter_capture_items(files, start, end, stats, block_bytes=1500):
            seen.append(item)
            yield item

    reference = _merged(tmp_path, "slow", plan, lambda s: iter_capture_events(files, start, end, s), labels)
    columnar = _merged(tmp_path, "fast", plan, fast, labels)
    assert columnar == reference
    batches = [item for item in seen if not isinstance(item, CaptureEvent)]
    assert sum(len(b) for b in batches) >= 40  # the fast path did decode blocks
    assert any(isinstance(item, CaptureEvent) for item in seen)  # and handed the odd lines back
    rows, count, stats, unlabelled, _ = reference
    assert stats["malformed_lines"] >= 5
    assert stats["records_outside_window"] == 2
    assert unlabelled == 1
    assert count == len(rows)


def test_columnar_ground_truth_equals_the_line_by_line_reader(tmp_path):
    _write(tmp_path, {})
    results = []
    for columnar in (True, False):
        stats = ReadStats()
        labels = read_ground_truth(str(tmp_path / "gt"), HOUR, HOUR + timedelta(hours=1), stats, columnar=columnar)
        results.append((labels, stats.to_dict()))
    assert results[0] == results[1]
    labels, stats = results[0]
    assert labels["e1"] == 1
    assert labels["e2"] == "0"
    assert stats["malformed_lines"] == 2


def test_whole_execution_is_the_same_either_way(tmp_path):
    _write(tmp_path, {})
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    definition = {
        "JobDefinitionName": "j",
        "ModelBiasAppSpecification": {"ImageUri": "img", "ConfigUri": str(tmp_path / "config.json")},
        "ModelBiasJobInput": {"EndpointInput": {"EndpointName": "ep", "EndTimeOffset": "-PT1H", "StartTimeOffset": "-PT2H"},
                              "GroundTruthS3Input": {"S3Uri": str(tmp_path / "gt")}},
    }  # fmt: skip
    outcomes = []
    for columnar in (True, False):
        out = tmp_path / f"out-{columnar}"
        result = execution.run_monitoring_execution(
            definition, HOUR + timedelta(hours=2), data_capture_uri=str(tmp_path / "capture"), output=str(out),
            columnar=columnar,
        )  # fmt: skip
        analysis = json.loads((out / "analysis.json").read_text())
        outcomes.append((result.status, result.records, result.capture["malformed_lines"], analysis))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == "Completed"
    assert outcomes[0][1] > 40


@pytest.mark.parametrize("block_bytes", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("tail", ["", "\n", "\n\n", "\n  \n"])
def test_blocks_hold_exactly_the_lines_of_the_line_reader(tmp_path, block_bytes, tail):
    from airflow_provider_clarify.engine.monitoring import columnar
    from airflow_provider_clarify.engine.monitoring.capture import _lines

    path = tmp_path / "f.jsonl"
    path.write_bytes(("\n".join(['{"a": 1}', "", '{"b": 22}', "   ", '{"c": 333}' * 3, "x"]) + tail).encode())
    expected = [(n, line) for n, line in _lines(str(path), None) if line.strip()]
    got = []
    for block in columnar.line_blocks(str(path), None, block_bytes):
        numbers, lines = block.lines()
        got += list(zip(numbers, lines, strict=True))
    assert got == expected
