"""Feature-attribution monitoring with the open engine: SHAP on captured features, NDCG drift."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np

from airflow_provider_clarify.engine.monitoring import run_monitoring_execution
from tests.support import monitoring as traffic_support
from tests.support.model_server import ModelServer

T0 = datetime(2024, 5, 1, 8, tzinfo=UTC)


def explain_definition(tmp_path, baseline=None):
    config = traffic_support.write_json(
        tmp_path / "explain.json",
        {
            "methods": {"shap": {"baseline": [[0.5, 45, 50.0]], "num_samples": 20, "agg_method": "mean_abs",
                                 "use_logit": False, "save_local_shap_values": False}},
            "predictor": {"model_name": "credit-model", "instance_type": "ml.m5.xlarge", "initial_instance_count": 1,
                          "content_type": "text/csv", "accept_type": "text/csv"},
            "headers": ["gender", "age", "income"],
        },
    )  # fmt: skip
    definition = {
        "JobDefinitionName": "explain",
        "ModelExplainabilityAppSpecification": {"ImageUri": "img", "ConfigUri": str(config)},
        "ModelExplainabilityJobInput": {"EndpointInput": {"EndpointName": traffic_support.ENDPOINT}},
        "ModelExplainabilityJobOutputConfig": {
            "MonitoringOutputs": [{"S3Output": {"S3Uri": str(tmp_path / "r")}}]
        },
    }
    if baseline:
        definition["ModelExplainabilityBaselineConfig"] = {"ConstraintsResource": {"S3Uri": baseline}}
    return definition


def test_shap_drift_when_the_model_starts_using_another_feature(tmp_path):
    data = traffic_support.make_traffic(60, T0, timedelta(hours=1), seed=31)
    traffic_support.write_capture(tmp_path / "capture", data)
    later = traffic_support.make_traffic(60, T0 + timedelta(hours=1), timedelta(hours=1), seed=32)
    traffic_support.write_capture(tmp_path / "capture", later)
    capture = str(tmp_path / "capture")

    with ModelServer(traffic_support.score) as server:  # income drives the score
        first = run_monitoring_execution(
            explain_definition(tmp_path), T0 + timedelta(hours=1), data_capture_uri=capture,
            output=str(tmp_path / "baseline"), model_url=server.url,
        )  # fmt: skip
        assert first.status == "Completed", first.failure_reason
        assert server.calls > 0
    shap = json.loads((tmp_path / "baseline" / "analysis.json").read_text())["explanations"]["kernel_shap"]
    values = next(iter(shap.values()))["global_shap_values"]
    assert max(values, key=values.get) == "income"

    def age_model(x: np.ndarray) -> np.ndarray:  # a new model version: age drives the score
        return 1 / (1 + np.exp(-(np.asarray(x, dtype=float)[:, 1] - 45) / 5))

    with ModelServer(age_model) as server:
        drifted = run_monitoring_execution(
            explain_definition(tmp_path, baseline=first.analysis_uri), T0 + timedelta(hours=2),
            data_capture_uri=capture, output=str(tmp_path / "drifted"), model_url=server.url,
        )  # fmt: skip
    assert drifted.status == "CompletedWithViolations"
    report = json.loads((tmp_path / "drifted" / "constraint_violations.json").read_text())
    (violation,) = report["violations"]
    assert violation["constraint_check_type"] == "feature_attribution_drift_check"
    assert violation["metric_name"] == "shap"
    assert "exceeds threshold 0.9" in violation["description"]


def test_same_model_same_traffic_has_no_attribution_drift(tmp_path):
    data = traffic_support.make_traffic(40, T0, timedelta(hours=1), seed=33)
    traffic_support.write_capture(tmp_path / "capture", data)
    with ModelServer(traffic_support.score) as server:
        first = run_monitoring_execution(
            explain_definition(tmp_path), T0 + timedelta(hours=1), data_capture_uri=str(tmp_path / "capture"),
            output=str(tmp_path / "a"), model_url=server.url,
        )  # fmt: skip
        again = run_monitoring_execution(
            explain_definition(tmp_path, baseline=first.analysis_uri), T0 + timedelta(hours=1),
            data_capture_uri=str(tmp_path / "capture"), output=str(tmp_path / "b"), model_url=server.url,
        )  # fmt: skip
    assert again.status == "Completed"
    assert again.violations == []
