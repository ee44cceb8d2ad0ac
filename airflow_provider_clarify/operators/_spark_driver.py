"""The driver program of ``compute="spark"``: the engine's CLI with ``--backend spark`` on a Spark session.

Runs where Spark runs the driver, not in Airflow: ``spark-submit`` starts it (through the small
application file :func:`~airflow_provider_clarify.operators.spark_compute.driver_application` writes),
or the worker starts it as a Spark Connect client with ``$SPARK_REMOTE`` set. It imports no Airflow
(the cluster's Python need not have it), only pyspark and the engine.

    <driver> [--app-name NAME] [--ship-package] [--conf KEY=VALUE ...] -- <engine CLI arguments>

The session is created with ``SparkSession.builder.getOrCreate()`` and nothing else, so the master,
``--conf`` settings and resources given to ``spark-submit`` (or the Connect URL) are used as given;
the engine's CLI finds it as the active session and leaves it to this program to stop.
``--conf`` settings (Spark Connect) are set on the session;
``--ship-package`` adds this package to the session as a Python artifact (Spark Connect, where
``spark-submit --py-files`` does not exist). The exit status is the CLI's (2: configuration or data
error, never worth retrying; see ``python -m airflow_provider_clarify.engine --help``).
"""

from __future__ import annotations

import argparse
import sys

from airflow_provider_clarify.engine.exit_codes import EXIT_CONFIG


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """``(driver options, engine CLI arguments)``: the engine's arguments follow ``--``."""
    ours, engine_args = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    )
    parser = argparse.ArgumentParser(prog="clarify-spark-driver")
    parser.add_argument("--app-name", default="clarify-engine")
    parser.add_argument("--ship-package", action="store_true")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE")
    return parser.parse_args(ours), engine_args


def main(argv: list[str] | None = None) -> int:
    options, engine_args = parse(sys.argv[1:] if argv is None else argv)
    try:
        from pyspark.sql import SparkSession
    except ModuleNotFoundError:
        print(
            "error: the Spark driver's Python has no pyspark: install 'airflow-provider-clarify[spark]' "
            "in the cluster's Python environment (spark.pyspark.python).",
            file=sys.stderr,
        )
        return EXIT_CONFIG

    from airflow_provider_clarify.engine.__main__ import main as engine_main

    builder = SparkSession.builder.appName(options.app_name)
    for setting in options.conf:
        key, _, value = setting.partition("=")
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    try:
        # The engine's CLI uses the active session; without one it would start a local Spark instead.
        if SparkSession.getActiveSession() is None:
            print("error: the driver's Spark session is not active; nothing was run.", file=sys.stderr)
            return 1
        if options.ship_package:
            from airflow_provider_clarify.engine.spark.runner import ship_package

            ship_package(spark)
        return engine_main([*engine_args, "--backend", "spark"])
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main())
