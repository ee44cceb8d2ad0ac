"""Opt-in extras of a bias audit, written as sidecars next to ``analysis.json``.

``run_analysis(..., confidence_intervals=..., intersections=...)`` hands an :class:`AuditExtras` the
bias pass's group counts (through ``compute_bias_sections(counts_sink=...)``, so intervals cost no
extra read of the data) and writes what it produces:

* ``confidence_intervals.json``: an interval per bias metric (:mod:`.bias.intervals`);
* ``intersectional_bias.json``: intersectional facets and the scan (:mod:`.bias.intersections`).

Without either option nothing here runs and ``analysis.json`` is byte for byte unchanged (it never
carries the extras in any case). ``docs/uncertainty.md`` describes the method and its limits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_clarify.analysis.uncertainty import (
    CONFIDENCE_INTERVALS_FILE,
    INTERSECTIONS_FILE,
    ConfidenceIntervalConfig,
    IntersectionConfig,
)
from airflow_provider_clarify.engine.output import dumps_analysis

if TYPE_CHECKING:
    import pyarrow as pa

    from airflow_provider_clarify.engine.bias.counts import DatasetCounts
    from airflow_provider_clarify.engine.bias.preparation import Preparation

log = logging.getLogger(__name__)


@dataclass
class AuditExtras:
    """What the caller asked for beyond Clarify, and the counts it needs (filled by the bias pass)."""

    confidence_intervals: ConfidenceIntervalConfig | None = None
    intersections: IntersectionConfig | None = None
    prep: Preparation | None = field(default=None, repr=False)
    counts: DatasetCounts | None = field(default=None, repr=False)

    @classmethod
    def create(cls, confidence_intervals: Any = None, intersections: Any = None) -> AuditExtras | None:
        """Validate the options (a ClarifyConfigError before any data is read); ``None`` when both are off."""
        extras = cls(
            confidence_intervals=ConfidenceIntervalConfig.coerce(confidence_intervals),
            intersections=IntersectionConfig.coerce(intersections),
        )
        return extras if extras.confidence_intervals or extras.intersections else None

    def counts_sink(self, prep: Preparation, counts: DatasetCounts) -> None:
        """Passed to ``compute_bias_sections(counts_sink=...)``."""
        self.prep, self.counts = prep, counts

    def documents(
        self,
        analysis: dict,
        *,
        batches: Callable[[Sequence[str]], Iterable[pa.RecordBatch]],
        label: str | None,
        predicted_label: str | None,
    ) -> dict[str, dict]:
        """The sidecar documents by file name (only those asked for and computable)."""
        out: dict[str, dict] = {}
        has_bias = any(key in analysis for key in ("pre_training_bias_metrics", "post_training_bias_metrics"))
        if self.confidence_intervals is not None:
            if not has_bias or self.prep is None or self.counts is None:
                log.warning("confidence_intervals asked for, but the analysis computed no bias metrics")
            else:
                from airflow_provider_clarify.engine.bias.intervals import compute_intervals

                started = time.perf_counter()
                out[CONFIDENCE_INTERVALS_FILE] = compute_intervals(
                    analysis, self.prep, self.counts, self.confidence_intervals
                )
                log.info(
                    "Confidence intervals (%d resamples) in %.2f s",
                    self.confidence_intervals.resamples,
                    time.perf_counter() - started,
                )
        if self.intersections is not None:
            if self.prep is None or label is None:
                log.warning("intersections asked for, but the analysis computed no bias metrics")
            else:
                from airflow_provider_clarify.engine.bias.intersections import compute_intersections

                out[INTERSECTIONS_FILE] = compute_intersections(
                    batches,
                    self.intersections,
                    prep=self.prep,
                    label=label,
                    predicted_label=predicted_label,
                    intervals=self.confidence_intervals,
                )
        return out


def write_sidecars(location: Any, documents: dict[str, dict]) -> list[str]:
    """Write each document atomically (same JSON conventions as ``analysis.json``); returns the URIs."""
    return [location.write_text(name, dumps_analysis(doc) + "\n") for name, doc in documents.items()]


def report_sections(documents: dict[str, dict]) -> list[str]:
    """HTML sections of the report for the sidecars (error bars, the scan)."""
    if not documents:
        return []
    from airflow_provider_clarify.engine.uncertainty_report import uncertainty_sections

    return uncertainty_sections(documents.get(CONFIDENCE_INTERVALS_FILE), documents.get(INTERSECTIONS_FILE))
