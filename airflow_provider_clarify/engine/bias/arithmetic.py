"""Numeric conventions shared by every metric (docs/bias-metrics.md, "Numeric conventions").

* ``sdiv(a, b)``: safe division, ``0/0 -> 0.0``, ``x/0 -> ±inf`` by the sign of ``x``.
* ``pairwise_sum_codes``: numpy's pairwise summation of a long sequence whose elements take a few
  distinct values, evaluated without materialising the whole float array.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy

_LEAF = 1 << 16  # segments of at most this many elements are summed by numpy itself


def sdiv(a: float, b: float) -> float:
    """Safe division: ``0.0`` when ``a == b == 0``, ``±inf`` when only ``b == 0``, else ``a / b``."""
    if b == 0 and a == 0:
        return 0.0
    if b == 0:
        return -math.inf if a < 0 else math.inf
    return a / b


def pairwise_sum_codes(codes: numpy.ndarray, table: numpy.ndarray) -> float:
    """Return ``numpy.sum(table[codes])`` bit for bit, in bounded memory.

    numpy sums a contiguous float64 array with pairwise summation: an array longer than 128 elements
    is split at ``m = n // 2`` rounded down to a multiple of 8 and both halves are summed recursively
    (numpy's ``pairwise_sum``, blocks of 8 below 128 elements). Every recursive half is itself a contiguous array, so splitting the same
    way in Python down to segments of at most 65 536 elements and letting numpy sum each segment
    gives the identical result while only one segment's floats exist at a time.
    """
    import numpy as np

    def _sum(lo: int, hi: int) -> float:
        n = hi - lo
        if n <= _LEAF:
            return np.sum(table[codes[lo:hi]])
        m = n // 2
        m -= m % 8
        return _sum(lo, lo + m) + _sum(lo + m, hi)

    return float(_sum(0, len(codes)))
