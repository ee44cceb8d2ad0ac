"""Command line of the open engine.

    python -m airflow_provider_clarify.engine --analysis-config FILE --dataset PATH_OR_URI \
        --output DIR_OR_URI [--endpoint-url URL] [--model-url URL]

Without arguments it uses the paths of a SageMaker processing container
(``/opt/ml/processing/input/config/analysis_config.json``, ``/opt/ml/processing/input/data``,
``/opt/ml/processing/output``), so the same engine runs inside one. The config's ``dataset_uri``
wins over the default dataset path, as in the Clarify container.

Exit codes: 0 success (the URI of ``analysis.json`` is printed), 2 bad configuration or a dataset
that does not match it, 3 the model could not be called or answered wrongly, 4 input/output
failure, 1 anything else. Errors are printed to stderr as one ``error: ...`` line.
"""

from __future__ import annotations

import argparse
import logging
import sys

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
        "--model-url",
        default=None,
        metavar="URL",
        help="HTTP model server speaking the SageMaker hosting contract (POST /invocations), used "
        "instead of predictor.endpoint_name",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["explain-server"]:  # the open explainer (engine/explain_server/cli.py)
        from airflow_provider_clarify.engine.explain_server.cli import main as explain_server

        return explain_server(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from airflow_provider_clarify.analysis.errors import ClarifyConfigError
    from airflow_provider_clarify.engine.bias.errors import BiasAnalysisError
    from airflow_provider_clarify.engine.io import EngineIOError
    from airflow_provider_clarify.engine.predictors import PredictorError
    from airflow_provider_clarify.engine.runner import load_config, run_analysis

    try:
        storage_options = {"endpoint_url": args.endpoint_url} if args.endpoint_url else None
        config = load_config(args.analysis_config, storage_options)
        dataset = args.dataset or config.get("dataset_uri") or CONTAINER_DATASET
        result = run_analysis(
            config,
            dataset,
            args.output,
            endpoint_url=args.endpoint_url,
            model_url=args.model_url,
        )
    except (ClarifyConfigError, BiasAnalysisError) as exc:
        print(f"error: invalid analysis configuration or dataset: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except PredictorError as exc:
        print(f"error: model predictions failed: {exc}", file=sys.stderr)
        return EXIT_MODEL
    except (EngineIOError, OSError) as exc:
        print(f"error: input/output failed: {exc}", file=sys.stderr)
        return EXIT_IO
    except Exception as exc:
        logging.getLogger("airflow_provider_clarify.engine").exception("analysis failed")
        print(f"error: analysis failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(result)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
