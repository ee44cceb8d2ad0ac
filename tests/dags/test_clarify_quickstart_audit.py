"""The offline quickstart DAG (``dags/clarify_quickstart_audit.py``) runs end to end under ``dag.test()``.

The DAG folder is served through a ``LocalDagBundle`` (tests/support/dag_runs.py). Outputs go to a
temporary directory through ``CLARIFY_DEMO_OUTPUT``, read by the DAG file when it is parsed.
"""

from __future__ import annotations

import json
import math

import pendulum
import pytest

from tests.support.dag_runs import bundled_dag, task_states
from tests.support.paths import DAGS_DIR

DAG_ID = "clarify_quickstart_audit"


@pytest.fixture
def quickstart_dag(tmp_path, monkeypatch, airflow_db):
    monkeypatch.setenv("CLARIFY_DEMO_OUTPUT", str(tmp_path / "demo-output"))
    dag = bundled_dag(
        monkeypatch, DAGS_DIR, DAG_ID, bundle_name="example-dags", parse=DAGS_DIR / f"{DAG_ID}.py"
    )
    return dag, tmp_path / "demo-output"


def test_quickstart_dag_runs_offline_and_writes_reports(quickstart_dag, capfd):
    dag, output = quickstart_dag

    run = dag.test(logical_date=pendulum.datetime(2024, 3, 1, tz="UTC"))
    # compute="local" tasks have no processing job: their console links are not looked up (this
    # run logged six "[error] XCom not found" lines before)
    assert "XCom not found" not in capfd.readouterr().out

    states = task_states(run)
    assert run.state == "success", states
    assert set(states.values()) == {"success"}

    pre = json.loads((output / "pre_training_bias" / "analysis.json").read_text())
    post = json.loads((output / "post_training_bias" / "analysis.json").read_text())
    explain = json.loads((output / "explainability" / "analysis.json").read_text())
    for stage in ("pre_training_bias", "post_training_bias", "explainability"):
        assert (output / stage / "report.html").stat().st_size > 1000
        assert (output / stage / "analysis_config.json").exists()

    def metric(section: dict, name: str) -> float:
        (group,) = section["facets"]["gender"]
        assert group["value_or_threshold"] == "female"
        return next(m["value"] for m in group["metrics"] if m["name"] == name)

    # The generator makes ~40% of applicants women (CI ~ +0.2) and gives men +0.9 approval log-odds.
    assert metric(pre["pre_training_bias_metrics"], "CI") == pytest.approx(0.2, abs=0.05)
    assert 0.08 < metric(pre["pre_training_bias_metrics"], "DPL") < 0.3
    # The model learns the bias: women are approved less often (DI < 1, DPPL > 0).
    assert metric(post["post_training_bias_metrics"], "DI") < 0.8
    assert metric(post["post_training_bias_metrics"], "DPPL") > 0.05
    shap = next(iter(explain["explanations"]["kernel_shap"].values()))["global_shap_values"]
    assert set(shap) == {"gender", "age", "income", "credit_amount", "duration", "housing"}
    assert all(math.isfinite(v) for v in shap.values())
    assert shap["gender"] > shap["age"]  # age plays no part in the generated approvals
    assert {entry["feature_name"] for entry in explain["explanations"]["pdp"]} == {"income", "gender"}

    summary = (output / "summary.txt").read_text()
    for expected in ("DPL", "DI", "report.html", "VIOLATED"):
        assert expected in summary
    # The gate found the model's bias and wrote Model Monitor's violations file next to the result.
    violations = json.loads((output / "post_training_bias" / "constraint_violations.json").read_text())
    assert {v["metric_name"] for v in violations["violations"]} >= {"DI", "DPPL"}

    # Every audit task recorded its history (operators' one-line record calls), read back as the page does.
    from airflow.utils.session import create_session

    from airflow_provider_clarify.history.query import dag_history

    with create_session() as session:
        history = dag_history(session, DAG_ID)
    (recorded,) = [r for r in history["runs"] if r["run_id"] == run.run_id]
    assert recorded["verdict"] == "violated"
    assert recorded["violations"] == len(violations["violations"])
    assert set(recorded["reports"]) == {
        "pre_training_bias",
        "post_training_bias",
        "explainability",
    }
    series = {(s["stage"], s["metric"]): s for s in history["metrics"]}
    di = series[("post_training", "DI")]
    assert di["values"][-1] == pytest.approx(metric(post["post_training_bias_metrics"], "DI"))
    assert di["violated"][-1]
    assert di["band"] == {"lower": 0.8, "upper": 1.25}
    assert series[("pre_training", "CI")]["values"][-1] == pytest.approx(
        metric(pre["pre_training_bias_metrics"], "CI")
    )
    assert history["shap"]["values"]["gender"][-1] == pytest.approx(shap["gender"])
