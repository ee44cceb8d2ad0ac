"""Monitoring executions with the open engine: window selection, joins, metrics, drift, failures, CLI."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta

import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.engine.__main__ import main as engine_main
from airflow_provider_clarify.engine.monitoring import run_monitoring_execution
from airflow_provider_clarify.engine.runner import run_analysis
from tests.support import monitoring as traffic_support

T0 = datetime(2024, 2, 29, 22, 0, tzinfo=UTC)  # windows cross into March 1st
CONFIG = traffic_support.BIAS_CONFIG


def job_definition(tmp_path, *, baseline=None, offsets=("-PT2H", "-PT1H")):
    return traffic_support.bias_job_definition(tmp_path, baseline=baseline, offsets=offsets)


@pytest.fixture
def traffic(tmp_path):
    data = traffic_support.make_traffic(3000, T0, timedelta(hours=3), seed=1)
    traffic_support.write_capture(tmp_path / "capture", data)
    traffic_support.write_ground_truth(tmp_path / "gt", data)
    return data


def test_metrics_equal_run_analysis_on_the_merged_records(tmp_path, traffic):
    scheduled = T0 + timedelta(hours=3)  # window 23:00 .. 00:00 next day
    result = run_monitoring_execution(
        job_definition(tmp_path),
        scheduled,
        data_capture_uri=str(tmp_path / "capture"),
        output=str(tmp_path / "out"),
    )
    assert result.status == "Completed", result.failure_reason
    start, end = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    expected_rows = traffic_support.merged_rows(traffic, start, end)
    assert result.records == len(expected_rows) > 500
    oracle = tmp_path / "oracle.csv"
    with oracle.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["gender", "age", "income", "approved", "prediction"])
        writer.writerows(expected_rows)
    oracle_uri = run_analysis(
        {
            "dataset_type": "text/csv",
            "headers": ["gender", "age", "income", "approved", "prediction"],
            "label": "approved",
            "predicted_label": "prediction",
            "label_values_or_threshold": [1],
            "facet": [{"name_or_index": "gender", "value_or_threshold": [0]}],
            "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}},
        },
        str(oracle),
        str(tmp_path / "oracle-out"),
    )
    ours = json.loads((tmp_path / "out" / "analysis.json").read_text())
    theirs = json.loads(open(oracle_uri).read())
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        got = {m["name"]: m["value"] for m in ours[stage]["facets"]["gender"][0]["metrics"]}
        want = {m["name"]: m["value"] for m in theirs[stage]["facets"]["gender"][0]["metrics"]}
        assert got.keys() == want.keys()
        for name in want:
            assert got[name] == pytest.approx(want[name], nan_ok=True), name
    assert (tmp_path / "out" / "report.html").exists()
    summary = json.loads((tmp_path / "out" / "monitoring_execution.json").read_text())
    assert summary["status"] == "Completed"
    assert summary["capture"]["malformed_lines"] == 0


def test_window_selects_by_inference_time_at_hour_boundaries(tmp_path):
    edge = T0 + timedelta(hours=2)  # 2024-03-01T00:00Z
    data = traffic_support.make_traffic(
        404, T0 + timedelta(hours=1, minutes=1), timedelta(minutes=58), seed=2
    )
    moments = [edge - timedelta(hours=1), edge - timedelta(seconds=1), edge, edge + timedelta(seconds=1)]
    data.times[:4] = moments
    traffic_support.write_capture(tmp_path / "capture", data)
    traffic_support.write_ground_truth(tmp_path / "gt", data, delay=timedelta(0))
    result = run_monitoring_execution(
        job_definition(tmp_path, offsets=("-PT1H", "-PT0H")),
        edge,
        data_capture_uri=str(tmp_path / "capture"),
        output=str(tmp_path / "out"),
    )
    # [23:00, 00:00): 23:00:00 and 23:59:59 are in, 00:00:00 belongs to the next window (next day's folder)
    assert result.status == "Completed", result.failure_reason
    assert result.capture["records_in_window"] == 402
    assert result.records == 402


def test_capture_encodings_and_inference_ids(tmp_path):
    data = traffic_support.make_traffic(400, T0, timedelta(hours=1), seed=3)
    traffic_support.write_capture(tmp_path / "capture", data, encoding="BASE64", use_inference_id=True)
    traffic_support.write_ground_truth(tmp_path / "gt", data, delay=timedelta(0))
    result = run_monitoring_execution(
        job_definition(tmp_path, offsets=("-PT1H", "-PT0H")),
        T0 + timedelta(hours=1),
        data_capture_uri=str(tmp_path / "capture"),
        output=str(tmp_path / "out"),
    )
    assert result.status == "Completed", result.failure_reason
    assert result.records == 400  # joined on inferenceId, not on the (different) eventId


def test_malformed_lines_are_counted_and_reported(tmp_path, traffic):
    files = sorted((tmp_path / "capture").rglob("*.jsonl"))
    with files[1].open("a") as handle:
        handle.write("{not json\n")
        handle.write('{"captureData": {"endpointInput": {"data": "!!", "encoding": "BASE64"}}}\n')
    result = run_monitoring_execution(
        job_definition(tmp_path),
        T0 + timedelta(hours=3),
        data_capture_uri=str(tmp_path / "capture"),
        output=str(tmp_path / "out"),
    )
    assert result.status == "Completed"
    assert result.capture["malformed_lines"] == 2
    assert any("JSONDecodeError" in r for r in result.capture["malformed_examples"])
    assert any("2 malformed" in note for note in result.notes)


def test_population_shift_is_a_bias_drift_violation(tmp_path):
    normal = traffic_support.make_traffic(3000, T0, timedelta(hours=1), seed=4)
    shifted = traffic_support.make_traffic(
        3000, T0 + timedelta(hours=1), timedelta(hours=1), seed=5, shift=15
    )
    for data in (normal, shifted):
        traffic_support.write_capture(tmp_path / "capture", data)
        traffic_support.write_ground_truth(tmp_path / "gt", data, delay=timedelta(0))
    capture = str(tmp_path / "capture")
    first = run_monitoring_execution(
        job_definition(tmp_path, offsets=("-PT1H", "-PT0H")),
        T0 + timedelta(hours=1),
        data_capture_uri=capture,
        output=str(tmp_path / "baseline"),
    )
    baseline = first.analysis_uri
    same = run_monitoring_execution(
        job_definition(tmp_path, baseline=baseline, offsets=("-PT1H", "-PT0H")),
        T0 + timedelta(hours=1),
        data_capture_uri=capture,
        output=str(tmp_path / "same"),
    )
    assert same.status == "Completed"
    assert not (tmp_path / "same" / "constraint_violations.json").exists()
    drifted = run_monitoring_execution(
        job_definition(tmp_path, baseline=baseline, offsets=("-PT1H", "-PT0H")),
        T0 + timedelta(hours=2),
        data_capture_uri=capture,
        output=str(tmp_path / "drifted"),
    )
    assert drifted.status == "CompletedWithViolations"
    report = json.loads((tmp_path / "drifted" / "constraint_violations.json").read_text())
    assert report["violations"]
    assert {v["constraint_check_type"] for v in report["violations"]} == {"bias_drift_check"}
    assert {v["metric_name"] for v in report["violations"]} & {"DPPL", "DI", "CI", "DPL", "AD"}


def test_no_capture_in_window_fails_with_the_reason(tmp_path, traffic):
    result = run_monitoring_execution(
        job_definition(tmp_path),
        T0 + timedelta(days=3),
        data_capture_uri=str(tmp_path / "capture"),
        output=str(tmp_path / "out"),
    )
    assert result.status == "Failed"
    assert "Job inputs had no data" in result.failure_reason
    assert "data capture is enabled" in result.failure_reason


def test_ground_truth_that_matches_nothing_fails_with_the_reason(tmp_path, traffic):
    other = traffic_support.make_traffic(50, T0, timedelta(hours=3), seed=9)
    gt = tmp_path / "gt"
    for path in gt.rglob("*.jsonl"):
        path.unlink()
    traffic_support.write_ground_truth(gt, other)
    result = run_monitoring_execution(
        job_definition(tmp_path),
        T0 + timedelta(hours=3),
        data_capture_uri=str(tmp_path / "capture"),
        output=str(tmp_path / "out"),
    )
    assert result.status == "Failed"
    assert "ground-truth label" in result.failure_reason
    assert "inferenceId" in result.failure_reason


def test_cli_monitor_subcommand(tmp_path, traffic, capsys):
    definition = traffic_support.write_json(tmp_path / "jobdef.json", job_definition(tmp_path))
    code = engine_main(
        [
            "monitor",
            "--job-definition",
            str(definition),
            "--scheduled-time",
            "2024-03-01T01:00:00Z",
            "--data-capture-uri",
            f"file://{tmp_path / 'capture'}",
            "--output",
            str(tmp_path / "cli-out"),
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["status"] == "Completed"
    code = engine_main(
        [
            "monitor",
            "--job-definition",
            str(definition),
            "--scheduled-time",
            "2024-03-09T01:00:00Z",
            "--data-capture-uri",
            str(tmp_path / "capture"),
            "--output",
            str(tmp_path / "cli-out2"),
        ]
    )
    assert code == 6
    assert "Job inputs had no data" in capsys.readouterr().err


def test_a_baseline_for_other_facets_fails_before_reading_capture(tmp_path, traffic):
    other = traffic_support.write_json(
        tmp_path / "other-baseline.json",
        {
            "pre_training_bias_metrics": {
                "label": "approved",
                "facets": {"age": [{"value_or_threshold": "(40, 79]"}]},
            }
        },
    )
    with pytest.raises(ClarifyConfigError, match="no metrics for facet"):
        run_monitoring_execution(
            job_definition(tmp_path, baseline=str(other)),
            T0 + timedelta(hours=3),
            data_capture_uri=str(tmp_path / "capture"),
            output=str(tmp_path / "out"),
        )


def test_labels_beyond_the_memory_bound_go_to_disk_with_the_same_result(tmp_path, traffic):
    common = {"data_capture_uri": str(tmp_path / "capture")}
    in_memory = run_monitoring_execution(
        job_definition(tmp_path), T0 + timedelta(hours=3), output=str(tmp_path / "mem"), **common
    )
    on_disk = run_monitoring_execution(
        job_definition(tmp_path), T0 + timedelta(hours=3), output=str(tmp_path / "disk"),
        max_labels_in_memory=100, **common,
    )  # fmt: skip
    assert any("labels kept on disk" in note for note in on_disk.notes)
    assert on_disk.records == in_memory.records > 0
    assert (tmp_path / "disk" / "analysis.json").read_text() == (
        tmp_path / "mem" / "analysis.json"
    ).read_text()
