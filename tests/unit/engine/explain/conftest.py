"""Shared helpers for the explanation tests: a brute-force Shapley oracle and small known models."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest

from tests.support.model_server import ModelServer


def brute_force_shapley(f, x, baseline, link=lambda p: p):
    """Exact Shapley values of ``S -> link(mean_k f(h(x, b_k, S)))`` by listing every subset.

    Independent of the engine: plain loops over subsets and the textbook formula.
    Returns (phi (k, M), expected (k,)).
    """
    x = np.asarray(x, dtype=float)
    baseline = np.asarray(baseline, dtype=float)
    m = len(x)

    def value(subset):
        rows = baseline.copy()
        for j in subset:
            rows[:, j] = x[j]
        out = np.asarray(f(rows), dtype=float)
        out = out.reshape(len(rows), -1)
        return link(out.mean(axis=0))

    phi = np.zeros((value(()).shape[0], m))
    for i in range(m):
        others = [j for j in range(m) if j != i]
        for size in range(m):
            weight = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
            for subset in combinations(others, size):
                phi[:, i] += weight * (value((*subset, i)) - value(subset))
    return phi, value(())


def reference_model(X):
    """The worked example's model: logistic with an x1*x3 interaction."""
    X = np.asarray(X, dtype=float)
    return 1 / (1 + np.exp(-(0.8 * X[:, 0] - 0.5 * X[:, 1] + 0.3 * X[:, 0] * X[:, 2] - 0.2)))


def interaction_model(X):
    """Five features, pairwise and three-way interactions, two outputs (p, 1 - p)."""
    X = np.asarray(X, dtype=float)
    z = (
        0.6 * X[:, 0]
        - 0.4 * X[:, 1] * X[:, 2]
        + 0.25 * X[:, 3] ** 2
        + 0.3 * X[:, 0] * X[:, 3] * X[:, 4]
        - 0.1
    )
    p = 1 / (1 + np.exp(-z))
    return np.column_stack([p, 1 - p])


@pytest.fixture
def reference_server():
    # a column of scores: the server then answers one score per CSV line
    with ModelServer(lambda X: reference_model(X)[:, None]) as server:
        yield server


@pytest.fixture
def interaction_server():
    with ModelServer(interaction_model) as server:
        yield server
