"""The history's NDCG shortcut gives the gate's NDCG (analysis.checks.ndcg) on any rankings."""

from __future__ import annotations

import math

from hypothesis import given, strategies as st

from airflow_provider_clarify.analysis.checks import ndcg
from airflow_provider_clarify.history.query import _Ndcg

FEATURES = ["age", "gender", "income", "housing", "duration"]
weights = st.dictionaries(st.sampled_from(FEATURES), st.floats(0, 1, allow_nan=False), min_size=1)


@given(baseline=weights, current=weights)
def test_precomputed_ndcg_equals_the_gates_ndcg(baseline, current):
    expected = ndcg(baseline, current)
    got = _Ndcg(baseline)(current)
    if math.isnan(expected):
        assert got is None
    else:
        assert math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-12)
