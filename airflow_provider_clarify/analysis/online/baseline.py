"""Build ``ClarifyShapBaselineConfig.shap_baseline``: in-line baseline records that fit in 4,096 characters.

* :func:`inline_baseline` writes rows in the model-input format: CSV (``csv`` quoting: a value holding
  a comma, a quote or a line break is quoted and its quotes doubled) or JSON Lines (each row's feature
  list put into ``content_template`` at ``$features``, or the bare list).
* :func:`read_baseline_rows` reads the rows of a baseline file (CSV without header, or JSON Lines with
  ``features_attribute``); :func:`inline_baseline_from_file` turns such a file into ``shap_baseline``.
* :func:`summarize_baseline` summarises a dataset into the most k-means rows (the open engine's
  baseline clustering, :func:`airflow_provider_clarify.engine.explain.baseline.cluster_baseline`) whose
  in-line text still fits the limit. Needs the ``engine`` extra; loaded lazily.

Pure Python at import time (no numpy / pyarrow until :func:`summarize_baseline` runs).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.online.explainer_config import (
    CSV,
    FEATURES_PLACEHOLDER,
    JSONLINES,
    MAX_INLINE_BASELINE,
    MIME_TYPES,
    check_jmespath,
)

#: Largest number of clusters :func:`summarize_baseline` tries.
MAX_SUMMARY_ROWS = 12


def _plain(value: Any) -> Any:
    """numpy scalars to Python scalars; integral floats stay floats (``1.0``)."""
    return value.item() if hasattr(value, "item") and not isinstance(value, str | bytes) else value


def _csv_cell(value: Any) -> Any:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


def inline_baseline(
    rows: Iterable[Sequence[Any]], mime_type: str = CSV, *, content_template: str | None = None
) -> str:
    """Baseline rows as the text of ``shap_baseline`` (no trailing newline).

    :param rows: feature values per row (features only, model-input order).
    :param mime_type: ``text/csv`` or ``application/jsonlines``.
    :param content_template: JSON Lines: the record template with ``$features`` (as in
        ``ClarifyInferenceConfig.content_template``); default the bare feature list.
    :raises ClarifyConfigError: bad ``mime_type`` / template, or no rows.
    """
    if mime_type not in MIME_TYPES:
        raise ClarifyConfigError.invalid("mime_type", mime_type, "'text/csv' or 'application/jsonlines'")
    rows = [list(row) for row in rows]
    if not rows:
        raise ClarifyConfigError.invalid("rows", rows, "at least one baseline row")
    if mime_type == CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for row in rows:
            writer.writerow([_csv_cell(v) for v in row])
        return buffer.getvalue().rstrip("\n")
    template = content_template or FEATURES_PLACEHOLDER
    if FEATURES_PLACEHOLDER not in template:
        raise ClarifyConfigError.invalid("content_template", template, "a template containing $features")
    lines = []
    for row in rows:
        features = json.dumps([_plain(v) for v in row], separators=(",", ":"), ensure_ascii=False)
        lines.append(template.replace(FEATURES_PLACEHOLDER, features))
    return "\n".join(lines)


def read_baseline_rows(
    path: str | Path, mime_type: str = CSV, *, features_attribute: str | None = None
) -> list[list[Any]]:
    """Rows of a local baseline file: CSV without header (numbers parsed) or JSON Lines.

    :param features_attribute: JSON Lines: JMESPath to the feature list of each record (default: the
        record itself is the list).
    """
    text = Path(path).read_text(encoding="utf-8")
    return parse_baseline(text, mime_type, features_attribute=features_attribute)


def inline_baseline_from_file(
    path: str | Path,
    mime_type: str = CSV,
    *,
    features_attribute: str | None = None,
    content_template: str | None = None,
) -> str:
    """The ``shap_baseline`` text of a local baseline file (features only, no header), checked to fit.

    :raises ClarifyConfigError: the text exceeds 4,096 characters (the message gives the size and
        advises ``shap_baseline_uri`` or :func:`summarize_baseline`).
    """
    from airflow_provider_clarify.analysis.online.explainer_config import ClarifyShapBaselineConfig

    rows = read_baseline_rows(path, mime_type, features_attribute=features_attribute)
    text = inline_baseline(rows, mime_type, content_template=content_template)
    ClarifyShapBaselineConfig(mime_type=mime_type, shap_baseline=text).validate()
    return text


def _cell(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def parse_baseline(
    text: str, mime_type: str = CSV, *, features_attribute: str | None = None
) -> list[list[Any]]:
    """Rows of an in-line baseline (or a baseline file's text), as the explainer reads them."""
    if mime_type == CSV:
        return [[_cell(cell) for cell in row] for row in csv.reader(io.StringIO(text)) if row]
    if mime_type != JSONLINES:
        raise ClarifyConfigError.invalid("mime_type", mime_type, "'text/csv' or 'application/jsonlines'")
    import jmespath

    if features_attribute is not None:
        check_jmespath("features_attribute", features_attribute)
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise ClarifyConfigError.invalid(
                "shap_baseline", line, "JSON Lines records", f"Line {number} is not JSON ({err})."
            ) from None
        features = jmespath.search(features_attribute, record) if features_attribute else record
        if not isinstance(features, list):
            raise ClarifyConfigError.invalid(
                "shap_baseline",
                line,
                "records whose features are a JSON list",
                f"Line {number} gives {features!r} as features; set features_attribute to the JMESPath "
                "of the feature list.",
            )
        rows.append(features)
    return rows


def summarize_baseline(
    rows: Sequence[Sequence[Any]],
    mime_type: str = CSV,
    *,
    headers: Sequence[str] | None = None,
    content_template: str | None = None,
    max_rows: int = MAX_SUMMARY_ROWS,
    max_chars: int = MAX_INLINE_BASELINE,
    seed: int | None = 0,
    decimals: int | None = 6,
) -> str:
    """The largest k-means summary of ``rows`` (k <= ``max_rows``) whose in-line text fits ``max_chars``.

    Each baseline row is a cluster centre (numeric columns; k-prototypes modes for categorical ones),
    computed by the open engine's baseline clustering with ``seed``. ``decimals`` rounds the numeric
    centres so the text stays short.

    :raises ClarifyConfigError: when not even one row fits (then use ``shap_baseline_uri``).
    """
    import pyarrow as pa

    from airflow_provider_clarify.engine.explain.baseline import cluster_baseline
    from airflow_provider_clarify.engine.explain.model_calls import table_to_matrix

    data = [list(row) for row in rows]
    if not data:
        raise ClarifyConfigError.invalid("rows", data, "at least one dataset row")
    width = len(data[0])
    names = list(headers) if headers else [f"column_{j}" for j in range(width)]
    table = pa.table({name: [row[j] for row in data] for j, name in enumerate(names)})
    records = table_to_matrix(table)
    last_size = None
    for k in range(max(1, min(max_rows, len(data))), 0, -1):
        centres = cluster_baseline(table, records, k, seed=seed)
        out = [[_round(v, decimals) for v in row] for row in centres.tolist()]
        text = inline_baseline(out, mime_type, content_template=content_template)
        if len(text) <= max_chars:
            return text
        last_size = len(text)
    raise ClarifyConfigError(
        f"Even a one-row baseline summary has {last_size:,} characters, more than the {max_chars:,} the "
        "API accepts in-line; upload the baseline file and pass shap_baseline_uri.",
        field="shap_baseline",
        value=None,
        accepted=f"at most {max_chars} characters",
    )


def _round(value: Any, decimals: int | None) -> Any:
    value = _plain(value)
    if decimals is not None and isinstance(value, float):
        rounded = round(value, decimals)
        return int(rounded) if rounded.is_integer() else rounded
    return value
