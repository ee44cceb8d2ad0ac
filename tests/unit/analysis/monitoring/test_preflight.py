"""Preflight: a baseline that does not fit the monitoring analysis config fails before any execution."""

from __future__ import annotations

import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.monitoring.preflight import (
    check_bias_baseline,
    check_explainability_baseline,
)

CONFIG = {
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "gender", "value_or_threshold": [0]}],
    "headers": ["gender", "age", "approved"],
    "label": "approved",
}


def baseline(facet="gender", value="0", label="approved"):
    section = {"label": label, "facets": {facet: [{"value_or_threshold": value, "metrics": []}]}}
    return {"version": "1.0", "pre_training_bias_metrics": section, "post_training_bias_metrics": section}


def test_matching_baseline_passes():
    check_bias_baseline(CONFIG, baseline())
    check_bias_baseline({**CONFIG, "facet": [{"name_or_index": "age", "value_or_threshold": [40]}]},
                        baseline("age", "(40, 79]"))  # fmt: skip


@pytest.mark.parametrize(
    ("document", "field", "text"),
    [
        (baseline(facet="age"), "facet", "gender=0"),
        (baseline(value="1"), "facet", "gender=1"),
        (baseline(label="defaulted"), "label", "different outcomes"),
        ({"version": "1.0"}, "constraints", "no bias metrics"),
    ],
)
def test_mismatched_baseline_is_a_config_error(document, field, text):
    with pytest.raises(ClarifyConfigError) as info:
        check_bias_baseline(CONFIG, document)
    assert info.value.field == field
    assert text in str(info.value)


def test_explainability_baseline_needs_global_shap_values():
    check_explainability_baseline(
        {"explanations": {"kernel_shap": {"label0": {"global_shap_values": {"a": 0.1}}}}}
    )
    with pytest.raises(ClarifyConfigError, match="kernel_shap"):
        check_explainability_baseline(baseline())
