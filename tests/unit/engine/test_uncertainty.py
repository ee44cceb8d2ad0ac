"""run_analysis(confidence_intervals=...): sidecar next to analysis.json, error bars in the report,
and analysis.json byte for byte unchanged."""

from __future__ import annotations

import copy
import json

import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.uncertainty import (
    CONFIDENCE_INTERVALS_FILE,
    ConfidenceIntervalConfig,
    IntervalsResult,
)
from airflow_provider_clarify.engine.runner import run_analysis
from tests.unit.engine.golden import GOLDEN_CSV, golden_case


def _config(with_report: bool = False) -> dict:
    config = copy.deepcopy(golden_case("sex_female")["analysis_config"])
    if with_report:
        config["methods"]["report"] = {"name": "report", "title": "Audit"}
    return config


def test_default_analysis_json_is_byte_for_byte_unchanged_and_has_no_sidecar(tmp_path):
    plain = run_analysis(_config(), str(GOLDEN_CSV), str(tmp_path / "plain"))
    with_ci = run_analysis(
        _config(), str(GOLDEN_CSV), str(tmp_path / "ci"), confidence_intervals={"seed": 5, "resamples": 200}
    )
    assert (tmp_path / "plain" / "analysis.json").read_bytes() == (
        tmp_path / "ci" / "analysis.json"
    ).read_bytes()
    assert plain.endswith("analysis.json")
    assert with_ci.endswith("analysis.json")
    assert not (tmp_path / "plain" / CONFIDENCE_INTERVALS_FILE).exists()
    sidecar = json.loads((tmp_path / "ci" / CONFIDENCE_INTERVALS_FILE).read_text())
    assert (sidecar["seed"], sidecar["resamples"]) == (5, 200)
    result = IntervalsResult.from_dict(sidecar)
    di = result.find("post_training", "sex", "female", "DI")
    assert di.lower < di.value < di.upper
    assert di.n_d == 789


def test_the_same_seed_writes_the_same_sidecar(tmp_path):
    for name in ("one", "two"):
        run_analysis(
            _config(),
            str(GOLDEN_CSV),
            str(tmp_path / name),
            confidence_intervals=ConfidenceIntervalConfig(seed=9),
        )
    assert (tmp_path / "one" / CONFIDENCE_INTERVALS_FILE).read_bytes() == (
        tmp_path / "two" / CONFIDENCE_INTERVALS_FILE
    ).read_bytes()


def test_the_report_shows_error_bars(tmp_path):
    run_analysis(_config(with_report=True), str(GOLDEN_CSV), str(tmp_path), confidence_intervals=True)
    html = (tmp_path / "report.html").read_text()
    assert '<section id="confidence-intervals">' in html
    assert html.count('<svg class="errorbar"') >= 15
    assert "katz-log" in html


def test_bad_options_fail_before_any_file_is_written(tmp_path):
    with pytest.raises(ClarifyConfigError, match="confidence_intervals.level"):
        run_analysis(_config(), str(GOLDEN_CSV), str(tmp_path / "out"), confidence_intervals={"level": 95})
    with pytest.raises(ClarifyConfigError, match="unknown keys"):
        run_analysis(_config(), str(GOLDEN_CSV), str(tmp_path / "out"), confidence_intervals={"samples": 10})
    assert not (tmp_path / "out").exists()


def test_a_run_without_the_options_removes_the_sidecars_of_an_earlier_run(tmp_path):
    """A sidecar left by an earlier run would be read (report, gates) as this run's: it goes."""
    from airflow_provider_clarify.analysis.uncertainty import INTERSECTIONS_FILE

    folder = tmp_path / "out"
    run_analysis(
        _config(with_report=True),
        str(GOLDEN_CSV),
        str(folder),
        confidence_intervals={"seed": 1, "resamples": 200},
        intersections={"scan_columns": ["sex"], "min_group_size": 5},
    )
    assert (folder / CONFIDENCE_INTERVALS_FILE).exists()
    assert (folder / INTERSECTIONS_FILE).exists()
    (folder / "unrelated.json").write_text("{}")

    run_analysis(
        _config(with_report=True),
        str(GOLDEN_CSV),
        str(folder),
        intersections={"scan_columns": ["sex"], "min_group_size": 5},
    )
    assert not (folder / CONFIDENCE_INTERVALS_FILE).exists()
    assert (folder / INTERSECTIONS_FILE).exists()
    assert 'id="confidence-intervals"' not in (folder / "report.html").read_text()

    run_analysis(_config(with_report=True), str(GOLDEN_CSV), str(folder))
    assert not (folder / INTERSECTIONS_FILE).exists()
    assert (folder / "unrelated.json").exists()  # only the sidecars' own names are touched
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".tmp")) == []


def test_deleting_a_sidecar_stays_inside_the_output_location(tmp_path):
    from airflow_provider_clarify.engine.io import OutputLocation

    outside = tmp_path / "confidence_intervals.json"
    outside.write_text("{}")
    location = OutputLocation(str(tmp_path / "out"))
    with pytest.raises(ClarifyConfigError):
        location.delete("../confidence_intervals.json")
    assert outside.exists()
    assert location.delete("confidence_intervals.json") is False


def test_a_stale_sidecar_on_s3_is_removed_too(s3_options, s3_bucket, s3_client):
    output = f"s3://{s3_bucket}/audit"
    run_analysis(_config(), str(GOLDEN_CSV), output, storage_options=s3_options, confidence_intervals=True)

    def keys() -> set[str]:
        listed = s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="audit/").get("Contents", [])
        return {item["Key"] for item in listed}

    assert f"audit/{CONFIDENCE_INTERVALS_FILE}" in keys()
    run_analysis(_config(), str(GOLDEN_CSV), output, storage_options=s3_options)
    assert keys() == {"audit/analysis.json"}
