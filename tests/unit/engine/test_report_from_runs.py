"""report.html written by run_analysis: the Groups section from the bias pass's counts and the SHAP
beeswarm from the local values just saved (issue 17 item 4), checked against counts taken from the
golden CSV with the csv module."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from airflow_provider_clarify.engine import run_analysis
from tests.unit.engine.golden import GOLDEN_CSV, golden_case

CELLS = ("tp", "fp", "fn", "tn")
ROUNDING = 5e-4 + 1e-12  # the report shows rates with 3 decimals


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    with open(GOLDEN_CSV, newline="") as handle:
        return list(csv.DictReader(handle))


def _config(name: str, **methods) -> dict:
    config = json.loads(json.dumps(golden_case(name)["analysis_config"]))
    config["excluded_columns"] = ["score"]
    config["methods"].update(methods)
    return config


def _section(page: str, name: str) -> str:
    found = re.search(rf'<section id="{name}">.*?</section>', page, re.S)
    assert found, f"no {name} section"
    return found.group(0)


def _group_rows(section: str) -> dict[str, list[str]]:
    """Group -> its numeric cells (records d / a, share, label rates, prediction rates)."""
    body = re.search(r'<table class="groups">.*?</table>', section, re.S).group(0)
    return {
        group: re.findall(r'<td class="num">([^<]*)</td>', cells)
        for group, cells in re.findall(r"<tr><td>([^<]*)</td>(.*?)</tr>", body, re.S)
    }


def _pair(text: str) -> tuple[float, float]:
    d, a = text.split(" / ")
    return float(d), float(a)


def _confusion(rows: list[dict], in_d) -> dict[str, dict[str, int]]:
    """Confusion cells of d (rows where ``in_d``) and a (the rest), label approved=1, prediction predicted=1."""
    sides = {side: dict.fromkeys(CELLS, 0) for side in ("d", "a")}
    for row in rows:
        y, yhat = row["approved"] == "1", row["predicted"] == "1"
        cell = ("t" if y == yhat else "f") + ("p" if yhat else "n")
        sides["d" if in_d(row) else "a"][cell] += 1
    return sides


def test_groups_of_a_post_training_run_match_counts_from_the_csv(tmp_path, rows):
    """One-vs-rest facet ``job``: every job value is a group, with its rates and both confusion matrices."""
    config = _config("job_each_value", report={"name": "report"})
    run_analysis(config, str(GOLDEN_CSV), str(tmp_path))
    page = (tmp_path / "report.html").read_text()
    groups = _section(page, "groups")
    shown = _group_rows(groups)
    jobs = list(dict.fromkeys(row["job"] for row in rows))
    assert list(shown) == jobs
    for job in jobs:
        sides = _confusion(rows, lambda row, job=job: row["job"] == job)
        n = {side: sum(cells.values()) for side, cells in sides.items()}
        records, share, labels, predictions = shown[job]
        assert records == f"{n['d']} / {n['a']}"
        assert float(share) == pytest.approx(n["d"] / len(rows), abs=ROUNDING)
        expected_labels = [(sides[s]["tp"] + sides[s]["fn"]) / n[s] for s in ("d", "a")]
        expected_predictions = [(sides[s]["tp"] + sides[s]["fp"]) / n[s] for s in ("d", "a")]
        assert _pair(labels) == pytest.approx(expected_labels, abs=ROUNDING)
        assert _pair(predictions) == pytest.approx(expected_predictions, abs=ROUNDING)
        for side, caption in (("d", f"d: job = {job}"), ("a", "a: everyone else")):
            matrices = re.findall(
                rf"<h4>Confusion matrices · job = {job}</h4>.*?<caption>{caption}</caption>(.*?)</table>",
                groups,
                re.S,
            )
            assert matrices, (job, side)
            for cell in CELLS:
                assert f'<td class="num {cell}">{sides[side][cell]}</td>' in matrices[0], (job, side, cell)
    assert page.index('id="groups"') < page.index('id="bias"')


def test_a_pre_training_run_shows_label_rates_without_prediction_rates(tmp_path, rows):
    """Label credit_amount > 5000, facet sex = female: sizes and label rates; no predictions, no matrices."""
    run_analysis(_config("amount_threshold_label", report={"name": "report"}), str(GOLDEN_CSV), str(tmp_path))
    groups = _section((tmp_path / "report.html").read_text(), "groups")
    female = [row for row in rows if row["sex"] == "female"]
    others = [row for row in rows if row["sex"] != "female"]

    def label_rate(part: list[dict]) -> float:
        return sum(float(row["credit_amount"]) > 5000 for row in part) / len(part)

    shown = _group_rows(groups)
    assert list(shown) == ["female"]
    records, share, labels = shown["female"]  # no prediction-rate column
    assert records == f"{len(female)} / {len(others)}"
    assert _pair(labels) == pytest.approx([label_rate(female), label_rate(others)], abs=ROUNDING)
    assert "Positive predictions" not in groups
    assert 'class="confusion"' not in groups


def test_the_report_does_not_change_analysis_json(tmp_path):
    plain, reported = tmp_path / "plain", tmp_path / "reported"
    run_analysis(_config("sex_female"), str(GOLDEN_CSV), str(plain))
    run_analysis(_config("sex_female", report={"name": "report"}), str(GOLDEN_CSV), str(reported))
    assert (reported / "analysis.json").read_bytes() == (plain / "analysis.json").read_bytes()
    assert sorted(p.name for p in reported.iterdir()) == ["analysis.json", "report.html"]


def _shap_config(save_local: bool) -> dict:
    config = _config("sex_female")
    config["excluded_columns"] = ["predicted"]
    config.pop("predicted_label")
    config["methods"] = {
        "shap": {
            "baseline": [["male", 30, "skilled", "own", 2000, 12, 0.5]],
            "num_samples": 20,
            "save_local_shap_values": save_local,
        },
        "report": {"name": "report"},
    }
    return config


def _score_model(features):
    return np.asarray(features[:, 6], dtype=float)  # the score column


def test_a_shap_run_with_saved_local_values_shows_the_beeswarm(tmp_path, rows):
    head = tmp_path / "head.csv"
    with open(head, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[:60])
    out = tmp_path / "out"
    run_analysis(_shap_config(True), str(head), str(out), model=_score_model)
    page = (out / "report.html").read_text()
    swarm = _section(page, "local-shap")
    with open(out / "explanations_shap" / "out.csv", newline="") as handle:
        saved = list(csv.reader(handle))
    header, records = saved[0], saved[1:]
    assert len(records) == 60
    (key,) = json.loads((out / "analysis.json").read_text())["explanations"]["kernel_shap"]
    swarms = re.findall(r'<g class="swarm" data-feature="([^"]+)">(.*?)</g>', swarm, re.S)
    assert swarms
    for feature, dots in swarms:
        xs = [float(x) for x in re.findall(r'cx="([\d.]+)"', dots)]
        assert len(xs) == 60  # one dot per saved record
        column = [float(r[header.index(f"{feature}_{key}")]) for r in records]
        by_value = [xs[i] for i in np.argsort(column, kind="stable")]
        assert by_value == sorted(by_value)  # placed along x by the saved SHAP value
    assert 'id="groups"' not in page  # no bias analysis, no groups

    run_analysis(_shap_config(False), str(head), str(tmp_path / "unsaved"), model=_score_model)
    assert 'id="local-shap"' not in (tmp_path / "unsaved" / "report.html").read_text()
