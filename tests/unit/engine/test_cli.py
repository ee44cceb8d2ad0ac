from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from airflow_provider_clarify.engine import __main__ as cli
from tests.support.model_server import ModelServer
from tests.support.paths import REPO_ROOT
from tests.unit.engine.golden import GOLDEN_CSV, assert_section_matches, golden_case


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "airflow_provider_clarify.engine", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def _write_config(tmp_path, config) -> str:
    path = tmp_path / "analysis_config.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_cli_reproduces_a_golden_configuration_end_to_end(tmp_path):
    case = golden_case("amount_threshold_label")
    config = _write_config(tmp_path, case["analysis_config"])
    result = _run(
        "--analysis-config", config, "--dataset", str(GOLDEN_CSV), "--output", str(tmp_path / "out")
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{tmp_path}/out/analysis.json"
    analysis = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert_section_matches(case["pre_training_bias_metrics"], analysis["pre_training_bias_metrics"])


def test_cli_bad_configuration_exits_2_with_the_column_named(tmp_path):
    config = dict(golden_case("amount_threshold_label")["analysis_config"], label="Target")
    result = _run(
        "--analysis-config",
        _write_config(tmp_path, config),
        "--dataset",
        str(GOLDEN_CSV),
        "--output",
        str(tmp_path),
    )
    assert result.returncode == cli.EXIT_CONFIG
    assert "error: invalid analysis configuration or dataset" in result.stderr
    assert "'Target'" in result.stderr
    assert not (tmp_path / "analysis.json").exists()


def test_cli_without_arguments_uses_the_container_paths(tmp_path):
    result = _run()
    assert result.returncode == cli.EXIT_IO
    assert "/opt/ml/processing/input/config/analysis_config.json" in result.stderr


def test_cli_help_lists_the_options():
    result = _run("--help")
    assert result.returncode == 0
    for option in (
        "--analysis-config",
        "--dataset",
        "--output",
        "--endpoint-url",
        "--model-url",
        "--model-endpoint",
        "--model-artifact",
        "--trust-model-artifact",
        "--model-timeout",
        "--model-retries",
        "--output-kms-key",
    ):
        assert option in result.stdout


def test_cli_model_url_drives_post_training_bias(tmp_path):
    case = golden_case("sex_female")
    config = dict(case["analysis_config"], excluded_columns=["predicted"])
    del config["predicted_label"]
    config["methods"] = {"post_training_bias": {"methods": ["DPPL", "DI", "AD", "DCA"]}}
    with ModelServer(lambda x: x[:, 6].astype(float)) as server:
        result = _run(
            "--analysis-config",
            _write_config(tmp_path, config),
            "--dataset",
            str(GOLDEN_CSV),
            "--output",
            str(tmp_path / "out"),
            "--model-url",
            server.url,
        )
        assert result.returncode == 0, result.stderr
        assert server.calls == 1
    analysis = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert_section_matches(
        case["post_training_bias_metrics"],
        analysis["post_training_bias_metrics"],
        skip=("RD", "DAR", "DRR", "TE", "FT", "CDDPL", "DCR"),
    )


def test_cli_model_errors_exit_3(tmp_path):
    config = dict(golden_case("sex_female")["analysis_config"])
    del config["predicted_label"]
    config["methods"] = {"post_training_bias": {"methods": ["DPPL"]}}
    with ModelServer(lambda x: x[:, 1].astype(float)) as server:
        server.drop_one = True
        result = _run(
            "--analysis-config",
            _write_config(tmp_path, config),
            "--dataset",
            str(GOLDEN_CSV),
            "--output",
            str(tmp_path / "out"),
            "--model-url",
            server.url,
        )
    assert result.returncode == cli.EXIT_MODEL
    assert "predictions for a request of" in result.stderr


@pytest.mark.usefixtures("s3_bucket")
def test_cli_endpoint_url_reads_and_writes_s3(tmp_path, moto_endpoint, s3_client, s3_bucket):
    s3_client.put_object(Bucket=s3_bucket, Key="data/credit.csv", Body=GOLDEN_CSV.read_bytes())
    case = golden_case("amount_threshold_label")
    s3_client.put_object(
        Bucket=s3_bucket, Key="config/analysis_config.json", Body=json.dumps(case["analysis_config"]).encode()
    )
    result = _run(
        "--analysis-config",
        f"s3://{s3_bucket}/config/analysis_config.json",
        "--dataset",
        f"s3://{s3_bucket}/data/",
        "--output",
        f"s3://{s3_bucket}/results",
        "--endpoint-url",
        moto_endpoint,
    )
    assert result.returncode == 0, result.stderr
    analysis = json.loads(s3_client.get_object(Bucket=s3_bucket, Key="results/analysis.json")["Body"].read())
    assert_section_matches(case["pre_training_bias_metrics"], analysis["pre_training_bias_metrics"])


def _model_config(tmp_path) -> str:
    config = dict(golden_case("sex_female")["analysis_config"], excluded_columns=["predicted"])
    del config["predicted_label"]
    config["methods"] = {"post_training_bias": {"methods": ["DPPL"]}}
    return _write_config(tmp_path, config)


def test_cli_model_timeout_and_retries_bound_a_hung_server(tmp_path):
    import threading

    release = threading.Event()

    def hang(x):
        release.wait(60)
        return x[:, 6].astype(float)

    with ModelServer(hang) as server:
        try:
            result = _run(
                "--analysis-config",
                _model_config(tmp_path),
                "--dataset",
                str(GOLDEN_CSV),
                "--output",
                str(tmp_path / "out"),
                "--model-url",
                server.url,
                "--model-timeout",
                "1",
                "--model-retries",
                "0",
            )
        finally:
            release.set()
        assert server.calls == 1  # no retry, as asked
    assert result.returncode == cli.EXIT_MODEL
    assert "did not answer within 1 s, 1 attempt(s)" in result.stderr
    assert "--model-timeout" in result.stderr


def test_cli_model_artifact_needs_trust(tmp_path):
    result = _run(
        "--analysis-config",
        _model_config(tmp_path),
        "--dataset",
        str(GOLDEN_CSV),
        "--output",
        str(tmp_path / "out"),
        "--model-artifact",
        str(tmp_path / "model.joblib"),
    )
    assert result.returncode == cli.EXIT_CONFIG
    assert "runs Python code" in result.stderr
    assert "--trust-model-artifact" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_without_a_model_names_the_model_options(tmp_path):
    result = _run(
        "--analysis-config", _model_config(tmp_path), "--dataset", str(GOLDEN_CSV), "--output", str(tmp_path)
    )
    assert result.returncode == cli.EXIT_CONFIG
    assert "--model-url" in result.stderr
    assert "--endpoint-url" not in result.stderr  # the S3 / AWS endpoint option is not a model option


# --- --confidence-intervals / --intersections (docs/uncertainty.md) ------------------------------------


def test_cli_uncertainty_flags_become_the_run_analysis_options(tmp_path):
    parser = cli.build_parser()
    assert cli.uncertainty_options(parser.parse_args([])) == (None, None)
    assert cli.uncertainty_options(parser.parse_args(["--confidence-intervals"])) == (True, None)
    assert cli.uncertainty_options(
        parser.parse_args(["--confidence-intervals", '{"level": 0.9}', "--seed", "4"])
    ) == ({"level": 0.9, "seed": 4}, None)
    assert cli.uncertainty_options(parser.parse_args(["--resamples", "300"])) == ({"resamples": 300}, None)
    scan = tmp_path / "scan.json"
    scan.write_text(json.dumps({"scan_columns": ["sex"]}))
    assert cli.uncertainty_options(parser.parse_args(["--intersections", str(scan)])) == (
        None,
        {"scan_columns": ["sex"]},
    )


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--intersections", "no-such-file.json"], "--intersections"),
        (["--confidence-intervals", "{level: 0.9}"], "--confidence-intervals"),
        (["--confidence-intervals", "false", "--seed", "1"], "--confidence-intervals"),
        (["--confidence-intervals", '{"level": 3}'], "confidence_intervals.level"),
    ],
)
def test_cli_bad_uncertainty_flags_exit_2_before_anything_is_written(tmp_path, flags, named):
    config = _write_config(tmp_path, golden_case("sex_female")["analysis_config"])
    output = tmp_path / "out"
    result = _run("--analysis-config", config, "--dataset", str(GOLDEN_CSV), "--output", str(output), *flags)
    assert result.returncode == cli.EXIT_CONFIG, result.stderr
    assert named in result.stderr
    assert not output.exists()


def test_cli_writes_the_sidecars_and_the_error_bars(tmp_path):
    config = dict(golden_case("sex_female")["analysis_config"])
    config["methods"] = dict(config["methods"], report={"name": "report", "title": "Audit"})
    output = tmp_path / "out"
    result = _run(
        "--analysis-config",
        _write_config(tmp_path, config),
        "--dataset",
        str(GOLDEN_CSV),
        "--output",
        str(output),
        "--confidence-intervals",
        "--confidence-level",
        "0.9",
        "--resamples",
        "200",
        "--seed",
        "11",
        "--intersections",
        '{"scan_columns": ["sex", "housing"], "min_group_size": 5}',
    )
    assert result.returncode == 0, result.stderr
    sidecar = json.loads((output / "confidence_intervals.json").read_text())
    assert (sidecar["level"], sidecar["resamples"], sidecar["seed"]) == (0.9, 200, 11)
    assert json.loads((output / "intersectional_bias.json").read_text())["scan"]["groups"]
    assert 'class="errorbar"' in (output / "report.html").read_text()


def _imported_modules(stderr: str) -> set[str]:
    """Modules named by ``python -X importtime`` lines (``import time: ... | package.module``); a
    refused import is listed too, so a package counts as loaded by its submodules."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_cli_keeps_pandas_out_of_a_run_without_model_code(tmp_path):
    """pyarrow would import pandas (0.6 s or more) only to ask whether its inputs are pandas
    objects; a run that loads no model artifact reports pandas as not installed
    (engine/pandas_free.py), with the same analysis as a process that has pandas."""
    case = golden_case("amount_threshold_label")
    config = _write_config(tmp_path, case["analysis_config"])
    args = ["--analysis-config", config, "--dataset", str(GOLDEN_CSV)]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "airflow_provider_clarify.engine", *args, "--output", str(tmp_path / "cli")],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    imported = _imported_modules(result.stderr)
    assert "pyarrow.csv" in imported
    assert not [name for name in imported if name.startswith("pandas.")]
    # in-process callers keep pandas: the finder is installed by `python -m` only
    import pandas  # noqa: F401  (the test process has it; main() must not hide it from later code)

    assert cli.main([*args, "--output", str(tmp_path / "in_process")]) == 0
    assert not any(type(finder).__name__ == "PandasUnavailable" for finder in sys.meta_path)
    assert (tmp_path / "cli/analysis.json").read_bytes() == (
        tmp_path / "in_process/analysis.json"
    ).read_bytes()
