"""The fast paths of the request serializer write exactly what the value-by-value paths write."""

from __future__ import annotations

import json

import numpy as np
import pytest

from airflow_provider_clarify.engine import model_codec
from airflow_provider_clarify.engine.model_codec import RequestSerializer, float_csv_lines


@pytest.mark.parametrize("repeat", [1, 50])  # mostly distinct values / the cached-strings path
@pytest.mark.parametrize("nan_text", ["", "nan"])
def test_float_csv_lines_equal_the_cell_by_cell_text(repeat, nan_text):
    rng = np.random.default_rng(1)
    rows = np.repeat(rng.normal(size=(5, 4)) * 10.0 ** rng.integers(-9, 9, size=(5, 4)), repeat, axis=0)
    rows[0, 0], rows[1, 1], rows[2, 2] = np.nan, np.inf, -0.0
    expected = [",".join(model_codec._csv_cell(v, nan_text) for v in row).encode() for row in rows.tolist()]
    assert float_csv_lines(rows, nan_text) == expected
    assert RequestSerializer("text/csv", nan_text=nan_text).records(rows) == expected


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("nan_text", ["", "nan"])
def test_coalition_rows_against_one_baseline_row_equal_the_cell_by_cell_text(seed, nan_text):
    """Rows with at most two values per column (SHAP's synthetic rows) take a path without sorting;
    -0.0 next to 0.0, NaN and infinities keep their own text."""
    rng = np.random.default_rng(seed)
    specials = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-300, 123456789.125])
    record = np.where(rng.random(7) < 0.5, specials, rng.normal(size=7))
    baseline = np.where(rng.random(7) < 0.5, specials[::-1], rng.normal(size=7))
    rows = np.where(rng.random((40, 7)) < 0.5, record, baseline)
    expected = [",".join(model_codec._csv_cell(v, nan_text) for v in row).encode() for row in rows.tolist()]
    assert model_codec._two_valued_lines(rows, nan_text) == expected
    assert float_csv_lines(rows, nan_text) == expected
    three = np.vstack([rows, rows[:1] + 1.0])  # a third value in some column: the general path
    assert model_codec._two_valued_lines(three, nan_text) is None
    assert float_csv_lines(three, nan_text)[:-1] == expected


@pytest.mark.parametrize("template", ["$features", '{"in":{"f":$features}}'])
def test_features_only_template_fast_path_equals_the_renderer(template):
    serializer = RequestSerializer("application/jsonlines", template)
    rows = np.array([[1.5, 'é "q"', None, 3], [np.nan, "x", 2.0, np.inf]], dtype=object)
    records = serializer.records(rows)
    assert records == [serializer._render(row).encode() for row in rows.tolist()]
    assert b"NaN" not in records[1]  # non-finite values are written null, as value by value
    assert json.loads(records[1].decode().replace('{"in":{"f":', "").rstrip("}")) == [None, "x", 2.0, None]
