"""explanations_shap/out.csv layout: header, block per output, join column, row order, additivity."""

from __future__ import annotations

import csv

import numpy as np
import pyarrow as pa
import pytest

from airflow_provider_clarify.engine.explain import compute_explanations
from airflow_provider_clarify.engine.explain.local_values import local_values_csv
from airflow_provider_clarify.engine.io import OutputLocation
from airflow_provider_clarify.engine.predictors import CallablePredictor
from tests.unit.engine.explain.conftest import interaction_model


def test_layout_with_join_ids_and_multiple_outputs(tmp_path):
    rng = np.random.default_rng(4)
    records = rng.normal(size=(7, 5))
    table = pa.table(
        {name: records[:, j] for j, name in enumerate(["age", "income", "debt", "tenure", "score"])}
    )
    baseline = rng.normal(size=(2, 5)).tolist()
    methods = {"shap": {"baseline": baseline, "save_local_shap_values": True}}
    ids = pa.array([f"id-{i}" for i in range(7)])
    out = compute_explanations(
        table, methods, CallablePredictor(interaction_model), label_headers=["approved", "rejected"],
        output=OutputLocation(str(tmp_path)), join_ids=ids, join_column="customer_id",
    )  # fmt: skip
    with open(tmp_path / "explanations_shap" / "out.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    features = table.column_names
    assert rows[0] == ["customer_id"] + [f"{f}_approved" for f in features] + [
        f"{f}_rejected" for f in features
    ]
    assert [r[0] for r in rows[1:]] == [f"id-{i}" for i in range(7)]  # dataset order
    values = np.array([[float(c) for c in r[1:]] for r in rows[1:]]).reshape(7, 2, 5)
    # additivity per row and output: sum(phi) + expected_value = f(x)
    predictions = interaction_model(records)
    for k, key in enumerate(["approved", "rejected"]):
        expected = out["kernel_shap"][key]["expected_value"]
        np.testing.assert_allclose(values[:, k, :].sum(axis=1) + expected, predictions[:, k], atol=1e-12)
    # the baseline that was used is written beside it (features only, no header)
    lines = (tmp_path / "explanations_shap" / "baseline.csv").read_text().splitlines()
    assert [[float(c) for c in line.split(",")] for line in lines] == baseline


def test_not_written_unless_requested(tmp_path):
    table = pa.table({"a": [1.0, 2.0], "b": [0.0, 1.0]})
    compute_explanations(
        table, {"shap": {"baseline": [[0.0, 0.0]]}}, CallablePredictor(lambda X: X.sum(axis=1)),
        output=OutputLocation(str(tmp_path)),
    )  # fmt: skip
    assert not (tmp_path / "explanations_shap" / "out.csv").exists()
    assert (tmp_path / "explanations_shap" / "baseline.csv").exists()


def test_floats_round_trip_and_wrong_id_count_is_rejected():
    values = np.array([[[0.1, 1 / 3]]])
    text = local_values_csv(values, ["a", "b"], ["label0"])
    assert text.splitlines() == ["a_label0,b_label0", f"0.1,{1 / 3!r}"]
    with pytest.raises(ValueError, match="join_ids has 2 values for 1 explained records"):
        local_values_csv(values, ["a", "b"], ["label0"], join_ids=[1, 2])
