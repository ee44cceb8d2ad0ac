"""``python -m airflow_provider_clarify.engine monitor ...``: one monitoring execution from the shell.

    python -m airflow_provider_clarify.engine monitor --job-definition FILE_OR_URI \
        --scheduled-time 2024-05-01T13:00:00Z [--data-capture-uri PREFIX] [--output DIR_OR_URI] \
        [--endpoint-url URL] [--model-url URL] [--backend spark [--spark-master URL] [--staging-uri URI]]

Prints the execution summary (``monitoring_execution.json``) on stdout. Exit codes: 0 ``Completed``,
5 ``CompletedWithViolations``, 6 ``Failed`` (no usable data in the window; the reason is printed), and
the engine's usual 2 (bad configuration), 3 (model), 4 (input/output), 1 (anything else).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

EXIT_VIOLATIONS = 5
EXIT_EXECUTION_FAILED = 6


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_clarify.engine monitor",
        description="Run one SageMaker Model Monitor (bias / feature-attribution drift) execution locally.",
    )
    parser.add_argument(
        "--job-definition",
        required=True,
        metavar="FILE_OR_URI",
        help="the CreateModelBiasJobDefinition / CreateModelExplainabilityJobDefinition request as JSON",
    )
    parser.add_argument(
        "--scheduled-time",
        required=True,
        metavar="ISO",
        help="the execution's scheduled time, e.g. 2024-05-01T13:00:00Z",
    )
    parser.add_argument(
        "--data-capture-uri",
        default=None,
        metavar="PREFIX",
        help="the endpoint's DataCaptureConfig destination (path, file:// or s3://)",
    )
    parser.add_argument(
        "--output",
        default=None,
        metavar="DIR_OR_URI",
        help="output folder (default: the job definition's MonitoringOutputs S3Uri/<endpoint>/yyyy/mm/dd/hh)",
    )
    parser.add_argument(
        "--endpoint-url", default=None, metavar="URL", help="AWS endpoint URL (e.g. a local S3)"
    )
    parser.add_argument(
        "--model-url",
        default=None,
        metavar="URL",
        help="HTTP model server (SageMaker hosting contract) for SHAP, instead of the predictor",
    )
    parser.add_argument(
        "--baseline-uri",
        default=None,
        metavar="URI",
        help="the baseline analysis.json (default: the job definition's ConstraintsResource, or the output of "
        "its BaseliningJobName job, looked up with DescribeProcessingJob)",
    )
    parser.add_argument(
        "--backend",
        default="local",
        choices=("local", "spark"),
        help="local: this machine (default); spark: the capture window is read, joined with ground truth and "
        "analysed on a Spark cluster (bias drift; the 'spark' extra; docs/scale-out.md)",
    )
    parser.add_argument(
        "--spark-master",
        default=None,
        metavar="URL",
        help="with --backend spark: local[N], spark://HOST:PORT, sc://HOST (Spark Connect); default "
        "$SPARK_MASTER or what spark-submit configured",
    )
    parser.add_argument(
        "--staging-uri",
        default=None,
        metavar="URI",
        help="with --backend spark: where the executors keep the merged records meanwhile, seen by the driver "
        "and every executor (default <output>/_merged-<random>; removed afterwards)",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, str(args.log_level).upper(), logging.INFO))
    from airflow_provider_clarify.analysis.errors import ClarifyConfigError
    from airflow_provider_clarify.engine.errors import EngineRuntimeError
    from airflow_provider_clarify.engine.io import EngineIOError
    from airflow_provider_clarify.engine.monitoring.execution import (
        COMPLETED_WITH_VIOLATIONS,
        FAILED,
        run_monitoring_execution,
    )

    spark, own_session = None, False
    definition = args.job_definition
    try:
        if args.backend == "spark":
            definition = _spark_definition(definition, args.endpoint_url)  # refused before a session starts
            spark, own_session = _spark_session(args.spark_master)
        result = run_monitoring_execution(
            definition,
            args.scheduled_time,
            data_capture_uri=args.data_capture_uri,
            output=args.output,
            endpoint_url=args.endpoint_url,
            model_url=args.model_url,
            baseline_uri=args.baseline_uri,
            spark=spark,
            staging_uri=args.staging_uri,
        )
    except ClarifyConfigError as exc:
        print(f"error: invalid monitoring setup: {exc}", file=sys.stderr)
        return 2
    except (EngineIOError, OSError) as exc:
        print(f"error: input/output failed: {exc}", file=sys.stderr)
        return 4
    except EngineRuntimeError as exc:
        print(f"error: model predictions failed: {exc}", file=sys.stderr)
        return 3
    except Exception as exc:
        logging.getLogger("airflow_provider_clarify.engine").exception("monitoring execution failed")
        print(f"error: monitoring execution failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        if own_session:
            spark.stop()
    print(json.dumps(result.to_dict(), indent=2))
    if result.status == FAILED:
        print(f"error: {result.failure_reason}", file=sys.stderr)
        return EXIT_EXECUTION_FAILED
    return EXIT_VIOLATIONS if result.status == COMPLETED_WITH_VIOLATIONS else 0


def _spark_definition(job_definition: str, endpoint_url: str | None) -> dict:
    """The job definition, loaded once, after checking that the Spark backend runs its monitoring type."""
    from airflow_provider_clarify.analysis.monitoring.requests import monitoring_type_of
    from airflow_provider_clarify.engine.monitoring.execution import load_job_definition
    from airflow_provider_clarify.engine.spark.capture import check_spark_monitoring

    definition = load_job_definition(job_definition, {"endpoint_url": endpoint_url} if endpoint_url else None)
    check_spark_monitoring(monitoring_type_of(definition))
    return definition


def _spark_session(master: str | None):
    """``(session, made_here)``: the active session (``spark-submit``), else one on ``master``."""
    from airflow_provider_clarify.engine.spark.cli import require_pyspark

    require_pyspark()
    from pyspark.sql import SparkSession

    from airflow_provider_clarify.engine.spark.session import build_session

    existing = SparkSession.getActiveSession()
    return (existing, False) if existing is not None else (build_session(master), True)
