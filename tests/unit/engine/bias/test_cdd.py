"""CDDL/CDDPL (docs/bias-metrics.md, CDD): per-subgroup shares, numpy.unique order, NaN subgroup, pairwise sums."""

from __future__ import annotations

import numpy as np
import pytest

from airflow_provider_clarify.engine.bias.arithmetic import sdiv
from tests.unit.engine.bias.support import run


def cdd_by_spec(s: np.ndarray, z: np.ndarray, g: np.ndarray) -> float:
    """The spec's algorithm over rows: numpy.unique subgroups (a NaN subgroup matches no row)."""
    counts, disparity = [], []
    for v in np.unique(g):
        in_v = g == v
        den_a, den_d = np.count_nonzero(z & in_v), np.count_nonzero(~z & in_v)
        share_a = np.count_nonzero(z & s & in_v) / den_a if den_a else 0
        share_d = np.count_nonzero(~z & s & in_v) / den_d if den_d else 0
        counts.append(float(np.count_nonzero(in_v)))
        disparity.append(share_d - share_a)
    return sdiv(np.sum(np.array(counts) * np.array(disparity)), np.sum(np.array(counts)))


@pytest.mark.parametrize("seed", range(5))
def test_cdd_with_many_float_subgroups_and_missing_values_matches_the_spec(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    s = rng.random(n) < 0.3
    y = rng.random(n) < 0.5 + 0.1 * s
    g = rng.integers(0, 40, n).astype(float)
    g[rng.random(n) < 0.05] = np.nan
    out = run(
        {"f": np.where(s, "d", "a").tolist(), "y": y.astype(int).tolist(), "g": g.tolist()},
        chunk=500,
        label="y",
        label_values=[1],
        facets=[{"name_or_index": "f", "value_or_threshold": ["d"]}],
        group_variable="g",
        pre_training_methods=["CDDL"],
    )
    value = out["pre_training_bias_metrics"]["facets"]["f"][0]["metrics"][0]["value"]
    assert value == cdd_by_spec(s, y, g)


def test_main_dataset_cddl_subgroups():
    """Main golden dataset, d = F: subgroup A has DD 0, B has DD 1/3, weights 6 and 6."""
    data = {
        "gender": list("MFMFMMFMFMFM"),
        "dept": list("AAAAABBBBBBA"),
        "label": [1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0] * 1,
    }
    out = run(
        {**data, "label": ["yes" if v else "no" for v in data["label"]]},
        label="label",
        label_values=["yes"],
        facets=[{"name_or_index": "gender", "value_or_threshold": ["F"]}],
        group_variable="dept",
        pre_training_methods=["CDDL"],
    )
    assert (
        out["pre_training_bias_metrics"]["facets"]["gender"][0]["metrics"][0]["value"] == 0.16666666666666666
    )
