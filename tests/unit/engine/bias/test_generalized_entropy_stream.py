"""GE streamed without per-row storage (docs/performance.md, "Reading CSV and Parquet once").

The counting pass sums ``t[b_i]`` segment by segment once the first pass fixed ``N`` and ``μ``;
the result must be bit-identical to the old per-row computation (numpy's pairwise sum over the
stored codes, itself bit-identical to smclarify's ``np.sum``) for any length and any batching.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from airflow_provider_clarify.engine.bias.arithmetic import PairwiseCodeSum, pairwise_sum_codes
from airflow_provider_clarify.engine.bias.generalized_entropy import generalized_entropy_index
from tests.unit.engine.bias.support import metrics_of, run

LEAF = 1 << 16


@settings(max_examples=40, deadline=None)
@given(
    n=st.one_of(st.integers(0, 300), st.sampled_from([LEAF - 1, LEAF, LEAF + 1, 2 * LEAF + 8, 5 * LEAF + 3])),
    cuts=st.lists(st.integers(1, 3 * LEAF), max_size=6),
    seed=st.integers(0, 2**32 - 1),
)
def test_streamed_pairwise_sum_is_bit_identical_for_any_batching(n, cuts, seed):
    rng = np.random.default_rng(seed)
    codes = rng.choice(3, size=n, p=[0.15, 0.7, 0.15]).astype(np.uint8)
    table = np.array([-1.0, rng.random() - 0.5, 3 * rng.random()])
    stream = PairwiseCodeSum(n, table)
    start = 0
    for cut in [*cuts, n]:
        stream.add(codes[start : start + cut])
        start = min(n, start + cut)
    stream.add(codes[start:])
    assert stream.count == n
    assert stream.total() == pairwise_sum_codes(codes, table)
    if n > 128:  # numpy's own sum of the materialised array: what smclarify computes
        assert stream.total() == float(np.sum(table[codes]))


def _dataset(rows: int, seed: int, scores: bool = False) -> pa.Table:
    rng = np.random.default_rng(seed)
    label = (rng.random(rows) < 0.4).astype(np.int64)
    prediction = rng.random(rows) if scores else (rng.random(rows) < 0.5).astype(np.int64)
    return pa.table({"facet": rng.choice(["a", "b", "c"], rows), "label": label, "pred": prediction})


def _ge(table: pa.Table, chunk: int, label_values) -> tuple[float, list]:
    seen = []
    result = run(
        table,
        chunk=chunk,
        label="label",
        label_values=label_values,
        facets=[{"name_or_index": "facet", "value_or_threshold": ["a"]}],
        predicted_label="pred",
        post_training_methods=["GE"],
        counts_sink=lambda prep, counts: seen.append(counts),
    )
    entry = result["post_training_bias_metrics"]["facets"]["facet"][0]
    return metrics_of(entry)["GE"]["value"], seen


def test_bias_pass_streams_ge_and_matches_the_per_row_value_bit_for_bit():
    table = _dataset(3 * LEAF + 77, seed=3)
    value, seen = _ge(table, chunk=50_000, label_values=[1])
    counts = seen[0]
    assert counts.benefit_codes is None  # nothing kept per row
    assert counts.benefit_sum is not None
    assert counts.benefit_sum.n == table.num_rows
    codes = (table["pred"].to_numpy() - table["label"].to_numpy() + 1).astype(np.uint8)
    assert value == generalized_entropy_index(codes)


def test_prediction_scores_with_a_threshold_fall_back_to_per_row_codes_with_the_same_value():
    table = _dataset(90_000, seed=5, scores=True)  # more distinct scores than MAX_COUNTED_VALUES * 4
    table = table.set_column(1, "label", pa.array(np.round(table["pred"].to_numpy() + 0.1, 3)))
    value, seen = _ge(table, chunk=7_000, label_values=[0.5])
    counts = seen[0]
    assert counts.benefit_sum is None
    assert counts.benefit_codes is not None
    y = (table["label"].to_numpy() > 0.5).astype(np.int8)
    yhat = (table["pred"].to_numpy() > 0.5).astype(np.int8)
    assert value == generalized_entropy_index((yhat - y + 1).astype(np.uint8))
