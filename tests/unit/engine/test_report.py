"""report.html: content, self-containedness, and what a real browser (headless Chromium) shows."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from airflow_provider_clarify.engine.report import metric_status, render_report_html
from tests.support.paths import GOLDEN_DIR

GOLDEN = GOLDEN_DIR / "smclarify_golden.json"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _golden_case():
    return json.loads(GOLDEN.read_text())[0]


def _analysis_and_config():
    case = _golden_case()
    config = dict(case["analysis_config"])
    config["methods"] = dict(
        config["methods"],
        shap={"baseline": [[30, 2000, 12]], "agg_method": "mean_abs"},
        pdp={"grid_resolution": 3, "features": ["age", "housing"]},
        report={"name": "report", "title": "Credit audit <Q3>"},
    )
    analysis = {
        "version": "1.0",
        "pre_training_bias_metrics": case["pre_training_bias_metrics"],
        "post_training_bias_metrics": case["post_training_bias_metrics"],
        "explanations": {
            "kernel_shap": {"approved": {"global_shap_values": {"age": 0.031, "credit_amount": 0.0876, "duration": 0.0123},
                                         "expected_value": 0.512}},
            "pdp": [
                {"feature_name": "age", "data_type": "numerical", "feature_values": [25.0, 45.0, 65.0],
                 "data_distribution": [0.5, 0.3, 0.2], "model_predictions": [[0.41, 0.52, 0.63]], "label_headers": ["approved"]},
                {"feature_name": "housing", "data_type": "categorical", "feature_values": ["own", "rent"],
                 "data_distribution": [0.6, 0.4], "model_predictions": [[0.58, 0.47]], "label_headers": ["approved"]},
                {"feature_name": "notes", "data_type": "free_text", "error": "Detected data type is not supported for PDP."},
            ],
        },
    }  # fmt: skip
    return analysis, config, case


def test_fair_bands():
    assert metric_status("DI", 0.8) == "ok"
    assert metric_status("DI", 0.79) == "flagged"
    assert metric_status("DI", 1.3) == "flagged"
    assert metric_status("DPL", -0.1) == "ok"
    assert metric_status("DPL", 0.11) == "flagged"
    assert metric_status("KL", 0.2) == "flagged"
    assert metric_status("CI", None) == "na"
    assert metric_status("TE", float("inf")) == "flagged"


def test_html_is_self_contained_and_escapes_text():
    analysis, config, _ = _analysis_and_config()
    page = render_report_html(analysis, config)
    assert "<title>Credit audit &lt;Q3&gt;</title>" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched from a network
    assert "<script" not in page
    assert page.count('class="gauge"') == sum(
        len(g["metrics"]) for stage in ("pre_training_bias_metrics", "post_training_bias_metrics")
        for groups in analysis[stage]["facets"].values() for g in groups
    )  # fmt: skip


def test_infinite_and_missing_values_render():
    analysis = {"pre_training_bias_metrics": {"label": "y", "facets": {"g": [{"value_or_threshold": "a", "metrics": [
        {"name": "DI", "description": "Disparate Impact (DI)", "value": "Infinity"},
        {"name": "CDDL", "description": "Conditional Demographic Disparity in Labels (CDDL)", "value": None,
         "error": "Group variable is empty or not provided"},
    ]}]}}}  # fmt: skip
    page = render_report_html(analysis, {})
    assert "∞" in page
    assert "Group variable is empty or not provided" in page
    assert "FLAGGED" in page
    assert ">n/a<" in page


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Debian's chromium is needed for the browser check: `make browser` installs it"
    return path


def test_report_in_headless_chromium(tmp_path, chromium):
    analysis, config, case = _analysis_and_config()
    page = tmp_path / "report.html"
    page.write_text(render_report_html(analysis, config), encoding="utf-8")
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    ).stdout
    shot = tmp_path / "report.png"
    subprocess.run(
        [chromium, *flags, "--window-size=1280,2400", f"--screenshot={shot}", page.as_uri()],
        capture_output=True, timeout=90, check=True,
    )  # fmt: skip
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one

    text = re.sub(r"<[^>]+>", " ", dom)
    text = re.sub(r"\s+", " ", text)
    for heading in ("Credit audit <Q3>", "Summary", "Bias metrics", "Global SHAP importances", "Partial dependence",
                    "Analysis configuration"):  # fmt: skip
        assert heading in text.replace("&lt;", "<").replace("&gt;", ">")
    assert "Pre-training · facet sex = female" in text
    assert "Post-training · facet sex = female" in text
    di = next(
        m for m in case["post_training_bias_metrics"]["facets"]["sex"][0]["metrics"] if m["name"] == "DI"
    )
    assert f"{di['value']:.4f}" in text  # the DI value as shown
    flagged = dom.count('class="badge flagged"')
    assert flagged >= 1
    assert f"{flagged} of 19 bias metrics flagged" in text
    # SHAP bars: one per feature, the longest for the most important feature
    bars = re.findall(r'<rect class="bar"[^>]*width="([\d.]+)"[^>]*><title>([^:]+):', dom)
    assert [name for _, name in bars] == ["credit_amount", "age", "duration"]
    assert float(bars[0][0]) > float(bars[1][0]) > float(bars[2][0]) > 0
    assert dom.count('class="pdp"') == 2
    assert "polyline" in dom
    assert "Detected data type is not supported for PDP." in text
    assert '"grid_resolution": 3' in dom


def test_warnings_section_lists_each_warning_escaped():
    analysis, config, _ = _analysis_and_config()
    page = render_report_html(analysis, config, warnings=["12 rows had no label", "facet <b>age</b> has 1 value"])
    section = re.search(r'<section id="warnings">.*?</section>', page, re.S).group(0)
    assert re.findall(r"<li>(.*?)</li>", section) == ["12 rows had no label", "facet &lt;b&gt;age&lt;/b&gt; has 1 value"]
    assert page.index('id="summary"') < page.index('id="warnings"') < page.index('id="bias"')
    assert 'id="warnings"' not in render_report_html(analysis, config)


def test_every_text_from_the_data_is_escaped():
    """Autoescape: feature names, groups, metric errors, headers and config values cannot inject markup."""
    evil = "<x-evil>"
    analysis = {
        "pre_training_bias_metrics": {"label": evil, "facets": {evil: [{"value_or_threshold": evil, "metrics": [
            {"name": "CI", "description": evil, "value": None, "error": evil}]}]}},
        "explanations": {"kernel_shap": {evil: {"global_shap_values": {evil: 0.5}, "expected_value": 0.1,
                                                "global_top_shap_text": {evil: {evil: 0.2}}}},
                         "pdp": [{"feature_name": evil, "data_type": "categorical", "feature_values": [evil],
                                  "data_distribution": [1.0], "model_predictions": [[0.5]], "label_headers": [evil]},
                                 {"feature_name": "b", "data_type": "x", "error": evil}]},
    }  # fmt: skip
    config = {"label": evil, "facet": [{"name_or_index": evil}], "methods": {"report": {"name": "r", "title": evil}}}
    page = render_report_html(analysis, config, warnings=[evil])
    assert "<x-evil" not in page
    assert page.count("&lt;x-evil&gt;") >= 15


def test_sections_are_templates_shipped_in_the_package():
    from importlib.resources import files

    from airflow_provider_clarify.engine.report import SECTIONS

    templates = files("airflow_provider_clarify.engine") / "templates"
    assert all((templates / "sections" / f"{name}.html.j2").is_file() for name in SECTIONS)
