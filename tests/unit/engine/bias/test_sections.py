"""smclarify 0.5's golden vectors (small hand-checked datasets, see docs/parity.md) through compute_bias_sections."""

from __future__ import annotations

import math

import pytest

from airflow_provider_clarify.engine.bias import BiasAnalysisError
from tests.unit.engine.bias.support import assert_metric, metrics_of, run, values_of

# main golden dataset (12 rows)
MAIN = {
    "gender": ["M", "F", "M", "F", "M", "M", "F", "M", "F", "M", "F", "M"],
    "x1": [1, 1, 2, 4, 6, 4, 7, 9, 6, 7, 9, 3],
    "x2": [1, 2, 5, 9, 2, 8, 5, 9, 1, 6, 10, 3],
    "dept": ["A", "A", "A", "A", "A", "B", "B", "B", "B", "B", "B", "A"],
    "label": ["yes", "no", "no", "yes", "yes", "yes", "no", "no", "yes", "yes", "no", "no"],
    "pred": ["yes", "no", "yes", "yes", "yes", "no", "yes", "no", "no", "yes", "no", "yes"],
}

EXPECTED_M = {
    "CDDL": -0.16666666666666666,
    "CI": -0.16666666666666666,
    "DPL": -0.17142857142857137,
    "JS": 0.014779075889217175,
    "KL": 0.0592133643972349,
    "KS": 0.17142857142857143,
    "LP": 0.24243661069253056,
    "TVD": 0.1714285714285714,
    "AD": 0.02857142857142858,
    "CDDPL": -0.4000000000000001,
    "DAR": -0.09999999999999998,
    "DCA": 0.19999999999999996,
    "DCR": 0.5,
    "DI": 1.7857142857142856,
    "DPPL": -0.3142857142857143,
    "DRR": -0.16666666666666663,
    "FT": 0.42857142857142855,
    "GE": 0.1745562130177516,
    "RD": -0.25,
    "SD": -0.3333333333333333,
    "TE": -0.5,
}
EXPECTED_F = {
    "CDDL": 0.16666666666666666,
    "CI": 0.16666666666666666,
    "DPL": 0.17142857142857137,
    "JS": 0.014779075889217175,
    "KL": 0.05961186655589862,
    "KS": 0.17142857142857143,
    "LP": 0.24243661069253056,
    "TVD": 0.1714285714285714,
    "AD": -0.02857142857142858,
    "CDDPL": 0.4000000000000001,
    "DAR": 0.09999999999999998,
    "DCA": -0.19999999999999996,
    "DCR": -0.5,
    "DI": 0.56,
    "DPPL": 0.3142857142857143,
    "DRR": 0.16666666666666663,
    "FT": -0.2,
    "GE": 0.1745562130177516,
    "RD": 0.25,
    "SD": 0.3333333333333333,
    "TE": 0.5,
}
PRE_ORDER = ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]
POST_ORDER = ["AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "GE", "RD", "SD", "TE"]


def _main(values=None, **overrides):
    facet = {"name_or_index": "gender"}
    if values is not None:
        facet["value_or_threshold"] = values
    kwargs = dict(
        label="label",
        label_values=["yes"],
        facets=[facet],
        group_variable="dept",
        predicted_label="pred",
        pre_training_methods="all",
        post_training_methods="all",
        feature_columns=["x1", "x2"],
    )
    kwargs.update(overrides)
    return run(MAIN, **kwargs)


def test_main_dataset_one_vs_rest_matches_golden_values_for_both_entries():
    out = _main()
    for stage, order in (
        ("pre_training_bias_metrics", PRE_ORDER),
        ("post_training_bias_metrics", POST_ORDER),
    ):
        section = out[stage]
        assert list(section) == ["label", "facets", "label_value_or_threshold"]
        assert section["label"] == "label"
        assert section["label_value_or_threshold"] == "yes"
        entries = section["facets"]["gender"]
        assert [e["value_or_threshold"] for e in entries] == ["M", "F"]
        for entry, expected in zip(entries, (EXPECTED_M, EXPECTED_F)):
            assert [m["name"] for m in entry["metrics"]] == order
            for metric in entry["metrics"]:
                assert_metric(metric, expected[metric["name"]])


def test_main_dataset_with_facet_value_gives_single_f_entry_and_exact_metric_objects():
    out = _main(["F"])
    entries = out["post_training_bias_metrics"]["facets"]["gender"]
    assert len(entries) == 1
    assert entries[0]["value_or_threshold"] == "F"
    assert entries[0]["metrics"][:3] == [
        {"name": "AD", "description": "Accuracy Difference (AD)", "value": -0.02857142857142858},
        {
            "name": "CDDPL",
            "description": "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
            "value": 0.4000000000000001,
        },
        {"name": "DAR", "description": "Difference in Acceptance Rates (DAR)", "value": 0.09999999999999998},
    ]
    descriptions = {m["name"]: m["description"] for m in entries[0]["metrics"]}
    assert descriptions["FT"] == "Flip Test (FT)"
    assert descriptions["GE"] == "Generalized Entropy (GE)"
    pre = metrics_of(out["pre_training_bias_metrics"]["facets"]["gender"][0])
    assert pre["KL"]["description"] == "Kullback-Liebler Divergence (KL)"
    for name, metric in pre.items():
        assert_metric(metric, EXPECTED_F[name])


def test_continuous_facet_and_regression_label_reproduce_the_f_column():
    """Continuous golden dataset: facet age > 40, label score > 0.5, predictions thresholded the same way."""
    data = {
        "age": [23, 45, 40, 52, 31, 38, 63, 27, 41, 35, 58, 29],
        "x1": MAIN["x1"],
        "x2": MAIN["x2"],
        "dept": MAIN["dept"],
        "score": [0.9, 0.1, 0.5, 0.75, 0.6, 0.55, 0.3, 0.45, 0.8, 0.95, 0.05, 0.2],
        "pred_score": [0.7, 0.5, 0.65, 0.8, 0.51, 0.3, 0.9, 0.2, 0.45, 0.99, 0.0, 0.6],
    }
    out = run(
        data,
        label="score",
        label_values=[0.5],
        facets=[{"name_or_index": "age", "value_or_threshold": [40]}],
        group_variable="dept",
        predicted_label="pred_score",
        pre_training_methods="all",
        post_training_methods="all",
        feature_columns=["x1", "x2"],
    )
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        section = out[stage]
        assert section["label_value_or_threshold"] == "(0.5, 0.95]"
        (entry,) = section["facets"]["age"]
        assert entry["value_or_threshold"] == "(40, 63]"
        for metric in entry["metrics"]:
            assert_metric(metric, EXPECTED_F[metric["name"]])


FT_A = [((0, 0), "yes"), ((1, 0), "yes"), ((0, 1), "no"), ((1, 1), "yes"), ((2, 2), "no")]
FT_A += [((5, 5), "no"), ((6, 5), "no"), ((5, 6), "yes"), ((6, 6), "no"), ((9, 9), "yes")]
FT_D = [((0.5, 0.3), "no"), ((5.3, 5.8), "yes"), ((1.2, 1.1), "yes"), ((8, 7.5), "yes")]


def _flip_test_data(all_a_yes: bool = False) -> dict:
    rows = [("a", xy, "yes" if all_a_yes else p) for xy, p in FT_A] + [("d", xy, p) for xy, p in FT_D]
    return {
        "f": [r[0] for r in rows],
        "x1": [float(r[1][0]) for r in rows],
        "x2": [float(r[1][1]) for r in rows],
        "y": ["yes"] * len(rows),
        "yh": [r[2] for r in rows],
    }


@pytest.mark.parametrize(("all_a_yes", "expected"), [(False, 0.25), (True, -0.25)])
def test_flip_test_with_five_neighbours(all_a_yes, expected):
    """Flip-test golden dataset: n_a = 10 > 9 so k = 5."""
    out = run(
        _flip_test_data(all_a_yes),
        label="y",
        label_values=["yes"],
        facets=[{"name_or_index": "f", "value_or_threshold": ["d"]}],
        predicted_label="yh",
        post_training_methods=["FT"],
        feature_columns=["x1", "x2"],
    )
    (entry,) = out["post_training_bias_metrics"]["facets"]["f"]
    assert_metric(entry["metrics"][0], expected)


# ---- golden edge cases E1-E13 ------------------------------------------------------------------------------


def _edge(f, y, yh=None, values=("d",), group=None, pre=None, post=None, **extra):
    data = {"f": f, "y": y}
    if yh is not None:
        data["yh"] = yh
    if group is not None:
        data["g"] = group
    data.update(extra.pop("columns", {}))
    facet = {"name_or_index": "f"}
    if values is not None:
        facet["value_or_threshold"] = list(values)
    return run(
        data,
        label="y",
        label_values=extra.pop("label_values", ["p"]),
        facets=[facet],
        predicted_label="yh" if yh is not None else None,
        group_variable="g" if group is not None else None,
        pre_training_methods=pre,
        post_training_methods=post,
        reject_degenerate_inputs=False,
        **extra,
    )


def _post_values(out, index=0):
    return values_of(out["post_training_bias_metrics"]["facets"]["f"][index])


def _pre_entry(out, index=0):
    return out["pre_training_bias_metrics"]["facets"]["f"][index]


def test_e1_infinities():
    out = _edge(list("aaaddd"), list("ppnpnn"), list("nnnppn"), post="all")
    values = _post_values(out)
    expected = {
        "AD": -0.3333333333333333,
        "DAR": -0.5,
        "DCA": math.inf,
        "DCR": 1.6666666666666667,
        "DI": math.inf,
        "DPPL": -0.6666666666666666,
        "DRR": 0.6666666666666667,
        "RD": -1.0,
        "SD": -0.5,
        "TE": -math.inf,
    }
    for name, value in expected.items():
        assert values[name] == value, name


def test_e2_every_prediction_positive_gives_integer_zero_for_dcr():
    out = _edge(list("aadd"), list("pnpn"), list("pppp"), post="all")
    metrics = metrics_of(out["post_training_bias_metrics"]["facets"]["f"][0])
    assert_metric(metrics["DCR"], 0)
    assert_metric(metrics["DRR"], 0.0)
    assert_metric(metrics["TE"], 0.0)
    assert_metric(metrics["GE"], 0.055555555555555525)


def test_e2_every_prediction_negative_fails_the_post_training_report():
    with pytest.raises(
        BiasAnalysisError, match=r"^No Label values are present in the predicted Label Column,Pos"
    ):
        _edge(list("aadd"), list("pnpn"), list("nnnn"), post="all")


def test_e3_partial_support_gives_negative_kl():
    out = _edge(list("aaaaaddd"), list("pppnnppp"), pre="all")
    metrics = metrics_of(_pre_entry(out))
    expected = {
        "CI": 0.25,
        "DPL": -0.4,
        "KL": -0.30649537425959444,
        "JS": 0.025267153921570557,
        "KS": 0.4,
        "LP": 0.4,
        "TVD": 0.2,
    }
    for name, value in expected.items():
        assert_metric(metrics[name], value)
    assert metrics["CDDL"]["error"] == "Group variable is empty or not provided"
    assert metrics["CDDL"]["value"] is None


def test_e3b_no_common_outcome():
    out = _edge(list("aaaddd"), list("nnnppp"), group=[1, 1, 2, 2, 1, 2], pre="all")
    metrics = metrics_of(_pre_entry(out))
    assert_metric(metrics["CDDL"], -1.0)
    assert_metric(metrics["CI"], 0.0)
    assert_metric(metrics["DPL"], -1.0)
    for name in ("JS", "KL", "KS", "LP", "TVD"):
        assert metrics[name] == {
            "name": name,
            "description": metrics[name]["description"],
            "value": None,
            "error": "No instance of common facet found, dataset may be too small",
        }


@pytest.mark.parametrize(
    ("label", "error"), [("n", "No positive labels in set"), ("p", "No negative labels in set")]
)
def test_e4_single_outcome_labels(label, error):
    out = _edge(list("aaaddd"), [label] * 6, group=[1, 1, 2, 2, 1, 2], pre="all")
    metrics = metrics_of(_pre_entry(out))
    assert metrics["CDDL"]["error"] == error
    for name in ("CI", "DPL", "JS", "KL", "KS", "LP", "TVD"):
        assert_metric(metrics[name], 0.0)


def test_e5_facet_value_matching_nothing_gives_per_metric_errors():
    out = _edge(
        list("aaaddd"),
        list("pnpnpn"),
        list("pnnnpp"),
        values=["zzz"],
        group=[1, 1, 2, 2, 1, 2],
        pre="all",
        post="all",
        feature_columns=["x"],
        columns={"x": [1, 2, 3, 4, 5, 6]},
    )
    pre_entry = _pre_entry(out)
    assert pre_entry["value_or_threshold"] == "zzz"
    pre = metrics_of(pre_entry)
    post = metrics_of(out["post_training_bias_metrics"]["facets"]["f"][0])
    assert_metric(pre["CDDL"], 0.0)
    assert_metric(post["CDDPL"], 0.0)
    assert_metric(post["GE"], 0.16666666666666666)
    errors = {name: m.get("error") for name, m in {**pre, **post}.items()}
    assert errors["CI"] == "CI: facet set is empty. Check that x[facet] has non-zero length."
    assert errors["DPL"] == errors["DPPL"] == "Facet set is empty."
    assert errors["KL"] == "No instance of common facet found, dataset may be too small"
    assert errors["AD"] == errors["DI"] == errors["FT"] == errors["TE"] == "Facet set is empty"
    assert errors["DCA"] == errors["DCR"] == "DCO: Facet set is empty"
    assert errors["DAR"] == errors["DRR"] == "DLR: Facet set is empty"
    assert errors["RD"] == errors["SD"] == "DLA: Facet set is empty"


def test_e5_everything_in_the_sensitive_group():
    out = _edge(
        list("aaaddd"),
        list("pnpnpn"),
        list("pnnnpp"),
        values=["a", "d"],
        post="all",
        feature_columns=["x"],
        columns={"x": [1, 2, 3, 4, 5, 6]},
    )
    errors = {
        m["name"]: m.get("error") for m in out["post_training_bias_metrics"]["facets"]["f"][0]["metrics"]
    }
    assert errors["DI"] == "Negated facet set is empty"
    assert errors["DPPL"] == "Negative facet set is empty."
    assert errors["DCA"] == "DCO: Negated Facet set is empty"
    assert errors["AD"] == errors["FT"] == errors["TE"] == "Negated Facet set is empty"


def test_e6_one_vs_rest_order_and_nan_entry():
    out = _edge(["z", "b", None, "a", "b", "z", "a"], list("pnppnnp"), values=None, pre=["CI", "DPL"])
    entries = out["pre_training_bias_metrics"]["facets"]["f"]
    assert [e["value_or_threshold"] for e in entries] == ["z", "b", "nan", "a"]
    assert values_of(entries[0]) == {"CI": 0.42857142857142855, "DPL": 0.09999999999999998}
    assert values_of(entries[1]) == {"CI": 0.42857142857142855, "DPL": 0.8}
    assert {m["name"]: m["error"] for m in entries[2]["metrics"]} == {
        "CI": "CI: facet set is empty. Check that x[facet] has non-zero length.",
        "DPL": "Facet set is empty.",
    }
    assert values_of(entries[3]) == {"CI": 0.42857142857142855, "DPL": -0.6}


E7_Y = list("pnppnnpnppnn")


def test_e7_binary_integer_facet_is_continuous_on_small_data():
    out = _edge([0, 1] * 6, E7_Y, values=[0], pre=["CI", "DPL"])
    entry = _pre_entry(out)
    assert entry["value_or_threshold"] == "(0, 1]"
    assert values_of(entry) == {"CI": 0.0, "DPL": 0.3333333333333333}


def test_e7_binary_integer_facet_is_categorical_on_48_rows():
    out = _edge([0, 1] * 24, E7_Y * 4, values=[0], pre=["CI", "DPL"])
    entry = _pre_entry(out)
    assert entry["value_or_threshold"] == "0"
    assert values_of(entry) == {"CI": 0.0, "DPL": -0.3333333333333333}


def test_e7_continuous_facet_without_threshold_fails():
    with pytest.raises(
        BiasAnalysisError, match="^Threshold values must be provided for continuous features$"
    ):
        _edge([0, 1] * 6, E7_Y, values=None, pre=["CI"])


E8_AGE = [22, 35, 41, 58, 63, 80, 40, 19, 33, 47, 52, 29]
E8_Y = list("pnppnpnnppnn")


@pytest.mark.parametrize(
    ("values", "text", "ci"),
    [
        ([40], "(40, 80]", 0.0),
        ([40.0], "(40.0, 80.0]", 0.0),
        (["40"], "(40.0, 80.0]", 0.0),
        ([80], "", "CI: facet set is empty. Check that x[facet] has non-zero length."),
        ([100], "(80, 100]", "CI: facet set is empty. Check that x[facet] has non-zero length."),
        ([10], "(10, 80]", "CI: negated facet set is empty. Check that x[~facet] has non-zero length."),
        ([40, 41], "40,41", 0.6666666666666666),
    ],
)
def test_e8_continuous_facet_thresholds(values, text, ci):
    out = _edge(E8_AGE, E8_Y, values=values, pre=["CI", "DPL"])
    entry = _pre_entry(out)
    assert entry["value_or_threshold"] == text
    metric = metrics_of(entry)["CI"]
    if isinstance(ci, str):
        assert metric["error"] == ci
    else:
        assert_metric(metric, ci)
    if values == [40]:
        assert_metric(metrics_of(entry)["DPL"], -0.3333333333333333)


def test_e8_float_ages():
    out = _edge([a + 0.5 for a in E8_AGE], E8_Y, values=[40], pre=["CI"])
    entry = _pre_entry(out)
    assert entry["value_or_threshold"] == "(40.0, 80.5]"
    assert_metric(entry["metrics"][0], -0.16666666666666666)


E9_F = ["a", "d"] * 6
E9_Y = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0]
E9_YH = [1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 0]


def test_e9a_integer_label_with_value_one_on_small_data_has_no_positive():
    out = _edge(E9_F, E9_Y, label_values=[1], pre=["CI", "DPL", "KL"])
    assert out["pre_training_bias_metrics"]["label_value_or_threshold"] == ""
    assert values_of(_pre_entry(out)) == {"CI": 0.0, "DPL": 0.0, "KL": 0.0}
    with pytest.raises(BiasAnalysisError, match="^No Label values are present"):
        _edge(E9_F, E9_Y, E9_YH, label_values=[1], post="all")


def test_e9a_integer_label_value_zero_is_threshold():
    out = _edge(E9_F, E9_Y, label_values=[0], pre=["CI"])
    assert out["pre_training_bias_metrics"]["label_value_or_threshold"] == "(0, 1]"


def test_e9a_dictionary_columns_are_categorical():
    import pyarrow as pa

    table = pa.table(
        {
            "f": pa.array(E9_F).dictionary_encode(),
            "y": pa.array(E9_Y).dictionary_encode(),
            "yh": pa.array(E9_YH).dictionary_encode(),
        }
    )
    out = run(
        table,
        label="y",
        label_values=[1],
        facets=[{"name_or_index": "f", "value_or_threshold": ["d"]}],
        predicted_label="yh",
        post_training_methods=["DPPL"],
    )
    assert out["post_training_bias_metrics"]["label_value_or_threshold"] == "1"
    assert_metric(out["post_training_bias_metrics"]["facets"]["f"][0]["metrics"][0], 0.16666666666666669)


@pytest.mark.parametrize(("values", "text"), [([1], ""), ([0], "(0.0, 1.0]"), ([0.5], "(0.5, 1.0]")])
def test_e9b_float_zero_one_label_is_continuous(values, text):
    out = _edge(["a", "d"] * 30, [0.0, 1.0, 1.0] * 20, label_values=values, pre=["CI"])
    assert out["pre_training_bias_metrics"]["label_value_or_threshold"] == text


def test_e9b_float_predictions_are_truncated_to_the_integer_label():
    out = _edge(
        E9_F,
        [1, 7, 3, 9, 5, 6, 2, 8, 4, 10, 0, 11],
        [5.7, 6.2, 5.2, 9.9, 4.0, 6.0, 1.0, 8.5, 5.9, 10.0, 0.5, 12.0],
        label_values=[5],
        post=["DPPL"],
    )
    assert out["post_training_bias_metrics"]["label_value_or_threshold"] == "(5, 11]"
    assert_metric(out["post_training_bias_metrics"]["facets"]["f"][0]["metrics"][0], -1.0)


E10_F = [True, False, True, True] * 3
E10_Y = list("pnn") * 4


@pytest.mark.parametrize(
    ("values", "text", "ci"),
    [([True], "True", -0.5), ([False], "False", 0.5), (["True"], "True", -0.5)],
)
def test_e10_boolean_facet(values, text, ci):
    out = _edge(E10_F, E10_Y, values=values, pre=["CI"])
    entry = _pre_entry(out)
    assert entry["value_or_threshold"] == text
    assert_metric(entry["metrics"][0], ci)


def test_e10_string_false_selects_false_rows_deliberate_fix():
    """smclarify converts "False" with bool() and selects the True rows (CI -0.5); docs/parity.md."""
    entry = _pre_entry(_edge(E10_F, E10_Y, values=["False"], pre=["CI"]))
    assert entry["value_or_threshold"] == "False"
    assert_metric(entry["metrics"][0], 0.5)


def test_e10_boolean_facet_one_vs_rest():
    entries = _edge(E10_F, E10_Y, values=None, pre=["CI"])["pre_training_bias_metrics"]["facets"]["f"]
    assert [(e["value_or_threshold"], e["metrics"][0]["value"]) for e in entries] == [
        ("True", -0.5),
        ("False", 0.5),
    ]


E11_F = [1, 2, 1, 2, 3, 1, 2, 3] * 10
E11_Y = (list("pn") * 40)[:80]


@pytest.mark.parametrize(
    ("values", "text", "ci"),
    [
        ([1], "1", 0.25),
        (["1"], "1", 0.25),
        ([1.0], "1.0", 0.25),
        (["1.0"], "1.0", 0.25),
        ([1, 2], "1,2", -0.5),
    ],
)
def test_e11_categorical_value_coercion(values, text, ci):
    entry = _pre_entry(_edge(E11_F, E11_Y, values=values, pre=["CI"]))
    assert entry["value_or_threshold"] == text
    assert_metric(entry["metrics"][0], ci)


def test_e11_one_vs_rest_integer_facet():
    entries = _edge(E11_F, E11_Y, values=None, pre=["CI"])["pre_training_bias_metrics"]["facets"]["f"]
    assert [(e["value_or_threshold"], e["metrics"][0]["value"]) for e in entries] == [
        ("1", 0.25),
        ("2", 0.25),
        ("3", 0.5),
    ]


def test_e11_unconvertible_facet_value_fails_the_report_with_a_clear_message():
    with pytest.raises(BiasAnalysisError, match=r"Facet 'f': value_or_threshold \['x'\] cannot be compared"):
        _edge(E11_F, E11_Y, values=["x"], pre=["CI"])


def test_e13_flip_test_rejects_string_feature_in_strict_mode_and_ignores_it_by_default():
    data = _flip_test_data()
    data["s"] = ["u"] * len(data["f"])
    data["b"] = [True, False] * 7
    common = dict(
        label="y",
        label_values=["yes"],
        facets=[{"name_or_index": "f", "value_or_threshold": ["d"]}],
        predicted_label="yh",
        post_training_methods=["FT"],
        feature_columns=["x1", "x2", "s"],
    )
    strict = run(data, flip_test_non_numeric="error", **common)
    assert strict["post_training_bias_metrics"]["facets"]["f"][0]["metrics"][0]["error"] == (
        "FlipTest does not support non-numeric columns"
    )
    relaxed = run(data, **common)
    assert_metric(relaxed["post_training_bias_metrics"]["facets"]["f"][0]["metrics"][0], 0.25)
    only_strings = run(data, **{**common, "feature_columns": ["s"]})
    assert only_strings["post_training_bias_metrics"]["facets"]["f"][0]["metrics"][0]["error"] == (
        "FlipTest does not support non-numeric columns"
    )
    with_bool = run(data, flip_test_non_numeric="error", **{**common, "feature_columns": ["x1", "x2", "b"]})
    assert "error" not in with_bool["post_training_bias_metrics"]["facets"]["f"][0]["metrics"][0]
