"""SageMaker Clarify fairness and explainability audits for Apache Airflow.

This module is imported by Airflow's provider discovery on every start, so it holds only the
version string and :func:`get_provider_info`; nothing here imports operators, hooks or the engine.
"""

from __future__ import annotations

__version__ = "0.1.0"

_INTEGRATION = "Amazon SageMaker Clarify"


def get_provider_info() -> dict:
    """Return the provider metadata Airflow reads through the ``apache_airflow_provider`` entry point."""
    return {
        "package-name": "airflow-provider-clarify",
        "name": "SageMaker Clarify",
        "description": "Fairness and explainability audits (SageMaker Clarify or the open engine) for Airflow.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://aws.amazon.com/sagemaker/clarify/",
                "tags": ["aws"],
            }
        ],
        "operators": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "airflow_provider_clarify.operators.clarify",
                    "airflow_provider_clarify.operators.checks",
                    "airflow_provider_clarify.operators.monitoring",
                    "airflow_provider_clarify.operators.deployment",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "airflow_provider_clarify.sensors.clarify",
                    "airflow_provider_clarify.sensors.monitoring",
                ],
            }
        ],
        "hooks": [
            {"integration-name": _INTEGRATION, "python-modules": ["airflow_provider_clarify.hooks.clarify"]}
        ],
        "triggers": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "airflow_provider_clarify.triggers.clarify",
                    "airflow_provider_clarify.triggers.monitoring",
                ],
            }
        ],
        "extra-links": [
            "airflow_provider_clarify.links.clarify.ClarifyProcessingJobLink",
            "airflow_provider_clarify.links.clarify.ClarifyAnalysisResultLink",
        ],
        "notifications": ["airflow_provider_clarify.notifiers.clarify.ClarifyViolationNotifier"],
    }
