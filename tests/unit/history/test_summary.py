"""History records: what a task pushes, built from analysis.json, violations and thresholds."""

from __future__ import annotations

import json
import math

import pytest

from airflow_provider_clarify.analysis.checks import check_analysis, parse_thresholds
from airflow_provider_clarify.history import HISTORY_XCOM_KEY, record_analysis, record_gate
from airflow_provider_clarify.history.summary import MAX_FEATURES, make_record, summarize_analysis
from tests.support.history_runs import analysis_document


class _Ti:
    """Collects xcom_push calls (the record functions' only contact with the task)."""

    def __init__(self, fail: bool = False) -> None:
        self.pushed: list[tuple[str, object]] = []
        self.fail = fail

    def xcom_push(self, key, value):
        if self.fail:
            raise RuntimeError("XCom backend down")
        json.dumps(value, allow_nan=False)  # what the JSON column accepts
        self.pushed.append((key, value))


def test_metrics_are_flattened_and_non_finite_values_become_text():
    document = analysis_document({"DI": math.inf, "DPPL": 0.25, "AD": math.nan})
    digest = summarize_analysis(document)
    rows = {m["metric"]: m for m in digest["metrics"]}
    assert rows["DPPL"] == {"stage": "post_training", "facet": "gender", "group": "female", "metric": "DPPL",
                            "value": 0.25, "text": None}  # fmt: skip
    assert (rows["DI"]["value"], rows["DI"]["text"]) == (None, "+inf")
    assert (rows["AD"]["value"], rows["AD"]["text"]) == (None, "nan")
    assert digest["shap"] is None


def test_shap_keeps_the_largest_importances_only():
    shap = {f"f{i:02d}": (i - 12) / 100 for i in range(30)}
    digest = summarize_analysis(analysis_document({"DI": 1.0}, shap))
    kept = digest["shap"]["values"]
    assert len(kept) == MAX_FEATURES
    assert min(abs(v) for v in kept.values()) >= max(abs(v) for k, v in shap.items() if k not in kept)


def test_record_analysis_reads_the_result_and_pushes_one_xcom(tmp_path):
    (tmp_path / "analysis.json").write_text(json.dumps(analysis_document({"DI": 0.7})))
    ti = _Ti()
    record = record_analysis({"ti": ti}, f"file://{tmp_path}")
    assert ti.pushed == [(HISTORY_XCOM_KEY, record)]
    assert record["kind"] == "analysis"
    assert record["report_uri"] == f"file://{tmp_path}/report.html"
    assert [m["value"] for m in record["metrics"]] == [0.7]


def test_recording_never_fails_the_task(tmp_path, caplog):
    assert record_analysis({"ti": _Ti()}, str(tmp_path / "missing")) is None
    assert record_gate({"ti": _Ti(fail=True)}, True, []) is None
    assert "Could not record" in caplog.text


def test_record_gate_keeps_verdict_violations_and_bands_of_a_real_check():
    result = analysis_document({"DI": 0.5, "DPPL": 0.05})
    rules = parse_thresholds({"DI": "[0.8, 1.25]", "DPPL": (-0.1, 0.1)})
    outcome = check_analysis(result, thresholds=rules)
    ti = _Ti()
    record = record_gate({"ti": ti}, outcome.passed, outcome.violations, rules, "s3://b/r", result)
    assert record["verdict"] == "violated"
    assert [(v["metric"], v["facet"], v["group"], v["value"], v["bound"]) for v in record["violations"]] == [
        ("DI", "gender", "female", 0.5, "[0.8, 1.25]")
    ]
    assert {(b["metric"], b["lower"], b["upper"]) for b in record["bands"]} == {
        ("DI", 0.8, 1.25),
        ("DPPL", -0.1, 0.1),
    }
    assert len(record["metrics"]) == 2
    assert record_gate({"ti": ti}, "skipped", [])["verdict"] == "skipped"


def test_an_unknown_verdict_is_refused():
    with pytest.raises(ValueError, match="verdict"):
        make_record("gate", verdict="maybe")
