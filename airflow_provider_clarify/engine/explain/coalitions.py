"""Which coalitions of features Kernel SHAP evaluates, and with which weights.

A coalition ``S`` is a boolean mask over the M "players" (features being explained): ``True`` means
the feature takes the record's value, ``False`` the baseline row's value.

Budget (docs/explainability.md, "What is computed"): ``n = min(num_samples, 2^M - 2)``, or ``min(2M + 2048, 2^M - 2)`` when
``num_samples`` is not given. The empty and the full coalition are not counted: they are always
evaluated because they fix ``phi_0 = link(v(empty))`` and the efficiency constraint
``sum(phi) = link(v(full)) - phi_0``.

* **Enumeration** (``n == 2^M - 2``): every coalition is listed once; the attribution is then the
  exact Shapley value (see :mod:`.kernel_shap`).
* **Sampling** (``n < 2^M - 2``): the Shapley kernel
  ``pi(S) = (M - 1) / (C(M, |S|) * |S| * (M - |S|))`` puts mass ``w(s) = (M - 1) / (s (M - s))`` on
  each coalition size ``s``. Going from the outside in (sizes 1 and M-1, then 2 and M-2, ...), a pair
  of sizes whose coalitions all fit in the budget that its share of the kernel mass would buy is
  enumerated completely with its exact kernel weights. The remaining mass is covered by random
  coalitions: a size drawn with probability proportional to ``w(s)``, a uniform subset of that size,
  and always its complement as well (paired sampling: it cancels the first-order sampling error of the
  symmetric kernel). Repeated draws add weight to the existing coalition instead of a new row. The
  sampled coalitions share the remaining kernel mass in proportion to how often they were drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np

#: Number of coalitions evaluated per record when ``num_samples`` is absent: ``2M + 2048`` (capped).
DEFAULT_EXTRA_SAMPLES = 2048


@dataclass(frozen=True)
class CoalitionPlan:
    """The coalitions to evaluate for one group of records.

    :param masks: ``(C, M)`` bool, one row per coalition (empty and full coalitions excluded).
    :param weights: ``(C,)`` kernel weights (they sum to 1 over the listed coalitions).
    :param exact: True when every one of the ``2^M - 2`` coalitions is listed.
    """

    masks: np.ndarray
    weights: np.ndarray
    exact: bool

    @property
    def num_players(self) -> int:
        return int(self.masks.shape[1])

    def __len__(self) -> int:
        return int(self.masks.shape[0])


def coalition_budget(num_players: int, num_samples: int | None) -> int:
    """Coalitions evaluated per record (the budget above), never more than ``2^M - 2``."""
    if num_players <= 1:
        return 0
    total = (1 << num_players) - 2
    wanted = num_samples if num_samples is not None else 2 * num_players + DEFAULT_EXTRA_SAMPLES
    return int(min(wanted, total))


def size_masses(num_players: int) -> np.ndarray:
    """Kernel mass of each coalition size ``s = 0..M`` (0 for the empty/full sizes), normalised to 1."""
    m = num_players
    masses = np.zeros(m + 1)
    for s in range(1, m):
        masses[s] = (m - 1) / (s * (m - s))
    return masses / masses.sum()


def enumerate_all(num_players: int) -> CoalitionPlan:
    """All ``2^M - 2`` non-trivial coalitions; bit ``j`` of the row index + 1 is feature ``j``."""
    m = num_players
    codes = np.arange(1, (1 << m) - 1, dtype=np.int64)
    masks = ((codes[:, None] >> np.arange(m, dtype=np.int64)[None, :]) & 1).astype(bool)
    sizes = masks.sum(axis=1)
    weights = size_masses(m)[sizes] / np.array([math.comb(m, int(s)) for s in range(m + 1)])[sizes]
    return CoalitionPlan(masks=masks, weights=weights, exact=True)


def plan_coalitions(num_players: int, budget: int, rng: np.random.Generator) -> CoalitionPlan:
    """Coalitions for ``num_players`` features within ``budget`` (see the module docstring)."""
    m = num_players
    if m <= 1 or budget <= 0:
        return CoalitionPlan(np.zeros((0, m), dtype=bool), np.zeros(0), exact=m <= 1)
    if budget >= (1 << m) - 2:
        return enumerate_all(m)

    masses = size_masses(m)
    rows: list[np.ndarray] = []
    weights: list[float] = []
    remaining_budget = budget
    remaining_mass = 1.0
    open_sizes = list(range(1, m))
    for s in range(1, m // 2 + 1):
        paired = s != m - s
        count = math.comb(m, s) * (2 if paired else 1)
        mass = masses[s] + (masses[m - s] if paired else 0.0)
        affordable = remaining_budget * mass / remaining_mass if remaining_mass > 0 else 0.0
        if count > remaining_budget or affordable < count * (1 - 1e-12):
            break
        for subset in combinations(range(m), s):
            mask = np.zeros(m, dtype=bool)
            mask[list(subset)] = True
            rows.append(mask)
            weights.append(masses[s] / math.comb(m, s))
            if paired:
                rows.append(~mask)
                weights.append(masses[m - s] / math.comb(m, s))
        remaining_budget -= count
        remaining_mass -= mass
        open_sizes = [size for size in open_sizes if size not in (s, m - s)]

    masks = np.array(rows, dtype=bool).reshape(-1, m)
    if remaining_budget > 0 and open_sizes:
        sampled = _sample(m, open_sizes, masses, remaining_budget, rng)
        counts = np.array(list(sampled.values()), dtype=float)
        drawn = np.frombuffer(b"".join(sampled), dtype=bool).reshape(-1, m)
        masks = np.concatenate([masks, drawn])
        weights.extend((remaining_mass * counts / counts.sum()).tolist())

    w = np.asarray(weights, dtype=float)
    return CoalitionPlan(masks=masks, weights=w / w.sum(), exact=False)


def _sample(
    m: int, sizes: list[int], masses: np.ndarray, budget: int, rng: np.random.Generator
) -> dict[bytes, int]:
    """Draw up to ``budget`` distinct coalitions in complementary pairs; values are draw counts."""
    p = masses[sizes] / masses[sizes].sum()
    drawn: dict[bytes, int] = {}
    max_draws = 20 * budget + 100
    draws = 0
    while len(drawn) < budget and draws < max_draws:
        batch = max(16, budget - len(drawn))
        chosen_sizes = rng.choice(sizes, size=batch, p=p)
        keys = rng.random((batch, m))
        # the ``size`` features with the smallest keys form the coalition: a uniform subset of that
        # size (ranks of the keys, vectorised over the batch; keys are distinct with probability ~1)
        ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
        masks = ranks < chosen_sizes[:, None]
        codes = masks.tobytes()
        complements = (~masks).tobytes()
        for row in range(batch):
            for code in (codes[row * m : (row + 1) * m], complements[row * m : (row + 1) * m]):
                if code in drawn:
                    drawn[code] += 1
                elif len(drawn) < budget:
                    drawn[code] = 1
            draws += 1
            if len(drawn) >= budget:
                break
    return drawn
