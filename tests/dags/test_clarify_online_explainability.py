"""The online-explainability DAG runs offline under ``dag.test()``: the open explainer is the endpoint.

Checks what a user would: the endpoint answered SageMaker's document, only declined applications were
explained, the explanations are the exact Shapley values of the trained model against the suggested
baseline, the capture files were written, and the background processes are gone afterwards.
"""

from __future__ import annotations

import itertools
import json
import math
import os

import numpy as np
import pendulum
import pytest

from tests.support.dag_runs import bundled_dag, task_states
from tests.support.paths import DAGS_DIR

DAG_ID = "clarify_online_explainability"


@pytest.fixture
def online_dag(tmp_path, monkeypatch, airflow_db):
    monkeypatch.setenv("CLARIFY_DEMO_OUTPUT", str(tmp_path))
    dag = bundled_dag(
        monkeypatch, DAGS_DIR, DAG_ID, bundle_name="example-dags", parse=DAGS_DIR / f"{DAG_ID}.py"
    )
    return dag, tmp_path / "online"


def test_dag_deploys_the_open_explainer_and_reads_exact_explanations(online_dag):
    import joblib

    from airflow_provider_clarify.analysis.online import parse_baseline

    dag, output = online_dag
    run = dag.test(logical_date=pendulum.datetime(2024, 3, 1, tz="UTC"))
    states = task_states(run)
    assert run.state == "success", states
    assert states["deploy_sagemaker"] == "skipped"
    assert {states[t] for t in states if t != "deploy_sagemaker"} == {"success"}

    document = json.loads((output / "response.json").read_text())
    assert document["version"] == "1.0"
    assert document["label_headers"] == ["approved"]
    scores = [float(v) for v in document["predictions"]["data"].split()]
    explained = document["explanations"]["kernel_shap"]
    assert len(explained) == len(scores) == 20
    assert [r is not None for r in explained] == [s < 0.5 for s in scores]  # EnableExplanations
    assert any(r is not None for r in explained)

    model = joblib.load(output / "model" / "model.joblib")
    config = json.loads((output / "endpoint" / "explainer_config.json").read_text())
    baseline_text = config["ClarifyExplainerConfig"]["ShapConfig"]["ShapBaselineConfig"]["ShapBaseline"]
    assert len(baseline_text) <= 4096
    baseline = np.array(parse_baseline(baseline_text), dtype=float)
    assert baseline.shape[1] == 5
    calls = json.loads((output / "data.json").read_text())["calls"]

    for i, record in enumerate(explained):
        if record is None:
            continue
        x = np.array(calls[i], dtype=float)

        def value(coalition, x=x):
            return float(np.mean([model.predict_proba([np.where(coalition, x, b)])[0, 1] for b in baseline]))

        m = 5
        expected = np.zeros(m)
        for j in range(m):
            for size in range(m):
                weight = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
                for subset in itertools.combinations([k for k in range(m) if k != j], size):
                    without = np.array([k in subset for k in range(m)])
                    with_j = without.copy()
                    with_j[j] = True
                    expected[j] += weight * (value(with_j) - value(without))
        got = [feature["attributions"][0]["attribution"][0] for feature in record]
        assert [feature["feature_header"] for feature in record] == [
            "age", "income", "credit_amount", "duration", "existing_loans",
        ]  # fmt: skip
        np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-10)
    assert "declined mainly because of" in (output / "explanations.txt").read_text()

    captures = list((output / "capture").rglob("*.jsonl"))
    assert len(captures) == 1  # flushed when teardown stopped the explainer
    (line,) = captures[0].read_text().splitlines()
    captured = json.loads(line)
    assert captured["captureData"]["endpointInput"]["encoding"] == "CSV"
    assert json.loads(captured["captureData"]["endpointOutput"]["data"]) == document
    assert "/credit-explainer/AllTraffic/" in str(captures[0])

    endpoint = json.loads((output / "endpoint" / "endpoint.json").read_text())
    assert len(endpoint["pids"]) == 2  # the model server and the explainer
    for pid in endpoint["pids"]:  # both stopped by teardown
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
