"""Read the ``analysis.json`` a Clarify job (or the open engine) writes into typed objects.

The file has up to three sections (``docs/job-request.md#reading-the-results-analysisresult``): ``pre_training_bias_metrics``,
``post_training_bias_metrics`` and ``explanations`` (``kernel_shap`` and/or ``pdp``). Bias sections
hold, per facet column, one entry per facet group with a list of metrics ``{name, description,
value[, error]}``. Values need care:

* infinities are written as the strings ``"Infinity"`` / ``"-Infinity"`` (or bare ``Infinity`` by
  Python's ``json``), and become ``math.inf`` / ``-math.inf``;
* ``"NaN"`` (or a bare ``NaN``) becomes ``math.nan``;
* a metric that raised inside the job has ``"value": null`` and an ``"error"`` message; the value is
  ``None`` and ``error`` carries the message (the job itself did not fail);
* ``0`` stays the number ``0.0`` (never mistaken for "missing").

``AnalysisResult.metrics_table()`` flattens the bias sections into rows
``(stage, facet, group, metric, value, error)`` so gates and reports can filter without walking the
nesting. Pure Python: no Airflow, boto3 or numeric imports.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider_clarify.analysis.errors import ClarifyConfigError, short_repr

if TYPE_CHECKING:  # analysis.uncertainty imports this module
    from airflow_provider_clarify.analysis.uncertainty import IntervalsResult, MetricInterval

Stage = Literal["pre_training", "post_training"]

#: analysis.json section key for each stage, in the order the table lists them.
STAGE_SECTIONS: dict[str, str] = {
    "pre_training": "pre_training_bias_metrics",
    "post_training": "post_training_bias_metrics",
}

_SPECIAL_VALUES = {
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
    "nan": math.nan,
}
_ACCEPTED_VALUE = 'a number, null, "Infinity", "-Infinity" or "NaN"'


def _bad(path: str, value: Any, accepted: str) -> ClarifyConfigError:
    """A typed error naming the JSON path of the malformed part of analysis.json."""
    return ClarifyConfigError(
        f"analysis.json: {path} is {short_repr(value)}; expected {accepted}",
        field=path,
        value=value,
        accepted=accepted,
    )


def metric_value(raw: Any, path: str = "value") -> float | None:
    """Convert one metric value as written in analysis.json into a float (or ``None``).

    ``"Infinity"``/``"-Infinity"``/``"NaN"`` (any case) and the bare JSON tokens map to the float
    specials; ``null`` maps to ``None``; booleans and other strings are rejected with the path.
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise _bad(path, raw, _ACCEPTED_VALUE)
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        special = _SPECIAL_VALUES.get(raw.strip().lower())
        if special is not None:
            return special
    raise _bad(path, raw, _ACCEPTED_VALUE)


@dataclass(frozen=True)
class Metric:
    """One bias metric of one facet group: ``value`` is ``None`` when the job reported ``error``."""

    name: str
    description: str
    value: float | None
    error: str | None = None


@dataclass(frozen=True)
class FacetGroup:
    """The metrics for one sensitive group of a facet (``value_or_threshold`` as written, a string)."""

    value_or_threshold: str
    metrics: list[Metric]

    def metric(self, name: str) -> Metric | None:
        """The metric called ``name`` (case-insensitive), or ``None`` when it was not computed."""
        wanted = name.upper()
        return next((m for m in self.metrics if m.name.upper() == wanted), None)


@dataclass(frozen=True)
class BiasSection:
    """A ``pre_training_bias_metrics`` or ``post_training_bias_metrics`` block."""

    label: str | None
    label_value_or_threshold: str | None
    facets: dict[str, list[FacetGroup]]


@dataclass(frozen=True)
class ShapOutput:
    """Global Kernel SHAP results for one model output (one ``kernel_shap`` key, e.g. ``label0``)."""

    global_shap_values: dict[str, float]
    expected_value: float | None
    global_top_shap_text: dict | None = None


@dataclass(frozen=True)
class MetricRow:
    """One row of the flat metrics table."""

    stage: Stage
    facet: str
    group: str
    metric: str
    value: float | None
    error: str | None


def _require(mapping: Any, path: str, accepted: str = "a JSON object") -> dict:
    if not isinstance(mapping, dict):
        raise _bad(path, mapping, accepted)
    return mapping


def _require_list(items: Any, path: str) -> list:
    if not isinstance(items, list):
        raise _bad(path, items, "a JSON array")
    return items


def _optional_text(raw: Any) -> str | None:
    return None if raw is None else str(raw)


def _parse_metric(raw: Any, path: str) -> Metric:
    entry = _require(raw, path)
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise _bad(f"{path}.name", name, "a metric name such as 'DPL'")
    error = entry.get("error")
    return Metric(
        name=name,
        description=str(entry.get("description", "")),
        value=metric_value(entry.get("value"), f"{path}.value"),
        error=None if error is None else str(error),
    )


def _parse_bias_section(raw: Any, key: str) -> BiasSection:
    section = _require(raw, key)
    facets_raw = _require(section.get("facets", {}), f"{key}.facets")
    facets: dict[str, list[FacetGroup]] = {}
    for facet_name, groups_raw in facets_raw.items():
        facet_path = f"{key}.facets.{facet_name}"
        groups: list[FacetGroup] = []
        for g_index, group_raw in enumerate(_require_list(groups_raw, facet_path)):
            group_path = f"{facet_path}[{g_index}]"
            group = _require(group_raw, group_path)
            metrics_raw = _require_list(group.get("metrics", []), f"{group_path}.metrics")
            metrics = [
                _parse_metric(m, f"{group_path}.metrics[{m_index}]") for m_index, m in enumerate(metrics_raw)
            ]
            groups.append(FacetGroup(str(group.get("value_or_threshold", "")), metrics))
        facets[str(facet_name)] = groups
    return BiasSection(
        label=_optional_text(section.get("label")),
        label_value_or_threshold=_optional_text(section.get("label_value_or_threshold")),
        facets=facets,
    )


def _parse_kernel_shap(raw: Any) -> dict[str, ShapOutput]:
    base = "explanations.kernel_shap"
    outputs: dict[str, ShapOutput] = {}
    for label, entry_raw in _require(raw, base).items():
        path = f"{base}.{label}"
        entry = _require(entry_raw, path)
        values_raw = _require(entry.get("global_shap_values", {}), f"{path}.global_shap_values")
        values: dict[str, float] = {}
        for feature, value in values_raw.items():
            converted = metric_value(value, f"{path}.global_shap_values.{feature}")
            values[str(feature)] = math.nan if converted is None else converted
        top_text = entry.get("global_top_shap_text")
        outputs[str(label)] = ShapOutput(
            global_shap_values=values,
            expected_value=metric_value(entry.get("expected_value"), f"{path}.expected_value"),
            global_top_shap_text=None
            if top_text is None
            else _require(top_text, f"{path}.global_top_shap_text"),
        )
    return outputs


@dataclass(frozen=True)
class AnalysisResult:
    """A parsed ``analysis.json``.

    Build it with :meth:`from_json` (text or bytes, as read from S3 or disk) or :meth:`from_dict`.
    ``raw`` keeps the original dict for anything not modelled here (e.g. time-series outputs).
    ``intervals`` holds the ``confidence_intervals.json`` written next to it when the analysis ran
    with ``confidence_intervals`` (``ClarifyHook.read_analysis_result`` attaches it; see
    ``docs/uncertainty.md``), else ``None``.
    """

    raw: dict
    version: str | None
    pre_training_bias: BiasSection | None
    post_training_bias: BiasSection | None
    kernel_shap: dict[str, ShapOutput] = field(default_factory=dict)
    pdp: list[dict] = field(default_factory=list)
    intervals: IntervalsResult | None = field(default=None, compare=False)

    def with_intervals(self, intervals: IntervalsResult | None) -> AnalysisResult:
        """This result with the confidence intervals of the same run attached."""
        return replace(self, intervals=intervals)

    def interval(self, name: str, *, stage: Stage, facet: str, group: str) -> MetricInterval | None:
        """The interval of one metric of one facet group (``None``: no intervals, or not that metric)."""
        return None if self.intervals is None else self.intervals.find(stage, facet, group, name)

    @classmethod
    def from_dict(cls, data: dict) -> AnalysisResult:
        """Parse an already-decoded analysis.json; raises ClarifyConfigError naming the bad path."""
        document = _require(data, "analysis.json", "a JSON object (the content of analysis.json)")
        sections = {
            stage: _parse_bias_section(document[key], key) if document.get(key) is not None else None
            for stage, key in STAGE_SECTIONS.items()
        }
        explanations = _require(document.get("explanations") or {}, "explanations")
        kernel_shap = explanations.get("kernel_shap")
        pdp = explanations.get("pdp")
        return cls(
            raw=document,
            version=_optional_text(document.get("version")),
            pre_training_bias=sections["pre_training"],
            post_training_bias=sections["post_training"],
            kernel_shap=_parse_kernel_shap(kernel_shap) if kernel_shap is not None else {},
            pdp=list(_require_list(pdp, "explanations.pdp")) if pdp is not None else [],
        )

    @classmethod
    def from_json(cls, text: str | bytes | bytearray) -> AnalysisResult:
        """Parse analysis.json text; bare ``Infinity``/``NaN`` tokens are accepted as the job writes them."""
        try:
            data = json.loads(text)
        except (ValueError, TypeError) as err:
            raise ClarifyConfigError(
                f"analysis.json is not valid JSON ({err}); pass the content of the analysis.json "
                "the Clarify job wrote under its analysis_result prefix",
                field="analysis.json",
                value=text[:80] if isinstance(text, str | bytes | bytearray) else text,
                accepted="a JSON object",
            ) from err
        return cls.from_dict(data)

    def bias_section(self, stage: Stage) -> BiasSection | None:
        """The section for ``"pre_training"`` or ``"post_training"``."""
        if stage not in STAGE_SECTIONS:
            raise ClarifyConfigError(
                f"stage is {stage!r}; expected 'pre_training' or 'post_training'",
                field="stage",
                value=stage,
                accepted="'pre_training' or 'post_training'",
            )
        return self.pre_training_bias if stage == "pre_training" else self.post_training_bias

    def metrics_table(self) -> list[MetricRow]:
        """Every bias metric as a flat row, pre-training first, in the file's order."""
        rows: list[MetricRow] = []
        for stage in STAGE_SECTIONS:
            section = self.bias_section(stage)  # type: ignore[arg-type]
            if section is None:
                continue
            for facet, groups in section.facets.items():
                for group in groups:
                    rows.extend(
                        MetricRow(stage, facet, group.value_or_threshold, m.name, m.value, m.error)  # type: ignore[arg-type]
                        for m in group.metrics
                    )
        return rows

    def metric(
        self,
        name: str,
        *,
        stage: Stage | None = None,
        facet: str | None = None,
        group: str | None = None,
    ) -> list[MetricRow]:
        """Rows of the metric ``name`` (case-insensitive), optionally narrowed by stage, facet and group."""
        wanted = name.upper()
        return [
            row
            for row in self.metrics_table()
            if row.metric.upper() == wanted
            and (stage is None or row.stage == stage)
            and (facet is None or row.facet == facet)
            and (group is None or row.group == group)
        ]
