"""Records in and out of the model container, as the SageMaker Clarify explainer reads and writes them.

Requests (``text/csv`` or ``application/jsonlines``): one record per CSV line (cells that parse as
numbers are numbers, the rest text; ``csv`` quoting) or per JSON line (the features found with
``FeaturesAttribute``, else the line must be a JSON list).

Synthetic rows go to the model in the baseline's MIME type: CSV lines (floats written with ``repr`` so
they round-trip exactly) or JSON Lines (the feature list put into ``ContentTemplate`` at ``$features``,
else the bare list).

Model outputs: a CSV line becomes a JSON array of its cells (numbers parsed, cells like ``[0.1,0.9]``
read as lists), a JSON Lines line a JSON value. ``EnableExplanations`` is evaluated on exactly this
value. The score(s) are the cell at ``ProbabilityIndex`` / the value at ``ProbabilityAttribute``, else
the whole output; the label headers the cell at ``LabelIndex`` / value at ``LabelAttribute``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from airflow_provider_clarify.engine.explain_server.errors import ModelResponseError, RequestValidationError

CSV = "text/csv"
JSONLINES = "application/jsonlines"
MIME_TYPES = (CSV, JSONLINES)
PLACEHOLDER = "$features"


def base_type(content_type: str | None) -> str:
    """``text/csv; charset=utf-8`` -> ``text/csv`` (lower case)."""
    return (content_type or "").split(";")[0].strip().lower()


def _number(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) or text.strip().lower() in ("nan", "inf", "-inf") else text


def _output_cell(text: str) -> Any:
    stripped = text.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            pass
    value = _number(stripped) if stripped else stripped
    if (
        isinstance(value, float)
        and value.is_integer()
        and "." not in stripped
        and "e" not in stripped.lower()
    ):
        return int(value)
    return value


def parse_records(body: bytes, content_type: str, features_attribute: str | None) -> list[list[Any]]:
    """Feature lists of the records of a request body."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestValidationError("The request body is not UTF-8 text.") from None
    if content_type == CSV:
        return [[_number(cell) for cell in row] for row in csv.reader(io.StringIO(text)) if row]
    import jmespath

    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            raise RequestValidationError(
                f"Line {number} of the JSON Lines request is not JSON: {err}."
            ) from None
        features = jmespath.search(features_attribute, value) if features_attribute else value
        if not isinstance(features, list):
            raise RequestValidationError(
                f"Line {number} of the request has no feature list (got {features!r}"
                + (f" at FeaturesAttribute {features_attribute!r}" if features_attribute else "")
                + "); send a JSON list per line or configure InferenceConfig.FeaturesAttribute."
            )
        records.append(features)
    return records


def to_matrix(rows: Sequence[Sequence[Any]], width: int, what: str) -> np.ndarray:
    """Rows as a float64 matrix when every value is a number, else an object matrix."""
    bad = [i for i, row in enumerate(rows) if len(row) != width]
    if bad:
        raise RequestValidationError(
            f"{what} {bad[0]} has {len(rows[bad[0]])} features but the baseline has {width}; send the "
            "features only, in the baseline's column order."
        )
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for row in rows for v in row)
    if numeric:
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), width)
    out = np.empty((len(rows), width), dtype=object)
    for i, row in enumerate(rows):
        out[i, :] = list(row)
    return out


def _csv_value(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return repr(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return "" if value is None else value


def _json_value(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _float_lines(rows: np.ndarray) -> list[bytes]:
    """CSV lines of a float matrix, every value written with ``repr`` (exact round trip).

    Synthetic rows repeat a handful of values (each cell is the record's or a baseline row's value),
    so each distinct value is formatted once and the lines are joined from the cached strings.
    """
    if rows.size == 0:
        return [b"" for _ in range(rows.shape[0])]
    distinct, inverse = np.unique(rows, return_inverse=True)
    if distinct.size * 4 > rows.size:  # mostly distinct values: format directly
        return [",".join(map(repr, row)).encode() for row in rows.tolist()]
    texts = np.array([repr(v) for v in distinct.tolist()], dtype=object)
    cells = texts[inverse.reshape(rows.shape)]
    return [",".join(row).encode() for row in cells.tolist()]


class RowEncoder:
    """Encodes feature rows as the model's request records (one ``bytes`` line per row)."""

    def __init__(self, mime_type: str, content_template: str | None = None) -> None:
        self.mime_type = mime_type
        self.template = content_template

    def encode(self, rows: np.ndarray) -> list[bytes]:
        if self.mime_type == CSV:
            if rows.dtype != object:
                return _float_lines(rows)
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            out = []
            for row in rows.tolist():
                writer.writerow([_csv_value(v) for v in row])
                out.append(buffer.getvalue().rstrip("\n").encode())
                buffer.seek(0)
                buffer.truncate()
            return out
        out = []
        for row in rows.tolist():
            features = json.dumps([_json_value(v) for v in row], separators=(",", ":"), allow_nan=True)
            out.append((self.template.replace(PLACEHOLDER, features) if self.template else features).encode())
        return out


@dataclass
class ModelOutputs:
    """The model's answer for ``n`` records: per-record values (for ``EnableExplanations``) and scores."""

    values: list[Any]
    scores: np.ndarray  # (n, k) float64, or an empty (n, 0) array when the output has no numbers
    label_headers: list[str] | None


class OutputParser:
    """Reads model outputs (see the module docstring)."""

    def __init__(
        self,
        *,
        probability_index: int | None = None,
        probability_attribute: str | None = None,
        label_index: int | None = None,
        label_attribute: str | None = None,
    ) -> None:
        import jmespath

        self.probability_index = probability_index
        self.label_index = label_index
        self.probability = jmespath.compile(probability_attribute) if probability_attribute else None
        self.label = jmespath.compile(label_attribute) if label_attribute else None

    def values(self, body: bytes, content_type: str, expected: int) -> list[Any]:
        """One JSON value per record."""
        text = body.decode("utf-8", errors="replace")
        kind = base_type(content_type)
        if kind == CSV:
            values = [[_output_cell(cell) for cell in row] for row in csv.reader(io.StringIO(text)) if row]
        elif kind in (JSONLINES, "application/json"):
            try:
                values = [json.loads(line) for line in text.splitlines() if line.strip()]
            except json.JSONDecodeError as err:
                raise ModelResponseError(
                    f"The model answered invalid JSON Lines ({err}): {text[:200]!r}"
                ) from None
        else:
            raise ModelResponseError(
                f"The model answered Content-Type {content_type!r}; the explainer reads text/csv or "
                "application/jsonlines model outputs."
            )
        if len(values) != expected:
            raise ModelResponseError(
                f"The model returned {len(values)} predictions for {expected} records; it must answer one "
                "line per record."
            )
        return values

    def scores_of(self, value: Any, index: int) -> list[float]:
        if isinstance(value, list) and self.probability_index is not None:
            if self.probability_index >= len(value):
                raise ModelResponseError(
                    f"ProbabilityIndex {self.probability_index} is out of range for model output {value!r}."
                )
            value = value[self.probability_index]
        elif self.probability is not None:
            value = self.probability.search(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return [float(value)]
        if (
            isinstance(value, list)
            and value
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        ):
            return [float(v) for v in value]
        raise ModelResponseError(
            f"Record {index}: cannot read numeric score(s) from the model output {value!r}; set "
            "InferenceConfig.ProbabilityIndex (CSV) or ProbabilityAttribute (JSON Lines)."
        )

    def labels_of(self, value: Any) -> list[str] | None:
        if isinstance(value, list) and self.label_index is not None and self.label_index < len(value):
            found = value[self.label_index]
        elif self.label is not None:
            found = self.label.search(value)
        else:
            return None
        if isinstance(found, list):
            return [str(v) for v in found]
        return None if found is None else [str(found)]

    def fast_csv_scores(self, body: bytes, content_type: str, expected: int) -> np.ndarray | None:
        """Scores of a plain numeric CSV answer (no quotes, lists or labels), else None."""
        if base_type(content_type) != CSV or self.label_index is not None or b'"' in body or b"[" in body:
            return None
        lines = [line for line in body.decode("utf-8", errors="replace").splitlines() if line.strip()]
        if len(lines) != expected:
            return None
        try:
            table = np.array([line.split(",") for line in lines], dtype=np.float64)
        except ValueError:
            return None
        if self.probability_index is not None:
            if self.probability_index >= table.shape[1]:
                return None
            return table[:, self.probability_index : self.probability_index + 1]
        return table

    def parse_scores(self, body: bytes, content_type: str, expected: int) -> np.ndarray:
        """``(n, k)`` scores of a model answer (fast path for plain numeric CSV)."""
        fast = self.fast_csv_scores(body, content_type, expected)
        return fast if fast is not None else self.parse(body, content_type, expected).scores

    def parse(self, body: bytes, content_type: str, expected: int) -> ModelOutputs:
        values = self.values(body, content_type, expected)
        scores = [self.scores_of(value, i) for i, value in enumerate(values)]
        widths = {len(s) for s in scores}
        if len(widths) > 1:
            raise ModelResponseError(
                f"The model returned different numbers of scores per record ({sorted(widths)}); "
                "explanations need the same outputs for every record."
            )
        matrix = np.asarray(scores, dtype=np.float64).reshape(expected, widths.pop() if widths else 0)
        headers = self.labels_of(values[0]) if values else None
        return ModelOutputs(values=values, scores=matrix, label_headers=headers)
