"""Coalition budget, enumeration and paired sampling with Shapley kernel weights."""

from __future__ import annotations

import math

import numpy as np

from airflow_provider_clarify.engine.explain.coalitions import (
    coalition_budget,
    enumerate_all,
    plan_coalitions,
    size_masses,
)


def test_budget_rule_of_the_reference():
    assert coalition_budget(10, None) == 1022  # min(2M + 2048, 2^M - 2)
    assert coalition_budget(20, None) == 2088
    assert coalition_budget(3, 100) == 6
    assert coalition_budget(12, 500) == 500
    assert coalition_budget(1, 10) == 0


def test_enumeration_lists_every_coalition_once_with_kernel_weights():
    plan = enumerate_all(4)
    assert plan.exact
    assert len(plan) == 14
    assert len({row.tobytes() for row in plan.masks}) == 14
    sizes = plan.masks.sum(axis=1)
    # pi(S) = (M-1) / (C(M,|S|) |S| (M-|S|)), normalised
    raw = np.array([3 / (math.comb(4, s) * s * (4 - s)) for s in sizes])
    np.testing.assert_allclose(plan.weights, raw / raw.sum())


def test_full_budget_means_enumeration():
    plan = plan_coalitions(5, 30, np.random.default_rng(0))
    assert plan.exact
    assert len(plan) == 30


def test_sampled_plan_is_paired_within_budget_and_weighted():
    rng = np.random.default_rng(0)
    plan = plan_coalitions(12, 300, rng)
    assert not plan.exact
    assert len(plan) == 300
    codes = {row.tobytes() for row in plan.masks}
    assert len(codes) == 300
    complements = sum((~row).tobytes() in codes for row in plan.masks)
    assert complements >= 298  # every coalition comes with its complement (one may be cut by the budget)
    assert np.isclose(plan.weights.sum(), 1.0)
    # sizes 1 and 11 (24 coalitions) fit the budget share and are enumerated with exact weights
    masses = size_masses(12)
    for row, weight in zip(plan.masks, plan.weights):
        if row.sum() in (1, 11):
            assert np.isclose(weight, masses[1] / 12)
    assert sum(row.sum() in (1, 11) for row in plan.masks) == 24


def test_sampling_is_deterministic_for_a_seed():
    a = plan_coalitions(15, 200, np.random.default_rng(9))
    b = plan_coalitions(15, 200, np.random.default_rng(9))
    assert np.array_equal(a.masks, b.masks)
    assert np.array_equal(a.weights, b.weights)
