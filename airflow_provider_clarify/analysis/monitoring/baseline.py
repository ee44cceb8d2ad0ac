"""A job definition's baseline named by ``BaseliningJobName``: where its constraints file is.

Model Monitor's ``*BaselineConfig`` holds either ``ConstraintsResource.S3Uri`` or the name of the
baselining processing job (what the SDK sends after ``suggest_baseline``). The constraints of a Clarify
monitor are that job's ``analysis.json``, in its ``analysis_result`` output (the SDK's
``suggested_constraints()`` reads ``<output>/analysis.json``). Pure: it reads a DescribeProcessingJob
answer; the caller makes the call.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_clarify.analysis.errors import ClarifyConfigError

ANALYSIS_RESULT_OUTPUT = "analysis_result"
CONSTRAINTS_FILE = "analysis.json"


def baseline_config(definition: dict[str, Any], kind: str) -> dict[str, Any]:
    """The definition's ``ModelBiasBaselineConfig`` / ``ModelExplainabilityBaselineConfig`` (or ``{}``)."""
    return definition.get(f"{kind}BaselineConfig") or {}


def constraints_uri_from_processing_job(described: dict[str, Any]) -> str:
    """The ``analysis.json`` URI of a described baselining job; ``ClarifyConfigError`` if it has none.

    :param described: the DescribeProcessingJob answer of the ``BaseliningJobName`` job.
    """
    name = described.get("ProcessingJobName", "?")
    status = described.get("ProcessingJobStatus")
    if status != "Completed":
        reason = described.get("FailureReason") or described.get("ExitMessage") or ""
        raise ClarifyConfigError(
            f"Baselining job {name!r} is {status}{': ' + reason if reason else ''}; its constraints cannot be "
            "used. Wait for it to complete, or give the baseline analysis.json as ConstraintsResource.S3Uri.",
            field="BaseliningJobName",
            value=name,
        )
    outputs = [
        o for o in (described.get("ProcessingOutputConfig") or {}).get("Outputs") or [] if o.get("S3Output")
    ]
    named = [o for o in outputs if o.get("OutputName") == ANALYSIS_RESULT_OUTPUT]
    chosen = named or (outputs if len(outputs) == 1 else [])
    if not chosen:
        raise ClarifyConfigError(
            f"Baselining job {name!r} has no {ANALYSIS_RESULT_OUTPUT!r} S3 output (outputs: "
            f"{[o.get('OutputName') for o in outputs]}), so it is not a Clarify baselining job. Give the "
            "baseline analysis.json as ConstraintsResource.S3Uri instead.",
            field="BaseliningJobName",
            value=name,
        )
    return chosen[0]["S3Output"]["S3Uri"].rstrip("/") + "/" + CONSTRAINTS_FILE
