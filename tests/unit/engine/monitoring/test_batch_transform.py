"""Batch-transform monitoring: raw transform output in its DatasetFormat (CSV, JSON, Parquet).

The oracle is the endpoint-capture path: the same traffic written as SageMaker data capture gives the
same merged records, so every metric of the batch-transform execution must equal that execution's.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.monitoring import capture_format as cf
from airflow_provider_clarify.analysis.monitoring.inputs import MonitoringDatasetFormat
from airflow_provider_clarify.engine.monitoring import run_monitoring_execution
from tests.support import monitoring as traffic_support

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
SCHEDULED = T0 + timedelta(hours=3)  # window 10:00 .. 11:00 with -PT2H / -PT1H
CONFIG = {
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "gender", "value_or_threshold": [0]}],
    "headers": ["gender", "age", "income", "approved"],
    "label": "approved",
}


def definition(tmp_path: Path, job_input: dict) -> dict:
    config_uri = traffic_support.write_json(tmp_path / "config" / "analysis_config.json", CONFIG)
    return {
        "JobDefinitionName": "bias-def",
        "ModelBiasAppSpecification": {"ImageUri": "img", "ConfigUri": str(config_uri)},
        "ModelBiasJobInput": {**job_input, "GroundTruthS3Input": {"S3Uri": str(tmp_path / "gt")}},
        "ModelBiasJobOutputConfig": {
            "MonitoringOutputs": [{"S3Output": {"S3Uri": str(tmp_path / "results")}}]
        },
    }


def batch_input(tmp_path: Path, dataset_format: dict, **attributes) -> dict:
    return {
        "BatchTransformInput": {
            "DataCapturedDestinationS3Uri": str(tmp_path / "transform"),
            "LocalPath": "/opt/ml/processing/input/batch_transform",
            "DatasetFormat": dataset_format,
            "StartTimeOffset": "-PT2H",
            "EndTimeOffset": "-PT1H",
            **attributes,
        }
    }


def run_batch(tmp_path: Path, dataset_format: dict, **attributes):
    """The execution of a definition reading the transform output under ``tmp_path`` in that format."""
    return run_monitoring_execution(
        definition(tmp_path, batch_input(tmp_path, dataset_format, **attributes)),
        SCHEDULED,
        output=str(tmp_path / "batch-out"),
    )


@pytest.fixture
def traffic(tmp_path):
    data = traffic_support.make_traffic(1500, T0, timedelta(hours=3), seed=7)
    traffic_support.write_capture(tmp_path / "capture", data, use_inference_id=True)
    traffic_support.write_ground_truth(tmp_path / "gt", data)
    return data


def records(traffic) -> list[dict]:
    """One joined transform record per request: features, the score (as captured), id and time."""
    return [
        {
            "gender": int(row[0]),
            "age": int(row[1]),
            "income": float(row[2]),
            "score": f"{s:.6f}",
            "SageMakerInferenceId": event_id,
            "SageMakerInferenceTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for row, s, when, event_id in zip(
            traffic.features, traffic.scores, traffic.times, traffic.ids, strict=True
        )
    ]


def by_hour(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        hour = cf.parse_inference_time(row["SageMakerInferenceTime"]).replace(minute=0, second=0)
        out.setdefault(cf.hour_folder(hour), []).append(row)
    return out


def write_csv(root: Path, rows: list[dict], header: bool) -> None:
    for folder, part in by_hour(rows).items():
        path = root / folder / "output.csv.out"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            if header:
                writer.writerow(list(part[0]))
            writer.writerows([[f"{v:g}" if isinstance(v, float) else v for v in r.values()] for r in part])


def write_json(root: Path, rows: list[dict], lines: bool) -> None:
    for folder, part in by_hour(rows).items():
        path = root / folder / "output.json.out"
        path.parent.mkdir(parents=True, exist_ok=True)
        shaped = [{"features": [r["gender"], r["age"], r["income"]], "prediction": {"score": r["score"]},
                   "SageMakerInferenceId": r["SageMakerInferenceId"],
                   "SageMakerInferenceTime": r["SageMakerInferenceTime"]} for r in part]  # fmt: skip
        text = "".join(json.dumps(r) + "\n" for r in shaped) if lines else json.dumps(shaped)
        path.write_text(text)


def write_parquet(root: Path, rows: list[dict]) -> None:
    for folder, part in by_hour(rows).items():
        path = root / folder / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist([{**r, "score": float(r["score"])} for r in part])
        pq.write_table(table, path, row_group_size=100)


def metrics(analysis_path: Path) -> dict:
    analysis = json.loads(analysis_path.read_text())
    return {
        (stage, m["name"]): m["value"]
        for stage in ("pre_training_bias_metrics", "post_training_bias_metrics")
        for m in analysis[stage]["facets"]["gender"][0]["metrics"]
    }


def capture_oracle(tmp_path: Path):
    endpoint = {"EndpointInput": {"EndpointName": traffic_support.ENDPOINT, "StartTimeOffset": "-PT2H",
                                  "EndTimeOffset": "-PT1H"}}  # fmt: skip
    result = run_monitoring_execution(
        definition(tmp_path, endpoint),
        SCHEDULED,
        data_capture_uri=str(tmp_path / "capture"),
        output=str(tmp_path / "capture-out"),
    )
    assert result.status == "Completed", result.failure_reason
    return result, metrics(tmp_path / "capture-out" / "analysis.json")


CASES = {
    "csv-header": (
        MonitoringDatasetFormat.csv(header=True),
        lambda root, rows: write_csv(root, rows, header=True),
        {"ProbabilityAttribute": "score"},
    ),
    "json-lines": (
        MonitoringDatasetFormat.json(lines=True),
        lambda root, rows: write_json(root, rows, lines=True),
        {"FeaturesAttribute": "features", "ProbabilityAttribute": "prediction.score"},
    ),
    "json-document": (
        MonitoringDatasetFormat.json(lines=False),
        lambda root, rows: write_json(root, rows, lines=False),
        {"FeaturesAttribute": "features", "ProbabilityAttribute": "prediction.score"},
    ),
    "parquet": (
        MonitoringDatasetFormat.parquet(),
        write_parquet,
        {"FeaturesAttribute": "gender,age,income", "ProbabilityAttribute": "score"},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_dataset_format_gives_the_metrics_of_the_same_traffic_captured(tmp_path, traffic, case):
    dataset_format, write, attributes = CASES[case]
    write(tmp_path / "transform", records(traffic))
    oracle, expected = capture_oracle(tmp_path)
    result = run_batch(tmp_path, dataset_format, **attributes)
    assert result.status == "Completed", result.failure_reason
    assert result.records == oracle.records > 300
    assert result.capture["malformed_lines"] == 0
    assert result.capture["records_in_window"] == oracle.capture["records_in_window"]
    got = metrics(tmp_path / "batch-out" / "analysis.json")
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, nan_ok=True), key


def test_headerless_csv_takes_columns_by_index_and_counts_malformed_rows(tmp_path, traffic):
    rows = records(traffic)
    write_csv(tmp_path / "transform", rows, header=True)
    # the same files without their header line, plus one short row: columns by index only
    for path in (tmp_path / "transform").rglob("*.out"):
        lines = path.read_text().splitlines()[1:]
        path.write_text("\n".join([*lines, "1,40"]) + "\n")
    result = run_batch(
        tmp_path,
        MonitoringDatasetFormat.csv(header=False),
        FeaturesAttribute="0,1,2",
        ProbabilityAttribute="3",
    )
    # without named id/time columns the records are kept by their hour folder and joined by
    # <file>#<record>, which no label names: the execution fails and says why
    assert result.status == "Failed"
    assert "ground-truth label" in result.failure_reason
    assert result.capture["malformed_lines"] >= 1
    assert any("has 2 value(s)" in reason for reason in result.capture["malformed_examples"])


def test_bias_on_raw_transform_output_needs_a_prediction_attribute(tmp_path, traffic):
    write_csv(tmp_path / "transform", records(traffic), header=True)
    with pytest.raises(ClarifyConfigError, match="InferenceAttribute or ProbabilityAttribute"):
        run_batch(tmp_path, MonitoringDatasetFormat.csv(header=True))


def test_json_records_need_a_features_attribute(tmp_path, traffic):
    write_json(tmp_path / "transform", records(traffic), lines=True)
    with pytest.raises(ClarifyConfigError, match="FeaturesAttribute"):
        run_batch(tmp_path, MonitoringDatasetFormat.json(lines=True), ProbabilityAttribute="prediction.score")


def test_a_line_that_is_not_json_is_counted_not_dropped(tmp_path, traffic):
    write_json(tmp_path / "transform", records(traffic), lines=True)
    first = sorted((tmp_path / "transform").rglob("*.out"))[1]  # an hour inside the window
    first.write_text(first.read_text() + "{not json\n")
    result = run_batch(
        tmp_path,
        MonitoringDatasetFormat.json(lines=True),
        FeaturesAttribute="features",
        ProbabilityAttribute="prediction.score",
    )
    assert result.status == "Completed", result.failure_reason
    assert result.capture["malformed_lines"] == 1
    assert "not JSON" in result.capture["malformed_examples"][0]
