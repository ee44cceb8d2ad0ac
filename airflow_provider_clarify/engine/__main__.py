"""Command line of the open engine.

    python -m airflow_provider_clarify.engine --analysis-config FILE --dataset PATH_OR_URI \
        --output DIR_OR_URI [--endpoint-url URL] [--output-kms-key KEY]
        [--model-url URL | --model-endpoint NAME | --model-artifact PATH --trust-model-artifact]
        [--model-timeout SECONDS] [--model-retries N]

Without arguments it uses the paths of a SageMaker processing container
(``/opt/ml/processing/input/config/analysis_config.json``, ``/opt/ml/processing/input/data``,
``/opt/ml/processing/output``), so the same engine runs inside one. The config's ``dataset_uri``
wins over the default dataset path, as in the Clarify container.

The ``--model-*`` options build the same
:class:`~airflow_provider_clarify.analysis.model_source.ModelSource` as the operators' ``local_model``
(see ``docs/engine.md``, "Command line").

Exit codes: 0 success (the URI of ``analysis.json`` is printed), 2 bad configuration or a dataset
that does not match it (also: the ``engine`` extra is not installed), 3 the model could not be
called or answered wrongly, 4 input/output failure, 1 anything else. Errors are printed to stderr
as one ``error: ...`` line. Whether a failure is worth retrying follows the engine's error types
(:mod:`airflow_provider_clarify.engine.errors`): status 2 never is.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

CONTAINER_CONFIG = "/opt/ml/processing/input/config/analysis_config.json"
CONTAINER_DATASET = "/opt/ml/processing/input/data"
CONTAINER_OUTPUT = "/opt/ml/processing/output"

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2
EXIT_MODEL = 3
EXIT_IO = 4


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_clarify.engine",
        description="Compute SageMaker Clarify's analysis.json (bias metrics, SHAP, PDP) locally.",
    )
    parser.add_argument(
        "--analysis-config",
        default=CONTAINER_CONFIG,
        metavar="FILE",
        help=f"analysis_config.json (path, file:// or s3://; default {CONTAINER_CONFIG})",
    )
    parser.add_argument(
        "--dataset",
        default=None,
        metavar="PATH_OR_URI",
        help=f"dataset file, folder or prefix (default: the config's dataset_uri, else {CONTAINER_DATASET})",
    )
    parser.add_argument(
        "--output",
        default=CONTAINER_OUTPUT,
        metavar="DIR_OR_URI",
        help=f"output folder (default {CONTAINER_OUTPUT})",
    )
    parser.add_argument(
        "--endpoint-url",
        default=None,
        metavar="URL",
        help="AWS endpoint URL for S3 and SageMaker InvokeEndpoint (e.g. a local S3); like the AWS CLI option",
    )
    parser.add_argument(
        "--output-kms-key",
        default=None,
        metavar="KEY",
        help="KMS key id/ARN/alias: every object written to an s3:// output uses SSE-KMS with it",
    )
    models = parser.add_mutually_exclusive_group()
    models.add_argument(
        "--model-url",
        default=None,
        metavar="URL",
        help="HTTP model server speaking the SageMaker hosting contract (POST /invocations), used "
        "instead of predictor.endpoint_name",
    )
    models.add_argument(
        "--model-endpoint",
        default=None,
        metavar="NAME",
        help="SageMaker endpoint to call (InvokeEndpoint) instead of predictor.endpoint_name",
    )
    models.add_argument(
        "--model-artifact",
        default=None,
        metavar="PATH",
        help="joblib/pickle file of a scikit-learn style model, loaded in process (needs --trust-model-artifact)",
    )
    parser.add_argument(
        "--model-artifact-format",
        default="joblib",
        choices=("joblib", "pickle"),
        help="format of --model-artifact (default joblib)",
    )
    parser.add_argument(
        "--trust-model-artifact",
        action="store_true",
        help="confirm that --model-artifact comes from your own pipeline: loading it runs code stored in it",
    )
    parser.add_argument(
        "--model-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="time limit of one model request attempt (default 30)",
    )
    parser.add_argument(
        "--model-retries",
        type=int,
        default=None,
        metavar="N",
        help="retries of a model request after a transient failure (default 2)",
    )
    parser.add_argument(
        "--backend",
        default="local",
        choices=("local", "spark"),
        help="local: this machine (default); spark: the passes over the rows run on a Spark cluster "
        "(the 'spark' extra; docs/scale-out.md)",
    )
    parser.add_argument(
        "--spark-master",
        default=None,
        metavar="URL",
        help="with --backend spark: local[N], spark://HOST:PORT, sc://HOST (Spark Connect); default "
        "$SPARK_MASTER or what spark-submit configured",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal; else progress goes to the log)",
    )
    return parser


def model_source(args: argparse.Namespace) -> Any:
    """The :class:`~airflow_provider_clarify.analysis.model_source.ModelSource` of the ``--model-*``
    options (``None``: the config's ``predictor.endpoint_name``)."""
    from airflow_provider_clarify.analysis.errors import ClarifyConfigError
    from airflow_provider_clarify.analysis.model_source import ModelSource

    tuning = {
        key: value
        for key, value in (("timeout_seconds", args.model_timeout), ("retries", args.model_retries))
        if value is not None
    }
    if args.model_url:
        return ModelSource.parse({"url": args.model_url, **tuning}, field_name="--model-url")
    if args.model_endpoint:
        return ModelSource.parse(
            {"endpoint_name": args.model_endpoint, **tuning}, field_name="--model-endpoint"
        )
    if args.model_artifact:
        if tuning:
            raise ClarifyConfigError(
                "--model-timeout / --model-retries apply to --model-url and --model-endpoint, not to an "
                "in-process --model-artifact.",
                field="--model-timeout" if args.model_timeout is not None else "--model-retries",
            )
        if not args.trust_model_artifact:
            raise ClarifyConfigError(
                f"--model-artifact {args.model_artifact!r}: loading a {args.model_artifact_format} file runs "
                "Python code stored in it. Only load artifacts your own pipeline produced, then say so with "
                "--trust-model-artifact.",
                field="--trust-model-artifact",
                value=False,
            )
        return ModelSource.parse(
            {
                "artifact": args.model_artifact,
                "format": args.model_artifact_format,
                "trust": bool(args.trust_model_artifact),
            },
            field_name="--model-artifact",
        )
    if tuning:
        raise ClarifyConfigError(
            "--model-timeout / --model-retries need --model-url or --model-endpoint (the config's "
            "predictor.endpoint_name uses the defaults).",
            field="--model-timeout" if args.model_timeout is not None else "--model-retries",
        )
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from airflow_provider_clarify.engine._extra import (
        check_engine_installed,
        engine_module_of,
        not_installed_error,
    )
    from airflow_provider_clarify.engine.errors import EngineConfigError, EngineRuntimeError
    from airflow_provider_clarify.engine.io import EngineIOError

    try:
        check_engine_installed(field="engine extra")
        from airflow_provider_clarify.analysis.errors import ClarifyConfigError
        from airflow_provider_clarify.engine.model_codec import ModelOutputError
        from airflow_provider_clarify.engine.runner import load_config, run_analysis
    except EngineConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ModuleNotFoundError as exc:
        package = engine_module_of(exc)
        if package is None:
            raise
        print(f"error: {not_installed_error([package], field='engine extra')}", file=sys.stderr)
        return EXIT_CONFIG

    from airflow_provider_clarify.engine import progress

    progress.use_bar(args.progress)

    try:
        model = model_source(args)
        storage_options = {"endpoint_url": args.endpoint_url} if args.endpoint_url else None
        config = load_config(args.analysis_config, storage_options)
        dataset = args.dataset or config.get("dataset_uri") or CONTAINER_DATASET
        if args.backend == "spark":
            from airflow_provider_clarify.engine.spark.cli import run_spark_backend

            result = run_spark_backend(args, config, dataset, model, storage_options)
        else:
            result = run_analysis(
                config,
                dataset,
                args.output,
                model=model,
                endpoint_url=args.endpoint_url,
                output_kms_key=args.output_kms_key,
            )
    except ModelOutputError as exc:
        print(f"error: model predictions are unusable: {exc}", file=sys.stderr)
        return EXIT_MODEL
    except EngineIOError as exc:
        print(f"error: input/output failed: {exc}", file=sys.stderr)
        return EXIT_IO
    except ClarifyConfigError as exc:  # EngineConfigError included
        print(f"error: invalid analysis configuration or dataset: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except EngineRuntimeError as exc:  # PredictorError included
        print(f"error: model predictions failed: {exc}", file=sys.stderr)
        return EXIT_MODEL
    except OSError as exc:
        print(f"error: input/output failed: {exc}", file=sys.stderr)
        return EXIT_IO
    except Exception as exc:
        package = engine_module_of(exc)
        if package is not None:  # the extra is half installed
            print(f"error: {not_installed_error([package], field='engine extra')}", file=sys.stderr)
            return EXIT_CONFIG
        logging.getLogger("airflow_provider_clarify.engine").exception("analysis failed")
        print(f"error: analysis failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(result)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
