from __future__ import annotations

import json
import math

import numpy as np
import pytest

from airflow_provider_clarify.engine.io import OutputLocation
from airflow_provider_clarify.engine.output import dumps_analysis, write_analysis


def test_infinities_become_strings_and_floats_use_shortest_repr():
    text = dumps_analysis(
        {
            "metrics": [
                {"name": "DI", "value": math.inf},
                {"name": "TE", "value": -math.inf},
                {"value": 0.1 + 0.2},
            ]
        },
        indent=None,
    )
    assert text == (
        '{"metrics": [{"name": "DI", "value": "Infinity"}, {"name": "TE", "value": "-Infinity"}, '
        '{"value": 0.30000000000000004}]}'
    )


def test_integer_zero_stays_integer_and_float_zero_stays_float():
    assert dumps_analysis({"a": 0, "b": 0.0, "c": -0.5}, indent=None) == '{"a": 0, "b": 0.0, "c": -0.5}'


def test_key_order_is_preserved_not_sorted():
    text = dumps_analysis({"label": "y", "facets": {}, "label_value_or_threshold": "1"}, indent=None)
    assert list(json.loads(text)) == ["label", "facets", "label_value_or_threshold"]


def test_numpy_values_are_converted():
    text = dumps_analysis(
        {"v": np.float64(0.25), "n": np.int64(3), "arr": np.array([1.5, np.inf]), "b": np.bool_(True)},
        indent=None,
    )
    assert text == '{"v": 0.25, "n": 3, "arr": [1.5, "Infinity"], "b": true}'


def test_nan_is_written_as_a_string_so_the_json_stays_strict():
    assert json.loads(dumps_analysis({"value": math.nan}))["value"] == "NaN"


def test_unserialisable_value_names_its_type():
    with pytest.raises(TypeError, match="object"):
        dumps_analysis({"value": object()})


def test_write_analysis_round_trips(tmp_path):
    uri = write_analysis(OutputLocation(str(tmp_path)), {"version": "1.0", "value": math.inf})
    assert uri == f"{tmp_path}/analysis.json"
    assert json.loads((tmp_path / "analysis.json").read_text()) == {"version": "1.0", "value": "Infinity"}
