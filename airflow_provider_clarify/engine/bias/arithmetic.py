"""Numeric conventions shared by every metric (docs/bias-metrics.md, "Numeric conventions").

* ``sdiv(a, b)``: safe division, ``0/0 -> 0.0``, ``x/0 -> ±inf`` by the sign of ``x``.
* ``pairwise_sum_codes``: numpy's pairwise summation of a long sequence whose elements take a few
  distinct values, evaluated without materialising the whole float array; ``PairwiseCodeSum``
  the same sum over a stream of batches, keeping one float per 65 536 elements.
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
        m = _split(n)
        return _sum(lo, lo + m) + _sum(lo + m, hi)

    return float(_sum(0, len(codes)))


def _split(n: int) -> int:
    """Where numpy's pairwise summation splits ``n`` elements: ``n // 2`` down to a multiple of 8."""
    m = n // 2
    return m - m % 8


def _leaves(lo: int, hi: int, out: list[int]) -> None:
    """Ends of the segments :func:`pairwise_sum_codes` hands to numpy, in order (iteratively)."""
    stack = [(lo, hi)]
    while stack:
        lo, hi = stack.pop()
        if hi - lo <= _LEAF:
            out.append(hi)
            continue
        m = lo + _split(hi - lo)
        stack.append((m, hi))
        stack.append((lo, m))


class PairwiseCodeSum:
    """:func:`pairwise_sum_codes` over codes arriving in batches, bit for bit, when the length
    ``n`` and the ``table`` are known before the first batch.

    The split points depend only on ``n``, so each segment of at most 65 536 codes is summed by
    numpy as soon as it is complete and only its sum is kept (``n / 65 536`` floats, at most one
    segment of codes buffered); :meth:`total` then adds the segment sums in the same tree.
    """

    def __init__(self, n: int, table: numpy.ndarray) -> None:
        self.n = n
        self.table = table
        self._ends: list[int] = []
        _leaves(0, n, self._ends)
        self._sums: list = []
        self._parts: list = []
        self._position = 0

    def add(self, codes: numpy.ndarray) -> None:
        import numpy as np

        while len(codes):
            if len(self._sums) >= len(self._ends):
                raise ValueError(f"more than the announced {self.n} codes")
            end = self._ends[len(self._sums)]
            take = codes[: end - self._position]
            codes = codes[len(take) :]
            self._parts.append(take)
            self._position += len(take)
            if self._position == end:
                segment = self._parts[0] if len(self._parts) == 1 else np.concatenate(self._parts)
                self._sums.append(np.sum(self.table[segment]))
                self._parts = []

    @property
    def count(self) -> int:
        """Codes added so far."""
        return self._position

    def total(self) -> float:
        """The sum; every one of the ``n`` codes must have been added."""
        import numpy as np

        if self._position != self.n:
            raise ValueError(f"{self._position} codes added, {self.n} announced")
        sums = iter(self._sums)

        def _sum(lo: int, hi: int):
            if hi - lo <= _LEAF:
                return next(sums, np.float64(0.0)) if hi > lo else np.sum(self.table[:0])
            m = lo + _split(hi - lo)
            return _sum(lo, m) + _sum(m, hi)

        return float(_sum(0, self.n))
