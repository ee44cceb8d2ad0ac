"""GE from benefit-code counts (what Spark partitions send) against the per-row sum in dataset order.

The count form is the exact value rounded once (checked against ``fractions`` directly); the
single-machine engine's pairwise sum must be within the 1e-12 relative tolerance docs/scale-out.md
states, for any order of the rows.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from airflow_provider_clarify.engine.bias.errors import MetricFailure
from airflow_provider_clarify.engine.bias.generalized_entropy import (
    generalized_entropy_from_counts,
    generalized_entropy_index,
)

TOLERANCE = 1e-12


def _exact(codes: np.ndarray) -> Fraction:
    n = len(codes)
    mean = Fraction(int(codes.sum()), n)
    return sum((Fraction(int(b)) / mean) ** 2 - 1 for b in codes) / (2 * n)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2), min_size=1, max_size=400), st.randoms(use_true_random=False))
def test_counts_give_the_exact_value_and_match_the_row_sum(values, rng):
    codes = np.array(values, dtype=np.uint8)
    if codes.sum() == 0:
        return
    rng.shuffle(values)
    counts = np.bincount(codes, minlength=3)
    from_counts = generalized_entropy_from_counts(counts)
    assert from_counts == float(_exact(codes))
    rows = generalized_entropy_index(np.array(values, dtype=np.uint8))
    assert math.isclose(rows, from_counts, rel_tol=TOLERANCE, abs_tol=0.0)


def test_large_sample_within_tolerance():
    codes = np.random.default_rng(7).choice(3, size=3_000_000, p=[0.1, 0.75, 0.15]).astype(np.uint8)
    from_counts = generalized_entropy_from_counts(np.bincount(codes, minlength=3))
    assert math.isclose(generalized_entropy_index(codes), from_counts, rel_tol=TOLERANCE, abs_tol=0.0)


def test_same_failures_as_the_row_form():
    with pytest.raises(MetricFailure, match="non-empty"):
        generalized_entropy_from_counts(np.zeros(3, dtype=np.int64))
    with pytest.raises(MetricFailure, match="false negatives"):
        generalized_entropy_from_counts(np.array([5, 0, 0]))
