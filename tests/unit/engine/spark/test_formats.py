"""The CLI's Spark backend writes the single-machine engine's analysis.json for every test dataset,
in every format the bias engine reads, from local folders and from S3.

Every dataset of ``tests/data/`` that the bias engine accepts (the golden credit data and the parity
datasets, each with its first analysis that succeeds) as CSV, as Parquet part files with several row
groups and as JSON Lines part files (``formats.as_format``). The CLI runs in this process on the
standalone cluster's session (``--backend spark`` uses the active session), so its executors on the
two workers read the segments. S3: the same folders uploaded to the moto server and read by the
executors with pyarrow (``--endpoint-url``; no Hadoop S3A on the cluster).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.engine.__main__ import EXIT_CONFIG, main
from airflow_provider_clarify.engine.runner import run_analysis
from tests.support.aws import BUCKET
from tests.support.paths import TEST_DATA
from tests.unit.engine.golden import GOLDEN_CSV, golden_cases
from tests.unit.engine.spark.formats import FORMATS, as_format

PARITY = TEST_DATA / "parity"


def _datasets() -> list[tuple[str, Path, dict]]:
    found = [("golden", GOLDEN_CSV, golden_cases()[0]["analysis_config"])]
    seen = set()
    for case in json.loads((PARITY / "expected.json").read_text())["cases"]:
        if "error" in case["expected"] or case["dataset"] in seen:
            continue
        seen.add(case["dataset"])
        found.append((Path(case["dataset"]).stem, PARITY / case["dataset"], case["config"]))
    return found


DATASETS = _datasets()


def test_every_bias_dataset_of_the_test_data_is_covered():
    csv_files = {p.name for p in PARITY.glob("*.csv")} | {GOLDEN_CSV.name}
    assert {path.name for _, path, _ in DATASETS} == csv_files


def _cli(config: dict, dataset: str, output: Path, tmp_path: Path, *extra: str) -> int:
    config_file = tmp_path / f"{output.name}-config.json"
    config_file.write_text(json.dumps(config))
    status = main(
        [
            "--backend",
            "spark",
            "--analysis-config",
            str(config_file),
            "--dataset",
            dataset,
            "--output",
            str(output),
            "--log-level",
            "WARNING",
            *extra,
        ]
    )
    return status


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("name", "csv_path", "config"), DATASETS, ids=[d[0] for d in DATASETS])
def test_cli_spark_backend_equals_the_single_machine_engine(
    spark, tmp_path, capsys, name, csv_path, config, fmt
):
    dataset, config = as_format(csv_path, config, fmt, tmp_path / "data")
    local_error = None
    try:
        run_analysis(config, str(dataset), str(tmp_path / "local"))
    except ClarifyConfigError as exc:
        local_error = str(exc)
    if local_error is not None:
        # the penguins' missing sexes: no JSON Lines label on some lines, an error on both backends
        assert _cli(config, str(dataset), tmp_path / "spark", tmp_path) == EXIT_CONFIG
        assert local_error in capsys.readouterr().err
        assert not (tmp_path / "spark" / "analysis.json").exists()
        return
    assert _cli(config, str(dataset), tmp_path / "spark", tmp_path) == 0
    spark_json = (tmp_path / "spark" / "analysis.json").read_text()
    assert spark_json == (tmp_path / "local" / "analysis.json").read_text()


@pytest.mark.parametrize("fmt", FORMATS)
def test_s3_dataset_read_by_the_executors(spark, tmp_path, moto_endpoint, s3_client, fmt):
    config = golden_cases()[0]["analysis_config"]
    dataset, config = as_format(GOLDEN_CSV, config, fmt, tmp_path / "data")
    files = [dataset] if dataset.is_file() else sorted(dataset.iterdir())
    for path in files:
        s3_client.upload_file(str(path), BUCKET, f"input/{fmt}/{path.name}")
    run_analysis(config, str(dataset), str(tmp_path / "local"))
    status = _cli(
        config, f"s3://{BUCKET}/input/{fmt}/", tmp_path / "spark", tmp_path, "--endpoint-url", moto_endpoint
    )
    assert status == 0
    spark_json = (tmp_path / "spark" / "analysis.json").read_text()
    assert spark_json == (tmp_path / "local" / "analysis.json").read_text()
