"""Whole-DAG run of dags/clarify_uncertainty_audit.py with dag.test(): intervals, the scan, and a gate
that follows its inconclusive branch for the tiny group."""

from __future__ import annotations

import json
from pathlib import Path

import pendulum
import pytest

from tests.support.dag_runs import bundled_dag, folder_with, task_states as states
from tests.support.paths import DAGS_DIR

DAG_FILE = DAGS_DIR / "clarify_uncertainty_audit.py"
DAG_ID = "clarify_uncertainty_audit"


@pytest.fixture(scope="module")
def dag_folder(tmp_path_factory) -> Path:
    return folder_with(tmp_path_factory, DAG_FILE, "uncertainty-dags")


@pytest.fixture
def uncertainty_dag(dag_folder, airflow_db, monkeypatch):
    return bundled_dag(monkeypatch, dag_folder, DAG_ID, bundle_name="uncertainty-dags")


def test_the_tiny_group_is_inconclusive_and_the_scan_finds_the_interaction(uncertainty_dag, tmp_path):
    output = tmp_path / "out"
    run = uncertainty_dag.test(
        logical_date=pendulum.datetime(2024, 3, 2, tz="UTC"), run_conf={"output_dir": str(output)}
    )
    assert states(run) == {
        "prepare_data": "success",
        "bias_audit": "success",
        "fairness_gate": "success",
        "deploy_model": "skipped",
        "alert_fairness_team": "skipped",
        "review_small_groups": "success",
        "summary": "success",
    }
    (run_dir,) = (output / "runs").iterdir()
    folder = run_dir / "bias_audit"
    assert not (folder / "constraint_violations.json").exists()
    gate = next(ti for ti in run.get_task_instances() if ti.task_id == "fairness_gate")
    (finding,) = gate.xcom_pull(task_ids="fairness_gate", key="inconclusive")
    assert (finding["facet"], finding["group"], finding["reason"]) == ("gender", "other", "small_group")
    assert finding["group_size"] == 30
    scan = json.loads((folder / "intersectional_bias.json").read_text())
    assert scan["scan"]["groups"][0]["group"] == {"gender": "female", "age": "(60, inf)"}
    intervals = json.loads((folder / "confidence_intervals.json").read_text())
    assert intervals["seed"] == 1
    html = (folder / "report.html").read_text()
    assert '<section id="confidence-intervals">' in html
    assert 'class="errorbar"' in html  # the error bars of the operator option
    audit = next(ti for ti in run.get_task_instances() if ti.task_id == "bias_audit")
    # The operator's XCom is what it is without the options: the analysis_result folder.
    assert audit.xcom_pull(task_ids="bias_audit") == str(folder)
    assert audit.xcom_pull(task_ids="bias_audit", key="analysis_config_uri") == str(
        folder / "analysis_config.json"
    )
    assert "confidence_intervals" not in json.loads((folder / "analysis.json").read_text())
    assert '<section id="intersections">' in html
