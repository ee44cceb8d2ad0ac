"""FT's memory: narrow exact feature columns, a fit on ``a``'s rows, ``d`` classified in blocks.

The values must be exactly the float64 features the k-NN saw before (bit for bit, so neighbours and
ties are unchanged); what is held is counted (bytes of the store, numpy's traced allocations),
never timed.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.neighbors import KNeighborsClassifier

from airflow_provider_clarify.engine.bias import flip_test
from airflow_provider_clarify.engine.bias.columns import CategoricalRule, Family
from airflow_provider_clarify.engine.bias.counts import count_dataset
from airflow_provider_clarify.engine.bias.feature_store import FeatureColumns, narrowest
from airflow_provider_clarify.engine.bias.groups import selection

SETTINGS = settings(max_examples=200, derandomize=True, database=None, deadline=None)

floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**40), 2**40).map(float),
    st.integers(-200, 200).map(float),
    st.sampled_from([0.0, -0.0, 0.5, -1.25, 2.0**31, -(2.0**31), 2.0**31 - 1, 1e300]),
)


def _bits(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).view(np.int64)


@SETTINGS
@given(st.lists(floats, max_size=60))
def test_narrowest_converts_back_bit_for_bit(values):
    array = np.array(values, dtype=np.float64)
    narrow = narrowest(array)
    assert narrow.itemsize <= 8
    np.testing.assert_array_equal(_bits(narrow.astype(np.float64)), _bits(array))


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        ([18.0, 90.0, 45.0], np.int8),
        ([250.0, 19_999.0], np.int16),
        ([0.0, 2.0**31 - 1], np.int32),
        ([0.0, 2.0**31], np.float32),  # whole, beyond int32, exact in float32
        ([0.5, -1.25, 3.0], np.float32),
        ([0.1, 2.0], np.float64),
        ([1.0, np.nan], np.float64),  # NaN never in an integer or a float32 column
        ([1.0, -0.0], np.float32),  # -0.0 would come back as +0.0 from an integer
        ([1.0, np.inf], np.float32),
    ],
)
def test_narrowest_picks_the_smallest_exact_dtype(values, dtype):
    narrow = narrowest(np.array(values))
    assert narrow.dtype == dtype
    np.testing.assert_array_equal(_bits(narrow.astype(np.float64)), _bits(np.array(values)))


def test_store_joins_batches_of_different_dtypes_exactly():
    batches = [np.array([1.0, 2.0]), np.array([300.0]), np.array([0.1]), np.array([70_000.0, -0.0])]
    store = FeatureColumns(1)
    for batch in batches:
        store.append(0, batch)
    expected = np.concatenate(batches)[:, None]
    np.testing.assert_array_equal(_bits(store.matrix()), _bits(expected))
    np.testing.assert_array_equal(_bits(np.asarray(store)), _bits(expected))
    rows = np.array([False, True, False, True, True, True])
    np.testing.assert_array_equal(_bits(store.matrix(rows)), _bits(expected[rows]))
    assert store.matrix(rows).flags.c_contiguous
    with pytest.raises(RuntimeError, match="complete"):
        store.append(0, np.array([1.0]))


def _credit_batches(rows: int, seed: int = 0) -> list[pa.RecordBatch]:
    rng = np.random.default_rng(seed)
    table = pa.table(
        {
            "sex": rng.choice(["female", "male"], rows),
            "age": rng.integers(18, 90, rows),
            "income": rng.lognormal(10.5, 0.6, rows),
            "credit_amount": rng.integers(250, 20_000, rows),
            "duration": rng.integers(4, 72, rows),
            "approved": rng.integers(0, 2, rows),
            "predicted": rng.integers(0, 2, rows),
        }
    )
    return table.to_batches(max_chunksize=10_000)


FEATURES = ["age", "income", "credit_amount", "duration"]


def _count(batches: list[pa.RecordBatch]):
    return count_dataset(
        lambda names: [b.select(list(names)) for b in batches],
        facets={"sex": selection("sex", "female", CategoricalRule(Family.STR, pa.array(["female"])))},
        label_rule=CategoricalRule(Family.INT, pa.array([1])),
        label="approved",
        prediction_rule=CategoricalRule(Family.INT, pa.array([1])),
        predicted_label="predicted",
        flip_test=True,
        flip_test_columns=FEATURES,
    )


def test_count_dataset_keeps_ft_features_narrow():
    """Three small integer features and one full-precision double: 12 bytes a row, not 32."""
    batches = _credit_batches(50_000)
    features = FEATURES
    counts = _count(batches)
    data = counts.flip_test
    assert data is not None
    assert data.used_columns == features
    assert data.features.nbytes / counts.rows == 1 + 8 + 2 + 1
    assert counts.facet_codes["sex"].dtype == np.uint8
    table = pa.Table.from_batches(batches)
    expected = np.column_stack([table.column(c).to_numpy().astype(np.float64) for c in features])
    np.testing.assert_array_equal(_bits(np.asarray(data.features)), _bits(expected))


def test_segments_merged_as_on_spark_give_the_same_features():
    """The Spark driver concatenates the segments' stores (numpy.asarray of each): same values."""
    from airflow_provider_clarify.engine.spark.partials import merge_counts

    batches = _credit_batches(30_000, seed=3)
    whole = _count(batches)
    merged = merge_counts([_count(batches[:1]), _count(batches[1:2]), _count(batches[2:])])
    assert merged.flip_test is not None
    assert whole.flip_test is not None
    np.testing.assert_array_equal(
        _bits(merged.flip_test.features), _bits(np.asarray(whole.flip_test.features))
    )
    np.testing.assert_array_equal(merged.facet_codes["sex"], whole.facet_codes["sex"])
    np.testing.assert_array_equal(merged.predictions, whole.predictions)


def _oracle(features: np.ndarray, sensitive: np.ndarray, predictions: np.ndarray) -> float:
    """FT as smclarify computes it: one fit on a, one predict over all of d."""
    k = 5 if (~sensitive).sum() > 9 else 1
    knn = KNeighborsClassifier(n_neighbors=k)
    knn.fit(features[~sensitive], predictions[~sensitive])
    counterfactual = knn.predict(features[sensitive]).astype(bool)
    own = predictions[sensitive]
    return (np.count_nonzero(own & ~counterfactual) - np.count_nonzero(~own & counterfactual)) / len(own)


@pytest.mark.parametrize("block", [97, 1 << 16])
@pytest.mark.parametrize("seed", [0, 1])
def test_flip_test_in_blocks_equals_one_predict(monkeypatch, block, seed):
    """Integer features on a small grid: many equidistant neighbours, so ties decide the votes."""
    rng = np.random.default_rng(seed)
    n = 3_000
    features = rng.integers(0, 6, (n, 3)).astype(np.float64)
    sensitive = rng.random(n) < 0.4
    predictions = rng.random(n) < 0.5
    sizes = []
    predict = KNeighborsClassifier.predict

    def counted(self, x):
        sizes.append(len(x))
        return predict(self, x)

    monkeypatch.setattr(flip_test, "PREDICT_BLOCK_ROWS", block)
    monkeypatch.setattr(KNeighborsClassifier, "predict", counted)
    store = FeatureColumns(3)
    for start in range(0, n, 500):
        for j in range(3):
            store.append(j, features[start : start + 500, j])
    expected = _oracle(features, sensitive, predictions)
    sizes.clear()
    assert flip_test.flip_test_value(store, sensitive, predictions) == expected
    assert max(sizes) <= block
    assert sum(sizes) == sensitive.sum()
    assert flip_test.flip_test_value(features, sensitive, predictions, columns=[0, 2]) == _oracle(
        features[:, [0, 2]], sensitive, predictions
    )


def test_flip_test_holds_a_rows_once_not_every_row_three_times(monkeypatch):
    """numpy's traced allocations while FT runs: the float64 matrix of a's rows plus one block.

    Before, FT copied all rows' features (``features[:, columns]``), then a's and d's rows, and
    held d's whole neighbour lists: 32 MiB here, against 7 MiB now (3 MiB of them a's matrix).
    """
    monkeypatch.setattr(flip_test, "PREDICT_BLOCK_ROWS", 8192)
    rng = np.random.default_rng(0)
    n, m = 200_000, 4
    features = rng.integers(0, 100, (n, m)).astype(np.float64)
    sensitive = rng.random(n) < 0.5
    predictions = rng.random(n) < 0.5
    store = FeatureColumns(m)
    for j in range(m):
        store.append(j, features[:, j])
    flip_test.flip_test_value(store.matrix(slice(0, 100)), sensitive[:100], predictions[:100])  # imports
    a_matrix = int((~sensitive).sum()) * m * 8
    tracemalloc.start()
    try:
        flip_test.flip_test_value(store, sensitive, predictions)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * a_matrix + (2 << 20), (
        f"{peak / 2**20:.1f} MiB traced for a {a_matrix / 2**20:.1f} MiB fit"
    )
