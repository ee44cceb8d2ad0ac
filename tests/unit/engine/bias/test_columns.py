"""Type detection, value matching and threshold intervals (docs/bias-metrics.md, "From columns to groups")."""

from __future__ import annotations

import pyarrow as pa
import pytest

from airflow_provider_clarify.engine.bias.columns import (
    NO_POSITIVE_ELEMENTS,
    ColumnProfile,
    ColumnType,
    ContinuousRule,
    Family,
    convert_values,
    detect_type,
    interval_text,
    match_value_set,
    numeric_threshold,
)
from airflow_provider_clarify.engine.bias.errors import BiasAnalysisError


def profile(values: list | pa.Array, user_values=None, chunk: int = 7) -> ColumnProfile:
    array = values if isinstance(values, pa.Array) else pa.array(values)
    p = ColumnProfile("c", values=user_values)
    for start in range(0, len(array), chunk):
        p.update(array.slice(start, chunk))
    return p


@pytest.mark.parametrize(("rows", "expected"), [(40, ColumnType.CONTINUOUS), (41, ColumnType.CATEGORICAL)])
def test_binary_integer_column_flips_type_at_five_percent_uniqueness(rows, expected):
    assert detect_type(profile([i % 2 for i in range(rows)]), [1]) is expected


def test_two_values_are_always_categorical():
    assert detect_type(profile([0.5, 1.5, 2.5]), [0.5, 1.5]) is ColumnType.CATEGORICAL


def test_float_column_is_always_continuous():
    assert detect_type(profile([0.0, 1.0] * 100), [1]) is ColumnType.CONTINUOUS


def test_integer_column_with_missing_values_is_read_as_float():
    p = profile([0, 1, None] * 100)
    assert p.pandas_family is Family.FLOAT
    assert detect_type(p, [1]) is ColumnType.CONTINUOUS


def test_string_column_of_integers_with_many_values_is_continuous():
    assert detect_type(profile([str(i) for i in range(50)]), [10]) is ColumnType.CONTINUOUS
    assert detect_type(profile(["1", "2"] * 50), [1]) is ColumnType.CATEGORICAL
    assert detect_type(profile(["a", "b"] * 5), ["a"]) is ColumnType.CATEGORICAL


def test_dictionary_column_is_categorical():
    assert detect_type(profile(pa.array([0.5, 1.5, 2.5]).dictionary_encode()), [1]) is ColumnType.CATEGORICAL


def test_boolean_column_is_categorical():
    assert detect_type(profile([True, False, True]), [True]) is ColumnType.CATEGORICAL


def test_distinct_limit_stops_tracking_and_means_continuous():
    p = ColumnProfile("c", values=[5], distinct_limit=10)
    p.update(pa.array(list(range(1000))))
    assert detect_type(p, [5]) is ColumnType.CONTINUOUS


@pytest.mark.parametrize(
    ("threshold", "maximum", "integer", "text"),
    [
        (40, 80, True, "(40, 80]"),
        (40.0, 80, True, "(40.0, 80.0]"),
        (40, 80.5, False, "(40.0, 80.5]"),
        (100, 80, True, "(80, 100]"),
        (80, 80, True, ""),
        (0.5, 0.95, False, "(0.5, 0.95]"),
        (1, 1.0, False, ""),
        (3, -3, True, ""),
    ],
)
def test_interval_text(threshold, maximum, integer, text):
    assert interval_text(threshold, maximum, integer) == text


def test_numeric_threshold_conversion():
    assert numeric_threshold(["40"]) == 40.0
    assert numeric_threshold([True]) is True
    assert numeric_threshold([]) is None
    with pytest.raises(
        BiasAnalysisError, match="^Facet/label value provided must be a single numeric threshold"
    ):
        numeric_threshold(["forty"])


def test_match_value_set_follows_pandas_equality():
    assert match_value_set([1.0, 1.5, "2", True], Family.INT).to_pylist() == [1]
    assert match_value_set([1, "x"], Family.FLOAT).to_pylist() == [1.0]
    assert match_value_set(["a", 1], Family.STR).to_pylist() == ["a"]
    assert match_value_set([1, True], Family.BOOL).to_pylist() == [True]


def test_convert_values_uses_the_first_element_type():
    assert convert_values(["1"], profile([1, 2, 3])) == [1]
    assert convert_values(["1.0"], profile([1, 2, 3])) == [1.0]
    assert convert_values([1], profile(["1", "2"])) == ["1"]
    assert convert_values(["false"], profile([True, False])) == [False]
    with pytest.raises(ValueError, match="could not convert string to float: 'x'"):
        convert_values(["x"], profile([1, 2, 3]))
    with pytest.raises(ValueError) as err:
        convert_values(["x"], profile([1.5, 2.5]))
    assert str(err.value) == NO_POSITIVE_ELEMENTS


def test_continuous_rule_truncates_predictions_and_rejects_missing_ones():
    rule = ContinuousRule(Family.FLOAT, 5, truncate_to_int=True, column="p")
    assert rule.select(pa.array([5.7, 6.2, -0.5])).tolist() == [False, True, False]
    with pytest.raises(BiasAnalysisError, match="Cannot convert non-finite values"):
        rule.select(pa.array([1.0, None]))
