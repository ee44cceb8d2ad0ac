"""Whole-DAG runs of dags/clarify_gated_deployment.py with dag.test(): fair -> deploy, biased -> alert.

The DAG file is copied into its own folder and a LocalDagBundle points at it (tests/support/dag_runs.py),
so dag.test() can serialise it; the run uses local compute (no AWS).
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pendulum
import pytest

from tests.support.dag_runs import bundled_dag, folder_with, task_states as states
from tests.support.paths import DAGS_DIR
from tests.unit.analysis.test_checks import CONSTRAINT_VIOLATIONS_SCHEMA

DAG_FILE = DAGS_DIR / "clarify_gated_deployment.py"
DAG_ID = "clarify_gated_deployment"


@pytest.fixture(scope="module")
def dag_folder(tmp_path_factory) -> Path:
    return folder_with(tmp_path_factory, DAG_FILE, "gated-dags")


@pytest.fixture
def gated_dag(dag_folder, airflow_db, monkeypatch):
    return bundled_dag(monkeypatch, dag_folder, DAG_ID, bundle_name="gated-deployment-dags")


def run_dir(output: Path) -> Path:
    (folder,) = (output / "runs").iterdir()
    return folder


def test_dag_shape(gated_dag):
    gate = gated_dag.get_task("fairness_gate")
    assert gate.downstream_task_ids == {"deploy_model", "alert_fairness_team"}
    assert gated_dag.get_task("bias_audit").compute == "local"


def test_fair_model_is_deployed(gated_dag, tmp_path):
    output = tmp_path / "out"
    run = gated_dag.test(
        logical_date=pendulum.datetime(2024, 3, 1, tz="UTC"),
        run_conf={"bias_strength": 0.0, "output_dir": str(output)},
    )
    assert states(run) == {
        "prepare_data": "success",
        "train_model": "success",
        "bias_audit": "success",
        "fairness_gate": "success",
        "deploy_model": "success",
        "alert_fairness_team": "skipped",
    }
    folder = run_dir(output)
    analysis = json.loads((folder / "bias_audit" / "analysis.json").read_text())
    metrics = {
        m["name"]: m["value"]
        for m in analysis["post_training_bias_metrics"]["facets"]["gender"][0]["metrics"]
    }
    assert 0.8 <= metrics["DI"] <= 1.25
    assert -0.1 <= metrics["DPPL"] <= 0.1
    assert not (folder / "bias_audit" / "constraint_violations.json").exists()
    assert not (folder / "ALERT.json").exists()
    (deployed,) = (output / "registry" / "clarify-gated-model").iterdir()
    assert (deployed / "model.joblib").read_bytes() == (folder / "model" / "model.joblib").read_bytes()
    card = json.loads((deployed / "model_card.json").read_text())
    assert card["fairness_gate"] == "passed"
    assert card["bias_report"] == str(folder / "bias_audit" / "analysis.json")


def test_biased_model_is_blocked_with_a_violations_file(gated_dag, tmp_path):
    output = tmp_path / "out"
    run = gated_dag.test(
        logical_date=pendulum.datetime(2024, 3, 2, tz="UTC"),
        run_conf={"bias_strength": 1.5, "output_dir": str(output)},
    )
    assert states(run) == {
        "prepare_data": "success",
        "train_model": "success",
        "bias_audit": "success",
        "fairness_gate": "success",
        "deploy_model": "skipped",
        "alert_fairness_team": "success",
    }
    folder = run_dir(output)
    report = json.loads((folder / "bias_audit" / "constraint_violations.json").read_text())
    jsonschema.validate(report, CONSTRAINT_VIOLATIONS_SCHEMA)
    assert {(v["facet"], v["facet_value"], v["metric_name"]) for v in report["violations"]} >= {
        ("gender", "female", "DI")
    }
    alert = json.loads((folder / "ALERT.json").read_text())
    assert alert["blocked"] is True
    assert alert["violation_report"] == str(folder / "bias_audit" / "constraint_violations.json")
    di = next(v for v in alert["violations"] if v["metric"] == "DI")
    assert di["value"] < 0.8
    assert di["bound"] == "[0.8, 1.25]"
    assert not (output / "registry").exists()
