"""The Spark backend writes the same analysis.json as the single-machine engine.

Differential tests on the standalone cluster (two workers), with splits small enough that every
dataset is read as several partitions: the golden credit data (every smclarify case, plus GE), every
case of the parity datasets (real public files with pandas' CSV quirks, and whole-report errors),
and the golden data as a folder of part files. The oracle is ``run_analysis`` on one machine; the
files must be byte-identical (see docs/scale-out.md: GE may differ in the last bits, within 1e-12
relative, but does not on these data).
"""

from __future__ import annotations

import json

import pytest

from airflow_provider_clarify.engine.runner import run_analysis
from airflow_provider_clarify.engine.spark.dataset import SparkCsvDataset
from airflow_provider_clarify.engine.spark.runner import run_analysis_spark
from tests.support.paths import TEST_DATA
from tests.unit.engine.golden import GOLDEN_CSV, golden_cases

PARITY = TEST_DATA / "parity"
PARITY_CASES = json.loads((PARITY / "expected.json").read_text())["cases"]


def _golden_configs() -> list[tuple[str, dict]]:
    configs = [(case["name"], case["analysis_config"]) for case in golden_cases()]
    ge = dict(configs[0][1], methods={"post_training_bias": {"methods": ["GE", "FT", "DPPL"]}})
    return [*configs, ("generalized_entropy", ge)]


def _both(config: dict, dataset: str, tmp_path, spark) -> tuple[str, str]:
    local, remote = tmp_path / "local", tmp_path / "spark"
    run_analysis(config, dataset, str(local))
    run_analysis_spark(spark, config, dataset, str(remote))
    return (local / "analysis.json").read_text(), (remote / "analysis.json").read_text()


def test_small_splits_make_several_partitions(spark):
    data = SparkCsvDataset.open(spark, str(GOLDEN_CSV))
    assert data.frame.rdd.getNumPartitions() >= 3


@pytest.mark.parametrize(("name", "config"), _golden_configs(), ids=[n for n, _ in _golden_configs()])
def test_golden_dataset(spark, tmp_path, name, config):
    local, remote = _both(config, str(GOLDEN_CSV), tmp_path, spark)
    assert remote == local


def test_folder_of_part_files(spark, tmp_path):
    """Three part files with a header each: rows in the engine's file order across partitions."""
    lines = GOLDEN_CSV.read_text().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    folder = tmp_path / "parts"
    folder.mkdir()
    for i in range(3):
        (folder / f"part-{i:05d}.csv").write_text(header + "".join(rows[i::3] if i else rows[0::3]))
    (folder / "_SUCCESS").write_text("")
    config = golden_cases()[2]["analysis_config"]  # one-vs-rest facet: the order of first appearance
    local, remote = _both(config, str(folder), tmp_path, spark)
    assert remote == local


@pytest.mark.parametrize("case", PARITY_CASES, ids=[c["id"] for c in PARITY_CASES])
def test_parity_datasets(spark, tmp_path, case):
    dataset = str(PARITY / case["dataset"])
    if "error" in case["expected"]:
        with pytest.raises(Exception) as local_error:
            run_analysis(case["config"], dataset, str(tmp_path / "local"))
        with pytest.raises(type(local_error.value)) as spark_error:
            run_analysis_spark(spark, case["config"], dataset, str(tmp_path / "spark"))
        assert str(spark_error.value) == str(local_error.value)
        assert not (tmp_path / "spark" / "analysis.json").exists()
        return
    local, remote = _both(case["config"], dataset, tmp_path, spark)
    assert remote == local


def test_unsupported_requests_fail_before_any_job(spark, tmp_path):
    from airflow_provider_clarify.engine.errors import EngineConfigError

    config = dict(golden_cases()[0]["analysis_config"], methods={"shap": {"baseline": [[0] * 8]}})
    with pytest.raises(EngineConfigError) as failure:
        run_analysis_spark(spark, config, str(GOLDEN_CSV), str(tmp_path))
    assert failure.value.field == "predictor"  # SHAP runs on Spark, but no model was given
    assert "--backend local" in str(failure.value)
