"""The EMR Serverless and Databricks recipes (dags/clarify_spark_emr_serverless.py,
dags/clarify_spark_databricks.py): their staging task runs for real against moto's S3 through the
``aws`` connection, and what it hands the service's operator is the job that
``compute="spark"`` would submit (the plan's config, the driver application, the package zip)."""

from __future__ import annotations

import importlib.util
import json
import zipfile

import boto3

from tests.support.aws import REGION
from tests.support.dag_runs import bundled_dag, folder_with
from tests.support.paths import DAGS_DIR

RUN_ID = "scheduled__2026-03-02T00:00:00+00:00"


def _load(name: str, monkeypatch, bucket: str):
    monkeypatch.setenv("CLARIFY_EMR_BUCKET", bucket)
    monkeypatch.setenv("CLARIFY_DATABRICKS_BUCKET", bucket)
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", DAGS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _object(moto_endpoint: str, uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_emr_serverless_recipe_stages_the_compute_spark_job(monkeypatch, s3_bucket, moto_endpoint, tmp_path):
    from airflow_provider_clarify.operators._spark_driver import parse
    from airflow_provider_clarify.operators.spark_compute import make_spark_plan

    recipe = _load("clarify_spark_emr_serverless", monkeypatch, s3_bucket)
    driver = (
        recipe.clarify_spark_emr_serverless()
        .get_task("stage_audit")
        .python_callable(ds="2026-03-02", run_id=RUN_ID)["sparkSubmit"]
    )

    options, engine = parse(driver["entryPointArguments"])
    assert options.app_name.startswith("Clarify-Bias-")
    config_uri = engine[engine.index("--analysis-config") + 1]
    assert config_uri == f"s3://{s3_bucket}/clarify/staging/{options.app_name}/analysis_config.json"
    expected = make_spark_plan("bias", recipe.audit_arguments("2026-03-02")).config
    assert json.loads(_object(moto_endpoint, config_uri)) == expected
    assert engine[engine.index("--output") + 1] == f"s3://{s3_bucket}/clarify/emr-serverless/2026-03-02"
    assert b"_spark_driver" in _object(moto_endpoint, driver["entryPoint"])

    parameters = driver["sparkSubmitParameters"].split()
    package_uri = parameters[parameters.index("--py-files") + 1]
    (tmp_path / "pkg.zip").write_bytes(_object(moto_endpoint, package_uri))
    assert (
        "airflow_provider_clarify/operators/_spark_driver.py"
        in zipfile.ZipFile(tmp_path / "pkg.zip").namelist()
    )
    assert "spark.emr-serverless.driverEnv.PYSPARK_PYTHON=./environment/bin/python" in parameters


def test_emr_serverless_dag_hands_the_staged_driver_to_the_amazon_operator(
    airflow_db, monkeypatch, tmp_path_factory
):
    folder = folder_with(tmp_path_factory, DAGS_DIR / "clarify_spark_emr_serverless.py", "emr-recipe")
    dag = bundled_dag(monkeypatch, folder, "clarify_spark_emr_serverless", bundle_name="emr-recipe")
    audit = dag.get_task("bias_audit")
    assert type(audit).__name__ == "EmrServerlessStartJobOperator"
    assert audit.job_driver.operator.task_id == "stage_audit"  # the XCom of the staging task
    assert dag.get_task("fairness_gate").upstream_task_ids == {"bias_audit"}


def test_databricks_recipe_imports_without_its_provider_and_stages_a_python_task(
    monkeypatch, s3_bucket, moto_endpoint
):
    from airflow_provider_clarify.operators._spark_driver import parse

    recipe = _load("clarify_spark_databricks", monkeypatch, s3_bucket)
    if importlib.util.find_spec("airflow.providers.databricks") is None:
        assert recipe.DatabricksSubmitRunOperator is None
        assert not hasattr(recipe, "clarify_spark_databricks")  # no DAG, no import error
    task = recipe.stage_audit.function(ds="2026-03-02", run_id=RUN_ID)
    options, engine = parse(task["parameters"])
    config = json.loads(_object(moto_endpoint, engine[engine.index("--analysis-config") + 1]))
    assert config["label"] == "approved"
    assert b"_spark_driver" in _object(moto_endpoint, task["python_file"])
    request = recipe.submit_run_json(task, "2026-03-02")
    (spec,) = request["tasks"]
    assert spec["spark_python_task"] == task
    assert spec["libraries"] == [{"pypi": {"package": "airflow-provider-clarify[engine]"}}]
    assert options.ship_package is False  # the package is a cluster library on Databricks
