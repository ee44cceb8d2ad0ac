"""Per-record SHAP values: ``explanations_shap/out.csv`` (docs/explainability.md, "Outputs").

Layout, as the container writes it:

* a header row; one row per explained record, in dataset order;
* when a join column is given (``joinsource_name_or_index``), its values come first, under its name,
  so rows can be matched to records;
* then one block of columns per model output, in output order, each block one column per feature in
  dataset column order, named ``<feature>_<output key>`` (e.g. ``Age_label0``, ``Age_yes``).

Floats are written with ``repr`` (shortest text that round-trips exactly). Adding a row's block to the
output's ``expected_value`` gives the record's (linked) model output.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np

LOCAL_VALUES_RELPATH = "explanations_shap/out.csv"


def local_values_header(
    feature_names: Sequence[str], output_keys: Sequence[str], join_column: str | None = None
) -> list[str]:
    """Column names of out.csv."""
    header = [join_column] if join_column is not None else []
    header += [f"{feature}_{key}" for key in output_keys for feature in feature_names]
    return header


def local_values_csv(
    values: np.ndarray,
    feature_names: Sequence[str],
    output_keys: Sequence[str],
    *,
    join_ids: Sequence | None = None,
    join_column: str | None = None,
) -> str:
    """CSV text of ``values`` shaped ``(N, k, M)`` (records, outputs, features)."""
    n, k, m = values.shape
    if join_ids is not None and len(join_ids) != n:
        raise ValueError(
            f"join_ids has {len(join_ids)} values for {n} explained records; pass one id per record."
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    use_join = join_ids is not None
    writer.writerow(
        local_values_header(feature_names, output_keys, (join_column or "id") if use_join else None)
    )
    flat = values.reshape(n, k * m).tolist()
    for i, row in enumerate(flat):
        cells = [repr(float(v)) for v in row]
        if use_join:
            ident = join_ids[i]
            cells.insert(0, "" if ident is None else str(ident))
        writer.writerow(cells)
    return buffer.getvalue()
