"""Jinja inside config objects, rendered by Airflow's real renderer (issue item 7).

The config classes never import Airflow; these tests do, to prove that an operator holding config
objects in its ``template_fields`` renders the Jinja inside them, and that validation waits for it.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from airflow.sdk import BaseOperator

from airflow_provider_clarify.analysis import configs
from airflow_provider_clarify.analysis.analysis_config import AnalysisConfig
from airflow_provider_clarify.analysis.configs import (
    BiasConfig,
    DataConfig,
    ModelConfig,
    ModelPredictedLabelConfig,
    PDPConfig,
    SegmentationConfig,
    SHAPConfig,
)
from airflow_provider_clarify.analysis.errors import ClarifyConfigError

CONTEXT = {
    "ds": "2024-03-01",
    "ds_nodash": "20240301",
    "params": {"label": "Target", "facet": "Gender", "model": "xgb-7"},
}


class AuditOperator(BaseOperator):
    """A stand-in for the provider's operators: config objects as templated arguments."""

    template_fields = ("data_config", "analysis_config")

    def __init__(self, *, data_config=None, analysis_config=None, **kwargs):
        super().__init__(**kwargs)
        self.data_config = data_config
        self.analysis_config = analysis_config

    def execute(self, context):
        return self.analysis_config.to_dict()


def test_data_config_paths_are_rendered_and_used_by_the_analysis_config():
    dc = DataConfig(
        "s3://bkt/{{ ds }}/train.csv", "s3://bkt/clarify/{{ ds_nodash }}/", label="{{ params.label }}",
        headers=["{{ params.label }}", "Gender"],
    )  # fmt: skip
    op = AuditOperator(task_id="audit", data_config=dc)
    op.render_template_fields(CONTEXT)
    assert op.data_config is dc  # rendered in place
    assert dc.s3_data_input_path == "s3://bkt/2024-03-01/train.csv"
    assert dc.s3_output_path == "s3://bkt/clarify/20240301/"
    config = AnalysisConfig.pre_training_bias(op.data_config, BiasConfig([1], "Gender", [0]))
    assert config.s3_data_input_path == "s3://bkt/2024-03-01/train.csv"
    assert json.dumps(config.to_dict()) == json.dumps(
        {
            "dataset_type": "text/csv", "headers": ["Target", "Gender"], "label": "Target",
            "label_values_or_threshold": [1], "facet": [{"name_or_index": "Gender", "value_or_threshold": [0]}],
            "methods": {"report": {"name": "report", "title": "Analysis Report"}, "pre_training_bias": {"methods": "all"}},
        }
    )  # fmt: skip


def test_a_whole_analysis_config_renders_through_its_nested_configs():
    config = AnalysisConfig.bias(
        DataConfig("s3://bkt/{{ ds }}/", "s3://bkt/out/{{ ds }}/", label="{{ params.label }}",
                   segmentation_config=[SegmentationConfig("{{ params.facet }}", [["a"]])]),
        BiasConfig([1], "{{ params.facet }}", [0]),
        ModelConfig(model_name="{{ params.model }}", instance_count=1, instance_type="ml.m5.large"),
        ModelPredictedLabelConfig(label="{{ params.label }}"),
    )  # fmt: skip
    op = AuditOperator(task_id="audit", analysis_config=config)
    op.render_template_fields(CONTEXT)
    rendered = op.execute(CONTEXT)
    assert rendered["label"] == "Target"
    assert rendered["segment_config"] == [{"name_or_index": "Gender", "segments": [["a"]]}]
    assert rendered["facet"] == [{"name_or_index": "Gender", "value_or_threshold": [0]}]
    assert rendered["predictor"] == {
        "model_name": "xgb-7", "instance_type": "ml.m5.large", "initial_instance_count": 1, "label": "Target",
    }  # fmt: skip
    assert config.s3_output_path == "s3://bkt/out/2024-03-01/"
    config.validate()


def test_validation_waits_for_rendering_then_applies():
    prefix_model = ModelConfig(
        "m", 1, "ml.m5.large", endpoint_name_prefix="{{ params.prefix }}"
    )  # regex would fail now
    facets = BiasConfig(
        [1], ["Gender", "Age"], "{{ params.facet_values }}"
    )  # a list only after native rendering
    config = AnalysisConfig.post_training_bias(DataConfig("s3://b/d.csv", "s3://b/o"), facets, prefix_model)
    op = AuditOperator(task_id="audit", analysis_config=config, render_template_as_native_obj=True)
    op.render_template_fields({"params": {"prefix": "clarify-audit", "facet_values": [[0], [40]]}})
    rendered = config.to_dict()
    assert rendered["predictor"]["endpoint_name_prefix"] == "clarify-audit"
    assert rendered["facet"] == [
        {"name_or_index": "Gender", "value_or_threshold": [0]}, {"name_or_index": "Age", "value_or_threshold": [40]},
    ]  # fmt: skip


def test_a_bad_rendered_value_is_rejected_by_to_dict():
    model = ModelConfig("m", 1, "ml.m5.large", endpoint_name_prefix="{{ params.prefix }}")
    op = AuditOperator(task_id="audit", analysis_config=AnalysisConfig.explainability(
        DataConfig("s3://b/d.csv", "s3://b/o"), model, PDPConfig(features=["a"])))  # fmt: skip
    op.render_template_fields({"params": {"prefix": "_bad"}})
    with pytest.raises(ClarifyConfigError, match="Invalid endpoint_name_prefix '_bad'"):
        op.analysis_config.to_dict()


def test_untemplated_fields_keep_their_text():
    template = '{"features": $features, "note": "{{ kept }}"}'
    model = ModelConfig(endpoint_name="ep", content_type="application/jsonlines", content_template=template)
    shap = SHAPConfig(baseline="s3://b/{{ ds }}/baseline.csv")
    config = AnalysisConfig.explainability(DataConfig("s3://b/d.csv", "s3://b/o"), model, shap)
    AuditOperator(task_id="audit", analysis_config=config).render_template_fields(CONTEXT)
    rendered = config.to_dict()
    assert rendered["predictor"]["content_template"] == template
    assert rendered["methods"]["shap"]["baseline"] == "s3://b/2024-03-01/baseline.csv"


def test_checks_not_involving_templates_still_fail_at_construction():
    with pytest.raises(ClarifyConfigError, match="Invalid dataset_type"):
        DataConfig("s3://b/{{ ds }}/", "s3://b/o", dataset_type="text/tsv")


@pytest.mark.parametrize("name", configs.__all__)
def test_template_fields_name_real_attributes(name):
    cls = getattr(configs, name)
    if not dataclasses.is_dataclass(cls):
        return
    fields = {f.name for f in dataclasses.fields(cls)}
    assert set(cls.template_fields) <= fields  # Airflow raises AttributeError for a missing attribute
