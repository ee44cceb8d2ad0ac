"""Intersectional facets and the scan: exact counts, the corrections, and the planted interaction."""

from __future__ import annotations

import csv
import importlib.util
import json
import random

import numpy as np
import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.uncertainty import INTERSECTIONS_FILE, IntersectionConfig
from airflow_provider_clarify.engine.bias.intersections import (
    benjamini_hochberg,
    holm,
    two_proportion_p_values,
)
from airflow_provider_clarify.engine.runner import run_analysis
from tests.support.paths import REPO_ROOT

HEADERS = ["gender", "age", "income", "credit_amount", "duration", "housing", "approved"]


def _quickstart_generator():
    spec = importlib.util.spec_from_file_location(
        "quickstart_dag", REPO_ROOT / "dags" / "clarify_quickstart_audit.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_applications


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The quickstart's applications with an interaction planted: women over 60 are refused 80% more
    often than the quickstart's own model says (men over 60 and younger women are untouched)."""
    rows = _quickstart_generator()(3000, 20240301)
    rng = random.Random(7)
    for row in rows:
        if row[0] == "female" and row[1] > 60 and row[6] == 1 and rng.random() < 0.8:
            row[6] = 0
    folder = tmp_path_factory.mktemp("planted")
    with open(folder / "applications.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    return folder, rows


CONFIG = {
    "dataset_type": "text/csv",
    "headers": HEADERS,
    "label": "approved",
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "gender", "value_or_threshold": ["female"]}, {"name_or_index": "housing"}],
    "methods": {"pre_training_bias": {"methods": ["CI", "DPL"]}},
}
INTERSECTIONS = {
    "facets": [{"name": "women_over_60", "conditions": [("gender", "==", "female"), ("age", ">", 60)]}],
    "scan_columns": ["gender", "age", "housing"],
    "bins": {"age": [30, 45, 60]},
    "min_group_size": 30,
}


def test_the_scan_finds_the_planted_interaction(planted, tmp_path):
    folder, rows = planted
    run_analysis(CONFIG, str(folder / "applications.csv"), str(tmp_path), intersections=INTERSECTIONS)
    doc = json.loads((tmp_path / INTERSECTIONS_FILE).read_text())
    (facet,) = doc["facets"]
    women_over_60 = [r for r in rows if r[0] == "female" and r[1] > 60]
    rest = [r for r in rows if not (r[0] == "female" and r[1] > 60)]
    assert (facet["n_d"], facet["n_a"]) == (len(women_over_60), len(rest))
    dpl = next(m for m in facet["metrics"] if m["name"] == "DPL")["value"]
    expected = sum(r[6] for r in rest) / len(rest) - sum(r[6] for r in women_over_60) / len(women_over_60)
    assert dpl == pytest.approx(expected, abs=1e-12)
    assert facet["p_value"] < 1e-6
    scan = doc["scan"]
    top = scan["groups"][0]
    assert top["group"] == {"gender": "female", "age": "(60, inf)"}
    assert top["significant"] is True
    assert top["adjusted_p_value"] >= top["p_value"]
    # every combination is accounted for: 7 column subsets; tested + too small = all groups
    assert scan["groups_tested"] + scan["groups_too_small"] == len(scan["groups"]) + len(scan["too_small"])
    assert all(g["n_d"] >= 30 and g["n_a"] >= 30 for g in scan["groups"])
    assert {tuple(g["group"]) for g in scan["groups"]} >= {
        ("gender",),
        ("age",),
        ("gender", "age", "housing"),
    }


def test_the_analysis_json_and_clarify_facets_are_unchanged(planted, tmp_path):
    folder, _ = planted
    run_analysis(CONFIG, str(folder / "applications.csv"), str(tmp_path / "plain"))
    run_analysis(
        CONFIG, str(folder / "applications.csv"), str(tmp_path / "scan"), intersections=INTERSECTIONS
    )
    assert (tmp_path / "plain" / "analysis.json").read_bytes() == (
        tmp_path / "scan" / "analysis.json"
    ).read_bytes()


def test_the_report_lists_the_worst_groups(planted, tmp_path):
    folder, _ = planted
    config = json.loads(json.dumps(CONFIG))
    config["methods"]["report"] = {"name": "report"}
    run_analysis(
        config,
        str(folder / "applications.csv"),
        str(tmp_path),
        intersections={**INTERSECTIONS, "top": 5},
        confidence_intervals={"seed": 1},
    )
    html = (tmp_path / "report.html").read_text()
    assert '<section id="intersections">' in html
    assert "gender = female AND age = (60, inf)" in html
    assert html.count("<tr><td><code>") == 5 + 0  # five scan rows (facets table uses a plain <td>)


def test_holm_and_benjamini_hochberg_match_their_definitions():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.06 (monotone)
    np.testing.assert_allclose(holm(p), [0.03, 0.06, 0.06, 0.02])
    # BH: sorted p * 4 / rank = 0.02, 0.02, 0.04, 0.04 (monotone from the top)
    np.testing.assert_allclose(benjamini_hochberg(p), [0.02, 0.04, 0.04, 0.02])


def test_two_proportion_test_matches_the_textbook_value():
    # 30/100 vs 45/100: pooled 0.375, z = 0.15 / sqrt(0.375 * 0.625 * 0.02) = 2.1909, p = 0.02846
    p = two_proportion_p_values(np.array([30]), np.array([100]), np.array([45]), np.array([100]))
    assert float(p[0]) == pytest.approx(0.02846, abs=2e-5)
    assert (
        float(two_proportion_p_values(np.array([0]), np.array([10]), np.array([0]), np.array([10]))[0]) == 1.0
    )


def test_bad_intersection_options_are_config_errors(planted, tmp_path):
    folder, _ = planted
    with pytest.raises(ClarifyConfigError, match="nothing to audit"):
        IntersectionConfig()
    with pytest.raises(ClarifyConfigError, match="correction"):
        IntersectionConfig(scan_columns=["gender"], correction="bonferoni")
    with pytest.raises(ClarifyConfigError, match=r"conditions\[0\]\.op"):
        IntersectionConfig(facets=[{"name": "x", "conditions": [("age", "=>", 60)]}])
    with pytest.raises(ClarifyConfigError, match="'gender' is string"):
        run_analysis(
            CONFIG,
            str(folder / "applications.csv"),
            str(tmp_path),
            intersections={"facets": [{"name": "x", "conditions": [("gender", ">", 3)]}]},
        )
    with pytest.raises(ClarifyConfigError, match="post-training ones need predicted labels"):
        run_analysis(
            CONFIG,
            str(folder / "applications.csv"),
            str(tmp_path),
            intersections={"scan_columns": ["gender"], "metrics": ["DI"]},
        )
