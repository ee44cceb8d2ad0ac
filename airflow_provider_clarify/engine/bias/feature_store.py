"""FT's numeric features, kept per row in the smallest exact dtype (docs/performance.md, "FT's memory").

The flip test's k-NN needs every row's features in memory (the neighbours of a row of ``d`` can be
any row of ``a``), so its memory grows with the rows. It used to keep them as one float64 matrix
(8 bytes a cell) and copy it two more times while computing FT. This store keeps each column in the
narrowest dtype that holds every value of a batch exactly (``int8`` .. ``int32`` for whole numbers,
``float32`` for values a float32 holds exactly, else ``float64``), so integer features such as
ages, amounts and category codes cost 1-4 bytes a cell; converting back gives the very same float64
values, so the k-NN sees exactly what it saw before.

A value is narrowed only when the conversion back is the identity bit for bit: no NaN or infinity
goes into an integer column, and ``-0.0`` never does (it would come back as ``+0.0``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Integer dtypes tried in order; every value of these is a float64 exactly.
_INTEGER_DTYPES = (np.int8, np.int16, np.int32)


def narrowest(values: np.ndarray) -> np.ndarray:
    """``values`` (float64) in the narrowest dtype that converts back to float64 bit for bit."""
    if not len(values):
        return values
    finite = np.isfinite(values)
    if finite.all():
        whole = np.array_equal(values, np.trunc(values))
        if whole and not np.any(np.signbit(values) & (values == 0)):
            low, high = values.min(), values.max()
            for dtype in _INTEGER_DTYPES:
                info = np.iinfo(dtype)
                if info.min <= low and high <= info.max:
                    return values.astype(dtype)
    with np.errstate(over="ignore"):
        narrow = values.astype(np.float32)
    # NaN never compares equal: a column with NaN stays float64 (its payload is kept as is)
    if np.array_equal(narrow.astype(np.float64), values):
        return narrow
    return values


class FeatureColumns:
    """Numeric feature columns of every row, in dataset order, each in its narrowest exact dtype.

    Filled batch by batch with :meth:`append`; :meth:`matrix` gives a float64 C-contiguous matrix of
    chosen rows and columns (what scikit-learn's k-NN takes without another copy). ``numpy.asarray``
    of the store is the whole float64 matrix (what the Spark driver concatenates).
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self._parts: list[list[np.ndarray]] = [[] for _ in range(width)]
        self._columns: list[np.ndarray] | None = None
        self.rows = 0

    @classmethod
    def from_matrix(cls, matrix: np.ndarray) -> FeatureColumns:
        """A store viewing the columns of a float64 ``(n, m)`` matrix (no narrowing, no copy)."""
        store = cls(matrix.shape[1])
        store._columns = [matrix[:, j] for j in range(matrix.shape[1])]
        store.rows = matrix.shape[0]
        return store

    def append(self, column: int, values: np.ndarray) -> None:
        """Add the next batch's float64 ``values`` of column ``column``."""
        if self._columns is not None:
            raise RuntimeError("FeatureColumns are complete; no more rows can be appended")
        self._parts[column].append(narrowest(values))
        if column == 0:
            self.rows += len(values)

    @property
    def columns(self) -> list[np.ndarray]:
        """Each column as one array (batches joined once, in the dtype holding all of them)."""
        if self._columns is None:
            self._columns = [
                np.concatenate(parts) if parts else np.zeros(0, dtype=np.float64) for parts in self._parts
            ]
            self._parts = [[] for _ in range(self.width)]
        return self._columns

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows, self.width

    @property
    def nbytes(self) -> int:
        """Bytes held for the rows (what FT's memory grows with)."""
        if self._columns is not None:
            return sum(c.nbytes for c in self._columns)
        return sum(p.nbytes for parts in self._parts for p in parts)

    def matrix(
        self, rows: np.ndarray | slice | None = None, columns: Sequence[int] | None = None
    ) -> np.ndarray:
        """float64 C-contiguous ``(len(rows), len(columns))`` matrix (all rows / columns when ``None``).

        ``rows``: a boolean mask, an index array or a slice.
        """
        picked = list(range(self.width)) if columns is None else list(columns)
        data = self.columns
        if rows is None:
            count = self.rows
        elif isinstance(rows, slice):
            count = len(range(*rows.indices(self.rows)))
        elif rows.dtype == bool:
            count = int(np.count_nonzero(rows))
        else:
            count = len(rows)
        out = np.empty((count, len(picked)), dtype=np.float64)
        for j, column in enumerate(picked):
            out[:, j] = data[column] if rows is None else data[column][rows]
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        matrix = self.matrix()
        return matrix if dtype is None else matrix.astype(dtype, copy=False)

    def __len__(self) -> int:
        return self.rows


__all__ = ["FeatureColumns", "narrowest"]
