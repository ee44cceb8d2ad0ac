"""Command line of the open engine.

    python -m airflow_provider_clarify.engine --analysis-config FILE --dataset PATH_OR_URI \
        --output DIR_OR_URI [--endpoint-url URL] [--output-kms-key KEY]
        [--model-url URL | --model-endpoint NAME | --model-artifact PATH --trust-model-artifact]
        [--model-timeout SECONDS] [--model-retries N]
        [--confidence-intervals [JSON_OR_FILE]] [--confidence-level L] [--resamples N] [--seed N]
        [--intersections JSON_OR_FILE]

Without arguments it uses the paths of a SageMaker processing container
(``/opt/ml/processing/input/config/analysis_config.json``, ``/opt/ml/processing/input/data``,
``/opt/ml/processing/output``), so the same engine runs inside one. The config's ``dataset_uri``
wins over the default dataset path, as in the Clarify container.

The ``--model-*`` options build the same
:class:`~airflow_provider_clarify.analysis.model_source.ModelSource` as the operators' ``local_model``
(see ``docs/engine.md``, "Command line").

``--confidence-intervals`` and ``--intersections`` are the opt-in sidecars of
``docs/uncertainty.md`` (``confidence_intervals.json``, ``intersectional_bias.json``); each takes
JSON text or a file (path or URI) holding it, and ``--confidence-level`` / ``--resamples`` /
``--seed`` set (and imply) the interval options one by one.

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

from airflow_provider_clarify.engine.exit_codes import EXIT_CONFIG, EXIT_FAILURE, EXIT_IO, EXIT_MODEL, EXIT_OK

CONTAINER_CONFIG = "/opt/ml/processing/input/config/analysis_config.json"
CONTAINER_DATASET = "/opt/ml/processing/input/data"
CONTAINER_OUTPUT = "/opt/ml/processing/output"


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
    uncertainty = parser.add_argument_group("beyond Clarify (docs/uncertainty.md)")
    uncertainty.add_argument(
        "--confidence-intervals",
        nargs="?",
        const="true",
        default=None,
        metavar="JSON_OR_FILE",
        help="write confidence_intervals.json (an interval per bias metric / global SHAP value); optional "
        'value: the options as JSON (\'{"level": 0.9, "resamples": 2000, "seed": 1}\') or a file holding them',
    )
    uncertainty.add_argument(
        "--confidence-level", type=float, default=None, metavar="L", help="interval level (default 0.95)"
    )
    uncertainty.add_argument(
        "--resamples", type=int, default=None, metavar="N", help="bootstrap resamples (default 1000)"
    )
    uncertainty.add_argument(
        "--seed", type=int, default=None, metavar="N", help="resampling seed (default: drawn and recorded)"
    )
    uncertainty.add_argument(
        "--intersections",
        default=None,
        metavar="JSON_OR_FILE",
        help="write intersectional_bias.json: intersectional facets and the scan, as JSON "
        '(\'{"scan_columns": ["gender", "age"], "bins": {"age": [40, 60]}}\') or a file holding it',
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


def _json_option(flag: str, value: str, storage_options: dict | None) -> Any:
    """The JSON of ``value``: the text itself when it looks like JSON, else the file it names."""
    import json

    from airflow_provider_clarify.analysis.errors import ClarifyConfigError

    text = value.strip()
    source = "the value"
    if not text.startswith(("{", "[")) and text not in ("true", "false", "null"):
        from airflow_provider_clarify.engine.io import read_bytes

        source = f"the file {text!r}"
        try:
            text = read_bytes(text, storage_options).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ClarifyConfigError(
                f"{flag} {value!r} is neither JSON nor a readable file ({exc})",
                field=flag,
                value=value,
                accepted="JSON text or a path/URI of a JSON file",
            ) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ClarifyConfigError(
            f"{flag}: {source} is not valid JSON ({exc})",
            field=flag,
            value=value,
            accepted="JSON text or a path/URI of a JSON file",
        ) from None


def uncertainty_options(args: argparse.Namespace, storage_options: dict | None = None) -> tuple[Any, Any]:
    """``(confidence_intervals, intersections)`` for ``run_analysis`` from the flags (``None``: off)."""
    from airflow_provider_clarify.analysis.errors import ClarifyConfigError

    intervals = None
    if args.confidence_intervals is not None:
        intervals = _json_option("--confidence-intervals", args.confidence_intervals, storage_options)
    fields = {
        name: value
        for name, value in (
            ("level", args.confidence_level),
            ("resamples", args.resamples),
            ("seed", args.seed),
        )
        if value is not None
    }
    if fields:
        if intervals is False:
            raise ClarifyConfigError(
                "--confidence-level / --resamples / --seed ask for intervals, but --confidence-intervals is false",
                field="--confidence-intervals",
                value=False,
            )
        if intervals is None or intervals is True:
            intervals = {}
        if not isinstance(intervals, dict):
            raise ClarifyConfigError(
                "--confidence-intervals must be a JSON object to combine with --confidence-level / "
                f"--resamples / --seed, not {intervals!r}",
                field="--confidence-intervals",
                value=intervals,
            )
        intervals = {**intervals, **fields}
    intersections = None
    if args.intersections is not None:
        intersections = _json_option("--intersections", args.intersections, storage_options)
    return intervals, intersections


def main(argv: list[str] | None = None, *, own_process: bool = False) -> int:
    """The engine CLI. ``own_process``: this process runs nothing else (``python -m``), so a run
    that loads no model artifact may keep pandas out of it (:mod:`.pandas_free`); an in-process
    caller's other code may need pandas."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["monitor"]:  # Model Monitor executions: see engine/monitoring/cli.py
        from airflow_provider_clarify.engine.monitoring.cli import main as monitor_main

        return monitor_main(argv[1:])
    if argv[:1] == ["explain-server"]:  # the open explainer (engine/explain_server/cli.py)
        from airflow_provider_clarify.engine.explain_server.cli import main as explain_server

        return explain_server(argv[1:])
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
        confidence_intervals, intersections = uncertainty_options(args, storage_options)
        config = load_config(args.analysis_config, storage_options)
        dataset = args.dataset or config.get("dataset_uri") or CONTAINER_DATASET
        if args.backend == "spark":
            from airflow_provider_clarify.engine.spark.cli import run_spark_backend

            if confidence_intervals is not None or intersections is not None:
                raise ClarifyConfigError(
                    "--confidence-intervals / --intersections are computed by the single-machine engine "
                    "only; drop them or run without --backend spark (docs/scale-out.md).",
                    field="--backend",
                    value="spark",
                )

            result = run_spark_backend(args, config, dataset, model, storage_options)
        else:
            if own_process:  # no other code in this process needs pandas
                from airflow_provider_clarify.engine.pandas_free import keep_pandas_out

                keep_pandas_out(model.kind if model is not None else None)
            result = run_analysis(
                config,
                dataset,
                args.output,
                model=model,
                endpoint_url=args.endpoint_url,
                output_kms_key=args.output_kms_key,
                confidence_intervals=confidence_intervals,
                intersections=intersections,
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
    sys.exit(main(own_process=True))
