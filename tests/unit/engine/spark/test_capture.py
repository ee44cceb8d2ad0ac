"""A bias-drift monitoring execution on Spark (the capture window read, joined and merged on the
executors) against the single-machine execution on the same capture: the same files, the same counts.

The window holds what makes the single-machine merge order-dependent or lossy, so that a Spark join
that treated any of it differently would show: records exactly at the window's edges, malformed
capture and ground-truth lines, BASE64 records (the per-record path), a request of the wrong width
with and without a label, captured records without a label, the same record captured twice, an id
labelled twice (the later label wins, across files), more than 65,536 records spread over 16 objects
(the merged file types its columns by its first 65,536 rows), and after those rows two values that do
not fit their column's type (malformed there, so here).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from airflow_provider_clarify.analysis.monitoring import capture_format as cf
from airflow_provider_clarify.engine.monitoring import run_monitoring_execution
from airflow_provider_clarify.engine.monitoring.cli import main as monitor_main
from airflow_provider_clarify.engine.spark.capture import SparkMonitoringError, run_monitoring_execution_spark
from tests.support import monitoring as traffic_support
from tests.support.aws import BUCKET
from tests.support.paths import REPO_ROOT
from tests.unit.engine.spark.conftest import spark_env

T0 = datetime(2024, 2, 29, 22, 0, tzinfo=UTC)  # window 23:00 .. 00:00, the next hour is March 1st
WINDOW = T0 + timedelta(hours=1)
SCHEDULED = T0 + timedelta(hours=2)
RECORDS = 75_000  # in 15 objects of 5,000: the first 65,536 labelled rows end in the 14th
PIECES = 15
CONFIG = traffic_support.BIAS_CONFIG
PATH_KEYS = {"output", "analysis_uri", "violations_uri"}


def _definition(root: Path, baseline: str | None = None) -> dict:
    return traffic_support.bias_job_definition(root, baseline=baseline, offsets=("-PT1H", "-PT0H"))


def _line(request: str, when: datetime, event_id: str, encoding: str | None = None) -> str:
    return cf.record_line(
        cf.capture_record(
            request=request,
            request_content_type="text/csv",
            response="0.731000",
            response_content_type="text/csv; charset=utf-8",
            inference_time=when,
            event_id=event_id,
            input_encoding=encoding,
            output_encoding=encoding,
        )
    )


def _label(event_id: str, label) -> str:
    return cf.record_line(cf.ground_truth_record(event_id, label))


def _split(path: Path, pieces: int) -> list[Path]:
    """``path`` cut into ``pieces`` objects whose names sort in the original line order."""
    lines = path.read_text().splitlines(keepends=True)
    size = math.ceil(len(lines) / pieces)
    out = []
    for index in range(pieces):
        piece = path.with_name(f"{path.stem}-{index:02d}{path.suffix}")
        piece.write_text("".join(lines[index * size : (index + 1) * size]))
        out.append(piece)
    path.unlink()
    return out


def _write_window(root: Path) -> dict:
    """Capture and ground truth of the hour before (the baseline's) and of the analysed window."""
    before = traffic_support.make_traffic(2000, T0, timedelta(hours=1), seed=11)
    traffic_support.write_capture(root / "capture", before)
    traffic_support.write_ground_truth(root / "gt", before, delay=timedelta(0))
    window = traffic_support.make_traffic(RECORDS, WINDOW, timedelta(hours=1), seed=12, shift=12)
    unlabelled = set(window.ids[::97])
    traffic_support.write_capture(root / "capture", window)
    hour = root / "capture" / traffic_support.ENDPOINT / traffic_support.VARIANT / cf.hour_folder(WINDOW)
    (capture_file,) = [p for p in hour.glob("*.jsonl")]
    pieces = _split(capture_file, PIECES)
    late = WINDOW + timedelta(hours=1)
    with pieces[0].open("a") as handle:  # the window's edges, in the window's hour folder
        handle.write(_line("1,40,55.0", WINDOW, "edge-start"))
        handle.write(_line("0,41,56.0", late - timedelta(seconds=1), "edge-end"))
        handle.write(_line("1,42,57.0", late, "edge-after"))  # belongs to the next window
        handle.write(_line("0,43,58.0", WINDOW - timedelta(seconds=1), "edge-before"))
    with pieces[3].open("a") as handle:
        handle.write("{not json\n")
        handle.write('{"captureData": {"endpointInput": {"data": "!!", "encoding": "BASE64"}}}\n')
        handle.write(_line("1,44,59.0,7", WINDOW + timedelta(minutes=9), "too-wide"))  # labelled: malformed
        handle.write(_line("0,45,60.0,7", WINDOW + timedelta(minutes=9), "too-wide-unlabelled"))
        twice = _line("1,46,61.0", WINDOW + timedelta(minutes=10), "captured-twice")
        handle.write(twice + twice)
        for i in range(40):  # the per-record path, inside the first batch
            when = WINDOW + timedelta(minutes=11, seconds=i)
            handle.write(_line(f"{i % 2},{30 + i},{40.5 + i}", when, f"b64-{i}", encoding="BASE64"))
    with pieces[-1].open("a") as handle:  # after the first 65,536 rows: values that do not fit
        handle.write(_line("1,n/a,62.0", late - timedelta(minutes=2), "age-not-a-number"))
        handle.write(_line("0,47.5,63.0", late - timedelta(minutes=2), "age-not-whole"))
    keep = [i for i, event_id in enumerate(window.ids) if event_id not in unlabelled]
    window_labels = traffic_support.Traffic(
        window.features[keep],
        window.labels[keep],
        window.scores[keep],
        [window.times[i] for i in keep],
        [window.ids[i] for i in keep],
    )
    traffic_support.write_ground_truth(root / "gt", window_labels, delay=timedelta(0))
    extra = ["edge-start", "edge-end", "edge-after", "edge-before", "too-wide", "captured-twice"]
    extra += [f"b64-{i}" for i in range(40)] + ["age-not-a-number", "age-not-whole"]
    flipped = window_labels.ids[5]
    gt_hour = root / "gt" / cf.hour_folder(WINDOW)
    with (gt_hour / "zz-late.jsonl").open("w") as handle:  # read after the first labels file
        handle.writelines(_label(event_id, 1) for event_id in extra)
        handle.write("not a label line\n")
        handle.write(_label(flipped, 1 - int(window_labels.labels[5])))  # the later label wins
        handle.write(_label("captured-twice", 0))  # and within one file, the later line
    return {"unlabelled": len(unlabelled)}


@pytest.fixture(scope="module")
def capture_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("capture-window")
    facts = _write_window(root)
    baseline = run_monitoring_execution(
        _definition(root), WINDOW, data_capture_uri=str(root / "capture"), output=str(root / "baseline")
    )
    assert baseline.status == "Completed", baseline.failure_reason
    (root / "facts.json").write_text(json.dumps(facts))
    return root


def _close(a, b, path="") -> None:
    """Equal JSON, except floats within the Spark backend's tolerance (docs/scale-out.md: GE, 1e-12)."""
    if isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-12, abs=0), path
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{index}]")
    else:
        assert a == b, path


def _assert_same_execution(local: Path, other: Path) -> dict:
    assert sorted(p.name for p in other.iterdir()) == sorted(p.name for p in local.iterdir())
    summaries = [json.loads((d / "monitoring_execution.json").read_text()) for d in (local, other)]
    for summary in summaries:
        for key in PATH_KEYS:
            summary.pop(key)
    assert summaries[1] == summaries[0]
    for name in {"analysis.json", "constraint_violations.json"} & {p.name for p in local.iterdir()}:
        _close(json.loads((local / name).read_text()), json.loads((other / name).read_text()), name)
    return summaries[0]


def test_capture_window_on_the_cluster_equals_the_single_machine_execution(spark, capture_root):
    definition = _definition(capture_root, baseline=str(capture_root / "baseline" / "analysis.json"))
    capture = str(capture_root / "capture")
    local = run_monitoring_execution(
        definition, SCHEDULED, data_capture_uri=capture, output=str(capture_root / "local")
    )
    on_spark = run_monitoring_execution_spark(
        spark, definition, SCHEDULED, data_capture_uri=capture, output=str(capture_root / "spark")
    )
    assert local.status == on_spark.status == "CompletedWithViolations", on_spark.failure_reason
    summary = _assert_same_execution(capture_root / "local", capture_root / "spark")
    # what the window holds, so the equality above compared the cases it is meant to
    facts = json.loads((capture_root / "facts.json").read_text())
    capture_stats = summary["capture"]
    assert capture_stats["files"] == PIECES
    assert capture_stats["records_outside_window"] == 2  # 22:59:59 and 00:00:00
    # JSON, BASE64, the labelled wide request, then age "n/a" and "47.5" after the first 65,536 rows
    assert capture_stats["malformed_lines"] == 5
    examples = "\n".join(capture_stats["malformed_examples"])
    assert "JSONDecodeError" in examples
    assert "6 values for 5 columns" in examples
    assert "'n/a' is not a whole number" in examples
    assert summary["ground_truth"]["malformed_lines"] == 1
    assert (
        summary["ground_truth"]["unlabelled_records"] == facts["unlabelled"] + 1
    )  # + the unlabelled wide one
    assert summary["records"] == RECORDS - facts["unlabelled"] + 2 + 2 + 40  # + edges in, twice, BASE64
    assert len(summary["violations"]) > 0


def test_monitor_cli_backend_spark(capture_root, tmp_path):
    baseline = str(capture_root / "baseline" / "analysis.json")
    definition = traffic_support.write_json(tmp_path / "jobdef.json", _definition(capture_root, baseline))
    done = subprocess.run(
        [
            sys.executable, "-m", "airflow_provider_clarify.engine", "monitor",
            "--backend", "spark", "--spark-master", "local[2]",
            "--job-definition", str(definition), "--scheduled-time", SCHEDULED.isoformat(),
            "--data-capture-uri", str(capture_root / "capture"), "--output", str(tmp_path / "spark"),
            "--staging-uri", str(tmp_path / "staging"), "--log-level", "WARNING",
        ],
        capture_output=True, text=True, env=spark_env(), cwd=REPO_ROOT, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 5, done.stderr[-3000:]  # CompletedWithViolations
    assert json.loads(done.stdout)["status"] == "CompletedWithViolations"
    assert not (tmp_path / "staging").exists()  # the merged records were removed
    run_monitoring_execution(
        _definition(capture_root, baseline), SCHEDULED, data_capture_uri=str(capture_root / "capture"),
        output=str(tmp_path / "local"),
    )  # fmt: skip
    _assert_same_execution(tmp_path / "local", tmp_path / "spark")


def test_feature_attribution_drift_is_refused_on_spark_before_anything_runs(tmp_path, capsys):
    definition = {
        "JobDefinitionName": "explain",
        "ModelExplainabilityAppSpecification": {"ImageUri": "img", "ConfigUri": str(tmp_path / "missing.json")},
        "ModelExplainabilityJobInput": {"EndpointInput": {"EndpointName": traffic_support.ENDPOINT}},
        "ModelExplainabilityJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": str(tmp_path / "r")}}]},
    }  # fmt: skip
    with pytest.raises(SparkMonitoringError, match="Kernel SHAP") as raised:
        run_monitoring_execution(definition, SCHEDULED, output=str(tmp_path / "out"), spark=object())
    assert raised.value.field == "--backend"
    path = traffic_support.write_json(tmp_path / "explain.json", definition)
    status = monitor_main(
        ["--backend", "spark", "--spark-master", "spark://127.0.0.1:9", "--job-definition", str(path),
         "--scheduled-time", SCHEDULED.isoformat(), "--output", str(tmp_path / "cli")]
    )  # fmt: skip
    assert status == 2  # no session was started: the master's port is closed
    assert "ModelExplainability monitoring" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "cli").exists()


def test_capture_window_from_s3_with_s3_staging(spark, tmp_path, moto_endpoint, s3_client, capsys):
    """Capture, ground truth, config, output and the executors' staging all on S3 (moto), through the
    CLI on the cluster's session: the single machine's files, and nothing else left under the output."""
    data = traffic_support.make_traffic(3000, T0, timedelta(hours=1), seed=21)
    traffic_support.write_capture(tmp_path / "capture", data)
    traffic_support.write_ground_truth(tmp_path / "gt", data, delay=timedelta(0))
    with next((tmp_path / "capture").rglob("*.jsonl")).open("a") as handle:
        handle.write("{not json\n")
    definition = _definition(tmp_path)
    for path in tmp_path.rglob("*.json*"):
        s3_client.upload_file(str(path), BUCKET, f"in/{path.relative_to(tmp_path)}")
    definition["ModelBiasAppSpecification"]["ConfigUri"] = f"s3://{BUCKET}/in/config/analysis_config.json"
    definition["ModelBiasJobInput"]["GroundTruthS3Input"]["S3Uri"] = f"s3://{BUCKET}/in/gt"
    path = traffic_support.write_json(tmp_path / "jobdef.json", definition)
    status = monitor_main(
        ["--backend", "spark", "--job-definition", str(path), "--scheduled-time", WINDOW.isoformat(),
         "--data-capture-uri", f"s3://{BUCKET}/in/capture", "--output", f"s3://{BUCKET}/out/spark",
         "--endpoint-url", moto_endpoint, "--log-level", "WARNING"]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err[-3000:]
    run_monitoring_execution(
        definition, WINDOW, data_capture_uri=f"s3://{BUCKET}/in/capture", output=str(tmp_path / "local"),
        endpoint_url=moto_endpoint,
    )  # fmt: skip
    listed = s3_client.list_objects_v2(Bucket=BUCKET, Prefix="out/spark/")["Contents"]
    names = sorted(item["Key"].removeprefix("out/spark/") for item in listed)
    assert names == ["analysis.json", "monitoring_execution.json", "report.html"]  # staging removed
    for name in names:
        s3_client.download_file(BUCKET, f"out/spark/{name}", str(tmp_path / f"spark-{name}"))
    (tmp_path / "spark").mkdir()
    for name in names:
        (tmp_path / f"spark-{name}").rename(tmp_path / "spark" / name)
    summary = _assert_same_execution(tmp_path / "local", tmp_path / "spark")
    assert summary["capture"]["malformed_lines"] == 1
    assert summary["records"] == 3000
