"""Partial dependence on models whose partial dependence is known in closed form."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from airflow_provider_clarify.engine.explain import compute_explanations
from airflow_provider_clarify.engine.explain.pdp import UNSUPPORTED_MESSAGE, PdpConfigError, numeric_grid
from airflow_provider_clarify.engine.predictors import CallablePredictor


def test_published_grid_centres_are_reproduced():
    values = np.array([19.0, 75.0, 40.0])
    centres, _ = numeric_grid(values, 20)
    assert centres[:5] == [20.4, 23.2, 26.0, 28.799999999999997, 31.599999999999998]
    assert centres[-2:] == [70.8, 73.6]


def test_values_distribution_and_known_partial_dependence():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 200)
    z = rng.normal(size=200)
    colour = rng.choice(["red", "green"], 200).tolist()
    table = pa.table({"x": x, "z": z, "colour": colour})

    def model(X):
        xs, zs = X[:, 0].astype(float), X[:, 1].astype(float)
        red = np.array([c == "red" for c in X[:, 2]], dtype=float)
        p = 0.1 * xs + xs * zs + 0.5 * red  # PD_x(g) = 0.1 g + g * mean(z) + 0.5 * share(red)
        return np.column_stack([p, -p])

    methods = {"pdp": {"features": ["x", 2], "grid_resolution": 5}}
    out = compute_explanations(table, methods, CallablePredictor(model), label_headers=["up", "down"])
    x_entry, colour_entry = out["pdp"]
    assert x_entry["feature_name"] == "x"
    assert x_entry["data_type"] == "numerical"
    lo, hi = x.min(), x.max()
    w = (hi - lo) / 5
    assert x_entry["feature_values"] == [(lo + w / 2) + w * i for i in range(5)]
    expected_share = np.bincount(np.clip(((x - lo) / w).astype(int), 0, 4), minlength=5) / 200
    assert x_entry["data_distribution"] == pytest.approx(expected_share.tolist())
    share_red = colour.count("red") / 200
    pd = [0.1 * g + g * z.mean() + 0.5 * share_red for g in x_entry["feature_values"]]
    assert x_entry["model_predictions"][0] == pytest.approx(pd, abs=1e-12)
    assert x_entry["model_predictions"][1] == pytest.approx([-v for v in pd], abs=1e-12)
    assert x_entry["label_headers"] == ["up", "down"]

    assert colour_entry["data_type"] == "categorical"
    assert colour_entry["feature_values"] == list(dict.fromkeys(colour))  # first appearance
    shares = {c: colour.count(c) / 200 for c in colour_entry["feature_values"]}
    assert colour_entry["data_distribution"] == [shares[c] for c in colour_entry["feature_values"]]
    pd_colour = [
        0.1 * x.mean() + np.mean(x * z) + (0.5 if c == "red" else 0.0) for c in colour_entry["feature_values"]
    ]
    assert colour_entry["model_predictions"][0] == pytest.approx(pd_colour, abs=1e-12)


def test_top_k_by_shap_importance_and_free_text_error():
    rng = np.random.default_rng(1)
    table = pa.table({
        "a": rng.normal(size=30), "b": rng.normal(size=30), "c": rng.normal(size=30),
        "note": [f"free text number {i} here" for i in range(30)],
    })  # fmt: skip
    model = lambda X: 3 * X[:, 2].astype(float) + 1 * X[:, 0].astype(float) + 0.01 * X[:, 1].astype(float)
    methods = {
        "shap": {"baseline": [[0.0, 0.0, 0.0, ""]]},
        "pdp": {"grid_resolution": 3, "top_k_features": 2},
    }
    out = compute_explanations(table, methods, CallablePredictor(model))
    assert [e["feature_name"] for e in out["pdp"]] == ["c", "a"]
    text_out = compute_explanations(
        table, {"pdp": {"features": ["note"], "grid_resolution": 3}}, CallablePredictor(model)
    )
    assert text_out["pdp"] == [
        {"feature_name": "note", "data_type": "free_text", "error": UNSUPPORTED_MESSAGE}
    ]


def test_pdp_alone_needs_features():
    table = pa.table({"a": [1.0, 2.0]})
    with pytest.raises(PdpConfigError, match="methods.pdp.features is required"):
        compute_explanations(table, {"pdp": {"grid_resolution": 3}}, CallablePredictor(lambda X: X[:, 0]))
    with pytest.raises(PdpConfigError, match="contains 'zzz', which is not a feature"):
        compute_explanations(table, {"pdp": {"features": ["zzz"]}}, CallablePredictor(lambda X: X[:, 0]))
