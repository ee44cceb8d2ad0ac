"""Sampled Kernel SHAP from complementary pairs, with third-order terms shrunk by cross-validation.

Used by :func:`.kernel_shap.solve_shap` when the coalitions are sampled (docs/explainability.md,
"Estimator"). The plan of :mod:`.coalitions` lists every coalition ``S`` together with its complement
``N \\ S``; this module turns that into a better estimate for the same model calls.

**Only the odd part matters.** For the dual game ``v*(S) = v(N) - v(N \\ S)`` the Shapley values are
the same as for ``v``, so they are the Shapley values of ``(v + v*) / 2``, which depends on a pair only
through ``u(S) = (y(S) - y(N \\ S)) / 2`` (``y`` = linked coalition value). One pair is one observation
of ``u``; nothing has to be spent on the even part ``y(S) + y(N \\ S)``.

**Surrogate.** ``u`` is fitted with the odd parts of the Moebius terms
``o_T(S) = ([T in S] - [T disjoint from S]) / 2`` for every feature (``|T| = 1``: ``z_j - 1/2``) and
every triple (``|T| = 3``). The odd parts of pair and quadruple terms are linear combinations of these,
so the fit is exact for every game whose interactions have order at most 4 (gradient-boosted trees of
depth <= 4, for instance). The Shapley value of ``o_T`` is ``1/|T|`` for each member of ``T``, so

    phi_j = sum_{T containing j} c_T / |T|.

**Efficiency.** ``o_T(N) - o_T(empty) = 1`` for every ``T``, so ``sum_T c_T = delta`` makes
``sum_j phi_j = delta`` hold exactly; the constraint is substituted into the fit
(``c_last = delta - sum_{T != last} c_T``), as in the first-order solve.

**Shrinkage.** With few pairs the C(M, 3) triple coefficients are noisy, so they are ridge-penalised
(``lambda * ||c_3||^2``, the linear terms free) with ``lambda`` chosen per (record, output) column by
generalised cross-validation (Golub, Heath and Wahba 1979): the minimiser of
``RSS(lambda) / (n - df(lambda))^2`` over a fixed grid that includes 0 and infinity. ``lambda = inf``
is exactly the first-order paired Kernel SHAP solve (the previous estimator); ``lambda = 0`` is the
unpenalised third-order fit. The residuals and weights are those of the Shapley kernel
(pair weight = kernel weight of ``S`` + kernel weight of its complement).

Everything that depends only on the coalitions (the basis, the projection on the linear terms, the
eigen-decomposition of the penalised block) is computed once per plan and cached; a solve for R
columns then costs a few ``(terms x pairs) @ (pairs x R)`` products. The triple terms are used only
while that set-up stays cheap (:data:`MAX_SETUP_FLOPS`; M <= 20 at the default budget); beyond it, and
when the plan has fewer pairs than features, the first-order solve is used.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from airflow_provider_clarify.engine.explain.coalitions import CoalitionPlan

#: Upper bound on ``pairs * terms * min(pairs, terms)`` (the Gram matrix and its eigen-decomposition)
#: for using the third-order terms: about a second of one core; M = 20 at the default budget is 1.2e9.
MAX_SETUP_FLOPS = 1.5e9
#: Ridge grid, relative to the largest eigenvalue of the penalised Gram matrix (plus 0 and infinity).
RELATIVE_LAMBDAS = np.logspace(-8, 4, 49)
#: Eigenvalues below this fraction of the largest one count as zero (rank deficiency).
RANK_TOLERANCE = 1e-10
_CACHE_SIZE = 8


@dataclass(frozen=True)
class PairedSolver:
    """Everything a paired solve needs that depends only on the coalitions (see the module docstring)."""

    first: np.ndarray  # (n,) row of S in the plan
    second: np.ndarray  # (n,) row of its complement
    sqrt_w: np.ndarray  # (n, 1) square roots of the pair weights
    last_column: np.ndarray  # (n, 1) o_last(S): the eliminated (last linear) term
    q1: np.ndarray  # (n, M-1) orthonormal basis of the weighted linear design
    r1: np.ndarray  # (M-1, M-1) its triangular factor
    d3: np.ndarray  # (n, p) weighted triple design with the elimination applied
    d3_projected: np.ndarray  # (n, p) d3 minus its projection on the linear design
    eigenvalues: np.ndarray  # (r,) of the penalised Gram matrix (> 0)
    eigenvectors: np.ndarray  # (p, r) in coefficient space
    attribution: np.ndarray  # (p, M) 1/3 for the members of each triple
    linear_df: int  # M - 1


def paired_solver(plan: CoalitionPlan) -> PairedSolver | None:
    """The solver of ``plan``, or None when the first-order solve should be used.

    Cached by the coalitions' content (a job, and the explainer server, reuse one plan for every
    chunk and request; an equal plan rebuilt from the same seed finds the same set-up).
    """
    return _cached_solver(_PlanKey(plan))


class _PlanKey:
    """A plan hashed and compared by its masks and weights (numpy arrays themselves are unhashable)."""

    __slots__ = ("digest", "plan")

    def __init__(self, plan: CoalitionPlan) -> None:
        digest = hashlib.blake2b(digest_size=20)
        digest.update(np.asarray(plan.masks.shape, dtype=np.int64).tobytes())
        digest.update(np.ascontiguousarray(plan.masks).tobytes())
        digest.update(np.ascontiguousarray(plan.weights, dtype=np.float64).tobytes())
        self.plan, self.digest = plan, digest.digest()

    def __hash__(self) -> int:
        return hash(self.digest)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _PlanKey) and self.digest == other.digest


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _cached_solver(key: _PlanKey) -> PairedSolver | None:
    return _build(key.plan)


def complementary_pairs(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows ``(i, j)`` with ``masks[j] == ~masks[i]`` (each pair once), and the number of unpaired rows."""
    index = {row.tobytes(): r for r, row in enumerate(masks)}
    complements = (~masks).tobytes()
    width = masks.shape[1]
    first, second = [], []
    unpaired = 0
    for r in range(masks.shape[0]):
        other = index.get(complements[r * width : (r + 1) * width])
        if other is None:
            unpaired += 1
        elif r < other:
            first.append(r)
            second.append(other)
    return np.array(first, dtype=np.intp), np.array(second, dtype=np.intp), unpaired


def _build(plan: CoalitionPlan) -> PairedSolver | None:
    m = plan.num_players
    if m < 3:
        return None
    first, second, unpaired = complementary_pairs(plan.masks)
    n, p = len(first), math.comb(m, 3)
    # the engine's plans leave at most one coalition unpaired (an odd budget); other plans go first-order
    if unpaired > 1 or n < m or n * p * min(n, p) > MAX_SETUP_FLOPS:
        return None
    masks = plan.masks[first]
    weights = plan.weights[first] + plan.weights[second]
    sqrt_w = np.sqrt(weights)[:, None]
    linear = masks.astype(float) - 0.5  # o_j for the M features
    triples = np.array(list(combinations(range(m), 3)), dtype=np.intp)
    inside = masks[:, triples].all(axis=2)
    outside = (~masks)[:, triples].all(axis=2)
    triple = (inside.astype(float) - outside) / 2  # (n, p)
    last_column = linear[:, -1:]
    d1 = (linear[:, :-1] - last_column) * sqrt_w
    d3 = (triple - last_column) * sqrt_w
    q1, r1 = np.linalg.qr(d1)
    diag = np.abs(np.diag(r1))
    if diag.min() <= 1e-10 * max(diag.max(), 1e-300):
        return None  # the pairs do not determine the linear terms: first-order minimum-norm solve
    d3_projected = d3 - q1 @ (q1.T @ d3)
    if p <= n:
        values, vectors = np.linalg.eigh(d3_projected.T @ d3_projected)
    else:  # the n x n Gram matrix is smaller; map its eigenvectors to coefficient space
        values, left = np.linalg.eigh(d3_projected @ d3_projected.T)
        keep = values > RANK_TOLERANCE * max(values.max(), 1e-300)
        values, left = values[keep], left[:, keep]
        vectors = d3_projected.T @ left / np.sqrt(values)
    keep = values > RANK_TOLERANCE * max(values.max(initial=0.0), 1e-300)
    attribution = np.zeros((p, m))
    np.put_along_axis(attribution, triples, 1.0 / 3.0, axis=1)
    return PairedSolver(
        first=first,
        second=second,
        sqrt_w=sqrt_w,
        last_column=last_column,
        q1=q1,
        r1=r1,
        d3=d3,
        d3_projected=d3_projected,
        eigenvalues=values[keep],
        eigenvectors=vectors[:, keep],
        attribution=attribution,
        linear_df=m - 1,
    )


def solve_paired(solver: PairedSolver, y: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """``(R, M)`` SHAP values from the ``(C, R)`` linked coalition values (``y`` minus nothing: the
    odd part cancels ``phi_0``) and ``delta = link(v(full)) - phi_0`` per column."""
    u = (y[solver.first] - y[solver.second]) / 2
    target = (u - solver.last_column * delta[None, :]) * solver.sqrt_w
    projected = target - solver.q1 @ (solver.q1.T @ target)
    s2 = solver.eigenvalues
    # coordinates of the projected target along the penalised directions, scaled by the singular values
    b = solver.eigenvectors.T @ (solver.d3_projected.T @ projected)  # (r, R) = s_k * <u_k, projected>
    shrink = _gcv_shrinkage(s2, b, projected, solver.first.size, solver.linear_df)  # (r, R)
    c3 = solver.eigenvectors @ (shrink / s2[:, None] * b) if s2.size else np.zeros((0, y.shape[1]))
    rest = solver.q1.T @ (target - solver.d3 @ c3)
    c1 = np.linalg.solve(solver.r1, rest)  # the first M-1 linear coefficients
    c_last = delta - c1.sum(axis=0) - c3.sum(axis=0)
    phi = np.vstack([c1, c_last[None, :]]) + solver.attribution.T @ c3
    return phi.T


def _gcv_shrinkage(
    s2: np.ndarray, b: np.ndarray, projected: np.ndarray, rows: int, linear_df: int
) -> np.ndarray:
    """Per column, the ridge factors ``s2 / (s2 + lambda)`` of the GCV-chosen ``lambda``."""
    if s2.size == 0:
        return np.zeros((0, projected.shape[1]))
    lambdas = s2.max() * RELATIVE_LAMBDAS
    factors = np.vstack([np.ones_like(s2), s2[None, :] / (s2[None, :] + lambdas[:, None]), np.zeros_like(s2)])
    total = np.einsum("ij,ij->j", projected, projected)  # ||projected||^2 per column
    explained = (1.0 - (1.0 - factors) ** 2) @ (b**2 / s2[:, None])  # (L, R)
    rss = np.maximum(total[None, :] - explained, 0.0)
    residual_df = rows - linear_df - factors.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        gcv = rss / residual_df[:, None] ** 2
    # a fit with (almost) no residual degrees of freedom cannot be judged; lambda = inf (the last row)
    # always has rows - (M - 1) >= 1 of them, because the solver is only built with >= M pairs
    gcv[residual_df < 0.5] = np.inf
    best = np.argmin(gcv, axis=0)
    return factors[best].T


def clear_cache() -> None:
    """Forget every cached set-up (benchmarks time the set-up a job pays once)."""
    _cached_solver.cache_clear()
