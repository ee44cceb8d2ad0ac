"""The SageMaker Spark job's entry script, run as the job runs it, against container-like paths.

A temp directory is laid out as ``/opt/ml/processing/`` is inside the job (the ``analysis_config``,
``dataset``, ``dependencies``, ``py-files`` and ``code`` inputs exactly as the operator stages them),
and the staged entry script is started by pyspark's own ``spark-submit --py-files <package zip>`` on
a ``local[2]`` master in a separate process, as the image's ``smspark-submit`` starts it. The oracle
is the single-machine engine on the same config and data (byte-identical ``analysis.json``).

What a local master cannot show: YARN unpacking the bundle in each executor container
(``spark.yarn.dist.archives``); here the executors find the bundle through the driver's copy, which
the same ``spark.executorEnv.PYTHONPATH`` names.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from airflow_provider_clarify.analysis.spark_processing import ENTRY_FILE_NAME, PACKAGE_ZIP_NAME
from airflow_provider_clarify.engine.runner import run_analysis
from airflow_provider_clarify.engine.spark.sagemaker_entry import bundle_modules, session_settings
from airflow_provider_clarify.spark_bundle import entry_script, package_zip
from tests.unit.engine.golden import GOLDEN_CSV, golden_cases

MARKER = "clarify_bundle_marker"


def container(tmp_path: Path, config: dict) -> Path:
    """``<tmp>/input/...`` as the job's inputs appear under ``/opt/ml/processing/input``."""
    root = tmp_path / "input"
    for name in ("config", "data", "dependencies", "py-files", "code"):
        (root / name).mkdir(parents=True)
    (root / "config" / "analysis_config.json").write_text(json.dumps(config))
    (root / "data" / "train.csv").write_bytes(GOLDEN_CSV.read_bytes())
    with zipfile.ZipFile(root / "dependencies" / "clarify-spark-deps.zip", "w") as bundle:
        bundle.writestr(f"{MARKER}/__init__.py", "WHERE = 'the dependency bundle'\n")
        bundle.writestr(f"{MARKER}-1.0.dist-info/METADATA", "Name: clarify-bundle-marker\n")
    (root / "py-files" / PACKAGE_ZIP_NAME).write_bytes(package_zip())
    (root / "code" / ENTRY_FILE_NAME).write_bytes(entry_script())
    return root


def submit(tmp_path: Path, root: Path) -> subprocess.CompletedProcess:
    import pyspark

    spark_submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the package comes from the zip
    env.update(
        PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1"
    )
    command = [
        str(spark_submit),
        "--master",
        "local[2]",
        "--conf",
        "spark.ui.enabled=false",
        "--driver-memory",
        "512m",
        "--py-files",
        str(root / "py-files" / PACKAGE_ZIP_NAME),
        str(root / "code" / ENTRY_FILE_NAME),
        "--input-root",
        str(root),
        "--output",
        str(tmp_path / "output"),
        "--message-file",
        str(tmp_path / "message"),
    ]
    return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)


def test_the_job_writes_what_the_single_machine_engine_writes(tmp_path):
    config = dict(golden_cases()[0]["analysis_config"])
    config["methods"] = {**config["methods"], "report": {"name": "report", "title": "Credit audit"}}
    done = submit(tmp_path, container(tmp_path, config))
    assert done.returncode == 0, done.stderr[-3000:]

    expected = tmp_path / "single-machine"
    run_analysis(config, str(GOLDEN_CSV), str(expected))
    written = tmp_path / "output"
    assert (written / "analysis.json").read_text() == (expected / "analysis.json").read_text()
    assert (written / "report.html").is_file()
    assert not (tmp_path / "message").exists()
    # the package ran from the staged zip, not from this checkout or the virtualenv
    output = done.stdout + done.stderr  # spark-submit merges the Python driver's stderr into stdout
    package = re.search(r"airflow_provider_clarify \S+ from (\S+)", output).group(1)
    assert package.startswith(str(tmp_path / "input" / "py-files" / PACKAGE_ZIP_NAME)), package
    # the executors imported the bundle's modules from the bundle
    located = json.loads(re.search(r"executors import the bundle: (\{.*\})", output).group(1))
    assert list(located) == [MARKER]
    assert "clarify_deps" in located[MARKER]
    assert str(Path(__file__).parents[4]) not in located[MARKER]


def test_a_config_the_spark_backend_refuses_fails_the_job_with_an_exit_message(tmp_path):
    """Refused before Spark starts, so the staged script is run by plain Python with the zip on the path."""
    config = dict(golden_cases()[0]["analysis_config"], methods={"shap": {"baseline": [[0] * 8]}})
    root = container(tmp_path, config)
    env = dict(os.environ, PYTHONPATH=str(root / "py-files" / PACKAGE_ZIP_NAME))
    command = [sys.executable, str(root / "code" / ENTRY_FILE_NAME), "--input-root", str(root)]
    command += ["--output", str(tmp_path / "output"), "--message-file", str(tmp_path / "message")]
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert done.returncode == 1
    message = (tmp_path / "message").read_text()
    assert message.startswith("EngineConfigError:"), message
    assert "--backend local" in message
    assert not (tmp_path / "output" / "analysis.json").exists()
    assert "executors import" not in done.stderr  # no Spark session was started


def test_bundle_helpers(tmp_path):
    archive = tmp_path / "deps.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name in ("numpy/__init__.py", "numpy/linalg/__init__.py", "six.py", "numpy.libs/x.so"):
            bundle.writestr(name, "")
        bundle.writestr("numpy-2.3.0.dist-info/METADATA", "")
    assert bundle_modules(archive) == ["numpy", "six"]
    settings = session_settings(archive, tmp_path / "clarify_deps")
    assert settings["spark.yarn.dist.archives"] == f"file://{archive}#clarify_deps"
    assert settings["spark.executorEnv.PYTHONPATH"].split(os.pathsep) == [
        "clarify_deps",
        str(tmp_path / "clarify_deps"),
    ]
    assert session_settings(None, None) == {}


@pytest.mark.parametrize("layout", ["one_file", "part_files"])
def test_dataset_location(tmp_path, layout):
    from airflow_provider_clarify.engine.spark.sagemaker_entry import find_dataset

    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("x\n1\n")
    if layout == "one_file":
        assert find_dataset(data) == str(data / "a.csv")
    else:
        (data / "b.csv").write_text("x\n2\n")
        assert find_dataset(data) == str(data)


def test_the_executor_probe_names_what_the_executors_cannot_import():
    from pyspark.sql import SparkSession

    from airflow_provider_clarify.engine.spark.sagemaker_entry import probe_executors
    from airflow_provider_clarify.engine.spark.session import build_session

    existing = SparkSession.getActiveSession()
    spark = existing or build_session("local[1]")
    try:
        assert probe_executors(spark, ["json"])["json"].endswith("json/__init__.py")
        with pytest.raises(RuntimeError) as failure:
            probe_executors(spark, ["json", "clarify_no_such_module"])
        assert "clarify_no_such_module" in str(failure.value)
        assert "ModuleNotFoundError" in str(failure.value)
        assert ":json" not in str(failure.value)
    finally:
        if existing is None:
            spark.stop()
