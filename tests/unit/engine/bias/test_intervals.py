"""Confidence intervals from the group counts: vectorized metrics, analytic intervals, the sidecar."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow.csv as pacsv
import pytest

from airflow_provider_clarify.analysis.uncertainty import ConfidenceIntervalConfig, IntervalsResult
from airflow_provider_clarify.engine.bias import compute_bias_sections, vectorized as vec
from airflow_provider_clarify.engine.bias.counts import ConfusionCounts
from airflow_provider_clarify.engine.bias.errors import MetricFailure
from airflow_provider_clarify.engine.bias.inputs import EntryInputs, SubgroupCounts
from airflow_provider_clarify.engine.bias.intervals import (
    compute_intervals,
    facet_entry_counts,
    katz_ratio,
    newcombe,
    percentile_interval,
    wilson,
    z_value,
)
from airflow_provider_clarify.engine.bias.registry import POST_TRAINING_METRICS, PRE_TRAINING_METRICS
from tests.support.paths import GOLDEN_DIR
from tests.unit.engine.bias.support import source

CASES = json.loads((GOLDEN_DIR / "smclarify_golden.json").read_text())
REGISTRY = {spec.name: spec for spec in (*PRE_TRAINING_METRICS, *POST_TRAINING_METRICS)}


@pytest.fixture(scope="module")
def credit():
    return pacsv.read_csv(GOLDEN_DIR / "synthetic_credit.csv")


def audit(credit, case: dict, **kwargs) -> tuple[dict, dict]:
    """The bias sections of a golden case and the counts the pass handed to the sink."""
    config = case["analysis_config"]
    methods = config["methods"]
    seen: dict = {}
    sections = compute_bias_sections(
        source(credit, 333),
        label=config["label"],
        label_values=config["label_values_or_threshold"],
        facets=config["facet"],
        group_variable=config.get("group_variable"),
        predicted_label=config.get("predicted_label"),
        pre_training_methods=methods.get("pre_training_bias", {}).get("methods"),
        post_training_methods=methods.get("post_training_bias", {}).get("methods"),
        feature_columns=case.get("note_ft_features", ()),
        counts_sink=lambda prep, counts: seen.update(prep=prep, counts=counts),
        **kwargs,
    )
    return sections, seen


# ---- vectorized metrics agree with the engine's own functions -----------------------------------------


def _engine_value(name: str, a: np.ndarray, d: np.ndarray, subgroups: SubgroupCounts | None) -> float:
    total = a + d
    inputs = EntryInputs(
        a=ConfusionCounts.from_matrix(a),
        d=ConfusionCounts.from_matrix(d),
        total=ConfusionCounts.from_matrix(total),
        subgroups=subgroups,
        generalized_entropy=lambda: float(vec.ge(total)),
        flip_test=lambda: math.nan,
    )
    try:
        return float(REGISTRY[name].compute(inputs))
    except MetricFailure:
        return math.nan


def test_vectorized_metrics_equal_the_engine_on_random_small_tables():
    """Small counts hit every edge: empty groups, zero denominators, infinite ratios, no shared outcome."""
    rng = np.random.default_rng(7)
    tables = rng.integers(0, 4, size=(1500, 2, 2, 2))
    tables[::7, 1] = 0  # empty d
    tables[3::11, 0, :, 1] = 0  # a never predicted positive
    for name, function in vec.PAIR_METRICS.items():
        got = function(tables[:, 0], tables[:, 1])
        expected = [_engine_value(name, t[0], t[1], None) for t in tables]
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15, err_msg=name)


def test_vectorized_cdd_equals_the_engine_on_random_subgroups():
    rng = np.random.default_rng(8)
    for _ in range(300):
        d_sub = rng.integers(0, 3, size=(3, 2, 2))
        all_sub = d_sub + rng.integers(0, 3, size=(3, 2, 2))
        total = all_sub.sum(axis=0)
        subgroups = SubgroupCounts(d=d_sub, all=all_sub)
        for name, on_prediction in vec.SUBGROUP_METRICS.items():
            got = float(vec.cdd(d_sub, all_sub, total, on_prediction=on_prediction))
            expected = _engine_value(name, total - d_sub.sum(axis=0), d_sub.sum(axis=0), subgroups)
            assert got == pytest.approx(expected, rel=1e-12, abs=1e-15, nan_ok=True), name


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vectorized_metrics_reproduce_the_golden_values(case, credit):
    sections, seen = audit(credit, case)
    prep, counts = seen["prep"], seen["counts"]
    group_codes = prep.group.num_codes if prep.group is not None else None
    compared = 0
    for key in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        for facet, entries in sections.get(key, {}).get("facets", {}).items():
            codes = {e.text: e.code for e in prep.facets[facet].entries}
            for entry in entries:
                arrays = facet_entry_counts(
                    counts.tables[facet], codes[entry["value_or_threshold"]], group_codes
                )
                for metric in entry["metrics"]:
                    if metric["name"] == "FT":
                        continue
                    if metric["name"] == "GE":
                        value = vec.ge(arrays["total"])
                    elif metric["name"] in vec.SUBGROUP_METRICS and "d_sub" not in arrays:
                        assert metric["value"] is None  # no group variable: the engine reports an error
                        continue
                    elif metric["name"] in vec.SUBGROUP_METRICS:
                        value = vec.cdd(
                            arrays["d_sub"],
                            arrays["all_sub"],
                            arrays["total"],
                            on_prediction=vec.SUBGROUP_METRICS[metric["name"]],
                        )
                    else:
                        value = vec.PAIR_METRICS[metric["name"]](arrays["a"], arrays["d"])
                    expected = math.nan if metric["value"] is None else metric["value"]
                    assert float(value) == pytest.approx(expected, rel=1e-12, abs=1e-15, nan_ok=True), (
                        facet,
                        entry["value_or_threshold"],
                        metric,
                    )
                    compared += 1
    assert compared >= 5


# ---- analytic intervals against published values ------------------------------------------------------


def test_wilson_matches_the_published_values():
    z = z_value(0.95)
    assert z == pytest.approx(1.959963984540054)
    lower, upper = wilson(np.array([0, 81]), np.array([10, 263]), z)
    # Newcombe (1998), Statistics in Medicine 17:857, table I: 0/10 -> (0, 0.2775); 81/263 -> (0.2553, 0.3662)
    np.testing.assert_allclose(lower, [0.0, 0.2553], atol=5e-5)
    np.testing.assert_allclose(upper, [0.2775, 0.3662], atol=5e-5)


def test_newcombe_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, table II (a): 56/70 - 48/80, method 10
    lower, upper = newcombe(np.array(56), np.array(70), np.array(48), np.array(80), z_value(0.95))
    assert float(lower) == pytest.approx(0.0524, abs=5e-5)
    assert float(upper) == pytest.approx(0.3339, abs=5e-5)


def test_katz_interval_holds_the_ratio_and_starts_at_zero_without_positives():
    lower, upper = katz_ratio(
        np.array([30, 0]), np.array([100, 40]), np.array([60, 60]), np.array([100, 100]), 1.96
    )
    assert float(lower[0]) < 0.5 < float(upper[0])
    assert float(np.log(upper[0] / 0.5)) == pytest.approx(-float(np.log(lower[0] / 0.5)))
    assert float(lower[1]) == 0.0
    assert 0 < float(upper[1]) < 0.35
    nothing = katz_ratio(np.array(3), np.array(10), np.array(0), np.array(10), 1.96)
    assert all(math.isnan(float(v)) for v in nothing)  # DI infinite: no ratio to bound


def test_percentile_interval_ignores_undefined_resamples_and_gives_up_when_most_are():
    samples = np.concatenate([np.arange(100.0), [np.nan] * 20])
    lower, upper, undefined = percentile_interval(samples[:, None], 0.9)
    assert int(undefined[0]) == 20
    assert (float(lower[0]), float(upper[0])) == (4.0, 95.0)
    mostly_nan = np.array([1.0, 2.0, np.nan, np.nan, np.nan])[:, None]
    assert math.isnan(float(percentile_interval(mostly_nan, 0.9)[0][0]))
    with_inf = np.array([1.0, 2.0, np.inf, np.inf])[:, None]
    assert float(percentile_interval(with_inf, 0.5)[1][0]) == math.inf


# ---- the sidecar ---------------------------------------------------------------------------------------


def test_sidecar_mirrors_the_analysis_and_brackets_every_value(credit):
    case = next(c for c in CASES if c["name"] == "sex_female")
    sections, seen = audit(credit, case)
    doc = compute_intervals(sections, seen["prep"], seen["counts"], ConfidenceIntervalConfig(seed=3))
    json.dumps(doc, allow_nan=False)  # strict JSON
    assert (doc["level"], doc["resamples"], doc["seed"]) == (0.95, 1000, 3)
    result = IntervalsResult.from_dict(doc)
    reported = {
        (stage, facet, entry["value_or_threshold"], m["name"]): m["value"]
        for stage, key in (
            ("pre_training", "pre_training_bias_metrics"),
            ("post_training", "post_training_bias_metrics"),
        )
        for facet, entries in sections[key]["facets"].items()
        for entry in entries
        for m in entry["metrics"]
    }
    assert {(r.stage, r.facet, r.group, r.metric) for r in result.rows} == set(reported)
    methods = {}
    for row in result.rows:
        assert row.value == reported[(row.stage, row.facet, row.group, row.metric)]
        assert row.n_d + row.n_a == seen["counts"].rows
        methods[row.metric] = row.method
        if row.metric == "FT":
            assert not row.has_interval
            assert "nearest neighbours" in row.note
            continue
        assert row.lower <= row.value <= row.upper, row
    assert methods["DPL"] == "newcombe"
    assert methods["DI"] == "katz-log"
    assert methods["DCA"] == "mover-log"
    assert methods["KL"] == "bootstrap"
    assert methods["CDDL"] == "bootstrap"
    assert methods["CI"] == "wilson"


def test_the_seed_fixes_the_bootstrap(credit):
    case = next(c for c in CASES if c["name"] == "job_each_value")
    sections, seen = audit(credit, case)

    def boot(seed):
        doc = compute_intervals(sections, seen["prep"], seen["counts"], ConfidenceIntervalConfig(seed=seed))
        return [
            (m["name"], m.get("bootstrap"))
            for e in doc["pre_training_bias_metrics"]["facets"]["job"]
            for m in e["metrics"]
        ]

    assert boot(11) == boot(11)
    assert boot(11) != boot(12)
    unseeded = compute_intervals(sections, seen["prep"], seen["counts"], ConfidenceIntervalConfig())
    assert isinstance(unseeded["seed"], int)  # recorded, so the run can be reproduced


def test_a_tiny_group_gets_wide_intervals():
    import pyarrow as pa

    rows = 400
    table = pa.table(
        {
            "g": ["x"] * 6 + ["y"] * (rows - 6),
            "label": [1, 0, 1, 0, 0, 1] + [1, 0] * ((rows - 6) // 2),
            "pred": [0, 0, 1, 0, 0, 0] + [1, 1, 0, 0] * ((rows - 6) // 4) + [1, 0][: (rows - 6) % 4],
        }
    )
    seen: dict = {}
    sections = compute_bias_sections(
        source(table, 100),
        label="label",
        label_values=[1],
        facets=[{"name_or_index": "g"}],
        predicted_label="pred",
        pre_training_methods="all",
        post_training_methods=["DI", "DPPL", "DCA"],
        counts_sink=lambda prep, counts: seen.update(prep=prep, counts=counts),
    )
    doc = compute_intervals(sections, seen["prep"], seen["counts"], ConfidenceIntervalConfig(seed=1))
    x = IntervalsResult.from_dict(doc)
    di = x.find("post_training", "g", "x", "DI")
    assert di.n_d == 6
    assert di.method == "katz-log"
    assert di.lower < 0.35
    assert di.upper > 1.0
    dppl = x.find("post_training", "g", "x", "DPPL")
    assert dppl.lower < 0 < dppl.upper
    assert dppl.upper - dppl.lower > 0.5
