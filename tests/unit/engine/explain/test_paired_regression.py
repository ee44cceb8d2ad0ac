"""The sampled Kernel SHAP estimator (paired pairs + third-order terms shrunk by GCV) against exact
enumeration: exactness, efficiency, determinism, and lower error than the first-order solve."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pyarrow as pa
import pytest

from airflow_provider_clarify.engine.explain import kernel_shap
from airflow_provider_clarify.engine.explain.coalitions import CoalitionPlan, enumerate_all, plan_coalitions
from airflow_provider_clarify.engine.explain.explainer import run_kernel_shap
from airflow_provider_clarify.engine.explain.model_calls import ModelCaller, table_to_matrix
from airflow_provider_clarify.engine.explain.paired_regression import complementary_pairs, paired_solver
from airflow_provider_clarify.engine.predictors import CallablePredictor


def _game_values(game, masks: np.ndarray, records: int) -> np.ndarray:
    """``(C, R)`` values of ``game(record, mask)`` for every coalition row and record."""
    return np.array([[game(r, mask) for r in range(records)] for mask in masks])


def _exact(game, m: int, records: int) -> np.ndarray:
    """Shapley values ``(R, M)`` by the permutation-free closed form over all 2^M coalitions."""
    out = np.zeros((records, m))
    for r in range(records):
        for j in range(m):
            others = [k for k in range(m) if k != j]
            for size in range(m):
                weight = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
                for subset in combinations(others, size):
                    mask = np.zeros(m, dtype=bool)
                    mask[list(subset)] = True
                    without = game(r, mask)
                    mask[j] = True
                    out[r, j] += weight * (game(r, mask) - without)
    return out


def _solve(game, plan: CoalitionPlan, records: int, first_order: bool = False) -> np.ndarray:
    m = plan.num_players
    y = _game_values(game, plan.masks, records)
    base = np.array([game(r, np.zeros(m, dtype=bool)) for r in range(records)])
    full = np.array([game(r, np.ones(m, dtype=bool)) for r in range(records)])
    if first_order:
        return kernel_shap._solve_first_order(plan, y, base, full - base)
    return kernel_shap.solve_shap(plan, y, base, full)


def _order4_game(m: int, seed: int):
    """A game with random interactions of orders 1-4 (and a constant), different per record."""
    rng = np.random.default_rng(seed)
    terms = [
        (tuple(int(t) for t in rng.choice(m, size=order, replace=False)), rng.normal())
        for order in (1, 2, 3, 4)
        for _ in range(3 * m)
    ]
    scale = rng.normal(size=4) + 2.0

    def game(r: int, mask: np.ndarray) -> float:
        return 0.3 + scale[r] * sum(c for t, c in terms if mask[list(t)].all())

    return game


def test_enumerated_coalitions_give_the_exact_shapley_values_through_the_paired_solver():
    m, records = 7, 3
    game = _order4_game(m, 1)
    game_5 = lambda r, mask: game(r, mask) + np.prod(np.where(mask[:5], 1.5, -0.5)) * (r + 1)  # order 5
    full = enumerate_all(m)
    as_sampled = CoalitionPlan(full.masks, full.weights, exact=False)  # forces the regression path
    assert paired_solver(as_sampled) is not None
    np.testing.assert_allclose(_solve(game_5, as_sampled, records), _exact(game_5, m, records), atol=1e-12)
    # and the budget rule: a budget that covers every coalition enumerates (closed form)
    plan = plan_coalitions(m, 2**m - 2, np.random.default_rng(0))
    assert plan.exact
    np.testing.assert_allclose(_solve(game_5, plan, records), _exact(game_5, m, records), atol=1e-12)


def test_sampled_estimate_is_exact_for_interactions_up_to_order_four():
    """Pairs make even orders free, so the triple terms fit any game of order <= 4 exactly; the
    first-order paired solve is only exact up to order 2."""
    m, records = 8, 4
    game = _order4_game(m, 2)
    exact = _exact(game, m, records)
    plan = plan_coalitions(m, 180, np.random.default_rng(3))  # 90 pairs > 8 + 56 coefficients
    assert not plan.exact
    np.testing.assert_allclose(_solve(game, plan, records), exact, atol=1e-9)
    assert np.abs(_solve(game, plan, records, first_order=True) - exact).max() > 1e-3


@pytest.mark.parametrize("budget", [60, 101, 180])
def test_efficiency_is_exact_for_every_sampled_budget(budget):
    m, records = 8, 4
    rng = np.random.default_rng(budget)
    game = lambda r, mask: float(np.tanh(np.sum(mask * np.arange(1, m + 1)) / 7 - r) ** 3)
    phi = _solve(game, plan_coalitions(m, budget, rng), records)
    delta = [game(r, np.ones(m, dtype=bool)) - game(r, np.zeros(m, dtype=bool)) for r in range(records)]
    np.testing.assert_allclose(phi.sum(axis=1), delta, rtol=0, atol=1e-12)


def _run(seed: int, logit: bool = False) -> np.ndarray:
    rng = np.random.default_rng(4)
    records, baseline = rng.normal(size=(6, 11)), rng.normal(size=(2, 11))
    table = pa.table({f"f{j}": records[:, j] for j in range(11)})

    def model(X):
        p = 1 / (1 + np.exp(-(X[:, 0] * X[:, 1] * X[:, 2] + np.sin(X[:, 3:].sum(axis=1)))))
        return np.column_stack([p, 1 - p])

    config = {"baseline": baseline.tolist(), "num_samples": 300, "seed": seed, "use_logit": logit}
    return run_kernel_shap(table, table_to_matrix(table), config, ModelCaller(CallablePredictor(model)))


def test_same_seed_same_values_and_expected_value_exact():
    a, b, c = _run(7, logit=True), _run(7, logit=True), _run(8, logit=True)
    assert a.local.tobytes() == b.local.tobytes()
    assert not np.array_equal(a.local, c.local)
    np.testing.assert_allclose(a.local.sum(axis=2), a.full - a.base, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(a.base, c.base)  # phi_0 = link(mean_k f(b_k)) whatever the coalitions


def _hard_game(m: int, records: int):
    rng = np.random.default_rng(11)
    x, b = rng.normal(size=(records, m)), rng.normal(size=(2, m))
    a = rng.normal(size=m) * 0.5

    def f(X):
        return (
            np.sin(X @ a) + X[:, 0] * X[:, 1] * X[:, 2] + np.tanh(X[:, 3] * X[:, 4] * X[:, 5] * X[:, 9])
            + 0.3 * np.prod(X[:, 5:], axis=1)
        )  # fmt: skip

    def game(r: int, mask: np.ndarray) -> float:
        return float(f(np.where(mask, x[r], b)).mean())

    return game


def test_error_is_below_the_first_order_solve_at_equal_budget():
    """Statistical, with fixed seeds: RMS error against exact enumeration (M = 10, interactions of
    every order through sin/tanh/products) at the same coalitions, averaged over 6 seeds."""
    m, records = 10, 5
    game = _hard_game(m, records)
    exact = _solve(game, enumerate_all(m), records)
    for budget in (120, 300, 600):
        new, old = [], []
        for seed in range(6):
            plan = plan_coalitions(m, budget, np.random.default_rng(seed))
            new.append(np.sqrt(np.mean((_solve(game, plan, records) - exact) ** 2)))
            old.append(np.sqrt(np.mean((_solve(game, plan, records, first_order=True) - exact) ** 2)))
        assert np.mean(new) < 0.9 * np.mean(old), (budget, np.mean(new), np.mean(old))


def test_too_few_pairs_fall_back_to_the_first_order_solve():
    m, records = 12, 3
    game = _hard_game(m, records)
    plan = plan_coalitions(m, 20, np.random.default_rng(0))  # 10 pairs < 12 features
    assert paired_solver(plan) is None
    np.testing.assert_array_equal(_solve(game, plan, records), _solve(game, plan, records, first_order=True))
    unpaired = CoalitionPlan(plan.masks[::2], plan.weights[::2] / plan.weights[::2].sum(), exact=False)
    assert complementary_pairs(unpaired.masks)[2] > 1
    assert paired_solver(unpaired) is None


def test_the_set_up_is_cached_per_plan():
    plan = plan_coalitions(9, 200, np.random.default_rng(1))
    same = CoalitionPlan(plan.masks.copy(), plan.weights.copy(), exact=False)
    assert paired_solver(plan) is paired_solver(same)
    other = plan_coalitions(9, 200, np.random.default_rng(2))
    assert paired_solver(other) is not paired_solver(plan)
