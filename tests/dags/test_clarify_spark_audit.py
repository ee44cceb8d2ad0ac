"""Whole-DAG run of dags/clarify_spark_audit.py with dag.test(): the Spark backend on ``local[1]``
writes the same analysis.json as the single-machine engine for the DAG's own config."""

from __future__ import annotations

import json
from pathlib import Path

import pendulum
import pytest

from tests.support.dag_runs import bundled_dag, folder_with, task_states as states
from tests.support.paths import DAGS_DIR, GOLDEN_DIR

pytest.importorskip("pyspark", reason="the 'spark' extra is part of `make test`")

DAG_FILE = DAGS_DIR / "clarify_spark_audit.py"
DAG_ID = "clarify_spark_audit"
DATASET = GOLDEN_DIR / "synthetic_credit.csv"


@pytest.fixture(scope="module")
def dag_folder(tmp_path_factory) -> Path:
    return folder_with(tmp_path_factory, DAG_FILE, "spark-dags")


def test_the_weekly_spark_audit_equals_the_single_machine_engine(dag_folder, airflow_db, monkeypatch, tmp_path):
    from airflow_provider_clarify.engine import run_analysis

    dag = bundled_dag(monkeypatch, dag_folder, DAG_ID, bundle_name="spark-dags")
    monkeypatch.setenv("SPARK_MASTER", "local[1]")
    monkeypatch.setenv("CLARIFY_SPARK_DATASET", str(DATASET))
    monkeypatch.setenv("CLARIFY_SPARK_OUTPUT", str(tmp_path / "spark"))
    run = dag.test(logical_date=pendulum.datetime(2026, 3, 2, tz="UTC"))
    assert states(run) == {"bias_audit_on_spark": "success"}

    (folder,) = (tmp_path / "spark").iterdir()
    config = dag.get_task("bias_audit_on_spark").python_callable.__globals__["ANALYSIS_CONFIG"]
    single = Path(run_analysis(config, str(DATASET), str(tmp_path / "single")))
    assert json.loads((folder / "analysis.json").read_text()) == json.loads(single.read_text())
    assert (folder / "report.html").is_file()
