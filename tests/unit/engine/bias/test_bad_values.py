"""Values that smclarify takes silently and measures the wrong group with: an error, or a warning.

Each case is a clear :class:`EngineConfigError` naming the column, the value and the fix by default;
with ``reject_degenerate_inputs=False`` smclarify's numbers are reported, with the same text as a
warning in the log and in the section's ``warnings`` list (docs/parity.md).
"""

from __future__ import annotations

import logging

import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.engine.bias import BiasAnalysisError
from airflow_provider_clarify.engine.errors import EngineConfigError
from tests.unit.engine.bias.support import metrics_of, run, values_of

SEX = ["female", "male", "male", "female", "male", "female", "male", "male"] * 6
LABEL = [1, 0, 1, 1, 0, 0, 1, 0] * 6
AGE = [23, 35, 41, 52, 29, 64, 38, 47] * 6


def _codes(section: dict) -> list[str]:
    return [w["code"] for w in section.get("warnings", [])]


def test_facet_value_that_never_occurs_is_an_error_with_a_spelling_hint():
    with pytest.raises(EngineConfigError) as err:
        run(
            {"sex": SEX, "y": LABEL},
            label="y",
            label_values=[1],
            facets=[{"name_or_index": "sex", "value_or_threshold": ["Female"]}],
            pre_training_methods="all",
        )
    message = str(err.value)
    assert isinstance(err.value, ClarifyConfigError)  # never retried
    assert "'sex'" in message
    assert "['Female']" in message
    assert "['female', 'male']" in message
    assert "did you mean 'female'?" in message


def test_facet_value_that_never_occurs_is_a_visible_warning_in_parity_mode(caplog):
    caplog.set_level(logging.WARNING)
    out = run(
        {"sex": SEX, "y": LABEL},
        label="y",
        label_values=[1],
        facets=[{"name_or_index": "sex", "value_or_threshold": ["Female"]}],
        pre_training_methods="all",
        reject_degenerate_inputs=False,
    )
    section = out["pre_training_bias_metrics"]
    assert metrics_of(section["facets"]["sex"][0])["CI"]["error"].startswith("CI: facet set is empty")
    assert _codes(section) == ["facet_value_absent"]
    assert section["warnings"][0]["column"] == "sex"
    assert "did you mean 'female'?" in caplog.text
    assert list(section) == ["label", "facets", "label_value_or_threshold", "warnings"]


def test_one_of_several_facet_values_never_occurring_is_a_warning():
    out = run(
        {"sex": SEX, "y": LABEL},
        label="y",
        label_values=[1],
        facets=[{"name_or_index": "sex", "value_or_threshold": ["female", "Male"]}],
        pre_training_methods=["CI"],
    )
    (warning,) = out["pre_training_bias_metrics"]["warnings"]
    assert warning["code"] == "facet_value_absent"
    assert "['Male']" in warning["message"]
    assert "did you mean 'male'?" in warning["message"]


def test_a_clean_run_has_no_warnings_key():
    out = run(
        {"sex": SEX, "y": LABEL},
        label="y",
        label_values=[1],
        facets=[{"name_or_index": "sex", "value_or_threshold": ["female"]}],
        pre_training_methods="all",
    )
    assert "warnings" not in out["pre_training_bias_metrics"]


def _age_with_text():
    age = [str(a) for a in AGE]
    age[17] = "thirty"
    return age


def test_a_text_cell_in_a_numeric_facet_is_an_error_naming_row_and_value():
    with pytest.raises(EngineConfigError) as err:
        run(
            {"age": _age_with_text(), "y": LABEL},
            label="y",
            label_values=[1],
            facets=[{"name_or_index": "age", "value_or_threshold": [40]}],
            pre_training_methods="all",
        )
    message = str(err.value)
    assert "column 'age'" in message
    assert "'thirty'" in message
    assert "data row 18" in message
    assert "value_or_threshold [40]" in message


def test_a_text_cell_in_a_numeric_facet_keeps_smclarify_numbers_in_parity_mode():
    data = {"age": _age_with_text(), "y": LABEL}
    common = dict(label="y", label_values=[1], pre_training_methods=["CI"])
    out = run(
        data,
        facets=[{"name_or_index": "age", "value_or_threshold": [41]}],
        reject_degenerate_inputs=False,
        **common,
    )
    section = out["pre_training_bias_metrics"]
    assert _codes(section) == ["text_in_numeric_column"]
    # smclarify compares the category "41": the same numbers as asking for the text value itself
    as_text = run(data, facets=[{"name_or_index": "age", "value_or_threshold": ["41"]}], **common)
    assert values_of(section["facets"]["age"][0]) == values_of(
        as_text["pre_training_bias_metrics"]["facets"]["age"][0]
    )


def test_label_value_of_the_wrong_type_names_the_field_the_type_and_the_fix():
    with pytest.raises(EngineConfigError) as err:
        run(
            {"sex": SEX, "y": LABEL},
            label="y",
            label_values=["good"],
            facets=[{"name_or_index": "sex"}],
            pre_training_methods="all",
        )
    message = str(err.value)
    assert message.startswith("label_values_or_threshold ['good']")
    assert "holds integers" in message
    assert "e.g. [1]" in message
    assert not message.startswith("could not convert")


def test_label_text_value_on_a_small_continuous_label_names_the_field():
    with pytest.raises(BiasAnalysisError) as err:
        run(
            {"sex": SEX[:10], "y": LABEL[:10]},
            label="y",
            label_values=["good"],
            facets=[{"name_or_index": "sex"}],
            pre_training_methods="all",
        )
    message = str(err.value)
    assert message.startswith("Facet/label value provided must be a single numeric threshold")
    assert "label_values_or_threshold ['good']" in message


# --- surprises that match smclarify ---------------------------------------------------------------


def test_label_value_half_on_an_integer_label_warns_that_zero_became_positive(caplog):
    caplog.set_level(logging.WARNING)
    common = dict(label="y", facets=[{"name_or_index": "sex"}], pre_training_methods=["CI", "DPL"])
    half = run({"sex": SEX, "y": LABEL}, label_values=[0.5], **common)
    zero = run({"sex": SEX, "y": LABEL}, label_values=[0], **common)
    section = half["pre_training_bias_metrics"]
    assert [values_of(e) for e in section["facets"]["sex"]] == [
        values_of(e) for e in zero["pre_training_bias_metrics"]["facets"]["sex"]
    ]  # parity: smclarify converts 0.5 to int 0
    assert _codes(section) == ["value_converted"]
    assert "0.5 -> 0" in section["warnings"][0]["message"]
    assert "0.5 -> 0" in caplog.text


def test_one_row_facet_group_with_infinite_dcr_warns():
    data = {
        "g": ["a"] * 9 + ["b"],
        "y": ["yes", "no", "yes", "no", "yes", "no", "yes", "no", "yes", "no"],
        "p": ["yes", "no", "no", "yes", "yes", "no", "yes", "no", "yes", "yes"],
    }
    out = run(
        data,
        label="y",
        label_values=["yes"],
        predicted_label="p",
        facets=[{"name_or_index": "g", "value_or_threshold": ["b"]}],
        post_training_methods=["DCR", "DI"],
    )
    section = out["post_training_bias_metrics"]
    dcr = metrics_of(section["facets"]["g"][0])["DCR"]["value"]
    assert dcr == float("inf")
    (warning,) = section["warnings"]
    assert warning["code"] == "infinite_metric"
    assert "DCR" in warning["message"]
    assert "d: 1 rows" in warning["message"]


def test_small_binary_label_typed_continuous_explains_why_nothing_is_positive():
    with pytest.raises(BiasAnalysisError) as err:
        run(
            {"sex": SEX[:20], "y": LABEL[:20]},
            label="y",
            label_values=[1],
            facets=[{"name_or_index": "sex"}],
            pre_training_methods="all",
        )
    message = str(err.value)
    assert "40 rows or fewer" in message
    assert "continuous" in message
    assert "Give [0]" in message


def test_small_binary_facet_typed_continuous_warns_that_the_value_is_a_threshold():
    out = run(
        {"f": LABEL[:20], "y": LABEL[:20]},
        label="y",
        label_values=[0],
        facets=[{"name_or_index": "f", "value_or_threshold": [0]}],
        pre_training_methods=["CI"],
    )
    section = out["pre_training_bias_metrics"]
    assert section["facets"]["f"][0]["value_or_threshold"] == "(0, 1]"  # parity: value > 0
    assert "small_binary_continuous" in _codes(section)


def test_small_binary_predictions_typed_continuous_explain_the_all_false_failure():
    with pytest.raises(BiasAnalysisError) as err:
        run(
            {"sex": SEX[:20], "y": ["yes", "no"] * 10, "p": LABEL[:20]},
            label="p",
            label_values=[1],
            predicted_label="p",
            facets=[{"name_or_index": "sex"}],
            post_training_methods=["DPPL"],
            reject_degenerate_inputs=False,
        )
    message = str(err.value)
    assert message.startswith("No Label values are present in the predicted Label Column")  # smclarify's
    assert "40 rows or fewer" in message
