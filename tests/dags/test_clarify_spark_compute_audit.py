"""dags/clarify_spark_compute_audit.py under ``dag.test()``: ``ClarifyBiasOperator(compute="spark")``
submits the audit to the real standalone cluster (a master and two workers on 127.0.0.1, the fixture
of tests/unit/engine/spark/conftest.py), through the apache-spark provider's ``spark`` connection
(``spark-submit``), and through a ``spark_connect`` connection to a Spark Connect server started from
pyspark's own jars on the same cluster. Each run must write what the single-machine engine writes
for the config the operator composed, hand the same XCom downstream, and feed the gate.

The DAG's ``ClarifyExplainabilityOperator(compute="spark")`` explains the same data with a trusted
joblib artifact (a scikit-learn pipeline trained here on the golden data) given as ``local_model``:
its ``analysis.json`` explanations and ``explanations_shap/`` files must equal what
``compute="local"`` (:func:`run_local_analysis`, same config, same artifact) writes.

Also run for real: a kill while the application runs (on_kill stops spark-submit, its Python driver
and the cluster application; no analysis.json), and a configuration the engine rejects on the
cluster (exit status 2: ClarifyInvalidConfigException, no retry, no analysis_config.json).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pendulum
import pytest

from tests.support.dag_runs import bundled_dag, folder_with, task_states, xcom
from tests.support.paths import DAGS_DIR, GOLDEN_DIR

pytest.importorskip("pyspark", reason="the 'spark' extra is part of `make test`")
pytest.importorskip("airflow.providers.apache.spark", reason="the 'spark' extra installs the provider")

# the one cluster fixture of the Spark tests
from tests.unit.engine.spark.conftest import (
    _free_port,
    spark_cluster,  # noqa: F401
    spark_env,
    spark_home,
)

DAG_FILE = DAGS_DIR / "clarify_spark_compute_audit.py"
DAG_ID = "clarify_spark_compute_audit"
DATASET = GOLDEN_DIR / "synthetic_credit.csv"
LOGICAL_DATE = pendulum.datetime(2026, 3, 2, tz="UTC")
CONN_ENV = "AIRFLOW_CONN_CLARIFY_SPARK"
#: Little memory and one core per executor, so two applications fit on the two one-core workers.
SPARK_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.driver.memory": "512m",
    "spark.executor.memory": "512m",
    "spark.executor.cores": "1",
    "spark.cores.max": "1",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "2",
    "spark.pyspark.python": sys.executable,
}


@pytest.fixture(scope="module")
def dag_folder(tmp_path_factory) -> Path:
    return folder_with(tmp_path_factory, DAG_FILE, "spark-compute-dags")


@pytest.fixture
def spark_submit_env(monkeypatch, tmp_path, spark_cluster):  # noqa: F811
    """spark-submit on the PATH (pyspark's), light defaults in $SPARK_CONF_DIR, a ``spark`` connection."""
    conf_dir = tmp_path / "spark-conf"
    conf_dir.mkdir()
    (conf_dir / "spark-defaults.conf").write_text("".join(f"{k} {v}\n" for k, v in SPARK_DEFAULTS.items()))
    for key, value in spark_env().items():
        if key in ("SPARK_HOME", "SPARK_LOCAL_IP", "PYSPARK_PYTHON"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("SPARK_CONF_DIR", str(conf_dir))
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    host, port = spark_cluster.master_url.removeprefix("spark://").rsplit(":", 1)
    monkeypatch.setenv(
        CONN_ENV,
        json.dumps({"conn_type": "spark", "host": f"spark://{host}", "port": int(port), "extra": {}}),
    )
    assert shutil.which("spark-submit") == str(Path(sys.executable).parent / "spark-submit")
    return spark_cluster


@pytest.fixture(scope="module")
def model_artifact(tmp_path_factory) -> Path:
    """A scikit-learn pipeline trained on the golden applicant columns, saved with joblib."""
    import joblib
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.read_csv(DATASET)
    features = frame[["sex", "age", "job", "housing", "credit_amount", "duration"]].to_numpy(dtype=object)
    columns = ColumnTransformer(
        [("categories", OneHotEncoder(handle_unknown="ignore"), [0, 2, 3])], remainder="passthrough"
    )
    model = make_pipeline(columns, LogisticRegression(max_iter=1000)).fit(features, frame["approved"])
    path = tmp_path_factory.mktemp("spark-compute-model") / "model.joblib"
    joblib.dump(model, path)
    return path


def _audit_dag(monkeypatch, dag_folder, output: Path, model: Path):
    monkeypatch.setenv("CLARIFY_SPARK_DATASET", str(DATASET))
    monkeypatch.setenv("CLARIFY_SPARK_OUTPUT", str(output))
    monkeypatch.setenv("CLARIFY_SPARK_MODEL", str(model))
    return bundled_dag(monkeypatch, dag_folder, DAG_ID, bundle_name="spark-compute-dags")


def _check_explanations(run, output: Path, model: Path, tmp_path: Path) -> None:
    """The Spark run's explanations equal compute="local"'s for the same config and artifact."""
    from airflow_provider_clarify.operators.local_compute import run_local_analysis
    from tests.unit.engine.spark.test_explain import _assert_same_explanations

    folder = output / "2026-03-02" / "explanations"
    assert xcom(run, "explain") == str(folder)
    assert xcom(run, "explain", "job_name").startswith("Clarify-Explainability-")
    config = json.loads((folder / "analysis_config.json").read_text())
    assert set(config["methods"]) == {"shap", "pdp", "report"}
    local = tmp_path / "local-explanations"
    run_local_analysis(
        config,
        str(DATASET),
        str(local),
        aws_conn_id=None,
        local_model={"artifact": str(model), "format": "joblib", "trust": True},
    )
    expected = json.loads((local / "analysis.json").read_text())["explanations"]
    assert any(block.get("global_shap_values") for block in expected["kernel_shap"].values())
    assert len(expected["pdp"]) == 2
    _assert_same_explanations(local, folder)
    assert (folder / "explanations_shap" / "out.csv").read_text() == (
        local / "explanations_shap" / "out.csv"
    ).read_text()


def _check_audit(run, output: Path, tmp_path: Path) -> None:
    """The run's files equal the single-machine engine's for the composed config; XCom as elsewhere."""
    from airflow_provider_clarify.engine import run_analysis

    assert task_states(run) == {"bias_audit": "success", "fairness_gate": "success", "explain": "success"}
    folder = output / "2026-03-02"
    assert xcom(run, "bias_audit") == str(folder)
    assert xcom(run, "bias_audit", "analysis_config_uri") == str(folder / "analysis_config.json")
    assert xcom(run, "bias_audit", "job_arn") is None
    assert xcom(run, "bias_audit", "job_name").startswith("Clarify-Bias-")
    config = json.loads((folder / "analysis_config.json").read_text())
    assert set(config["methods"]) == {"pre_training_bias", "post_training_bias", "report"}
    single = Path(run_analysis(config, str(DATASET), str(tmp_path / "single")))
    assert json.loads((folder / "analysis.json").read_text()) == json.loads(single.read_text())
    assert (folder / "report.html").stat().st_size > 1000
    # the gate read the result the XCom pointed to: the golden data's DI is outside [0.8, 1.25]
    violations = xcom(run, "fairness_gate", "violations")
    assert violations is not None
    assert "DI" in {v["metric"] for v in violations}


def test_spark_submit_runs_the_audit_on_the_standalone_cluster(
    dag_folder, airflow_db, monkeypatch, tmp_path, spark_submit_env, model_artifact
):
    dag = _audit_dag(monkeypatch, dag_folder, tmp_path / "out", model_artifact)
    run = dag.test(logical_date=LOGICAL_DATE)
    _check_audit(run, tmp_path / "out", tmp_path)
    _check_explanations(run, tmp_path / "out", model_artifact, tmp_path)
    # the application ran on the cluster (not in a local master) and has finished
    apps = spark_submit_env.status()
    assert any(a["name"].startswith("Clarify-Bias-") for a in apps["completedapps"]), apps
    assert not any(a["name"].startswith("Clarify-Bias-") for a in apps["activeapps"])


@pytest.fixture
def connect_server(spark_submit_env, tmp_path):
    """A Spark Connect server (pyspark's jars, no download) whose executors run on the cluster."""
    port = _free_port()
    log = tmp_path / "connect-server.log"
    env = {**os.environ}
    command = [
        str(spark_home() / "bin" / "spark-submit"),
        "--class",
        "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--master",
        spark_submit_env.master_url,
        "--name",
        "clarify-connect-server",
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
        "--conf",
        "spark.connect.grpc.binding.address=127.0.0.1",
        "spark-internal",
    ]
    server = subprocess.Popen(
        command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        import socket

        for _ in range(1200):  # 0.2 s apart: the JVM starts slowly on a loaded machine
            if server.poll() is not None:
                pytest.fail(f"the Connect server exited: {log.read_text()[-3000:]}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail(f"the Connect server did not listen: {log.read_text()[-3000:]}")
        yield port, log
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def test_spark_connect_runs_the_same_dag(
    dag_folder, airflow_db, monkeypatch, tmp_path, connect_server, model_artifact
):
    port, server_log = connect_server
    monkeypatch.setenv(
        CONN_ENV, json.dumps({"conn_type": "spark_connect", "host": "127.0.0.1", "port": port})
    )
    dag = _audit_dag(monkeypatch, dag_folder, tmp_path / "out", model_artifact)
    run = dag.test(logical_date=LOGICAL_DATE)
    _check_audit(run, tmp_path / "out", tmp_path)
    # the run went through the server (not a Spark of the client's own): a session, the shipped package
    log = server_log.read_text()
    assert "SessionHolder: Session with userId" in log
    assert "pyfiles/airflow_provider_clarify.zip" in log


def _operator(output: Path, **overrides):
    from airflow_provider_clarify.operators.clarify import ClarifyBiasOperator

    arguments = {
        "task_id": "bias_audit",
        "compute": "spark",
        "spark_conn_id": "clarify_spark",
        "data_config": {
            "s3_data_input_path": str(DATASET),
            "s3_output_path": str(output),
            "label": "approved",
            "predicted_label": "predicted",
            "dataset_type": "text/csv",
        },
        "bias_config": {
            "label_values_or_threshold": [1],
            "facet_name": "sex",
            "facet_values_or_threshold": ["female"],
        },
    }
    arguments.update(overrides)
    return ClarifyBiasOperator(**arguments)


def _live_group_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are not zombies (read from /proc, independently of the code)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if state != "Z" and int(pgrp) == pgid:
            members.append(int(stat.parent.name))
    return members


class _TaskInstance:
    dag_id, task_id, run_id, map_index = "spark_kill", "bias_audit", "manual__1", -1

    def xcom_push(self, key, value):
        pass


def test_on_kill_stops_spark_submit_its_driver_and_the_application(tmp_path, spark_submit_env):
    """A real kill mid-run: nothing of the run is left (processes, cluster application, analysis.json)."""
    operator = _operator(tmp_path / "out", do_xcom_push=False)
    outcome: dict = {}

    def execute():
        try:
            outcome["result"] = operator.execute({"ti": _TaskInstance()})
        except BaseException as err:  # what the task would fail with
            outcome["error"] = err

    worker = threading.Thread(target=execute)
    worker.start()
    # wait until the application runs on the cluster, then kill the task
    for _ in range(1200):
        running = [
            a for a in spark_submit_env.status()["activeapps"] if a["name"].startswith("Clarify-Bias-")
        ]
        if running or not worker.is_alive():
            break
        time.sleep(0.2)
    assert running, outcome
    submit = operator._spark_run.hook._submit_sp
    operator.on_kill()
    worker.join(120)
    assert not worker.is_alive()

    from airflow_provider_clarify.operators.spark_compute import SparkAnalysisError

    assert isinstance(outcome.get("error"), SparkAnalysisError), outcome
    assert "was stopped: the task was killed" in str(outcome["error"])
    assert submit.poll() is not None
    assert _live_group_members(submit.pid) == []  # spark-submit's JVM and the Python driver it started
    for _ in range(300):
        apps = spark_submit_env.status()
        if not any(a["name"].startswith("Clarify-Bias-") for a in apps["activeapps"]):
            break
        time.sleep(0.2)
    assert not any(a["name"].startswith("Clarify-Bias-") for a in apps["activeapps"]), apps
    assert not (tmp_path / "out" / "analysis.json").exists()
    assert not (tmp_path / "out" / "analysis_config.json").exists()


def test_a_config_the_engine_rejects_fails_without_retry(tmp_path, spark_submit_env):
    """The driver exits with the engine's configuration status (2): the task fails for good."""
    from airflow_provider_clarify.operators.clarify import ClarifyInvalidConfigException
    from airflow_provider_clarify.operators.spark_compute import SparkAnalysisConfigError

    operator = _operator(
        tmp_path / "out",
        do_xcom_push=False,
        bias_config={
            "label_values_or_threshold": [1],
            "facet_name": "gender",
            "facet_values_or_threshold": ["f"],
        },
    )
    with pytest.raises(ClarifyInvalidConfigException) as caught:
        operator.execute({"ti": _TaskInstance()})
    assert isinstance(caught.value.__cause__, SparkAnalysisConfigError)
    assert caught.value.__cause__.exit_code == 2
    assert "column 'gender' is not in the dataset" in str(caught.value)
    assert not (tmp_path / "out" / "analysis_config.json").exists()
    assert not (tmp_path / "out" / "analysis.json").exists()
