"""JSON Lines and JSON datasets: records located with JMESPath, turned into named columns.

* ``application/jsonlines``: one JSON value per line; ``features`` yields the feature array of a
  line, ``label`` / ``predicted_label`` its label / prediction. Column names: ``headers`` = feature
  names, then the label name, then the predicted-label name.
* ``application/json``: one JSON document; ``features`` yields a 2-D array, ``label`` a 1-D array.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_clarify.engine import io
from airflow_provider_clarify.engine.datasets._errors import DatasetError
from airflow_provider_clarify.engine.datasets._pandas_types import pandas_like_table

if TYPE_CHECKING:
    import pyarrow as pa


def compile_jmespath(expression: Any, field_name: str):
    import jmespath

    if not isinstance(expression, str) or not expression:
        raise DatasetError(
            f"analysis_config field {field_name!r} must be a JMESPath string for JSON datasets, got {expression!r}."
        )
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.ParseError as exc:
        raise DatasetError(
            f"analysis_config field {field_name!r}: invalid JMESPath {expression!r}: {exc}"
        ) from exc


def column_from_values(values: list, name: str) -> pa.Array:
    import pyarrow as pa

    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = pa.array(
            [None if v is None else (v if isinstance(v, str) else json.dumps(v)) for v in values]
        )
    if pa.types.is_struct(array.type) or pa.types.is_list(array.type):
        array = pa.array([None if v is None else json.dumps(v) for v in values])
    return array


@dataclass
class _JsonColumns:
    features: list[list] = field(default_factory=list)
    label: list = field(default_factory=list)
    predicted: list = field(default_factory=list)


def _json_table(
    collected: _JsonColumns, headers, label_expr, predicted_expr, feature_count: int
) -> tuple[pa.Table, str | None, str | None]:
    import pyarrow as pa

    headers = [str(h) for h in headers] if headers is not None else None
    extra = (1 if label_expr is not None else 0) + (1 if predicted_expr is not None else 0)
    if headers is not None and len(headers) not in (feature_count, feature_count + extra):
        raise DatasetError(
            f"'headers' lists {len(headers)} names but the data has {feature_count} features"
            f"{' plus label/predicted label' if extra else ''}. For JSON datasets give the feature "
            "names, then the label name, then the predicted-label name."
        )
    feature_names = headers[:feature_count] if headers else [f"column_{i}" for i in range(feature_count)]
    rest = headers[feature_count:] if headers and len(headers) > feature_count else []
    columns: dict[str, pa.Array] = {}
    for j, name in enumerate(feature_names):
        columns[name] = column_from_values([row[j] for row in collected.features], name)
    label_name = predicted_name = None
    if label_expr is not None:
        label_name = rest[0] if rest else label_expr
        columns[label_name] = column_from_values(collected.label, label_name)
        rest = rest[1:]
    if predicted_expr is not None:
        predicted_name = rest[0] if rest else predicted_expr
        if predicted_name in columns:
            predicted_name = "predicted_label"
        columns[predicted_name] = column_from_values(collected.predicted, predicted_name)
    return pandas_like_table(pa.table(columns)), label_name, predicted_name


def _parse_json(data: bytes, where: str) -> Any:
    """One JSON value from UTF-8 bytes; every failure is a :class:`DatasetError` naming ``where``
    (and, in a document, the line and column)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        place = f"{where}" if where.startswith("line ") else f"line {line}, column {column} of {where}"
        raise DatasetError(
            f"{place[0].upper()}{place[1:]} is not UTF-8 (byte {data[exc.start : exc.start + 1]!r}): JSON "
            "datasets must be UTF-8 encoded. Re-encode the file."
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where[0].upper()}{where[1:]} is not valid JSON: {exc}") from exc
    except RecursionError:
        raise DatasetError(
            f"{where[0].upper()}{where[1:]} is nested too deeply to read (JSON arrays/objects nested "
            "thousands of levels deep); a record must be a flat object or array of features."
        ) from None


def _search(query: Any, value: Any, field_name: str, where: str) -> Any:
    """Evaluate a compiled JMESPath; a failure on unusual data is a :class:`DatasetError`."""
    try:
        return query.search(value)
    except RecursionError:
        raise DatasetError(f"JMESPath {field_name!r}: {where} is nested too deeply to search.") from None
    except Exception as exc:  # jmespath raises its own errors (e.g. a function on the wrong type)
        raise DatasetError(f"JMESPath {field_name!r} cannot be evaluated on {where}: {exc}") from exc


def read_jsonlines(files, features, label, predicted_label, headers, storage_options):
    features_q = compile_jmespath(features, "features")
    label_q = compile_jmespath(label, "label") if label is not None else None
    predicted_q = (
        compile_jmespath(predicted_label, "predicted_label") if predicted_label is not None else None
    )
    collected = _JsonColumns()
    width = None
    for uri in files:
        data = io.read_bytes(uri, storage_options)
        for line_no, line in enumerate(data.split(b"\n"), start=1):
            if not line.strip():
                continue
            record = _parse_json(line, f"line {line_no} of {uri!r}")
            row = _search(features_q, record, "features", f"line {line_no} of {uri!r}")
            if not isinstance(row, list):
                raise DatasetError(
                    f"Data must contain features: JMESPath 'features' = {features!r} gave {row!r} on line "
                    f"{line_no} of {uri!r}; it must give the feature array of each line."
                )
            if width is None:
                width = len(row)
            elif len(row) != width:
                raise DatasetError(
                    f"Line {line_no} of {uri!r} has {len(row)} features, earlier lines have {width}."
                )
            collected.features.append(row)
            where = f"line {line_no} of {uri!r}"
            if label_q is not None:
                found = _search(label_q, record, "label", where)
                collected.label.append(_required(found, "label", label, uri, line_no))
            if predicted_q is not None:
                found = _search(predicted_q, record, "predicted_label", where)
                collected.predicted.append(_required(found, "predicted_label", predicted_label, uri, line_no))
    if width is None:
        raise DatasetError(f"No records found in {files[0]!r}.")
    return _json_table(collected, headers, label, predicted_label, width)


def _required(value, field_name, expression, uri, line_no):
    if value is None:
        raise DatasetError(
            f"JMESPath {field_name!r} = {expression!r} found nothing on line {line_no} of {uri!r}."
        )
    return value


def read_json(files, features, label, predicted_label, headers, storage_options):
    features_q = compile_jmespath(features, "features")
    collected = _JsonColumns()
    for uri in files:
        document = _parse_json(io.read_bytes(uri, storage_options), repr(uri))
        rows = _search(features_q, document, "features", repr(uri))
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise DatasetError(
                f"Data must contain features: JMESPath 'features' = {features!r} must give a 2-D array in {uri!r}."
            )
        collected.features.extend(rows)
        for expr, name, target in (
            (label, "label", collected.label),
            (predicted_label, "predicted_label", collected.predicted),
        ):
            if expr is None:
                continue
            values = _search(compile_jmespath(expr, name), document, name, repr(uri))
            if not isinstance(values, list) or len(values) != len(rows):
                raise DatasetError(
                    f"JMESPath {name!r} = {expr!r} must give one value per record ({len(rows)}) in {uri!r}."
                )
            target.extend(values)
    if not collected.features:
        raise DatasetError(f"No records found in {files[0]!r}.")
    width = len(collected.features[0])
    if any(len(r) != width for r in collected.features):
        raise DatasetError("Records of the JSON dataset have different numbers of features.")
    return _json_table(collected, headers, label, predicted_label, width)
