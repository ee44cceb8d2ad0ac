"""What one facet entry hands to its metrics: the counts of groups ``a`` and ``d`` and extras."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from airflow_provider_clarify.engine.bias.counts import ConfusionCounts


@dataclass
class SubgroupCounts:
    """Per-subgroup counts for CDDL/CDDPL, subgroups in ``numpy.unique`` order.

    ``d[g, y, ŷ]`` counts the sensitive group's rows, ``all[g, y, ŷ]`` every row (rows with a missing
    group value excluded). ``nan_slot`` appends the empty NaN subgroup smclarify sums over; ``error``
    is the sort error of mixed-type group values.
    """

    d: np.ndarray
    all: np.ndarray
    nan_slot: bool = False
    error: str | None = None


@dataclass
class EntryInputs:
    """Inputs of every metric for one facet entry.

    ``total`` counts every row (label/prediction positives for the global CDD checks).
    ``subgroups`` is ``None`` when no group variable is given. ``generalized_entropy`` and
    ``flip_test`` compute those metrics on demand (raising :class:`MetricFailure` when they fail).
    """

    a: ConfusionCounts
    d: ConfusionCounts
    total: ConfusionCounts
    subgroups: SubgroupCounts | None
    generalized_entropy: Callable[[], float]
    flip_test: Callable[[], float]
