"""Run inside the benchmark's smclarify virtualenv: what the Clarify container does for bias metrics.

    <smclarify-venv>/bin/python benchmarks/_smclarify_child.py CONFIG.json DATASET OUTPUT.json

Reads the whole dataset with pandas (``read_csv``, or ``read_parquet`` for
``application/x-parquet``), drops ``excluded_columns``, and hands the frame to the parity
oracle's :func:`make_expected.smclarify_analysis` (``tests/data/parity/make_expected.py``), which
calls ``smclarify.bias.report.bias_report`` per stage (pre-training first) and facet as the
container does. Writes the bias sections in analysis.json's shape. Standard library, pandas and
smclarify only (as is ``make_expected``): the project's own code is not installed in that
environment.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

PARITY_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "parity"


def main(config_path: str, dataset: str, output: str) -> None:
    import pandas as pd

    sys.path.insert(0, str(PARITY_DIR))
    from make_expected import smclarify_analysis

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
    out = smclarify_analysis(config, frame)
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        for entries in out.get(stage, {}).get("facets", {}).values():
            for entry in entries:
                for metric in entry["metrics"]:
                    if isinstance(metric["value"], float) and math.isnan(metric["value"]):
                        metric["value"] = "NaN"
    with open(output, "w") as handle:
        json.dump(out, handle)


if __name__ == "__main__":
    main(*sys.argv[1:4])
