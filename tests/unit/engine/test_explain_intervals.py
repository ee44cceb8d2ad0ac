"""Confidence intervals of global SHAP values: the weighted bootstrap equals resampling the records."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from airflow_provider_clarify.analysis.uncertainty import CONFIDENCE_INTERVALS_FILE, ConfidenceIntervalConfig
from airflow_provider_clarify.engine.explain.aggregate import aggregate
from airflow_provider_clarify.engine.explain_intervals import (
    CHUNK,
    _resampled_aggregates,
    global_shap_intervals,
)
from airflow_provider_clarify.engine.runner import run_analysis


@pytest.mark.parametrize("method", ["mean_abs", "mean_sq", "median"])
@pytest.mark.parametrize("n", [7, 10])
def test_weighted_resamples_equal_explicitly_resampled_records(method, n):
    values = np.random.default_rng(1).normal(size=(n, 3))
    resamples = CHUNK + 5  # two chunks
    got = _resampled_aggregates(values, method, resamples, np.random.default_rng(42))
    rng = np.random.default_rng(42)
    expected = []
    for start in range(0, resamples, CHUNK):
        weights = rng.multinomial(n, np.full(n, 1 / n), size=min(CHUNK, resamples - start))
        for w in weights:
            expected.append(aggregate(np.repeat(values, w, axis=0), method))
    np.testing.assert_allclose(got, np.array(expected), rtol=1e-12, atol=1e-15)


def test_intervals_bracket_the_global_values_and_shrink_with_more_records():
    rng = np.random.default_rng(3)
    widths = []
    for n in (50, 5000):
        local = rng.normal(loc=[0.5, -0.2], scale=1.0, size=(n, 1, 2))
        block = global_shap_intervals(
            local,
            feature_names=["a", "b"],
            global_features=["b", "a"],
            output_keys=["label0"],
            agg_method="mean_abs",
            config=ConfidenceIntervalConfig(resamples=400),
            seed=5,
        )["kernel_shap"]["label0"]
        assert list(block["global_shap_values"]) == ["b", "a"]
        a = block["global_shap_values"]["a"]
        assert a["lower"] <= a["value"] <= a["upper"]
        assert a["value"] == pytest.approx(float(np.mean(np.abs(local[:, 0, 0]))))
        widths.append(a["upper"] - a["lower"])
    assert widths[1] < widths[0] / 5  # ~ 1/sqrt(n)


def test_run_analysis_writes_shap_intervals_in_the_sidecar(tmp_path):
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(60, 3)).round(3)
    data = tmp_path / "data.csv"
    with open(data, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x1", "x2", "x3", "y"])
        for r in rows:
            writer.writerow([*r, int(r[0] > 0)])
    config = {
        "dataset_type": "text/csv",
        "label": "y",
        "methods": {"shap": {"baseline": [[0.0, 0.0, 0.0]], "num_samples": 8, "agg_method": "mean_abs"}},
    }
    run_analysis(
        config,
        str(data),
        str(tmp_path / "out"),
        model=lambda x: 0.5 * x[:, 0].astype(float) + x[:, 1].astype(float),
        confidence_intervals={"seed": 2, "resamples": 200},
    )
    analysis = json.loads((tmp_path / "out" / "analysis.json").read_text())
    sidecar = json.loads((tmp_path / "out" / CONFIDENCE_INTERVALS_FILE).read_text())
    assert "pre_training_bias_metrics" not in sidecar
    (label,) = analysis["explanations"]["kernel_shap"]
    reported = analysis["explanations"]["kernel_shap"][label]["global_shap_values"]
    intervals = sidecar["explanations"]["kernel_shap"][label]["global_shap_values"]
    assert list(intervals) == list(reported)
    for feature, value in reported.items():
        assert intervals[feature]["value"] == pytest.approx(value, rel=1e-12)
        assert intervals[feature]["lower"] <= value <= intervals[feature]["upper"]
    assert intervals["x3"]["upper"] == pytest.approx(0.0, abs=1e-9)  # the model ignores x3


def test_the_report_and_the_typed_view_show_shap_intervals(tmp_path):
    from airflow_provider_clarify.analysis.uncertainty import IntervalsResult
    from airflow_provider_clarify.engine.uncertainty_report import intervals_section

    doc = {
        "level": 0.9,
        "resamples": 100,
        "seed": 1,
        "explanations": {
            "kernel_shap": {
                "label0": {
                    "agg_method": "mean_abs",
                    "records": 10,
                    "global_shap_values": {"<b>x</b>": {"value": 0.4, "lower": 0.3, "upper": 0.5}},
                }
            }
        },
    }
    html = intervals_section(doc)
    assert "&lt;b&gt;x&lt;/b&gt;" in html  # escaped
    assert html.count('<svg class="errorbar"') == 1
    assert IntervalsResult.from_dict(doc).shap == {"label0": {"<b>x</b>": (0.4, 0.3, 0.5)}}
