"""Model Monitor's CloudWatch metric names, namespaces and dimensions for an analysis.json."""

from __future__ import annotations

import math

from airflow_provider_clarify.analysis.monitoring.cloudwatch import INFINITY, batches, metric_data, namespace

BIAS = {
    "pre_training_bias_metrics": {
        "label": "approved",
        "label_value_or_threshold": "1",
        "facets": {
            "gender": [
                {
                    "value_or_threshold": "0",
                    "metrics": [
                        {"name": "CI", "value": 0.2},
                        {"name": "CDDL", "value": None, "error": "Group variable is empty or not provided"},
                        {"name": "KL", "value": math.inf},
                    ],
                }
            ]
        },
    },
    "post_training_bias_metrics": {
        "label": "approved",
        "label_value_or_threshold": "1",
        "facets": {"gender": [{"value_or_threshold": "0", "metrics": [{"name": "DPPL", "value": -0.1}]}]},
    },
}


def test_bias_metrics_names_dimensions_and_special_values():
    data = metric_data(BIAS, "ModelBias", monitoring_schedule="sched", endpoint_name="ep")
    assert [d["MetricName"] for d in data] == ["bias_metric_CI", "bias_metric_KL", "bias_metric_DPPL"]
    assert data[1]["Value"] == INFINITY  # +inf is published as 2.348543e108; the null CDDL is not published
    assert data[0]["Dimensions"] == [
        {"Name": "Endpoint", "Value": "ep"},
        {"Name": "MonitoringSchedule", "Value": "sched"},
        {"Name": "BiasStage", "Value": "Pre-training"},
        {"Name": "Label", "Value": "approved"},
        {"Name": "LabelValue", "Value": "1"},
        {"Name": "Facet", "Value": "gender"},
        {"Name": "FacetValue", "Value": "0"},
    ]
    assert data[2]["Dimensions"][2] == {"Name": "BiasStage", "Value": "Post-Training"}
    assert namespace("ModelBias", "ep") == "aws/sagemaker/Endpoints/bias-metrics"
    assert namespace("ModelBias", None) == "aws/sagemaker/ModelMonitoring/bias-metrics"


def test_explainability_metrics():
    analysis = {"explanations": {"kernel_shap": {"label0": {"global_shap_values": {"age": 0.3, "income": 0.1},
                                                            "expected_value": 0.5}}}}  # fmt: skip
    data = metric_data(analysis, "ModelExplainability", monitoring_schedule="s")
    assert [d["MetricName"] for d in data] == ["feature_age", "feature_income", "ExpectedValue"]
    assert {"Name": "ValueType", "Value": "ExpectedValue"} in data[2]["Dimensions"]
    assert {"Name": "ExplainabilityMethod", "Value": "KernelShap"} in data[0]["Dimensions"]
    assert all(d["Name"] != "Endpoint" for d in data[0]["Dimensions"])
    assert namespace("ModelExplainability", None) == "aws/sagemaker/ModelMonitoring/explainability-metrics"


def test_batches_respect_the_put_metric_data_limit():
    assert [len(b) for b in batches([{}] * 2500)] == [1000, 1000, 500]
