"""smclarify 0.5's output on the synthetic credit dataset (tests/data/golden, a copy of the team's shared/data/golden) reproduced to 1e-9.

As the golden README says, post-training FT saw only the numeric feature columns (``note_ft_features``,
minus the facet column smclarify drops). The golden file predates SD and GE in "all": only the metrics
it lists are compared, and every one of them must be present.
"""

from __future__ import annotations

import json
import math

import pyarrow.csv as pacsv
import pytest

from tests.support.paths import GOLDEN_DIR
from tests.unit.engine.bias.support import run

GOLDEN = GOLDEN_DIR
CASES = json.loads((GOLDEN / "smclarify_golden.json").read_text())


@pytest.fixture(scope="module")
def credit():
    return pacsv.read_csv(GOLDEN / "synthetic_credit.csv")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_configuration(case, credit):
    config = case["analysis_config"]
    methods = config["methods"]
    out = run(
        credit,
        chunk=333,
        label=config["label"],
        label_values=config["label_values_or_threshold"],
        facets=config["facet"],
        group_variable=config.get("group_variable"),
        predicted_label=config.get("predicted_label"),
        pre_training_methods=methods["pre_training_bias"]["methods"]
        if "pre_training_bias" in methods
        else None,
        post_training_methods=methods["post_training_bias"]["methods"]
        if "post_training_bias" in methods
        else None,
        feature_columns=case.get("note_ft_features", ()),
        num_rows=credit.num_rows,
    )
    compared = 0
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        if stage not in case:
            assert stage not in out
            continue
        assert out[stage]["label"] == case[stage]["label"]
        for facet, expected_entries in case[stage]["facets"].items():
            entries = out[stage]["facets"][facet]
            assert [e["value_or_threshold"] for e in entries] == [
                e["value_or_threshold"] for e in expected_entries
            ]
            for entry, expected in zip(entries, expected_entries):
                mine = {m["name"]: m for m in entry["metrics"]}
                for metric in expected["metrics"]:
                    got = mine[metric["name"]]
                    assert got["description"] == metric["description"]
                    if "error" in metric:
                        assert got["error"] == metric["error"]
                        assert got["value"] is None
                    else:
                        assert "error" not in got, got
                        assert math.isclose(got["value"], metric["value"], rel_tol=1e-9, abs_tol=0.0), (
                            metric,
                            got,
                        )
                    compared += 1
    assert compared >= 8


def test_threshold_label_text(credit):
    case = next(c for c in CASES if c["name"] == "amount_threshold_label")
    config = case["analysis_config"]
    out = run(
        credit,
        label=config["label"],
        label_values=config["label_values_or_threshold"],
        facets=config["facet"],
        pre_training_methods="all",
    )
    maximum = max(credit.column("credit_amount").to_pylist())
    assert out["pre_training_bias_metrics"]["label_value_or_threshold"] == f"(5000, {maximum}]"
