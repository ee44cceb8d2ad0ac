"""The test datasets in the engine's other formats: Parquet and JSON Lines made from a CSV dataset.

The single-machine reader reads the CSV (its types are the oracle's anyway); the rows are written as
Parquet part files with several row groups each, or as JSON Lines part files with the features in an
array (``{"features": [...], "label": ..., "predicted_label": ...}``), and the analysis config is
rewritten for that format (column indices become names; JMESPath for JSON Lines).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from airflow_provider_clarify.engine import datasets

FORMATS = ("csv", "parquet", "jsonlines")
PARTS = 2


def typed_table(csv_path: Path, config: dict) -> pa.Table:
    return datasets.load_dataset(str(csv_path), datasets.CSV, headers=config.get("headers")).data.to_table()


def named_config(config: dict, names: list[str]) -> dict:
    """``config`` with every column given by name."""

    def name(value, field):
        return datasets.resolve_column(value, names, field, where="the test dataset")

    out = dict(config)
    for field in ("label", "predicted_label", "group_variable"):
        if out.get(field) is not None:
            out[field] = name(out[field], field)
    out["facet"] = [
        dict(f, name_or_index=name(f["name_or_index"], f"facet[{i}]")) for i, f in enumerate(config["facet"])
    ]
    return out


def _slices(table: pa.Table, parts: int) -> list[pa.Table]:
    size = math.ceil(table.num_rows / parts)
    return [table.slice(i * size, size) for i in range(parts)]


def as_format(csv_path: Path, config: dict, fmt: str, folder: Path) -> tuple[Path, dict]:
    """The dataset and config of ``csv_path`` in ``fmt`` (written under ``folder``)."""
    if fmt == "csv":
        return csv_path, config
    table = typed_table(csv_path, config)
    config = named_config(config, table.column_names)
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        for i, part in enumerate(_slices(table, PARTS)):
            pq.write_table(part, folder / f"part-{i:05d}.parquet", row_group_size=max(1, part.num_rows // 3))
        return folder, dict(config, dataset_type=datasets.PARQUET)
    label, predicted = config["label"], config.get("predicted_label")
    features = [c for c in table.column_names if c not in (label, predicted)]
    for i, part in enumerate(_slices(table, PARTS)):
        lines = []
        for row in part.to_pylist():
            record = {"features": [row[c] for c in features], "label": row[label]}
            if predicted is not None:
                record["predicted_label"] = row[predicted]
            lines.append(json.dumps(record) + "\n")
        (folder / f"part-{i:05d}.jsonl").write_text("".join(lines))
    rewritten = dict(
        config,
        dataset_type=datasets.JSONLINES,
        features="features",
        label="label",
        headers=[*features, label, *([predicted] if predicted is not None else [])],
    )
    if predicted is not None:
        rewritten["predicted_label"] = "predicted_label"
    return folder, rewritten
