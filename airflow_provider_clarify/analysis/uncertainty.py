"""Confidence intervals and intersectional facets: options and the sidecar documents they produce.

Clarify reports each bias metric as one number. The open engine can also report how sure that
number is (a confidence interval per metric, written to ``confidence_intervals.json`` next to
``analysis.json``) and audit intersections of facets (``intersectional_bias.json``). Both are
opt-in: without them ``analysis.json`` is byte for byte what it was. The method, its coverage
study and its limits are in ``docs/uncertainty.md``.

This module is pure Python (no numpy, no Airflow): the options a DAG author writes and the typed view
of the sidecar documents that gates and reports read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from airflow_provider_clarify.analysis.errors import ClarifyConfigError, short_repr
from airflow_provider_clarify.analysis.results import STAGE_SECTIONS, metric_value

__all__ = [
    "CONFIDENCE_INTERVALS_FILE",
    "INTERSECTIONS_FILE",
    "ConfidenceIntervalConfig",
    "IntersectionConfig",
    "IntersectionalFacet",
    "IntervalsResult",
    "MetricInterval",
]

#: Sidecar documents written next to ``analysis.json``.
CONFIDENCE_INTERVALS_FILE = "confidence_intervals.json"
INTERSECTIONS_FILE = "intersectional_bias.json"
SIDECAR_VERSION = "1.0"


def _invalid(field_path: str, value: Any, accepted: str, why: str = "") -> ClarifyConfigError:
    reason = f": {why}" if why else ""
    return ClarifyConfigError(
        f"{field_path} is {short_repr(value)}{reason}. Accepted: {accepted}",
        field=field_path,
        value=value,
        accepted=accepted,
    )


def _strict_int(value: Any, field_path: str, accepted: str) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())  # rendered templates arrive as text
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(field_path, value, accepted)
    return value


def _float(value: Any, field_path: str, accepted: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise _invalid(field_path, value, accepted) from None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise _invalid(field_path, value, accepted)
    return float(value)


@dataclass(frozen=True)
class ConfidenceIntervalConfig:
    """Ask for a confidence interval per bias metric (opt-in; see ``docs/uncertainty.md``).

    :param level: confidence level, e.g. ``0.95`` (between 0.5 and 0.999).
    :param resamples: bootstrap resamples of the group-count tables (at least 100; 1000 by default).
    :param seed: seed of the resampling; the same seed gives the same intervals. ``None`` draws one
        and records it in the sidecar, so any run can be reproduced.
    """

    level: float = 0.95
    resamples: int = 1000
    seed: int | None = None

    def __post_init__(self) -> None:
        level = _float(self.level, "confidence_intervals.level", "a number between 0.5 and 0.999")
        if not 0.5 <= level <= 0.999:
            raise _invalid(
                "confidence_intervals.level", self.level, "a number between 0.5 and 0.999 (e.g. 0.95)"
            )
        object.__setattr__(self, "level", level)
        resamples = _strict_int(self.resamples, "confidence_intervals.resamples", "an integer >= 100")
        if resamples < 100:
            raise _invalid(
                "confidence_intervals.resamples",
                self.resamples,
                "an integer >= 100",
                "too few resamples for the tails of a percentile interval",
            )
        object.__setattr__(self, "resamples", resamples)
        if self.seed is not None:
            seed = _strict_int(self.seed, "confidence_intervals.seed", "a non-negative integer or None")
            if seed < 0:
                raise _invalid("confidence_intervals.seed", self.seed, "a non-negative integer or None")
            object.__setattr__(self, "seed", seed)

    @classmethod
    def coerce(cls, value: Any) -> ConfidenceIntervalConfig | None:
        """``None``/``False`` -> off; ``True`` -> defaults; a dict of the fields; or a config."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {"level", "resamples", "seed"}
            if unknown:
                raise _invalid(
                    "confidence_intervals",
                    dict(value),
                    "keys level, resamples, seed",
                    f"unknown keys {sorted(unknown)}",
                )
            return cls(**value)
        raise _invalid(
            "confidence_intervals", value, "a ConfidenceIntervalConfig, a dict of its fields, True or None"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------------------
# Intersectional facets
# --------------------------------------------------------------------------------------------------

_CONDITION_OPS = ("==", "!=", ">", ">=", "<", "<=", "in")


@dataclass(frozen=True)
class IntersectionalFacet:
    """A facet defined by a conjunction of conditions on several columns, e.g. women over 60::

        IntersectionalFacet("women_over_60", [("gender", "==", "female"), ("age", ">", 60)])

    Its group ``d`` is the rows meeting every condition; ``a`` is every other row (one versus the
    rest), and the same metrics as a Clarify facet are computed for it.

    :param name: the name it is reported under (``facet`` of the sidecar).
    :param conditions: ``(column, op, value)`` with op one of ``==, !=, >, >=, <, <=, in`` (``in``
        takes a list). Also accepted as dicts ``{"column", "op", "value"}``.
    """

    name: str
    conditions: tuple[tuple[str, str, Any], ...]

    def __post_init__(self) -> None:
        where = f"intersections.facets.{self.name}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise _invalid("intersections.facets", self.name, "a non-empty name")
        parsed: list[tuple[str, str, Any]] = []
        for index, item in enumerate(self.conditions or ()):
            if isinstance(item, Mapping):
                item = (item.get("column"), item.get("op", "=="), item.get("value"))
            if not isinstance(item, list | tuple) or len(item) != 3:
                raise _invalid(f"{where}.conditions[{index}]", item, "(column, op, value)")
            column, op, value = item
            if not isinstance(column, str) or not column:
                raise _invalid(f"{where}.conditions[{index}].column", column, "a column name")
            if op not in _CONDITION_OPS:
                raise _invalid(f"{where}.conditions[{index}].op", op, " | ".join(_CONDITION_OPS))
            if op == "in":
                if not isinstance(value, list | tuple) or not value:
                    raise _invalid(f"{where}.conditions[{index}].value", value, "a non-empty list for 'in'")
                value = tuple(value)
            elif op in (">", ">=", "<", "<=") and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise _invalid(f"{where}.conditions[{index}].value", value, f"a number for {op!r}")
            parsed.append((column, op, value))
        if not parsed:
            raise _invalid(f"{where}.conditions", self.conditions, "at least one (column, op, value)")
        object.__setattr__(self, "conditions", tuple(parsed))

    @property
    def text(self) -> str:
        """The conjunction as text, e.g. ``gender == 'female' AND age > 60``."""
        return " AND ".join(f"{c} {op} {v!r}" for c, op, v in self.conditions)

    @classmethod
    def coerce(cls, value: Any, index: int = 0) -> IntersectionalFacet:
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping) and "conditions" in value:
            return cls(str(value.get("name") or f"intersection_{index}"), tuple(value["conditions"]))
        raise _invalid(
            f"intersections.facets[{index}]",
            value,
            "an IntersectionalFacet or a dict {'name': ..., 'conditions': [(column, op, value), ...]}",
        )


@dataclass(frozen=True)
class IntersectionConfig:
    """Intersectional facets and the scan of every combination of some facet columns.

    :param facets: explicit intersectional facets (:class:`IntersectionalFacet` or dicts).
    :param scan_columns: columns whose value combinations the scan audits (numeric columns with
        many values should be binned first, or listed in ``bins``).
    :param bins: ``{column: [edges...]}`` to cut numeric scan columns into intervals ``(lo, hi]``.
    :param min_group_size: combinations with fewer rows are listed as too small, not tested.
    :param metrics: metrics reported per group (default ``DPPL``/``DI`` with predictions, else ``DPL``).
    :param correction: ``"holm"`` (family-wise error) or ``"bh"`` (Benjamini-Hochberg false
        discovery rate) for the many groups tested; ``"none"`` reports raw p-values only.
    :param alpha: significance level after correction.
    :param top: how many of the worst combinations the report lists.
    """

    facets: tuple[IntersectionalFacet, ...] = ()
    scan_columns: tuple[str, ...] = ()
    bins: Mapping[str, Sequence[float]] = field(default_factory=dict)
    min_group_size: int = 30
    metrics: tuple[str, ...] | None = None
    correction: str = "holm"
    alpha: float = 0.05
    top: int = 10

    def __post_init__(self) -> None:
        facets = tuple(IntersectionalFacet.coerce(f, i) for i, f in enumerate(self.facets or ()))
        object.__setattr__(self, "facets", facets)
        names = [f.name for f in facets]
        if len(set(names)) != len(names):
            raise _invalid("intersections.facets", names, "distinct names", "two facets share a name")
        columns = self.scan_columns
        if isinstance(columns, str):
            columns = (columns,)
        columns = tuple(columns or ())
        if any(not isinstance(c, str) or not c for c in columns):
            raise _invalid("intersections.scan_columns", columns, "a list of column names")
        object.__setattr__(self, "scan_columns", columns)
        bins = {
            str(k): tuple(_float(e, f"intersections.bins.{k}", "numbers") for e in v)
            for k, v in dict(self.bins or {}).items()
        }
        for column, edges in bins.items():
            if len(edges) < 1 or list(edges) != sorted(set(edges)):
                raise _invalid(f"intersections.bins.{column}", edges, "increasing, distinct edges")
        object.__setattr__(self, "bins", bins)
        size = _strict_int(self.min_group_size, "intersections.min_group_size", "an integer >= 1")
        if size < 1:
            raise _invalid("intersections.min_group_size", self.min_group_size, "an integer >= 1")
        object.__setattr__(self, "min_group_size", size)
        if self.metrics is not None:
            metrics = (self.metrics,) if isinstance(self.metrics, str) else tuple(self.metrics)
            object.__setattr__(self, "metrics", tuple(str(m).upper() for m in metrics))
        if self.correction not in ("holm", "bh", "none"):
            raise _invalid("intersections.correction", self.correction, "'holm', 'bh' or 'none'")
        alpha = _float(self.alpha, "intersections.alpha", "a number in (0, 0.5]")
        if not 0 < alpha <= 0.5:
            raise _invalid("intersections.alpha", self.alpha, "a number in (0, 0.5]")
        object.__setattr__(self, "alpha", alpha)
        top = _strict_int(self.top, "intersections.top", "an integer >= 1")
        if top < 1:
            raise _invalid("intersections.top", self.top, "an integer >= 1")
        object.__setattr__(self, "top", top)
        if not facets and not columns:
            raise _invalid(
                "intersections",
                self,
                "at least one of facets=[...] or scan_columns=[...]",
                "nothing to audit",
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields (for a run spec handed to another process); ``coerce`` reads it back."""
        return {
            "facets": [{"name": f.name, "conditions": [list(c) for c in f.conditions]} for f in self.facets],
            "scan_columns": list(self.scan_columns),
            "bins": {k: list(v) for k, v in self.bins.items()},
            "min_group_size": self.min_group_size,
            "metrics": list(self.metrics) if self.metrics is not None else None,
            "correction": self.correction,
            "alpha": self.alpha,
            "top": self.top,
        }

    @classmethod
    def coerce(cls, value: Any) -> IntersectionConfig | None:
        if value is None or value is False:
            return None
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            known = {
                "facets",
                "scan_columns",
                "bins",
                "min_group_size",
                "metrics",
                "correction",
                "alpha",
                "top",
            }
            unknown = set(value) - known
            if unknown:
                raise _invalid(
                    "intersections", dict(value), ", ".join(sorted(known)), f"unknown keys {sorted(unknown)}"
                )
            return cls(**value)
        raise _invalid("intersections", value, "an IntersectionConfig, a dict of its fields, or None")


# --------------------------------------------------------------------------------------------------
# The confidence-interval sidecar, read back
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricInterval:
    """One metric of one facet group with its interval (``None`` ends: no interval could be given).

    ``n_d`` / ``n_a`` are the sizes of the facet group and of the rest; ``method`` says how the
    interval was computed (``wilson``, ``newcombe``, ``katz-log``, ``mover-log``, ``bootstrap``).
    """

    stage: str
    facet: str
    group: str
    metric: str
    value: float | None
    lower: float | None
    upper: float | None
    method: str | None
    n_d: int
    n_a: int
    note: str | None = None

    @property
    def has_interval(self) -> bool:
        return self.lower is not None and self.upper is not None


@dataclass(frozen=True)
class IntervalsResult:
    """The ``confidence_intervals.json`` document, flattened into :class:`MetricInterval` rows."""

    level: float
    resamples: int
    seed: int | None
    rows: tuple[MetricInterval, ...]
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: global SHAP intervals: ``{label: {feature: (value, lower, upper)}}``
    shap: Mapping[str, Mapping[str, tuple[float | None, float | None, float | None]]] = field(
        default_factory=dict, compare=False
    )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IntervalsResult:
        if not isinstance(data, Mapping) or "level" not in data:
            raise _invalid(CONFIDENCE_INTERVALS_FILE, data, "the document the engine writes (with 'level')")
        rows: list[MetricInterval] = []
        for stage, key in STAGE_SECTIONS.items():
            section = data.get(key)
            if not section:
                continue
            for facet, entries in section.get("facets", {}).items():
                for entry in entries:
                    for metric in entry.get("metrics", []):
                        path = f"{key}.facets.{facet}.{metric.get('name')}"
                        rows.append(
                            MetricInterval(
                                stage=stage,
                                facet=str(facet),
                                group=str(entry.get("value_or_threshold")),
                                metric=str(metric.get("name")),
                                value=metric_value(metric.get("value"), f"{path}.value"),
                                lower=metric_value(metric.get("lower"), f"{path}.lower"),
                                upper=metric_value(metric.get("upper"), f"{path}.upper"),
                                method=metric.get("method"),
                                n_d=int(entry.get("n_d", 0)),
                                n_a=int(entry.get("n_a", 0)),
                                note=metric.get("note"),
                            )
                        )
        shap = {
            str(label): {
                str(feature): tuple(
                    metric_value(item.get(key), f"explanations.kernel_shap.{label}.{feature}.{key}")
                    for key in ("value", "lower", "upper")
                )
                for feature, item in block.get("global_shap_values", {}).items()
            }
            for label, block in ((data.get("explanations") or {}).get("kernel_shap") or {}).items()
        }
        return cls(
            level=float(data["level"]),
            resamples=int(data.get("resamples", 0)),
            seed=data.get("seed"),
            rows=tuple(rows),
            raw=dict(data),
            shap=shap,
        )

    @classmethod
    def from_json(cls, text: str | bytes | bytearray) -> IntervalsResult:
        try:
            data = json.loads(text)
        except ValueError as err:
            raise _invalid(CONFIDENCE_INTERVALS_FILE, str(text)[:80], "JSON", str(err)) from None
        return cls.from_dict(data)

    def find(self, stage: str, facet: str, group: str, metric: str) -> MetricInterval | None:
        """The row of one metric of one group, or ``None``."""
        for row in self.rows:
            if (row.stage, row.facet, row.group, row.metric.upper()) == (stage, facet, group, metric.upper()):
                return row
        return None
