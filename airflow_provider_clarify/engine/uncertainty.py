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
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from airflow_provider_clarify.analysis.uncertainty import (
    CONFIDENCE_INTERVALS_FILE,
    INTERSECTIONS_FILE,
    SIDECAR_VERSION,
    ConfidenceIntervalConfig,
    IntersectionConfig,
)
from airflow_provider_clarify.engine.output import dumps_analysis

if TYPE_CHECKING:
    import pyarrow as pa

    from airflow_provider_clarify.engine.bias.counts import DatasetCounts
    from airflow_provider_clarify.engine.bias.preparation import Preparation

log = logging.getLogger(__name__)

#: Every sidecar a run may write next to ``analysis.json``.
SIDECAR_FILES: tuple[str, ...] = (CONFIDENCE_INTERVALS_FILE, INTERSECTIONS_FILE)


@dataclass
class AuditExtras:
    """What the caller asked for beyond Clarify, and the counts it needs (filled by the bias pass)."""

    confidence_intervals: ConfidenceIntervalConfig | None = None
    intersections: IntersectionConfig | None = None
    prep: Preparation | None = field(default=None, repr=False)
    counts: DatasetCounts | None = field(default=None, repr=False)
    shap_run: Any = field(default=None, repr=False)

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

    def shap_sink(self, run: Any) -> None:
        """Passed to ``compute_explanations(shap_sink=...)``: the Kernel SHAP run with its local values."""
        self.shap_run = run

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
        if self.confidence_intervals is not None:
            document = self._intervals_document(analysis)
            if document is not None:
                out[CONFIDENCE_INTERVALS_FILE] = document
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

    def _intervals_document(self, analysis: dict) -> dict | None:
        """Intervals of the bias metrics (from the counts) and of the global SHAP values (from the
        local values), under one seed, drawn once and recorded when none was given."""
        config = self.confidence_intervals
        assert config is not None
        if config.seed is None:
            config = replace(config, seed=secrets.randbits(63))
        assert config.seed is not None
        has_bias = any(key in analysis for key in ("pre_training_bias_metrics", "post_training_bias_metrics"))
        started = time.perf_counter()
        document: dict | None = None
        if has_bias and self.prep is not None and self.counts is not None:
            from airflow_provider_clarify.engine.bias.intervals import compute_intervals

            document = compute_intervals(analysis, self.prep, self.counts, config)
        run = self.shap_run
        if run is not None:
            from airflow_provider_clarify.engine.explain_intervals import global_shap_intervals

            if document is None:
                document = {
                    "version": SIDECAR_VERSION,
                    "level": config.level,
                    "resamples": config.resamples,
                    "seed": config.seed,
                }
            document["explanations"] = global_shap_intervals(
                run.local,
                feature_names=run.feature_names,
                global_features=run.global_features,
                output_keys=run.output_keys,
                agg_method=run.agg_method,
                config=config,
                seed=config.seed,
            )
        if document is None:
            log.warning(
                "confidence_intervals asked for, but the analysis computed no bias metrics or SHAP values"
            )
            return None
        log.info(
            "Confidence intervals (%d resamples) in %.2f s", config.resamples, time.perf_counter() - started
        )
        return document


def write_sidecars(location: Any, documents: dict[str, dict]) -> list[str]:
    """Write each document atomically (same JSON conventions as ``analysis.json``); returns the URIs."""
    return [location.write_text(name, dumps_analysis(doc) + "\n") for name, doc in documents.items()]


def remove_stale_sidecars(location: Any, written: dict[str, dict]) -> list[str]:
    """Delete the sidecars an earlier run left in ``location`` that this run did not write (an option
    turned off, or nothing to compute), so no reader takes them for this run's; returns their names."""
    removed = [name for name in SIDECAR_FILES if name not in written and location.delete(name)]
    for name in removed:
        log.info("Removed %s left by an earlier run (not produced by this one)", location.uri_for(name))
    return removed


def report_sections(documents: dict[str, dict]) -> list[str]:
    """HTML sections of the report for the sidecars (error bars, the scan)."""
    if not documents:
        return []
    from airflow_provider_clarify.engine.uncertainty_report import uncertainty_sections

    return uncertainty_sections(documents.get(CONFIDENCE_INTERVALS_FILE), documents.get(INTERSECTIONS_FILE))
