"""The request/response codec of model calls: how feature rows become request bodies and how
response bodies become predictions, independent of how the bytes travel (see
:mod:`airflow_provider_clarify.engine.model_transports`).

Request formats (``content_type``):

* ``text/csv``: one CSV line per record.
* ``application/jsonlines``: one line per record, ``content_template`` with ``$features`` (default
  ``$features``, i.e. a bare JSON array), e.g. ``{"features":$features}``.
* ``application/json``: ``content_template`` with ``$records`` (all records of the request, a JSON
  array) or ``$record`` (one record per request); each record rendered from ``record_template``
  with ``$features`` (JSON array), ``$feature_names``, ``$features_kvp`` (``{"name": value}``) or
  ``${name}`` (one feature's value).

Response formats (``accept_type``, default ``content_type``) and extraction:

* ``text/csv``: one line per record; ``label`` / ``probability`` are 0-based column indices;
  without them the whole line is the score (or score list). A cell may hold a JSON list.
* ``application/jsonlines``: one JSON value per line; ``label`` / ``probability`` are JMESPath.
* ``application/json``: one document; the JMESPath is applied to the document (it must give one
  value per record) or, if the document is a list of records, to each record.

When ``label`` yields every class label of a multiclass model and ``probability`` the matching
scores, the label with the highest score is the prediction (first maximum on ties).

:class:`ModelCodec` composes the three steps: serialise the records, split them into requests under
the payload limit (SageMaker's is 6 MB) so that the number of requests grows with
``rows / records-per-request``, and parse each answer. Every answer is checked: a wrong count of
predictions raises :class:`PredictorError`; a non-finite score, a probability outside [0, 1] or a
value that cannot be a prediction raises :class:`ModelOutputError` naming the rows and values, so
garbage never turns into a "fair" verdict. The formats are described for users in
``docs/engine.md`` ("Predictions").
"""

from __future__ import annotations

import csv
import io as _stdio
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_clarify.analysis.constants import CSV, JSON, JSONLINES
from airflow_provider_clarify.engine.errors import EngineConfigError, EngineRuntimeError

if TYPE_CHECKING:
    import numpy as np

SUPPORTED_CONTENT_TYPES = (CSV, JSONLINES, JSON)
#: SageMaker's InvokeEndpoint body limit.
DEFAULT_MAX_PAYLOAD_BYTES = 6_000_000


class PredictorError(EngineRuntimeError):
    """The model could not be called or answered something unusable (says what and how to fix)."""


class ModelOutputError(EngineConfigError):
    """The model answered, but with values that cannot be predictions (non-finite scores,
    probabilities outside [0, 1], text where a number is needed). The same model and data give the
    same answer again, so this is not retried.

    :param problem: what is wrong, e.g. ``"non-finite score(s) (NaN or infinity)"``.
    :param advice: what to do about it.
    :param rows: 0-based indices of the offending rows of the model call.
    :param values: their values, in the same order.
    :param offset: added to ``rows`` when quoting them (the caller's position in the dataset).
    :param unit: what a row is, in the message (``"row"`` of a model call, ``"record"`` of the dataset).
    """

    def __init__(
        self,
        problem: str,
        advice: str = "",
        *,
        rows: Sequence[int] = (),
        values: Sequence[Any] = (),
        offset: int = 0,
        unit: str = "row",
    ) -> None:
        self.problem, self.advice, self.unit, self.offset = problem, advice, unit, offset
        self.rows = [int(r) + offset for r in rows]
        self.values = list(values)
        where = f": {_quote(self.rows, self.values, unit)}" if self.rows else ""
        message = f"The model returned {problem}{where}." + (f" {advice}" if advice else "")
        super().__init__(message, field="predictor", value=self.values[:_QUOTED_ROWS])

    def in_dataset(self, offset: int) -> ModelOutputError:
        """The same error with rows counted as records of the dataset, from ``offset``."""
        rows = [r - self.offset for r in self.rows]
        return ModelOutputError(
            self.problem, self.advice, rows=rows, values=self.values, offset=offset, unit="record"
        )


#: Offending rows quoted in a :class:`ModelOutputError`.
_QUOTED_ROWS = 10


def _quote(rows: Sequence[int], values: Sequence[Any], unit: str = "row") -> str:
    pairs = ", ".join(
        f"{unit} {r}: {v!r}" for r, v in zip(rows[:_QUOTED_ROWS], values[:_QUOTED_ROWS], strict=False)
    )
    more = f" and {len(rows) - _QUOTED_ROWS} more" if len(rows) > _QUOTED_ROWS else ""
    return pairs + more


@dataclass
class ModelOutput:
    """Predictions for ``n`` records.

    :param scores: float64 array of shape ``(n, k)`` (probabilities / scores per output), or None.
    :param labels: array of shape ``(n,)`` with the predicted label of each record, when the model
        returns labels, or None.
    :param label_headers: names of the ``k`` outputs, when known.
    :param probabilities: whether the scores are probabilities (checked to lie in [0, 1]).
    """

    scores: np.ndarray | None
    labels: np.ndarray | None
    label_headers: list[str] | None = None
    #: Whether the scores are known to be probabilities (returned by ``predict_proba``): then they
    #: must lie in [0, 1].
    probabilities: bool = False

    def __len__(self) -> int:
        if self.scores is not None:
            return int(self.scores.shape[0])
        if self.labels is not None:
            return int(self.labels.shape[0])
        return 0


# --------------------------------------------------------------------------------------------------
# Assembling outputs
# --------------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_labels(values: list) -> np.ndarray:
    import numpy as np

    if all(_is_number(v) for v in values):
        array = np.asarray(values)
        return array if array.dtype.kind in "if" else array.astype(np.float64)
    return np.asarray(values, dtype=object)


def assemble_output(
    labels: list | None, scores: list | None, label_headers: Sequence | None = None
) -> ModelOutput:
    """Build a :class:`ModelOutput` from per-record labels and/or scores.

    Scores are numbers or equal-length lists of numbers. Labels are scalars, or per-record lists of
    all class labels, in which case the label with the highest score is taken.
    """
    import numpy as np

    headers = [str(h) for h in label_headers] if label_headers else None
    score_array = None
    if scores is not None:
        rows = [s if isinstance(s, list) else [s] for s in scores]
        widths = {len(r) for r in rows}
        if len(widths) > 1:
            raise PredictorError(f"The model returned score lists of different lengths {sorted(widths)}.")
        try:
            score_array = np.asarray(rows, dtype=np.float64).reshape(len(rows), -1 if rows else 0)
        except (TypeError, ValueError) as exc:
            bad = [i for i, row in enumerate(rows) if not all(_is_number(x) for x in row)]
            raise ModelOutputError(
                "output that could not be parsed as scores",
                "Check predictor.accept_type and predictor.probability (it must locate numbers).",
                rows=bad,
                values=[scores[i] for i in bad],
            ) from exc
    label_array = None
    if labels is not None:
        if labels and all(isinstance(v, list) for v in labels):
            if score_array is None or score_array.shape[1] != len(labels[0]):
                raise PredictorError(
                    "The model returned a list of class labels per record; set 'probability' to locate the "
                    "matching scores so that the label with the highest score can be picked."
                )
            best = np.argmax(score_array, axis=1)
            if headers is None:
                headers = [str(v) for v in labels[0]]
            label_array = _as_labels([row[i] for row, i in zip(labels, best.tolist(), strict=True)])
        else:
            label_array = _as_labels(list(labels))
    if score_array is not None and label_array is not None and len(score_array) != len(label_array):
        raise PredictorError(f"The model returned {len(label_array)} labels but {len(score_array)} scores.")
    return ModelOutput(score_array, label_array, headers)


# --------------------------------------------------------------------------------------------------
# Request serialisation
# --------------------------------------------------------------------------------------------------


def _json_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return "null"
    return json.dumps(value, ensure_ascii=False)


def _csv_cell(value: Any, nan_text: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return nan_text if value != value else repr(value)
    if isinstance(value, str):
        if any(c in value for c in ',"\n\r'):
            return '"' + value.replace('"', '""') + '"'
        return value
    if hasattr(value, "item"):
        return _csv_cell(value.item(), nan_text)
    return str(value)


def float_csv_lines(rows: np.ndarray, nan_text: str = "") -> list[bytes]:
    """CSV lines of a float matrix, every value written with ``repr`` (exact round trip), NaN as
    ``nan_text``: the same text as :class:`RequestSerializer` writes cell by cell, faster.

    Rows made of a handful of repeated values (synthetic rows of SHAP, where each cell is the record's
    or a baseline row's value) format each distinct value once and join the cached strings.
    """
    import numpy as np

    # float32 cells are written as the Python floats they are; contiguous once, for the bit views below
    rows = np.ascontiguousarray(rows, dtype=np.float64)
    if rows.size == 0:
        return [b"" for _ in range(rows.shape[0])]
    two_valued = _two_valued_lines(rows, nan_text)
    if two_valued is not None:
        return two_valued
    # distinct bit patterns, not values: -0.0 and 0.0 are equal values with different texts
    distinct, inverse = np.unique(rows.view(np.int64), return_inverse=True)
    if distinct.size * 4 > rows.size:  # mostly distinct values: format directly
        return [",".join(_csv_cell(v, nan_text) for v in row).encode() for row in rows.tolist()]
    texts = np.array([_csv_cell(v, nan_text) for v in distinct.view(np.float64).tolist()], dtype=object)
    cells = texts[inverse.reshape(rows.shape)]
    return [",".join(row).encode() for row in cells.tolist()]


def _two_valued_lines(rows: np.ndarray, nan_text: str) -> list[bytes] | None:
    """The lines of rows whose every column holds at most two values (the first row's and one
    other), else None: SHAP's coalition rows against one baseline row, formatted without sorting."""
    import numpy as np

    columns = np.arange(rows.shape[1])
    bits = np.ascontiguousarray(rows, dtype=np.float64).view(np.int64)  # equal bits, equal text
    differs = bits != bits[0]
    other = bits[differs.argmax(axis=0), columns]
    if not (differs <= (bits == other)).all():
        return None
    first, other_values = rows[0], other.view(np.float64)
    table = np.array(
        [
            [_csv_cell(v, nan_text) for v in first.tolist()],
            [_csv_cell(v, nan_text) for v in other_values.tolist()],
        ],
        dtype=object,
    )
    cells = table[differs.view(np.int8), columns]
    return [",".join(row).encode() for row in cells.tolist()]


_PLACEHOLDER = re.compile(r"\$features_kvp|\$feature_names|\$features|\$\{([^}]+)\}")


class RequestSerializer:
    """Turns feature rows into request bodies of one content type."""

    def __init__(
        self,
        content_type: str = CSV,
        content_template: str | None = None,
        record_template: str | None = None,
        feature_names: Sequence[str] | None = None,
        *,
        nan_text: str = "",
    ) -> None:
        content_type = (content_type or CSV).lower()
        self.nan_text = nan_text  # how a CSV cell holds NaN ("" by default: a missing value)
        if content_type not in SUPPORTED_CONTENT_TYPES:
            raise PredictorError(
                f"predictor.content_type {content_type!r} is not supported by the open engine; use one of "
                f"{', '.join(SUPPORTED_CONTENT_TYPES)}."
            )
        self.content_type = content_type
        self.feature_names = [str(n) for n in feature_names] if feature_names is not None else None
        self.one_record_per_request = False
        if content_type == JSONLINES:
            template = content_template or "$features"
            if "$features" not in template:
                raise PredictorError(
                    f"Invalid content_template {template!r}. Please include a placeholder $features."
                )
            self.record_template = template
            self.prefix, self.suffix, self.separator = b"", b"", b"\n"
        elif content_type == JSON:
            template = content_template or "$records"
            if "$records" in template:
                head, _, tail = template.partition("$records")
                self.prefix, self.suffix = (head + "[").encode(), ("]" + tail).encode()
            elif "$record" in template:
                head, _, tail = template.partition("$record")
                self.prefix, self.suffix = head.encode(), tail.encode()
                self.one_record_per_request = True
            else:
                raise PredictorError(
                    f"Invalid content_template {template!r}. Please include either placeholder $records or $record."
                )
            self.separator = b","
            self.record_template = record_template or "$features"
        else:
            self.record_template = None
            self.prefix, self.suffix, self.separator = b"", b"", b"\n"

    def records(self, features: np.ndarray) -> list[bytes]:
        """One serialised record per row."""
        if self.content_type == CSV:
            if features.dtype.kind == "f":
                return float_csv_lines(features, self.nan_text)
            return [",".join(_csv_cell(v, self.nan_text) for v in row).encode() for row in features.tolist()]
        rows = features.tolist()
        tokens = [match.group(0) for match in _PLACEHOLDER.finditer(self.record_template)]
        if tokens != ["$features"]:
            return [self._render(row).encode() for row in rows]
        head, _, tail = self.record_template.partition("$features")
        out = []
        for row in rows:  # only $features: one json.dumps per row, the same text as _render
            try:
                text = json.dumps(row, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            except (TypeError, ValueError):  # NaN / infinity (written null) or numpy scalars
                out.append(self._render(row).encode())
                continue
            out.append((head + text + tail).encode())
        return out

    def _render(self, row: list) -> str:
        names = self.feature_names
        if names is None and any(
            t in self.record_template for t in ("$feature_names", "$features_kvp", "${")
        ):
            raise PredictorError(
                f"record_template {self.record_template!r} uses feature names but none are known; give "
                "'headers' in the analysis_config (or feature_names to the predictor)."
            )

        def replace(match: re.Match) -> str:
            token = match.group(0)
            if token == "$features":
                return "[" + ",".join(_json_value(v) for v in row) + "]"
            if token == "$feature_names":
                return json.dumps(names)
            if token == "$features_kvp":
                return (
                    "{"
                    + ",".join(f"{json.dumps(n)}:{_json_value(v)}" for n, v in zip(names, row, strict=True))
                    + "}"
                )
            name = match.group(1)
            if name not in names:
                raise PredictorError(
                    f"record_template placeholder ${{{name}}} is not a feature name {names}."
                )
            return _json_value(row[names.index(name)])

        return _PLACEHOLDER.sub(replace, self.record_template)

    def payload(self, records: Sequence[bytes]) -> bytes:
        body = self.separator.join(records)
        if self.content_type != JSON:
            body += b"\n"
        return self.prefix + body + self.suffix


class RequestPlanner:
    """Greedy split of a stream of serialised records into requests, fed piece by piece.

    A request holds consecutive records; its body is ``overhead + sum(sizes) + separator * (count - 1)``
    bytes and must stay within ``max_payload_bytes`` (and ``max_records`` records, when given). A
    record joins the open request when it fits, else the open request closes and the record opens
    the next one. Feeding the sizes in pieces (:meth:`add`) gives exactly the requests of feeding them
    at once, so a caller can send a request as soon as it closes while it still serialises later rows.
    """

    def __init__(
        self, *, overhead: int, separator: int, max_payload_bytes: int, max_records: int | None
    ) -> None:
        self.overhead, self.separator = overhead, separator
        self.max_payload_bytes, self.max_records = max_payload_bytes, max_records
        self.start = self.seen = 0
        self.used = overhead

    def add(self, sizes: Sequence[int]) -> list[tuple[int, int]]:
        """The ``[start, end)`` record ranges of the requests that the next ``sizes`` close."""
        closed: list[tuple[int, int]] = []
        limit, records = self.max_payload_bytes, self.max_records
        start, used = self.start, self.used
        for i, size in enumerate(sizes, start=self.seen):
            if self.overhead + size > limit:
                raise PredictorError(
                    f"Record {i} alone serialises to {size + self.overhead} bytes, over the payload limit "
                    f"of {limit} bytes; raise max_payload_bytes or reduce the record."
                )
            count = i - start
            extra = size + (self.separator if count else 0)
            if count and (used + extra > limit or (records and count >= records)):
                closed.append((start, i))
                start, used, extra = i, self.overhead, size
            used += extra
        self.seen += len(sizes)
        self.start, self.used = start, used
        return closed

    def finish(self) -> list[tuple[int, int]]:
        """The last, still open request (none when no record was added since the last close)."""
        return [(self.start, self.seen)] if self.start < self.seen else []


def plan_requests(
    sizes: Sequence[int], *, overhead: int, separator: int, max_payload_bytes: int, max_records: int | None
) -> list[tuple[int, int]]:
    """Greedy split of records (with serialised ``sizes``) into ``[start, end)`` request ranges whose
    bodies stay within ``max_payload_bytes`` and ``max_records`` (see :class:`RequestPlanner`)."""
    planner = RequestPlanner(
        overhead=overhead, separator=separator, max_payload_bytes=max_payload_bytes, max_records=max_records
    )
    return planner.add(sizes) + planner.finish()


# --------------------------------------------------------------------------------------------------
# Response parsing
# --------------------------------------------------------------------------------------------------


def _parse_cell(cell: str) -> Any:
    text = cell.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            try:
                return json.loads(text.replace("'", '"'))
            except json.JSONDecodeError:
                return text
    try:
        return float(text)
    except ValueError:
        return text


#: One cell of a CSV model response: a JSON list (``[0.1,0.9]``), a float, or the text.
parse_response_cell = _parse_cell


class ResponseParser:
    """Extracts labels / scores per record from response bodies of one accept type."""

    def __init__(self, accept_type: str = CSV, label: Any = None, probability: Any = None):
        import jmespath

        accept_type = (accept_type or CSV).lower()
        if accept_type not in SUPPORTED_CONTENT_TYPES:
            raise PredictorError(
                f"predictor.accept_type {accept_type!r} is not supported; use one of {', '.join(SUPPORTED_CONTENT_TYPES)}."
            )
        self.accept_type = accept_type
        self.label = label
        self.probability = probability
        if accept_type == CSV:
            for name, value in (("label", label), ("probability", probability)):
                if value is not None and not (isinstance(value, int) and not isinstance(value, bool)):
                    raise PredictorError(
                        f"predictor.{name} must be a 0-based column index for accept_type text/csv, got {value!r}."
                    )
            self._label_q = self._prob_q = None
        else:
            self._label_q = jmespath.compile(str(label)) if label is not None else None
            self._prob_q = jmespath.compile(str(probability)) if probability is not None else None

    def parse(self, body: bytes, expected: int) -> tuple[list | None, list | None]:
        """``(labels, scores)`` lists of ``expected`` records (either may be None)."""
        text = body.decode("utf-8")
        if self.accept_type == CSV:
            values = self._csv_values(text, expected)
        elif self.accept_type == JSONLINES:
            values = self._jsonlines_values(text, expected)
        else:
            values = self._json_values(text, expected)
        if len(values) != expected:
            raise PredictorError(
                f"The model returned {len(values)} predictions for a request of {expected} records; it must "
                "return exactly one per record (check accept_type and the label/probability locators)."
            )
        return self._split(values)

    def _csv_values(self, text: str, expected: int) -> list:
        rows = [r for r in csv.reader(_stdio.StringIO(text)) if r]
        if (
            len(rows) == 1
            and expected > 1
            and len(rows[0]) == expected
            and self.label is None
            and self.probability is None
        ):
            rows = [[cell] for cell in rows[0]]  # one line of comma-separated scores (e.g. XGBoost)
        out = []
        for row in rows:
            cells = [_parse_cell(c) for c in row]
            if self.label is None and self.probability is None:
                out.append(("scores", cells[0] if len(cells) == 1 else cells))
                continue
            try:
                label = cells[self.label] if self.label is not None else None
                prob = cells[self.probability] if self.probability is not None else None
            except IndexError as exc:
                raise PredictorError(
                    f"The model's CSV response line {row!r} has no column {self.label if self.label is not None else self.probability}."
                ) from exc
            out.append(("pair", label, prob))
        return out

    def _locate(self, record: Any) -> tuple:
        if self._label_q is None and self._prob_q is None:
            return ("scores", record)
        label = self._label_q.search(record) if self._label_q is not None else None
        prob = self._prob_q.search(record) if self._prob_q is not None else None
        if (self._label_q is not None and label is None) or (self._prob_q is not None and prob is None):
            raise ModelOutputError(
                f"a response record in which predictor.label={self.label!r} / "
                f"probability={self.probability!r} found nothing ({json.dumps(record)[:200]})",
                "Point predictor.label / predictor.probability (JMESPath) at the label and score of each record.",
            )
        return ("pair", label, prob)

    def _jsonlines_values(self, text: str, expected: int) -> list:
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            records = [json.loads(line) for line in lines]
        except json.JSONDecodeError as exc:
            raise ModelOutputError(
                f"output that could not be parsed: a JSON Lines response that is not valid JSON ({exc}; "
                f"starts {text[:80]!r})",
                f"Check predictor.accept_type ({self.accept_type!r}) against what the model answers.",
            ) from exc
        if (
            len(records) == 1
            and isinstance(records[0], list)
            and len(records[0]) == expected
            and expected > 1
        ):
            records = records[0]
        return [self._locate(r) for r in records]

    def _json_values(self, text: str, expected: int) -> list:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelOutputError(
                f"output that could not be parsed: a JSON response that is not valid JSON ({exc}; "
                f"starts {text[:80]!r})",
                f"Check predictor.accept_type ({self.accept_type!r}) against what the model answers.",
            ) from exc
        if self._label_q is not None or self._prob_q is not None:
            labels = self._label_q.search(document) if self._label_q is not None else None
            probs = self._prob_q.search(document) if self._prob_q is not None else None
            whole = [v for v in (labels, probs) if v is not None]
            if (
                whole
                and all(isinstance(v, list) and len(v) == expected for v in whole)
                and not isinstance(document, list)
            ):
                return [
                    (
                        "pair",
                        labels[i] if labels is not None else None,
                        probs[i] if probs is not None else None,
                    )
                    for i in range(expected)
                ]
        if isinstance(document, dict):
            for key in ("predictions", "outputs", "results"):
                if isinstance(document.get(key), list):
                    document = document[key]
                    break
        if not isinstance(document, list):
            raise ModelOutputError(
                "a JSON response that is not a list of records",
                "Set predictor.label / predictor.probability to JMESPath expressions that give one value "
                "per record.",
            )
        return [self._locate(r) for r in document]

    @staticmethod
    def _split(values: list) -> tuple[list | None, list | None]:
        if all(v[0] == "scores" for v in values):
            payload = [v[1] for v in values]
            if all(_is_number(p) or (isinstance(p, list) and all(_is_number(x) for x in p)) for p in payload):
                return None, payload
            return payload, None  # labels (e.g. strings)
        labels = [v[1] for v in values]
        probs = [v[2] for v in values]
        return (None if all(v is None for v in labels) else labels), (
            None if all(p is None for p in probs) else probs
        )


def default_content_type(dataset_type: str | None) -> str:
    """The request type Clarify uses when ``predictor.content_type`` is absent."""
    dataset_type = (dataset_type or CSV).lower()
    return dataset_type if dataset_type in SUPPORTED_CONTENT_TYPES else CSV


# --------------------------------------------------------------------------------------------------
# Checking outputs
# --------------------------------------------------------------------------------------------------


def check_model_output(output: ModelOutput) -> ModelOutput:
    """Refuse predictions that would silently corrupt the analysis; returns ``output`` unchanged.

    * a score that is NaN or infinite (bias would count it as "not positive", SHAP would average it);
    * a probability outside [0, 1] when the scores are probabilities;
    * a label that is a list, an object, NaN or infinite (nothing a label column can hold).

    :raises ModelOutputError: naming the row indices (of this model call) and their values.
    """
    import numpy as np

    scores = output.scores
    if scores is not None and scores.size:
        bad = ~np.isfinite(scores)
        if bad.any():
            rows = np.flatnonzero(bad.any(axis=1)).tolist()
            values = [scores[r].tolist() if scores.shape[1] > 1 else float(scores[r, 0]) for r in rows]
            raise ModelOutputError(
                f"{len(rows)} non-finite score(s) (NaN or infinity)",
                "No fairness metric or explanation can be computed from them; fix the model (or its input "
                "features) so that every record gets a finite score.",
                rows=rows,
                values=values,
            )
        if output.probabilities:
            outside = (scores < 0.0) | (scores > 1.0)
            if outside.any():
                rows = np.flatnonzero(outside.any(axis=1)).tolist()
                values = [scores[r].tolist() if scores.shape[1] > 1 else float(scores[r, 0]) for r in rows]
                raise ModelOutputError(
                    f"{len(rows)} probabilit(ies) outside [0, 1]",
                    "predict_proba must return probabilities; check the model (a calibration or "
                    "post-processing step that breaks them), or use local_model method='predict'.",
                    rows=rows,
                    values=values,
                )
    labels = output.labels
    if labels is not None and labels.size:
        if labels.dtype.kind == "f":
            bad_rows = np.flatnonzero(~np.isfinite(labels)).tolist()
        elif labels.dtype == object:
            bad_rows = [
                i
                for i, v in enumerate(labels.tolist())
                if isinstance(v, list | dict | tuple)
                or v is None
                or (isinstance(v, float) and not math.isfinite(v))
            ]
        else:
            bad_rows = []
        if bad_rows:
            values = [labels[r].item() if hasattr(labels[r], "item") else labels[r] for r in bad_rows]
            raise ModelOutputError(
                f"output that could not be parsed as predicted labels for {len(bad_rows)} record(s)",
                "Check predictor.accept_type and predictor.label / predictor.probability (they must locate "
                "one label or score per record).",
                rows=bad_rows,
                values=values,
            )
    return output


# --------------------------------------------------------------------------------------------------
# The codec
# --------------------------------------------------------------------------------------------------


class ModelCodec:
    """Request/response format of one model: serialise, split under the payload limit, parse, check.

    :param content_type: request MIME type (``text/csv``, ``application/jsonlines``, ``application/json``).
    :param accept_type: response MIME type (default: ``content_type``).
    :param content_template: request template (``$features`` / ``$records`` / ``$record``).
    :param record_template: per-record template for ``application/json``.
    :param label: where the predicted label is in a response record (CSV index or JMESPath).
    :param probability: where the score(s) are (CSV index or JMESPath). Clarify calls them
        probabilities but regressors put any number there, so only finiteness is checked.
    :param label_headers: names of the model's outputs / classes.
    :param feature_names: feature names for ``$features_kvp`` / ``$feature_names`` / ``${name}``.
    :param max_payload_bytes: request body limit (default 6,000,000 as SageMaker).
    :param max_records_per_request: optional cap on records per request.
    """

    def __init__(
        self,
        content_type: str = CSV,
        accept_type: str | None = None,
        content_template: str | None = None,
        record_template: str | None = None,
        label: Any = None,
        probability: Any = None,
        label_headers: Sequence | None = None,
        *,
        feature_names: Sequence[str] | None = None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        max_records_per_request: int | None = None,
    ) -> None:
        self.serializer = RequestSerializer(content_type, content_template, record_template, feature_names)
        self.content_type = self.serializer.content_type
        self.accept_type = (accept_type or self.content_type).lower()
        self.parser = ResponseParser(self.accept_type, label, probability)
        self.label_headers = [str(h) for h in label_headers] if label_headers else None
        self.probabilities = False  # ``probability`` locates scores, which may be any number (regressors)
        self.max_payload_bytes = int(max_payload_bytes)
        self.max_records_per_request = (
            1 if self.serializer.one_record_per_request else max_records_per_request
        )

    def set_feature_names(self, names: Sequence[str]) -> None:
        """Feature names for ``$features_kvp`` / ``$feature_names`` / ``${name}``, unless given already."""
        if self.serializer.feature_names is None:
            self.serializer.feature_names = [str(n) for n in names]

    def requests(self, features: np.ndarray) -> list[tuple[bytes, int]]:
        """``(body, records)`` of every request needed for the rows of ``features``, in row order."""
        import numpy as np

        features = np.asarray(features)
        if features.ndim != 2:
            raise PredictorError(
                f"features must be a 2-D array (records x features), got shape {features.shape}."
            )
        records = self.serializer.records(features)
        overhead = len(self.serializer.prefix) + len(self.serializer.suffix) + 1
        ranges = plan_requests(
            [len(r) for r in records],
            overhead=overhead,
            separator=len(self.serializer.separator),
            max_payload_bytes=self.max_payload_bytes,
            max_records=self.max_records_per_request,
        )
        return [(self.serializer.payload(records[a:b]), b - a) for a, b in ranges]

    def parse(self, body: bytes, records: int) -> tuple[list | None, list | None]:
        """``(labels, scores)`` of one response body for ``records`` records."""
        try:
            return self.parser.parse(body, records)
        except UnicodeDecodeError as exc:
            raise ModelOutputError(
                f"a response that is not UTF-8 text ({exc})",
                f"Check predictor.accept_type ({self.accept_type!r}).",
            ) from exc

    def output(self, answers: Sequence[tuple[list | None, list | None]], rows: int) -> ModelOutput:
        """Join the parsed answers of every request into one checked :class:`ModelOutput`."""
        labels = None if any(a[0] is None for a in answers) else [x for a in answers for x in a[0]]
        scores = None if any(a[1] is None for a in answers) else [x for a in answers for x in a[1]]
        output = assemble_output(labels, scores, self.label_headers)
        output.probabilities = self.probabilities
        if len(output) != rows:
            raise PredictorError(f"The model returned {len(output)} predictions for {rows} records.")
        return check_model_output(output)


__all__ = [
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "ModelCodec",
    "ModelOutput",
    "ModelOutputError",
    "PredictorError",
    "check_model_output",
]
