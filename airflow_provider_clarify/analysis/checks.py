"""Fairness gates: check an ``analysis.json`` against thresholds and against a baseline.

Three kinds of check, all pure Python (no Airflow, boto3 or numeric libraries), all returning a
:class:`CheckOutcome` that lists :class:`Violation` objects:

**Threshold check** (:func:`check_thresholds`). A rule bounds one bias metric, optionally only for
one stage, facet (column) and group (``value_or_threshold``)::

    {"DPL": (-0.1, 0.1), "DI": (0.8, 1.25)}                # closed intervals [lo, hi]
    {"DI": "(0.8, 1.25]"}                                   # interval text: "(" / ")" are open ends
    {"CI": (None, 0.5)}                                     # None = unbounded on that side
    {"DI": [Threshold(lower=0.9, facet="sex", group="female"),   # several rules for one metric:
            {"lower": 0.8, "upper": 1.25}]}                       # the most specific one applies

A value ``v`` passes ``[lo, hi]`` when ``lo <= v <= hi``; an open end uses ``<`` instead. When several
rules match the same metric row, the most specific governs it (group beats facet beats stage beats
the catch-all), so a general rule can be tightened or relaxed for one group.

**Bias drift** (:func:`check_bias_drift`, Model Monitor's rule, docs/gates.md "Drift against a baseline"). For every
``(stage, facet, group, metric)`` present in the baseline, the current value violates when it lies
farther from zero than the baseline's: ``|current| > |baseline| + tolerance`` (tolerance 0 by default).
Example: baseline DPPL 0.2, current 0.1 passes, current -0.3 violates. ``neutral_values={"DI": 1.0}``
measures DI's distance from 1 (its fair value) instead of from zero.

**Feature-attribution drift** (:func:`check_feature_attribution_drift`, same page). For every label of
``explanations.kernel_shap`` in the baseline, the NDCG of the current feature ranking, scored with the
baseline attributions ``a(.)``, must reach the threshold (0.9 by default)::

    DCG  = sum_i a(F'_i) / log2(i + 1)    F' = features by current attribution, descending
    iDCG = sum_i a(F_i)  / log2(i + 1)    F  = features by baseline attribution, descending
    NDCG = DCG / iDCG                      violation when NDCG < threshold

**Special values** get an explicit, configurable treatment (:class:`CheckPolicy`; a rule may override
it for itself):

=============================  ===============  ==========================================
situation                      default          alternatives
=============================  ===============  ==========================================
metric/facet/group/label       ``"violation"``  ``"ignore"``
absent from the result
``value: null`` + ``error``    ``"violation"``  ``"ignore"``
``NaN``                        ``"violation"``  ``"ignore"``
``Infinity`` / ``-Infinity``   ``"compare"``    ``"violation"``, ``"ignore"``
=============================  ===============  ==========================================

"compare" treats infinities as numbers: ``+Infinity`` violates every finite upper bound and passes an
unbounded one. A baseline entry that is itself null/NaN cannot constrain anything and is skipped (the
outcome's ``notes`` say so).

:meth:`CheckOutcome.constraint_violations` renders the violations as Model Monitor's
``constraint_violations.json`` (docs/gates.md, "Outputs"). Threshold violations use the only bias check type that format
defines, ``bias_drift_check``; a rule that spans all facets and found nothing is reported with
``facet``/``facet_value`` ``"*"``.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from airflow_provider_clarify.analysis.constants import POST_TRAINING_METRICS, PRE_TRAINING_METRICS
from airflow_provider_clarify.analysis.errors import ClarifyConfigError, short_repr
from airflow_provider_clarify.analysis.results import AnalysisResult, MetricRow
from airflow_provider_clarify.analysis.uncertainty import IntervalsResult, MetricInterval

__all__ = [
    "BIAS_DRIFT_CHECK",
    "DEFAULT_NDCG_THRESHOLD",
    "FEATURE_ATTRIBUTION_DRIFT_CHECK",
    "CheckOutcome",
    "CheckPolicy",
    "IntervalGate",
    "Threshold",
    "Violation",
    "check_analysis",
    "check_bias_drift",
    "check_feature_attribution_drift",
    "check_thresholds",
    "known_metric",
    "ndcg",
    "parse_thresholds",
    "validate_rule_scopes",
]

#: ``constraint_check_type`` values of Model Monitor's constraint_violations.json (docs/gates.md).
BIAS_DRIFT_CHECK = "bias_drift_check"
FEATURE_ATTRIBUTION_DRIFT_CHECK = "feature_attribution_drift_check"
#: Model Monitor's feature-attribution drift threshold (docs/gates.md).
DEFAULT_NDCG_THRESHOLD = 0.9
#: ``facet`` / ``facet_value`` written for a rule that spans every facet or group.
ANY = "*"

Stage = Literal["pre_training", "post_training"]
CheckKind = Literal["threshold", "bias_drift", "feature_attribution_drift"]
Reason = Literal[
    "out_of_bounds", "drift", "missing", "error", "nan", "infinite", "interval_straddles", "small_group"
]
IntervalMode = Literal["point", "outside", "inconclusive"]
IssuePolicy = Literal["violation", "ignore"]
InfinityPolicy = Literal["compare", "violation", "ignore"]

_STAGES = ("pre_training", "post_training")
_ISSUE_POLICIES = ("violation", "ignore")
_INTERVAL_MODES = ("point", "outside", "inconclusive")
_INFINITY_POLICIES = ("compare", "violation", "ignore")
_INTERVAL = re.compile(r"^\s*([\[(])\s*([^,\s]*)\s*,\s*([^,\s]*)\s*([\])])\s*$")
_RULE_KEYS = frozenset(
    {
        "metric",
        "lower",
        "upper",
        "lower_inclusive",
        "upper_inclusive",
        "facet",
        "group",
        "stage",
        "on_missing",
        "on_error",
        "on_nan",
        "on_infinity",
    }
)
_SPEC_HELP = (
    "(lower, upper) with None for an open side, an interval text such as '(0.8, 1.25]', a Threshold, "
    "a dict with keys lower/upper/lower_inclusive/upper_inclusive/facet/group/stage, or a list of these"
)


#: The bias metrics a threshold may name, per stage (the engine's registry; a test ties them together).
METRIC_STAGES: dict[str, str] = {
    **{name: "pre_training" for name in PRE_TRAINING_METRICS},
    **{name: "post_training" for name in POST_TRAINING_METRICS},
}
#: Long names (analysis.json ``description`` without the abbreviation), for "did you mean" hints.
METRIC_LONG_NAMES: dict[str, str] = {
    "Class Imbalance": "CI",
    "Difference in Positive Proportions in Labels": "DPL",
    "Kullback-Liebler Divergence": "KL",
    "Jensen-Shannon Divergence": "JS",
    "L-p Norm": "LP",
    "Total Variation Distance": "TVD",
    "Kolmogorov-Smirnov Distance": "KS",
    "Conditional Demographic Disparity in Labels": "CDDL",
    "Difference in Positive Proportions in Predicted Labels": "DPPL",
    "Disparate Impact": "DI",
    "Difference in Conditional Acceptance": "DCA",
    "Difference in Conditional Rejection": "DCR",
    "Recall Difference": "RD",
    "Specificity Difference": "SD",
    "Difference in Acceptance Rates": "DAR",
    "Difference in Rejection Rates": "DRR",
    "Accuracy Difference": "AD",
    "Conditional Demographic Disparity in Predicted Labels": "CDDPL",
    "Treatment Equality": "TE",
    "Flip Test": "FT",
    "Generalized Entropy": "GE",
}


def _squash(text: str) -> str:
    """Lower case without separators: ``"Disparate Impact"``, ``"disparate_impact"`` -> ``disparateimpact``."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


_SQUASHED_LONG_NAMES = {_squash(long): short for long, short in METRIC_LONG_NAMES.items()}
_SQUASHED_LONG_NAMES["kullbackleibler"] = "KL"  # the correct spelling of smclarify's "Liebler"


def did_you_mean(text: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to ``text`` (case-insensitive), or ``None`` when nothing is close."""
    options = list(dict.fromkeys(str(c) for c in choices))
    by_lower = {c.lower(): c for c in options}
    if text.lower() in by_lower:
        return by_lower[text.lower()]
    close = difflib.get_close_matches(text.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def known_metric(name: str, field_path: str = "thresholds") -> str:
    """The registered short name of bias metric ``name`` (case-insensitive), else a ClarifyConfigError.

    Long names (``"disparate_impact"``, ``"Disparate Impact (DI)"``) and near misses (``"DIX"``) are
    refused with the short name to use: a misspelled metric would otherwise match no row and be
    reported as "missing" (or ignored with ``on_missing="ignore"``).
    """
    upper = name.strip().upper()
    if upper in METRIC_STAGES:
        return upper
    suggestion = _SQUASHED_LONG_NAMES.get(_squash(name))
    abbreviation = re.search(r"\(([A-Za-z]+)\)\s*$", name)
    if suggestion is None and abbreviation and abbreviation.group(1).upper() in METRIC_STAGES:
        suggestion = abbreviation.group(1).upper()
    if suggestion is None:
        suggestion = did_you_mean(upper, METRIC_STAGES)
    hint = f"; did you mean {suggestion}?" if suggestion else ""
    accepted = "a bias metric's short name: " + ", ".join(METRIC_STAGES)
    raise ClarifyConfigError(
        f"{field_path}: unknown bias metric {name!r}{hint} Thresholds use the short names of "
        f"analysis.json ({', '.join(METRIC_STAGES)}).",
        field=field_path,
        value=name,
        accepted=accepted,
    )


def _spec_error(field_path: str, value: Any, message: str, accepted: str = _SPEC_HELP) -> ClarifyConfigError:
    return ClarifyConfigError(
        f"{field_path} is {short_repr(value)}: {message}. Accepted: {accepted}",
        field=field_path,
        value=value,
        accepted=accepted,
    )


# --------------------------------------------------------------------------------------------------
# Policy and rules
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckPolicy:
    """How special values are treated (see the module docstring for the table of defaults).

    :param on_missing: a rule's metric/facet/group, a baseline row or a baseline SHAP label is absent
        from the result: ``"violation"`` (default) or ``"ignore"``.
    :param on_error: the metric is ``null`` with an ``error`` message: ``"violation"`` or ``"ignore"``.
    :param on_nan: the value (or an NDCG) is NaN: ``"violation"`` or ``"ignore"``.
    :param on_infinity: the value is infinite: ``"compare"`` (default; compared as a number),
        ``"violation"`` or ``"ignore"``.
    """

    on_missing: IssuePolicy = "violation"
    on_error: IssuePolicy = "violation"
    on_nan: IssuePolicy = "violation"
    on_infinity: InfinityPolicy = "compare"

    def __post_init__(self) -> None:
        for name in ("on_missing", "on_error", "on_nan"):
            _check_choice(f"policy.{name}", getattr(self, name), _ISSUE_POLICIES)
        _check_choice("policy.on_infinity", self.on_infinity, _INFINITY_POLICIES)

    @classmethod
    def coerce(cls, value: CheckPolicy | Mapping[str, Any] | None) -> CheckPolicy:
        """Accept a policy, a dict of its fields (as a DAG author writes it) or ``None`` (defaults)."""
        if value is None:
            return cls()
        if isinstance(value, CheckPolicy):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {"on_missing", "on_error", "on_nan", "on_infinity"}
            if unknown:
                raise _spec_error(
                    "policy",
                    dict(value),
                    f"unknown keys {sorted(unknown)}",
                    "keys on_missing, on_error, on_nan, on_infinity",
                )
            return cls(**value)
        raise _spec_error("policy", value, "not a policy", "a CheckPolicy, a dict of its fields, or None")


def _check_choice(field_path: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ClarifyConfigError(
            f"{field_path} is {short_repr(value)}; expected one of {', '.join(repr(c) for c in choices)}",
            field=field_path,
            value=value,
            accepted=" | ".join(choices),
        )


@dataclass(frozen=True)
class IntervalGate:
    """How a threshold check uses the confidence intervals of ``confidence_intervals.json``.

    :param mode: ``"point"`` (default, as Clarify: the reported value decides); ``"outside"``: a
        violation only when the whole interval lies outside the bound, otherwise a pass;
        ``"inconclusive"``: a violation when the interval lies outside, a pass when it lies inside,
        and *inconclusive* (a third state, not a failure) when it straddles a bound.
    :param min_group_size: when the facet group (or the rest) has fewer rows, a metric that would
        violate (or straddle) is *inconclusive* instead; ``None`` = no minimum.

    A metric without an interval (FT, or one the resampling left undefined) is checked on its value.
    """

    mode: IntervalMode = "point"
    min_group_size: int | None = None

    def __post_init__(self) -> None:
        _check_choice("interval_mode", self.mode, _INTERVAL_MODES)
        if self.min_group_size is not None:
            size = self.min_group_size
            if isinstance(size, str) and size.strip().isdigit():
                size = int(size.strip())
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise _spec_error(
                    "min_group_size", self.min_group_size, "not a size", "an integer >= 1 or None"
                )
            object.__setattr__(self, "min_group_size", size)

    @property
    def needs_intervals(self) -> bool:
        """Whether the check needs ``confidence_intervals.json`` (intervals or group sizes)."""
        return self.mode != "point" or self.min_group_size is not None


@dataclass(frozen=True)
class Threshold:
    """One bound on one bias metric.

    :param metric: short metric name (``"DI"``, ``"DPPL"``...), matched case-insensitively.
    :param lower: lowest accepted value; ``None`` = no lower bound.
    :param upper: highest accepted value; ``None`` = no upper bound.
    :param lower_inclusive: ``True`` (default) accepts ``value == lower``.
    :param upper_inclusive: ``True`` (default) accepts ``value == upper``.
    :param facet: only this facet column (``None`` = every facet).
    :param group: only this facet group, the ``value_or_threshold`` text of analysis.json such as
        ``"female"`` or ``"(40, 75]"`` (``None`` = every group).
    :param stage: ``"pre_training"`` or ``"post_training"`` (``None`` = both).
    :param on_missing: per-rule override of :attr:`CheckPolicy.on_missing` (likewise ``on_error``,
        ``on_nan``, ``on_infinity``); ``None`` inherits the check's policy.
    """

    metric: str
    lower: float | None = None
    upper: float | None = None
    lower_inclusive: bool = True
    upper_inclusive: bool = True
    facet: str | None = None
    group: str | None = None
    stage: Stage | None = None
    on_missing: IssuePolicy | None = None
    on_error: IssuePolicy | None = None
    on_nan: IssuePolicy | None = None
    on_infinity: InfinityPolicy | None = None

    def __post_init__(self) -> None:
        where = f"thresholds.{self.metric}"
        if not isinstance(self.metric, str) or not self.metric.strip():
            raise _spec_error("thresholds", self.metric, "a metric name is required", "a name such as 'DI'")
        object.__setattr__(self, "metric", known_metric(self.metric, where))
        lower = _bound_number(self.lower, f"{where}.lower", side="lower")
        upper = _bound_number(self.upper, f"{where}.upper", side="upper")
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)
        for name in ("lower_inclusive", "upper_inclusive"):
            if not isinstance(getattr(self, name), bool):
                raise _spec_error(
                    f"{where}.{name}", getattr(self, name), "must be True or False", "a boolean"
                )
        if lower is None and upper is None:
            raise _spec_error(where, self.bound_text, "a rule needs a lower or an upper bound")
        if lower is not None and upper is not None:
            if lower > upper:
                raise _spec_error(where, self.bound_text, "the lower bound is above the upper bound")
            if lower == upper and not (self.lower_inclusive and self.upper_inclusive):
                raise _spec_error(where, self.bound_text, "this interval is empty; no value can pass")
        if self.stage is not None:
            _check_choice(f"{where}.stage", self.stage, _STAGES)
            metric_stage = METRIC_STAGES[self.metric]
            if self.stage != metric_stage:
                raise _spec_error(
                    f"{where}.stage",
                    self.stage,
                    f"{self.metric} is a {metric_stage} metric, so this rule could never match",
                    f"{metric_stage!r} or None",
                )
        for name in ("facet", "group"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                object.__setattr__(self, name, str(value))
        for name in ("on_missing", "on_error", "on_nan"):
            if getattr(self, name) is not None:
                _check_choice(f"{where}.{name}", getattr(self, name), _ISSUE_POLICIES)
        if self.on_infinity is not None:
            _check_choice(f"{where}.on_infinity", self.on_infinity, _INFINITY_POLICIES)

    @property
    def bound_text(self) -> str:
        """The interval in mathematical notation, e.g. ``[-0.1, 0.1]`` or ``(0.8, +inf)``."""
        left = "[" if self.lower is not None and self.lower_inclusive else "("
        right = "]" if self.upper is not None and self.upper_inclusive else ")"
        return f"{left}{_num(self.lower, '-inf')}, {_num(self.upper, '+inf')}{right}"

    @property
    def scope_text(self) -> str:
        """Where the rule applies, e.g. ``facet=sex, group=female`` or ``every stage, facet and group``."""
        parts = [
            f"{name}={getattr(self, name)}" for name in ("stage", "facet", "group") if getattr(self, name)
        ]
        return ", ".join(parts) if parts else "every stage, facet and group"

    @property
    def specificity(self) -> int:
        """Higher = narrower scope; the most specific matching rule governs a row."""
        return (
            (4 if self.group is not None else 0)
            + (2 if self.facet is not None else 0)
            + (self.stage is not None)
        )

    def matches(self, row: MetricRow) -> bool:
        return (
            row.metric.upper() == self.metric.upper()
            and (self.stage is None or row.stage == self.stage)
            and (self.facet is None or row.facet == self.facet)
            and (self.group is None or row.group == self.group)
        )

    def admits(self, value: float) -> bool:
        """Whether a (non-NaN) value lies inside the bound."""
        if self.lower is not None and (
            value < self.lower or (value == self.lower and not self.lower_inclusive)
        ):
            return False
        return not (
            self.upper is not None
            and (value > self.upper or (value == self.upper and not self.upper_inclusive))
        )

    def below(self, value: float) -> bool:
        """Whether ``value`` fails the lower bound."""
        return self.lower is not None and (
            value < self.lower or (value == self.lower and not self.lower_inclusive)
        )

    def above(self, value: float) -> bool:
        """Whether ``value`` fails the upper bound."""
        return self.upper is not None and (
            value > self.upper or (value == self.upper and not self.upper_inclusive)
        )

    def interval_verdict(self, lower: float, upper: float) -> Literal["inside", "outside", "straddles"]:
        """Where the interval ``[lower, upper]`` lies relative to the bound."""
        if self.below(upper) or self.above(lower):
            return "outside"
        if self.admits(lower) and self.admits(upper):
            return "inside"
        return "straddles"

    def policy(self, base: CheckPolicy) -> CheckPolicy:
        """The check's policy with this rule's overrides applied."""
        overrides = {
            name: getattr(self, name)
            for name in ("on_missing", "on_error", "on_nan", "on_infinity")
            if getattr(self, name) is not None
        }
        return replace(base, **overrides) if overrides else base


def _number(value: Any, field_path: str, accepted: str = "a number or None") -> float | None:
    """A number from a number or numeric text (templated values arrive as text); NaN is refused."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _spec_error(field_path, value, "a boolean is not a number", accepted)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("", "none", "null"):
            return None
        try:
            value = float(text)
        except ValueError:
            raise _spec_error(field_path, value, "not a number", accepted) from None
    if not isinstance(value, int | float):
        raise _spec_error(field_path, value, "not a number", accepted)
    number = float(value)
    if math.isnan(number):
        raise _spec_error(field_path, value, "NaN is not allowed here", accepted)
    return number


def _bound_number(value: Any, field_path: str, *, side: Literal["lower", "upper"]) -> float | None:
    """A bound: an infinite bound on its own side is the same as no bound."""
    number = _number(value, field_path)
    if number is None or not math.isinf(number):
        return number
    if (side == "lower" and number < 0) or (side == "upper" and number > 0):
        return None
    raise _spec_error(
        field_path, value, "this infinite bound excludes every finite value", "a number or None"
    )


def _num(value: float | None, none_text: str = "") -> str:
    """Shortest round-tripping text of a number; the JSON words for the float specials."""
    if value is None:
        return none_text
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(float(value))


def _is_bound_pair(spec: Any) -> bool:
    if not isinstance(spec, list | tuple) or len(spec) != 2:
        return False
    for item in spec:
        if item is None or isinstance(item, int | float):  # booleans too: refused later with a clear message
            continue
        if isinstance(item, str) and not _INTERVAL.match(item):
            continue
        return False
    return True


def _rule_from_spec(metric: str, spec: Any, field_path: str) -> Threshold:
    if isinstance(spec, Threshold):
        if spec.metric.upper() != metric.upper():
            raise _spec_error(
                field_path, spec, f"this Threshold is for {spec.metric!r}, listed under {metric!r}"
            )
        return spec
    if _is_bound_pair(spec):
        return Threshold(metric, lower=spec[0], upper=spec[1])
    if isinstance(spec, str):
        match = _INTERVAL.match(spec)
        if not match:
            raise _spec_error(field_path, spec, "not an interval text")
        left, lower, upper, right = match.groups()
        return Threshold(
            metric,
            lower=_interval_end(lower, f"{field_path}.lower", "lower"),
            upper=_interval_end(upper, f"{field_path}.upper", "upper"),
            lower_inclusive=left == "[",
            upper_inclusive=right == "]",
        )
    if isinstance(spec, Mapping):
        unknown = set(spec) - _RULE_KEYS
        if unknown:
            raise _spec_error(field_path, dict(spec), f"unknown keys {sorted(unknown)}")
        options = {k: v for k, v in spec.items() if k != "metric"}
        if spec.get("metric") is not None and str(spec["metric"]).upper() != metric.upper():
            raise _spec_error(
                field_path, dict(spec), f"'metric' says {spec['metric']!r}, listed under {metric!r}"
            )
        return Threshold(metric, **options)
    raise _spec_error(field_path, spec, "not a threshold rule")


def _interval_end(text: str, field_path: str, side: Literal["lower", "upper"]) -> float | None:
    """One end of an interval text: empty or an infinity on its own side means unbounded."""
    return None if not text else _bound_number(text, field_path, side=side)


def parse_thresholds(
    spec: Mapping[str, Any] | Iterable[Threshold | Mapping[str, Any]] | None,
) -> list[Threshold]:
    """Turn a DAG author's threshold spec into :class:`Threshold` rules, validating every entry.

    ``spec`` is a mapping ``metric -> rule or list of rules`` (see the module docstring), or a flat
    list of :class:`Threshold` objects / dicts that carry ``"metric"``. Raises
    :class:`ClarifyConfigError` naming ``thresholds.<metric>[<i>]`` and the accepted forms; two rules
    with the same metric and scope are rejected (which one would apply?).
    """
    if spec is None:
        return []
    rules: list[Threshold] = []
    if isinstance(spec, Mapping):
        for metric, entry in spec.items():
            if not isinstance(metric, str) or not metric.strip():
                raise _spec_error("thresholds", metric, "keys must be metric names", "a name such as 'DI'")
            entries = [entry] if _is_single_rule(entry) else list(entry)
            if not entries:
                raise _spec_error(f"thresholds.{metric}", entry, "an empty list of rules")
            for index, item in enumerate(entries):
                path = f"thresholds.{metric}" if len(entries) == 1 else f"thresholds.{metric}[{index}]"
                rules.append(_rule_from_spec(metric, item, path))
    elif isinstance(spec, Iterable) and not isinstance(spec, str | bytes):
        for index, item in enumerate(spec):
            path = f"thresholds[{index}]"
            if isinstance(item, Threshold):
                rules.append(item)
            elif isinstance(item, Mapping) and isinstance(item.get("metric"), str):
                rules.append(_rule_from_spec(item["metric"], item, path))
            else:
                raise _spec_error(
                    path, item, "a list entry must be a Threshold or a dict with a 'metric' key"
                )
    else:
        raise _spec_error(
            "thresholds", spec, "not a threshold spec", "a dict metric -> rule(s), or a list of rules"
        )
    seen: dict[tuple, Threshold] = {}
    for rule in rules:
        key = (rule.metric.upper(), rule.stage, rule.facet, rule.group)
        if key in seen:
            raise _spec_error(
                f"thresholds.{rule.metric}",
                [seen[key].bound_text, rule.bound_text],
                f"two rules with the same scope {rule.scope_text}; give them different facet/group/stage",
            )
        seen[key] = rule
    return rules


def _is_single_rule(entry: Any) -> bool:
    return not isinstance(entry, list | tuple) or _is_bound_pair(entry)


# --------------------------------------------------------------------------------------------------
# Violations and outcome
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """One failed constraint.

    ``check`` says which check found it (``threshold``, ``bias_drift``, ``feature_attribution_drift``);
    ``reason`` why (``out_of_bounds``, ``drift``, ``missing``, ``error``, ``nan``, ``infinite``).
    ``bound`` is the constraint as text (``[-0.1, 0.1]``, ``|x| <= 0.2 (baseline)``, ``NDCG >= 0.9``).
    """

    check: CheckKind
    reason: Reason
    metric: str
    description: str
    stage: str | None = None
    facet: str | None = None
    group: str | None = None
    label: str | None = None
    value: float | None = None
    bound: str | None = None
    interval: tuple[float, float] | None = None
    group_size: int | None = None

    @property
    def constraint_check_type(self) -> str:
        return (
            FEATURE_ATTRIBUTION_DRIFT_CHECK if self.check == "feature_attribution_drift" else BIAS_DRIFT_CHECK
        )

    def to_model_monitor(self) -> dict[str, str]:
        """The entry of ``constraint_violations.json`` (docs/gates.md, "Outputs")."""
        if self.check == "feature_attribution_drift":
            return {
                "label": self.label or ANY,
                "metric_name": "shap",
                "constraint_check_type": FEATURE_ATTRIBUTION_DRIFT_CHECK,
                "description": self.description,
            }
        return {
            "facet": self.facet or ANY,
            "facet_value": self.group or ANY,
            "metric_name": self.metric,
            "constraint_check_type": BIAS_DRIFT_CHECK,
            "description": self.description,
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (infinities and NaN as the strings analysis.json uses) for XCom and logs.

        ``interval`` and ``group_size`` are present only when the check used the intervals.
        """
        extra: dict[str, Any] = {}
        if self.interval is not None:
            extra["interval"] = [_json_number(self.interval[0]), _json_number(self.interval[1])]
        if self.group_size is not None:
            extra["group_size"] = self.group_size
        return {
            "check": self.check,
            "reason": self.reason,
            "constraint_check_type": self.constraint_check_type,
            "metric": self.metric,
            "stage": self.stage,
            "facet": self.facet,
            "group": self.group,
            "label": self.label,
            "value": _json_number(self.value),
            "bound": self.bound,
            "description": self.description,
            **extra,
        }


def _json_number(value: float | None) -> float | str | None:
    if value is None:
        return None
    if math.isnan(value) or math.isinf(value):
        return _num(value)
    return value


_TABLE_COLUMNS = ("check", "stage", "metric", "facet", "group", "value", "bound", "reason")


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one or more checks: ``passed`` is true when there is no violation.

    ``checked`` counts the comparisons made (a gate that compared nothing is suspicious; the operator
    logs it), ``notes`` says what was skipped and why.
    """

    violations: tuple[Violation, ...] = ()
    checked: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    inconclusive: tuple[Violation, ...] = ()

    @property
    def passed(self) -> bool:
        """No violation (inconclusive findings do not fail a gate)."""
        return not self.violations

    @property
    def state(self) -> Literal["passed", "violation", "inconclusive"]:
        """``violation`` when anything violates, else ``inconclusive`` when anything is, else ``passed``."""
        if self.violations:
            return "violation"
        return "inconclusive" if self.inconclusive else "passed"

    def __add__(self, other: CheckOutcome) -> CheckOutcome:
        return CheckOutcome(
            self.violations + other.violations,
            self.checked + other.checked,
            self.notes + other.notes,
            self.inconclusive + other.inconclusive,
        )

    def table(self, findings: Sequence[Violation] | None = None) -> str:
        """The violations (or other ``findings``) as an aligned text table (metric, facet, group...)."""
        findings = self.violations if findings is None else findings
        rows = [
            (
                v.check,
                v.stage or "",
                v.metric if v.label is None else f"{v.metric} ({v.label})",
                v.facet or "",
                v.group or "",
                _value_text(v),
                v.bound or "",
                v.reason,
            )
            for v in findings
        ]
        widths = [max(len(str(r[i])) for r in [_TABLE_COLUMNS, *rows]) for i in range(len(_TABLE_COLUMNS))]
        lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        header = "  ".join(c.ljust(w) for c, w in zip(_TABLE_COLUMNS, widths, strict=True)).rstrip()
        return "\n".join([header, "  ".join("-" * w for w in widths), *lines])

    def summary(self) -> str:
        """One headline plus, when something failed or was inconclusive, the table(s)."""
        inconclusive = ""
        if self.inconclusive:
            inconclusive = (
                f"\n{len(self.inconclusive)} inconclusive finding(s) (the data cannot tell):\n"
                + self.table(self.inconclusive)
            )
        if self.passed:
            headline = "passed" if not self.inconclusive else "inconclusive"
            return f"Clarify check {headline}: {self.checked} comparison(s), no violation." + inconclusive
        return (
            f"Clarify check failed: {len(self.violations)} violation(s) in {self.checked} comparison(s).\n"
            + self.table()
            + inconclusive
        )

    def constraint_violations(self) -> dict[str, Any]:
        """Model Monitor's ``constraint_violations.json`` document (docs/gates.md, "Outputs")."""
        return {"version": "1.0", "violations": [v.to_model_monitor() for v in self.violations]}

    def constraint_violations_json(self) -> str:
        return json.dumps(self.constraint_violations(), indent=2, allow_nan=False) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary for XCom."""
        return {
            "passed": self.passed,
            "state": self.state,
            "checked": self.checked,
            "violation_count": len(self.violations),
            "violations": [v.to_dict() for v in self.violations],
            "inconclusive": [v.to_dict() for v in self.inconclusive],
            "notes": list(self.notes),
        }


def _value_text(v: Violation) -> str:
    if v.reason == "missing":
        return "missing"
    if v.reason == "error":
        return "error"
    text = _num(v.value)
    if v.interval is not None:
        text += f" [{_num(v.interval[0])}, {_num(v.interval[1])}]"
    if v.group_size is not None:
        text += f" n={v.group_size}"
    return text


# --------------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------------


def _as_result(value: AnalysisResult | Mapping[str, Any]) -> AnalysisResult:
    if isinstance(value, AnalysisResult):
        return value
    if isinstance(value, Mapping):
        return AnalysisResult.from_dict(dict(value))
    raise TypeError(f"expected an AnalysisResult or the analysis.json dict, got {type(value).__name__}")


def _located_violation(
    check: CheckKind,
    reason: Reason,
    at: MetricRow | Threshold,
    *,
    bound: str,
    description: str,
    value: float | None = None,
) -> Violation:
    """A violation placed where ``at`` is: a metric row, or the scope of a rule or baseline row."""
    return Violation(
        check=check,
        reason=reason,
        metric=at.metric,
        stage=at.stage,
        facet=at.facet,
        group=at.group,
        value=value,
        bound=bound,
        description=description,
    )


def _special_value_violation(
    *,
    check: CheckKind,
    row: MetricRow,
    policy: CheckPolicy,
    bound: str,
) -> tuple[bool, Violation | None]:
    """Apply the error/NaN/infinity policy to a row. Returns (handled, violation-or-None)."""
    if row.value is None:
        if policy.on_error == "ignore":
            return True, None
        message = row.error or "no value"
        return True, _located_violation(
            check,
            "error",
            row,
            bound=bound,
            description=f"Value null does not meet the constraint requirement: {row.metric} could not be "
            f"computed ({message})",
        )
    if math.isnan(row.value):
        if policy.on_nan == "ignore":
            return True, None
        return True, _located_violation(
            check,
            "nan",
            row,
            bound=bound,
            value=row.value,
            description=f"Value NaN does not meet the constraint requirement {bound}",
        )
    if math.isinf(row.value) and policy.on_infinity != "compare":
        if policy.on_infinity == "ignore":
            return True, None
        return True, _located_violation(
            check,
            "infinite",
            row,
            bound=bound,
            value=row.value,
            description=f"Value {_num(row.value)} does not meet the constraint requirement {bound} "
            "(infinite values are violations by policy)",
        )
    return False, None


@dataclass
class _Tally:
    """What one check has found so far: violations, notes on what it skipped, comparisons made."""

    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: int = 0
    inconclusive: list[Violation] = field(default_factory=list)

    def missing(self, policy: CheckPolicy, note: str, violation: Violation) -> None:
        """An expected entry is absent: the note when the policy ignores that, else the violation."""
        if policy.on_missing == "ignore":
            self.notes.append(note)
            return
        self.checked += 1
        self.violations.append(violation)

    def settled_special_value(
        self, *, check: CheckKind, row: MetricRow, policy: CheckPolicy, bound: str, where: str
    ) -> bool:
        """Apply the error/NaN/infinity policy to ``row``; true when that settled it (violation or note)."""
        handled, violation = _special_value_violation(check=check, row=row, policy=policy, bound=bound)
        if handled:
            if violation is None:
                self.notes.append(f"ignored {where}: {_row_value_text(row)}")
            else:
                self.violations.append(violation)
        return handled

    def outcome(self) -> CheckOutcome:
        return CheckOutcome(tuple(self.violations), self.checked, tuple(self.notes), tuple(self.inconclusive))


def _row_value_text(row: MetricRow) -> str:
    return f"error ({row.error})" if row.value is None else _num(row.value)


def validate_rule_scopes(
    result: AnalysisResult | Mapping[str, Any],
    rules: Iterable[Threshold],
    *,
    policy: CheckPolicy | Mapping[str, Any] | None = None,
) -> None:
    """Refuse rules whose facet or group does not exist in ``result`` (a misspelling, not a finding).

    Checked against the facets and groups of the bias stages the result holds (a rule for a stage the
    result lacks is left to the ``on_missing`` policy). An unknown facet is always a
    :class:`ClarifyConfigError` with the closest facet; an unknown group too, except under
    ``on_missing="ignore"`` when no group matches it case-insensitively (a group that did not occur in
    this run's data is then a note, as before).
    """
    analysis = _as_result(result)
    base_policy = CheckPolicy.coerce(policy)
    groups: dict[tuple[str, str], set[str]] = {}
    for row in analysis.metrics_table():
        groups.setdefault((row.stage, row.facet), set()).add(row.group)
    stages = {stage for stage, _ in groups}
    for rule in rules:
        scope_stages = stages if rule.stage is None else stages & {rule.stage}
        if not scope_stages or (rule.facet is None and rule.group is None):
            continue
        where = f"thresholds.{rule.metric}"
        facets = sorted({facet for stage, facet in groups if stage in scope_stages})
        if rule.facet is not None and rule.facet not in facets:
            suggestion = did_you_mean(rule.facet, facets)
            hint = f"; did you mean {suggestion!r}?" if suggestion else ""
            raise ClarifyConfigError(
                f"{where}.facet: facet {rule.facet!r} is not in the analysis result{hint} Its facets: "
                f"{facets}.",
                field=f"{where}.facet",
                value=rule.facet,
                accepted=f"one of {facets}",
            )
        known = sorted(
            {
                group
                for (stage, facet), names in groups.items()
                if stage in scope_stages and (rule.facet is None or facet == rule.facet)
                for group in names
            }
        )
        if rule.group is None or rule.group in known:
            continue
        same_but_case = [g for g in known if g.strip().lower() == rule.group.strip().lower()]
        if rule.policy(base_policy).on_missing == "ignore" and not same_but_case:
            continue
        suggestion = same_but_case[0] if same_but_case else did_you_mean(rule.group, known)
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        facet_text = f"facet {rule.facet!r}" if rule.facet is not None else "any facet"
        raise ClarifyConfigError(
            f"{where}.group: group {rule.group!r} is not a group of {facet_text} in the analysis "
            f"result{hint} Groups (value_or_threshold): {known}.",
            field=f"{where}.group",
            value=rule.group,
            accepted=f"one of {known}",
        )


def _as_intervals(value: IntervalsResult | Mapping[str, Any] | None) -> IntervalsResult | None:
    if value is None or isinstance(value, IntervalsResult):
        return value
    return IntervalsResult.from_dict(value)


def _judge_with_interval(
    tally: _Tally,
    rule: Threshold,
    row: MetricRow,
    found: MetricInterval | None,
    gate: IntervalGate,
) -> None:
    """Decide one finite-valued row: pass, violation or inconclusive (see :class:`IntervalGate`)."""
    assert row.value is not None
    where = f"{row.stage}/{row.facet}/{row.group} {row.metric}"
    if found is not None and not _same_number(found.value, row.value):
        raise ClarifyConfigError(
            f"confidence_intervals.json does not belong to this analysis.json: {where} is "
            f"{_num(row.value)} in analysis.json but {_num(found.value)} in the sidecar (a sidecar left by "
            "an earlier run?). Re-run the analysis with confidence_intervals, or use interval_mode='point' "
            "without min_group_size",
            field="confidence_intervals.json",
            value=found.value,
            accepted="the sidecar written with this analysis.json",
        )
    interval = (found.lower, found.upper) if found is not None and found.has_interval else None
    if gate.mode == "point" or interval is None:
        if gate.mode != "point":
            tally.notes.append(f"no confidence interval for {where}; its value was checked")
        verdict = "inside" if rule.admits(row.value) else "outside"
        shown = None
    else:
        assert interval[0] is not None
        assert interval[1] is not None
        verdict = rule.interval_verdict(interval[0], interval[1])
        if verdict == "straddles" and gate.mode == "outside":
            verdict = "inside"
        shown = (interval[0], interval[1])
    if verdict == "inside":
        return
    size = min(found.n_d, found.n_a) if found is not None else None
    if gate.min_group_size is not None and size is None:
        tally.notes.append(f"no group size for {where}; min_group_size not applied")
    interval_text = f" (interval [{_num(shown[0])}, {_num(shown[1])}])" if shown else ""
    common = {"bound": rule.bound_text, "value": row.value}
    if gate.min_group_size is not None and size is not None and size < gate.min_group_size:
        tally.inconclusive.append(
            replace(
                _located_violation(
                    "threshold",
                    "small_group",
                    row,
                    description=f"Value {_num(row.value)}{interval_text} comes from a group of {size} rows, "
                    f"fewer than min_group_size={gate.min_group_size}: too few to conclude whether "
                    f"{row.metric} is in {rule.bound_text}",
                    **common,
                ),
                interval=shown,
                group_size=size,
            )
        )
    elif verdict == "outside":
        tail = "; the whole interval lies outside it" if shown else ""
        tally.violations.append(
            replace(
                _located_violation(
                    "threshold",
                    "out_of_bounds",
                    row,
                    description=f"Value {_num(row.value)}{interval_text} does not meet the constraint "
                    f"requirement: {row.metric} must be in {rule.bound_text}{tail}",
                    **common,
                ),
                interval=shown,
                group_size=size,
            )
        )
    else:
        tally.inconclusive.append(
            replace(
                _located_violation(
                    "threshold",
                    "interval_straddles",
                    row,
                    description=f"Value {_num(row.value)}{interval_text}: the interval straddles "
                    f"{rule.bound_text}, so the data cannot tell whether {row.metric} meets it",
                    **common,
                ),
                interval=shown,
                group_size=size,
            )
        )


def _same_number(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


def check_thresholds(
    result: AnalysisResult | Mapping[str, Any],
    thresholds: Mapping[str, Any] | Iterable[Threshold | Mapping[str, Any]],
    *,
    policy: CheckPolicy | Mapping[str, Any] | None = None,
    intervals: IntervalsResult | Mapping[str, Any] | None = None,
    interval_gate: IntervalGate | None = None,
) -> CheckOutcome:
    """Check every bias metric row that a rule governs (the most specific matching rule wins).

    A rule that matches no row at all reports ``missing`` (unless its policy ignores it). A rule
    whose facet or group is not in the result raises :class:`ClarifyConfigError` (see
    :func:`validate_rule_scopes`).

    With ``interval_gate`` (and the ``confidence_intervals.json`` document as ``intervals``) the
    verdict uses the interval and the group size instead of the value alone (:class:`IntervalGate`);
    findings that are neither a pass nor a violation go to ``CheckOutcome.inconclusive``.
    """
    analysis = _as_result(result)
    rules = parse_thresholds(thresholds)
    base_policy = CheckPolicy.coerce(policy)
    validate_rule_scopes(analysis, rules, policy=base_policy)
    gate = interval_gate or IntervalGate()
    sidecar = _as_intervals(intervals)
    if gate.needs_intervals and sidecar is None:
        raise ClarifyConfigError(
            f"interval_mode={gate.mode!r} / min_group_size={gate.min_group_size!r} need the confidence "
            "intervals of the analysis (confidence_intervals.json): run the analysis with "
            "confidence_intervals=..., or use interval_mode='point' without min_group_size",
            field="interval_mode",
            value=gate.mode,
            accepted="'point', or an analysis run with confidence intervals",
        )
    tally = _Tally()
    matched_rules: set[int] = set()
    for row in analysis.metrics_table():
        candidates = [(i, r) for i, r in enumerate(rules) if r.matches(row)]
        if not candidates:
            continue
        matched_rules.update(i for i, _ in candidates)
        _, rule = max(candidates, key=lambda item: item[1].specificity)
        tally.checked += 1
        where = f"{row.stage}/{row.facet}/{row.group} {row.metric}"
        if tally.settled_special_value(
            check="threshold", row=row, policy=rule.policy(base_policy), bound=rule.bound_text, where=where
        ):
            continue
        found = sidecar.find(row.stage, row.facet, row.group, row.metric) if sidecar else None
        _judge_with_interval(tally, rule, row, found, gate)
    for index, rule in enumerate(rules):
        if index in matched_rules:
            continue
        where = f"{rule.metric} ({rule.scope_text})"
        tally.missing(
            rule.policy(base_policy),
            f"ignored missing metric {where}",
            _located_violation(
                "threshold",
                "missing",
                rule,
                bound=rule.bound_text,
                description=f"Metric {where} is missing from the analysis result, so the constraint "
                f"{rule.bound_text} cannot be verified",
            ),
        )
    return tally.outcome()


def check_bias_drift(
    result: AnalysisResult | Mapping[str, Any],
    baseline: AnalysisResult | Mapping[str, Any],
    *,
    policy: CheckPolicy | Mapping[str, Any] | None = None,
    tolerance: float = 0.0,
    metrics: Iterable[str] | None = None,
    neutral_values: Mapping[str, float] | None = None,
) -> CheckOutcome:
    """Model Monitor's bias drift rule: violation when ``|current| > |baseline| + tolerance``.

    Compared per ``(stage, facet, group, metric)`` row of the baseline (optionally only ``metrics``).
    Rows only in the current result are not compared; baseline rows that are null/NaN are skipped.

    ``neutral_values`` generalises "zero" per metric: with ``{"DI": 1.0}`` the rule for DI becomes
    ``|current - 1| > |baseline - 1| + tolerance`` (DI is fair at 1, not 0; Model Monitor's literal
    rule would flag DI moving from 0.97 to 0.99). Default: zero for every metric, as Model Monitor.
    """
    current = _as_result(result)
    reference = _as_result(baseline)
    the_policy = CheckPolicy.coerce(policy)
    tol = _number(tolerance, "drift_tolerance", "a finite number >= 0") or 0.0
    if tol < 0 or math.isinf(tol):
        raise _spec_error(
            "drift_tolerance", tolerance, "must be finite and not negative", "a finite number >= 0"
        )
    wanted = None if metrics is None else {known_metric(str(m), "drift_metrics") for m in metrics}
    neutral: dict[str, float] = {}
    for name, value in (neutral_values or {}).items():
        number = _number(value, f"drift_neutral_values.{name}", "a finite number")
        if number is None or math.isinf(number):
            raise _spec_error(
                f"drift_neutral_values.{name}", value, "must be a finite number", "a finite number"
            )
        neutral[known_metric(str(name), f"drift_neutral_values.{name}")] = number
    by_key = {(r.stage, r.facet, r.group, r.metric.upper()): r for r in current.metrics_table()}
    tally = _Tally()
    for base in reference.metrics_table():
        if wanted is not None and base.metric.upper() not in wanted:
            continue
        where = f"{base.stage}/{base.facet}/{base.group} {base.metric}"
        if base.value is None or math.isnan(base.value):
            tally.notes.append(f"baseline {where} is {_row_value_text(base)}; not compared")
            continue
        centre = neutral.get(base.metric.upper(), 0.0)
        limit = abs(base.value - centre) + tol
        distance = "|x|" if centre == 0 else f"|x - {_num(centre)}|"
        bound = f"{distance} <= {_num(limit)} (baseline {_num(base.value)})"
        row = by_key.get((base.stage, base.facet, base.group, base.metric.upper()))
        if row is None:
            tally.missing(
                the_policy,
                f"ignored {where}: in the baseline, missing from the result",
                _located_violation(
                    "bias_drift",
                    "missing",
                    base,
                    bound=bound,
                    description=f"Metric {where} is in the baseline but missing from the analysis result",
                ),
            )
            continue
        tally.checked += 1
        if tally.settled_special_value(
            check="bias_drift", row=row, policy=the_policy, bound=bound, where=where
        ):
            continue
        assert row.value is not None
        if abs(row.value - centre) > limit:
            tally.violations.append(
                _located_violation(
                    "bias_drift",
                    "drift",
                    row,
                    bound=bound,
                    value=row.value,
                    description=f"Value {_num(row.value)} does not meet the constraint requirement: "
                    f"farther from {'zero' if centre == 0 else _num(centre)} than the baseline value "
                    f"{_num(base.value)}",
                )
            )
    return tally.outcome()


def ndcg(baseline: Mapping[str, float], current: Mapping[str, float]) -> float:
    """NDCG of the current feature ranking, with the baseline attributions as relevance (docs/gates.md, "Drift against a baseline").

    Features are ranked by attribution, highest first. A feature missing from one side has
    attribution 0 there. Ties in the current ranking keep the baseline's order (equal attributions
    are no evidence of re-ranking), then the feature name. Returns NaN when the baseline's
    attributions are all zero (no ranking to drift from) or any attribution is NaN.
    """
    features = sorted(set(baseline) | set(current))
    gain = {f: float(baseline.get(f, 0.0)) for f in features}
    live = {f: float(current.get(f, 0.0)) for f in features}
    if any(math.isnan(v) for v in (*gain.values(), *live.values())):
        return math.nan
    ideal = sorted(features, key=lambda f: (-gain[f], f))
    baseline_rank = {f: i for i, f in enumerate(ideal)}
    observed = sorted(features, key=lambda f: (-live[f], baseline_rank[f]))
    idcg = sum(gain[f] / math.log2(i + 2) for i, f in enumerate(ideal))
    if idcg == 0:
        return math.nan
    dcg = sum(gain[f] / math.log2(i + 2) for i, f in enumerate(observed))
    return dcg / idcg


def check_feature_attribution_drift(
    result: AnalysisResult | Mapping[str, Any],
    baseline: AnalysisResult | Mapping[str, Any],
    *,
    threshold: float = DEFAULT_NDCG_THRESHOLD,
    policy: CheckPolicy | Mapping[str, Any] | None = None,
) -> CheckOutcome:
    """Model Monitor's feature-attribution drift rule: violation when NDCG < ``threshold`` per label."""
    current = _as_result(result)
    reference = _as_result(baseline)
    the_policy = CheckPolicy.coerce(policy)
    limit = _number(threshold, "ndcg_threshold", "a number between 0 and 1")
    if limit is None or not 0 <= limit <= 1:
        raise _spec_error("ndcg_threshold", threshold, "NDCG lies in [0, 1]", "a number between 0 and 1")
    bound = f"NDCG >= {_num(limit)}"

    def shap_violation(reason: Reason, label: str, description: str, value: float | None = None) -> Violation:
        return Violation(
            check="feature_attribution_drift",
            reason=reason,
            metric="shap",
            label=label,
            value=value,
            bound=bound,
            description=description,
        )

    tally = _Tally()
    for label, base in reference.kernel_shap.items():
        live = current.kernel_shap.get(label)
        if live is None:
            tally.missing(
                the_policy,
                f"ignored SHAP label {label}: in the baseline, missing from the result",
                shap_violation(
                    "missing",
                    label,
                    f"Label {label} is in the baseline's kernel_shap but missing from the analysis result",
                ),
            )
            continue
        tally.checked += 1
        score = ndcg(base.global_shap_values, live.global_shap_values)
        if math.isnan(score):
            if the_policy.on_nan == "ignore":
                tally.notes.append(f"ignored SHAP label {label}: NDCG is undefined")
                continue
            tally.violations.append(
                shap_violation(
                    "nan",
                    label,
                    f"Feature attribution drift NaN exceeds threshold {_num(limit)} (NDCG undefined: "
                    "baseline attributions are all zero or a value is NaN)",
                    value=score,
                )
            )
            continue
        if score < limit:
            tally.violations.append(
                shap_violation(
                    "drift",
                    label,
                    f"Feature attribution drift {_num(score)} exceeds threshold {_num(limit)}",
                    value=score,
                )
            )
    return tally.outcome()


def check_analysis(
    result: AnalysisResult | Mapping[str, Any],
    *,
    thresholds: Mapping[str, Any] | Iterable[Threshold | Mapping[str, Any]] | None = None,
    baseline: AnalysisResult | Mapping[str, Any] | None = None,
    policy: CheckPolicy | Mapping[str, Any] | None = None,
    drift_tolerance: float = 0.0,
    drift_metrics: Iterable[str] | None = None,
    drift_neutral_values: Mapping[str, float] | None = None,
    ndcg_threshold: float = DEFAULT_NDCG_THRESHOLD,
    intervals: IntervalsResult | Mapping[str, Any] | None = None,
    interval_gate: IntervalGate | None = None,
) -> CheckOutcome:
    """Run the threshold check (when ``thresholds``) and both drift checks (when ``baseline``).

    ``intervals`` / ``interval_gate`` apply to the threshold check (see :func:`check_thresholds`).
    """
    current = _as_result(result)
    outcome = CheckOutcome()
    if thresholds:
        outcome += check_thresholds(
            current, thresholds, policy=policy, intervals=intervals, interval_gate=interval_gate
        )
    if baseline is not None:
        reference = _as_result(baseline)
        outcome += check_bias_drift(
            current,
            reference,
            policy=policy,
            tolerance=drift_tolerance,
            metrics=drift_metrics,
            neutral_values=drift_neutral_values,
        )
        outcome += check_feature_attribution_drift(
            current, reference, threshold=ndcg_threshold, policy=policy
        )
    return outcome
