"""Errors raised by the bias engine.

Two kinds of failure exist, exactly as in smclarify (the library inside the Clarify container):

* a **whole-report failure** (bad configuration or data that makes the report meaningless) raises
  :class:`BiasAnalysisError` and no output is produced;
* a **per-metric failure** (e.g. an empty sensitive group) raises :class:`MetricFailure` inside the
  metric; the report catches it and writes ``{"value": null, "error": <message>}`` for that metric only.
"""

from __future__ import annotations

from airflow_provider_clarify.engine.errors import EngineConfigError


class BiasAnalysisError(EngineConfigError):
    """The whole bias report cannot be computed; ``str(err)`` is the message (smclarify's where it has one)."""


class MetricFailure(ValueError):
    """One metric cannot be computed; its message becomes the metric's ``error`` entry."""
