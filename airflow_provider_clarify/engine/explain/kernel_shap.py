"""Kernel SHAP attribution from coalition values.

Notation (docs/explainability.md, "What is computed"): for one record and one model output, ``v(S)`` is the model output
averaged over the baseline rows with the features in ``S`` taken from the record, ``link`` is the
identity or the logit, ``phi_0 = link(v(empty))`` and ``delta = link(v(full)) - phi_0``.

The SHAP values minimise ``sum_S pi(S) * (link(v(S)) - phi_0 - sum_{j in S} phi_j)^2`` subject to the
efficiency constraint ``sum_j phi_j = delta``. The constraint is enforced exactly by substitution,
``phi_M = delta - sum_{j<M} phi_j``, which leaves an unconstrained weighted least-squares problem in
``phi_1..phi_{M-1}``:

    y_S - phi_0 - z_{S,M} * delta  =  sum_{j<M} (z_{S,j} - z_{S,M}) * phi_j

When every coalition is listed the minimiser is the Shapley value, which this module then evaluates
directly from its closed form (same numbers, fewer rounding steps):

    phi_i = sum_{S not containing i} |S|! (M - |S| - 1)! / M! * (link(v(S + i)) - link(v(S)))

Every coalition T contributes ``+c(|T| - 1) * link(v(T))`` to the features in T and
``-c(|T|) * link(v(T))`` to the others (``c(s) = s! (M - s - 1)! / M!``); the empty and the full
coalition add ``-phi_0 / M`` and ``+link(v(full)) / M`` to every feature.

All records that share a coalition plan are solved together: the design matrix depends only on the
coalitions, so one factorisation with many right-hand sides does the whole group (a QR factorisation
when the design has full column rank, else ``numpy.linalg.lstsq``'s minimum-norm solution, e.g. with
fewer coalitions than features).

The solve runs with ONE BLAS thread (``threadpoolctl``). Its matrices are small (coalitions x
features, coalitions x records), where threaded BLAS gains nothing and, on a busy machine, loses a
great deal: a 2048 x 15 QR factorisation took 0.3 s instead of 0.3 ms with two OpenBLAS threads
competing for two loaded cores. The model calls keep their threads.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from airflow_provider_clarify.engine.explain.coalitions import CoalitionPlan
from airflow_provider_clarify.engine.explain.paired_regression import paired_solver, solve_paired

#: Probabilities are clipped to [LOGIT_EPS, 1 - LOGIT_EPS] before the logit, so a model that outputs
#: exactly 0 or 1 yields large but finite log-odds instead of infinities.
LOGIT_EPS = 1e-12


def apply_link(values: np.ndarray, use_logit: bool) -> np.ndarray:
    """``ln(p / (1 - p))`` when ``use_logit`` (after averaging over the baseline), else identity."""
    if not use_logit:
        return values
    p = np.clip(values, LOGIT_EPS, 1.0 - LOGIT_EPS)
    return np.log(p) - np.log1p(-p)


def shapley_coefficients(plan: CoalitionPlan) -> np.ndarray:
    """``(C, M)`` matrix W with ``phi = W.T @ y + (full - base) / M`` for an enumerated plan."""
    m = plan.num_players
    c = np.array([math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) for s in range(m)])
    sizes = plan.masks.sum(axis=1)
    inside = c[np.clip(sizes - 1, 0, m - 1)][:, None]
    outside = c[np.clip(sizes, 0, m - 1)][:, None]
    return np.where(plan.masks, inside, -outside)


@functools.cache
def _blas_controller() -> Any:
    # Scanning the loaded libraries takes milliseconds; numpy's BLAS is loaded before this module
    # runs, so one scan per process finds the library every solve uses.
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS/LAPACK to one thread inside the block (see the module docstring)."""
    with _blas_controller().limit(limits=1, user_api="blas"):
        yield


def solve_shap(plan: CoalitionPlan, y: np.ndarray, base: np.ndarray, full: np.ndarray) -> np.ndarray:
    """SHAP values for many (record, output) columns at once.

    :param plan: coalitions of the group (M players).
    :param y: ``(C, R)`` linked coalition values, one column per (record, output).
    :param base: ``(R,)`` ``phi_0`` per column.
    :param full: ``(R,)`` ``link(v(full))`` per column.
    :return: ``(R, M)`` SHAP values; each row sums to ``full - base`` exactly (up to rounding).
    """
    with single_threaded_blas():
        return _solve(plan, y, base, full)


def _solve(plan: CoalitionPlan, y: np.ndarray, base: np.ndarray, full: np.ndarray) -> np.ndarray:
    m = plan.num_players
    delta = full - base
    if m == 0:
        return np.zeros((y.shape[1], 0))
    if m == 1:
        return delta[:, None].copy()
    if plan.exact:
        phi = shapley_coefficients(plan).T @ y + (delta / m)[None, :]
        return phi.T
    solver = paired_solver(plan)
    if solver is not None:
        return solve_paired(solver, y, delta)
    return _solve_first_order(plan, y, base, delta)


def _solve_first_order(plan: CoalitionPlan, y: np.ndarray, base: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """The kernel-weighted least squares in ``phi`` alone (the formula of the module docstring)."""
    z = plan.masks.astype(float)
    sqrt_w = np.sqrt(plan.weights)[:, None]
    design = (z[:, :-1] - z[:, -1:]) * sqrt_w
    target = (y - base[None, :] - z[:, -1:] * delta[None, :]) * sqrt_w
    head = _least_squares(design, target)
    last = delta - head.sum(axis=0)
    return np.vstack([head, last[None, :]]).T


def _least_squares(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``argmin ||design @ x - target||`` for every column of ``target``."""
    rows, cols = design.shape
    if rows >= cols:
        q, r = np.linalg.qr(design)
        diag = np.abs(np.diag(r))
        if diag.size and diag.min() > 1e-10 * max(diag.max(), 1e-300):
            return np.linalg.solve(r, q.T @ target)
    solution, *_ = np.linalg.lstsq(design, target, rcond=None)
    return solution
