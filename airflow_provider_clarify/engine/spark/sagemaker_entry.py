"""The entry script of ``compute="sagemaker_spark"``: the open engine's Spark backend inside a SageMaker job.

This file is uploaded as the job's ``code`` input (``clarify_spark_entry.py``) and started by the Spark
image's ``smspark-submit --py-files /opt/ml/processing/input/py-files <this file>`` on the primary
instance, with this package on the path from ``--py-files``. The job has no internet access, so:

1. the dependency bundle (``/opt/ml/processing/input/dependencies/*.zip``: pyarrow, numpy, scikit-learn,
   jsonschema, ... as unpacked manylinux wheels) is extracted on the driver and put first on its
   ``sys.path``, *before* pyspark or numpy is imported (the image's numpy 1.26 must not load first);
2. the session ships the same zip to every executor with YARN (``spark.yarn.dist.archives`` unpacks it
   as ``clarify_deps/`` in each container) and puts it first on the executors' ``PYTHONPATH``;
3. a one-task probe imports every top-level module of the bundle on the executors, so a broken bundle
   fails the job at once with a clear message, not deep inside a partition;
4. ``run_analysis_spark`` reads ``/opt/ml/processing/input/config/analysis_config.json`` and the
   dataset under ``/opt/ml/processing/input/data`` (every instance has a full copy) and writes
   ``analysis.json`` (and the report) to ``/opt/ml/processing/output``, which SageMaker uploads.

A failure writes its message to ``/opt/ml/output/message`` (the job's ``ExitMessage``) and exits 1.
Only the standard library is imported at module level: the bundle is not on the path yet.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import zipfile
from pathlib import Path

INPUT_ROOT = "/opt/ml/processing/input"
OUTPUT_PATH = "/opt/ml/processing/output"
MESSAGE_PATH = "/opt/ml/output/message"
#: The link name of the bundle in each YARN container (relative to its working directory).
EXECUTOR_BUNDLE_LINK = "clarify_deps"


def report(message: str, *args: object) -> None:
    """A status line on stderr (the job's CloudWatch log), whatever logging set-up an import makes."""
    print(f"clarify-sagemaker-spark: {message % args if args else message}", file=sys.stderr, flush=True)


def bundle_archives(dependencies_dir: Path) -> list[Path]:
    """The dependency bundle zips of the ``dependencies`` input (normally one)."""
    if not dependencies_dir.is_dir():
        return []
    return sorted(p for p in dependencies_dir.iterdir() if p.suffix == ".zip")


def bundle_modules(archive: Path) -> list[str]:
    """Top-level importable names of a bundle: packages (``name/__init__.py``) and ``name.py`` modules."""
    names: set[str] = set()
    with zipfile.ZipFile(archive) as bundle:
        for member in bundle.namelist():
            parts = member.split("/")
            if len(parts) == 2 and parts[1] == "__init__.py" and parts[0].isidentifier():
                names.add(parts[0])
            elif len(parts) == 1 and member.endswith(".py") and member[:-3].isidentifier():
                names.add(member[:-3])
    return sorted(names)


def extract_bundle(archive: Path, scratch: Path) -> Path:
    """Unpack ``archive`` under ``scratch`` (the driver's copy) and put it first on ``sys.path``."""
    target = scratch / EXECUTOR_BUNDLE_LINK
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(target)
    sys.path.insert(0, str(target))
    return target


def find_config(config_dir: Path) -> Path:
    """``analysis_config.json`` of the ``analysis_config`` input (the only JSON file there)."""
    preferred = config_dir / "analysis_config.json"
    if preferred.is_file():
        return preferred
    found = sorted(config_dir.glob("*.json")) if config_dir.is_dir() else []
    if len(found) != 1:
        raise FileNotFoundError(f"expected one analysis_config JSON file in {config_dir}, found {len(found)}")
    return found[0]


def find_dataset(data_dir: Path) -> str:
    """The dataset path: the one file of the ``dataset`` input, or the folder of its part files."""
    files = [p for p in data_dir.rglob("*") if p.is_file()] if data_dir.is_dir() else []
    if not files:
        raise FileNotFoundError(f"the dataset input {data_dir} holds no file")
    return str(files[0]) if len(files) == 1 else str(data_dir)


def session_settings(archive: Path | None, extracted: Path | None) -> dict[str, str]:
    """Spark settings that make the bundle importable on the executors (YARN, and local masters)."""
    if archive is None or extracted is None:
        return {}
    # The YARN containers' copy first (relative to their working directory), then the driver's own
    # copy, which local masters and executors on the primary instance see.
    return {
        "spark.yarn.dist.archives": f"file://{archive}#{EXECUTOR_BUNDLE_LINK}",
        "spark.executorEnv.PYTHONPATH": os.pathsep.join([EXECUTOR_BUNDLE_LINK, str(extracted)]),
    }


def probe_executors(spark, modules: list[str]) -> dict[str, str]:
    """Import ``modules`` in one task per default-parallelism slot (so every executor of a fresh
    cluster is normally asked); ``{module: file}`` of the first task. Raises naming what failed where."""

    def _import_all(_rows):
        import importlib
        import socket

        found = {}
        for name in modules:
            try:
                found[name] = str(getattr(importlib.import_module(name), "__file__", None))
            except Exception as error:  # reported to the driver, which fails the job
                found[name] = f"ERROR {type(error).__name__}: {error}"
        yield json.dumps({"host": socket.gethostname(), "found": found})

    slots = max(1, int(spark.sparkContext.defaultParallelism))
    answers = spark.sparkContext.parallelize(range(slots), slots).mapPartitions(_import_all).collect()
    results = [json.loads(answer) for answer in answers]
    broken = {
        f"{result['host']}:{name}": where
        for result in results
        for name, where in result["found"].items()
        if where.startswith("ERROR")
    }
    if broken:
        raise RuntimeError(f"the dependency bundle is not importable on the executors: {broken}")
    return results[0]["found"]


def run(
    input_root: str = INPUT_ROOT,
    output: str = OUTPUT_PATH,
    *,
    master: str | None = None,
    scratch: str | None = None,
) -> str:
    """Run the analysis of a SageMaker Spark job laid out under ``input_root``; return analysis.json's path."""
    root = Path(input_root)
    archives = bundle_archives(root / "dependencies")
    if len(archives) > 1:
        raise FileNotFoundError(
            f"expected one dependency bundle in {root / 'dependencies'}, found {archives}"
        )
    archive = archives[0] if archives else None
    extracted = None
    if archive is not None:
        extracted = extract_bundle(archive, Path(scratch or tempfile.mkdtemp(prefix="clarify-spark-")))
        report("dependency bundle %s extracted to %s", archive, extracted)

    import airflow_provider_clarify  # only now: the bundle's pyarrow and numpy come first
    from airflow_provider_clarify.engine.spark.runner import check_spark_config, run_analysis_spark

    report(
        "airflow_provider_clarify %s from %s",
        airflow_provider_clarify.__version__,
        airflow_provider_clarify.__file__,
    )
    config = json.loads(find_config(root / "config").read_text())
    check_spark_config(config)  # what the Spark backend cannot compute fails before Spark starts
    dataset = find_dataset(root / "data")

    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("clarify-sagemaker-spark")
    if master:
        builder = builder.master(master)
    for key, value in session_settings(archive, extracted).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    try:
        if archive is not None:
            located = probe_executors(spark, bundle_modules(archive))
            report("executors import the bundle: %s", json.dumps(located, sort_keys=True))
        report("running the open engine's Spark backend on %s", dataset)
        return run_analysis_spark(spark, config, dataset, output)
    finally:
        spark.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-root", default=INPUT_ROOT)
    parser.add_argument("--output", default=OUTPUT_PATH)
    parser.add_argument("--master", default=None, help="Spark master (default: what spark-submit set)")
    parser.add_argument("--message-file", default=MESSAGE_PATH)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        written = run(args.input_root, args.output, master=args.master)
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        report("the job failed: %s", message)
        try:
            Path(args.message_file).parent.mkdir(parents=True, exist_ok=True)
            Path(args.message_file).write_text(message[:1024])
        except OSError:
            pass
        return 1
    report("wrote %s", written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
