"""The hourly monitoring DAG (``dags/clarify_monitoring_hourly.py``) runs offline under ``dag.test()``.

A local model server (SageMaker hosting contract) answers every request; a capturing front writes
SageMaker data capture; labels land an hour later. A normal hour passes the drift gate, an hour in
which the served population shifts fails it with the violations in XCom.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime, timedelta

import pendulum
import pytest

from airflow_provider_clarify.engine.monitoring import run_monitoring_execution
from tests.support import monitoring as traffic_support
from tests.support.dag_runs import bundled_dag, task_states
from tests.support.model_server import ModelServer
from tests.support.paths import DAGS_DIR

DAG_ID = "clarify_monitoring_hourly"
HOUR_A = datetime(2024, 5, 1, 9, tzinfo=UTC)  # baseline hour
HOUR_B = HOUR_A + timedelta(hours=1)  # normal traffic
HOUR_C = HOUR_A + timedelta(hours=2)  # the served population shifts


def serve(endpoint, data) -> None:
    for row, when, inference_id in zip(data.features, data.times, data.ids, strict=True):
        endpoint.invoke(f"{int(row[0])},{int(row[1])},{row[2]:g}", when, inference_id)


@pytest.fixture
def monitored_endpoint(tmp_path, monkeypatch, airflow_db):
    root = tmp_path / "monitoring"
    monkeypatch.setenv("CLARIFY_MONITOR_ROOT", str(root))
    with ModelServer(traffic_support.score) as server:
        endpoint = traffic_support.CapturingEndpoint(server.url, root / "capture")
        hours = [
            traffic_support.make_traffic(700, HOUR_A, timedelta(hours=1), seed=11),
            traffic_support.make_traffic(700, HOUR_B, timedelta(hours=1), seed=12),
            traffic_support.make_traffic(700, HOUR_C, timedelta(hours=1), seed=13, shift=15),
        ]
        for data in hours:
            serve(endpoint, data)
            traffic_support.write_ground_truth(root / "ground-truth", data, delay=timedelta(hours=1))
        calls = server.calls
    dag = bundled_dag(
        monkeypatch, DAGS_DIR, DAG_ID, bundle_name="example-dags", parse=DAGS_DIR / f"{DAG_ID}.py"
    )
    spec = importlib.util.spec_from_file_location("monitoring_dag", DAGS_DIR / f"{DAG_ID}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    baseline = run_monitoring_execution(
        module.job_definition() | {"ModelBiasBaselineConfig": {}},
        HOUR_A + timedelta(hours=2),
        data_capture_uri=str(root / "capture"),
        output=str(root / "baseline"),
    )
    assert baseline.status == "Completed", baseline.failure_reason
    return dag, root, calls


def test_normal_hour_passes_and_shifted_population_fails_the_gate(monitored_endpoint):
    dag, root, calls = monitored_endpoint
    assert calls == 2100  # every request went through the model server

    normal = dag.test(logical_date=pendulum.instance(HOUR_B + timedelta(hours=2)))
    assert normal.state == "success", task_states(normal)
    result = json.loads((root / "results" / "2024/05/01/11" / "monitoring_execution.json").read_text())
    assert result["window_start"] == HOUR_B.isoformat()
    assert result["records"] == 700
    assert result["status"] in ("Completed", "CompletedWithViolations")  # Model Monitor's literal rule

    shifted = dag.test(logical_date=pendulum.instance(HOUR_C + timedelta(hours=2)))
    assert shifted.state == "failed"
    assert task_states(shifted) == {"monitor_bias": "success", "bias_drift_gate": "failed"}
    ti = shifted.get_task_instance("bias_drift_gate")
    gate_violations = ti.xcom_pull(task_ids="bias_drift_gate", key="violations")
    assert {v["metric"] for v in gate_violations} & {"DPPL", "DI", "DPL"}
    monitor_ti = shifted.get_task_instance("monitor_bias")
    assert (
        monitor_ti.xcom_pull(task_ids="monitor_bias", key="monitoring_execution_status")
        == "CompletedWithViolations"
    )
    assert monitor_ti.xcom_pull(task_ids="monitor_bias", key="violations")  # pushed before the gate ran
    report = (
        root / "results" / "2024/05/01/12" / "constraint_violations.json"
    )  # the gate's, next to the result
    assert {v["metric_name"] for v in json.loads(report.read_text())["violations"]} == {
        v["metric"] for v in gate_violations
    }
