"""Run inside the benchmark's smclarify virtualenv: what the Clarify container does for bias metrics.

    <smclarify-venv>/bin/python benchmarks/_smclarify_child.py CONFIG.json DATASET OUTPUT.json

Reads the whole dataset with pandas (``read_csv``, or ``read_parquet`` for
``application/x-parquet``), drops ``excluded_columns``, and calls
``smclarify.bias.report.bias_report`` per stage (pre-training first) and facet with the config's
label, facet values, predicted label and group variable, as the container does. Writes the two
bias sections in analysis.json's shape. Standard library, pandas and smclarify only: the project's
own code is not installed in that environment.
"""

from __future__ import annotations

import copy
import json
import math
import sys


def _value(value):
    if isinstance(value, float) and math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


def main(config_path: str, dataset: str, output: str) -> None:
    import pandas as pd
    from smclarify.bias import report

    with open(config_path) as handle:
        config = json.load(handle)
    if config["dataset_type"] == "application/x-parquet":
        frame = pd.read_parquet(dataset)
    elif config.get("headers"):
        frame = pd.read_csv(dataset, header=None, names=config["headers"])
    else:
        frame = pd.read_csv(dataset)
    excluded = config.get("excluded_columns") or []
    if excluded:
        frame = frame.drop(columns=excluded)
    label = config["label"]
    group = config.get("group_variable")
    group_series = frame[group] if group is not None else None
    out: dict = {}
    for key, stage, method in (
        ("pre_training_bias_metrics", report.StageType.PRE_TRAINING, "pre_training_bias"),
        ("post_training_bias_metrics", report.StageType.POST_TRAINING, "post_training_bias"),
    ):
        if method not in config["methods"]:
            continue
        wanted = config["methods"][method].get("methods", "all")
        metrics = ["all"] if wanted == "all" else list(wanted)
        facets = {}
        for facet in config["facet"]:
            name = facet["name_or_index"]
            predicted = None
            if stage is report.StageType.POST_TRAINING:
                column = config["predicted_label"]
                predicted = report.LabelColumn(column, frame[column], None)
            entries = report.bias_report(
                frame,
                report.FacetColumn(name, copy.deepcopy(facet.get("value_or_threshold"))),
                report.LabelColumn(label, frame[label], copy.deepcopy(config["label_values_or_threshold"])),
                stage,
                predicted,
                metrics,
                group_variable=group_series,
            )
            for entry in entries:
                for metric in entry["metrics"]:
                    metric["value"] = _value(metric["value"])
            facets[name] = entries
        out[key] = {"label": label, "facets": facets}
    with open(output, "w") as handle:
        json.dump(out, handle)


if __name__ == "__main__":
    main(*sys.argv[1:4])
