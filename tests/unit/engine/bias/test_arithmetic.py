from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from airflow_provider_clarify.engine.bias.arithmetic import pairwise_sum_codes, sdiv


@pytest.mark.parametrize(
    ("a", "b", "expected"), [(0, 0, 0.0), (3, 0, math.inf), (-2, 0, -math.inf), (1, 3, 1 / 3), (0, 5, 0.0)]
)
def test_sdiv(a, b, expected):
    assert sdiv(a, b) == expected


def test_sdiv_zero_over_zero_is_a_float():
    assert type(sdiv(0, 0)) is float


@settings(max_examples=40, deadline=None)
@given(n=st.integers(min_value=0, max_value=300_000), seed=st.integers(0, 2**32 - 1))
def test_pairwise_sum_codes_equals_numpy_sum_bit_for_bit(n, seed):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 3, n).astype(np.uint8)
    table = rng.standard_normal(3) * 10.0 ** rng.integers(-8, 8, 3)
    assert pairwise_sum_codes(codes, table) == float(np.sum(table[codes]))
