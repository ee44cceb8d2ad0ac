"""Baselines: inline rows, loaded tables, K-means and K-prototypes clustering, and their errors."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from airflow_provider_clarify.engine.explain import compute_explanations
from airflow_provider_clarify.engine.explain.baseline import BaselineError, resolve_baseline
from airflow_provider_clarify.engine.explain.model_calls import table_to_matrix
from airflow_provider_clarify.engine.io import OutputLocation
from airflow_provider_clarify.engine.predictors import CallablePredictor


def _blobs(seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [10.0, 10.0], [20.0, 0.0]])
    points = np.concatenate([c + rng.normal(scale=0.5, size=(60, 2)) for c in centres])
    return centres, pa.table({"x": points[:, 0], "y": points[:, 1]})


def test_kmeans_baseline_finds_the_cluster_centres_and_is_written(tmp_path):
    centres, table = _blobs()
    f = lambda X: X[:, 0] * 0.1 + X[:, 1] * 0.2
    out = compute_explanations(
        table,
        {"shap": {"num_clusters": 3, "seed": 0}},
        CallablePredictor(f),
        output=OutputLocation(str(tmp_path)),
    )
    rows = [
        [float(c) for c in line.split(",")]
        for line in (tmp_path / "explanations_shap/baseline.csv").read_text().splitlines()
    ]
    assert len(rows) == 3
    found = np.array(sorted(rows))
    np.testing.assert_allclose(found, centres, atol=0.3)
    # expected value = mean model output over the baseline rows
    assert out["kernel_shap"]["label0"]["expected_value"] == pytest.approx(np.mean(f(found)), abs=1e-9)


def test_automatic_cluster_count_and_seed_determinism():
    _, table = _blobs(1)
    records = table_to_matrix(table)
    a = resolve_baseline(table, records, {"seed": 3}, None, seed=3)
    b = resolve_baseline(table, records, {"seed": 3}, None, seed=3)
    assert a.computed
    assert a.matrix.shape == (3, 2)
    assert np.array_equal(a.matrix, b.matrix)


def test_kprototypes_for_mixed_types():
    rng = np.random.default_rng(2)
    colour = ["red"] * 40 + ["blue"] * 40
    amount = np.concatenate([rng.normal(1, 0.1, 40), rng.normal(9, 0.1, 40)])
    table = pa.table({"amount": amount, "colour": colour})
    records = table_to_matrix(table)
    baseline = resolve_baseline(table, records, {"num_clusters": 2}, None, seed=0)
    rows = sorted(baseline.matrix.tolist(), key=lambda r: r[0])
    assert rows[0][1] == "red"
    assert abs(rows[0][0] - 1) < 0.1
    assert rows[1][1] == "blue"
    assert abs(rows[1][0] - 9) < 0.1


def test_loaded_table_and_errors():
    table = pa.table({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    records = table_to_matrix(table)
    loaded = resolve_baseline(table, records, {}, pa.table({"c0": [0], "c1": [5]}))
    assert loaded.matrix.tolist() == [[0.0, 5.0]]
    assert not loaded.computed
    with pytest.raises(BaselineError, match=r"baseline\[0\] has 3 values but the model takes 2"):
        resolve_baseline(table, records, {"baseline": [[1, 2, 3]]}, None)
    with pytest.raises(BaselineError, match="is a URI.*runner must load it"):
        resolve_baseline(table, records, {"baseline": "s3://bucket/baseline.csv"}, None)
    with pytest.raises(BaselineError, match="num_clusters is 0"):
        resolve_baseline(table, records, {"num_clusters": 0}, None)
    with pytest.raises(BaselineError, match="has 1 columns but the model takes 2"):
        resolve_baseline(table, records, {}, pa.table({"c0": [0]}))
