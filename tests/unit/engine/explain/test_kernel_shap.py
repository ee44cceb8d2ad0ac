"""Kernel SHAP values: exact Shapley equality (through the HTTP endpoint), golden vectors, sampling."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from airflow_provider_clarify.engine.explain import compute_explanations
from airflow_provider_clarify.engine.explain.coalitions import enumerate_all, plan_coalitions
from airflow_provider_clarify.engine.explain.kernel_shap import apply_link, solve_shap
from airflow_provider_clarify.engine.predictors import CallablePredictor, HttpPredictor
from tests.unit.engine.explain.conftest import brute_force_shapley, interaction_model, reference_model

REF_BASELINE = [[0, 1, 0], [2, 0, 1]]
REF_RECORDS = pa.table({"x1": [1.0, 3.0, 0.5], "x2": [2.0, 1.0, 0.5], "x3": [3.0, 0.0, 2.0]})
# The worked example of a logistic model with an x1*x3 interaction (verified with brute force and the shap package).
REF_PHI = [
    [0.03690104547495662, -0.13567476012887042, 0.11492839295091026],
    [0.30958746391979314, -0.029428358902667873, -0.04092902300551793],
    [-0.09381656036640855, 0.008426981714108847, 0.04126142663323963],
]
REF_PHI_LOGIT = [
    [0.1707561372134629, -0.5911150378128315, 0.4885536927673255],
    [1.7025681613780816, -0.1729108102522137, -0.26146255895790993],
    [-0.38704267573763473, 0.03591654067638647, 0.16932092722920514],
]


def _local(tmp_path, table, methods, predictor, **kwargs):
    from airflow_provider_clarify.engine.io import OutputLocation

    methods["shap"]["save_local_shap_values"] = True
    out = compute_explanations(table, methods, predictor, output=OutputLocation(str(tmp_path)), **kwargs)
    lines = (tmp_path / "explanations_shap" / "out.csv").read_text().splitlines()
    values = np.array([[float(c) for c in line.split(",")] for line in lines[1:]])
    return out, lines[0].split(","), values


@pytest.mark.parametrize(("use_logit", "expected_phi", "expected_value"), [
    (False, REF_PHI, 0.6063046529048581),
    (True, REF_PHI_LOGIT, 0.4318052078320431),
])  # fmt: skip
def test_reference_example_through_http_endpoint(
    tmp_path, reference_server, use_logit, expected_phi, expected_value
):
    predictor = HttpPredictor(reference_server.url)
    methods = {"shap": {"baseline": REF_BASELINE, "num_samples": 6, "use_logit": use_logit}}
    out, header, values = _local(tmp_path, REF_RECORDS, methods, predictor)
    assert header == ["x1_label0", "x2_label0", "x3_label0"]
    np.testing.assert_allclose(values, expected_phi, rtol=0, atol=1e-12)
    assert out["kernel_shap"]["label0"]["expected_value"] == pytest.approx(expected_value, abs=1e-12)
    assert reference_server.calls >= 1


def test_exact_equals_brute_force_with_interactions_through_http(tmp_path, interaction_server):
    rng = np.random.default_rng(7)
    records = rng.normal(size=(6, 5))
    baseline = rng.normal(size=(3, 5))
    table = pa.table({f"f{j}": records[:, j] for j in range(5)})
    predictor = HttpPredictor(interaction_server.url)
    methods = {"shap": {"baseline": baseline.tolist(), "num_samples": 30}}  # 2^5 - 2 = 30: exact
    out, header, values = _local(tmp_path, table, methods, predictor, label_headers=["yes", "no"])
    assert header == [f"f{j}_yes" for j in range(5)] + [f"f{j}_no" for j in range(5)]
    for n in range(len(records)):
        phi, expected = brute_force_shapley(interaction_model, records[n], baseline)
        np.testing.assert_allclose(values[n].reshape(2, 5), phi, rtol=0, atol=1e-9)
    assert out["kernel_shap"]["yes"]["expected_value"] == pytest.approx(expected[0], abs=1e-12)
    assert out["kernel_shap"]["no"]["expected_value"] == pytest.approx(expected[1], abs=1e-12)


def test_exact_equals_brute_force_with_logit_and_larger_budget():
    rng = np.random.default_rng(3)
    records = rng.normal(size=(4, 5))
    baseline = rng.normal(size=(2, 5))
    table = pa.table({f"f{j}": records[:, j] for j in range(5)})
    methods = {
        "shap": {
            "baseline": baseline.tolist(),
            "num_samples": 5000,
            "use_logit": True,
            "agg_method": "median",
        }
    }
    out = compute_explanations(table, methods, CallablePredictor(interaction_model))
    logit = lambda p: np.log(p / (1 - p))
    phis = np.array([brute_force_shapley(interaction_model, r, baseline, logit)[0] for r in records])
    median = np.median(phis[:, 0, :], axis=0)
    got = [out["kernel_shap"]["label0"]["global_shap_values"][f"f{j}"] for j in range(5)]
    np.testing.assert_allclose(got, median, atol=1e-9)


def test_linear_model_sanity_check():
    f = lambda X: 0.5 + 0.1 * X[:, 0] - 0.2 * X[:, 1] + 0.05 * X[:, 2]
    table = pa.table({"a": [1.0], "b": [2.0], "c": [3.0]})
    out = compute_explanations(
        table, {"shap": {"baseline": REF_BASELINE, "agg_method": "median"}}, CallablePredictor(f)
    )
    entry = out["kernel_shap"]["label0"]
    assert entry["expected_value"] == pytest.approx(0.525, abs=1e-12)
    assert list(entry["global_shap_values"].values()) == pytest.approx([0.0, -0.3, 0.125], abs=1e-12)


def test_sampled_values_are_exact_for_an_additive_model_and_keep_efficiency():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=12)
    f = lambda X: X @ weights
    records = rng.normal(size=(5, 12))
    baseline = rng.normal(size=(2, 12))
    table = pa.table({f"f{j}": records[:, j] for j in range(12)})
    out = compute_explanations(
        table, {"shap": {"baseline": baseline.tolist(), "num_samples": 100, "seed": 1, "agg_method": "median"}},
        CallablePredictor(f),
    )  # fmt: skip
    expected = np.median(weights * (records - baseline.mean(axis=0)), axis=0)
    got = list(out["kernel_shap"]["label0"]["global_shap_values"].values())
    np.testing.assert_allclose(got, expected, atol=1e-9)


def _sampled_error(num_samples: int, seed: int) -> float:
    rng = np.random.default_rng(11)
    m = 10
    records = rng.normal(size=(8, m))
    baseline = rng.normal(size=(1, m))
    # higher-order interactions (paired sampling is already exact for pairwise-only models)
    a = rng.normal(size=m) * 0.5

    def f(X):
        return np.sin(X @ a) + X[:, 0] * X[:, 1] * X[:, 2] + np.tanh(X[:, 3] * X[:, 4] * X[:, 5] * X[:, 9])

    from airflow_provider_clarify.engine.explain.coalitions import coalition_budget
    from airflow_provider_clarify.engine.explain.model_calls import ModelCaller
    from airflow_provider_clarify.engine.explain.synthetic import TabularRows, explain_group

    exact_plan = plan_coalitions(m, coalition_budget(m, None), np.random.default_rng(0))
    assert exact_plan.exact  # 2M + 2048 > 2^10 - 2
    caller = ModelCaller(CallablePredictor(f))
    rows = TabularRows(records, baseline, list(range(m)))
    exact, _ = explain_group(np.arange(8), exact_plan, rows, caller, use_logit=False)
    plan = plan_coalitions(m, num_samples, np.random.default_rng(seed))
    assert not plan.exact
    approx, _ = explain_group(np.arange(8), plan, rows, caller, use_logit=False)
    np.testing.assert_allclose(approx.values.sum(axis=2), exact.values.sum(axis=2), atol=1e-9)  # efficiency
    return float(np.sqrt(np.mean((approx.values - exact.values) ** 2)))


def test_sampling_converges_to_the_exact_values():
    errors = {n: np.mean([_sampled_error(n, seed) for seed in range(3)]) for n in (40, 200, 800)}
    assert errors[40] > errors[200] > errors[800]
    assert errors[800] < 0.25 * errors[40]


def test_same_seed_same_numbers_other_seed_other_numbers():
    rng = np.random.default_rng(5)
    records = rng.normal(size=(4, 8))
    table = pa.table({f"f{j}": records[:, j] for j in range(8)})
    f = lambda X: np.tanh(X[:, 0] * X[:, 1]) + X[:, 2] * X[:, 3] * X[:, 7] + np.sin(X[:, 4] + X[:, 5])

    def run(seed):
        methods = {"shap": {"num_samples": 40, "seed": seed, "baseline": [[0.0] * 8, [1.0] * 8]}}
        return compute_explanations(table, methods, CallablePredictor(f))["kernel_shap"]["label0"]

    assert run(42) == run(42)
    assert run(42)["global_shap_values"] != run(43)["global_shap_values"]


def test_features_to_explain_holds_the_other_features_at_the_record():
    records = np.array([[1.0, 2.0, 3.0], [3.0, 1.0, 0.0]])
    table = pa.table({"x1": records[:, 0], "x2": records[:, 1], "x3": records[:, 2]})
    methods = {
        "shap": {"baseline": REF_BASELINE, "features_to_explain": ["x3", "x1"], "agg_method": "median"}
    }
    out = compute_explanations(table, methods, CallablePredictor(reference_model))
    values = out["kernel_shap"]["label0"]["global_shap_values"]
    assert list(values) == ["x1", "x3"]
    # brute force on the 2-player game where x2 always keeps the record's value
    phis = []
    for x in records:
        base = np.array(REF_BASELINE, dtype=float)
        base[:, 1] = x[1]
        phi, _ = brute_force_shapley(reference_model, x, base)
        phis.append(phi[0, [0, 2]])
    np.testing.assert_allclose([values["x1"], values["x3"]], np.median(phis, axis=0), atol=1e-12)


def test_solver_enforces_efficiency_with_few_samples():
    rng = np.random.default_rng(1)
    plan = plan_coalitions(6, 10, rng)
    y = rng.normal(size=(len(plan), 3))
    base, full = rng.normal(size=3), rng.normal(size=3)
    phi = solve_shap(plan, y, base, full)
    np.testing.assert_allclose(phi.sum(axis=1), full - base, atol=1e-12)


def test_exact_solver_matches_weighted_least_squares_on_all_coalitions():
    rng = np.random.default_rng(2)
    plan = enumerate_all(5)
    y = rng.normal(size=(len(plan), 4))
    base, full = rng.normal(size=4), rng.normal(size=4)
    exact = solve_shap(plan, y, base, full)
    from dataclasses import replace

    wls = solve_shap(replace(plan, exact=False), y, base, full)
    np.testing.assert_allclose(exact, wls, atol=1e-10)


def test_logit_link_is_finite_at_zero_and_one():
    out = apply_link(np.array([0.0, 0.5, 1.0]), True)
    assert np.all(np.isfinite(out))
    assert out[1] == 0.0
    assert out[0] < -20
    assert out[2] > 20
