"""Whole-report failures and bad input: a clear BiasAnalysisError, never a silent wrong number."""

from __future__ import annotations

import pytest

from airflow_provider_clarify.engine.bias import BiasAnalysisError
from tests.unit.engine.bias.support import run

DATA = {
    "sex": ["m", "f", "m", "f", "m", "f"],
    "age": [20, 30, 40, 50, 60, 70],
    "y": [1, 0, 1, 1, 0, 0] * 1,
    "yh": [1, 1, 0, 1, 0, 0],
    "s": ["yes", "no", "yes", "yes", "no", "no"],
}


def _run(**kwargs):
    base = dict(
        label="s", label_values=["yes"], facets=[{"name_or_index": "sex"}], pre_training_methods="all"
    )
    base.update(kwargs)
    return run(DATA, **base)


def test_missing_facet_column_has_smclarify_message():
    with pytest.raises(BiasAnalysisError, match="^Facet column gender is not present in the dataset$"):
        _run(facets=[{"name_or_index": "gender"}], available_columns=list(DATA))


def test_missing_facet_column_is_reported_while_reading_without_column_list():
    with pytest.raises(BiasAnalysisError, match="not present in the dataset.*gender"):
        _run(facets=[{"name_or_index": "gender"}])


def test_missing_label_column_names_it():
    with pytest.raises(BiasAnalysisError, match="Label column 'target' is not present"):
        _run(label="target", available_columns=list(DATA))


def test_empty_label_values():
    with pytest.raises(
        BiasAnalysisError, match="^Positive label values or thresholds are empty for Label column$"
    ):
        _run(label_values=[])


def test_post_training_needs_a_predicted_label():
    with pytest.raises(BiasAnalysisError, match="^predicted_label_column has to be provided"):
        _run(pre_training_methods=None, post_training_methods="all")


def test_label_values_absent_from_the_data_are_rejected_by_default():
    with pytest.raises(BiasAnalysisError, match=r"no value of label column 's' equals any of \['1'\]") as err:
        _run(label_values=["1"])
    assert "reject_degenerate_inputs=False" in str(err.value)
    out = _run(label_values=["1"], reject_degenerate_inputs=False)
    values = {m["name"]: m["value"] for m in out["pre_training_bias_metrics"]["facets"]["sex"][0]["metrics"]}
    assert values["DPL"] == 0.0


def test_threshold_above_every_label_is_rejected_by_default():
    with pytest.raises(BiasAnalysisError, match="greater than the threshold 100"):
        _run(label="age", label_values=[100])


def test_numeric_threshold_on_a_string_facet_is_rejected():
    with pytest.raises(
        BiasAnalysisError, match="Facet 'sex' is a string column but value_or_threshold \\[40\\]"
    ):
        _run(facets=[{"name_or_index": "sex", "value_or_threshold": [40]}])
    out = _run(facets=[{"name_or_index": "sex", "value_or_threshold": [40]}], reject_degenerate_inputs=False)
    errors = {
        m["name"]: m.get("error") for m in out["pre_training_bias_metrics"]["facets"]["sex"][0]["metrics"]
    }
    assert errors["CI"] == "CI: facet set is empty. Check that x[facet] has non-zero length."


def test_empty_sensitive_group_is_a_per_metric_error_in_parity_mode():
    out = _run(facets=[{"name_or_index": "sex", "value_or_threshold": ["x"]}], reject_degenerate_inputs=False)
    errors = {
        m["name"]: m.get("error") for m in out["pre_training_bias_metrics"]["facets"]["sex"][0]["metrics"]
    }
    assert errors["DPL"] == "Facet set is empty."


def test_non_numeric_threshold_for_continuous_facet():
    with pytest.raises(
        BiasAnalysisError, match="^Facet/label value provided must be a single numeric threshold"
    ):
        _run(facets=[{"name_or_index": "age", "value_or_threshold": ["old"]}])


def test_predicted_label_type_must_match_label_type():
    with pytest.raises(BiasAnalysisError, match="^Predicted Label Column series datatype is not the same"):
        _run(
            label="age",
            label_values=[30],
            predicted_label="s",
            pre_training_methods=None,
            post_training_methods="all",
        )


def test_label_value_that_cannot_be_converted_fails_the_report():
    with pytest.raises(BiasAnalysisError, match="^label_values_or_threshold \\['x'\\]: label column 'y'"):
        run(
            {"f": ["a", "b"] * 30, "y": [0, 1] * 30},
            label="y",
            label_values=["x"],
            facets=[{"name_or_index": "f"}],
            pre_training_methods="all",
        )


def test_group_variable_with_missing_strings_gives_cdd_sort_error():
    out = (
        _run(group_variable="g", available_columns=None, **{})
        if False
        else run(
            {**DATA, "g": ["u", None, "v", "u", "v", "u"]},
            label="s",
            label_values=["yes"],
            facets=[{"name_or_index": "sex", "value_or_threshold": ["f"]}],
            group_variable="g",
            pre_training_methods=["CDDL"],
        )
    )
    error = out["pre_training_bias_metrics"]["facets"]["sex"][0]["metrics"][0]["error"]
    assert error.startswith("'<' not supported between instances of")


def test_bad_flip_test_option():
    with pytest.raises(BiasAnalysisError, match="flip_test_non_numeric='drop'"):
        _run(flip_test_non_numeric="drop")


def test_nothing_requested_returns_empty_dict():
    assert _run(pre_training_methods=None) == {}
