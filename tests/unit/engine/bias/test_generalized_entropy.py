"""GE, with smclarify's golden vectors (main dataset and edge case E12, see docs/parity.md)."""

from __future__ import annotations

import numpy as np
import pytest

from airflow_provider_clarify.engine.bias.errors import MetricFailure
from airflow_provider_clarify.engine.bias.generalized_entropy import (
    ALL_FALSE_NEGATIVES,
    generalized_entropy_index,
)


def _codes(y, yhat):
    return (np.array(yhat, dtype=np.int8) - np.array(y, dtype=np.int8) + 1).astype(np.uint8)


@pytest.mark.parametrize(
    ("y", "yhat", "expected"),
    [
        ([1, 1, 1, 0], [0, 0, 0, 1], 1.5),
        ([1, 0, 1, 0], [1, 0, 1, 0], 0.0),
        ([0, 0, 0], [1, 1, 1], 0.0),
        # main golden dataset: benefits [1,1,2,1,1,0,2,1,0,1,1,2]
        ([1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0], [1, 0, 1, 1, 1, 0, 1, 0, 0, 1, 0, 1], 0.1745562130177516),
    ],
)
def test_generalized_entropy_values(y, yhat, expected):
    assert generalized_entropy_index(_codes(y, yhat)) == expected


def test_all_false_negatives_is_a_metric_error():
    with pytest.raises(MetricFailure, match=f"^{ALL_FALSE_NEGATIVES}$"):
        generalized_entropy_index(_codes([1, 1], [0, 0]))


def test_generalized_entropy_matches_the_formula_on_many_rows():
    rng = np.random.default_rng(7)
    y = rng.random(50_000) < 0.4
    yhat = rng.random(50_000) < 0.5
    benefit = yhat.astype(np.int64) - y.astype(np.int64) + 1
    ratio = benefit / (benefit.sum() / benefit.size)
    expected = float(np.sum(ratio**2 - 1) / (benefit.size * 2))
    assert generalized_entropy_index(_codes(y, yhat)) == expected
