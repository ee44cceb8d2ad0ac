"""Model evaluation for explanations: few, large ``predictor.predict`` calls.

Kernel SHAP and PDP evaluate the model on synthetic rows (records x coalitions x baseline rows for
SHAP, records x grid values for PDP). Calling the model per record would make the number of calls
scale with records x samples; instead the rows of MANY records are stacked into one feature matrix
of up to :data:`DEFAULT_MAX_ROWS_PER_CALL` rows (and :data:`DEFAULT_MAX_CELLS_PER_CALL` cells, to bound
memory) and sent in one ``predict`` call. The predictor then splits that matrix into as few requests
as its payload limit allows, so requests scale with ``records * samples / batch size``.

Feature matrices follow the predictor contract: 2-D, float64 when every feature column is numeric
(booleans become 0/1, nulls NaN), otherwise ``object`` holding the Python values (nulls ``None``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

#: Upper bound for the rows stacked into one ``predict`` call.
DEFAULT_MAX_ROWS_PER_CALL = 1_000_000
#: Upper bound for rows x columns of one stacked matrix (~256 MB of float64).
DEFAULT_MAX_CELLS_PER_CALL = 32_000_000


class ExplanationModelError(ValueError):
    """The model's answer cannot be used for explanations (names what was returned and the fix)."""


def is_numeric_type(data_type: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_integer(data_type)
        or pa.types.is_floating(data_type)
        or pa.types.is_boolean(data_type)
        or pa.types.is_decimal(data_type)
    )


def table_to_matrix(table: pa.Table) -> np.ndarray:
    """The feature table as the 2-D matrix the predictor receives (see the module docstring)."""
    n, m = table.num_rows, table.num_columns
    if all(is_numeric_type(field.type) for field in table.schema):
        out = np.empty((n, m), dtype=np.float64)
        for j, column in enumerate(table.columns):
            values = column.to_numpy(zero_copy_only=False)
            out[:, j] = np.asarray(values, dtype=np.float64) if values.dtype != object else _floats(values)
        return out
    out = np.empty((n, m), dtype=object)
    for j, column in enumerate(table.columns):
        out[:, j] = column.to_pylist()
    return out


def _floats(values: np.ndarray) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def rows_to_matrix(rows: Sequence[Sequence[Any]], like: np.ndarray) -> np.ndarray:
    """Inline rows (e.g. an inline baseline) as a matrix of the same kind as ``like``."""
    if like.dtype == object:
        out = np.empty((len(rows), like.shape[1]), dtype=object)
        for i, row in enumerate(rows):
            out[i, :] = list(row)
        return out
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), like.shape[1])


class ModelCaller:
    """Wraps a predictor: stacks rows, counts calls, and returns float scores ``(n, k)``.

    :param predictor: anything with ``predict(features) -> ModelOutput`` (contract C).
    :param label_headers: output names requested by the config (``predictor.label_headers``).
    """

    def __init__(
        self,
        predictor: Any,
        *,
        label_headers: Sequence[str] | None = None,
        max_rows_per_call: int = DEFAULT_MAX_ROWS_PER_CALL,
        max_cells_per_call: int = DEFAULT_MAX_CELLS_PER_CALL,
    ) -> None:
        self.predictor = predictor
        self.requested_headers = list(label_headers) if label_headers else None
        self.max_rows_per_call = max_rows_per_call
        self.max_cells_per_call = max_cells_per_call
        self.calls = 0
        self.rows_evaluated = 0
        self.model_headers: list[str] | None = None
        self.num_outputs: int | None = None

    def rows_per_call(self, num_columns: int) -> int:
        """How many rows one stacked matrix may hold for ``num_columns`` feature columns."""
        return max(1, min(self.max_rows_per_call, self.max_cells_per_call // max(1, num_columns)))

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Model scores ``(n, k)`` float64 for the rows of ``features`` (one predict call)."""
        output = self.predictor.predict(features)
        self.calls += 1
        self.rows_evaluated += len(features)
        scores = _scores_of(output, len(features))
        if self.num_outputs is None:
            self.num_outputs = scores.shape[1]
            headers = getattr(output, "label_headers", None)
            self.model_headers = [str(h) for h in headers] if headers else None
        elif scores.shape[1] != self.num_outputs:
            raise ExplanationModelError(
                f"The model returned {scores.shape[1]} scores per row after returning {self.num_outputs} "
                "earlier; explanations need the same number of outputs for every row. Check "
                "predictor.probability (it selects the scores to explain)."
            )
        return scores

    def output_keys(self) -> list[str]:
        """Keys of the explained outputs: label_headers, else the model's headers, else label0..."""
        k = self.num_outputs or 1
        for headers in (self.requested_headers, self.model_headers):
            if headers and len(headers) == k:
                return [str(h) for h in headers]
        if self.requested_headers and len(self.requested_headers) != k:
            raise ExplanationModelError(
                f"predictor.label_headers has {len(self.requested_headers)} entries "
                f"({self.requested_headers!r}) but the model returns {k} score(s) per row; give one "
                "header per score (or select the scores with predictor.probability)."
            )
        return [f"label{i}" for i in range(k)]


def _scores_of(output: Any, n: int) -> np.ndarray:
    scores = getattr(output, "scores", None)
    if scores is None:
        labels = getattr(output, "labels", None)
        if labels is None:
            raise ExplanationModelError(
                "The model returned neither scores nor labels; explanations need a numeric score per row."
            )
        try:
            scores = np.asarray(labels, dtype=np.float64)
        except (TypeError, ValueError):
            raise ExplanationModelError(
                "The model returned only non-numeric predicted labels (e.g. "
                f"{np.asarray(labels, dtype=object)[:3].tolist()!r}); SHAP and PDP need numeric scores. "
                "Set predictor.probability to the position/JMESPath of the score(s) in the response."
            ) from None
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    if scores.ndim != 2 or scores.shape[0] != n:
        raise ExplanationModelError(
            f"The model returned scores of shape {scores.shape} for {n} rows; expected one row of "
            "scores per input row."
        )
    return scores
