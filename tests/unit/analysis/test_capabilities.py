"""One rule for "needs a model" and one for "the open engine can run this" (issue 10 item 4)."""

from __future__ import annotations

import pytest

from airflow_provider_clarify.analysis import AnalysisConfig
from airflow_provider_clarify.analysis.capabilities import engine_problems, model_methods, needs_model
from airflow_provider_clarify.analysis.model_source import analysis_needs_model
from airflow_provider_clarify.analysis.preflight import preflight_problems

BIAS = {"label": "y", "label_values_or_threshold": [1], "facet": [{"name_or_index": "g"}]}
PREDICTOR = {"model_name": "m", "instance_type": "ml.m5.xlarge", "initial_instance_count": 1}

CASES = [
    ({"methods": {"pre_training_bias": {"methods": "all"}}}, ()),
    ({"methods": {"post_training_bias": {"methods": "all"}}}, ("post_training_bias",)),
    ({"methods": {"post_training_bias": {"methods": "all"}}, "predicted_label": "p"}, ()),
    ({"methods": {"post_training_bias": {"methods": "all"}}, "predicted_label": 0}, ()),
    ({"methods": {"post_training_bias": {"methods": "all"}}, "predicted_label": ""}, ("post_training_bias",)),
    (
        {"methods": {"post_training_bias": {"methods": "all"}}, "predicted_label_dataset_uri": "s3://b/p"},
        (),
    ),
    ({"methods": {"shap": {}, "post_training_bias": {"methods": "all"}}}, ("shap", "post_training_bias")),
    ({"methods": {"pdp": {"features": ["a"]}}}, ("pdp",)),
    ({"methods": {"report": {"name": "r"}}}, ()),
]


@pytest.mark.parametrize(("extra", "expected"), CASES)
def test_every_place_that_asks_gets_the_same_answer(extra, expected):
    config = {"dataset_type": "text/csv", **BIAS, **extra}
    assert model_methods(config) == expected
    assert needs_model(config) is bool(expected)
    assert analysis_needs_model(config) is bool(expected)  # the model source (compute='local')
    assert AnalysisConfig.from_dict(config).needs_model is bool(expected)
    # preflight (SageMaker mode) asks for a predictor exactly when a model is needed
    missing_predictor = [p for p in preflight_problems(config) if p.path == "predictor" and p.is_error]
    assert bool(missing_predictor) is bool(expected)


def test_the_engine_runs_tabular_bias_and_explanations():
    config = {"dataset_type": "application/x-parquet", "methods": {"shap": {}, "pdp": {}, "report": {}}}
    assert engine_problems(config) == []


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"dataset_type": "application/x-image", "methods": {"shap": {}}}, "dataset_type"),
        (
            {"dataset_type": "text/csv", "methods": {"shap": {"image_config": {}}}},
            "methods.shap.image_config",
        ),
        (
            {"dataset_type": "text/csv", "methods": {"asymmetric_shapley_value": {}}},
            "methods.asymmetric_shapley_value",
        ),
        ({"dataset_type": "application/sagemakercapturejson", "methods": {}}, "dataset_type"),
    ],
)
def test_what_the_engine_cannot_run_is_named(config, path):
    assert path in [p for p, _ in engine_problems(config)]
    assert "compute='sagemaker'" in dict(engine_problems(config))[path]


def test_local_preflight_rejects_what_the_engine_rejects_and_sagemaker_preflight_does_not():
    config = {
        "dataset_type": "application/x-image",
        "methods": {"shap": {"image_config": {"model_type": "IMAGE_CLASSIFICATION"}, "num_samples": 10}},
        "predictor": {**PREDICTOR, "label_headers": ["cat", "dog"], "content_type": "image/jpeg"},
    }
    local = {p.path for p in preflight_problems(config, compute="local") if p.is_error}
    managed = {p.path for p in preflight_problems(config, compute="sagemaker") if p.is_error}
    assert {"dataset_type", "methods.shap.image_config"} <= local
    assert not {"dataset_type", "methods.shap.image_config"} & managed


@pytest.mark.parametrize("name", ["../../x", "reports/final", "..\\\\x", "a/../b", ".."])
def test_report_names_with_folders_are_rejected(name):
    config = {
        "dataset_type": "text/csv",
        **BIAS,
        "methods": {"report": {"name": name}, "pre_training_bias": {}},
    }
    for compute in ("sagemaker", "local"):
        errors = {p.path: p.message for p in preflight_problems(config, compute=compute) if p.is_error}
        assert "plain file name" in errors["methods.report.name"]


def test_a_plain_report_name_is_fine():
    config = {
        "dataset_type": "text/csv",
        **BIAS,
        "methods": {"report": {"name": "my-report"}, "pre_training_bias": {}},
    }
    assert "methods.report.name" not in {p.path for p in preflight_problems(config)}


@pytest.mark.parametrize(
    ("config", "model_given", "paths"),
    [
        ({"methods": {"shap": {}, "pdp": {}, "report": {}}, "predictor": {"endpoint_name": "ep"}}, False, []),
        ({"methods": {"shap": {}, "pdp": {}}}, True, []),
        ({"methods": {"pdp": {}}, "predictor": {"model_name": "m"}}, False, ["predictor"]),
        ({"methods": {"shap": {"text_config": {}}}}, True, ["methods.shap.text_config"]),
        ({"methods": {"shap": {"image_config": {}}}}, True, ["methods.shap.image_config"]),
        ({"methods": {"asymmetric_shapley_value": {}}}, True, ["methods.asymmetric_shapley_value"]),
    ],
    ids=["endpoint", "model_given", "model_name_only", "text", "image", "asymmetric"],
)
def test_the_spark_rule_accepts_tabular_explanations_with_a_callable_model(config, model_given, paths):
    from airflow_provider_clarify.analysis.capabilities import spark_problems

    found = spark_problems({"dataset_type": "text/csv", **config}, model_given=model_given)
    assert [path for path, _ in found] == paths
