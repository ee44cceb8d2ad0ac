"""The engine on one machine vs Spark ``local[2]`` vs a two-worker standalone cluster.

    python benchmarks/bench_spark.py                          # bias at 10M and 100M rows, SHAP at 10k
    python benchmarks/bench_spark.py --rows 200000 --shap-rows 1000   # a quick look
    python benchmarks/bench_spark.py --master spark://host:7077 --cores 8
    python benchmarks/bench_spark.py --rows 100M --shap-rows 0 --skip-standalone --skip-single \
        --single-rate 172884   # local[2] alone, against an earlier single-machine rate

Bias (pre-training "all" and six post-training metrics, GE included) on a generated CSV file: for
each backend the wall time, rows/s, **rows/s per core**, and **Spark's overhead**: the time of a
200-row dataset through the same session (the fixed cost of a run: its Spark jobs, task start-up,
the driver's work) and the per-core rate relative to the single-machine engine. Every backend's
analysis.json is checked against the single machine's (equal; GE within the tolerance of
docs/scale-out.md). The standalone cluster (master + 2 one-core workers on 127.0.0.1) is started and
stopped by the benchmark unless ``--master`` names one.

SHAP (Kernel SHAP, 10k records of 8 features, 64 coalitions, 10 baseline rows, an in-process numpy
model broadcast to the executors): each backend's time, records/s per core, and Spark's overhead (a
200-record run through the same session); analysis.json, out.csv and baseline.csv must be
byte-identical on every backend.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CONFIG = {
    "dataset_type": "text/csv",
    "label": "approved",
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
    "group_variable": "housing",
    "predicted_label": "predicted",
    "methods": {
        "pre_training_bias": {"methods": "all"},
        "post_training_bias": {"methods": ["DPPL", "DI", "AD", "RD", "GE", "CDDPL"]},
    },
}


def write_dataset(path: Path, rows: int, seed: int = 7) -> None:
    """``rows`` synthetic credit rows as CSV, written a million at a time with pyarrow."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = pa.schema(
        [
            ("sex", pa.string()),
            ("age", pa.int64()),
            ("housing", pa.string()),
            ("credit_amount", pa.int64()),
            ("duration", pa.float64()),
            ("approved", pa.int64()),
            ("predicted", pa.int64()),
        ]
    )
    options = pacsv.WriteOptions(quoting_style="none")
    with pacsv.CSVWriter(str(path), schema, write_options=options) as writer:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            columns = [
                np.where(rng.random(n) < 0.3, "female", "male"),
                rng.integers(18, 80, n),
                rng.choice(np.array(["own", "rent", "free"]), n),
                rng.integers(250, 20000, n),
                np.round(rng.gamma(4.0, 6.0, n), 1),
                (rng.random(n) < 0.6).astype(np.int64),
                (rng.random(n) < 0.55).astype(np.int64),
            ]
            writer.write_table(pa.table(columns, schema=schema))


#: docs/scale-out.md: every value equal, except GE within this relative tolerance.
GE_TOLERANCE = 1e-12


def same_result(a: str, b: str) -> bool:
    import math

    def walk(x, y, name=None) -> bool:
        if isinstance(x, dict) and isinstance(y, dict):
            return x.keys() == y.keys() and all(walk(x[k], y[k], x.get("name", name)) for k in x)
        if isinstance(x, list) and isinstance(y, list):
            return len(x) == len(y) and all(walk(i, j, name) for i, j in zip(x, y, strict=True))
        if name == "GE" and isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=GE_TOLERANCE, abs_tol=0.0)
        return x == y

    return walk(json.loads(a), json.loads(b))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster(workdir: Path) -> tuple[str, list[subprocess.Popen]]:
    import pyspark

    home = Path(pyspark.__file__).parent
    env = dict(os.environ, SPARK_HOME=str(home), SPARK_DAEMON_MEMORY="256m", SPARK_LOCAL_IP="127.0.0.1")
    spark_class = str(home / "bin" / "spark-class")
    port, ui = free_port(), free_port()
    master_url = f"spark://127.0.0.1:{port}"

    def start(args, log):
        return subprocess.Popen(
            [spark_class, *args],
            env=env,
            stdout=(workdir / log).open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    processes = [
        start(
            [
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(ui),
            ],
            "master.log",
        )
    ]
    for i in range(2):
        processes.append(
            start(
                [
                    "org.apache.spark.deploy.worker.Worker",
                    master_url,
                    "--host",
                    "127.0.0.1",
                    "--cores",
                    "1",
                    "--memory",
                    "2g",
                    "--webui-port",
                    str(free_port()),
                    "--work-dir",
                    str(workdir / f"w{i}"),
                ],
                f"worker{i}.log",
            )
        )
    for _ in range(1200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=5) as r:
                if sum(w["state"] == "ALIVE" for w in json.loads(r.read())["workers"]) == 2:
                    return master_url, processes
        except OSError:
            pass
        time.sleep(0.2)
    stop_cluster(processes)
    raise SystemExit(f"the standalone cluster did not start; logs in {workdir}")


def stop_cluster(processes: list[subprocess.Popen]) -> None:
    for p in processes:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in processes:
        p.wait(timeout=60)


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


SHAP_FEATURES = [f"x{j}" for j in range(8)]
SHAP_WEIGHTS = [0.8, -0.5, 0.3, 0.0, 1.1, -0.9, 0.2, 0.4]


def write_shap_dataset(path: Path, rows: int, seed: int = 5) -> None:
    """``rows`` records of eight standard-normal features and a label, as CSV."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = np.round(rng.standard_normal((rows, len(SHAP_FEATURES))), 4)
    label = (rng.random(rows) < 0.5).astype(int)
    lines = [",".join([*SHAP_FEATURES, "approved"])]
    lines += [",".join([*map(repr, row.tolist()), str(y)]) for row, y in zip(x, label, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def shap_config() -> dict:
    """64 sampled coalitions of 8 features, 10 baseline rows: 641 model rows per record."""
    import numpy as np

    baseline = np.round(np.random.default_rng(3).standard_normal((10, len(SHAP_FEATURES))), 3).tolist()
    return {
        "dataset_type": "text/csv",
        "label": "approved",
        "methods": {
            "shap": {"baseline": baseline, "num_samples": 64, "seed": 1, "save_local_shap_values": True}
        },
    }


def shap_model(features):
    """A logistic score of the eight features (microseconds per record, like a small GBM)."""
    import numpy as np

    x = np.asarray(features, dtype=float)
    return 1.0 / (1.0 + np.exp(-(x @ np.array(SHAP_WEIGHTS))))


def parse_rows(text: str) -> list[int]:
    units = {"k": 1_000, "m": 1_000_000}
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if part in ("", "0"):  # --rows 0: no bias run (SHAP only)
            continue
        out.append(int(float(part[:-1]) * units[part[-1]]) if part[-1] in units else int(part))
    return out


class Sessions:
    """The Spark backends: ``local[2]`` and the standalone cluster (started once, stopped at the end)."""

    def __init__(self, work: Path, args) -> None:
        self.work, self.args = work, args
        self.backends: list[tuple[str, str, int]] = [] if args.skip_local else [("local[2]", "local[2]", 2)]
        self.processes: list[subprocess.Popen] = []
        if args.master:
            self.backends.append(("cluster", args.master, args.cores))
        elif not args.skip_standalone:
            master_url, self.processes = start_cluster(work)
            self.backends.append(("standalone 2 workers", master_url, 2))

    def session(self, master: str, name: str):
        from airflow_provider_clarify.engine.spark.session import build_session

        spark = build_session(
            master,
            app_name=f"bench-{name}",
            conf={"spark.executor.memory": "1g", "spark.driver.memory": "1g", "spark.cores.max": "2"},
        )
        spark.sparkContext.setLogLevel("ERROR")
        return spark

    def close(self) -> None:
        stop_cluster(self.processes)


def bias_size(rows: int, sessions: Sessions, work: Path) -> bool:
    from airflow_provider_clarify.engine.runner import run_analysis
    from airflow_provider_clarify.engine.spark.runner import run_analysis_spark

    data, tiny = work / f"data-{rows}.csv", work / "tiny.csv"
    write_dataset(data, rows)
    write_dataset(tiny, 200)  # 2 label values in 200 rows: categorical, as in the data
    print(f"\nbias, {rows:,} rows ({data.stat().st_size / 1e6:,.0f} MB of CSV)")
    print(
        f"{'backend':<28}{'seconds':>9}{'rows/s':>14}{'rows/s/core':>14}{'vs 1 machine':>14}{'overhead':>10}"
    )
    results: dict[str, str] = {}
    if sessions.args.skip_single:  # e.g. one Spark backend alone at 100M rows, against an earlier single run
        single_rate = sessions.args.single_rate or float("nan")
        print(f"{'single machine (1 core)':<28}{'not run':>9}{'':>14}{single_rate:14,.0f}{'':>14}{'-':>10}")
    else:
        single = timed(lambda: run_analysis(CONFIG, str(data), str(work / "single")))
        single_rate = rows / single
        results["single machine"] = (work / "single" / "analysis.json").read_text()
        print(
            f"{'single machine (1 core)':<28}{single:9.1f}{single_rate:14,.0f}{single_rate:14,.0f}{1:14.2f}{'-':>10}"
        )
    for name, master, cores in sessions.backends:
        spark = sessions.session(master, name)
        try:
            overhead = timed(run_analysis_spark, spark, CONFIG, str(tiny), str(work / f"{name}-tiny"))
            seconds = timed(run_analysis_spark, spark, CONFIG, str(data), str(work / name))
        finally:
            spark.stop()
        results[name] = (work / name / "analysis.json").read_text()
        per_core = rows / seconds / cores
        print(
            f"{name + f' ({cores} cores)':<28}{seconds:9.1f}{rows / seconds:14,.0f}{per_core:14,.0f}"
            f"{per_core / single_rate:14.2f}{overhead:9.1f}s"
        )
    data.unlink()
    if "single machine" not in results:
        print("analysis.json not compared: no single-machine run (--skip-single)")
        return True
    reference = results["single machine"]
    identical = all(r == reference for r in results.values())
    same = all(same_result(reference, r) for r in results.values())
    print(f"analysis.json byte-identical on every backend: {identical}; within the stated tolerance: {same}")
    return same


def shap_size(rows: int, sessions: Sessions, work: Path) -> bool:
    from airflow_provider_clarify.engine.runner import run_analysis
    from airflow_provider_clarify.engine.spark.runner import run_analysis_spark

    data, tiny = work / f"shap-{rows}.csv", work / "shap-tiny.csv"
    write_shap_dataset(data, rows)
    write_shap_dataset(tiny, 200)
    config = shap_config()
    print(
        f"\nKernel SHAP, {rows:,} records, {len(SHAP_FEATURES)} features, 64 coalitions x 10 baseline rows, "
        "in-process model"
    )
    print(
        f"{'backend':<28}{'seconds':>9}{'records/s':>12}{'rec/s/core':>12}{'vs 1 machine':>14}{'overhead':>10}"
    )
    seconds = timed(lambda: run_analysis(config, str(data), str(work / "shap-single"), model=shap_model))
    single_rate = rows / seconds
    print(
        f"{'single machine (1 core)':<28}{seconds:9.1f}{single_rate:12,.0f}{single_rate:12,.0f}{1:14.2f}{'-':>10}"
    )
    outputs = {"single machine": work / "shap-single"}
    for name, master, cores in sessions.backends:
        spark = sessions.session(master, name)
        try:
            overhead = timed(
                run_analysis_spark,
                spark,
                config,
                str(tiny),
                str(work / f"shap-{name}-tiny"),
                model=shap_model,
            )
            seconds = timed(
                run_analysis_spark, spark, config, str(data), str(work / f"shap-{name}"), model=shap_model
            )
        finally:
            spark.stop()
        outputs[name] = work / f"shap-{name}"
        per_core = rows / seconds / cores
        print(
            f"{name + f' ({cores} cores)':<28}{seconds:9.1f}{rows / seconds:12,.0f}{per_core:12,.0f}"
            f"{per_core / single_rate:14.2f}{overhead:9.1f}s"
        )
    data.unlink()
    files = ("analysis.json", "explanations_shap/out.csv", "explanations_shap/baseline.csv")
    reference = {f: (outputs["single machine"] / f).read_text() for f in files}
    identical = all((folder / f).read_text() == reference[f] for folder in outputs.values() for f in files)
    print(f"analysis.json, out.csv and baseline.csv byte-identical on every backend: {identical}")
    return identical


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="10M,100M", help="bias dataset sizes, e.g. 200k,10M")
    parser.add_argument("--shap-rows", type=int, default=10_000)
    parser.add_argument(
        "--master", default=None, help="an existing cluster instead of the local standalone one"
    )
    parser.add_argument("--cores", type=int, default=2, help="cores of --master")
    parser.add_argument("--skip-standalone", action="store_true")
    parser.add_argument("--skip-local", action="store_true", help="no local[2] run")
    parser.add_argument(
        "--skip-single",
        action="store_true",
        help="no single-machine run (its analysis.json is then not compared); --single-rate R prints the "
        "per-core ratio against an earlier single-machine rate R (rows/s)",
    )
    parser.add_argument(
        "--single-rate", type=float, default=None, help="with --skip-single: an earlier single-machine rows/s"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-spark-"))
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    sessions = Sessions(work, args)
    try:
        same = all([bias_size(rows, sessions, work) for rows in parse_rows(args.rows)])
        if args.shap_rows:
            same = shap_size(args.shap_rows, sessions, work) and same
    finally:
        sessions.close()
        shutil.rmtree(work, ignore_errors=True)
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
