"""``python -m airflow_provider_clarify.engine --backend spark``: a real driver process (``local[2]``:
the standalone cluster's slots belong to the tests' session; the cluster parity is tested there)."""

from __future__ import annotations

import json
import subprocess
import sys

from airflow_provider_clarify.engine.__main__ import EXIT_CONFIG, main
from airflow_provider_clarify.engine.runner import run_analysis
from tests.support.paths import REPO_ROOT
from tests.unit.engine.golden import GOLDEN_CSV, golden_cases
from tests.unit.engine.spark.conftest import spark_env


def test_cli_spark_backend_matches_the_single_machine_engine(tmp_path):
    config = golden_cases()[4]["analysis_config"]
    (tmp_path / "analysis_config.json").write_text(json.dumps(config))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow_provider_clarify.engine",
            "--backend",
            "spark",
            "--spark-master",
            "local[2]",
            "--analysis-config",
            str(tmp_path / "analysis_config.json"),
            "--dataset",
            str(GOLDEN_CSV),
            "--output",
            str(tmp_path / "spark"),
            "--log-level",
            "WARNING",
        ],
        capture_output=True,
        text=True,
        env=spark_env(),
        cwd=REPO_ROOT,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("analysis.json")
    run_analysis(config, str(GOLDEN_CSV), str(tmp_path / "local"))
    assert (tmp_path / "spark" / "analysis.json").read_text() == (
        tmp_path / "local" / "analysis.json"
    ).read_text()


def test_cli_spark_backend_calls_no_model_for_bias_predictions(tmp_path, capsys):
    """``--model-*`` is the model SHAP and PDP explain; post-training bias still needs a prediction
    column, refused before any Spark session starts."""
    config = dict(golden_cases()[0]["analysis_config"])
    del config["predicted_label"]
    (tmp_path / "c.json").write_text(json.dumps(config))
    status = main(
        [
            "--backend",
            "spark",
            "--model-url",
            "http://127.0.0.1:9/invocations",
            "--analysis-config",
            str(tmp_path / "c.json"),
            "--dataset",
            str(GOLDEN_CSV),
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert status == EXIT_CONFIG
    assert "predicted_label" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
