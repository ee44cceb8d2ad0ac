"""Regenerate ``expected.json``: smclarify 0.5's output for every parity case (the test oracle).

Not part of the test suite and not run in CI: it needs smclarify, which only runs on pandas < 3
and is never a dependency of this project. Run it in a scratch environment:

    python3 -m venv /tmp/smcvenv && /tmp/smcvenv/bin/pip install "smclarify==0.5" "pandas<3"
    /tmp/smcvenv/bin/python tests/data/parity/make_expected.py

It reads each CSV with ``pandas.read_csv`` (what the Clarify container does) and calls
``smclarify.bias.report.bias_report`` per facet and stage (pre-training first), exactly as the
differential campaign did; a whole-report failure is recorded as ``{"error": message}``.
``benchmarks/_smclarify_child.py`` runs smclarify through :func:`smclarify_analysis` too, in the
benchmark's smclarify virtualenv: keep this module's imports to the standard library, pandas and
smclarify.
"""

from __future__ import annotations

import copy
import json
import math
from importlib.metadata import version
from pathlib import Path

import pandas as pd
from smclarify.bias import report

HERE = Path(__file__).resolve().parent

CASES = [
    {
        "id": "arthritis-none-token-and-unnamed-header",
        "dataset": "arthritis.csv",
        "why": "R write.csv header with an empty first cell ('Unnamed: 0'); the token None is a missing "
        "value for pandas (one-vs-rest 'nan' entry); a string group variable with missing values",
        "config": {
            "dataset_type": "text/csv",
            "label": "Treatment",
            "label_values_or_threshold": ["Treated"],
            "facet": [
                {"name_or_index": "Improved"},
                {"name_or_index": "Unnamed: 0", "value_or_threshold": [42]},
                {"name_or_index": "Sex", "value_or_threshold": ["Female"]},
            ],
            "group_variable": "Improved",
            "methods": {"pre_training_bias": {"methods": "all"}},
        },
    },
    {
        "id": "arthritis-label-with-missing-values",
        "dataset": "arthritis.csv",
        "why": "label column holding the None token; facet by index; group variable without gaps",
        "config": {
            "dataset_type": "text/csv",
            "label": "Improved",
            "label_values_or_threshold": ["Marked", "Some"],
            "facet": [{"name_or_index": 3}, {"name_or_index": "Age", "value_or_threshold": [57]}],
            "group_variable": "Treatment",
            "methods": {"pre_training_bias": {"methods": "all"}},
        },
    },
    {
        "id": "credit-17-digit-floats",
        "dataset": "credit.csv",
        "why": "floats written with 17 significant digits: pandas' parser reads 186.63400000000001 as "
        "186.634, which decides the (t, max] text and membership at the threshold",
        "config": {
            "dataset_type": "text/csv",
            "label": "Student",
            "label_values_or_threshold": ["Yes"],
            "facet": [
                {"name_or_index": "Income", "value_or_threshold": [33.0]},
                {"name_or_index": "Gender"},
            ],
            "group_variable": "Ethnicity",
            "methods": {"pre_training_bias": {"methods": "all"}},
        },
    },
    {
        "id": "credit-threshold-at-a-17-digit-maximum",
        "dataset": "credit.csv",
        "why": "threshold equal to pandas' reading of the column maximum: no interval ('') and an empty "
        "facet group, where a correctly rounded reading would put one row above the threshold",
        "config": {
            "dataset_type": "text/csv",
            "label": "Student",
            "label_values_or_threshold": ["Yes"],
            "facet": [{"name_or_index": "Income", "value_or_threshold": [186.634]}],
            "methods": {"pre_training_bias": {"methods": "all"}},
        },
    },
    {
        "id": "credit-continuous-float-label",
        "dataset": "credit.csv",
        "why": "continuous label read from 17-digit floats: label interval text and positivity",
        "config": {
            "dataset_type": "text/csv",
            "label": "Income",
            "label_values_or_threshold": [40.5],
            "facet": [{"name_or_index": "Married", "value_or_threshold": ["Yes"]}],
            "methods": {"pre_training_bias": {"methods": ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS"]}},
        },
    },
    {
        "id": "credit-stage-order-of-failures",
        "dataset": "credit.csv",
        "why": "both stages fail: the pre-training report (missing threshold for a continuous facet) "
        "runs before the post-training one (prediction type differs from the label's)",
        "config": {
            "dataset_type": "text/csv",
            "label": "Income",
            "label_values_or_threshold": [40.5],
            "predicted_label": "Gender",
            "facet": [{"name_or_index": "Limit"}],
            "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}},
        },
    },
    {
        "id": "danish-byte-order-mark",
        "dataset": "danish.csv",
        "why": "UTF-8 byte-order mark before the first column name ('period')",
        "config": {
            "dataset_type": "text/csv",
            "label": "lrm",
            "label_values_or_threshold": [11.8],
            "facet": [
                {"name_or_index": "ibo", "value_or_threshold": [0.1]},
                {"name_or_index": "period", "value_or_threshold": ["1974Q1", "1975Q1"]},
            ],
            "methods": {"pre_training_bias": {"methods": "all"}},
        },
    },
]


PENGUIN_HEADERS = [
    "studyName", "Sample Number", "Species", "Region", "Island", "Stage", "Individual ID",
    "Clutch Completion", "Date Egg", "Culmen Length (mm)", "Culmen Depth (mm)",
    "Flipper Length (mm)", "Body Mass (g)", "Sex", "Delta 15 N (o/oo)", "Delta 13 C (o/oo)", "Comments",
]  # fmt: skip
CASES.append(
    {
        "id": "penguins-headers-from-config",
        "dataset": "penguins_noheader.csv",
        "why": "header-less file, names from the config: the first record (with NA cells over "
        "numbers below) is data, not a header row; quoted fields with commas; NA tokens",
        "config": {
            "dataset_type": "text/csv",
            "headers": PENGUIN_HEADERS,
            "label": "Sex",
            "label_values_or_threshold": ["FEMALE"],
            "facet": [
                {"name_or_index": "Clutch Completion", "value_or_threshold": ["No"]},
                {"name_or_index": "Body Mass (g)", "value_or_threshold": [3700]},
                {"name_or_index": "Delta 15 N (o/oo)", "value_or_threshold": [8.5]},
            ],
            "group_variable": "Island",
            "methods": {"pre_training_bias": {"methods": "all"}},
        },
    }
)


def _read(case: dict) -> pd.DataFrame:
    headers = case["config"].get("headers")
    if headers:  # the container: no header row, names from the config
        return pd.read_csv(HERE / case["dataset"], header=None, names=headers)
    return pd.read_csv(HERE / case["dataset"])


def _column(frame: pd.DataFrame, name_or_index):
    if isinstance(name_or_index, int):
        return frame.columns[name_or_index]
    return name_or_index


def _plain(value):
    if isinstance(value, float) and math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def smclarify_analysis(config: dict, frame: pd.DataFrame) -> dict:
    label = _column(frame, config["label"])
    group = config.get("group_variable")
    group_series = frame[_column(frame, group)] if group is not None else None
    out: dict = {"version": "1.0"}
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
            name = _column(frame, facet["name_or_index"])
            predicted = None
            if stage is report.StageType.POST_TRAINING:
                column = _column(frame, config["predicted_label"])
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
                    metric["value"] = _plain(metric["value"])
            facets[name] = entries
        out[key] = {
            "label": label,
            "facets": facets,
            "label_value_or_threshold": report.label_value_or_threshold(
                frame[label], copy.deepcopy(config["label_values_or_threshold"])
            ),
        }
    return out


def main() -> None:
    results = []
    for case in CASES:
        frame = _read(case)
        try:
            expected = smclarify_analysis(case["config"], frame)
        except Exception as exc:  # a whole-report failure is part of the oracle
            expected = {"error": str(exc)}
        results.append({**case, "expected": expected})
    document = {
        "produced_by": f"smclarify {version('smclarify')}, pandas {version('pandas')}, numpy {version('numpy')}",
        "command": "/tmp/smcvenv/bin/python tests/data/parity/make_expected.py",
        "cases": results,
    }
    (HERE / "expected.json").write_text(json.dumps(document, indent=1) + "\n")


if __name__ == "__main__":
    main()
