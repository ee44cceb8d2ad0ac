"""report.html additions: the Groups section (counts, rates, confusion matrices), one plain sentence
per metric, and the beeswarm of local SHAP values."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from airflow_provider_clarify.engine.explain.local_values import local_values_csv
from airflow_provider_clarify.engine.metric_sentences import METRIC_SENTENCES
from airflow_provider_clarify.engine.report import BEESWARM_MAX_POINTS, render_report_html
from tests.support.paths import GOLDEN_DIR


def _golden():
    case = json.loads((GOLDEN_DIR / "smclarify_golden.json").read_text())[0]
    analysis = {k: case[k] for k in ("pre_training_bias_metrics", "post_training_bias_metrics")}
    return case, {"version": "1.0", **analysis}


def _golden_group_stats() -> dict:
    """Confusion counts of sex=female (d) and everyone else (a), counted from the golden CSV."""
    sides = {"d": dict.fromkeys(("tp", "fp", "fn", "tn"), 0), "a": dict.fromkeys(("tp", "fp", "fn", "tn"), 0)}
    with (GOLDEN_DIR / "synthetic_credit.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            y, yhat = row["approved"] == "1", row["predicted"] == "1"
            cell = {(True, True): "tp", (False, True): "fp", (True, False): "fn", (False, False): "tn"}[
                (y, yhat)
            ]
            sides["d" if row["sex"] == "female" else "a"][cell] += 1
    return {"sex": {"female": sides}}


def _section(page: str, name: str) -> str:
    return re.search(rf'<section id="{name}">.*?</section>', page, re.S).group(0)


def _metric(case: dict, stage: str, name: str) -> float:
    (group,) = case[f"{stage}_bias_metrics"]["facets"]["sex"]
    return next(m["value"] for m in group["metrics"] if m["name"] == name)


def test_group_rates_agree_with_smclarifys_metrics():
    case, analysis = _golden()
    stats = _golden_group_stats()
    page = render_report_html(analysis, case["analysis_config"], group_stats=stats)
    groups = _section(page, "groups")
    cells = re.findall(r'<td class="num">([^<]*)</td>', groups)
    d, a = stats["sex"]["female"]["d"], stats["sex"]["female"]["a"]
    n_d, n_a = sum(d.values()), sum(a.values())
    assert cells[0] == f"{n_d} / {n_a}"
    label_d, label_a = (float(x) for x in cells[2].split(" / "))
    pred_d, pred_a = (float(x) for x in cells[3].split(" / "))
    # the shown rates (3 decimals) reproduce smclarify's DPL, DPPL and DI for the same data
    assert label_a - label_d == pytest.approx(_metric(case, "pre_training", "DPL"), abs=2e-3)
    assert pred_a - pred_d == pytest.approx(_metric(case, "post_training", "DPPL"), abs=2e-3)
    assert pred_d / pred_a == pytest.approx(_metric(case, "post_training", "DI"), abs=1e-2)
    # both confusion matrices, cell by cell
    for side in (d, a):
        for cell in ("tp", "fn", "fp", "tn"):
            assert f'<td class="num {cell}">{side[cell]}</td>' in groups
    assert groups.count('<table class="confusion"') == 2
    assert page.index('id="groups"') < page.index('id="bias"')


def test_groups_without_predictions_show_label_rates_only():
    case, analysis = _golden()
    stats = {"sex": {"female": {"d": {"n": 40, "label_pos": 10}, "a": {"n": 60, "label_pos": 30}}}}
    groups = _section(render_report_html(analysis, case["analysis_config"], group_stats=stats), "groups")
    assert re.findall(r'<td class="num">([^<]*)</td>', groups) == ["40 / 60", "0.4", "0.25 / 0.5"]
    assert 'class="confusion"' not in groups
    assert 'id="groups"' not in render_report_html(analysis, case["analysis_config"])


def test_every_metric_row_says_what_it_means_and_the_unfair_direction():
    case, analysis = _golden()
    bias = _section(render_report_html(analysis, case["analysis_config"]), "bias")
    sentences = re.findall(r'<span class="sentence">([^<]*)</span>', bias)
    rows = len(re.findall(r"<tr class=", bias))
    assert len(sentences) == rows > 0
    assert any("four-fifths" in s for s in sentences)
    assert set(METRIC_SENTENCES) >= {"CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL", "DPPL", "DI", "DCA",
                                     "DCR", "RD", "SD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT", "GE"}  # fmt: skip


def test_beeswarm_draws_one_dot_per_record_at_its_shap_value():
    case, analysis = _golden()
    rng = np.random.default_rng(3)
    features = ["age", "credit_amount", "duration"]
    values = rng.normal(0, [[0.02, 0.08, 0.01]], size=(50, 3))[:, None, :]  # (records, outputs, features)
    analysis["explanations"] = {
        "kernel_shap": {
            "label0": {
                "global_shap_values": dict(
                    zip(features, np.abs(values[:, 0, :]).mean(axis=0).tolist(), strict=True)
                )
            }
        }
    }
    text = local_values_csv(values, features, ["label0"])
    section = _section(
        render_report_html(analysis, case["analysis_config"], local_shap_csv=text), "local-shap"
    )
    swarms = re.findall(r'<g class="swarm" data-feature="([^"]+)">(.*?)</g>', section, re.S)
    assert [name for name, _ in swarms] == ["credit_amount", "age", "duration"]  # by global importance
    for name, dots in swarms:
        xs = [float(x) for x in re.findall(r'cx="([\d.]+)"', dots)]
        assert len(xs) == 50
        column = values[:, 0, features.index(name)]
        # along x, the dots are in the order of the records' SHAP values
        by_value = [xs[i] for i in np.argsort(column)]
        assert by_value == sorted(by_value)
        assert by_value[0] < by_value[-1]


def test_beeswarm_subsamples_large_outputs():
    case, analysis = _golden()
    values = np.linspace(-1, 1, 2000).reshape(2000, 1, 1)
    analysis["explanations"] = {"kernel_shap": {"label0": {"global_shap_values": {"age": 0.5}}}}
    section = _section(render_report_html(analysis, case["analysis_config"],
                                          local_shap_csv=local_values_csv(values, ["age"], ["label0"])), "local-shap")  # fmt: skip
    assert 0 < section.count("<circle") <= BEESWARM_MAX_POINTS
    assert "of 2000 records drawn" in section
