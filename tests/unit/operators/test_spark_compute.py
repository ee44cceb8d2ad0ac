"""compute="spark" without a cluster: the plan's checks (against the engine's own rule), parse-time
errors, the spark-submit command the provider's real SparkSubmitHook builds from our arguments, the
Spark Connect client's command, the shipped package, and the process handling (exit status, time-out,
kill) with a stand-in ``spark-submit`` executable on the PATH. The runs on the real standalone cluster
are in tests/dags/test_clarify_spark_compute_audit.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from airflow_provider_clarify.analysis.capabilities import spark_problems
from airflow_provider_clarify.analysis.configs.explainability import ImageConfig, SHAPConfig, TextConfig
from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.operators import spark_compute
from airflow_provider_clarify.operators._spark_driver import parse as parse_driver
from airflow_provider_clarify.operators.clarify import (
    ClarifyBiasAndExplainabilityOperator,
    ClarifyBiasOperator,
    ClarifyExplainabilityOperator,
    ClarifySuggestBaselineOperator,
)
from tests.support.paths import GOLDEN_DIR

pytest.importorskip("airflow.providers.apache.spark", reason="the 'spark' extra installs the provider")

DATASET = str(GOLDEN_DIR / "synthetic_credit.csv")
BIAS = {"label_values_or_threshold": [1], "facet_name": "sex", "facet_values_or_threshold": ["female"]}
MODEL = {"model_name": "m", "instance_type": "ml.m5.xlarge", "instance_count": 1}


def data_config(output: str = "/tmp/clarify-spark-out", **overrides) -> dict:
    return {
        "s3_data_input_path": DATASET,
        "s3_output_path": output,
        "label": "approved",
        "predicted_label": "predicted",
        "dataset_type": "text/csv",
        **overrides,
    }


def bias_operator(**overrides) -> ClarifyBiasOperator:
    arguments = {"task_id": "audit", "compute": "spark", "data_config": data_config(), "bias_config": BIAS}
    arguments.update(overrides)
    return ClarifyBiasOperator(**arguments)


# --- what the Spark backend runs ---------------------------------------------------------------------

BASE = {
    "dataset_type": "text/csv",
    "label": "approved",
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
    "predicted_label": "predicted",
    "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}},
}
CASES = [
    BASE,
    {**BASE, "methods": {"pre_training_bias": {"methods": ["CI"]}, "report": {"name": "r"}}},
    {**BASE, "dataset_type": "application/jsonlines"},
    {**BASE, "dataset_type": "application/x-parquet"},
    {**BASE, "dataset_type": "application/json", "features": "features"},
    {**BASE, "methods": {**BASE["methods"], "shap": {"num_samples": 10}}},
    {**BASE, "methods": {"pdp": {"grid_resolution": 5}}},
    {**BASE, "facet_dataset_uri": "s3://b/facets.csv"},
    {**BASE, "predicted_label_dataset_uri": "s3://b/predictions.csv"},
    {key: value for key, value in BASE.items() if key != "predicted_label"},
    {
        **{key: value for key, value in BASE.items() if key != "predicted_label"},
        "methods": {"pre_training_bias": {"methods": "all"}},
    },
]


@pytest.mark.parametrize("config", CASES)
def test_the_plan_check_agrees_with_the_engines_spark_backend(config):
    """The pure rule (used at parse time, no pyspark) refuses exactly what engine/spark refuses."""
    pytest.importorskip("pyarrow")
    from airflow_provider_clarify.engine.spark.runner import check_spark_config

    problems = spark_problems(config)
    if not problems:
        check_spark_config(config)  # the engine accepts it too
        return
    with pytest.raises(ClarifyConfigError) as caught:
        check_spark_config(config)
    assert caught.value.field in {path.split(".")[0] for path, _ in problems}


def test_compute_spark_plans_the_bias_config_without_a_request():
    plan = bias_operator().make_plan()
    assert plan.compute == "spark"
    assert plan.request_template_json is None
    assert set(plan.config["methods"]) == {"pre_training_bias", "post_training_bias", "report"}
    assert plan.dataset_uri == DATASET


# --- explanations: the model the executors call ---------------------------------------------------------

EXPLAINERS = [
    (ClarifyExplainabilityOperator, {"explainability_config": {"shap": {"num_samples": 10}}}),
    (
        ClarifyBiasAndExplainabilityOperator,
        {"explainability_config": {"shap": {"num_samples": 10}}, "bias_config": BIAS},
    ),
]
ARTIFACT = {"artifact": "/models/model.joblib", "trust": True}
LOCAL_MODELS = [
    "http://127.0.0.1:8080",
    {"url": "http://127.0.0.1:8080", "timeout_seconds": 5, "retries": 0},
    {"endpoint_name": "credit-endpoint"},
    {"endpoint_name": "credit-endpoint", "timeout_seconds": 12.5},
    ARTIFACT,
    {"artifact": "s3://models/model.pkl", "format": "pickle", "trust": True},
]


def explainer(operator_class, arguments, **overrides):
    return operator_class(
        task_id="x",
        compute="spark",
        data_config=data_config(),
        **{"model_config": MODEL, **arguments, **overrides},
    )


@pytest.mark.parametrize(("operator_class", "arguments"), EXPLAINERS)
@pytest.mark.parametrize("local_model", LOCAL_MODELS)
def test_explanations_run_on_spark_with_the_local_model(operator_class, arguments, local_model):
    plan = explainer(operator_class, arguments, local_model=local_model).make_plan()
    assert plan.compute == "spark"
    assert "shap" in plan.config["methods"]


@pytest.mark.parametrize(("operator_class", "arguments"), EXPLAINERS)
def test_without_a_model_the_config_must_name_an_endpoint(operator_class, arguments):
    """The model_name alone is no model the executors can call (the engine's rule, at plan time)."""
    with pytest.raises(ClarifyConfigError) as caught:
        explainer(operator_class, arguments).make_plan()
    assert "predictor" in [path for path, _ in caught.value.problems]
    assert "local_model" in str(caught.value)  # the fix an operator user can apply
    with_endpoint = explainer(operator_class, arguments, model_config={"endpoint_name": "live"})
    plan = with_endpoint.make_plan()  # the executors call predictor.endpoint_name
    assert plan.config["predictor"]["endpoint_name"] == "live"


TEXT = TextConfig(granularity="token", language="english")


@pytest.mark.parametrize(
    "explainability_config",
    [
        {"shap": {"num_samples": 10, "text_config": TEXT}},
        [SHAPConfig(num_samples=10, text_config=TEXT)],
    ],
    ids=["dict", "sdk_objects"],
)
@pytest.mark.parametrize(
    "operator_class", [ClarifyExplainabilityOperator, ClarifyBiasAndExplainabilityOperator]
)
def test_text_explanations_are_refused_when_the_dag_is_parsed(operator_class, explainability_config):
    arguments = {"explainability_config": explainability_config}
    if operator_class is ClarifyBiasAndExplainabilityOperator:
        arguments["bias_config"] = BIAS
    with pytest.raises(ClarifyConfigError) as caught:
        explainer(operator_class, arguments, local_model=ARTIFACT)
    assert caught.value.field == "explainability_config.shap.text_config"
    assert "text explanations are not computed by the Spark backend" in str(caught.value)
    # the same config is refused by the engine's own rule
    problems = spark_problems({"dataset_type": "text/csv", "methods": {"shap": {"text_config": {}}}})
    assert "methods.shap.text_config" in [path for path, _ in problems]


def test_image_explanations_from_sdk_objects_are_refused_when_the_dag_is_parsed():
    shap = SHAPConfig(num_samples=10, image_config=ImageConfig(model_type="IMAGE_CLASSIFICATION"))
    with pytest.raises(ClarifyConfigError) as caught:
        explainer(ClarifyExplainabilityOperator, {"explainability_config": shap}, local_model=ARTIFACT)
    assert caught.value.field == "explainability_config.shap.image_config"


def test_templated_explanations_are_checked_when_the_plan_is_built():
    operator = explainer(
        ClarifyExplainabilityOperator,
        {"explainability_config": {"shap": "{{ params.shap }}"}},
        local_model=ARTIFACT,
    )  # parses fine
    operator.explainability_config = {"shap": {"num_samples": 10, "text_config": TEXT}}  # as rendered
    with pytest.raises(ClarifyConfigError) as caught:
        operator.make_plan()
    assert "methods.shap.text_config" in [path for path, _ in caught.value.problems]


class _InProcess:
    def predict(self, rows):
        return [0 for _ in rows]


@pytest.mark.parametrize(
    ("local_model", "field", "fix"),
    [
        (_InProcess(), "local_model", "joblib.dump"),
        ({"artifact": "/models/model.joblib"}, "local_model.trust", "trust"),
        ({**ARTIFACT, "method": "predict"}, "local_model.method", "'auto'"),
        ({"endpoint": "x"}, "local_model", "endpoint_name"),
        ("ftp://host/model", "local_model.url", "http"),
        ("http://user:s3cret@127.0.0.1:8080", "local_model.url", "without user:password@"),
        ("https://models.example/credit?token=s3cret", "local_model.url", "without user:password@"),
    ],
)
def test_an_unusable_local_model_fails_when_the_dag_is_parsed(local_model, field, fix):
    with pytest.raises(ClarifyConfigError) as caught:
        explainer(*EXPLAINERS[0], local_model=local_model)
    assert caught.value.field == field
    assert fix in f"{caught.value} {caught.value.accepted}"
    assert "s3cret" not in str(caught.value)


def test_a_templated_local_model_is_checked_when_the_run_starts(tmp_path):
    operator = explainer(*EXPLAINERS[0], local_model="{{ params.model }}")  # parses fine
    operator.local_model = {"artifact": str(tmp_path / "m.joblib")}  # as rendered: not trusted
    with pytest.raises(ClarifyConfigError) as caught:
        spark_compute.run_spark_analysis(
            operator.make_plan(),
            run_name="r",
            spark_conn_id="none",
            aws_conn_id=None,
            local_model=operator.local_model,
        )
    assert caught.value.field == "local_model.trust"


@pytest.mark.parametrize("local_model", LOCAL_MODELS)
def test_the_engine_cli_reads_back_the_model_of_the_command_line(local_model):
    """Differential: the arguments we build, parsed by the engine CLI's own parser, give the same model."""
    from airflow_provider_clarify.analysis.model_source import ModelSource
    from airflow_provider_clarify.engine.__main__ import build_parser, model_source

    source = spark_compute.spark_model_source(local_model)
    command = spark_compute.engine_arguments("cfg.json", "data.csv", "out", model=source)
    assert command[:6] == ["--analysis-config", "cfg.json", "--dataset", "data.csv", "--output", "out"]
    args = build_parser().parse_args([*command, "--backend", "spark"])
    assert model_source(args) == source == ModelSource.parse(local_model)


def test_no_model_adds_no_model_arguments():
    assert spark_compute.model_arguments(None) == []
    assert not any(a.startswith("--model") for a in spark_compute.engine_arguments("c", "d", "o"))


@pytest.mark.parametrize(
    ("overrides", "field", "fix"),
    [
        (
            {"data_config": data_config(dataset_type="application/json")},
            "data_config.dataset_type",
            "convert the data to CSV",
        ),
        ({"local_model": "http://127.0.0.1:8080"}, "local_model", "predicted_label"),
        ({"local_model": {"artifact": "/m.joblib", "trust": True}}, "local_model", "SHAP and PDP"),
        ({"spark_options": {"executor_mem": "1g"}}, "spark_options.executor_mem", "executor_memory"),
        ({"spark_options": {"conf": "spark.x=1"}}, "spark_options.conf", "dict"),
        ({"spark_options": {"ship_package": "yes"}}, "spark_options.ship_package", "True"),
        ({"spark_options": ["conf"]}, "spark_options", "dict"),
        ({"spark_conn_id": ""}, "spark_conn_id", "connection"),
        ({"confidence_intervals": True}, "confidence_intervals", "compute='local'"),
    ],
)
def test_literal_mistakes_fail_when_the_dag_is_parsed(overrides, field, fix):
    with pytest.raises(ClarifyConfigError) as caught:
        bias_operator(**overrides)
    assert caught.value.field == field
    assert fix in f"{caught.value} {caught.value.accepted}"


def test_templated_values_are_checked_when_the_plan_is_built():
    operator = bias_operator(data_config=data_config(dataset_type="{{ params.kind }}"))  # parses fine
    operator.data_config = data_config(dataset_type="application/json", features="features")  # as rendered
    with pytest.raises(ClarifyConfigError) as caught:
        operator.make_plan()
    assert caught.value.field == "dataset_type"
    assert "compute='spark'" in str(caught.value)


def test_every_problem_is_reported_at_once_with_its_path():
    model = {**MODEL, "content_type": "text/csv", "accept_type": "text/csv"}
    operator = bias_operator(data_config=data_config(dataset_type="{{ kind }}"), model_config=model)
    operator.data_config = data_config(
        dataset_type="application/json", features="features", predicted_label=None
    )
    with pytest.raises(ClarifyConfigError) as caught:
        operator.make_plan()
    assert [path for path, _ in caught.value.problems] == ["dataset_type", "predicted_label"]


def test_a_post_training_baseline_needs_the_predictions_in_the_dataset():
    operator = ClarifySuggestBaselineOperator(
        task_id="x",
        compute="spark",
        monitoring_type="ModelBias",
        data_config=data_config(predicted_label=None),
        model_config=MODEL,
        bias_config=BIAS,
    )
    with pytest.raises(ClarifyConfigError) as caught:
        operator.make_plan()
    assert caught.value.field == "predicted_label"


def test_spark_arguments_are_templated():
    assert {"spark_conn_id", "spark_options"} <= set(ClarifyBiasOperator.template_fields)
    operator = bias_operator(
        spark_conn_id="{{ params.conn }}", spark_options={"conf": {"spark.app.tag": "{{ ds }}"}}
    )
    from airflow.sdk.definitions._internal.templater import create_template_env  # noqa: F401  (exists in 3.x)

    operator.render_template_fields({"ds": "2026-03-02", "params": {"conn": "emr"}})
    assert operator.spark_conn_id == "emr"
    assert operator.spark_options == {"conf": {"spark.app.tag": "2026-03-02"}}


# --- the commands --------------------------------------------------------------------------------------


@pytest.fixture
def spark_connection(monkeypatch):
    def make(conn_id: str, **fields) -> str:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))
        return conn_id

    return make


def test_the_spark_submit_command_the_providers_hook_builds(spark_connection, tmp_path):
    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook

    conn_id = spark_connection(
        "clarify_spark",
        conn_type="spark",
        host="spark://10.0.0.5",
        port=7077,
        extra={"deploy-mode": "client"},
    )
    engine_args = spark_compute.engine_arguments(
        "s3://b/cfg/run-1/analysis_config.json", "s3://b/data/", "s3://b/out", output_kms_key="alias/k"
    )
    kwargs = spark_compute.submit_hook_arguments(
        {"conf": {"spark.executor.memory": "4g"}, "num_executors": 3, "py_files": "s3://b/extra.py"},
        conn_id=conn_id,
        run_name="Clarify-Bias-abc",
        engine_args=engine_args,
        package_zip="/tmp/pkg.zip",
    )
    command = SparkSubmitHook(**kwargs)._build_spark_submit_command("/tmp/driver.py")
    assert command == [
        "spark-submit",
        "--master",
        "spark://10.0.0.5:7077",
        "--conf",
        "spark.executor.memory=4g",
        "--py-files",
        "/tmp/pkg.zip,s3://b/extra.py",
        "--num-executors",
        "3",
        "--name",
        "Clarify-Bias-abc",
        "--deploy-mode",
        "client",
        "/tmp/driver.py",
        "--app-name",
        "Clarify-Bias-abc",
        "--",
        "--analysis-config",
        "s3://b/cfg/run-1/analysis_config.json",
        "--dataset",
        "s3://b/data/",
        "--output",
        "s3://b/out",
        "--output-kms-key",
        "alias/k",
    ]
    # what the driver program reads back from that command line
    options, engine = parse_driver(command[command.index("/tmp/driver.py") + 1 :])
    assert options.app_name == "Clarify-Bias-abc"
    assert engine == engine_args


def test_the_connect_client_gets_its_url_in_the_environment_not_on_the_command_line(spark_connection):
    from airflow.providers.apache.spark.hooks.spark_connect import SparkConnectHook

    conn_id = spark_connection(
        "clarify_connect",
        conn_type="spark_connect",
        host="connect.example",
        port=15002,
        password="s3cret-token",
    )
    command = spark_compute.connect_command(
        {"conf": {"spark.sql.shuffle.partitions": "8"}}, run_name="run-1", engine_args=["--output", "/o"]
    )
    assert command[:3] == [sys.executable, "-m", spark_compute.DRIVER_MODULE]
    options, engine = parse_driver(command[3:])
    assert options.ship_package is True
    assert options.conf == ["spark.sql.shuffle.partitions=8"]
    assert engine == ["--output", "/o"]
    url = SparkConnectHook(conn_id=conn_id).get_connection_url()
    assert "s3cret-token" in url
    assert not any("s3cret-token" in part for part in command)
    assert "--ship-package" not in spark_compute.connect_command(
        {"ship_package": False}, run_name="r", engine_args=[]
    )


def test_spark_submit_options_are_refused_for_a_connect_connection():
    with pytest.raises(ClarifyConfigError, match="Spark Connect") as caught:
        spark_compute.check_spark_options({"executor_memory": "4g"}, spark_compute.CONNECT_CONN_TYPE)
    assert caught.value.field == "spark_options.executor_memory"
    assert spark_compute.check_spark_options({"conf": {"a": "b"}}, spark_compute.CONNECT_CONN_TYPE) == {
        "conf": {"a": "b"}
    }


def test_the_shipped_package_imports_from_the_zip_alone(tmp_path):
    archive = spark_compute.package_archive(tmp_path)
    assert spark_compute.package_archive(tmp_path) == archive  # same content: built once
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
    assert "airflow_provider_clarify/engine/__main__.py" in names
    assert "airflow_provider_clarify/operators/_spark_driver.py" in names
    assert any(n.startswith("airflow_provider_clarify/engine/templates/") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import airflow_provider_clarify.engine.__main__ as cli, airflow_provider_clarify.engine.report as r;"
        "import jinja2;"
        "env = jinja2.Environment(loader=jinja2.PackageLoader('airflow_provider_clarify.engine', 'templates'));"
        "print(cli.__file__); print(len(env.list_templates()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, archive],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    module_file, templates = done.stdout.split()
    assert module_file.startswith(archive)
    assert int(templates) > 0


# --- running: a stand-in spark-submit (a real executable on the PATH) -------------------------------------

STAND_IN = """#!{python}
import os, subprocess, sys, time
args = sys.argv[1:]
with open(os.environ["STAND_IN_LOG"], "w") as log:
    log.write(repr(args))
driver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])  # the "Python driver"
with open(os.environ["STAND_IN_LOG"] + ".driver", "w") as log:
    log.write(str(driver.pid))
behaviour = os.environ["STAND_IN_BEHAVIOUR"]
if behaviour.startswith("exit"):
    print("error: invalid analysis configuration or dataset: column 'x' is not in the dataset", flush=True)
    driver.kill()
    sys.exit(int(behaviour[4:]))
if behaviour == "write":
    out = args[args.index("--output") + 1]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "analysis.json"), "w") as handle:
        handle.write("{{}}")
    driver.kill()
    sys.exit(0)
if behaviour == "nothing":
    driver.kill()
    sys.exit(0)
time.sleep(600)
"""


@pytest.fixture
def stand_in(tmp_path, monkeypatch, spark_connection):
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "spark-submit"
    script.write_text(STAND_IN.format(python=sys.executable))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([str(folder), os.environ["PATH"]]))
    monkeypatch.setenv("STAND_IN_LOG", str(tmp_path / "stand-in.log"))
    spark_connection("clarify_spark", conn_type="spark", host="spark://127.0.0.1", port=7077)

    def run(behaviour: str, **arguments):
        monkeypatch.setenv("STAND_IN_BEHAVIOUR", behaviour)
        plan = bias_operator(data_config=data_config(str(tmp_path / "out"))).make_plan()
        return spark_compute.run_spark_analysis(
            plan, run_name="Clarify-Bias-run", spark_conn_id="clarify_spark", aws_conn_id=None, **arguments
        )

    return run


def _driver_alive(tmp_path: Path) -> bool:
    pid = int((tmp_path / "stand-in.log.driver").read_text())
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_success_writes_the_config_beside_the_results(stand_in, tmp_path):
    outcome = stand_in("write")
    out = tmp_path / "out"
    assert outcome.analysis_result_uri == str(out)
    assert outcome.mode == "spark-submit"
    assert json.loads((out / "analysis_config.json").read_text())["label"] == "approved"
    staged = out / "Clarify-Bias-run" / "analysis_config.json"  # what the driver read
    args = (tmp_path / "stand-in.log").read_text()
    assert f"'--analysis-config', '{staged}'" in args
    assert staged.read_text() == (out / "analysis_config.json").read_text()


def test_exit_status_2_is_a_configuration_error_and_others_are_retryable(stand_in, tmp_path):
    with pytest.raises(spark_compute.SparkAnalysisConfigError) as caught:
        stand_in("exit2")
    assert caught.value.exit_code == 2
    assert "column 'x' is not in the dataset" in str(caught.value)
    assert isinstance(caught.value, ClarifyConfigError)
    with pytest.raises(spark_compute.SparkAnalysisError) as caught:
        stand_in("exit1")
    assert not isinstance(caught.value, ClarifyConfigError)
    assert caught.value.exit_code == 1
    assert not (tmp_path / "out" / "analysis_config.json").exists()


def test_a_run_that_wrote_no_analysis_json_fails(stand_in, tmp_path):
    with pytest.raises(spark_compute.SparkAnalysisError, match="wrote no"):
        stand_in("nothing")
    assert not (tmp_path / "out" / "analysis_config.json").exists()


def test_the_time_limit_stops_spark_submit_and_the_driver_it_started(stand_in, tmp_path):
    with pytest.raises(spark_compute.SparkAnalysisError, match="max_ingestion_time=2 s") as caught:
        stand_in("hang", timeout_seconds=2)
    assert not isinstance(caught.value, ClarifyConfigError)
    assert not _driver_alive(tmp_path)  # the orphan of a killed JVM is stopped too (the process group)


def test_an_unknown_connection_type_fails_before_anything_is_written(spark_connection, tmp_path):
    conn_id = spark_connection("not_spark", conn_type="http", host="example.com")
    plan = bias_operator(data_config=data_config(str(tmp_path / "out"))).make_plan()
    with pytest.raises(ClarifyConfigError) as caught:
        spark_compute.run_spark_analysis(plan, run_name="r", spark_conn_id=conn_id, aws_conn_id=None)
    assert caught.value.field == "spark_conn_id"
    assert "'http'" in str(caught.value)
    assert not (tmp_path / "out").exists()
