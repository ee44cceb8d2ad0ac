"""Gate rules: thresholds (bounds, scopes, special values), bias drift, NDCG, violations file."""

from __future__ import annotations

import json
import math

import jsonschema
import pytest

from airflow_provider_clarify.analysis.checks import (
    CheckOutcome,
    CheckPolicy,
    Threshold,
    Violation,
    check_analysis,
    check_bias_drift,
    check_feature_attribution_drift,
    check_thresholds,
    ndcg,
    parse_thresholds,
)
from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.results import AnalysisResult
from tests.support.paths import GOLDEN_DIR

GOLDEN = GOLDEN_DIR / "smclarify_golden.json"

#: JSON schema of Model Monitor's constraint_violations.json, as documented in docs/gates.md ("Outputs").
CONSTRAINT_VIOLATIONS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["version", "violations"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": "1.0"},
        "violations": {
            "type": "array",
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": [
                            "facet",
                            "facet_value",
                            "metric_name",
                            "constraint_check_type",
                            "description",
                        ],
                        "additionalProperties": False,
                        "properties": {
                            "facet": {"type": "string", "minLength": 1},
                            "facet_value": {"type": "string"},
                            "metric_name": {"type": "string", "minLength": 1},
                            "constraint_check_type": {"const": "bias_drift_check"},
                            "description": {"type": "string", "minLength": 1},
                        },
                    },
                    {
                        "type": "object",
                        "required": ["label", "metric_name", "constraint_check_type", "description"],
                        "additionalProperties": False,
                        "properties": {
                            "label": {"type": "string", "minLength": 1},
                            "metric_name": {"const": "shap"},
                            "constraint_check_type": {"const": "feature_attribution_drift_check"},
                            "description": {"type": "string", "minLength": 1},
                        },
                    },
                ]
            },
        },
    },
}


def _metric(name: str, value, error: str | None = None) -> dict:
    entry = {"name": name, "description": f"{name} description", "value": value}
    if error is not None:
        entry["error"] = error
    return entry


def analysis(
    post: dict[str, dict[str, list[dict]]] | None = None,
    pre: dict[str, dict[str, list[dict]]] | None = None,
    shap: dict[str, dict[str, float]] | None = None,
) -> dict:
    """An analysis.json dict: ``{facet: {group: [metrics]}}`` per stage, plus optional kernel_shap."""

    def section(facets: dict[str, dict[str, list[dict]]]) -> dict:
        return {
            "label": "approved",
            "label_value_or_threshold": "1",
            "facets": {
                facet: [
                    {"value_or_threshold": group, "metrics": metrics} for group, metrics in groups.items()
                ]
                for facet, groups in facets.items()
            },
        }

    doc: dict = {"version": "1.0"}
    if pre is not None:
        doc["pre_training_bias_metrics"] = section(pre)
    if post is not None:
        doc["post_training_bias_metrics"] = section(post)
    if shap is not None:
        doc["explanations"] = {
            "kernel_shap": {
                label: {"global_shap_values": values, "expected_value": 0.5} for label, values in shap.items()
            }
        }
    return doc


def one(name: str, value, error: str | None = None, facet: str = "sex", group: str = "female") -> dict:
    return analysis(post={facet: {group: [_metric(name, value, error)]}})


def kinds(outcome: CheckOutcome) -> list[tuple[str, str]]:
    return [(v.metric, v.reason) for v in outcome.violations]


# ---- bounds ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "passes"),
    [
        (-0.1, True),
        (0.1, True),
        (0.0, True),
        (-0.1000001, False),
        (0.1000001, False),
        (-0.15, False),
        (0.15, False),
    ],
)
def test_closed_pair_accepts_both_ends_and_checks_the_sign(value, passes):
    outcome = check_thresholds(one("DPL", value), {"DPL": (-0.1, 0.1)})
    assert outcome.passed is passes
    assert outcome.checked == 1
    if not passes:
        (violation,) = outcome.violations
        assert (violation.reason, violation.value, violation.bound) == ("out_of_bounds", value, "[-0.1, 0.1]")
        assert (violation.stage, violation.facet, violation.group) == ("post_training", "sex", "female")


@pytest.mark.parametrize(
    ("spec", "value", "passes"),
    [
        ("(0.8, 1.25)", 0.8, False),
        ("(0.8, 1.25)", 1.25, False),
        ("(0.8, 1.25)", 0.80001, True),
        ("[0.8, 1.25)", 0.8, True),
        ("[0.8, 1.25)", 1.25, False),
        ("(0.8, 1.25]", 1.25, True),
        ("(0.8, 1.25]", 0.8, False),
        ("[0.8, )", 1e9, True),
        ("(-inf, 1.25]", -1e9, True),
        (Threshold("DI", lower=0.8, lower_inclusive=False), 0.8, False),
        (Threshold("DI", upper=1.25, upper_inclusive=False), 1.2499, True),
        ({"lower": 0.8, "upper": 1.25, "upper_inclusive": False}, 1.25, False),
        ((0.8, None), 123.0, True),
        ((None, 1.25), -123.0, True),
        (("0.8", "1.25"), 1.0, True),  # rendered templates arrive as text
    ],
)
def test_open_and_closed_bounds(spec, value, passes):
    assert check_thresholds(one("DI", value), {"DI": spec}).passed is passes


def test_bound_text_shows_open_and_closed_ends():
    rules = parse_thresholds({"DI": "(0.8, 1.25]", "CI": (None, 0.5), "AD": "[-0.2, )"})
    assert [r.bound_text for r in rules] == ["(0.8, 1.25]", "(-inf, 0.5]", "[-0.2, +inf)"]


def test_metric_names_are_case_insensitive():
    outcome = check_thresholds(one("DPPL", 0.3), {"dppl": (-0.1, 0.1)})
    assert kinds(outcome) == [("DPPL", "out_of_bounds")]


# ---- special values ---------------------------------------------------------------------------------


def test_nan_is_a_violation_by_default_and_can_be_ignored():
    doc = one("DI", "NaN")
    outcome = check_thresholds(doc, {"DI": (0.8, 1.25)})
    (violation,) = outcome.violations
    assert violation.reason == "nan"
    assert math.isnan(violation.value)
    ignored = check_thresholds(doc, {"DI": (0.8, 1.25)}, policy={"on_nan": "ignore"})
    assert ignored.passed
    assert any("NaN" in note for note in ignored.notes)


@pytest.mark.parametrize(
    ("value", "spec", "passes"),
    [
        ("Infinity", (0.8, 1.25), False),  # +inf above a finite upper bound
        ("Infinity", (0.8, None), True),  # unbounded above: +inf is inside
        ("-Infinity", (0.8, None), False),  # below the lower bound
        ("-Infinity", (None, 0.1), True),
        ("Infinity", "(0.8, +inf)", True),  # an open infinite end still admits +inf: "compare" is numeric
    ],
)
def test_infinity_is_compared_as_a_number_by_default(value, spec, passes):
    outcome = check_thresholds(one("DI", value), {"DI": spec})
    assert outcome.passed is passes
    if not passes:
        assert outcome.violations[0].reason == "out_of_bounds"
        assert math.isinf(outcome.violations[0].value)


def test_infinity_policy_violation_and_ignore():
    doc = one("DI", "Infinity")
    strict = check_thresholds(doc, {"DI": (0.8, None)}, policy=CheckPolicy(on_infinity="violation"))
    assert kinds(strict) == [("DI", "infinite")]
    assert strict.violations[0].to_dict()["value"] == "Infinity"
    assert check_thresholds(doc, {"DI": (0.8, 1.25)}, policy={"on_infinity": "ignore"}).passed


def test_error_entry_is_a_violation_naming_the_error():
    doc = one("CDDPL", None, error="Group variable is empty or not provided")
    outcome = check_thresholds(doc, {"CDDPL": (-0.1, 0.1)})
    (violation,) = outcome.violations
    assert violation.reason == "error"
    assert violation.value is None
    assert "Group variable is empty or not provided" in violation.description


def test_error_policy_can_be_relaxed_for_one_rule_only():
    doc = analysis(
        post={
            "sex": {
                "female": [
                    _metric("CDDPL", None, "Group variable is empty or not provided"),
                    _metric("TE", None, "division by zero"),
                ]
            }
        }
    )
    outcome = check_thresholds(doc, {"CDDPL": {"upper": 0.1, "on_error": "ignore"}, "TE": (None, 1.0)})
    assert kinds(outcome) == [("TE", "error")]


def test_missing_metric_is_a_violation_unless_ignored():
    doc = one("DI", 1.0)
    outcome = check_thresholds(doc, {"DI": (0.8, 1.25), "DPPL": (-0.1, 0.1)})
    assert kinds(outcome) == [("DPPL", "missing")]
    assert outcome.violations[0].to_model_monitor()["facet"] == "*"
    assert check_thresholds(doc, {"DPPL": (-0.1, 0.1)}, policy=CheckPolicy(on_missing="ignore")).passed
    assert check_thresholds(doc, {"DPPL": {"lower": -0.1, "upper": 0.1, "on_missing": "ignore"}}).passed


def test_a_rule_for_a_metric_the_result_lacks_is_reported_missing():
    doc = one("DI", 1.0)
    outcome = check_thresholds(doc, {"DI": (0.8, 1.25), "DPPL": {"upper": 0.1, "facet": "sex"}})
    assert [(v.metric, v.facet, v.group, v.reason) for v in outcome.violations] == [
        ("DPPL", "sex", None, "missing")
    ]
    assert outcome.violations[0].to_model_monitor()["facet_value"] == "*"


def test_unknown_facet_or_group_is_a_config_error_with_the_closest_name():
    doc = one("DI", 1.0)
    with pytest.raises(
        ClarifyConfigError, match=r"facet 'Sex' is not in the analysis result; did you mean 'sex'"
    ) as info:
        check_thresholds(doc, {"DI": Threshold("DI", lower=0.8, facet="Sex")})
    assert info.value.field == "thresholds.DI.facet"
    with pytest.raises(
        ClarifyConfigError, match=r"group 'Female' is not a group of facet 'sex'.*did you mean 'female'"
    ):
        check_thresholds(doc, {"DI": {"lower": 0.8, "facet": "sex", "group": "Female"}})
    with pytest.raises(ClarifyConfigError, match=r"group 'male'"):
        check_thresholds(doc, {"DI": {"lower": 0.8, "group": "male"}})


def test_on_missing_ignore_hides_an_absent_group_but_not_a_misspelled_one():
    doc = one("DI", 1.0)
    absent = {"DI": {"lower": 0.8, "facet": "sex", "group": "other", "on_missing": "ignore"}}
    outcome = check_thresholds(doc, absent)
    assert outcome.passed
    assert outcome.notes == ("ignored missing metric DI (facet=sex, group=other)",)
    with pytest.raises(ClarifyConfigError, match="did you mean 'female'"):
        check_thresholds(doc, {"DI": {"lower": 0.8, "group": "FEMALE "}}, policy={"on_missing": "ignore"})
    with pytest.raises(ClarifyConfigError, match="did you mean 'sex'"):
        check_thresholds(doc, {"DI": {"lower": 0.8, "facet": "sexe"}}, policy={"on_missing": "ignore"})


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("DIX", "DI"),
        ("disparate_impact", "DI"),
        ("Disparate Impact (DI)", "DI"),
        ("difference_in_positive_proportions_in_predicted_labels", "DPPL"),
        ("kullback_leibler", "KL"),
        ("DPPLL", "DPPL"),
    ],
)
def test_unknown_metric_names_are_refused_with_the_short_name(name, suggestion):
    with pytest.raises(
        ClarifyConfigError, match=rf"unknown bias metric .*did you mean {suggestion}\?"
    ) as info:
        parse_thresholds({name: (0.8, 1.25)})
    assert info.value.field == f"thresholds.{name}"
    with pytest.raises(ClarifyConfigError, match=rf"did you mean {suggestion}\?"):
        check_thresholds(one("DI", 1.0), {name: (0.8, 1.25)}, policy={"on_missing": "ignore"})


def test_a_name_far_from_every_metric_lists_the_known_ones():
    with pytest.raises(ClarifyConfigError, match=r"unknown bias metric 'accuracy'.*\(CI, DPL") as info:
        parse_thresholds([{"metric": "accuracy", "upper": 1}])
    assert "did you mean" not in str(info.value)


def test_metric_names_are_case_insensitive_and_canonical():
    rules = parse_thresholds({"di": (0.8, 1.25), " dppl ": (-0.1, 0.1)})
    assert [r.metric for r in rules] == ["DI", "DPPL"]
    assert (
        check_thresholds(
            analysis(post={"sex": {"female": [_metric("DI", 0.9), _metric("DPPL", 0.0)]}}), rules
        ).checked
        == 2
    )


def test_metric_lists_agree_with_the_engine_registry():
    from airflow_provider_clarify.analysis.checks import METRIC_LONG_NAMES, METRIC_STAGES
    from airflow_provider_clarify.engine.bias.registry import POST_TRAINING_METRICS, PRE_TRAINING_METRICS

    engine = {spec.name: "pre_training" for spec in PRE_TRAINING_METRICS} | {
        spec.name: "post_training" for spec in POST_TRAINING_METRICS
    }
    assert engine == METRIC_STAGES
    descriptions = {spec.description for spec in (*PRE_TRAINING_METRICS, *POST_TRAINING_METRICS)}
    assert {f"{long} ({short})" for long, short in METRIC_LONG_NAMES.items()} == descriptions


def test_a_stage_scope_the_metric_never_has_is_refused():
    with pytest.raises(ClarifyConfigError, match="CI is a pre_training metric") as info:
        parse_thresholds({"CI": {"upper": 0.3, "stage": "post_training"}})
    assert info.value.field == "thresholds.CI.stage"


# ---- scopes -----------------------------------------------------------------------------------------


def test_most_specific_rule_governs_a_row():
    doc = analysis(
        post={
            "sex": {"female": [_metric("DI", 0.7)]},
            "age": {"(40, 75]": [_metric("DI", 0.7)]},
        }
    )
    rules = {"DI": [(0.8, 1.25), {"lower": 0.6, "facet": "age", "group": "(40, 75]"}]}
    outcome = check_thresholds(doc, rules)
    assert [(v.facet, v.bound) for v in outcome.violations] == [("sex", "[0.8, 1.25]")]
    assert outcome.checked == 2


def test_stage_scope_limits_a_rule():
    doc = analysis(
        pre={"sex": {"female": [_metric("CI", 0.5)]}}, post={"sex": {"female": [_metric("DPPL", 0.5)]}}
    )
    assert kinds(check_thresholds(doc, {"CI": {"upper": 0.3, "stage": "pre_training"}})) == [
        ("CI", "out_of_bounds")
    ]
    assert kinds(check_thresholds(doc, {"DPPL": {"upper": 0.3, "stage": "post_training"}})) == [
        ("DPPL", "out_of_bounds")
    ]


def test_rules_as_a_flat_list():
    doc = one("DI", 0.5)
    outcome = check_thresholds(
        doc, [Threshold("DI", lower=0.8), {"metric": "DI", "lower": 0.4, "group": "female"}]
    )
    assert outcome.passed


# ---- bad specs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "field_name", "fragment"),
    [
        ({"DI": (1.25, 0.8)}, "thresholds.DI", "lower bound is above the upper bound"),
        ({"DI": "(1, 1]"}, "thresholds.DI", "empty"),
        ({"DI": (None, None)}, "thresholds.DI", "needs a lower or an upper bound"),
        ({"DI": (float("nan"), 1.0)}, "thresholds.DI.lower", "NaN"),
        ({"DI": (True, 1.0)}, "thresholds.DI.lower", "boolean"),
        ({"DI": object()}, "thresholds.DI", "not a threshold rule"),
        ({"DI": ("low", 1.0)}, "thresholds.DI.lower", "not a number"),
        ({"DI": "0.8..1.25"}, "thresholds.DI", "not an interval"),
        ({"DI": "[inf, 2]"}, "thresholds.DI.lower", "infinite bound"),
        ({"DI": {"lower": 0.8, "minimum": 1}}, "thresholds.DI", "unknown keys ['minimum']"),
        ({"DI": {"lower": 0.8, "stage": "training"}}, "thresholds.DI.stage", "pre_training"),
        ({"DI": {"lower": 0.8, "on_nan": "warn"}}, "thresholds.DI.on_nan", "'violation'"),
        ({"DI": [(0.8, 1.2), (0.7, 1.3)]}, "thresholds.DI", "same scope"),
        ({"DI": []}, "thresholds.DI", "empty list"),
        ([{"lower": 0.8}], "thresholds[0]", "'metric' key"),
        (42, "thresholds", "not a threshold spec"),
    ],
)
def test_bad_threshold_specs_name_the_field(spec, field_name, fragment):
    with pytest.raises(ClarifyConfigError) as info:
        parse_thresholds(spec)
    assert info.value.field == field_name
    assert fragment in str(info.value)
    assert "Accepted" in str(info.value) or "expected" in str(info.value)


def test_bad_policy_is_rejected():
    with pytest.raises(ClarifyConfigError, match="on_missing"):
        CheckPolicy.coerce({"on_missing": "skip"})
    with pytest.raises(ClarifyConfigError, match="unknown keys"):
        CheckPolicy.coerce({"on_typo": "ignore"})


# ---- bias drift (Model Monitor: farther from zero than the baseline) ------------------------------------


@pytest.mark.parametrize(
    ("current", "violates"),
    [(0.1, False), (-0.1, False), (0.2, False), (-0.2, False), (0.21, True), (-0.3, True)],
)
def test_bias_drift_farther_from_zero_than_the_baseline(current, violates):
    # The Guide's example: baseline DPPL 0.2 -> current 0.1 OK, current -0.3 violation.
    outcome = check_bias_drift(one("DPPL", current), one("DPPL", 0.2))
    assert (not outcome.passed) is violates
    if violates:
        (violation,) = outcome.violations
        assert (violation.check, violation.reason, violation.value) == ("bias_drift", "drift", current)
        assert violation.bound == "|x| <= 0.2 (baseline 0.2)"


def test_bias_drift_negative_baseline_uses_its_magnitude():
    assert check_bias_drift(one("DPPL", 0.25), one("DPPL", -0.3)).passed
    assert not check_bias_drift(one("DPPL", 0.35), one("DPPL", -0.3)).passed


def test_bias_drift_tiny_baseline_fails_a_fresh_value():
    # docs/gates.md ("Drift against a baseline"): a "bad" baseline with KS = 7.9e-06 makes a fresh KS of about 0.0153 fail.
    current = analysis(pre={"sex": {"female": [_metric("KS", 0.0153)]}})
    baseline = analysis(pre={"sex": {"female": [_metric("KS", 7.9e-06)]}})
    assert kinds(check_bias_drift(current, baseline)) == [("KS", "drift")]


def test_bias_drift_tolerance():
    assert check_bias_drift(one("DI", 1.05), one("DI", 1.0), tolerance=0.1).passed
    assert not check_bias_drift(one("DI", 1.15), one("DI", 1.0), tolerance=0.1).passed
    with pytest.raises(ClarifyConfigError, match="drift_tolerance"):
        check_bias_drift(one("DI", 1.0), one("DI", 1.0), tolerance=-1)


def test_bias_drift_neutral_value_for_disparate_impact():
    # Model Monitor's literal rule: DI moving from 0.97 to 0.99 is "farther from zero".
    assert kinds(check_bias_drift(one("DI", 0.99), one("DI", 0.97))) == [("DI", "drift")]
    # Measured from DI's fair value 1 it is an improvement; 1.1 is a drift (|0.1| > |-0.03|).
    assert check_bias_drift(one("DI", 0.99), one("DI", 0.97), neutral_values={"DI": 1.0}).passed
    outcome = check_bias_drift(one("DI", 1.1), one("DI", 0.97), neutral_values={"di": "1"})
    assert [v.bound for v in outcome.violations] == ["|x - 1.0| <= 0.030000000000000027 (baseline 0.97)"]
    with pytest.raises(ClarifyConfigError, match="drift_neutral_values.DI"):
        check_bias_drift(one("DI", 1.0), one("DI", 1.0), neutral_values={"DI": "inf"})


def test_bias_drift_special_values():
    # current +inf against a finite baseline drifts; against an infinite baseline it does not.
    assert kinds(check_bias_drift(one("DCR", "Infinity"), one("DCR", 2.0))) == [("DCR", "drift")]
    assert check_bias_drift(one("DCR", "-Infinity"), one("DCR", "Infinity")).passed
    assert kinds(check_bias_drift(one("DCR", None, "division by zero"), one("DCR", 2.0))) == [
        ("DCR", "error")
    ]
    assert kinds(check_bias_drift(one("DCR", "NaN"), one("DCR", 2.0))) == [("DCR", "nan")]
    # A baseline that is null/NaN cannot constrain anything: skipped with a note.
    skipped = check_bias_drift(one("DCR", 5.0), one("DCR", None, "division by zero"))
    assert skipped.passed
    assert skipped.checked == 0
    assert "not compared" in skipped.notes[0]


def test_bias_drift_missing_rows_and_metric_filter():
    baseline = analysis(post={"sex": {"female": [_metric("DI", 0.9), _metric("AD", 0.01)]}})
    current = analysis(post={"sex": {"female": [_metric("DI", 0.85)]}})
    assert kinds(check_bias_drift(current, baseline)) == [("AD", "missing")]
    assert check_bias_drift(current, baseline, policy={"on_missing": "ignore"}).passed
    assert check_bias_drift(current, baseline, metrics=["di"]).passed


def test_bias_drift_compares_per_facet_and_group():
    baseline = analysis(post={"sex": {"female": [_metric("DPPL", 0.1)], "male": [_metric("DPPL", 0.5)]}})
    current = analysis(post={"sex": {"female": [_metric("DPPL", 0.4)], "male": [_metric("DPPL", 0.4)]}})
    outcome = check_bias_drift(current, baseline)
    assert [(v.group, v.value) for v in outcome.violations] == [("female", 0.4)]


# ---- NDCG and feature-attribution drift ----------------------------------------------------------------

GUIDE_BASELINE = {"SAT score": 0.70, "GPA": 0.50, "Class rank": 0.05}
GUIDE_LIVE = {"SAT score": 0.10, "GPA": 0.20, "Class rank": 0.70}


def test_ndcg_of_the_guides_college_admission_example():
    # Live ranking: Class rank, GPA, SAT score; gains are the baseline attributions.
    dcg = 0.05 / math.log2(2) + 0.50 / math.log2(3) + 0.70 / math.log2(4)
    idcg = 0.70 / math.log2(2) + 0.50 / math.log2(3) + 0.05 / math.log2(4)
    score = ndcg(GUIDE_BASELINE, GUIDE_LIVE)
    assert score == pytest.approx(dcg / idcg, rel=1e-12)
    assert round(score, 2) == 0.69  # the Guide's figure


def test_ndcg_depends_on_the_ranking_not_the_scale():
    assert ndcg(GUIDE_BASELINE, GUIDE_BASELINE) == pytest.approx(1.0)
    assert ndcg(GUIDE_BASELINE, {k: 10 * v for k, v in GUIDE_BASELINE.items()}) == pytest.approx(1.0)


def test_ndcg_swapping_the_top_two_features():
    baseline = {"a": 0.6, "b": 0.3, "c": 0.1}
    expected = (0.3 + 0.6 / math.log2(3) + 0.1 / 2) / (0.6 + 0.3 / math.log2(3) + 0.1 / 2)
    assert ndcg(baseline, {"a": 0.2, "b": 0.5, "c": 0.01}) == pytest.approx(expected)


def test_ndcg_missing_features_count_as_zero_and_ties_keep_baseline_order():
    baseline = {"a": 0.6, "b": 0.3, "c": 0.1}
    # "a" missing live -> ranked last.
    expected = (0.3 + 0.1 / math.log2(3) + 0.6 / 2) / (0.6 + 0.3 / math.log2(3) + 0.1 / 2)
    assert ndcg(baseline, {"b": 0.5, "c": 0.4}) == pytest.approx(expected)
    assert ndcg(baseline, {"a": 0.2, "b": 0.2, "c": 0.2}) == pytest.approx(1.0)
    assert math.isnan(ndcg({"a": 0.0, "b": 0.0}, {"a": 1.0, "b": 0.0}))


def test_feature_attribution_drift_uses_model_monitors_wording():
    outcome = check_feature_attribution_drift(
        analysis(shap={"label0": GUIDE_LIVE}), analysis(shap={"label0": GUIDE_BASELINE})
    )
    (violation,) = outcome.violations
    assert violation.check == "feature_attribution_drift"
    assert violation.label == "label0"
    assert (
        violation.description
        == f"Feature attribution drift {ndcg(GUIDE_BASELINE, GUIDE_LIVE)!r} exceeds threshold 0.9"
    )
    assert violation.to_model_monitor() == {
        "label": "label0",
        "metric_name": "shap",
        "constraint_check_type": "feature_attribution_drift_check",
        "description": violation.description,
    }


def test_feature_attribution_threshold_and_missing_label():
    current = analysis(shap={"label0": GUIDE_LIVE})
    assert check_feature_attribution_drift(
        current, analysis(shap={"label0": GUIDE_BASELINE}), threshold=0.6
    ).passed
    missing = check_feature_attribution_drift(current, analysis(shap={"label1": GUIDE_BASELINE}))
    assert [(v.label, v.reason) for v in missing.violations] == [("label1", "missing")]
    zero = check_feature_attribution_drift(current, analysis(shap={"label0": {"a": 0.0}}))
    assert [v.reason for v in zero.violations] == ["nan"]
    with pytest.raises(ClarifyConfigError, match="ndcg_threshold"):
        check_feature_attribution_drift(current, current, threshold=1.5)


# ---- combined check, outcome, violations file ----------------------------------------------------------


def _golden_result() -> AnalysisResult:
    case = json.loads(GOLDEN.read_text())[0]
    return AnalysisResult.from_dict(
        {
            "version": "1.0",
            "pre_training_bias_metrics": case["pre_training_bias_metrics"],
            "post_training_bias_metrics": case["post_training_bias_metrics"],
        }
    )


def test_golden_result_four_fifths_rule_blocks_the_biased_model():
    result = _golden_result()
    (di,) = result.metric("DI", stage="post_training")
    outcome = check_analysis(result, thresholds={"DI": (0.8, 1.25)})
    assert di.value < 0.8  # the golden data has a deliberate bias against women
    assert [(v.metric, v.facet, v.group, v.value) for v in outcome.violations] == [
        ("DI", "sex", "female", di.value)
    ]
    assert "DI" in outcome.table()
    assert "[0.8, 1.25]" in outcome.table()


def test_check_analysis_combines_thresholds_and_both_drift_checks():
    baseline = analysis(post={"sex": {"female": [_metric("DPPL", 0.05)]}}, shap={"label0": GUIDE_BASELINE})
    current = analysis(post={"sex": {"female": [_metric("DPPL", 0.08)]}}, shap={"label0": GUIDE_LIVE})
    outcome = check_analysis(current, thresholds={"DPPL": (-0.1, 0.1)}, baseline=baseline)
    assert [(v.check, v.reason) for v in outcome.violations] == [
        ("bias_drift", "drift"),
        ("feature_attribution_drift", "drift"),
    ]
    assert outcome.checked == 3


def test_violations_file_matches_the_model_monitor_schema():
    baseline = analysis(
        post={"sex": {"female": [_metric("DPPL", 0.05), _metric("AD", 0.1)]}}, shap={"l": GUIDE_BASELINE}
    )
    current = analysis(
        post={"sex": {"female": [_metric("DPPL", "-Infinity"), _metric("DI", "NaN")]}}, shap={"l": GUIDE_LIVE}
    )
    outcome = check_analysis(current, thresholds={"DI": (0.8, 1.25), "RD": (-0.1, 0.1)}, baseline=baseline)
    assert {v.reason for v in outcome.violations} == {"nan", "missing", "drift"}
    text = outcome.constraint_violations_json()
    document = json.loads(text)  # strict JSON: no NaN/Infinity literals
    jsonschema.validate(document, CONSTRAINT_VIOLATIONS_SCHEMA)
    assert len(document["violations"]) == len(outcome.violations) == 5
    assert document["violations"][-1]["constraint_check_type"] == "feature_attribution_drift_check"


def test_schema_rejects_a_malformed_file():
    # Guards the schema itself: a bias entry without facet_value must not validate.
    bad = {
        "version": "1.0",
        "violations": [
            {
                "facet": "sex",
                "metric_name": "DI",
                "constraint_check_type": "bias_drift_check",
                "description": "x",
            }
        ],
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, CONSTRAINT_VIOLATIONS_SCHEMA)


def test_outcome_summary_and_xcom_dict():
    passed = check_thresholds(one("DI", 1.0), {"DI": (0.8, 1.25)})
    assert passed.summary() == "Clarify check passed: 1 comparison(s), no violation."
    failed = check_thresholds(one("DI", "Infinity"), {"DI": (0.8, 1.25)})
    data = failed.to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["passed"] is False
    assert data["violations"][0]["value"] == "Infinity"
    assert data["violations"][0]["constraint_check_type"] == "bias_drift_check"
    lines = failed.summary().splitlines()
    assert lines[0] == "Clarify check failed: 1 violation(s) in 1 comparison(s)."
    assert lines[1].split() == ["check", "stage", "metric", "facet", "group", "value", "bound", "reason"]
    assert lines[3].split() == [
        "threshold",
        "post_training",
        "DI",
        "sex",
        "female",
        "Infinity",
        "[0.8,",
        "1.25]",
        "out_of_bounds",
    ]


def test_violation_is_plain_data():
    violation = Violation(check="threshold", reason="missing", metric="DI", description="d")
    assert violation.to_model_monitor()["facet_value"] == "*"


# ---- significance-aware gates (confidence_intervals.json) -------------------------------------------


def intervals_doc(rows: dict[str, tuple[float, float, float, int]], n_a: int = 900) -> dict:
    """A confidence_intervals.json for facet sex/female: metric -> (value, lower, upper, n_d)."""
    n_d = {n for *_, n in rows.values()}.pop()
    return {
        "version": "1.0",
        "level": 0.95,
        "resamples": 1000,
        "seed": 1,
        "post_training_bias_metrics": {
            "facets": {
                "sex": [
                    {
                        "value_or_threshold": "female",
                        "n_d": n_d,
                        "n_a": n_a,
                        "metrics": [
                            {"name": name, "value": v, "lower": lo, "upper": hi, "method": "katz-log"}
                            for name, (v, lo, hi, _) in rows.items()
                        ],
                    }
                ]
            }
        },
    }


@pytest.mark.parametrize(
    ("interval", "mode", "state"),
    [
        ((0.55, 0.70), "point", "violation"),
        ((0.55, 0.70), "outside", "violation"),
        ((0.55, 0.70), "inconclusive", "violation"),
        ((0.55, 0.95), "point", "violation"),  # the value 0.6 decides, as Clarify
        ((0.55, 0.95), "outside", "passed"),
        ((0.55, 0.95), "inconclusive", "inconclusive"),
        ((0.55, 0.80), "inconclusive", "inconclusive"),  # touches the closed bound: may meet it
        ((0.81, 0.95), "inconclusive", "passed"),
    ],
)
def test_interval_modes_decide_by_where_the_interval_lies(interval, mode, state):
    from airflow_provider_clarify.analysis.checks import IntervalGate

    doc = one("DI", 0.6)
    sidecar = intervals_doc({"DI": (0.6, *interval, 400)})
    outcome = check_thresholds(doc, {"DI": (0.8, 1.25)}, intervals=sidecar, interval_gate=IntervalGate(mode))
    assert outcome.state == state
    assert outcome.passed is (state != "violation")
    if state == "inconclusive":
        (finding,) = outcome.inconclusive
        assert finding.reason == "interval_straddles"
        assert finding.interval == interval
        assert "cannot tell" in finding.description
        assert outcome.constraint_violations()["violations"] == []  # not written as a violation
        assert "inconclusive" in outcome.summary()
    if state == "violation" and mode != "point":
        assert outcome.violations[0].to_dict()["interval"] == list(interval)


def test_a_tiny_group_is_inconclusive_instead_of_violated():
    from airflow_provider_clarify.analysis.checks import IntervalGate

    doc = one("DI", 0.3)
    sidecar = intervals_doc({"DI": (0.3, 0.1, 0.7, 12)})
    gate = IntervalGate("point", min_group_size=30)
    outcome = check_thresholds(doc, {"DI": (0.8, 1.25)}, intervals=sidecar, interval_gate=gate)
    assert outcome.state == "inconclusive"
    (finding,) = outcome.inconclusive
    assert (finding.reason, finding.group_size) == ("small_group", 12)
    assert "fewer than min_group_size=30" in finding.description
    # a big enough group with the same numbers violates; a passing tiny group still passes
    assert (
        check_thresholds(
            doc, {"DI": (0.8, 1.25)}, intervals=intervals_doc({"DI": (0.3, 0.1, 0.7, 30)}), interval_gate=gate
        ).state
        == "violation"
    )
    assert (
        check_thresholds(
            one("DI", 1.0),
            {"DI": (0.8, 1.25)},
            intervals=intervals_doc({"DI": (1.0, 0.9, 1.1, 5)}),
            interval_gate=gate,
        ).state
        == "passed"
    )


def test_the_default_gate_ignores_intervals_and_needs_none():
    from airflow_provider_clarify.analysis.checks import IntervalGate

    doc = one("DI", 0.6)
    assert check_thresholds(doc, {"DI": (0.8, 1.25)}).state == "violation"
    with pytest.raises(ClarifyConfigError, match="need the confidence intervals"):
        check_thresholds(doc, {"DI": (0.8, 1.25)}, interval_gate=IntervalGate("inconclusive"))
    with pytest.raises(ClarifyConfigError, match="interval_mode"):
        IntervalGate("maybe")
    with pytest.raises(ClarifyConfigError, match="min_group_size"):
        IntervalGate(min_group_size=0)


def test_a_metric_without_an_interval_is_checked_on_its_value():
    from airflow_provider_clarify.analysis.checks import IntervalGate

    doc = one("FT", 0.5)
    sidecar = intervals_doc({"FT": (0.5, None, None, 400)})
    outcome = check_thresholds(
        doc, {"FT": (-0.1, 0.1)}, intervals=sidecar, interval_gate=IntervalGate("outside")
    )
    assert outcome.state == "violation"
    assert outcome.notes == ("no confidence interval for post_training/sex/female FT; its value was checked",)


def test_a_sidecar_from_another_run_is_refused():
    from airflow_provider_clarify.analysis.checks import IntervalGate

    sidecar = intervals_doc({"DI": (0.9, 0.85, 0.95, 400)})  # written for DI 0.9
    with pytest.raises(ClarifyConfigError, match="does not belong to this analysis.json"):
        check_thresholds(
            one("DI", 0.6), {"DI": (0.8, 1.25)}, intervals=sidecar, interval_gate=IntervalGate("outside")
        )
